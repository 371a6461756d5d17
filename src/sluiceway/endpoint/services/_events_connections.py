"""EventBridge connections and API destinations (json protocol), over :class:`SqliteApiDestinations`.

A connection's credentials go to a Secrets Manager secret of the data dir (``events!connection/
<name>/<uuid>``, readable with GetSecretValue, as on AWS); the running stack's router reads them
when it delivers to an API destination (:mod:`sluiceway.runtime.bus.http_targets`). Shapes and
messages are those recorded against AWS where known.
"""

from __future__ import annotations

import re
from typing import Any, Final, cast

from ...backends.local.api_destinations import SqliteApiDestinations
from ...errors import NotFoundError
from ...events.api_destinations import (
    AUTH_HEADER_PATTERN,
    AUTHORIZATION_TYPES,
    DEFAULT_RATE_LIMIT,
    HEADER_KEY_PATTERN,
    HEADER_VALUE_PATTERN,
    HTTP_METHODS,
    MAX_PARAMETER,
    QUERY_KEY_PATTERN,
    QUERY_VALUE_PATTERN,
    ApiDestinationRecord,
    AuthorizationType,
    ConnectionRecord,
    check_http_url,
    connection_name,
)
from ..context import Context
from ._events_common import check_name, operation, page, validation
from .secretsmanager import secrets_store

__all__ = ["connections_store"]

#: ConnectionArn's pattern in EventBridge's model (AWS quotes it in its message).
_CONNECTION_ARN: Final = r"^arn:aws([a-z]|\-)*:events:([a-z]|\d|\-)*:([0-9]{12})?:connection\/[\.\-_A-Za-z0-9]+\/[\-A-Za-z0-9]+$"
#: HttpsEndpoint's pattern in EventBridge's model.
_ENDPOINT: Final = r"^((%[0-9A-Fa-f]{2}|[-()_.!~*';/?:@\x26=+$,A-Za-z0-9])+)([).!';/?:,])?$"
_CONNECTION_STATES: Final = (
    "CREATING", "UPDATING", "DELETING", "AUTHORIZED", "DEAUTHORIZED", "AUTHORIZING", "DEAUTHORIZING", "ACTIVE", "FAILED_CONNECTIVITY",
)  # fmt: skip
_MAX_DESCRIPTION: Final = 512
#: The model's ApiDestinationInvocationRateLimitPerSecond is an integer (32 bits) of at least 1.
_MAX_INTEGER: Final = 2**31 - 1
# The credentials in AuthParameters: (block, member, its path in messages, sensitive).
_CREDENTIALS: Final = (
    ("BasicAuthParameters", "Username", "basicAuthParameters.username", False),
    ("BasicAuthParameters", "Password", "basicAuthParameters.password", True),
    ("ApiKeyAuthParameters", "ApiKeyName", "apiKeyAuthParameters.apiKeyName", False),
    ("ApiKeyAuthParameters", "ApiKeyValue", "apiKeyAuthParameters.apiKeyValue", True),
)


def connections_store(ctx: Context) -> SqliteApiDestinations:
    """The data dir's connections and API destinations, their secrets in its Secrets Manager."""
    local, settings = ctx.stack.local, ctx.stack.settings
    secrets = secrets_store(ctx)  # outside the factory: Shared.get holds its lock while one runs
    return ctx.shared.get(
        "events-connections",
        lambda: SqliteApiDestinations(local.db, local.clock, secrets, region=settings.region, account=settings.account_id),
    )


def _problems(problems: list[str]) -> None:
    """AWS's wording for every member that breaks the model's constraints, in one message."""
    if problems:
        count = f"{len(problems)} validation error{'s' if len(problems) > 1 else ''} detected"
        raise validation(f"{count}: {'; '.join(problems)}")


def _enum(value: Any, member: str, allowed: tuple[str, ...]) -> str | None:
    if value in allowed:
        return None
    return f"Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy enum value set: [{', '.join(allowed)}]"


def _pattern(value: Any, member: str, pattern: str, maximum: int) -> str | None:
    if isinstance(value, str) and 1 <= len(value) <= maximum and re.search(pattern, value):
        return None
    if isinstance(value, str) and len(value) > maximum:
        return f"Value '{value}' at '{member}' failed to satisfy constraint: Member must have length less than or equal to {maximum}"
    return f"Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: {pattern}"


