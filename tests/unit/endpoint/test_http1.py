"""Request heads read off a connection: what real clients send, and what a server must refuse."""

from __future__ import annotations

import io

import pytest

from sluiceway.endpoint.http1 import MAX_HEAD_BYTES, MAX_HEADERS, MAX_LINE, HttpError, RequestHead, read_head, response_head

BOTO3 = (
    b"POST / HTTP/1.1\r\n"
    b"Host: 127.0.0.1:4566\r\n"
    b"Accept-Encoding: identity\r\n"
    b"X-Amz-Target: AmazonSQS.SendMessage\r\n"
    b"Content-Type: application/x-amz-json-1.0\r\n"
    b"X-Amz-Date: 20261205T015000Z\r\n"
    b"Authorization: AWS4-HMAC-SHA256 Credential=test/20261205/us-east-1/sqs/aws4_request, "
    b"SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=00ff\r\n"
    b"Content-Length: 2\r\n"
    b"\r\n"
)


def _read(raw: bytes) -> RequestHead | None:
    return read_head(io.BufferedReader(io.BytesIO(raw)))  # type: ignore[arg-type]


def _refused(raw: bytes) -> HttpError:
    with pytest.raises(HttpError) as raised:
        _read(raw)
    return raised.value


def test_what_boto3_sends() -> None:
    head = _read(BOTO3)
    assert head is not None
    assert (head.method, head.path, head.query, head.version) == ("POST", "/", "", (1, 1))
    assert head.headers["x-amz-target"] == "AmazonSQS.SendMessage"
    assert head.headers["authorization"].endswith("Signature=00ff")
    assert head.headers["content-length"] == "2"
    assert head.keep_alive and not head.chunked and not head.expect_continue


def test_path_and_query_stay_raw() -> None:
    head = _read(b"GET /bucket/a%20b/c?list-type=2&prefix=x%2F HTTP/1.1\r\nHost: x\r\n\r\n")
    assert head is not None
    assert (head.path, head.query) == ("/bucket/a%20b/c", "list-type=2&prefix=x%2F")


