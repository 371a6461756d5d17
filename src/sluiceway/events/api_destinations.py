"""EventBridge connections and API destinations as values, and the HTTP request a delivery makes.

A connection holds how to authorize (``BASIC``, ``API_KEY`` or ``OAUTH_CLIENT_CREDENTIALS``) and
the header, query string and body parameters every request through it carries; its credentials
live in a Secrets Manager secret (``events!connection/<name>/<uuid>``), as on AWS. An API
destination names a connection, an HTTP(S) endpoint whose ``*`` are filled by the target's
``PathParameterValues``, an HTTP method and a rate limit.

The module is pure: ids, times and credentials come from callers.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, TypeAlias

from ..types import JSON
from .rules import (
    HEADER_KEY_PATTERN,
    HEADER_VALUE_PATTERN,
    MAX_PARAMETER,
    QUERY_KEY_PATTERN,
    QUERY_VALUE_PATTERN,
    RuleValidationError,
)

__all__ = [
    "AUTHORIZATION_TYPES",
    "AUTH_HEADER_PATTERN",
    "HEADER_KEY_PATTERN",
    "HEADER_VALUE_PATTERN",
    "MAX_PARAMETER",
    "QUERY_KEY_PATTERN",
    "QUERY_VALUE_PATTERN",
    "DEFAULT_RATE_LIMIT",
    "HTTP_METHODS",
    "ApiDestinationRecord",
    "AuthorizationType",
    "ConnectionRecord",
    "ExecuteApiTarget",
    "HttpParameters",
    "HttpRequest",
    "Parameter",
    "TargetHttpParameters",
    "api_destination_arn",
    "api_destination_name",
    "auth_headers",
    "build_request",
    "check_http_url",
    "connection_http_parameters",
    "connection_arn",
    "connection_name",
    "execute_api_target",
    "fill_path",
    "is_retryable_status",
    "oauth_token_request",
    "public_auth_parameters",
    "secret_value",
]

AuthorizationType: TypeAlias = Literal["BASIC", "API_KEY", "OAUTH_CLIENT_CREDENTIALS"]
#: In the order AWS lists them in its validation message (recorded against AWS).
AUTHORIZATION_TYPES: Final = ("BASIC", "OAUTH_CLIENT_CREDENTIALS", "API_KEY")
#: In the order AWS lists them in its validation message (recorded against AWS).
HTTP_METHODS: Final = ("HEAD", "POST", "PATCH", "DELETE", "PUT", "GET", "OPTIONS")
#: InvocationRateLimitPerSecond when CreateApiDestination is given none (recorded against AWS).
DEFAULT_RATE_LIMIT: Final = 300

_CONNECTION_ARN: Final = re.compile(r"^arn:aws[a-z-]*:events:[a-z0-9-]*:(\d{12})?:connection/(?P<name>[.\-_A-Za-z0-9]+)/[-A-Za-z0-9]+$")
_DESTINATION_ARN: Final = re.compile(
    r"^arn:aws[a-z-]*:events:[a-z0-9-]*:(\d{12})?:api-destination/(?P<name>[.\-_A-Za-z0-9]+)/[-A-Za-z0-9]+$"
)
# arn:aws:execute-api:REGION:ACCOUNT:API_ID/STAGE/METHOD/PATH (PATH may hold '*', filled by PathParameterValues).
_EXECUTE_API_ARN: Final = re.compile(
    r"^arn:aws[a-z-]*:execute-api:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):(?P<api>[a-z0-9]+)/(?P<stage>[^/]+)"
    r"/(?P<method>[A-Z*]+)(?P<path>/.*)?$"
)
#: The model's patterns (EventBridge's service model, quoted as is in its validation messages):
#: AuthHeaderParameters (Username, Password, ApiKeyName, ApiKeyValue, ClientID, ClientSecret),
#: HeaderKey and HeaderValue (a connection's and a target's headers), QueryStringKey and
#: QueryStringValue. ``+-.`` in HeaderKey is a range (``+ , - .``) in AWS's Java regex as in Python's.
AUTH_HEADER_PATTERN: Final = r"^[ \t]*[^\x00-\x1F:\x7F]+([ \t]+[^\x00-\x1F:\x7F]+)*[ \t]*$"
_HEADER_KEY: Final = re.compile(HEADER_KEY_PATTERN)
_HEADER_VALUE: Final = re.compile(HEADER_VALUE_PATTERN)
# A header line's name as HTTP takes it (RFC 9110 token, and no ':'), and a value without controls.
_HTTP_NAME: Final = re.compile(r"^[!#$%&'*+\-.^_`|~0-9a-zA-Z]+$")
_HTTP_VALUE: Final = re.compile(r"^[^\x00-\x08\x0A-\x1F\x7F]*$")
# EventBridge sets these itself ("API destination" headers in its user guide).
_USER_AGENT: Final = "Amazon/EventBridge/ApiDestinations"
_CONTENT_TYPE: Final = "application/json; charset=utf-8"


def connection_arn(name: str, resource_id: str, *, region: str, account: str) -> str:
    return f"arn:aws:events:{region}:{account}:connection/{name}/{resource_id}"


def api_destination_arn(name: str, resource_id: str, *, region: str, account: str) -> str:
    return f"arn:aws:events:{region}:{account}:api-destination/{name}/{resource_id}"


def connection_name(arn: str) -> str | None:
    """The connection a ConnectionArn names; None if it is not a connection's ARN."""
    match = _CONNECTION_ARN.match(arn) if isinstance(arn, str) else None
    return match["name"] if match else None