def _member(value: Any, member: str, pattern: str, *, sensitive: bool, minimum: int = 0) -> str | None:
    """The model's length and pattern constraints on one string member (AuthHeaderParameters,
    HeaderKey, HeaderValue...), in AWS's wording. A sensitive member's value is not repeated in the
    message: Coral-based services write "Value at '...'" for those (as Cognito does for passwords);
    that EventBridge does the same is not confirmed."""
    if value is None:
        return None
    shown = "Value" if sensitive else f"Value '{value}'"
    where = f"{shown} at '{member}' failed to satisfy constraint"
    if not isinstance(value, str):
        return f"{where}: Member must satisfy regular expression pattern: {pattern}"
    if len(value) < minimum:
        return f"{where}: Member must have length greater than or equal to {minimum}"
    if len(value) > MAX_PARAMETER:
        return f"{where}: Member must have length less than or equal to {MAX_PARAMETER}"
    if not re.search(pattern, value):
        return f"{where}: Member must satisfy regular expression pattern: {pattern}"
    return None


def _http_parameter_problems(value: Any, member: str) -> list[str]:
    """InvocationHttpParameters' or OAuthHttpParameters' header and query string parameters."""
    if not isinstance(value, dict):
        return []
    problems: list[str] = []
    for name, path, key_pattern, value_pattern in (
        ("HeaderParameters", "headerParameters", HEADER_KEY_PATTERN, HEADER_VALUE_PATTERN),
        ("QueryStringParameters", "queryStringParameters", QUERY_KEY_PATTERN, QUERY_VALUE_PATTERN),
    ):
        items = value.get(name)
        for index, item in enumerate(items if isinstance(items, list) else [], 1):
            if not isinstance(item, dict):
                continue
            at = f"{member}.{path}.{index}.member"
            problems += [
                p
                for p in (
                    _member(item.get("Key"), f"{at}.key", key_pattern, sensitive=False),
                    _member(item.get("Value"), f"{at}.value", value_pattern, sensitive=True),
                )
                if p
            ]
    return problems


def _auth_problems(params: Any) -> None:
    """AuthParameters' credentials and parameters against the model's patterns: a line break or a
    ':' in an API key or a user name never reaches a request (ValidationException, as on AWS)."""
    if not isinstance(params, dict):
        return
    problems: list[str] = []
    for block, key, path, sensitive in _CREDENTIALS:
        given = params.get(block)
        if isinstance(given, dict):
            problem = _member(given.get(key), f"authParameters.{path}", AUTH_HEADER_PATTERN, sensitive=sensitive, minimum=1)
            problems += [problem] if problem else []
    oauth = params.get("OAuthParameters")
    if isinstance(oauth, dict):
        client = oauth.get("ClientParameters")
        if isinstance(client, dict):
            for key, path, sensitive in (("ClientID", "clientID", False), ("ClientSecret", "clientSecret", True)):
                problem = _member(
                    client.get(key),
                    f"authParameters.oAuthParameters.clientParameters.{path}",
                    AUTH_HEADER_PATTERN,
                    sensitive=sensitive,
                    minimum=1,
                )
                problems += [problem] if problem else []
        problems += _http_parameter_problems(oauth.get("OAuthHttpParameters"), "authParameters.oAuthParameters.oAuthHttpParameters")
    problems += _http_parameter_problems(params.get("InvocationHttpParameters"), "authParameters.invocationHttpParameters")
    _problems(problems)


def _description(params: dict[str, Any]) -> str | None:
    text = params.get("Description")
    if text is not None and (not isinstance(text, str) or len(text) > _MAX_DESCRIPTION):
        _problems([f"Value '{text}' at 'description' failed to satisfy constraint: Member must have length less than or equal to 512"])
    return cast(str | None, text)


# -- connections ----------------------------------------------------------------------------------


def _connection_summary(record: ConnectionRecord, *, state: str | None = None, authorized: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ConnectionArn": record.arn,
        "ConnectionState": state or record.state,
        "CreationTime": record.created_at,
        "LastModifiedTime": record.modified_at,
    }
    if authorized and record.authorized_at is not None:
        out["LastAuthorizedTime"] = record.authorized_at
    return out


