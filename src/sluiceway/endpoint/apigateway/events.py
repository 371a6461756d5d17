"""The events a Lambda proxy integration sends: payload format 1.0 (REST, and HTTP APIs that ask) and 2.0.

Shapes follow API Gateway's "Lambda proxy integration input format" and "HTTP API payload format
version 2.0". Where the two kinds of API differ on the same field, the difference is AWS's:

* A REST API passes the path and path parameters still percent-encoded; an HTTP API decodes them.
* A REST API keeps header names as the client spelled them; an HTTP API lower-cases them. The
  endpoint's server reads names lower-cased, so REST events carry the canonical spelling
  (``Content-Type``, ``X-Api-Key``), which is what clients send in practice.
* Format 1.0 keeps the last value of a repeated query parameter in ``queryStringParameters`` and
  all of them in ``multiValueQueryStringParameters``; 2.0 joins them with commas.
* An HTTP API's request body is text only for ``text/*``, ``application/json``, ``application/xml``
  and ``application/javascript``; any other type (or none, even a form post) reaches the function
  base64-encoded. A REST API base64-encodes only the API's binary media types.
"""

from __future__ import annotations

import base64
import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

from .model import Api, Route, Stage

if TYPE_CHECKING:
    from .api_keys import KeyUse
    from .grants import Grant

__all__ = ["RequestView", "canonical_header_name", "is_binary", "payload_v1", "payload_v2", "request_time"]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TEXT_TYPES = ("application/json", "application/xml", "application/javascript")


@dataclass(frozen=True)
class RequestView:
    """One request as the gateway routed it."""

    api: Api
    stage: Stage
    route: Route
    path_parameters: Mapping[str, str]
    """Raw (percent-encoded) values."""
    method: str
    path: str
    """The path after the API's base and stage as it was routed (raw, empty segments dropped): ``/items/1``."""
    stage_path: str
    """:attr:`path` with the stage segment if the URL has one: ``/Prod/items/1``."""
    query: str
    headers: Mapping[str, str]
    """Lower-cased names, the gateway's forwarding headers included."""
    body: bytes
    source_ip: str
    request_id: str
    extended_request_id: str
    time_ms: int
    domain_name: str
    domain_prefix: str
    authorizer: Grant | None = None
    """What the route's authorizer verified (``requestContext.authorizer``); None for an open route."""
    api_key: KeyUse | None = None
    """REST: the API key the request was let through with (``requestContext.identity.apiKey``, ``apiKeyId``)."""


def request_time(time_ms: int) -> str:
    """``12/Mar/2020:19:03:58 +0000`` (CLF, English month names whatever the locale)."""
    import time

    t = time.gmtime(time_ms / 1000)
    return f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


def is_binary(content_type: str | None, binary_media_types: tuple[str, ...], *, http_api: bool) -> bool:
    """Whether a body of ``content_type`` reaches the function base64-encoded."""
    media = (content_type or "").split(";")[0].strip().lower()
    if http_api:
        return not (media.startswith("text/") or media in _TEXT_TYPES)
    if "*/*" in binary_media_types:
        return True
    return bool(media) and any(fnmatch.fnmatchcase(media, pattern.lower()) for pattern in binary_media_types)


def _body(view: RequestView, *, http_api: bool) -> tuple[str | None, bool]:
    if not view.body:
        return None, False
    if is_binary(view.headers.get("content-type"), view.api.binary_media_types, http_api=http_api):
        return base64.b64encode(view.body).decode("ascii"), True
    return view.body.decode("utf-8", errors="replace"), False


def canonical_header_name(name: str) -> str:
    """``x-api-key`` -> ``X-Api-Key``: the spelling a REST API shows for a header the server read lower-cased."""
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


def _query_pairs(query: str) -> list[tuple[str, str]]:
    return parse_qsl(query, keep_blank_values=True) if query else []


