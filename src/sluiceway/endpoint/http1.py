"""HTTP/1.1 on a socket, as small as the endpoint needs: request heads in, response heads out.

The standard library's ``http.server`` reads every head through ``email.parser``, which
cost the endpoint about a quarter of its time per request. This reader takes the request
line and the header lines straight off a buffered socket, with limits, and refuses what
RFC 9112 says a server must refuse, strictly rather than leniently: a message whose
framing two readers could understand differently (``Transfer-Encoding`` with
``Content-Length``, two ``Content-Length``\\ s, a folded header line, whitespace before a
colon) is how requests are smuggled past a proxy, so it is never guessed at.

What it accepts is what ``http.server`` accepted from real clients: ``HTTP/1.1`` and
``HTTP/1.0`` (kept alive as each asks), ``Expect: 100-continue``, absolute URIs (a client
talking to a proxy), repeated headers (joined with ``,``), bare ``LF`` line ends.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from typing import Protocol

__all__ = [
    "MAX_HEADERS",
    "MAX_HEAD_BYTES",
    "MAX_LINE",
    "HttpError",
    "RequestHead",
    "read_head",
    "reason",
    "response_head",
]

MAX_LINE = 64 * 1024
"""The longest request line or header line (``http.server``'s limit: presigned URLs are long)."""
MAX_HEADERS = 100
"""The most header lines one request may have (``http.server``'s limit)."""
MAX_HEAD_BYTES = 128 * 1024
"""The largest head (request line and headers) in all; AWS's own limits are far smaller (S3: 8 KB)."""
_MAX_EMPTY_LINES = 4
"""Empty lines skipped before a request line (RFC 9112 2.2: a client may send one after a body)."""

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: One header line, from a line's start: a token, a colon, whitespace, a value without CR, LF or NUL, a line end.
_HEADER_LINE = re.compile(r"(?m)^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([^\r\n\x00]*)\r?\n")
_VERSION = re.compile(r"HTTP/(\d)\.(\d)")
_FORBIDDEN_IN_TARGET = re.compile(r"[\x00-\x20\x7f]")
_REASONS = {status.value: status.phrase for status in HTTPStatus}
#: Headers a request may carry once only: two of them are two readings of one message.
_SINGLE = frozenset({"content-length", "host"})


class _Reader(Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...


class HttpError(Exception):
    """A request head the server refuses; the connection is closed after the answer.

    Attributes:
        status: 400, 414, 431, 501 or 505.
        message: what was wrong, for the answer's body.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class RequestHead:
    """A request's line and headers, read and checked."""

    method: str
    path: str
    """The raw (still percent-encoded) path, without the query; an absolute URI's authority is dropped."""
    query: str
    """The raw query string, without ``?``."""
    version: tuple[int, int]
    headers: dict[str, str]
    """Names lower-cased; a repeated header's values joined with ``,``."""
    keep_alive: bool
    """Whether the client lets the connection carry another request after this one."""
    chunked: bool
    """The body comes in HTTP chunks (``Transfer-Encoding: chunked``), not by ``Content-Length``."""
    expect_continue: bool
    """The client waits for ``100 Continue`` before it sends the body."""


def read_head(rfile: _Reader) -> RequestHead | None:
    """The next request head on a connection, or None when the client closed it between requests.

    Raises:
        HttpError: the head is malformed or too large (answer ``status`` and close).
    """
    line = rfile.readline(MAX_LINE + 1)
    for _ in range(_MAX_EMPTY_LINES):
        if line not in (b"\r\n", b"\n"):
            break
        line = rfile.readline(MAX_LINE + 1)
    if not line:
        return None
    if len(line) > MAX_LINE:
        raise HttpError(414, "The request line is too long")
    method, target, version = _request_line(_line_text(line))
    headers = _header_lines(rfile, len(line))
    connection = {token.strip().lower() for token in headers.get("connection", "").split(",")}
    keep_alive = "close" not in connection if version >= (1, 1) else "keep-alive" in connection
    if version < (1, 1) and "transfer-encoding" in headers:
        keep_alive = False  # RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 is faulty framing; close after
    path, _, query = target.partition("?")
    if path.startswith(("http://", "https://")):  # an absolute URI (a client talking to a proxy)
        path = "/" + path.split("/", 3)[3] if path.count("/") >= 3 else "/"
    if path.startswith("//"):
        path = "/" + path.lstrip("/")  # as http.server did: "//host/x" is an open redirect's path
    return RequestHead(
        method,
        path or "/",
        query,
        version,
        headers,
        keep_alive,
        _chunked(headers),
        version >= (1, 1) and headers.get("expect", "").lower() == "100-continue",
    )


def _line_text(line: bytes) -> str:
    """A line without its end (``CRLF``, or a bare ``LF`` as RFC 9112 2.2 allows); a line that did not end is refused."""
    if line.endswith(b"\r\n"):
        return line[:-2].decode("latin-1")
    if line.endswith(b"\n"):
        return line[:-1].decode("latin-1")
    raise HttpError(400, "The request head ended before its line did")


def _request_line(text: str) -> tuple[str, str, tuple[int, int]]:
    parts = text.split(" ")
    if len(parts) != 3 or not parts[1]:
        raise HttpError(400, "The request line is not METHOD TARGET HTTP-VERSION")
    method, target, version_text = parts
    if not _TOKEN.fullmatch(method):
        raise HttpError(400, "The request method is not a token")
    if _FORBIDDEN_IN_TARGET.search(target):
        raise HttpError(400, "The request target holds a control character")
    found = _VERSION.fullmatch(version_text)
    if found is None:
        raise HttpError(400, "The HTTP version is malformed")
    version = (int(found.group(1)), int(found.group(2)))
    if version[0] != 1:
        raise HttpError(505, f"HTTP/{version[0]}.{version[1]} is not supported")
    return method, target, version


def _header_lines(rfile: _Reader, size: int) -> dict[str, str]:
    lines: list[bytes] = []
    while True:
        line = rfile.readline(MAX_LINE + 1)
        size += len(line)
        if len(line) > MAX_LINE:
            raise HttpError(431, "A header line is too long")
        if size > MAX_HEAD_BYTES:
            raise HttpError(431, "The request's headers are too large")
        if line == b"\r\n" or line == b"\n":
            break
        if not line:
            raise HttpError(400, "The request head ended before its headers did")
        lines.append(line)
        if len(lines) > MAX_HEADERS:
            raise HttpError(431, f"More than {MAX_HEADERS} headers")
    # One expression takes every line apart at once (cheaper than a dozen steps of Python per
    # line). A match starts at a line's start and ends at its end, so every line is one match
    # exactly when the counts agree; a line that is not a header line has none.
    found = _HEADER_LINE.findall(b"".join(lines).decode("latin-1"))
    if len(found) != len(lines):
        raise _malformed(lines)
    headers: dict[str, str] = {}
    for name, text in found:
        key = name.lower()
        value = text.rstrip(" \t")
        known = headers.get(key)
        if known is None:
            headers[key] = value
        elif key in _SINGLE:
            raise HttpError(400, f"More than one {key} header")
        else:
            headers[key] = f"{known},{value}"
    return headers


def _malformed(lines: list[bytes]) -> HttpError:
    """The error for the first of ``lines`` that is not a header line."""
    for line in lines:
        text = line.decode("latin-1")
        if _HEADER_LINE.fullmatch(text):
            continue
        if not text.endswith("\n"):
            return HttpError(400, "The request head ended before its headers did")
        if text[:1] in (" ", "\t"):
            return HttpError(400, "A folded header line (obsolete line folding is refused)")
        name, sep, _ = text.partition(":")
        if not sep or not _TOKEN.fullmatch(name):
            return HttpError(400, "A header line is not NAME: VALUE")
        return HttpError(400, "A header value holds a control character")
    return HttpError(400, "A header line is malformed")


def _chunked(headers: dict[str, str]) -> bool:
    """Whether the body is chunked; a framing two readers could take differently is refused."""
    coding = headers.get("transfer-encoding")
    if coding is None:
        return False
    if "content-length" in headers:
        raise HttpError(400, "Both Transfer-Encoding and Content-Length frame the body")
    # Only RFC 9110's whitespace around a coding, and only tokens: str.strip() would also drop
    # "\x0b", "\x1f" or "\xa0", and a proxy that keeps them reads "chunked\x0b" as another coding.
    codings = [c.strip(" \t").lower() for c in coding.split(",")]
    if not all(_TOKEN.fullmatch(c) for c in codings):
        raise HttpError(400, "A transfer coding is not a token")
    if codings[-1] != "chunked":
        raise HttpError(400, "The body's last transfer coding is not chunked, so its length is unknown")
    if len(codings) > 1:
        raise HttpError(501, f"Transfer coding {codings[0]} is not supported")
    return True


_date: tuple[int, str] = (0, "")


def _date_header() -> str:
    # Formatting the date is most of a small response's head: once a second is enough.
    global _date  # noqa: PLW0603 - a one-entry cache, replaced whole (no lock needed)
    now = int(time.time())
    cached = _date
    if cached[0] != now:
        cached = (now, formatdate(now, usegmt=True))
        _date = cached
    return cached[1]


def reason(status: int) -> str:
    """The status's reason phrase (``Bad Request``)."""
    return _REASONS.get(status, "")


def response_head(status: int, headers: Iterable[tuple[str, str]]) -> bytes:
    """The status line, a ``Date`` and ``headers``, and the blank line that ends a response's head.

    Raises:
        ValueError: a header name or value holds a line break (it would split the response)
            or is not Latin-1.
    """
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, '')}\r\nDate: {_date_header()}\r\n"]
    count = 2
    for name, value in headers:
        lines.append(f"{name}: {value}\r\n")
        count += 1
    text = "".join(lines)
    if text.count("\n") != count or text.count("\r") != count:
        raise ValueError("a response header holds a line break")
    return text.encode("latin-1") + b"\r\n"
