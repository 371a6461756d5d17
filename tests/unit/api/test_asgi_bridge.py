"""The endpoint's bridge from its threaded server to an ASGI app (the management API)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from sluiceway.endpoint.asgi import AsgiApp
from sluiceway.endpoint.context import HttpRequest


class Echo:
    """An ASGI app answering with what it saw: the scope's parts, the body, the loop's thread."""

    def __init__(self) -> None:
        self.scopes: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scopes.append(dict(scope))
        message = await receive()
        seen = {
            "path": scope["path"],
            "raw_path": scope["raw_path"].decode(),
            "root_path": scope["root_path"],
            "query": scope["query_string"].decode(),
            "method": scope["method"],
            "headers": {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
            "server": list(scope["server"]) if scope["server"] else None,
            "client": list(scope["client"]) if scope["client"] else None,
            "body": message["body"].decode(),
            "thread": threading.current_thread().name,
        }
        body = json.dumps(seen).encode()
        headers = [(b"content-type", b"application/json"), (b"set-cookie", b"a=1"), (b"set-cookie", b"b=2")]
        await send({"type": "http.response.start", "status": 201, "headers": headers})
        await send({"type": "http.response.body", "body": body[:5], "more_body": True})
        await send({"type": "http.response.body", "body": body[5:]})


@pytest.fixture
def echo() -> Iterator[tuple[Echo, AsgiApp]]:
    app = Echo()
    bridge = AsgiApp(app, "/_sluiceway/api")
    try:
        yield app, bridge
    finally:
        bridge.close()


def test_the_scope_carries_the_request_under_the_prefix(echo: tuple[Echo, AsgiApp]) -> None:
    _, bridge = echo
    request = HttpRequest(
        "post",
        "/_sluiceway/api/executions/arn%3Aaws%3Astates%3Ax/stop",
        "a=1&b=%20",
        {"host": "127.0.0.1:4566", "content-type": "application/json", "x-caf\xe9": "\xe9t\xe9"},
        b'{"error": "E"}',
    )
    response = bridge.handle(request, client=("10.0.0.9", 5123))
    assert response.status == 201
    seen = json.loads(response.body)  # type: ignore[arg-type]
    assert seen["path"] == "/_sluiceway/api/executions/arn:aws:states:x/stop"
    assert seen["raw_path"] == "/_sluiceway/api/executions/arn%3Aaws%3Astates%3Ax/stop"
    assert seen["root_path"] == "/_sluiceway/api"
    assert seen["query"] == "a=1&b=%20"
    assert seen["method"] == "POST"
    assert seen["headers"]["content-type"] == "application/json"
    assert seen["headers"]["x-caf\xe9"] == "\xe9t\xe9"  # latin-1 both ways: the bytes sent
    assert seen["server"] == ["127.0.0.1", 4566]
    assert seen["client"] == ["10.0.0.9", 5123]
    assert seen["body"] == '{"error": "E"}'
    assert response.headers["content-type"] == "application/json"
    assert response.headers["set-cookie"] == "a=1, b=2"


def test_one_loop_in_one_thread_serves_concurrent_requests(echo: tuple[Echo, AsgiApp]) -> None:
    _, bridge = echo

    def call(n: int) -> str:
        response = bridge.handle(HttpRequest("GET", f"/_sluiceway/api/{n}", "", {"host": "localhost"}))
        seen = json.loads(response.body)  # type: ignore[arg-type]
        assert seen["path"] == f"/_sluiceway/api/{n}"
        assert seen["server"] == ["localhost", 80]
        return str(seen["thread"])

    with ThreadPoolExecutor(8) as pool:
        threads = set(pool.map(call, range(32)))
    assert threads == {"asgi-loop"}


def test_serves_only_its_prefix() -> None:
    bridge = AsgiApp(Echo(), "/_sluiceway/api/")
    assert bridge.serves("/_sluiceway/api")
    assert bridge.serves("/_sluiceway/api/executions")
    assert not bridge.serves("/_sluiceway/apis/abc")
    assert not bridge.serves("/_sluiceway/health")


async def _fails_before_answering(scope: Any, receive: Any, send: Any) -> None:
    raise RuntimeError("secret detail /home/user/token=abc")


async def _fails_after_answering(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 500, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"error": "InternalError", "message": "handled"}'})
    raise RuntimeError("re-raised after the handler answered, as Starlette does")


async def _never_answers(scope: Any, receive: Any, send: Any) -> None:
    await asyncio.Event().wait()


async def _silent(scope: Any, receive: Any, send: Any) -> None:
    return None


def test_an_app_failure_is_a_json_500_without_its_details() -> None:
    bridge = AsgiApp(_fails_before_answering)
    try:
        response = bridge.handle(HttpRequest("GET", "/_sluiceway/api/x", "", {}))
    finally:
        bridge.close()
    assert response.status == 500
    assert response.headers["Content-Type"] == "application/json"
    assert json.loads(response.body) == {"error": "InternalError", "message": "the request failed; see the server's log"}  # type: ignore[arg-type]
    assert b"secret" not in response.body and b"Traceback" not in response.body  # type: ignore[operator]


def test_an_answer_given_before_a_failure_stands() -> None:
    bridge = AsgiApp(_fails_after_answering)
    try:
        response = bridge.handle(HttpRequest("GET", "/_sluiceway/api/x", "", {}))
    finally:
        bridge.close()
    assert response.status == 500
    assert json.loads(response.body)["message"] == "handled"  # type: ignore[arg-type]


def test_an_app_that_sends_nothing_is_a_500() -> None:
    bridge = AsgiApp(_silent)
    try:
        response = bridge.handle(HttpRequest("GET", "/_sluiceway/api/x", "", {}))
    finally:
        bridge.close()
    assert response.status == 500
    assert json.loads(response.body)["error"] == "InternalError"  # type: ignore[arg-type]


def test_a_request_past_the_timeout_is_a_504_and_the_loop_goes_on() -> None:
    calls: list[str] = []

    async def slow_then_fast(scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["path"])
        if scope["path"].endswith("/slow"):
            await asyncio.Event().wait()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    bridge = AsgiApp(slow_then_fast, timeout_s=0.3)
    try:
        slow = bridge.handle(HttpRequest("GET", "/_sluiceway/api/slow", "", {}))
        fast = bridge.handle(HttpRequest("GET", "/_sluiceway/api/fast", "", {}))
    finally:
        bridge.close()
    assert slow.status == 504
    assert json.loads(slow.body)["error"] == "GatewayTimeout"  # type: ignore[arg-type]
    assert fast.status == 204
    assert calls == ["/_sluiceway/api/slow", "/_sluiceway/api/fast"]


def test_close_stops_the_loop_thread_and_a_later_request_starts_another() -> None:
    bridge = AsgiApp(Echo())
    bridge.handle(HttpRequest("GET", "/_sluiceway/api/a", "", {}))
    assert any(t.name == "asgi-loop" for t in threading.enumerate())
    thread = bridge._thread
    bridge.close()
    assert thread is not None and not thread.is_alive()
    bridge.close()  # twice is harmless
    again = bridge.handle(HttpRequest("GET", "/_sluiceway/api/b", "", {}))
    assert again.status == 201
    bridge.close()
