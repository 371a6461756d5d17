"""What an operation gets: the parsed request, who and where it came from, and the stack."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ..runtime.stack import Stack

__all__ = ["Context", "Handler", "HttpRequest", "HttpResponse", "Operations", "Shared", "Stream"]

T = TypeVar("T")


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request as the server read it."""

    method: str
    path: str
    """The raw (still percent-encoded) path, without the query string."""
    query: str
    """The raw query string, without ``?``."""
    headers: Mapping[str, str]
    """Header names lower-cased; a repeated header's values joined with ``,``."""
    body: bytes = b""

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


@dataclass(frozen=True)
class Stream:
    """A streaming payload (S3 GetObject's Body): chunks read as they are sent, never all in memory."""

    chunks: Iterable[bytes]
    length: int
    """The number of bytes the chunks hold (the Content-Length)."""


@dataclass
class HttpResponse:
    """What the server sends back."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | Stream = b""


class Shared:
    """Per-endpoint singletons that operations build on first use (a service's engine)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, Any] = {}

    def get(self, name: str, factory: Callable[[], T]) -> T:
        with self._lock:
            if name not in self._items:
                self._items[name] = factory()
            return self._items[name]  # type: ignore[no-any-return]

    def close(self) -> None:
        with self._lock:
            for item in self._items.values():
                close = getattr(item, "close", None)
                if callable(close):
                    close()
            self._items.clear()


@dataclass
class Context:
    """One request's context, handed to every operation."""

    stack: Stack
    """The running stack: ``stack.local`` (objects, bus, queues, topics, executions, db),
    ``stack.orchestrator``, ``stack.invoker``, ``stack.triggers``, ``stack.settings``."""
    shared: Shared
    request: HttpRequest
    service: str
    """botocore's service name: ``s3``, ``sqs``, ``sns``, ``dynamodb``, ``events``, ..."""
    operation: str
    """The operation's name in the model, e.g. ``PutObject``."""
    region: str
    account_id: str
    request_id: str
    endpoint_url: str
    """How clients reach this endpoint (``http://127.0.0.1:4566``), for URLs in answers (QueueUrl)."""
    access_key: str | None = None
    """The SigV4 access key id the request was signed with, when it was."""
    extra: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[Context, dict[str, Any]], dict[str, Any] | None]
"""An operation: the input shape's members in, the output shape's members out (None = empty)."""


class Operations:
    """A service's operations by name; a module fills one with ``@ops("Name")``."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.handlers: dict[str, Handler] = {}

    def __call__(self, name: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            if name in self.handlers:
                raise ValueError(f"{self.service} operation {name} registered twice")
            self.handlers[name] = handler
            return handler

        return register
