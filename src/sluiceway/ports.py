"""The ports: one ``Protocol`` per kind of backend Sluiceway talks to.

Everything above this module (the ASL engine, functions, runtime, API, CLI) sees
only these protocols and the frozen values below; local backends (folders, SQLite)
and AWS backends (boto3) implement them. Methods are verbs; arguments and results
are plain values, never backend types.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from .types import JSON, EventDict

__all__ = [
    "Clock",
    "EventPublisher",
    "ExecutionRecord",
    "ExecutionStore",
    "FunctionInvoker",
    "Invocation",
    "InvocationResult",
    "MetadataTable",
    "ObjectInfo",
    "ObjectStore",
    "Queue",
    "QueueMessage",
    "Topic",
    "TopicMessage",
]


# --------------------------------------------------------------------------- clock


@runtime_checkable
class Clock(Protocol):
    """Wall time as the runtime sees it; tests inject a fake one."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin, never going backwards."""
        ...


# ----------------------------------------------------------------------- objects


@dataclass(frozen=True)
class ObjectInfo:
    """What a bucket knows about one object."""

    bucket: str
    key: str
    size: int
    etag: str
    """Quoted-free hex MD5 of the content, as S3 reports it for single-part uploads."""
    last_modified: datetime
    content_type: str = "application/octet-stream"
    metadata: Mapping[str, str] = field(default_factory=dict)
    version_id: str | None = None


class ObjectStore(Protocol):
    """Buckets of immutable objects addressed by key (S3 semantics)."""

    def put(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Store ``data`` under ``key`` atomically, replacing any previous object.

        Raises:
            InvalidNameError: the bucket or key is not allowed.
        """
        ...

    def put_file(self, bucket: str, key: str, path: str, *, content_type: str = "application/octet-stream") -> ObjectInfo:
        """Store the content of a local file (streamed, any size) under ``key`` atomically."""
        ...

    def get(self, bucket: str, key: str, *, start: int | None = None, end: int | None = None) -> bytes:
        """Return the object's bytes, or the byte range ``[start, end)`` of it.

        Raises:
            NotFoundError: no such bucket or key.
        """
        ...

    def head(self, bucket: str, key: str) -> ObjectInfo:
        """Return the object's metadata. Raises NotFoundError if missing."""
        ...

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        """Yield every object whose key starts with ``prefix``, in key order."""
        ...

    def delete(self, bucket: str, key: str) -> None:
        """Delete the object; deleting a missing key is not an error (S3 semantics)."""
        ...

    def download(self, bucket: str, key: str, path: str, *, start: int | None = None, end: int | None = None) -> None:
        """Write the object (or the byte range ``[start, end)``) to the local file ``path``.

        Data engines read local files fastest; a backend may hard-link or copy.
        """
        ...


# ---------------------------------------------------------------- metadata table


class MetadataTable(Protocol):
    """A key-value table of JSON items (DynamoDB semantics for what Sluiceway uses)."""

    def put(self, item: Mapping[str, JSON], *, if_absent: bool = False) -> None:
        """Write ``item`` (it must hold the table's key attributes).

        Raises:
            ConflictError: ``if_absent`` and an item with that key exists.
        """
        ...

    def get(self, key: Mapping[str, JSON]) -> dict[str, JSON] | None:
        """Return the item with ``key``, or None."""
        ...

    def update(self, key: Mapping[str, JSON], changes: Mapping[str, JSON]) -> dict[str, JSON]:
        """Set the given attributes on the item (creating it) and return the new item."""
        ...

    def delete(self, key: Mapping[str, JSON]) -> None:
        """Delete the item; a missing item is not an error."""
        ...

    def scan(self, *, limit: int | None = None) -> list[dict[str, JSON]]:
        """Return items, newest first by their ``Timestamp`` attribute when present."""
        ...


# ------------------------------------------------------------------------ topics


@dataclass(frozen=True)
class TopicMessage:
    """One message published to a topic (SNS shape)."""

    topic: str
    message: str
    message_id: str
    timestamp: datetime
    subject: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)


