"""What the Parameter Store operations share: their table, the store, names, selectors, limits and errors."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any, Final

from ...backends.local.parameters import ParameterVersion, SqliteParameters
from ..context import Context, Operations
from ..errors import AwsError

__all__ = ["OPERATIONS"]

OPERATIONS = Operations("ssm")

MAX_NAME: Final = 1011
"""A name's most characters, counting the ARN before it (``arn:aws:ssm:us-east-2:111122223333:parameter/``)."""
MAX_LEVELS: Final = 15
STANDARD_VALUE_BYTES: Final = 4096
ADVANCED_VALUE_BYTES: Final = 8192
DEFAULT_KEY_ID: Final = "alias/aws/ssm"
TYPES: Final = ("String", "StringList", "SecureString")
TIERS: Final = ("Standard", "Advanced", "Intelligent-Tiering")
MAX_VERSION: Final = 2**63 - 1
"""Parameter Store's versions are 64-bit numbers: none is beyond (and SQLite holds no larger integer)."""
_NAME_CHARACTERS = re.compile(r"^[a-zA-Z0-9_./-]+$")
_INVALID_NAME: Final = (
    'Parameter name: can\'t be prefixed with "ssm" (case-insensitive). If formed as a path, it can consist of sub-paths'
    " divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_"
)
INVALID_PATH: Final = (
    'The parameter doesn\'t meet the parameter name requirements. The parameter name must begin with a forward slash "/". '
    'It can\'t be prefixed with "aws" or "ssm" (case-insensitive). '
    "It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). "
    'Special characters are not allowed. All sub-paths, if specified, must use the forward slash symbol "/". '
    "Valid example: /get/parameters2-/by1./path0_."
)


def parameters(ctx: Context) -> SqliteParameters:
    """The data dir's parameters, in its state database."""
    db = ctx.stack.local.db
    return ctx.shared.get("ssm.parameters", lambda: SqliteParameters(db))