@pytest.mark.parametrize(
    ("target", "path"),
    [("http://127.0.0.1:4566/bucket/key?x=1", "/bucket/key"), ("http://127.0.0.1:4566", "/"), ("//evil.example/x", "/evil.example/x")],
)
def test_absolute_uris_and_leading_slashes(target: str, path: str) -> None:
    head = _read(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert head is not None and head.path == path


def test_value_whitespace_is_trimmed_and_names_lower_cased() -> None:
    head = _read(b"GET / HTTP/1.1\r\nHost:x\r\nX-Amz-Meta-Note: \t two  words \t\r\n\r\n")
    assert head is not None
    assert head.headers == {"host": "x", "x-amz-meta-note": "two  words"}


def test_repeated_headers_are_joined() -> None:
    head = _read(b"GET / HTTP/1.1\r\nHost: x\r\nAccept: a\r\naccept: b\r\n\r\n")
    assert head is not None and head.headers["accept"] == "a,b"


def test_bare_line_feeds_end_lines() -> None:
    head = _read(b"GET / HTTP/1.1\nHost: x\n\n")
    assert head is not None and head.headers == {"host": "x"}


@pytest.mark.parametrize(
    ("raw", "keep_alive"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", True),
        (b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", False),
        (b"GET / HTTP/1.1\r\nHost: x\r\nConnection: TE, Close\r\n\r\n", False),
        (b"GET / HTTP/1.0\r\n\r\n", False),
        (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", True),
    ],
)
def test_keep_alive_as_the_client_asks(raw: bytes, keep_alive: bool) -> None:
    head = _read(raw)
    assert head is not None and head.keep_alive is keep_alive


def test_expect_100_continue_is_an_http_1_1_thing() -> None:
    head = _read(b"PUT /b/k HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n")
    assert head is not None and head.expect_continue
    head = _read(b"PUT /b/k HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
    assert head is not None and not head.expect_continue


def test_pipelined_requests_are_read_one_after_the_other() -> None:
    stream = io.BufferedReader(io.BytesIO(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"))
    first, second = read_head(stream), read_head(stream)  # type: ignore[arg-type]
    assert first is not None and second is not None
    assert (first.path, second.path) == ("/a", "/b")
    assert read_head(stream) is None  # type: ignore[arg-type]


def test_empty_lines_before_a_request_are_skipped_and_a_closed_connection_is_none() -> None:
    head = _read(b"\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert head is not None and head.path == "/"
    assert _read(b"") is None


@pytest.mark.parametrize(
    "line",
    [
        b"GET /\r\n",  # HTTP/0.9
        b"GET  / HTTP/1.1\r\n",
        b"GET / HTTP/1.1 extra\r\n",
        b"GET\t/ HTTP/1.1\r\n",
        b"G(T / HTTP/1.1\r\n",
        b"GET / HTTX/1.1\r\n",
        b"GET / HTTP/1.10\r\n",
        b"GET /a\x01b HTTP/1.1\r\n",
        b"GET /a\x7fb HTTP/1.1\r\n",
        b"GET / HTTP/1.1\r\r\n",
        b"\r\n" * 6 + b"GET / HTTP/1.1\r\n",
    ],
)
def test_malformed_request_lines_are_400(line: bytes) -> None:
    assert _refused(line + b"Host: x\r\n\r\n").status == 400


def test_other_http_versions_are_505() -> None:
    assert _refused(b"GET / HTTP/2.0\r\nHost: x\r\n\r\n").status == 505


@pytest.mark.parametrize(
    "header",
    [
        b"Host : x\r\n",  # whitespace before the colon: RFC 9112 5.1 says refuse
        b" folded\r\n",  # a continuation line
        b"\tfolded\r\n",
        b"NoColon\r\n",
        b": no name\r\n",
        b"X-Bad: a\rb\r\n",  # a bare CR
        b"X-Bad: a\x00b\r\n",
        b"X(Bad): a\r\n",
    ],
)
def test_malformed_header_lines_are_400(header: bytes) -> None:
    assert _refused(b"GET / HTTP/1.1\r\nHost: x\r\nX-Ok: 1\r\n" + header + b"\r\n").status == 400


def test_a_folded_header_says_so() -> None:
    assert "folded" in _refused(b"GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n").message


def test_a_head_cut_short_is_400() -> None:
    assert _refused(b"GET / HTTP/1.1\r\nHost: x\r\n").status == 400
    assert _refused(b"GET / HTTP/1.1\r\nHost: x").status == 400
    assert _refused(b"GET / HTTP/1.1").status == 400


def test_limits() -> None:
    assert _refused(b"GET /" + b"a" * MAX_LINE + b" HTTP/1.1\r\n\r\n").status == 414
    assert _refused(b"GET / HTTP/1.1\r\nX-Long: " + b"a" * MAX_LINE + b"\r\n\r\n").status == 431
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(MAX_HEADERS + 1))
    assert _refused(b"GET / HTTP/1.1\r\n" + many + b"\r\n").status == 431
    just_enough = b"".join(b"X-H%d: v\r\n" % i for i in range(MAX_HEADERS - 1))
    assert _read(b"GET / HTTP/1.1\r\nHost: x\r\n" + just_enough + b"\r\n") is not None
    big = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 8000) for i in range(MAX_HEAD_BYTES // 8000 + 1))
    assert _refused(b"GET / HTTP/1.1\r\n" + big + b"\r\n").status == 431


@pytest.mark.parametrize(
    "framing",
    [
        b"Content-Length: 3\r\nContent-Length: 3\r\n",
        b"Content-Length: 3\r\nContent-Length: 4\r\n",
        b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",  # request smuggling: one reader uses each
        b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
        b"Transfer-Encoding: gzip\r\n",  # the last coding is not chunked: the length is unknown
        b"Transfer-Encoding: chunked, identity\r\n",
    ],
)
def test_ambiguous_framing_is_refused(framing: bytes) -> None:
    assert _refused(b"POST / HTTP/1.1\r\nHost: x\r\n" + framing + b"\r\n").status == 400


def test_two_hosts_are_refused() -> None:
    assert _refused(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").status == 400


def test_codings_other_than_chunked_are_501() -> None:
    assert _refused(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").status == 501


def test_chunked() -> None:
    head = _read(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n")
    assert head is not None and head.chunked


def test_response_head() -> None:
    head = response_head(200, [("Content-Type", "application/json"), ("Content-Length", "2")])
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert lines[1].startswith(b"Date: ") and lines[1].endswith(b" GMT")
    assert lines[2:] == [b"Content-Type: application/json", b"Content-Length: 2", b"", b""]
    assert response_head(404, []).startswith(b"HTTP/1.1 404 Not Found\r\n")


@pytest.mark.parametrize(
    "header", [("X-Evil", "a\r\nSet-Cookie: x=1"), ("X-Evil", "a\nb"), ("X-Evil", "a\rb"), ("X-Evil\r\nX-B", "1"), ("X-U", "\u2603")]
)
def test_a_header_that_would_split_the_response_or_cannot_be_sent_is_refused(header: tuple[str, str]) -> None:
    with pytest.raises(ValueError):
        response_head(200, [header])


@pytest.mark.parametrize("coding", [b"chunked\x0b", b"\x0cchunked", b"\xa0chunked", b"chunked\x85", b"chunked\x1f"])
def test_a_transfer_coding_that_is_not_a_token_is_refused(coding: bytes) -> None:
    with pytest.raises(HttpError) as raised:
        read_head(io.BytesIO(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + coding + b"\r\n\r\n"))
    assert raised.value.status == 400


def test_http_1_0_with_transfer_encoding_is_not_kept_alive() -> None:
    head = read_head(io.BytesIO(b"POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"))
    assert head is not None and head.chunked and not head.keep_alive