def api_destination_name(arn: str) -> str | None:
    """The API destination an ARN names; None if it is not an API destination's ARN."""
    match = _DESTINATION_ARN.match(arn) if isinstance(arn, str) else None
    return match["name"] if match else None


@dataclass(frozen=True)
class ExecuteApiTarget:
    """A rule target that is an API Gateway REST API's method: ``API_ID/STAGE/METHOD/PATH``."""

    region: str
    account: str
    api_id: str
    stage: str
    method: str
    """The HTTP method; ``*`` (any) is sent as POST, which is our choice (AWS's is not documented)."""
    path: str
    """The resource path, ``/`` at least; its ``*`` are filled by PathParameterValues."""


def execute_api_target(arn: str) -> ExecuteApiTarget | None:
    """What an ``execute-api`` target ARN names; None if it is none."""
    match = _EXECUTE_API_ARN.match(arn) if isinstance(arn, str) else None
    if match is None:
        return None
    return ExecuteApiTarget(match["region"], match["account"], match["api"], match["stage"], match["method"], match["path"] or "/")


@dataclass(frozen=True)
class Parameter:
    """One of a connection's header, query string or body parameters."""

    key: str
    value: str
    secret: bool = False
    """``IsValueSecret``: the value is kept in the connection's secret only, never described."""

    @classmethod
    def from_json(cls, value: Any) -> Parameter:
        if not isinstance(value, Mapping) or not isinstance(value.get("Key"), str):
            raise RuleValidationError("A connection parameter needs a Key.")
        return cls(value["Key"], str(value.get("Value", "")), bool(value.get("IsValueSecret", False)))

    def to_json(self, *, with_secret: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"Key": self.key}
        if with_secret or not self.secret:
            out["Value"] = self.value
        out["IsValueSecret"] = self.secret
        return out


