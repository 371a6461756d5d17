"""Connections to the endpoint as raw bytes: keep-alive, pipelining, 100-continue, HEAD, and heads it must refuse."""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import pytest

from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.stack import Stack

LIST_TABLES = b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Type: application/x-amz-json-1.0\r\n"


@contextmanager
def _connection(endpoint: Endpoint) -> Iterator[tuple[socket.socket, BinaryIO]]:
    with socket.create_connection(("127.0.0.1", endpoint.port), timeout=10) as conn, conn.makefile("rb") as answers:
        yield conn, answers


def _answer(answers: BinaryIO, *, head: bool = False) -> tuple[int, dict[str, str], bytes]:
    """One response off the connection (its body as Content-Length frames it)."""
    status_line = answers.readline()
    assert status_line.startswith(b"HTTP/1.1 "), status_line
    headers: dict[str, str] = {}
    while (line := answers.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = b"" if head else answers.read(int(headers.get("content-length", "0")))
    return int(status_line.split()[1]), headers, body


def _closed(conn: socket.socket, answers: BinaryIO) -> bool:
    """Whether the server closed the connection after its answer."""
    try:
        return answers.read(1) == b""
    except (ConnectionResetError, TimeoutError):
        return False


def test_requests_on_one_kept_alive_connection(endpoint: Endpoint) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=10)
    headers = {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"}
    sockets = set()
    for _ in range(3):
        conn.request("POST", "/", body=b"{}", headers=headers)
        answer = conn.getresponse()
        assert answer.status == 200 and "TableNames" in json.loads(answer.read())
        sockets.add(id(conn.sock))
    assert len(sockets) == 1
    conn.close()


def test_pipelined_requests_are_answered_in_order(endpoint: Endpoint) -> None:
    first = LIST_TABLES + b"Content-Length: 2\r\n\r\n{}"
    second = b"GET /_sluiceway/health HTTP/1.1\r\nHost: x\r\n\r\n"
    third = LIST_TABLES + b'Content-Length: 12\r\n\r\n{"Limit": 0}'  # DynamoDB refuses a Limit below 1
    with _connection(endpoint) as (conn, answers):
        conn.sendall(first + second + third)
        statuses = [_answer(answers)[0] for _ in range(3)]
    assert statuses == [200, 200, 400]


def test_expect_100_continue_gets_its_interim_answer_before_the_body_is_sent(endpoint: Endpoint) -> None:
    with _connection(endpoint) as (conn, answers):
        conn.sendall(LIST_TABLES + b"Expect: 100-continue\r\nContent-Length: 2\r\n\r\n")
        assert answers.readline() == b"HTTP/1.1 100 Continue\r\n"
        assert answers.readline() == b"\r\n"
        conn.sendall(b"{}")
        assert _answer(answers)[0] == 200


def test_a_request_its_head_condemns_gets_its_final_answer_instead_of_100_continue(endpoint: Endpoint) -> None:
    with _connection(endpoint) as (conn, answers):
        conn.sendall(LIST_TABLES + b"Expect: 100-continue\r\nContent-Length: 314572800\r\n\r\n")
        status, headers, _ = _answer(answers)
        assert (status, headers["connection"]) == (413, "close")
        assert _closed(conn, answers)


def test_a_chunked_body(endpoint: Endpoint) -> None:
    with _connection(endpoint) as (conn, answers):
        conn.sendall(LIST_TABLES + b"Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n1\r\n}\r\n0\r\n\r\n")
        status, _, body = _answer(answers)
        assert status == 200 and "TableNames" in json.loads(body)
        conn.sendall(LIST_TABLES + b"Content-Length: 2\r\n\r\n{}")  # and the connection goes on
        assert _answer(answers)[0] == 200


def test_head_answers_carry_no_body(endpoint: Endpoint, stack: Stack) -> None:
    stack.local.objects.put("sluiceway-output", "http1/head.txt", b"0123456789")
    with _connection(endpoint) as (conn, answers):
        conn.sendall(b"HEAD /sluiceway-output/http1/head.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, _ = _answer(answers, head=True)
        assert (status, headers["content-length"]) == (200, "10")
        # Had a body been sent, the next answer would start with it.
        conn.sendall(b"GET /sluiceway-output/http1/head.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _answer(answers)[::2] == (200, b"0123456789")


def test_http_1_0_connections_close_after_their_answer(endpoint: Endpoint) -> None:
    with _connection(endpoint) as (conn, answers):
        conn.sendall(b"GET /_sluiceway/health HTTP/1.0\r\n\r\n")
        assert _answer(answers)[0] == 200
        assert _closed(conn, answers)


def test_connection_close_is_honoured(endpoint: Endpoint) -> None:
    with _connection(endpoint) as (conn, answers):
        conn.sendall(b"GET /_sluiceway/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert _answer(answers)[0] == 200
        assert _closed(conn, answers)


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n folded\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
        (b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        (b"TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", 501),
        (b"get /_sluiceway/health HTTP/1.1\r\nHost: x\r\n\r\n", 501),  # methods are case-sensitive
        (LIST_TABLES + b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}", 400),
        (LIST_TABLES + b"Transfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n{}", 400),
        (LIST_TABLES + b"Transfer-Encoding: gzip, chunked\r\n\r\n", 501),
        (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n", 431),
        (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(101)) + b"\r\n", 431),
    ],
)
def test_heads_a_server_must_refuse_are_refused_and_the_connection_closed(endpoint: Endpoint, head: bytes, status: int) -> None:
    with _connection(endpoint) as (conn, answers):
        conn.sendall(head)
        answered, headers, body = _answer(answers)
        assert (answered, headers["connection"]) == (status, "close")
        assert body.startswith(b"<?xml")
        assert _closed(conn, answers)


def test_a_broken_chunked_body_is_refused_and_the_connection_closed(endpoint: Endpoint) -> None:
    with _connection(endpoint) as (conn, answers):
        conn.sendall(LIST_TABLES + b"Transfer-Encoding: chunked\r\n\r\n-2\r\n{}\r\n0\r\n\r\n")
        status, _, body = _answer(answers)
        assert status == 400 and b"IncompleteBody" in body
        assert _closed(conn, answers)


def test_a_header_value_with_a_line_break_never_splits_the_response(endpoint: Endpoint, stack: Stack) -> None:
    # A bucket's folder is not trusted: its sidecars can be edited by hand, user metadata included.
    stack.local.objects.put("sluiceway-output", "http1/split.txt", b"x", metadata={"note": "fine"})
    digest = hashlib.sha256(b"http1/split.txt").hexdigest()
    sidecar = Path(stack.local.objects.inner.bucket_path("sluiceway-output")) / ".sluiceway" / "meta" / digest[:2] / f"{digest}.json"
    meta = json.loads(sidecar.read_text())
    meta["metadata"] = {"note": "a\r\nSet-Cookie: session=stolen"}
    sidecar.write_text(json.dumps(meta))
    with _connection(endpoint) as (conn, answers):
        conn.sendall(b"GET /sluiceway-output/http1/split.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, _ = _answer(answers)
        assert status == 500 and "set-cookie" not in headers
        assert _closed(conn, answers)


def test_a_handler_framing_header_never_frames_the_body() -> None:
    from sluiceway.endpoint.context import HttpResponse
    from sluiceway.endpoint.server import _Connection

    ours, theirs = socket.socketpair()
    with ours, theirs:
        connection = object.__new__(_Connection)
        connection.request = ours
        forged = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged"
        connection._send(HttpResponse(200, {"Content-Length": "0", "Transfer-Encoding": "chunked"}, forged), head=False)
        connection._send(HttpResponse(204, {"Content-Length": "9"}, b""), head=False)
        ours.shutdown(socket.SHUT_WR)
        with theirs.makefile("rb") as answers:
            status, headers, body = _answer(answers)
            no_content = _answer(answers)
            rest = answers.read()
    assert (status, body, rest) == (200, forged, b"")
    assert "transfer-encoding" not in headers
    assert no_content[0] == 204 and "content-length" not in no_content[1]


def test_own_routes_refuse_a_huge_body_before_100_continue(endpoint: Endpoint) -> None:
    head = b"PUT /_sluiceway/cfn-response/x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5000000000\r\n\r\n"
    with _connection(endpoint) as (conn, answers):
        conn.sendall(head)
        status, _, _ = _answer(answers)
        assert _closed(conn, answers)
    assert status == 413


def test_a_304_keeps_no_zero_content_length(endpoint: Endpoint) -> None:
    with _connection(endpoint) as (conn, answers):
        conn.sendall(b"PUT /http1-304 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        _answer(answers)
        conn.sendall(b"PUT /http1-304/k HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
        etag = _answer(answers)[1]["etag"]
        conn.sendall(b"GET /http1-304/k HTTP/1.1\r\nHost: x\r\nIf-None-Match: " + etag.encode() + b"\r\n\r\n")
        status, headers, _ = _answer(answers, head=True)
    assert status == 304 and headers.get("content-length") in (None, "5"), headers


def test_a_dribbled_head_is_answered_408_and_an_idle_connection_closed(endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    from sluiceway.endpoint import server

    monkeypatch.setattr(server, "HEAD_TIMEOUT_S", 0.3)
    with _connection(endpoint) as (conn, answers):
        conn.sendall(b"GET /_sluiceway/health HTTP/1.1\r\nHost: x\r\n")  # never finished
        status, _, _ = _answer(answers)
        assert _closed(conn, answers)
    assert status == 408
    monkeypatch.setattr(server, "IDLE_TIMEOUT_S", 0.3)
    with _connection(endpoint) as (conn, answers):
        assert answers.read(1) == b""  # closed by the server, well before the client's 10 s


def test_a_lambda_proxy_framing_header_is_remapped_or_dropped() -> None:
    from sluiceway.endpoint.apigateway.responses import from_v1, from_v2

    payload = {
        "statusCode": 200,
        "headers": {"Content-Length": "2", "Transfer-Encoding": "chunked", "Connection": "close"},
        "body": "hello",
    }
    rest = from_v1(payload, kind="REST")
    names = {name.lower(): value for name, value in rest.headers.items()}
    assert names["x-amzn-remapped-content-length"] == "2" and "content-length" not in names and "transfer-encoding" not in names
    assert "connection" not in names
    http = {name.lower() for name, _ in from_v2(payload).headers.items()}
    assert not http & {"content-length", "transfer-encoding", "connection"}