class Topic(Protocol):
    """Publish-subscribe notifications (SNS semantics)."""

    def publish(
        self,
        topic: str,
        message: str,
        *,
        subject: str | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> str:
        """Publish and return the message id. The message is durable once this returns."""
        ...


# ------------------------------------------------------------------------ queues


@dataclass(frozen=True)
class QueueMessage:
    """A received message (SQS shape)."""

    message_id: str
    receipt_handle: str
    body: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    """Message attributes set by the sender."""
    receive_count: int = 1
    """ApproximateReceiveCount, including this receive."""
    sent_at: datetime | None = None
    group_id: str | None = None


class Queue(Protocol):
    """A message queue (SQS semantics): at-least-once delivery with visibility timeouts."""

    def send(
        self,
        queue: str,
        body: str,
        *,
        delay_s: int = 0,
        attributes: Mapping[str, str] | None = None,
        group_id: str | None = None,
        dedup_id: str | None = None,
    ) -> str:
        """Send a message; return its id. Durable once this returns.

        Raises:
            NotFoundError: no such queue.
        """
        ...

    def receive(self, queue: str, *, max_messages: int = 1, visibility_s: int | None = None, wait_s: float = 0) -> list[QueueMessage]:
        """Receive up to ``max_messages`` visible messages, hiding them for the visibility timeout."""
        ...

    def delete(self, queue: str, receipt_handle: str) -> None:
        """Delete a received message. Raises NotFoundError for an unknown or stale receipt."""
        ...

    def change_visibility(self, queue: str, receipt_handle: str, visibility_s: int) -> None:
        """Change how long a received message stays hidden."""
        ...


# ------------------------------------------------------------------------ events


class EventPublisher(Protocol):
    """Puts events on an event bus (EventBridge semantics)."""

    def put_events(self, entries: Sequence[EventDict]) -> list[str]:
        """Put events in EventBridge's envelope; return their ids.

        Events are committed durably before this returns; delivery to targets is
        at-least-once and happens afterwards.
        """
        ...


# --------------------------------------------------------------------- functions


@dataclass(frozen=True)
class Invocation:
    """One call of a Lambda-style function."""

    function_name: str
    payload: JSON
    request_id: str
    timeout_s: float = 60.0
    memory_mb: int = 512


@dataclass(frozen=True)
class InvocationResult:
    """What a function returned, or how it failed (Lambda's error shape)."""

    request_id: str
    payload: JSON = None
    error_type: str | None = None
    """Lambda's ``errorType``; None when the call succeeded."""
    error_message: str | None = None
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error_type is None


class FunctionInvoker(Protocol):
    """Runs Lambda-style functions by name."""

    def invoke(self, invocation: Invocation) -> InvocationResult:
        """Run the function to completion and return its result.

        Never raises for a failing or crashing function: failures are data in the
        result (``errorType`` ``Sandbox.Timedout`` for a timeout, ``Runtime.ExitError``
        for a crashed worker).
        """
        ...

    def knows(self, function_name: str) -> bool:
        """Whether ``function_name`` names a registered function."""
        ...


# -------------------------------------------------------------------- executions


@dataclass(frozen=True)
class ExecutionRecord:
    """One state machine execution as the execution store keeps it."""

    arn: str
    name: str
    state_machine: str
    status: str
    """RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED."""
    input: JSON
    started_at: datetime
    output: JSON = None
    error: str | None = None
    cause: str | None = None
    stopped_at: datetime | None = None
    state: JSON = None
    """The interpreter's serialised execution state (opaque to the store)."""


class ExecutionStore(Protocol):
    """Durable execution state and history for the local orchestrator."""

    def create(self, record: ExecutionRecord, history: Sequence[Mapping[str, Any]]) -> ExecutionRecord:
        """Insert a new execution with its first history events, in one transaction.

        Returns the stored record; if an execution with the same name exists with the
        same input, returns that one instead (StartExecution is idempotent by name).

        Raises:
            ExecutionAlreadyExistsError: the name exists with another input.
        """
        ...

    def advance(self, record: ExecutionRecord, history: Sequence[Mapping[str, Any]]) -> None:
        """Replace the execution's state and append history events, in one transaction."""
        ...

    def get(self, arn: str) -> ExecutionRecord:
        """Return the execution. Raises ExecutionNotFoundError."""
        ...

    def list(self, *, status: str | None = None, limit: int = 100) -> list[ExecutionRecord]:
        """Executions, newest first."""
        ...

    def history(self, arn: str) -> list[dict[str, Any]]:
        """The execution's history events in order (AWS's event shapes)."""
        ...
