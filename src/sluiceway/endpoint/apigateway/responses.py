"""A Lambda proxy integration's result turned into the HTTP response API Gateway sends, and the
gateway's own answers (``Missing Authentication Token``, ``Internal server error``, ...).

Format 1.0 (REST APIs, HTTP APIs that ask for it) must be exactly ``{statusCode, headers,
multiValueHeaders, body, isBase64Encoded}``: anything else is a "malformed Lambda proxy response"
(REST answers 502). Format 2.0 infers a response from any other JSON: a value without
``statusCode`` is sent as a 200 ``application/json`` body.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
from collections.abc import Iterator, Mapping
from typing import Any

from ..context import HttpResponse
from .model import ApiKind

__all__ = ["HeaderList", "MalformedResponseError", "gateway_error", "from_v1", "from_v2", "response_type"]

_V1_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})
#: Headers that frame the response on the wire: the gateway sets them, a function's never reach the
#: client as such (else a function could make a kept-alive connection read a second, forged response).
_FRAMING = ("Content-Length", "Transfer-Encoding", "Connection")

#: API Gateway's own answers: (kind, problem) -> (status, message, x-amzn-ErrorType).
_ERRORS: dict[tuple[ApiKind, str], tuple[int, str, str]] = {
    # REST answers a request it cannot route as if it were an unsigned call to an IAM-protected
    # method: it cannot tell a missing route from a hidden one without credentials.
    ("REST", "no_route"): (403, "Missing Authentication Token", "MissingAuthenticationTokenException"),
    ("REST", "no_stage"): (403, "Forbidden", "ForbiddenException"),
    ("REST", "function_error"): (502, "Internal server error", "InternalServerErrorException"),
    ("REST", "integration_error"): (500, "Internal server error", "InternalServerErrorException"),
    ("REST", "timeout"): (504, "Endpoint request timed out", "InternalServerErrorException"),
    ("REST", "unauthorized"): (401, "Unauthorized", "UnauthorizedException"),
    ("REST", "iam"): (403, "Missing Authentication Token", "MissingAuthenticationTokenException"),
    ("REST", "api_key"): (403, "Forbidden", "ForbiddenException"),
    ("REST", "throttled"): (429, "Too Many Requests", "TooManyRequestsException"),
    ("REST", "quota"): (429, "Limit Exceeded", "LimitExceededException"),
    ("REST", "too_large"): (413, "Request Entity Too Large", "RequestTooLargeException"),
    ("REST", "bad_request"): (400, "Bad Request", "BadRequestException"),
    ("REST", "unsupported_media"): (415, "Unsupported Media Type", "UnsupportedMediaTypeException"),
    ("HTTP", "no_route"): (404, "Not Found", ""),
    ("HTTP", "no_stage"): (404, "Not Found", ""),
    ("HTTP", "function_error"): (500, "Internal Server Error", ""),
    ("HTTP", "integration_error"): (500, "Internal Server Error", ""),
    ("HTTP", "timeout"): (503, "Service Unavailable", ""),
    ("HTTP", "unauthorized"): (401, "Unauthorized", ""),
    ("HTTP", "iam"): (403, "Forbidden", ""),
    ("HTTP", "too_large"): (413, "Request Entity Too Large", ""),
    ("HTTP", "bad_request"): (400, "Bad Request", ""),
}


#: problem -> the gateway response type API Gateway answers it with (``$context.error.responseType``),
#: as REST APIs name them (``PutGatewayResponse``'s ``responseType``). A Lambda proxy's failed or
#: malformed answer is a DEFAULT_5XX, an invoke that failed an INTEGRATION_FAILURE (as LocalStack's
#: recorded tests treat them; not confirmed against AWS's access logs).
_RESPONSE_TYPES: dict[str, str] = {
    "no_route": "MISSING_AUTHENTICATION_TOKEN",
    "iam": "MISSING_AUTHENTICATION_TOKEN",
    "no_stage": "MISSING_AUTHENTICATION_TOKEN",
    "function_error": "DEFAULT_5XX",
    "integration_error": "INTEGRATION_FAILURE",
    "timeout": "INTEGRATION_TIMEOUT",
    "unauthorized": "UNAUTHORIZED",
    "api_key": "INVALID_API_KEY",
    "throttled": "THROTTLED",
    "quota": "QUOTA_EXCEEDED",
    "too_large": "REQUEST_TOO_LARGE",
    "bad_request": "BAD_REQUEST_BODY",
    "unsupported_media": "UNSUPPORTED_MEDIA_TYPE",
}
#: HTTP APIs have no gateway responses of their own to customize; where their answer differs from a
#: REST API's (a 404 for no route, a 403 for IAM) the type follows the answer (not confirmed against AWS).
_HTTP_RESPONSE_TYPES: dict[str, str] = {"no_route": "RESOURCE_NOT_FOUND", "no_stage": "RESOURCE_NOT_FOUND", "iam": "ACCESS_DENIED"}


def response_type(kind: ApiKind, problem: str) -> str:
    """The gateway response type of API Gateway's own answer to ``problem`` (``DEFAULT_4XX``/``5XX`` when unnamed)."""
    if kind == "HTTP" and problem in _HTTP_RESPONSE_TYPES:
        return _HTTP_RESPONSE_TYPES[problem]
    if problem in _RESPONSE_TYPES:
        return _RESPONSE_TYPES[problem]
    return "DEFAULT_5XX" if _ERRORS.get((kind, problem), (500, "", ""))[0] >= 500 else "DEFAULT_4XX"


