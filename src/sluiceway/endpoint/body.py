"""Request bodies as they come off the wire: HTTP chunked, and AWS's ``aws-chunked`` framing.

botocore sends streaming uploads (S3 PutObject and UploadPart of a file) with
``Content-Encoding: aws-chunked``: the bytes framed in chunks, each perhaps signed,
and checksums in trailing headers. Operations see the plain bytes and the trailer's
headers, as S3 itself presents them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .errors import AwsError

__all__ = ["decode_aws_chunked", "read_http_chunked"]


def read_http_chunked(readline: Callable[[int], bytes], read: Callable[[int], bytes], limit: int) -> bytes:
    """Read a ``Transfer-Encoding: chunked`` body (trailers are read and dropped).

    Raises:
        AwsError: the framing is broken or ends early (IncompleteBody, 400), or the body is
            larger than ``limit`` (413).
    """
    parts: list[bytes] = []
    total = 0
    while True:
        line = readline(_CHUNK_LINE + 1)
        size = _chunk_size(line)
        if size == 0:
            _skip_trailers(readline)
            return b"".join(parts)
        total += size
        if total > limit:
            raise _too_large(limit)
        data = read(size)
        if len(data) < size or read(2) != b"\r\n":
            raise _incomplete()
        parts.append(data)


#: A chunk-size line (size and extensions) longer than this is refused, as is a trailer section larger than _TRAILERS.
_CHUNK_LINE = 4096
_TRAILERS = 16 * 1024
_HEX = frozenset("0123456789abcdefABCDEF")
#: Control characters other than HTAB (and DEL): never in a chunk extension or a trailer line.
_CTL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
#: One trailer field line (RFC 9112 7.1.2: a field line, as in a head): a token, a colon, a value.
_FIELD_LINE = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[ \t]*[^\x00-\x08\x0a-\x1f\x7f]*\r?\n")


def _chunk_size(line: bytes) -> int:
    # RFC 9112 7.1: chunk-size [ chunk-ext ] CRLF. A bare LF, or a CR or control character in
    # the extension, is where two readers of one body part ways (the TERM.EXT desync): refused.
    if not line.endswith(b"\r\n") or len(line) > _CHUNK_LINE:
        raise _incomplete()
    size_text, _, extension = line[:-2].partition(b";")
    if _CTL.search(extension):
        raise _incomplete()
    size = _hex_size(size_text.strip(b" \t"))
    if size is None:
        raise _incomplete()
    return size


def _hex_size(text: bytes) -> int | None:
    """A chunk's size, or None when ``text`` is not 1 to 16 hex digits.

    int(text, 16) alone would take "-5", "+5", "0x5", "5_0" and surrounding whitespace.
    """
    decoded = text.decode("latin-1")
    if not decoded or len(decoded) > 16 or not _HEX.issuperset(decoded):
        return None
    return int(decoded, 16)


def _skip_trailers(readline: Callable[[int], bytes]) -> None:
    size = 0
    while True:
        line = readline(_TRAILERS + 1)
        size += len(line)
        if not line.endswith(b"\n") or size > _TRAILERS:
            raise _incomplete()
        if line in (b"\r\n", b"\n"):
            return
        # Only an empty line ends the trailers: " \r\n" ending them would let the next request start early.
        if not _FIELD_LINE.fullmatch(line):
            raise _incomplete()


def _incomplete() -> AwsError:
    return AwsError("IncompleteBody", "The request body is not validly chunk-encoded", 400)


def decode_aws_chunked(body: bytes) -> tuple[bytes, dict[str, str]]:
    """The payload of an ``aws-chunked`` body and its trailing headers (names lower-cased).

    Raises:
        AwsError: the framing is broken (S3's IncompleteBody).
    """
    out: list[bytes] = []
    trailers: dict[str, str] = {}
    at = 0
    while True:
        end = body.find(b"\r\n", at)
        if end < 0:
            raise AwsError("IncompleteBody", "The request body terminated unexpectedly", 400)
        size = _hex_size(body[at:end].split(b";", 1)[0].strip(b" \t"))
        if size is None:
            raise AwsError("IncompleteBody", "The request body is not validly aws-chunked", 400)
        at = end + 2
        if size == 0:
            break
        # Each chunk's data is followed by CRLF: a chunk that claims more than the body holds,
        # or whose data does not end where its size says, frames nothing.
        if at + size + 2 > len(body):
            raise AwsError("IncompleteBody", "The request body terminated unexpectedly", 400)
        if body[at + size : at + size + 2] != b"\r\n":
            raise AwsError("IncompleteBody", "The request body is not validly aws-chunked", 400)
        out.append(body[at : at + size])
        at += size + 2
    for line in body[at:].split(b"\r\n"):
        name, sep, value = line.decode("latin-1").partition(":")
        if sep and not name.lower().startswith("x-amz-trailer-signature"):
            trailers[name.strip().lower()] = value.strip()
    return b"".join(out), trailers


def _too_large(limit: int) -> AwsError:
    return AwsError("RequestEntityTooLarge", f"The request is larger than {limit} bytes", 413)
