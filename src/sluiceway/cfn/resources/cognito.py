"""Cognito user pools and their parts: AWS::Cognito::UserPool, UserPoolClient, UserPoolGroup,
UserPoolResourceServer, UserPoolUser, UserPoolUserToGroupAttachment and UserPoolDomain.

Each is made through the endpoint's ``cognito-idp`` operations, as CloudFormation's handlers
call Cognito. Cognito's own ``Update*`` operations reset every parameter they are not given
to its default, so an update always sends the whole of the template's properties.

What CloudFormation cannot change in place (Cognito refuses it: a pool's sign-in options, a
client's secret, the names that identify a group, a resource server, a user or a domain) is
replaced: the new resource is made, then the old one deleted. A replacement that would keep
the same name in the same pool fails as CloudFormation's does ("custom-named resource
requires replacing").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from ...endpoint.errors import AwsError
from ...endpoint.services import operations
from ..errors import TemplateError
from .base import Env, Made, Request, Stored, physical_name, require

__all__ = [
    "UserPool",
    "UserPoolClient",
    "UserPoolDomain",
    "UserPoolGroup",
    "UserPoolResourceServer",
    "UserPoolUser",
    "UserPoolUserToGroupAttachment",
]

_MISSING = ("ResourceNotFoundException", "UserNotFoundException")

#: The pool's properties CreateUserPool and UpdateUserPool both take under the same name.
_POOL_SETTINGS = (
    "Policies", "DeletionProtection", "LambdaConfig", "AutoVerifiedAttributes", "SmsVerificationMessage",
    "EmailVerificationMessage", "EmailVerificationSubject", "VerificationMessageTemplate", "SmsAuthenticationMessage",
    "UserAttributeUpdateSettings", "MfaConfiguration", "DeviceConfiguration", "EmailConfiguration", "SmsConfiguration",
    "UserPoolTags", "AdminCreateUserConfig", "UserPoolAddOns", "AccountRecoverySetting", "UserPoolTier",
)  # fmt: skip
#: Set only by CreateUserPool: Cognito cannot change them, so CloudFormation replaces the pool
#: (the developer guide's "settings you can't change").
_POOL_REPLACING = ("AliasAttributes", "UsernameAttributes", "UsernameConfiguration")
#: Read, kept by the pool where the API takes them, but not acted on locally (said once at start).
_POOL_NOT_EMULATED = {
    "LambdaConfig": "its Lambda triggers are not invoked locally",
    "EmailConfiguration": "no email is sent locally",
    "SmsConfiguration": "no SMS is sent locally",
    "EnabledMfas": "multi-factor authentication is not emulated locally",
    "EmailAuthenticationMessage": "multi-factor authentication is not emulated locally",
    "EmailAuthenticationSubject": "multi-factor authentication is not emulated locally",
    "SmsAuthenticationMessage": "multi-factor authentication is not emulated locally",
    "UserPoolAddOns": "threat protection (advanced security) is not emulated locally",
    "WebAuthnRelyingPartyID": "passkeys are not emulated locally",
    "WebAuthnUserVerification": "passkeys are not emulated locally",
    "WebAuthnFactorConfiguration": "passkeys are not emulated locally",
    "KeyConfiguration": "tokens are signed with the pool's own local key",
    "IssuerConfiguration": "tokens carry Cognito's issuer, https://cognito-idp.<region>.amazonaws.com/<pool id>",
}

#: A client's properties CreateUserPoolClient and UpdateUserPoolClient take under the same name.
_CLIENT_SETTINGS = (
    "RefreshTokenValidity", "AccessTokenValidity", "IdTokenValidity", "TokenValidityUnits", "ReadAttributes",
    "WriteAttributes", "ExplicitAuthFlows", "SupportedIdentityProviders", "CallbackURLs", "LogoutURLs",
    "DefaultRedirectURI", "AllowedOAuthFlows", "AllowedOAuthScopes", "AllowedOAuthFlowsUserPoolClient",
    "AnalyticsConfiguration", "PreventUserExistenceErrors", "EnableTokenRevocation",
    "EnablePropagateAdditionalUserContextData", "AuthSessionValidity", "RefreshTokenRotation",
)  # fmt: skip


def _ignore(codes: tuple[str, ...], action: Callable[[], Any]) -> None:
    # Deleting what is gone already is done: CloudFormation's delete succeeds then too.
    try:
        action()
    except AwsError as error:
        if error.code not in codes:
            raise


def _changed(request: Request, keys: tuple[str, ...]) -> bool:
    previous = request.previous
    return previous is not None and any(previous.properties.get(key) != request.properties.get(key) for key in keys)


def _same_name_refused(request: Request, name: str) -> TemplateError:
    return TemplateError(
        f"Resources.{request.logical_id} ({request.type}): CloudFormation cannot update a stack when a custom-named resource "
        f"requires replacing. Rename {name} and update the stack again."
    )


def _pool_id(request: Request) -> str:
    pool: str = require(request, "UserPoolId")
    return pool


def _provider(env: Env, pool_id: str) -> str:
    return f"cognito-idp.{env.region}.amazonaws.com/{pool_id}"


class UserPool:
    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        for key, why in _POOL_NOT_EMULATED.items():
            if props.get(key) and not (key == "UserPoolAddOns" and _add_ons_off(props[key])):
                env.warn(f"{request.logical_id}: {key} is read but {why}")
        mfa = props.get("MfaConfiguration")
        if isinstance(mfa, str) and mfa.upper() != "OFF":
            env.warn(f"{request.logical_id}: MfaConfiguration {mfa}: multi-factor authentication is not emulated locally")
        name = props.get("UserPoolName") or physical_name(env.stack_name, request.logical_id, 128)
        settings: dict[str, Any] = {key: props[key] for key in _POOL_SETTINGS if key in props}
        previous = request.previous
        replaced: str | None = None
        if previous is not None and not _changed(request, _POOL_REPLACING):
            try:
                env.aws.call("cognito-idp", "UpdateUserPool", {"UserPoolId": previous.physical_id, "PoolName": name, **settings})
            except AwsError as error:
                if error.code != "ResourceNotFoundException":
                    raise
                # Gone since the last start (its data removed): made again, as a new pool.
            else:
                self._add_custom_attributes(env, request, previous.physical_id)
                return self._made(env, previous.physical_id)
        elif previous is not None:
            replaced = previous.physical_id
        params: dict[str, Any] = {"PoolName": name, **settings}
        params.update({key: props[key] for key in (*_POOL_REPLACING, "Schema") if key in props})
        pool = env.aws.call("cognito-idp", "CreateUserPool", params)["UserPool"]
        pool_id = str(pool["Id"])
        if replaced is not None:
            # CloudFormation deletes the replaced pool once the stack is updated; its clients, groups
            # and users go with it (those of the template are made again in the new pool).
            try:
                self.delete(env, Stored(request.logical_id, request.type, replaced, previous.properties if previous else {}))
            except AwsError as error:
                env.warn(f"{request.logical_id}: the replaced user pool {replaced} was kept: {error.code}: {error}")
        return self._made(env, pool_id)

    def _made(self, env: Env, pool_id: str) -> Made:
        attributes = {
            "Arn": env.arn("cognito-idp", f"userpool/{pool_id}"),
            "ProviderName": _provider(env, pool_id),
            "ProviderURL": f"https://{_provider(env, pool_id)}",
            "UserPoolId": pool_id,
        }
        return Made(pool_id, pool_id, attributes)

    def _add_custom_attributes(self, env: Env, request: Request, pool_id: str) -> None:
        """Cognito only ever adds schema attributes: new custom ones are added, a change or removal refused."""
        before = _schema(request.previous.properties.get("Schema") if request.previous else None)
        after = _schema(request.properties.get("Schema"))
        if before == after:
            return
        for name, attribute in before.items():
            if after.get(name) != attribute:
                raise TemplateError(
                    f"{request.where}.Schema: {name}: a user pool's existing schema attributes cannot be modified or deleted"
                )
        added = [attribute for name, attribute in after.items() if name not in before]
        if "AddCustomAttributes" not in operations("cognito-idp").handlers:
            env.warn(f"{request.logical_id}: Schema: the attributes added since the pool was made are not added locally")
            return
        env.aws.call("cognito-idp", "AddCustomAttributes", {"UserPoolId": pool_id, "CustomAttributes": added})

    def delete(self, env: Env, stored: Stored) -> None:
        _ignore(_MISSING, lambda: env.aws.call("cognito-idp", "DeleteUserPool", {"UserPoolId": stored.physical_id}))


def _add_ons_off(add_ons: Any) -> bool:
    return isinstance(add_ons, Mapping) and str(add_ons.get("AdvancedSecurityMode", "OFF")).upper() == "OFF"


def _schema(schema: Any) -> dict[str, Any]:
    return {str(a.get("Name")): a for a in schema or [] if isinstance(a, Mapping)}


class UserPoolClient:
    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        pool_id = _pool_id(request)
        name = props.get("ClientName") or physical_name(env.stack_name, request.logical_id, 128)
        settings: dict[str, Any] = {key: props[key] for key in _CLIENT_SETTINGS if key in props}
        previous = request.previous
        if previous is not None and not _changed(request, ("UserPoolId", "GenerateSecret")):
            try:
                client = env.aws.call(
                    "cognito-idp",
                    "UpdateUserPoolClient",
                    {"UserPoolId": pool_id, "ClientId": previous.physical_id, "ClientName": name, **settings},
                )["UserPoolClient"]
            except AwsError as error:
                if error.code != "ResourceNotFoundException":
                    raise
            else:
                return self._made(client)
        params: dict[str, Any] = {"UserPoolId": pool_id, "ClientName": name, **settings}
        if "GenerateSecret" in props:
            params["GenerateSecret"] = props["GenerateSecret"]
        client = env.aws.call("cognito-idp", "CreateUserPoolClient", params)["UserPoolClient"]
        if previous is not None:
            self.delete(env, previous)
        return self._made(client)

    def _made(self, client: Mapping[str, Any]) -> Made:
        client_id = str(client["ClientId"])
        attributes = {"ClientId": client_id, "Name": str(client.get("ClientName", ""))}
        if client.get("ClientSecret"):
            # Only a client made with GenerateSecret has one; Fn::GetAtt ClientSecret of another fails.
            attributes["ClientSecret"] = str(client["ClientSecret"])
        return Made(client_id, client_id, attributes, {"pool": str(client.get("UserPoolId", ""))})

    def delete(self, env: Env, stored: Stored) -> None:
        pool = stored.state.get("pool") or stored.properties.get("UserPoolId")
        _ignore(_MISSING, lambda: env.aws.call("cognito-idp", "DeleteUserPoolClient", {"UserPoolId": pool, "ClientId": stored.physical_id}))


class UserPoolGroup:
    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        pool_id = _pool_id(request)
        name = props.get("GroupName") or physical_name(env.stack_name, request.logical_id, 128)
        settings = {key: props[key] for key in ("Description", "RoleArn", "Precedence") if key in props}
        previous = request.previous
        params = {"UserPoolId": pool_id, "GroupName": name, **settings}
        replacing = previous is not None and (previous.state.get("pool") != pool_id or previous.physical_id != name)
        if previous is not None and not replacing:
            try:
                env.aws.call("cognito-idp", "UpdateGroup", params)
            except AwsError as error:
                if error.code != "ResourceNotFoundException":
                    raise
            else:
                return Made(name, name, {}, {"pool": pool_id})
        env.aws.call("cognito-idp", "CreateGroup", params)
        if previous is not None and replacing:
            self.delete(env, previous)
        return Made(name, name, {}, {"pool": pool_id})

    def delete(self, env: Env, stored: Stored) -> None:
        pool = stored.state.get("pool")
        _ignore(_MISSING, lambda: env.aws.call("cognito-idp", "DeleteGroup", {"UserPoolId": pool, "GroupName": stored.physical_id}))


class UserPoolResourceServer:
    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        pool_id = _pool_id(request)
        identifier: str = require(request, "Identifier")
        params: dict[str, Any] = {"UserPoolId": pool_id, "Identifier": identifier, "Name": require(request, "Name")}
        # UpdateResourceServer without Scopes removes them: the template's list is always sent.
        params["Scopes"] = list(props.get("Scopes") or [])
        previous = request.previous
        replacing = previous is not None and (previous.state.get("pool") != pool_id or previous.physical_id != identifier)
        if previous is not None and not replacing:
            try:
                env.aws.call("cognito-idp", "UpdateResourceServer", params)
            except AwsError as error:
                if error.code != "ResourceNotFoundException":
                    raise
            else:
                return Made(identifier, identifier, {}, {"pool": pool_id})
        env.aws.call("cognito-idp", "CreateResourceServer", params)
        if previous is not None and replacing:
            self.delete(env, previous)
        return Made(identifier, identifier, {}, {"pool": pool_id})

    def delete(self, env: Env, stored: Stored) -> None:
        pool = stored.state.get("pool")
        _ignore(
            _MISSING, lambda: env.aws.call("cognito-idp", "DeleteResourceServer", {"UserPoolId": pool, "Identifier": stored.physical_id})
        )


_USER_KEYS = ("UserAttributes", "ValidationData", "ForceAliasCreation", "MessageAction", "DesiredDeliveryMediums", "ClientMetadata")


class UserPoolUser:
    """Every property of a user is create-only: any change makes a new user (and deletes the old one)."""

    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        pool_id = _pool_id(request)
        previous = request.previous
        params: dict[str, Any] = {"UserPoolId": pool_id, **{key: props[key] for key in _USER_KEYS if key in props}}
        # Cognito needs a username in AdminCreateUser; CloudFormation names the user itself when the
        # template does not, anew for each replacement.
        params["Username"] = props.get("Username") or physical_name(
            env.stack_name, request.logical_id, 128, lowercase=True, generation=json.dumps(props, sort_keys=True, default=str)
        )
        unchanged = previous is not None and previous.properties == props
        if (
            previous is not None
            and not unchanged
            and (previous.state.get("pool"), previous.state.get("requested"))
            == (
                pool_id,
                params["Username"],
            )
        ):
            raise _same_name_refused(request, str(params["Username"]))
        try:
            user = env.aws.call("cognito-idp", "AdminCreateUser", params)["User"]
        except AwsError as error:
            if not (unchanged and previous is not None and error.code == "UsernameExistsException"):
                raise
            # Made at an earlier start (with its password, groups and attributes since): kept as it is.
            return Made(previous.physical_id, previous.physical_id, {}, previous.state)
        # A pool that signs in with an email address or phone number names the user itself (its sub):
        # that is the user's name from then on.
        username = str(user.get("Username") or params["Username"])
        if previous is not None and not unchanged:
            self.delete(env, previous)
        return Made(username, username, {}, {"pool": pool_id, "requested": params["Username"]})

    def delete(self, env: Env, stored: Stored) -> None:
        pool = stored.state.get("pool")
        _ignore(_MISSING, lambda: env.aws.call("cognito-idp", "AdminDeleteUser", {"UserPoolId": pool, "Username": stored.physical_id}))


class UserPoolUserToGroupAttachment:
    """A user's membership of a group; every property is create-only."""

    def apply(self, env: Env, request: Request) -> Made:
        target = {"UserPoolId": _pool_id(request), "GroupName": require(request, "GroupName"), "Username": require(request, "Username")}
        # Adding a user to a group they are in already succeeds: a restart changes nothing.
        env.aws.call("cognito-idp", "AdminAddUserToGroup", target)
        previous = request.previous
        if previous is not None and dict(previous.state) != target:
            self.delete(env, previous)
        physical = physical_name(env.stack_name, request.logical_id, 128, generation=str(sorted(target.items())))
        return Made(physical, physical, {}, target)

    def delete(self, env: Env, stored: Stored) -> None:
        if not stored.state:
            return
        _ignore(_MISSING, lambda: env.aws.call("cognito-idp", "AdminRemoveUserFromGroup", dict(stored.state)))


