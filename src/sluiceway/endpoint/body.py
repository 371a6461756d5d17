"""Request bodies as they come off the wire: HTTP chunked, and AWS's ``aws-chunked`` framing.

botocore sends streaming uploads (S3 PutObject and UploadPart of a file) with
``Content-Encoding: aws-chunked``: the bytes framed in chunks, each perhaps signed,
and checksums in trailing headers. Operations see the plain bytes and the trailer's
headers, as S3 itself presents them.
"""

from __future__ import annotations

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


def _chunk_size(line: bytes) -> int:
    if not line.endswith(b"\n") or len(line) > _CHUNK_LINE:
        raise _incomplete()
    text = line.split(b";", 1)[0].strip().decode("latin-1")
    # int(text, 16) alone would take "-5", "+5", "0x5" and "5_0": only hex digits frame a chunk.
    if not text or not _HEX.issuperset(text) or len(text) > 16:
        raise _incomplete()
    return int(text, 16)


def _skip_trailers(readline: Callable[[int], bytes]) -> None:
    size = 0
    while True:
        line = readline(_TRAILERS + 1)
        size += len(line)
        if not line.endswith(b"\n") or size > _TRAILERS:
            raise _incomplete()
        if not line.strip():
            return


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
        header = body[at:end]
        try:
            size = int(header.split(b";", 1)[0].strip(), 16)
        except ValueError as exc:
            raise AwsError("IncompleteBody", "The request body is not validly aws-chunked", 400) from exc
        at = end + 2
        if size == 0:
            break
        if at + size > len(body):
            raise AwsError("IncompleteBody", "The request body terminated unexpectedly", 400)
        out.append(body[at : at + size])
        at += size
        if body[at : at + 2] == b"\r\n":
            at += 2
    for line in body[at:].split(b"\r\n"):
        name, sep, value = line.decode("latin-1").partition(":")
        if sep and not name.lower().startswith("x-amz-trailer-signature"):
            trailers[name.strip().lower()] = value.strip()
    return b"".join(out), trailers


def _too_large(limit: int) -> AwsError:
    return AwsError("RequestEntityTooLarge", f"The request is larger than {limit} bytes", 413)