class HeaderList(dict[str, str]):
    """Response headers where a name may repeat (``Set-Cookie``): ``items()`` yields every pair.

    ``HttpResponse.headers`` is a plain mapping; the server writes what ``items()`` yields, so the
    repeats reach the wire as separate header lines, as API Gateway sends multi-value headers.
    """

    def __init__(self) -> None:
        super().__init__()
        self._extra: list[tuple[str, str]] = []

    def add(self, name: str, value: str) -> None:
        if any(existing.lower() == name.lower() for existing in self):
            self._extra.append((name, value))
        else:
            self[name] = value

    def remove(self, name: str) -> None:
        for existing in [k for k in self if k.lower() == name.lower()]:
            del self[existing]
        self._extra = [(k, v) for k, v in self._extra if k.lower() != name.lower()]

    def has(self, name: str) -> bool:
        return any(existing.lower() == name.lower() for existing in self)

    def items(self) -> Iterator[tuple[str, str]]:  # type: ignore[override]
        yield from super().items()
        yield from self._extra


def _reserved(headers: HeaderList, kind: ApiKind) -> None:
    """A function's framing headers: REST remaps them to ``X-Amzn-Remapped-<name>``, HTTP APIs drop them."""
    for name in _FRAMING:
        values = [value for key, value in headers.items() if key.lower() == name.lower()]
        headers.remove(name)
        if kind == "REST":
            for value in values:
                headers.add(f"X-Amzn-Remapped-{name}", value)


class MalformedResponseError(ValueError):
    """The function's result is not a response API Gateway can send."""


def gateway_error(kind: ApiKind, problem: str, headers: Mapping[str, str] | None = None) -> HttpResponse:
    """API Gateway's own JSON answer for ``problem`` (``no_route``, ``function_error``, ...)."""
    status, message, error_type = _ERRORS[(kind, problem)]
    out = HeaderList()
    out["Content-Type"] = "application/json"
    if error_type:
        out["x-amzn-ErrorType"] = error_type
    for name, value in (headers or {}).items():
        out[name] = value
    # API Gateway renders its default template {"message":$context.error.messageString}: no spaces.
    return HttpResponse(status, out, json.dumps({"message": message}, separators=(",", ":")).encode())


def _status(value: Any) -> int:
    if isinstance(value, bool):
        raise MalformedResponseError("statusCode must be a number")
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or not 100 <= value <= 599:
        raise MalformedResponseError(f"statusCode {value!r} is not an HTTP status")
    return value