def invalid(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def not_found() -> AwsError:
    # AWS answers ParameterNotFound without a message (SDKs print "...GetParameter operation: ").
    return AwsError("ParameterNotFound", "")


def version_not_found(version: int | str, name: str) -> AwsError:
    return AwsError(
        "ParameterVersionNotFound", f"Systems Manager could not find version {version} of {name}. Verify the version and try again."
    )


def violation(value: object, member: str, rule: str) -> str:
    """One member's broken constraint, as AWS words it (``Value '11' at 'maxResults' failed to satisfy constraint: ...``)."""
    return f"Value '{value}' at '{member}' failed to satisfy constraint: {rule}"


def violations(problems: list[str]) -> AwsError | None:
    """AWS's validation error for every broken member constraint of a request, counted; None when there is none."""
    if not problems:
        return None
    count = len(problems)
    return invalid(f"{count} validation error{'s' if count > 1 else ''} detected: {'; '.join(problems)}")


def constraint(value: object, member: str, rule: str) -> AwsError:
    """AWS's one-member validation error (``1 validation error detected: Value '11' at 'maxResults' ...``)."""
    return invalid(f"1 validation error detected: {violation(value, member, rule)}")


def version_number(text: str) -> int | None:
    """``text`` as a version number when it is ASCII digits only; None otherwise.

    ``str.isdigit`` also takes ``²`` and ``٣``, which are not versions to Parameter Store (a
    selector ``name:٣`` is a label, as any tail that is not ASCII digits).
    """
    if not text or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def page_size(value: int | None, default: int, most: int) -> int:
    if value is None:
        return default
    if value < 1:
        raise constraint(value, "maxResults", "Member must have value greater than or equal to 1")
    if value > most:
        raise constraint(value, "maxResults", f"Member must have value less than or equal to {most}")
    return value


def encode_token(cursor: str) -> str:
    return base64.urlsafe_b64encode(cursor.encode()).decode()


def decode_token(token: str | None) -> str | None:
    if not token:
        return None
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raise AwsError("InvalidNextToken", "The specified token isn't valid.") from None


# -- names ------------------------------------------------------------------------------------


def arn(ctx: Context, name: str) -> str:
    """``arn:aws:ssm:<region>:<account>:parameter/<name>``: a name's own leading slash is not doubled."""
    return ctx.stack.settings.arn("ssm", f"parameter{name}" if name.startswith("/") else f"parameter/{name}")


def _malformed(name: str) -> bool:
    """Whether ``name`` breaks the form of every name: its characters, an empty sub-path, a trailing slash."""
    return not name or not _NAME_CHARACTERS.match(name) or "//" in name or (name.endswith("/") and len(name) > 1)


def new_name(ctx: Context, raw: str) -> str:
    """A name PutParameter may create (AWS trims spaces at either end); ValidationException and kin if not."""
    name = raw.strip()
    bare = name.lstrip("/").lower()
    is_path = name.count("/") > 1 or (name.count("/") == 1 and not name.startswith("/"))
    if bare.startswith(("aws", "ssm")):
        if is_path and bare.startswith("aws"):
            # The /aws/ hierarchy holds AWS's public parameters: writing there is a permission matter.
            raise AwsError("AccessDeniedException", f"No access to reserved parameter name: {name}.")
        if is_path:
            raise invalid(_INVALID_NAME)
        raise invalid('Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive).')
    if _malformed(name):
        raise invalid(_INVALID_NAME)
    if "/" in name and not name.startswith("/"):
        raise invalid("Parameter name must be a fully qualified name.")
    if len(name.split("/")) - 1 > MAX_LEVELS:
        raise AwsError("HierarchyLevelLimitExceededException", f"A hierarchy can have a maximum of {MAX_LEVELS} levels.")
    budget = MAX_NAME - len(arn(ctx, "x")) + 1
    if len(name.lstrip("/")) > budget:
        raise constraint(name, "name", f"Member must have length less than or equal to {budget}")
    return name


@dataclass(frozen=True)
class Selector:
    """A name as GetParameter reads it: ``name``, ``name:version`` or ``name:label``, or the ARN of one."""

    name: str
    version: int | None = None
    label: str | None = None

    @property
    def suffix(self) -> str | None:
        """The answer's ``Selector`` (``:3`` or ``:prod``); None when the latest version was asked for."""
        if self.version is not None:
            return f":{self.version}"
        return f":{self.label}" if self.label is not None else None


def selector(ctx: Context, raw: str) -> Selector | None:
    """What ``raw`` asks for; None when it cannot name a parameter of this account (ParameterNotFound).

    Raises:
        AwsError: ValidationException for a name of a wrong form (``/a//b``, ``a/b``), as the
            reads answer it before looking; the aws/ssm prefixes are readable (AWS's public
            parameters live under /aws/).
    """
    text = raw
    prefix = f"arn:aws:ssm:{ctx.region}:{ctx.account_id}:parameter"
    if text.startswith("arn:"):
        if not text.startswith(prefix + "/"):
            return None
        text = text[len(prefix) :]
    parts = text.split(":")
    if len(parts) > 2 or not parts[0]:
        return None
    name = parts[0]
    if _malformed(name) or ("/" in name and not name.startswith("/")):
        raise invalid(_INVALID_NAME)
    if len(parts) == 1:
        return Selector(name)
    tail = parts[1]
    version = version_number(tail)
    if version is not None:
        return Selector(name, version=version)
    return Selector(name, label=tail)


def resolve(store: SqliteParameters, wanted: Selector) -> ParameterVersion:
    """The version a selector names (ParameterNotFound / ParameterVersionNotFound)."""
    latest = store.latest(wanted.name)
    if latest is None:
        raise not_found()
    if wanted.version is not None:
        found = store.version(wanted.name, wanted.version) if wanted.version <= MAX_VERSION else None
        if found is None:
            raise version_not_found(wanted.version, wanted.name)
        return found
    if wanted.label is not None:
        found = store.labelled(wanted.name, wanted.label)
        if found is None:
            raise not_found()
        return found
    return latest


# -- answers ----------------------------------------------------------------------------------


def shown_value(item: ParameterVersion, decrypt: bool) -> str:
    """The value as an answer shows it: a SecureString's stands for its ciphertext unless decrypted."""
    if item.type != "SecureString" or decrypt:
        return item.value
    # Locally nothing is encrypted; an opaque base64 text stands where AWS sends the KMS ciphertext.
    return base64.b64encode(f"{item.key_id or DEFAULT_KEY_ID}:{item.value}".encode()).decode()


def as_parameter(ctx: Context, item: ParameterVersion, *, decrypt: bool, wanted: Selector | None = None) -> dict[str, Any]:
    """The ``Parameter`` shape (GetParameter, GetParameters, GetParametersByPath)."""
    found: dict[str, Any] = {
        "Name": item.name,
        "Type": item.type,
        "Value": shown_value(item, decrypt),
        "Version": item.version,
        "LastModifiedDate": item.modified_ms / 1000,
        "ARN": arn(ctx, item.name),
        "DataType": item.data_type,
    }
    if wanted is not None and wanted.suffix is not None:
        found["Selector"] = wanted.suffix
    return found


def policies(item: ParameterVersion) -> list[dict[str, str]]:
    """``Policies`` as DescribeParameters lists them (kept, not enforced locally: Pending)."""
    if not item.policies:
        return []
    try:
        parsed = json.loads(item.policies)
    except ValueError:
        return []
    return [
        {"PolicyText": json.dumps(policy, separators=(",", ":")), "PolicyType": str(policy.get("Type", "")), "PolicyStatus": "Pending"}
        for policy in (parsed if isinstance(parsed, list) else [parsed])
        if isinstance(policy, dict)
    ]


def as_metadata(ctx: Context, item: ParameterVersion) -> dict[str, Any]:
    """The ``ParameterMetadata`` shape (DescribeParameters)."""
    found: dict[str, Any] = {
        "Name": item.name,
        "ARN": arn(ctx, item.name),
        "Type": item.type,
        "LastModifiedDate": item.modified_ms / 1000,
        "LastModifiedUser": item.modified_by,
        "Version": item.version,
        "Tier": item.tier,
        "Policies": policies(item),
        "DataType": item.data_type,
    }
    if item.key_id is not None:
        found["KeyId"] = item.key_id
    if item.description is not None:
        found["Description"] = item.description
    if item.allowed_pattern is not None:
        found["AllowedPattern"] = item.allowed_pattern
    return found
