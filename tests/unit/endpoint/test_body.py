"""Bodies framed the way botocore frames streaming uploads."""

from __future__ import annotations

import gzip
import io

import pytest

from sluiceway.endpoint.body import decode_aws_chunked, read_http_chunked
from sluiceway.endpoint.compression import inflate_body
from sluiceway.endpoint.context import HttpRequest
from sluiceway.endpoint.errors import AwsError


def test_aws_chunked_with_a_trailing_checksum() -> None:
    body = b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n"
    data, trailers = decode_aws_chunked(body)
    assert data == b"hello world"
    assert trailers == {"x-amz-checksum-crc32": "DUoRhQ=="}


def test_signed_aws_chunks_keep_only_their_data() -> None:
    sig = "chunk-signature=" + "0" * 64
    body = f"4;{sig}\r\n".encode() + b"abcd\r\n" + f"0;{sig}\r\n\r\n".encode()
    assert decode_aws_chunked(body) == (b"abcd", {})


@pytest.mark.parametrize("body", [b"zz\r\nabc", b"10\r\nshort\r\n", b"5\r\nhello"])
def test_broken_framing_is_s3s_incomplete_body(body: bytes) -> None:
    with pytest.raises(AwsError) as raised:
        decode_aws_chunked(body)
    assert raised.value.code == "IncompleteBody"


def test_http_chunked_and_its_limit() -> None:
    stream = io.BytesIO(b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nTrailer: x\r\n\r\n")
    assert read_http_chunked(stream.readline, stream.read, 100) == b"abcde"
    stream = io.BytesIO(b"3\r\nabc\r\n0\r\n\r\n")
    with pytest.raises(AwsError) as raised:
        read_http_chunked(stream.readline, stream.read, 2)
    assert raised.value.status == 413


@pytest.mark.parametrize(
    "body",
    [
        b"-5\r\nabcde\r\n0\r\n\r\n",  # int(x, 16) takes a sign: a negative size would read to the end
        b"+3\r\nabc\r\n0\r\n\r\n",
        b"0x3\r\nabc\r\n0\r\n\r\n",
        b"1_0\r\n" + b"a" * 16 + b"\r\n0\r\n\r\n",
        b"\r\nabc\r\n0\r\n\r\n",
        b"3\r\nabcXY0\r\n\r\n",  # the data is not followed by CRLF
        b"5\r\nabc",  # cut short
        b"3\r\nabc\r\n",  # no last chunk
        b"3\r\nabc\r\n0\r\nTrailer: x\r\n",  # the trailers never end
        b"3" + b" " * 5000 + b"\r\nabc\r\n0\r\n\r\n",
    ],
)
def test_broken_http_chunking_is_incomplete_body(body: bytes) -> None:
    stream = io.BytesIO(body)
    with pytest.raises(AwsError) as raised:
        read_http_chunked(stream.readline, stream.read, 1 << 20)
    assert (raised.value.code, raised.value.status) == ("IncompleteBody", 400)


def test_too_many_trailers_are_refused() -> None:
    stream = io.BytesIO(b"0\r\n" + (b"X-T: " + b"v" * 100 + b"\r\n") * 200 + b"\r\n")
    with pytest.raises(AwsError):
        read_http_chunked(stream.readline, stream.read, 100)


@pytest.mark.parametrize(
    "body",
    [
        b"1\r\nA\r\n-6\r\n",  # int(x, 16) takes a sign: a negative size looped for ever
        b"+1\r\nA\r\n0\r\n\r\n",
        b"0x1\r\nA\r\n0\r\n\r\n",
        b"1_0\r\n" + b"a" * 16 + b"\r\n0\r\n\r\n",
        b"1\r\nAB0\r\n\r\n",  # the data is not followed by CRLF
        b"4\r\nab\r\n",  # a chunk larger than what is left
    ],
)
def test_malformed_aws_chunk_sizes_are_incomplete_body(body: bytes) -> None:
    with pytest.raises(AwsError) as raised:
        decode_aws_chunked(body)
    assert (raised.value.code, raised.value.status) == ("IncompleteBody", 400)


@pytest.mark.parametrize(
    "body",
    [
        b"2;x\n{}\r\n0\r\n\r\n",  # a bare LF ends the chunk line (TERM.EXT desync)
        b"2;x\ry\r\n{}\r\n0\r\n\r\n",  # a CR inside the extension
        b"2;x\x01\r\n{}\r\n0\r\n\r\n",
        b"2\x0b\r\n{}\r\n0\r\n\r\n",  # whitespace other than SP and HTAB
        b"2\r\n{}\r\n0\r\n \r\n",  # a whitespace line does not end the trailers
        b"2\r\n{}\r\n0\r\nnot a field\r\n\r\n",
    ],
)
def test_chunk_lines_and_trailers_are_read_strictly(body: bytes) -> None:
    stream = io.BytesIO(body)
    with pytest.raises(AwsError) as raised:
        read_http_chunked(stream.readline, stream.read, 1 << 20)
    assert (raised.value.code, raised.value.status) == ("IncompleteBody", 400)


@pytest.mark.parametrize("body", [gzip.compress(b'{"a": 1}' * 100)[:-4], gzip.compress(b"{}") + b"GARBAGE"])
def test_truncated_or_trailing_gzip_is_refused(body: bytes) -> None:
    request = HttpRequest("POST", "/", "", {"content-encoding": "gzip"}, body)
    with pytest.raises(AwsError) as raised:
        inflate_body(request, "cloudwatch")
    assert (raised.value.code, raised.value.status) == ("SerializationException", 400)
