"""A function's answer turned into the HTTP response its URL sends, and the URL's own answers.

Lambda reads the result as a response when it is a JSON object with ``statusCode``
(``headers``, ``cookies``, ``body``, ``isBase64Encoded``); any other JSON value is the body of
a 200 ``application/json`` response. Recorded against Lambda (and unlike an HTTP API's 2.0
format, which serializes it again), a string result is sent as its text, without quotes, and
other values as compact JSON (``["hello",3,true]``); a response that names no content type is
``application/json`` too. A response HTTP cannot carry as given (a 1xx status, a header name
that is not a token, a CR, LF or NUL in a value or a cookie) is a failed function, as on
Lambda; a function's hop-by-hop headers and its own ``x-amzn-RequestId`` are not sent.

The URL's own answers: an unknown URL and a refused caller are 403 ``AccessDeniedException``;
a function that fails (an unhandled error, a timeout, a result that is not a response) is 502
``Internal Server Error``; what Lambda's Invoke refuses before the function runs (a throttle,
429; an event over 6 MB, 413) is answered with that error's code and message.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from ..apigateway.responses import HeaderList
from ..context import HttpResponse

__all__ = ["FORBIDDEN", "MalformedResultError", "denied", "function_failed", "invoke_refused", "url_response"]

FORBIDDEN = (
    "Forbidden. For troubleshooting Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"
)
"""Lambda's message for a caller its URL does not let in."""
_DROPPED = frozenset(
    {
        # The server frames the response and owns the connection: a function's framing and
        # hop-by-hop headers never reach the client as such (an Upgrade would switch protocols).
        "content-length", "transfer-encoding", "connection", "upgrade", "keep-alive", "trailer", "te", "proxy-connection",
        # The URL's own request id: a function's copy would go out beside it.
        "x-amzn-requestid",
    }
)  # fmt: skip
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
"""A header name (RFC 9110's ``token``): anything else would break the response's framing."""
_CONTROL = re.compile(r"[\r\n\x00]")
"""What no header line may carry: a CR or LF would end it (and start another), a NUL breaks parsers."""


class MalformedResultError(ValueError):
    """The function answered a response Lambda cannot send."""


def _compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _status(value: Any) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)  # Lambda takes "418" as 418
    # 1xx are interim answers, not a response: a 100 would leave the client waiting for the
    # real one, a 101 would switch protocols. Lambda sends a final status or fails (502).
    if isinstance(value, bool) or not isinstance(value, int) or not 200 <= value <= 599:
        raise MalformedResultError(f"statusCode {value!r} is not the status of a final HTTP response")
    return value


def _text(value: Any, where: str) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (str, int, float)):
        text = str(value)
    else:
        raise MalformedResultError(f"{where}: a header value must be a string or a number")
    if _CONTROL.search(text):
        raise MalformedResultError(f"{where}: a header value cannot hold CR, LF or NUL")
    return text


def url_response(payload: Any) -> HttpResponse:
    """The response a function's result describes, or the one Lambda infers from it.

    Raises:
        MalformedResultError: a result with ``statusCode`` whose other members are malformed.
    """
    headers = HeaderList()
    if not (isinstance(payload, dict) and "statusCode" in payload):
        headers["Content-Type"] = "application/json"
        inferred = payload.encode("utf-8") if isinstance(payload, str) else _compact(payload)
        return HttpResponse(200, headers, inferred)
    status = _status(payload["statusCode"])
    given = payload.get("headers") or {}
    if not isinstance(given, dict):
        raise MalformedResultError("headers must be an object")
    for name, value in given.items():
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise MalformedResultError(f"headers: {name!r} is not a header name")
        text = _text(value, f"headers.{name}")
        if name.lower() not in _DROPPED:
            headers.add(name, text)
    cookies = payload.get("cookies") or []
    if not isinstance(cookies, list) or not all(isinstance(cookie, str) for cookie in cookies):
        raise MalformedResultError("cookies must be a list of strings")
    if any(_CONTROL.search(cookie) for cookie in cookies):
        raise MalformedResultError("cookies: a cookie cannot hold CR, LF or NUL")
    for cookie in cookies:
        headers.add("Set-Cookie", cookie)
    encoded = payload.get("isBase64Encoded")
    if encoded is not None and not isinstance(encoded, bool):
        raise MalformedResultError("isBase64Encoded must be a boolean")
    body = payload.get("body")
    raw: bytes
    if body is None:
        raw = b""
    elif not isinstance(body, str):
        raw = _compact(body)
    elif encoded:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedResultError("isBase64Encoded is true but the body is not base64") from exc
    else:
        raw = body.encode("utf-8")
    if not headers.has("content-type"):
        headers["Content-Type"] = "application/json"
    return HttpResponse(status, headers, raw)


def _message(status: int, code: str, message: str | None) -> HttpResponse:
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": code}
    return HttpResponse(status, headers, _compact({"Message": message}))


def denied(message: str | None = FORBIDDEN) -> HttpResponse:
    """403 AccessDeniedException: an unknown URL (``{"Message":null}``) or a caller refused."""
    return _message(403, "AccessDeniedException", message)


def function_failed() -> HttpResponse:
    """502: the function failed or answered what Lambda cannot send (its body is plain text, as Lambda sends it)."""
    return HttpResponse(502, {"Content-Type": "application/json"}, b"Internal Server Error")


def invoke_refused(code: str, message: str, status: int) -> HttpResponse:
    """What Lambda's Invoke refused before the function ran (a throttle, an event too large), in the URL's shape."""
    return _message(status, code, message)