def _parameters(value: Any, member: str) -> tuple[Parameter, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise RuleValidationError(f"{member} must be a list.")
    return tuple(Parameter.from_json(v) for v in value)


@dataclass(frozen=True)
class HttpParameters:
    """Header, query string and body parameters (a connection's InvocationHttpParameters or OAuthHttpParameters)."""

    headers: tuple[Parameter, ...] = ()
    query: tuple[Parameter, ...] = ()
    body: tuple[Parameter, ...] = ()

    @classmethod
    def from_json(cls, value: Any) -> HttpParameters:
        if value is None:
            return cls()
        if not isinstance(value, Mapping):
            raise RuleValidationError("InvocationHttpParameters must be an object.")
        return cls(
            _parameters(value.get("HeaderParameters"), "HeaderParameters"),
            _parameters(value.get("QueryStringParameters"), "QueryStringParameters"),
            _parameters(value.get("BodyParameters"), "BodyParameters"),
        )

    def to_json(self, *, with_secret: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, items in (("HeaderParameters", self.headers), ("QueryStringParameters", self.query), ("BodyParameters", self.body)):
            if items:
                out[name] = [p.to_json(with_secret=with_secret) for p in items]
        return out


@dataclass(frozen=True)
class ConnectionRecord:
    """A connection as the store keeps it (its credentials are in its secret, not here)."""

    name: str
    arn: str
    authorization_type: AuthorizationType
    auth_parameters: Mapping[str, Any]
    """DescribeConnection's AuthParameters: no password, key value, client secret or secret parameter value."""
    secret_arn: str
    state: str
    created_at: datetime
    modified_at: datetime
    authorized_at: datetime | None = None
    description: str | None = None
    state_reason: str | None = None


@dataclass(frozen=True)
class ApiDestinationRecord:
    """An API destination."""

    name: str
    arn: str
    connection_arn: str
    endpoint: str
    http_method: str
    rate_limit: int
    created_at: datetime
    modified_at: datetime
    description: str | None = None


def _auth_block(authorization_type: str, params: Mapping[str, Any]) -> Mapping[str, Any]:
    key = {"BASIC": "BasicAuthParameters", "API_KEY": "ApiKeyAuthParameters", "OAUTH_CLIENT_CREDENTIALS": "OAuthParameters"}[
        authorization_type
    ]
    block = params.get(key)
    if not isinstance(block, Mapping):
        raise RuleValidationError(f"{key} must be specified for authorization type {authorization_type}.")
    return block


def secret_value(authorization_type: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """What the connection's secret holds, in the keys AWS's secret uses (recorded against AWS for the
    credentials; the shape of ``invocation_http_parameters``' members is ours, not confirmed).

    Raises:
        RuleValidationError: the auth parameters for ``authorization_type`` are missing or incomplete.
    """
    block = _auth_block(authorization_type, params)
    out: dict[str, Any]
    if authorization_type == "BASIC":
        out = {"username": _required(block, "Username"), "password": _required(block, "Password")}
    elif authorization_type == "API_KEY":
        out = {"api_key_name": _required(block, "ApiKeyName"), "api_key_value": _required(block, "ApiKeyValue")}
    else:
        client = block.get("ClientParameters")
        if not isinstance(client, Mapping):
            raise RuleValidationError("ClientParameters must be specified for OAuthParameters.")
        method = _required(block, "HttpMethod")
        if method not in ("GET", "POST", "PUT"):
            raise RuleValidationError(
                f"1 validation error detected: Value '{method}' at 'authParameters.oAuthParameters.httpMethod' failed to satisfy "
                "constraint: Member must satisfy enum value set: [GET, POST, PUT]"
            )
        endpoint = _required(block, "AuthorizationEndpoint")
        check_http_url(endpoint, "AuthorizationEndpoint")
        out = {
            "client_id": _required(client, "ClientID"),
            "client_secret": _required(client, "ClientSecret"),
            "authorization_endpoint": endpoint,
            "http_method": method,
        }
        if block.get("OAuthHttpParameters") is not None:
            out["oauth_http_parameters"] = _secret_parameters(HttpParameters.from_json(block["OAuthHttpParameters"]))
    if params.get("InvocationHttpParameters") is not None:
        out["invocation_http_parameters"] = _secret_parameters(HttpParameters.from_json(params["InvocationHttpParameters"]))
    return out


def _secret_parameters(params: HttpParameters) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, items in (("header_parameters", params.headers), ("query_string_parameters", params.query), ("body_parameters", params.body)):
        if items:
            out[name] = [{"key": p.key, "value": p.value, "is_value_secret": p.secret} for p in items]
    return out


def _from_secret_parameters(value: Any) -> HttpParameters:
    if not isinstance(value, Mapping):
        return HttpParameters()

    def read(name: str) -> tuple[Parameter, ...]:
        return tuple(Parameter(str(p["key"]), str(p["value"]), bool(p.get("is_value_secret"))) for p in value.get(name) or ())

    return HttpParameters(read("header_parameters"), read("query_string_parameters"), read("body_parameters"))


def public_auth_parameters(authorization_type: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """DescribeConnection's AuthParameters: what was given, without any secret (recorded against AWS)."""
    block = _auth_block(authorization_type, params)
    out: dict[str, Any]
    if authorization_type == "BASIC":
        out = {"BasicAuthParameters": {"Username": block["Username"]}}
    elif authorization_type == "API_KEY":
        out = {"ApiKeyAuthParameters": {"ApiKeyName": block["ApiKeyName"]}}
    else:
        oauth: dict[str, Any] = {
            "AuthorizationEndpoint": block["AuthorizationEndpoint"],
            "ClientParameters": {"ClientID": block["ClientParameters"]["ClientID"]},
            "HttpMethod": block["HttpMethod"],
        }
        if block.get("OAuthHttpParameters") is not None:
            oauth["OAuthHttpParameters"] = HttpParameters.from_json(block["OAuthHttpParameters"]).to_json(with_secret=False)
        out = {"OAuthParameters": oauth}
    if params.get("InvocationHttpParameters") is not None:
        out["InvocationHttpParameters"] = HttpParameters.from_json(params["InvocationHttpParameters"]).to_json(with_secret=False)
    return out


def _required(block: Mapping[str, Any], key: str) -> str:
    value = block.get(key)
    if not isinstance(value, str) or not value:
        raise RuleValidationError(f"{key} must be specified.")
    return value


def check_http_url(url: str, member: str) -> str:
    """``url`` if it is an http(s) URL with a host: nothing else (``file:``, ``ftp:``) is ever requested.

    AWS takes HTTPS only; plain HTTP is accepted here so that a local server can be the destination.
    """
    parsed = urllib.parse.urlsplit(url) if isinstance(url, str) else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise RuleValidationError(f"{member} '{url}' is not valid: use an https:// URL.")
    return url


def fill_path(template: str, values: Sequence[str]) -> str:
    """``template`` with each ``*`` replaced, in order, by a PathParameterValue (percent-encoded).

    Raises:
        RuleValidationError: there are not as many values as ``*``.
    """
    parts = template.split("*")
    if len(parts) - 1 != len(values):
        raise RuleValidationError(
            f"The endpoint has {len(parts) - 1} path parameter(s) ('*') but the target gives {len(values)} PathParameterValues."
        )
    out = parts[0]
    for value, rest in zip(values, parts[1:], strict=True):
        out += urllib.parse.quote(value, safe="") + rest
    return out


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request: what a delivery (or an OAuth token request) sends."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None = None


@dataclass(frozen=True)
class TargetHttpParameters:
    """A target's ``HttpParameters``."""

    path_values: tuple[str, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, value: Mapping[str, Any] | None) -> TargetHttpParameters:
        if not value:
            return cls()
        return cls(
            tuple(str(v) for v in value.get("PathParameterValues") or ()),
            {str(k): str(v) for k, v in (value.get("HeaderParameters") or {}).items()},
            {str(k): str(v) for k, v in (value.get("QueryStringParameters") or {}).items()},
        )


def _with_query(url: str, query: Sequence[tuple[str, str]]) -> str:
    if not query:
        return url
    parts = urllib.parse.urlsplit(url)
    joined = "&".join(filter(None, [parts.query, urllib.parse.urlencode(list(query))]))
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, joined, parts.fragment))


def _merge(target: Mapping[str, str], connection: Sequence[Parameter], *, fold: bool) -> list[tuple[str, str]]:
    # "If there are conflicting keys, values from the connection take precedence" (EventBridge's
    # user guide on API destination parameters); header names compare without case.
    def norm(key: str) -> str:
        return key.lower() if fold else key

    taken = {norm(p.key) for p in connection}
    return [(p.key, p.value) for p in connection] + [(k, v) for k, v in target.items() if norm(k) not in taken]


def build_request(
    *,
    method: str,
    url_template: str,
    payload: JSON,
    target: TargetHttpParameters,
    connection: HttpParameters = HttpParameters(),
    auth_headers: Mapping[str, str] | None = None,
) -> HttpRequest:
    """The request a delivery makes: the endpoint with its ``*`` filled, the connection's and the
    target's headers and query string (the connection's win), the auth header, and the payload as JSON.

    The connection's body parameters are added to a JSON object payload (the connection's win);
    another payload is sent as it is (where AWS puts them then is not documented).

    Raises:
        RuleValidationError: the PathParameterValues do not fill the endpoint's ``*``, or a header is not valid.
    """
    # Checked before the query string is added: the message must not show the connection's
    # (possibly secret) query parameters.
    url = check_http_url(fill_path(url_template, target.path_values), "InvocationEndpoint")
    url = _with_query(url, _merge(target.query, connection.query, fold=False))
    headers: dict[str, str] = {"User-Agent": _USER_AGENT, "Content-Type": _CONTENT_TYPE}
    for key, value in _merge(target.headers, connection.headers, fold=True):
        if not _HEADER_KEY.match(key) or (value and not _HEADER_VALUE.match(value)):
            raise RuleValidationError(f"Header parameter '{key}' is not a valid HTTP header.")
        headers[key] = value
    for key, value in (auth_headers or {}).items():
        # The API key's name and value (or a token an authorization endpoint sent) become a header
        # line as they are: no line break or control character may reach the request. The value is
        # never shown (it is the credential).
        if not _HTTP_NAME.match(key.strip()) or not _HTTP_VALUE.match(value):
            raise RuleValidationError("The connection's authorization header is not a valid HTTP header.")
        headers[key.strip()] = value.strip()
    body_value: JSON = payload
    if connection.body and isinstance(payload, dict):
        body_value = {**payload, **{p.key: p.value for p in connection.body}}
    body = None if method in ("GET", "HEAD") else json.dumps(body_value, separators=(",", ":")).encode()
    return HttpRequest(method, url, headers, body)


def connection_http_parameters(secret: Mapping[str, Any]) -> HttpParameters:
    """The InvocationHttpParameters kept in a connection's secret (secret values included)."""
    return _from_secret_parameters(secret.get("invocation_http_parameters"))


def auth_headers(authorization_type: str, secret: Mapping[str, Any], *, token: str | None = None) -> dict[str, str]:
    """The header that authorizes a request (BASIC: ``Authorization: Basic``, API_KEY: the key's own
    header, OAuth: ``Authorization: Bearer`` with ``token``)."""
    if authorization_type == "BASIC":
        raw = f"{secret['username']}:{secret['password']}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
    if authorization_type == "API_KEY":
        return {str(secret["api_key_name"]): str(secret["api_key_value"])}
    if token is None:
        raise ValueError("an OAuth connection needs its access token")
    return {"Authorization": f"Bearer {token}"}


def oauth_token_request(secret: Mapping[str, Any]) -> HttpRequest:
    """The client credentials request for an OAuth connection's access token.

    OAuth 2.0's client credentials grant (RFC 6749, 4.4) with the client authenticated by HTTP
    Basic (its 2.3.1), plus the connection's OAuthHttpParameters. That EventBridge sends exactly
    this (rather than the credentials in the body) is not confirmed.
    """
    extra = _from_secret_parameters(secret.get("oauth_http_parameters"))
    method = str(secret.get("http_method", "POST"))
    raw = f"{secret['client_id']}:{secret['client_secret']}".encode()
    headers = {
        "User-Agent": _USER_AGENT,
        "Authorization": "Basic " + base64.b64encode(raw).decode(),
        "Accept": "application/json",
    }
    headers.update({p.key: p.value for p in extra.headers})
    form = [("grant_type", "client_credentials"), *((p.key, p.value) for p in extra.body)]
    query = [(p.key, p.value) for p in extra.query]
    url = check_http_url(str(secret["authorization_endpoint"]), "AuthorizationEndpoint")
    if method == "GET":
        return HttpRequest(method, _with_query(url, [*form, *query]), headers)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return HttpRequest(method, _with_query(url, query), headers, urllib.parse.urlencode(form).encode())


def is_retryable_status(status: int) -> bool:
    """Whether EventBridge tries a request again after this status: "EventBridge retries requests that
    fail with 401, 407, 409, 429, and 5xx error codes" and no other (its API destinations guide)."""
    return status in (401, 407, 409, 429) or 500 <= status <= 599
