"""The ports: one ``Protocol`` per kind of backend Sluiceway talks to.

Everything above this module (the ASL engine, functions, runtime, API, CLI) sees
only these protocols and the frozen values below; local backends (folders, SQLite)
and AWS backends (boto3) implement them. Methods are verbs; arguments and results
are plain values, never backend types.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from .types import JSON, EventDict

__all__ = [
    "STATUS_TIME_INDEX",
    "Clock",
    "check_query",
    "Condition",
    "EventPublisher",
    "ExecutionRecord",
    "ExecutionStore",
    "FunctionInvoker",
    "Invocation",
    "InvocationResult",
    "MetadataTable",
    "ObjectInfo",
    "ObjectStore",
    "Orchestrator",
    "Queue",
    "QueueMessage",
    "SecondaryIndex",
    "TaskJournal",
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
    sequencer: str | None = None
    """What identifies the write (S3's event ``sequencer``: later writes of a key sort after
    earlier ones), when the backend knows it; a rewrite of the same bytes has a new one."""


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

    def get(
        self, bucket: str, key: str, *, start: int | None = None, end: int | None = None, if_match: str | None = None
    ) -> bytes:
        """Return the object's bytes, or the byte range ``[start, end)`` of it.

        With ``if_match`` (an ETag), only from that version of the object (S3's ``If-Match``):
        a run reads the write that triggered it, or fails.

        Raises:
            NotFoundError: no such bucket or key.
            PreconditionFailedError: the object is another version than ``if_match``.
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

    def download(
        self,
        bucket: str,
        key: str,
        path: str,
        *,
        start: int | None = None,
        end: int | None = None,
        if_match: str | None = None,
    ) -> None:
        """Write the object (or the byte range ``[start, end)``) to the local file ``path``.

        Data engines read local files fastest; a backend may hard-link or copy.

        Raises:
            NotFoundError: no such bucket or key.
            PreconditionFailedError: the object is another version than ``if_match`` (see :meth:`get`).
        """
        ...


# ---------------------------------------------------------------- metadata table


@dataclass(frozen=True)
class Condition:
    """What the stored item must look like for a write to happen (every part must hold).

    A write with a condition is checked against the item stored under the same key
    at the moment of the write, atomically (DynamoDB's ``ConditionExpression``); a
    missing item has no attributes, so ``exists`` and ``equals`` fail on it and
    ``not_exists`` holds. Names are top-level attribute names, taken literally
    (``"a.b"`` is one attribute, not a path). An empty condition always holds.

    Example: ``Condition(equals={"Status": "RUNNING"})`` lets a run move on only
    from RUNNING; ``Condition(exists=["ExecutionId"])`` updates only an existing item.
    """

    exists: Sequence[str] = ()
    """Attributes the stored item must have (``attribute_exists``)."""
    not_exists: Sequence[str] = ()
    """Attributes the stored item must not have (``attribute_not_exists``)."""
    equals: Mapping[str, JSON] = field(default_factory=dict)
    """Attributes the stored item must have with exactly these values (``=``, typed:
    ``True`` is not ``1``, ``"1"`` is not ``1``, ``1`` is ``1.0``)."""

    def __post_init__(self) -> None:
        for name in ("exists", "not_exists"):
            names = getattr(self, name)
            if isinstance(names, str):
                # A lone string would silently become a condition on each of its letters.
                raise TypeError(
                    f"Condition.{name} takes a sequence of attribute names, not a string"
                )
            object.__setattr__(self, name, tuple(names))
        object.__setattr__(self, "equals", dict(self.equals))
        for attribute in (*self.exists, *self.not_exists, *self.equals):
            if not isinstance(attribute, str) or not attribute:
                raise ValueError(f"not an attribute name: {attribute!r}")


@dataclass(frozen=True)
class SecondaryIndex:
    """A global secondary index: the table's items again, keyed by other attributes.

    As in DynamoDB the index is sparse: an item is in it only when it has every
    key attribute of the index. Key attributes of an index are strings; a write
    that gives one another type (or an empty string) is refused.
    """

    name: str
    """The index's name (DynamoDB's ``IndexName``)."""
    partition_key: str
    """The attribute that picks an index partition."""
    sort_key: str | None = None
    """The attribute that orders items within an index partition, if any."""

    @property
    def key_attributes(self) -> tuple[str, ...]:
        """The partition key and, when there is one, the sort key."""
        if self.sort_key is None:
            return (self.partition_key,)
        return (self.partition_key, self.sort_key)

    def check_values(self, attributes: Mapping[str, JSON]) -> None:
        """Refuse a write giving a key of this index a value other than a non-empty string.

        Attributes the write does not mention are fine (the item is then simply
        not in the index). DynamoDB refuses such writes too; checking before the
        call gives both backends the same error.

        Raises:
            ValueError: naming the index and the attribute.
        """
        for name in self.key_attributes:
            if name in attributes:
                value = attributes[name]
                if not isinstance(value, str) or not value:
                    raise ValueError(
                        f"{name!r} is a key of index {self.name} and must be"
                        f" a non-empty string, not {value!r}"
                    )


STATUS_TIME_INDEX = SecondaryIndex("StatusTimeIndex", partition_key="Status", sort_key="Timestamp")
"""Sluiceway's one index: runs by ``Status``, in ``Timestamp`` order (ISO 8601 UTC text)."""


class MetadataTable(Protocol):
    """A key-value table of JSON items (DynamoDB semantics for what Sluiceway uses).

    Items are JSON objects. Key attributes (the table's partition key and optional
    sort key, and the key attributes of its secondary indexes) are non-empty
    strings; sort keys order as DynamoDB orders strings (by UTF-8 bytes). Writes to
    one item are atomic; a write with a :class:`Condition` that does not hold
    raises ConflictError and writes nothing.

    Reads of the table (``get``, ``query``, ``scan``) are strongly consistent;
    ``query_index`` reads an index, which on AWS is eventually consistent
    (a write shows up there a moment later).
    """

    def put(
        self,
        item: Mapping[str, JSON],
        *,
        if_absent: bool = False,
        condition: Condition | None = None,
    ) -> None:
        """Write ``item``, replacing any item with the same key entirely.

        Args:
            item: the whole item; it must hold the table's key attributes.
            if_absent: write only if no item has this key yet.
            condition: write only if the stored item (if any) satisfies it; with
                ``if_absent`` both must hold.

        Raises:
            ConflictError: ``if_absent`` and an item with that key exists, or
                ``condition`` does not hold. Nothing is written.
            ValueError: a key attribute is missing, or a key attribute of the
                table or of an index is not a non-empty string.
        """
        ...

    def get(self, key: Mapping[str, JSON]) -> dict[str, JSON] | None:
        """Return the item with ``key``, or None.

        Raises:
            ValueError: ``key`` lacks one of the table's key attributes.
        """
        ...

    def update(
        self,
        key: Mapping[str, JSON],
        changes: Mapping[str, JSON],
        *,
        condition: Condition | None = None,
    ) -> dict[str, JSON]:
        """Set the given attributes on the item (creating it) and return the whole new item.

        Attributes not in ``changes`` keep their values. Key attributes cannot
        change: repeating the key's own value is allowed, another value is not.

        Args:
            key: the item's key attributes.
            changes: attribute name to new value.
            condition: update only if the stored item satisfies it (against a
                missing item, as if it had no attributes: ``Condition(exists=[pk])``
                updates only an existing item).

        Raises:
            ConflictError: ``condition`` does not hold; nothing is written.
            ValueError: ``changes`` would alter a key attribute, or give an index
                key attribute a value that is not a non-empty string.
        """
        ...

    def delete(self, key: Mapping[str, JSON], *, condition: Condition | None = None) -> None:
        """Delete the item; a missing item is not an error.

        Args:
            key: the item's key attributes.
            condition: delete only if the stored item satisfies it.

        Raises:
            ConflictError: ``condition`` does not hold; the item stays.
        """
        ...

    def query(
        self,
        partition_value: str,
        *,
        sort_from: str | None = None,
        sort_to: str | None = None,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> list[dict[str, JSON]]:
        """Items whose partition key is ``partition_value``, in sort key order.

        Args:
            partition_value: the partition key's value.
            sort_from: only items whose sort key is ``>=`` this.
            sort_to: only items whose sort key is ``<=`` this.
            newest_first: descending sort key order (DynamoDB's
                ``ScanIndexForward=False``).
            limit: at most this many items (the first ones in the chosen order).

        Raises:
            ValueError: a sort range on a table without a sort key, ``sort_from``
                after ``sort_to``, an empty ``partition_value`` or a ``limit`` below 1.
        """
        ...

    def query_index(
        self,
        index: str,
        partition_value: str,
        *,
        sort_from: str | None = None,
        sort_to: str | None = None,
        newest_first: bool = True,
        limit: int | None = None,
    ) -> list[dict[str, JSON]]:
        """Whole items from a secondary index whose index partition key is ``partition_value``.

        Only items holding every key attribute of the index are in it (a sparse
        index). Items come in index sort key order, newest (greatest) first by
        default; items with equal index sort keys come in no promised order.
        ``query_index(STATUS_TIME_INDEX.name, "FAILED", sort_from=since)`` lists
        failed runs since ``since``, latest first.

        Args:
            index: the index's name, e.g. ``STATUS_TIME_INDEX.name``.
            partition_value: the index partition key's value.
            sort_from: only items whose index sort key is ``>=`` this.
            sort_to: only items whose index sort key is ``<=`` this.
            newest_first: descending index sort key order; False for ascending.
            limit: at most this many items (the first ones in the chosen order).

        Raises:
            ValueError: an unknown index (the message names the known ones), a
                sort range on an index without a sort key, ``sort_from`` after
                ``sort_to``, an empty ``partition_value`` or a ``limit`` below 1.
        """
        ...

    def scan(self, *, limit: int | None = None) -> list[dict[str, JSON]]:
        """Return items, newest first by their ``Timestamp`` attribute when present.

        Items without a ``Timestamp`` come last; ties go by key. Every item is
        read, so prefer :meth:`query_index` to list runs by status.
        """
        ...


def check_query(
    partition_value: str,
    sort_from: str | None,
    sort_to: str | None,
    limit: int | None,
    sort_key: str | None,
    what: str,
) -> None:
    """Refuse the query arguments DynamoDB refuses, the same way on every backend.

    Raises:
        ValueError: an empty partition value, a sort range without a sort key, an
            inverted range, or a limit below 1.
    """
    if not isinstance(partition_value, str) or not partition_value:
        raise ValueError(f"query of {what}: the partition value must be a non-empty string")
    if sort_key is None and (sort_from is not None or sort_to is not None):
        raise ValueError(f"query of {what}: a sort range needs a sort key, and there is none")
    if sort_from is not None and sort_to is not None and sort_from > sort_to:
        raise ValueError(f"query of {what}: sort_from {sort_from!r} is after sort_to {sort_to!r}")
    if limit is not None and limit < 1:
        raise ValueError(f"query of {what}: limit must be at least 1, not {limit}")


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
    stack_trace: tuple[str, ...] = ()
    """Lambda's ``stackTrace``: the handler's frames, outermost first (failures only)."""

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


class Orchestrator(Protocol):
    """Starts, describes and stops state machine executions (Step Functions semantics).

    State machines are named by name (an ARN is accepted where the backend can use
    it); executions by the ARN ``start_execution`` returns.
    """

    def start_execution(self, state_machine: str, input: JSON, *, name: str | None = None) -> ExecutionRecord:
        """Start an execution of ``state_machine`` with ``input``; return its record.

        Idempotent by name, as StartExecution is: starting again with the name and
        input of an existing execution returns that execution (same ARN) and starts
        nothing. The record's status is RUNNING, or a terminal status when the
        execution has already ended.

        Args:
            state_machine: the state machine's name.
            input: the execution's input, any JSON value.
            name: the execution's name, unique per state machine; one is made up
                when omitted.

        Raises:
            ExecutionAlreadyExistsError: an execution with that name exists with
                another input.
            ExecutionNotFoundError: no such state machine.
            InvalidNameError: ``name`` is not a valid execution name.
        """
        ...

    def describe(self, arn: str) -> ExecutionRecord:
        """The execution's current record: status, input, output, error and cause, dates.

        Raises:
            ExecutionNotFoundError: no execution has that ARN.
        """
        ...

    def stop_execution(self, arn: str, *, error: str | None = None, cause: str | None = None) -> None:
        """Stop a running execution; it ends ABORTED with ``error`` and ``cause``.

        The stop may take effect after this returns (the local orchestrator's
        dispatcher applies it); :meth:`describe` shows ABORTED once it has.

        Raises:
            ExecutionNotFoundError: no execution has that ARN.
        """
        ...


class ExecutionStore(Protocol):
    """Durable execution state and history for the local orchestrator."""

    def create(self, record: ExecutionRecord, history: Sequence[Mapping[str, Any]]) -> ExecutionRecord:
        """Insert a new execution with its first history events, in one transaction.

        Returns the stored record; if a *running* execution with the same name exists
        with the same input, returns that one instead (StartExecution is idempotent by name).

        Raises:
            ExecutionAlreadyExistsError: the name exists with another input, or its execution has ended.
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

    def history(self, arn: str) -> builtins.list[dict[str, Any]]:
        """The execution's history events in order (AWS's event shapes)."""
        ...


class TaskJournal(Protocol):
    """What Task states did, by task: a task run again after a crash has its effect once (local runtime only)."""

    def once(self, key: str, action: Callable[[], JSON], *, atomic: bool = True) -> JSON:
        """Run ``action`` unless a task with ``key`` already did; return its outcome either way.

        Args:
            key: the task's identity (its execution and task token).
            action: does the task's effect and returns its outcome; raising records nothing.
            atomic: the action writes only to the journal's own database, so it runs inside
                the transaction that records it (exactly once); otherwise it runs first and is
                recorded after (a crash in between repeats it).
        """
        ...