def _identity(view: RequestView) -> dict[str, Any]:
    identity: dict[str, Any] = {
        "cognitoIdentityPoolId": None, "accountId": None, "cognitoIdentityId": None, "caller": None,
        "sourceIp": view.source_ip, "principalOrgId": None, "accessKey": None,
        "cognitoAuthenticationType": None, "cognitoAuthenticationProvider": None, "userArn": None,
        "userAgent": view.headers.get("user-agent"), "user": None,
    }  # fmt: skip
    signer = view.authorizer.signer if view.authorizer is not None else None
    if signer is not None:
        identity.update(signer.for_identity())
    if view.api_key is not None:
        # Only a method that required a key carries it (AWS: "null" for methods that require none).
        identity["apiKey"] = view.api_key.value
        identity["apiKeyId"] = view.api_key.key_id
    return identity


def payload_v1(view: RequestView) -> dict[str, Any]:
    """The 1.0 event (every REST API's; an HTTP API's when its integration asks for 1.0)."""
    http_api = view.api.kind == "HTTP"
    names = (lambda n: n) if http_api else canonical_header_name
    headers = {names(k): v for k, v in view.headers.items()}
    pairs = _query_pairs(view.query)
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        single[key] = value
        multi.setdefault(key, []).append(value)
    parameters = dict(view.path_parameters)
    path = view.path or "/"
    stage_path = view.stage_path or "/"
    if http_api:
        parameters = {k: unquote(v) for k, v in parameters.items()}
        path, stage_path = unquote(path), unquote(stage_path)
    body, encoded = _body(view, http_api=http_api)
    route = view.route
    context: dict[str, Any] = {
        "accountId": view.api.account_id,
        "apiId": view.api.api_id,
        "domainName": view.domain_name,
        "domainPrefix": view.domain_prefix,
        "extendedRequestId": view.extended_request_id,
        "httpMethod": view.method,
        "identity": _identity(view),
        "path": stage_path,
        "protocol": "HTTP/1.1",
        "requestId": view.request_id,
        "requestTime": request_time(view.time_ms),
        "requestTimeEpoch": view.time_ms,
        "resourceId": route.route_key if http_api else route.resource_id,
        "resourcePath": route.path,
        "stage": view.stage.name,
    }
    authorizer = view.authorizer.for_event(view.api.kind, "1.0") if view.authorizer is not None else None
    if authorizer is not None:
        context["authorizer"] = authorizer
    return {
        "resource": route.path,
        "path": path,
        "httpMethod": view.method,
        "headers": headers or None,
        "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
        "queryStringParameters": single or None,
        "multiValueQueryStringParameters": multi or None,
        "pathParameters": parameters or None,
        "stageVariables": dict(view.stage.variables) or None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": encoded,
    }


def payload_v2(view: RequestView) -> dict[str, Any]:
    """The 2.0 event of an HTTP API; fields without a value are left out, as API Gateway does."""
    headers = dict(view.headers)
    cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
    joined: dict[str, str] = {}
    for key, value in _query_pairs(view.query):
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    raw_path = unquote(view.stage_path or "/")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": view.route.route_key,
        "rawPath": raw_path,
        "rawQueryString": view.query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if joined:
        event["queryStringParameters"] = joined
    if view.path_parameters:
        event["pathParameters"] = {k: unquote(v) for k, v in view.path_parameters.items()}
    if view.stage.variables:
        event["stageVariables"] = dict(view.stage.variables)
    authorizer = view.authorizer.for_event("HTTP", "2.0") if view.authorizer is not None else None
    event["requestContext"] = {
        "accountId": view.api.account_id,
        "apiId": view.api.api_id,
        **({"authorizer": authorizer} if authorizer is not None else {}),
        "domainName": view.domain_name,
        "domainPrefix": view.domain_prefix,
        "http": {
            "method": view.method,
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": view.source_ip,
            "userAgent": view.headers.get("user-agent", ""),
        },
        "requestId": view.request_id,
        "routeKey": view.route.route_key,
        "stage": view.stage.name,
        "time": request_time(view.time_ms),
        "timeEpoch": view.time_ms,
    }
    body, encoded = _body(view, http_api=True)
    if body is not None:
        event["body"] = body
    event["isBase64Encoded"] = encoded
    return event