class UserPoolDomain:
    """A pool's domain. Locally there is no hosted UI: the OAuth2 token endpoint is the endpoint's
    ``/_sluiceway/cognito/oauth2/token`` (said once at start)."""

    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        pool_id = _pool_id(request)
        domain: str = require(request, "Domain")
        previous = request.previous
        same = previous is not None and previous.physical_id == domain and previous.state.get("pool") == pool_id
        if previous is not None and not same and previous.physical_id == domain:
            raise _same_name_refused(request, domain)
        if props.get("CustomDomainConfig"):
            env.warn(f"{request.logical_id}: CustomDomainConfig is read but custom domains are not emulated locally")
        env.warn(
            f"{request.logical_id}: the hosted UI of {domain} is not emulated locally; its OAuth2 token endpoint is "
            f"{env.aws.endpoint_url.rstrip('/')}/_sluiceway/cognito/oauth2/token"
        )
        params: dict[str, Any] = {"UserPoolId": pool_id, "Domain": domain}
        if "ManagedLoginVersion" in props:
            params["ManagedLoginVersion"] = props["ManagedLoginVersion"]
        try:
            env.aws.call("cognito-idp", "CreateUserPoolDomain", params)
        except AwsError as error:
            # The same domain of the same pool, made at an earlier start. (A pool has one prefix
            # domain: a new domain for the same pool is refused here as Cognito refuses it on AWS.)
            if not (same and error.code == "InvalidParameterException"):
                raise
        described = env.aws.call("cognito-idp", "DescribeUserPoolDomain", {"Domain": domain}).get("DomainDescription") or {}
        cloudfront = str(described.get("CloudFrontDistribution") or "")
        if previous is not None and not same:
            self.delete(env, previous)
        return Made(domain, domain, {"CloudFrontDistribution": cloudfront}, {"pool": pool_id})

    def delete(self, env: Env, stored: Stored) -> None:
        pool = stored.state.get("pool")
        _ignore(
            (*_MISSING, "InvalidParameterException"),
            lambda: env.aws.call("cognito-idp", "DeleteUserPoolDomain", {"UserPoolId": pool, "Domain": stored.physical_id}),
        )
