"""User pools and app clients as Cognito describes them: the documents CreateUserPool and
CreateUserPoolClient produce, with Cognito's defaults, and the checks on names and attributes.

Pure: the store passes ids, secrets and the time in and keeps the documents as they come out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from .errors import CognitoError

__all__ = [
    "DEFAULT_PASSWORD_POLICY", "LEGACY_FLOWS", "STANDARD_SCOPES", "check_attributes", "check_name", "check_username",
    "client_document", "custom_attribute", "custom_name",
    "pool_document", "schema_of",
]  # fmt: skip

#: Standard attributes (OIDC's), with the type Cognito gives them.
_STANDARD = (
    ("sub", "String", False, True),
    ("name", "String", True, False),
    ("given_name", "String", True, False),
    ("family_name", "String", True, False),
    ("middle_name", "String", True, False),
    ("nickname", "String", True, False),
    ("preferred_username", "String", True, False),
    ("profile", "String", True, False),
    ("picture", "String", True, False),
    ("website", "String", True, False),
    ("email", "String", True, False),
    ("email_verified", "Boolean", True, False),
    ("gender", "String", True, False),
    ("birthdate", "String", True, False),
    ("zoneinfo", "String", True, False),
    ("locale", "String", True, False),
    ("phone_number", "String", True, False),
    ("phone_number_verified", "Boolean", True, False),
    ("address", "String", True, False),
    ("updated_at", "Number", True, False),
)
#: Scopes Cognito grants without a resource server.
STANDARD_SCOPES = frozenset({"openid", "email", "phone", "profile", "aws.cognito.signin.user.admin"})
#: ExplicitAuthFlows from before the ``ALLOW_`` ones (a client has one kind or the other).
LEGACY_FLOWS = frozenset({"ADMIN_NO_SRP_AUTH", "CUSTOM_AUTH_FLOW_ONLY", "USER_PASSWORD_AUTH"})
_NEW_FLOWS = frozenset(
    {
        "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_CUSTOM_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_AUTH",
    }
)  # fmt: skip
#: The password policy of a pool made without one (Cognito's default: 8 characters, every kind).
DEFAULT_PASSWORD_POLICY: Mapping[str, Any] = {
    "MinimumLength": 8, "RequireUppercase": True, "RequireLowercase": True, "RequireNumbers": True, "RequireSymbols": True,
    "TemporaryPasswordValidityDays": 7,
}  # fmt: skip
_TEMPLATE_FIELDS = (
    ("SmsVerificationMessage", "SmsMessage"),
    ("EmailVerificationMessage", "EmailMessage"),
    ("EmailVerificationSubject", "EmailSubject"),
)
_OAUTH_FLOWS = frozenset({"code", "implicit", "client_credentials"})
_UNITS = frozenset({"seconds", "minutes", "hours", "days"})
_UNIT_S = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
_NAME = re.compile(r"[\w\s+=,.@-]+")


def _invalid(message: str) -> CognitoError:
    return CognitoError("InvalidParameterException", message)


def check_name(
    value: str, field: str, *, pattern: re.Pattern[str] = _NAME, pattern_text: str = r"[\w\s+=,.@-]+", max_len: int = 128
) -> str:
    """``value`` if it satisfies the model's constraint on ``field``, else Cognito's validation error."""
    if not value or len(value) > max_len:
        raise _invalid(
            f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {max_len}"
            if value
            else f"1 validation error detected: Value at '{field}' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1"
        )
    if not pattern.fullmatch(value):
        raise _invalid(
            f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: {pattern_text}"
        )
    return value


def check_username(value: str, field: str = "username") -> str:
    """A username (or group name): letters, marks, symbols, numbers and punctuation only (no spaces)."""
    printable = bool(value) and all(unicodedata.category(c)[0] in "LMSNP" for c in value)
    if not printable or len(value) > 128:
        raise _invalid(
            f"1 validation error detected: Value at '{field}' failed to satisfy constraint: "
            r"Member must satisfy regular expression pattern: [\p{L}\p{M}\p{S}\p{N}\p{P}]+"
        )
    return value


def custom_name(name: str, *, developer_only: bool = False) -> str:
    """A custom attribute's name as the schema lists it: ``custom:x``, or ``dev:custom:x`` for a
    developer-only one (which only administrators' calls can read or write)."""
    name = name if name.startswith(("custom:", "dev:")) else f"custom:{name}"
    return f"dev:{name}" if developer_only and not name.startswith("dev:") else name


_DATA_TYPES = ("Boolean", "Number", "String", "DateTime")
_MAX_STRING = 2048


def _constraints(name: str, kind: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The constraints of attribute ``name`` of type ``kind`` that the schema keeps (only the ones its
    type has), checked as Cognito checks them."""
    kept: dict[str, Any] = {}
    if kind == "String" and spec.get("StringAttributeConstraints") is not None:
        given = dict(spec["StringAttributeConstraints"])
        bounds = _integers(given, ("MinLength", "MaxLength"), f"Invalid StringAttributeConstraints for schema attribute {name}")
        if any(v > _MAX_STRING for v in bounds.values()):
            raise _invalid(f"user.{name}: String attributes cannot have a length of more than {_MAX_STRING}")
        if "MinLength" in bounds and "MaxLength" in bounds and bounds["MaxLength"] < bounds["MinLength"]:
            raise _invalid(f"user.{name}: Max length cannot be less than min length.")
        kept["StringAttributeConstraints"] = given
    if kind == "Number" and spec.get("NumberAttributeConstraints") is not None:
        given = dict(spec["NumberAttributeConstraints"])
        bounds = _integers(given, ("MinValue", "MaxValue"), f"Invalid NumberAttributeConstraints for schema attribute {name}")
        if "MinValue" in bounds and "MaxValue" in bounds and bounds["MaxValue"] < bounds["MinValue"]:
            raise _invalid(f"user.{name}: Max value cannot be less than min value.")
        kept["NumberAttributeConstraints"] = given
    return kept


def _integers(given: Mapping[str, Any], keys: tuple[str, str], message: str) -> dict[str, int]:
    bounds: dict[str, int] = {}
    for key in keys:
        if given.get(key) is not None:
            try:
                bounds[key] = int(str(given[key]))
            except ValueError:
                raise _invalid(message) from None
    return bounds


def custom_attribute(spec: Mapping[str, Any]) -> dict[str, Any]:
    """One custom attribute of CreateUserPool's Schema or AddCustomAttributes, as the pool's schema lists it."""
    kind = spec.get("AttributeDataType")
    if kind is None:
        raise _invalid("Invalid AttributeDataType input, consider using the provided AttributeDataType enum.")
    if kind not in _DATA_TYPES:
        raise _invalid(
            f"Validation error detected: Value '{kind}' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(_DATA_TYPES)}]"
        )
    if spec.get("Required"):
        raise _invalid("Required custom attributes are not supported currently.")
    developer_only = bool(spec.get("DeveloperOnlyAttribute", False))
    name = custom_name(str(spec.get("Name") or ""), developer_only=developer_only)
    entry: dict[str, Any] = {
        "Name": name,
        "AttributeDataType": kind,
        "DeveloperOnlyAttribute": developer_only,
        "Mutable": bool(spec.get("Mutable", True)),
        "Required": False,
    }
    entry.update(_constraints(name, kind, spec))
    if kind == "String" and "StringAttributeConstraints" not in entry:
        entry["StringAttributeConstraints"] = {}
    return entry


def schema_of(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The pool's SchemaAttributes: the standard ones (with the request's Required/Mutable and
    constraints), then the custom ones."""
    given = {str(a.get("Name")): a for a in params.get("Schema") or ()}
    schema: list[dict[str, Any]] = []
    for name, kind, mutable, required in _STANDARD:
        spec = given.pop(name, {})
        if spec.get("AttributeDataType", kind) != kind or spec.get("DeveloperOnlyAttribute"):
            raise _invalid(f"You can not change AttributeDataType or set developerOnlyAttribute for standard schema attribute {name}")
        entry: dict[str, Any] = {
            "Name": name,
            "AttributeDataType": kind,
            "DeveloperOnlyAttribute": False,
            "Mutable": bool(spec.get("Mutable", mutable)),
            "Required": bool(spec.get("Required", required)),
        }
        if kind == "String":
            entry["StringAttributeConstraints"] = {"MinLength": "1" if name == "sub" else "0", "MaxLength": str(_MAX_STRING)}
        elif kind == "Number":
            entry["NumberAttributeConstraints"] = {"MinValue": "0"}
        entry.update(_constraints(name, kind, spec))
        schema.append(entry)
    schema.extend(custom_attribute(spec) for spec in given.values())
    return schema


def pool_document(
    pool_id: str, arn: str, params: Mapping[str, Any], *, now: datetime, existing: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The UserPool as DescribeUserPool shows it, after CreateUserPool (``existing`` None) or UpdateUserPool.

    UpdateUserPool resets what it is not given to the defaults (as Cognito does), except the
    attributes it cannot change: name (unless given), schema, alias and username attributes.
    """
    name = check_name(str(params.get("PoolName") or (existing or {}).get("Name") or ""), "poolName")
    policy = dict((params.get("Policies") or {}).get("PasswordPolicy") or {})
    merged_policy = {**DEFAULT_PASSWORD_POLICY, **policy}
    if not 6 <= int(merged_policy["MinimumLength"]) <= 99:
        raise _invalid(
            "1 validation error detected: Value at 'policies.passwordPolicy.minimumLength' failed to satisfy constraint: "
            "Member must have value "
            + ("greater than or equal to 6" if int(merged_policy["MinimumLength"]) < 6 else "less than or equal to 99")
        )
    document: dict[str, Any] = {
        "Id": pool_id,
        "Name": name,
        "Policies": {"PasswordPolicy": merged_policy, "SignInPolicy": {"AllowedFirstAuthFactors": ["PASSWORD"]}},
        "DeletionProtection": params.get("DeletionProtection") or "INACTIVE",
        "LambdaConfig": dict(params.get("LambdaConfig") or {}),
        "LastModifiedDate": now.timestamp(),
        "CreationDate": (existing or {}).get("CreationDate") or now.timestamp(),
        "SchemaAttributes": (existing or {}).get("SchemaAttributes") or schema_of(params),
        "VerificationMessageTemplate": dict(params.get("VerificationMessageTemplate") or {"DefaultEmailOption": "CONFIRM_WITH_CODE"}),
        "MfaConfiguration": params.get("MfaConfiguration") or "OFF",
        "EmailConfiguration": dict(params.get("EmailConfiguration") or {"EmailSendingAccount": "COGNITO_DEFAULT"}),
        "UserPoolTags": dict(params.get("UserPoolTags") or {}),
        "AdminCreateUserConfig": {
            "AllowAdminCreateUserOnly": False,
            "UnusedAccountValidityDays": 7,
            **(params.get("AdminCreateUserConfig") or {}),
        },
        "Arn": arn,
        "UserPoolTier": params.get("UserPoolTier") or "ESSENTIALS",
    }
    # The pre-template fields and VerificationMessageTemplate say the same thing: Cognito fills
    # each from the other, so either form reads back both ways.
    template = document["VerificationMessageTemplate"]
    for legacy, field in _TEMPLATE_FIELDS:
        value = params.get(legacy) or template.get(field)
        if value:
            document[legacy] = template[field] = value
    keep = existing or params
    for key in ("AliasAttributes", "UsernameAttributes", "UsernameConfiguration"):
        if keep.get(key):
            document[key] = keep[key]
    for key in (
        "AutoVerifiedAttributes",
        "AccountRecoverySetting",
        "DeviceConfiguration",
        "SmsConfiguration",
        "UserAttributeUpdateSettings",
    ):
        if params.get(key):
            document[key] = params[key]
    if existing and existing.get("Domain"):
        document["Domain"] = existing["Domain"]
    return document


def client_document(
    pool_id: str,
    client_id: str,
    params: Mapping[str, Any],
    *,
    secret: str | None,
    now: datetime,
    known_scopes: Iterable[str],
    existing: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The UserPoolClient as DescribeUserPoolClient shows it, after Create- or UpdateUserPoolClient."""
    name = check_name(str(params.get("ClientName") or (existing or {}).get("ClientName") or ""), "clientName")
    flows = list(params.get("ExplicitAuthFlows") or ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH"])
    unknown = [f for f in flows if f not in LEGACY_FLOWS | _NEW_FLOWS]
    if unknown:
        raise _invalid(
            f"1 validation error detected: Value '[{', '.join(flows)}]' at 'explicitAuthFlows' failed to satisfy constraint: "
            "Member must satisfy constraint: [Member must satisfy enum value set: "
            f"[{', '.join(sorted(LEGACY_FLOWS | _NEW_FLOWS))}]]"
        )
    if set(flows) & LEGACY_FLOWS and set(flows) & _NEW_FLOWS:
        raise _invalid("The ExplicitAuthFlows values that start with ALLOW_ cannot be combined with the legacy values.")
    oauth_flows = list(params.get("AllowedOAuthFlows") or [])
    scopes = list(params.get("AllowedOAuthScopes") or [])
    _check_oauth(oauth_flows, scopes, secret is not None, known_scopes, bool(params.get("AllowedOAuthFlowsUserPoolClient")))
    units = dict(params.get("TokenValidityUnits") or {})
    _check_validity(params, units)
    document: dict[str, Any] = {
        "UserPoolId": pool_id,
        "ClientName": name,
        "ClientId": client_id,
        "LastModifiedDate": now.timestamp(),
        "CreationDate": (existing or {}).get("CreationDate") or now.timestamp(),
        "RefreshTokenValidity": int(params.get("RefreshTokenValidity") or 30),
        "ExplicitAuthFlows": flows,
        "AllowedOAuthFlowsUserPoolClient": bool(params.get("AllowedOAuthFlowsUserPoolClient", False)),
        # The API's default is LEGACY (the developer guide: only the console selects ENABLED by default).
        "PreventUserExistenceErrors": params.get("PreventUserExistenceErrors") or "LEGACY",
        "EnableTokenRevocation": bool(params.get("EnableTokenRevocation", True)),
        "EnablePropagateAdditionalUserContextData": bool(params.get("EnablePropagateAdditionalUserContextData", False)),
        "AuthSessionValidity": int(params.get("AuthSessionValidity") or 3),
    }
    if secret is not None:
        document["ClientSecret"] = secret
    for key in ("AccessTokenValidity", "IdTokenValidity"):
        if params.get(key) is not None:
            document[key] = int(params[key])
    if units:
        document["TokenValidityUnits"] = units
    for key in (
        "ReadAttributes",
        "WriteAttributes",
        "SupportedIdentityProviders",
        "CallbackURLs",
        "LogoutURLs",
        "DefaultRedirectURI",
        "AnalyticsConfiguration",
    ):
        if params.get(key):
            document[key] = params[key]
    if oauth_flows:
        document["AllowedOAuthFlows"] = oauth_flows
    if scopes:
        document["AllowedOAuthScopes"] = scopes
    if not 3 <= document["AuthSessionValidity"] <= 15:
        raise _invalid(
            "1 validation error detected: Value at 'authSessionValidity' failed to satisfy constraint: "
            "Member must have value "
            + ("greater than or equal to 3" if document["AuthSessionValidity"] < 3 else "less than or equal to 15")
        )
    return document


def _check_oauth(flows: list[str], scopes: list[str], has_secret: bool, known: Iterable[str], enabled: bool) -> None:
    for flow in flows:
        if flow not in _OAUTH_FLOWS:
            raise _invalid(
                f"1 validation error detected: Value '[{', '.join(flows)}]' at 'allowedOAuthFlows' failed to satisfy constraint: "
                "Member must satisfy constraint: [Member must satisfy enum value set: [implicit, client_credentials, code]]"
            )
    if "client_credentials" in flows:
        if not has_secret:
            raise CognitoError(
                "InvalidOAuthFlowException", "client_credentials flow can not be selected if client does not have a client secret."
            )
        if {"code", "implicit"} & set(flows):
            raise CognitoError(
                "InvalidOAuthFlowException", "client_credentials flow can not be selected with either implicit or code flow."
            )
    known_scopes = set(known) | STANDARD_SCOPES
    for scope in scopes:
        if scope not in known_scopes:
            raise CognitoError("ScopeDoesNotExistException", f"Invalid scope requested: {scope}")
    if "client_credentials" in flows and STANDARD_SCOPES & set(scopes):
        raise CognitoError("InvalidOAuthFlowException", "client_credentials flow can not be selected with non-custom scopes.")
    if enabled and flows and not scopes:
        raise CognitoError("InvalidOAuthFlowException", "AllowedOAuthScopes are required when AllowedOAuthFlows are set.")


def _check_validity(params: Mapping[str, Any], units: Mapping[str, str]) -> None:
    for unit in units.values():
        if unit not in _UNITS:
            raise _invalid(f"Invalid TokenValidityUnits value: {unit}")
    # Cognito's ranges: access and ID tokens 5 minutes to 1 day; refresh tokens 60 minutes to 10 years.
    ranges = (
        ("AccessTokenValidity", "AccessToken", "hours", 300, 86400, "Access Token"),
        ("IdTokenValidity", "IdToken", "hours", 300, 86400, "ID Token"),
        ("RefreshTokenValidity", "RefreshToken", "days", 3600, 3650 * 86400, "Refresh Token"),
    )
    for key, unit_key, default_unit, low, high, label in ranges:
        value = params.get(key)
        if value is None:
            continue
        seconds = int(value) * _UNIT_S[units.get(unit_key) or default_unit]
        if not low <= seconds <= high:
            raise _invalid(f"Invalid range for token validity. {label} validity must be between {low} seconds and {high} seconds.")


def check_attributes(
    attributes: Mapping[str, str], schema: Iterable[Mapping[str, Any]], *, creating: bool, allow_sub: bool = False
) -> None:
    """Refuse attributes the pool's schema does not have (or, when ``creating``, misses a required one)."""
    by_name = {str(a["Name"]): a for a in schema}
    # Cognito names every unknown attribute in one message, a line each.
    unknown = [name for name in attributes if name not in by_name or (name == "sub" and not allow_sub)]
    if unknown:
        raise _invalid(
            "Attributes did not conform to the schema: " + "".join(f"{n}: Attribute does not exist in the schema.\n" for n in unknown)
        )
    if creating:
        for name, spec in by_name.items():
            if spec.get("Required") and name != "sub" and name not in attributes:
                raise _invalid(f"Attributes did not conform to the schema: {name}: The attribute is required\n")