def _scalar(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise MalformedResponseError(f"{where}: a header value must be a string or a number")


def _decoded(body: str) -> bytes:
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedResponseError("isBase64Encoded is true but the body is not base64") from exc


def _accepts_binary(accept: str | None, binary_media_types: tuple[str, ...]) -> bool:
    wanted = [part.split(";")[0].strip().lower() for part in (accept or "").split(",") if part.strip()]
    return any(fnmatch.fnmatchcase(w, p.lower()) or fnmatch.fnmatchcase(p.lower(), w) for w in wanted for p in binary_media_types)


def from_v1(payload: Any, *, kind: ApiKind, accept: str | None = None, binary_media_types: tuple[str, ...] = ()) -> HttpResponse:
    """The response a 1.0 proxy result describes.

    Raises:
        MalformedResponseError: the result is not exactly a proxy response.
    """
    if not isinstance(payload, dict):
        raise MalformedResponseError("the result is not a JSON object")
    unknown = set(payload) - _V1_KEYS
    if unknown:
        raise MalformedResponseError(f"unexpected fields {sorted(unknown)}")
    status = _status(payload.get("statusCode"))
    headers = HeaderList()
    single = payload.get("headers") or {}
    multi = payload.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise MalformedResponseError("headers and multiValueHeaders must be objects")
    # Both given: API Gateway merges them into one list, a pair in both appearing once.
    seen: set[tuple[str, str]] = set()
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedResponseError(f"multiValueHeaders.{name} must be a list")
        for value in values:
            text = _scalar(value, f"multiValueHeaders.{name}")
            seen.add((str(name).lower(), text))
            headers.add(str(name), text)
    for name, value in single.items():
        text = _scalar(value, f"headers.{name}")
        if (str(name).lower(), text) not in seen:
            headers.add(str(name), text)
    body = payload.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedResponseError("body must be a string")
    encoded = payload.get("isBase64Encoded")
    if encoded is not None and not isinstance(encoded, bool):
        raise MalformedResponseError("isBase64Encoded must be a boolean")
    raw = (body or "").encode("utf-8")
    # A REST API sends the decoded bytes only to a client that accepts a binary media type of the
    # API; to any other it sends the base64 text as is. HTTP APIs always decode.
    if encoded and body and (kind == "HTTP" or _accepts_binary(accept, binary_media_types)):
        raw = _decoded(body)
    if not headers.has("content-type"):
        headers["Content-Type"] = "application/json"
    _reserved(headers, kind)
    return HttpResponse(status, headers, raw)


def from_v2(payload: Any) -> HttpResponse:
    """The response a 2.0 result describes, or the one API Gateway infers from it.

    Raises:
        MalformedResponseError: a result with ``statusCode`` whose other fields are malformed.
    """
    headers = HeaderList()
    if not (isinstance(payload, dict) and "statusCode" in payload):
        # "If your Lambda function returns valid JSON and doesn't return a statusCode", API Gateway
        # sends it as the body of a 200 application/json response.
        headers["Content-Type"] = "application/json"
        return HttpResponse(200, headers, json.dumps(payload).encode("utf-8"))
    status = _status(payload["statusCode"])
    single = payload.get("headers") or {}
    if not isinstance(single, dict):
        raise MalformedResponseError("headers must be an object")
    for name, value in single.items():
        headers.add(str(name), _scalar(value, f"headers.{name}"))
    cookies = payload.get("cookies") or []
    if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
        raise MalformedResponseError("cookies must be a list of strings")
    for cookie in cookies:
        headers.add("Set-Cookie", cookie)
    body = payload.get("body")
    if body is not None and not isinstance(body, str):
        body = json.dumps(body)
    encoded = payload.get("isBase64Encoded")
    if encoded is not None and not isinstance(encoded, bool):
        raise MalformedResponseError("isBase64Encoded must be a boolean")
    raw = _decoded(body) if encoded and body else (body or "").encode("utf-8")
    if not headers.has("content-type"):
        headers["Content-Type"] = "text/plain; charset=utf-8"
    _reserved(headers, "HTTP")
    return HttpResponse(status, headers, raw)
