"""An ASGI app (the management API) served by the endpoint's threaded HTTP server.

The server reads a request on a thread of its own; :meth:`AsgiApp.handle` turns it into an ASGI
``http`` scope, runs the app on one long-lived event loop in a background thread, and waits for the
whole answer (the management API's answers are small JSON documents: they are not streamed).
An app that fails or takes longer than the timeout gets a JSON error, never a traceback.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote

from .context import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

__all__ = ["AsgiApp", "AsgiCallable"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
AsgiCallable = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

#: API Gateway gives an integration 30 seconds; the endpoint gives the app as long.
DEFAULT_TIMEOUT_S = 30.0


class AsgiApp:
    """``handle(request)`` for the requests under ``prefix``, answered by the ASGI ``app``.

    Args:
        app: the ASGI application (a FastAPI app).
        prefix: the path it is mounted at: the scope's ``root_path`` (the app routes what follows).
        timeout_s: how long a request may take before it is answered 504.
    """

    def __init__(self, app: AsgiCallable, prefix: str = "/_sluiceway/api", *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")
        self.timeout_s = timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def serves(self, path: str) -> bool:
        """Whether ``path`` (raw, without the query) is the app's."""
        return path == self.prefix or path.startswith(self.prefix + "/")

    def handle(self, request: HttpRequest, *, client: tuple[str, int] | None = None, server: tuple[str, int] | None = None) -> HttpResponse:
        """The app's answer to ``request`` (never raises)."""
        loop = self._running_loop()
        future = asyncio.run_coroutine_threadsafe(self._call(request, client, server), loop)
        try:
            return future.result(self.timeout_s)
        except concurrent.futures.TimeoutError:
            future.cancel()
            logger.warning("asgi: %s %s took longer than %ss", request.method, request.path, self.timeout_s)
            return _error(504, "GatewayTimeout", f"the request took longer than {self.timeout_s:g} seconds")
        except Exception:
            logger.exception("asgi: %s %s failed", request.method, request.path)
            return _error(500, "InternalError", "the request failed; see the server's log")

    def close(self) -> None:
        """Stop the event loop (requests in flight are cancelled)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5.0)
        if not thread.is_alive():
            loop.close()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=_run_forever, args=(loop,), name="asgi-loop", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def scope(self, request: HttpRequest, client: tuple[str, int] | None, server: tuple[str, int] | None) -> Scope:
        """The ASGI ``http`` scope of ``request`` (its path decoded; the raw one in ``raw_path``)."""
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": request.method.upper(),
            "scheme": "http",
            "path": unquote(request.path, errors="replace"),
            "raw_path": request.path.encode("latin-1", "replace"),
            "query_string": request.query.encode("latin-1", "replace"),
            "root_path": self.prefix,
            # http.server decodes headers as latin-1: encoding them back gives the bytes sent.
            "headers": [
                (name.lower().encode("latin-1", "replace"), value.encode("latin-1", "replace")) for name, value in request.headers.items()
            ],
            "client": client,
            "server": server or _server_of(request),
            "state": {},
        }

    async def _call(self, request: HttpRequest, client: tuple[str, int] | None, server: tuple[str, int] | None) -> HttpResponse:
        status: int | None = None
        headers: dict[str, str] = {}
        chunks: list[bytes] = []
        done = asyncio.Event()
        body_sent = False

        async def receive() -> Message:
            nonlocal body_sent
            if not body_sent:
                body_sent = True
                return {"type": "http.request", "body": request.body, "more_body": False}
            await done.wait()  # a client that stays until the answer is complete
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                for name, value in message.get("headers", ()):
                    key, text = bytes(name).decode("latin-1"), bytes(value).decode("latin-1")
                    headers[key] = f"{headers[key]}, {text}" if key in headers else text
            elif message["type"] == "http.response.body":
                chunks.append(bytes(message.get("body", b"")))
                if not message.get("more_body", False):
                    done.set()

        try:
            await self.app(self.scope(request, client, server), receive, send)
        except Exception:
            if status is None or not done.is_set():
                logger.exception("asgi: the app failed on %s %s", request.method, request.path)
                return _error(500, "InternalError", "the request failed; see the server's log")
            # Starlette re-raises an error after its handler has answered: the answer stands.
            logger.debug("asgi: the app raised after answering %s %s", request.method, request.path, exc_info=True)
        finally:
            done.set()
        if status is None:
            return _error(500, "InternalError", "the app sent no response")
        return HttpResponse(status, headers, b"".join(chunks))


def _items(request: HttpRequest) -> list[tuple[str, str]]:
    return list(request.headers.items())


def _run_forever(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    loop.run_forever()


def _server_of(request: HttpRequest) -> tuple[str, int] | None:
    host = request.header("host")
    if not host:
        return None
    name, _, port = host.rpartition(":")
    if name and port.isdigit():
        return name.strip("[]"), int(port)
    return host, 80


def _error(status: int, code: str, message: str) -> HttpResponse:
    body = json.dumps({"error": code, "message": message}).encode()
    return HttpResponse(status, {"Content-Type": "application/json", "Content-Length": str(len(body))}, body)