def _connection_list_item(record: ConnectionRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"ConnectionArn": record.arn, "Name": record.name, "ConnectionState": record.state}
    if record.state_reason:
        out["StateReason"] = record.state_reason
    out.update(AuthorizationType=record.authorization_type, CreationTime=record.created_at, LastModifiedTime=record.modified_at)
    out["LastAuthorizedTime"] = record.authorized_at or record.modified_at
    return out


def _auth_type(value: Any) -> AuthorizationType:
    _problems([p for p in [_enum(value, "authorizationType", AUTHORIZATION_TYPES)] if p])
    return cast(AuthorizationType, value)


@operation("CreateConnection")
def create_connection(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = check_name(params["Name"], "name")
    kind = _auth_type(params["AuthorizationType"])
    _auth_problems(params["AuthParameters"])
    record = connections_store(ctx).create_connection(name, kind, params["AuthParameters"], description=_description(params))
    # CreateConnection answers without LastAuthorizedTime (recorded against AWS).
    return _connection_summary(record, authorized=False)


@operation("DescribeConnection")
def describe_connection(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    record = connections_store(ctx).get_connection(check_name(params["Name"], "name"))
    out: dict[str, Any] = {"ConnectionArn": record.arn, "Name": record.name}
    if record.description:
        out["Description"] = record.description
    out["ConnectionState"] = record.state
    if record.state_reason:
        out["StateReason"] = record.state_reason
    out.update(AuthorizationType=record.authorization_type, SecretArn=record.secret_arn, AuthParameters=dict(record.auth_parameters))
    out.update(CreationTime=record.created_at, LastModifiedTime=record.modified_at)
    # AWS shows LastAuthorizedTime even for an OAuth connection still AUTHORIZING (recorded against AWS).
    out["LastAuthorizedTime"] = record.authorized_at or record.modified_at
    return out


@operation("UpdateConnection")
def update_connection(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = check_name(params["Name"], "name")
    kind = _auth_type(params["AuthorizationType"]) if params.get("AuthorizationType") is not None else None
    _auth_problems(params.get("AuthParameters"))
    record = connections_store(ctx).update_connection(
        name, authorization_type=kind, auth_parameters=params.get("AuthParameters"), description=_description(params)
    )
    return _connection_summary(record)


@operation("DeleteConnection")
def delete_connection(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    record = connections_store(ctx).delete_connection(check_name(params["Name"], "name"))
    out = _connection_summary(record, state="DELETING")
    out.setdefault("LastAuthorizedTime", record.modified_at)
    return out


@operation("DeauthorizeConnection")
def deauthorize_connection(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    store = connections_store(ctx)
    name = check_name(params["Name"], "name")
    store.get_connection(name)
    # DEAUTHORIZING in the answer, DEAUTHORIZED from then on: locally there is nothing to wait for.
    store.set_connection_state(name, "DEAUTHORIZED", reason="Deauthorized by DeauthorizeConnection")
    return _connection_summary(store.get_connection(name), state="DEAUTHORIZING")


@operation("ListConnections")
def list_connections(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    prefix, state = params.get("NamePrefix") or "", params.get("ConnectionState")
    if state is not None:
        _problems([p for p in [_enum(state, "connectionState", _CONNECTION_STATES)] if p])
    records = [r for r in connections_store(ctx).list_connections() if r.name.startswith(prefix) and (state is None or r.state == state)]
    shown, token = page(records, lambda r: r.name, params)
    out: dict[str, Any] = {"Connections": [_connection_list_item(r) for r in shown]}
    if token:
        out["NextToken"] = token
    return out


# -- API destinations -----------------------------------------------------------------------------


def _destination_state(ctx: Context, record: ApiDestinationRecord) -> str:
    # ACTIVE while its connection is authorized; INACTIVE otherwise (an OAuth connection still
    # AUTHORIZING shows its destinations INACTIVE, recorded against AWS).
    store = connections_store(ctx)
    try:
        return "ACTIVE" if store.connection_by_arn(record.connection_arn).state == "AUTHORIZED" else "INACTIVE"
    except NotFoundError:
        return "INACTIVE"  # its connection was deleted


def _destination_summary(ctx: Context, record: ApiDestinationRecord) -> dict[str, Any]:
    return {
        "ApiDestinationArn": record.arn,
        "ApiDestinationState": _destination_state(ctx, record),
        "CreationTime": record.created_at,
        "LastModifiedTime": record.modified_at,
    }


def _destination_out(ctx: Context, record: ApiDestinationRecord, *, full: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"ApiDestinationArn": record.arn, "Name": record.name}
    if full and record.description:
        out["Description"] = record.description
    out.update(
        ApiDestinationState=_destination_state(ctx, record),
        ConnectionArn=record.connection_arn,
        InvocationEndpoint=record.endpoint,
        HttpMethod=record.http_method,
        InvocationRateLimitPerSecond=record.rate_limit,
        CreationTime=record.created_at,
        LastModifiedTime=record.modified_at,
    )
    return out


def _destination_params(params: dict[str, Any], *, create: bool) -> dict[str, Any]:
    """The checked members of Create/UpdateApiDestination, as the store's columns."""
    problems: list[str] = []
    out: dict[str, Any] = {}
    if create or params.get("ConnectionArn") is not None:
        problem = _pattern(params.get("ConnectionArn"), "connectionArn", _CONNECTION_ARN, 1600)
        problems += [problem] if problem else []
        out["connection_arn"] = params.get("ConnectionArn")
    if create or params.get("HttpMethod") is not None:
        problem = _enum(params.get("HttpMethod"), "httpMethod", HTTP_METHODS)
        problems += [problem] if problem else []
        out["http_method"] = params.get("HttpMethod")
    if create or params.get("InvocationEndpoint") is not None:
        problem = _pattern(params.get("InvocationEndpoint"), "invocationEndpoint", _ENDPOINT, 2048)
        problems += [problem] if problem else []
        out["endpoint"] = params.get("InvocationEndpoint")
    rate = params.get("InvocationRateLimitPerSecond")
    if rate is not None:
        if isinstance(rate, bool) or not isinstance(rate, int) or rate < 1:
            rule = "Member must have value greater than or equal to 1"
            problems.append(f"Value '{rate}' at 'invocationRateLimitPerSecond' failed to satisfy constraint: {rule}")
        elif rate > _MAX_INTEGER:
            # Beyond the model's 32-bit integer: refused rather than stored. AWS's exact answer to
            # such a number (a SerializationException?) is not confirmed.
            rule = f"Member must have value less than or equal to {_MAX_INTEGER}"
            problems.append(f"Value '{rate}' at 'invocationRateLimitPerSecond' failed to satisfy constraint: {rule}")
        out["rate_limit"] = rate
    _problems(problems)
    if "endpoint" in out:
        check_http_url(out["endpoint"], "InvocationEndpoint")
    return out


@operation("CreateApiDestination")
def create_api_destination(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = check_name(params["Name"], "name")
    given = _destination_params(params, create=True)
    description = _description(params)
    store = connections_store(ctx)
    connection = store.connection_by_arn(given["connection_arn"])
    record = store.create_api_destination(
        name, connection.name, given["endpoint"], given["http_method"], given.get("rate_limit", DEFAULT_RATE_LIMIT), description=description
    )
    return _destination_summary(ctx, record)


@operation("DescribeApiDestination")
def describe_api_destination(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _destination_out(ctx, connections_store(ctx).get_api_destination(check_name(params["Name"], "name")), full=True)


@operation("UpdateApiDestination")
def update_api_destination(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = check_name(params["Name"], "name")
    changes = _destination_params(params, create=False)
    store = connections_store(ctx)
    if "connection_arn" in changes:
        store.connection_by_arn(changes["connection_arn"])
    description = _description(params)
    if description is not None:
        changes["description"] = description
    return _destination_summary(ctx, store.update_api_destination(name, changes))


@operation("DeleteApiDestination")
def delete_api_destination(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    connections_store(ctx).delete_api_destination(check_name(params["Name"], "name"))
    return {}


@operation("ListApiDestinations")
def list_api_destinations(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    prefix, connection = params.get("NamePrefix") or "", params.get("ConnectionArn")
    if connection is not None and connection_name(connection) is None:
        _problems([p for p in [_pattern(connection, "connectionArn", _CONNECTION_ARN, 1600)] if p])
    records = [
        r
        for r in connections_store(ctx).list_api_destinations()
        if r.name.startswith(prefix) and (connection is None or r.connection_arn == connection)
    ]
    shown, token = page(records, lambda r: r.name, params)
    out: dict[str, Any] = {"ApiDestinations": [_destination_out(ctx, r, full=False) for r in shown]}
    if token:
        out["NextToken"] = token
    return out
