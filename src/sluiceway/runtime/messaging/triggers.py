"""Queue -> function triggers: Lambda's event source mappings for SQS, run locally.

Each :class:`EventSourceMapping` gets a :class:`QueuePoller`: a thread that
long-polls the queue, invokes the function through the ``FunctionInvoker`` port
with Lambda's SQS event (``{"Records": [{"messageId", "receiptHandle", "body",
"attributes", "messageAttributes", "md5OfBody", "eventSource": "aws:sqs",
"eventSourceARN", "awsRegion"}]}``) and settles the batch as Lambda does:

* the function returned: every message of the batch is deleted;
* with ``report_batch_item_failures``, only the messages the function does not
  list in ``{"batchItemFailures": [{"itemIdentifier": messageId}]}`` are deleted.
  An empty or missing list (or a null response) means all succeeded; a response
  Lambda cannot read (not an object, a list that is not a list, an entry without
  a string ``itemIdentifier``, or one naming no message of the batch) fails the
  whole batch;
* the function failed (an error, a timeout, a crash): nothing is deleted, and the
  messages come back when their visibility timeout ends. The queue's redrive
  policy moves a message received ``maxReceiveCount`` times to its dead-letter
  queue; the trigger never deletes or moves a message by hand.

With ``filter_criteria`` (Lambda's event filtering, :mod:`sluiceway.events.lambda_filters`),
each received message is matched before it joins a batch: one that matches no filter is
deleted from the queue at once, without invoking the function. That is what Lambda does for
SQS, and it differs from streams on purpose: a queue has no position to step past, so a
message Lambda received and left alone would come back after its visibility timeout, be
received again and again, and end in the dead-letter queue or expire, never processed either
way. Messages that match are batched as usual, and a batching window fills with them only.

After a failed batch the poller waits before polling again, doubling the wait
while failures go on. At most ``max_concurrency`` batches of a mapping run at
once, and a function may be given a limit across all its mappings (reserved
concurrency).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final

from ...errors import NotFoundError
from ...events.lambda_filters import FilterCriteria, compile_filter_criteria
from ...messaging.errors import InvalidMessageError
from ...messaging.redrive import queue_arn, queue_name
from ...observability.tracing import Tracing
from ...ports import Clock, FunctionInvoker, Invocation, Queue, QueueMessage
from ...types import JSON

logger = logging.getLogger(__name__)

__all__ = [
    "BatchOutcome",
    "EventSourceMapping",
    "EventSourceMappings",
    "QueuePoller",
    "batch_item_failures",
    "sqs_event",
]

MAX_BATCH_SIZE: Final = 10_000
MAX_FIFO_BATCH_SIZE: Final = 10
MAX_BATCHING_WINDOW_S: Final = 300
MIN_CONCURRENCY: Final = 2
MAX_CONCURRENCY: Final = 1000
MAX_PAYLOAD_BYTES: Final = 6_291_456
"""Lambda's limit for a synchronous invocation's payload: a batch stops growing there."""
_RECEIVE_MAX: Final = 10
_PAYLOAD_BUDGET: Final = MAX_PAYLOAD_BYTES - 65_536
"""Room for a batch's records, leaving some for the event's own keys."""


@dataclass(frozen=True)
class EventSourceMapping:
    """A queue that triggers a function (Lambda's CreateEventSourceMapping for SQS).

    Raises:
        ValueError: a setting out of Lambda's range (with Lambda's reason).
    """

    queue: str
    """The queue's name, ARN or URL."""
    function: str
    """The function's name or ARN."""
    batch_size: int = 10
    """Messages per invocation: 1-10,000 (1-10 for FIFO queues); above 10 needs a batching window."""
    max_batching_window_s: float = 0
    """How long to gather messages before invoking with fewer than ``batch_size`` (0-300 s)."""
    report_batch_item_failures: bool = False
    """The function reports failed messages (``ReportBatchItemFailures``) instead of failing the batch."""
    max_concurrency: int = 2
    """Batches of this mapping running at once (Lambda's ScalingConfig MaximumConcurrency, 2-1000)."""
    enabled: bool = True
    filter_criteria: Mapping[str, Any] | None = field(default=None, hash=False)
    """Lambda's ``FilterCriteria`` (``{"Filters": [{"Pattern": "<JSON>"}]}``): messages that match no
    filter are deleted without invoking the function."""
    max_filters: int = 5
    """The account's quota of filters per mapping (Lambda's default 5, up to 10 on request)."""
    filters: FilterCriteria = field(init=False, repr=False, compare=False)
    """``filter_criteria``, compiled (no filters: every message passes)."""

    def __post_init__(self) -> None:
        # Compiled first: FilterCriteriaError is a ValueError with Lambda's code and message.
        object.__setattr__(
            self,
            "filters",
            compile_filter_criteria(self.filter_criteria, source="sqs", max_filters=self.max_filters),
        )
        fifo = queue_name(self.queue).endswith(".fifo")
        top = MAX_FIFO_BATCH_SIZE if fifo else MAX_BATCH_SIZE
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or not 1 <= self.batch_size <= top:
            raise ValueError(f"BatchSize must be between 1 and {top} for {'FIFO' if fifo else 'standard'} queues, got {self.batch_size!r}")
        if not 0 <= self.max_batching_window_s <= MAX_BATCHING_WINDOW_S:
            raise ValueError(
                f"MaximumBatchingWindowInSeconds must be between 0 and {MAX_BATCHING_WINDOW_S}, got {self.max_batching_window_s!r}"
            )
        if self.batch_size > _RECEIVE_MAX and self.max_batching_window_s < 1:
            raise ValueError("Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10")
        if fifo and self.max_batching_window_s:
            raise ValueError("Batching window is not supported for FIFO queues")
        if not MIN_CONCURRENCY <= self.max_concurrency <= MAX_CONCURRENCY:
            raise ValueError(f"MaximumConcurrency must be between {MIN_CONCURRENCY} and {MAX_CONCURRENCY}, got {self.max_concurrency!r}")

    @property
    def queue_name(self) -> str:
        return queue_name(self.queue)

    @property
    def function_name(self) -> str:
        """The function's name, without ARN parts or qualifier."""
        ref = self.function.split(":function:", 1)[1] if ":function:" in self.function else self.function
        return ref.split(":", 1)[0]


@dataclass(frozen=True)
class BatchOutcome:
    """What became of one batch."""

    request_id: str
    received: int
    deleted: int
    failed_ids: tuple[str, ...] = ()
    """Messages left for the queue to return (all of them when the batch failed)."""
    error: str | None = None
    """Why the whole batch failed: the function's error, or a malformed response."""

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failed_ids


def sqs_event(
    messages: Sequence[QueueMessage],
    *,
    queue_arn: str,
    region: str,
    account_id: str,
    received_at_ms: int,
) -> dict[str, JSON]:
    """Lambda's SQS event for ``messages`` received from the queue ``queue_arn``.

    ``ApproximateFirstReceiveTimestamp`` is the time of this receive (the queue
    port does not keep the first one).
    """
    records: list[JSON] = []
    for m in messages:
        attributes = {
            "ApproximateReceiveCount": str(m.receive_count),
            "SentTimestamp": str(int(m.sent_at.timestamp() * 1000)) if m.sent_at else str(received_at_ms),
            "SenderId": account_id,
            "ApproximateFirstReceiveTimestamp": str(received_at_ms),
        }
        if m.group_id is not None:
            attributes["MessageGroupId"] = m.group_id
        records.append(
            {
                "messageId": m.message_id,
                "receiptHandle": m.receipt_handle,
                "body": m.body,
                "attributes": attributes,
                "messageAttributes": {
                    name: {
                        "stringValue": value,
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": "String",
                    }
                    for name, value in m.attributes.items()
                },
                "md5OfBody": hashlib.md5(m.body.encode("utf-8"), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


def batch_item_failures(response: JSON, message_ids: Sequence[str]) -> set[str] | None:
    """The message ids a ``ReportBatchItemFailures`` response names; None when Lambda would
    read it as a failure of the whole batch.

    Complete success: a null response, an object without ``batchItemFailures``, or a
    null or empty list. Complete failure: a response that is not an object, a
    ``batchItemFailures`` that is not a list, an entry that is not an object, and an
    ``itemIdentifier`` that is missing, null, empty, not a string or not in the batch.
    """
    if response is None:
        return set()
    if not isinstance(response, dict):
        return None
    failures = response.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return None
    known = set(message_ids)
    out: set[str] = set()
    for entry in failures:
        if not isinstance(entry, dict):
            return None
        identifier = entry.get("itemIdentifier")
        if not isinstance(identifier, str) or not identifier or identifier not in known:
            return None
        out.add(identifier)
    return out


@dataclass
class _Stats:
    batches: int = 0
    failed_batches: int = 0
    consecutive_failures: int = 0
    last_error: str | None = None
    in_flight: int = 0
    peak_in_flight: int = 0
    filtered: int = 0
    outcomes: list[BatchOutcome] = field(default_factory=list)


class QueuePoller:
    """Polls one queue for one mapping and invokes its function, from a thread or by hand.

    Args:
        mapping: the mapping.
        queues: the queue port.
        invoker: the function port.
        clock: the time (``SentTimestamp`` and receive times).
        region: for the queue's ARN and ``awsRegion``.
        account_id: for the queue's ARN and ``SenderId``.
        function_slots: shared by every mapping of the function when it has a
            concurrency limit.
        poll_wait_s: how long one receive long-polls (the thread checks for
            ``close()`` between receives).
        backoff_s: (first, largest) wait after a failed batch; it doubles while failures go on.
        request_ids: makes invocation request ids.
        keep_outcomes: how many recent outcomes :attr:`outcomes` keeps.
        tracing: where each batch becomes a span continuing its first message's ``AWSTraceHeader``.
    """

    def __init__(
        self,
        mapping: EventSourceMapping,
        queues: Queue,
        invoker: FunctionInvoker,
        *,
        clock: Clock,
        region: str = "us-east-1",
        account_id: str = "111111111111",
        function_slots: threading.BoundedSemaphore | None = None,
        poll_wait_s: float = 1.0,
        backoff_s: tuple[float, float] = (0.5, 10.0),
        request_ids: Callable[[], str] | None = None,
        keep_outcomes: int = 100,
        tracing: Tracing | None = None,
    ) -> None:
        self.mapping = mapping
        self.tracing = tracing or Tracing()
        self.queues = queues
        self.invoker = invoker
        self.clock = clock
        self.region = region
        self.account_id = account_id
        self.queue_arn = queue_arn(mapping.queue_name, region=region, account_id=account_id)
        self.poll_wait_s = poll_wait_s
        self.backoff_s = backoff_s
        self.request_ids = request_ids or (lambda: str(uuid.uuid4()))
        self.keep_outcomes = keep_outcomes
        self._slots = threading.BoundedSemaphore(mapping.max_concurrency)
        self._function_slots = function_slots
        self._stats = _Stats()
        self._stats_lock = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._executor: ThreadPoolExecutor | None = None

    # -- one batch, by hand ---------------------------------------------------

    def poll_once(self, wait_s: float = 0.0) -> BatchOutcome | None:
        """Receive one batch and run it to the end in this thread; None when the queue gave nothing
        (or nothing that passed the mapping's filters: those messages are deleted)."""
        messages = self._gather(wait_s)
        if not messages:
            return None
        return self._run(messages)

    # -- the thread -----------------------------------------------------------

    def start(self) -> None:
        """Start polling in a thread (a disabled mapping does not start)."""
        if self._thread is not None or not self.mapping.enabled:
            return
        self._stop.clear()
        self._executor = ThreadPoolExecutor(
            max_workers=self.mapping.max_concurrency,
            thread_name_prefix=f"sluiceway-esm-{self.mapping.function_name}",
        )
        self._thread = threading.Thread(target=self._loop, name=f"sluiceway-poller-{self.mapping.queue_name}", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the thread to stop after its current receive, without waiting."""
        self._stop.set()

    def close(self, *, wait_batches: bool = True) -> None:
        """Stop polling (after the receive in progress); batches already received run to the end (their deletes included).

        Without ``wait_batches`` this returns once no other batch can start, and those batches end in the background.
        """
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.poll_wait_s + 30)
            self._thread = None
        if self._executor is not None:
            self._executor.shutdown(wait=wait_batches)
            self._executor = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            if not self._slots.acquire(timeout=0.1):
                continue
            try:
                messages = self._gather(self.poll_wait_s)
            except Exception as exc:
                self._slots.release()
                logger.warning(
                    "queue poll failed",
                    extra={
                        "queue": self.mapping.queue_name,
                        "error": f"{type(exc).__name__}: {exc}",
                    },
                )
                self._stop.wait(self.backoff_s[1] if isinstance(exc, NotFoundError) else self.backoff_s[0])
                continue
            if not messages:
                self._slots.release()
                continue
            # The function's own limit is taken only with a batch in hand: holding it
            # through long polls of an empty queue would starve the function's other
            # mappings. A batch waiting here stays in flight (its visibility timeout runs).
            if not self._take_function_slot():
                self._slots.release()
                self._hand_back(messages)  # stopping: the batch is visible again at once
                break
            assert self._executor is not None
            future = self._executor.submit(self._run, messages)
            future.add_done_callback(self._done)
            with self._stats_lock:
                failures = self._stats.consecutive_failures
            if failures:
                first, largest = self.backoff_s
                self._stop.wait(min(largest, first * 2 ** min(failures - 1, 30)))

    def _hand_back(self, messages: list[QueueMessage]) -> None:
        for message in messages:
            with contextlib.suppress(NotFoundError, InvalidMessageError):  # gone, received again, or past 12 hours: nothing to hand back
                self.queues.change_visibility(self.mapping.queue_name, message.receipt_handle, 0)

    def _take_function_slot(self) -> bool:
        """Wait for the function's concurrency limit; False if the poller stops first."""
        if self._function_slots is None:
            return True
        while not self._stop.is_set():
            if self._function_slots.acquire(timeout=0.1):
                return True
        return False

    def _done(self, future: Future[BatchOutcome]) -> None:
        self._release()
        exc = future.exception()
        if exc is not None:
            logger.error("trigger batch crashed", exc_info=exc, extra={"queue": self.mapping.queue_name})

    def _release(self) -> None:
        if self._function_slots is not None:
            self._function_slots.release()
        self._slots.release()

    # -- batches --------------------------------------------------------------

    def _gather(self, wait_s: float) -> list[QueueMessage]:
        mapping = self.mapping
        name = mapping.queue_name
        batch = self._admit(self.queues.receive(name, max_messages=min(_RECEIVE_MAX, mapping.batch_size), wait_s=wait_s))
        if not batch or mapping.max_batching_window_s <= 0:
            return batch
        deadline = time.monotonic() + mapping.max_batching_window_s
        size = sum(_record_bytes(m) for m in batch)
        while len(batch) < mapping.batch_size and not self._stop.is_set() and size < _PAYLOAD_BUDGET:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            more = self._admit(
                self.queues.receive(
                    name,
                    max_messages=min(_RECEIVE_MAX, mapping.batch_size - len(batch)),
                    wait_s=min(remaining, 20.0, self.poll_wait_s),
                )
            )
            for message in more:
                if size + _record_bytes(message) > _PAYLOAD_BUDGET:
                    # Past Lambda's payload limit: hand it back for the next batch.
                    self.queues.change_visibility(name, message.receipt_handle, 0)
                else:
                    batch.append(message)
                    size += _record_bytes(message)
        return batch

    def _admit(self, messages: list[QueueMessage]) -> list[QueueMessage]:
        """The messages that pass the mapping's filters; the others are deleted (see the module docstring)."""
        filters = self.mapping.filters
        if not messages or not filters.patterns:
            return messages
        now_ms = int(self.clock.now().timestamp() * 1000)
        records = sqs_event(
            messages,
            queue_arn=self.queue_arn,
            region=self.region,
            account_id=self.account_id,
            received_at_ms=now_ms,
        )["Records"]
        assert isinstance(records, list)
        kept: list[QueueMessage] = []
        dropped = 0
        for message, record in zip(messages, records, strict=True):
            assert isinstance(record, dict)
            if filters.matches(record):
                kept.append(message)
                continue
            dropped += 1
            # Gone, or received again: that receive settles it; a FIFO queue refuses the receipt as
            # expired once the message is visible again (it is then received and filtered again).
            with contextlib.suppress(NotFoundError, InvalidMessageError):
                self.queues.delete(self.mapping.queue_name, message.receipt_handle)
        if dropped:
            logger.info(
                "messages matching no filter deleted without invoking the function",
                extra={"queue": self.mapping.queue_name, "function": self.mapping.function, "messages": dropped},
            )
            with self._stats_lock:
                self._stats.filtered += dropped
        return kept

    def _run(self, messages: list[QueueMessage]) -> BatchOutcome:
        with self._stats_lock:
            self._stats.in_flight += 1
            self._stats.peak_in_flight = max(self._stats.peak_in_flight, self._stats.in_flight)
        try:
            outcome = self._invoke(messages)
        finally:
            with self._stats_lock:
                self._stats.in_flight -= 1
        self._note(outcome)
        return outcome

    def _invoke(self, messages: list[QueueMessage]) -> BatchOutcome:
        mapping = self.mapping
        request_id = self.request_ids()
        now_ms = int(self.clock.now().timestamp() * 1000)
        event = sqs_event(
            messages,
            queue_arn=self.queue_arn,
            region=self.region,
            account_id=self.account_id,
            received_at_ms=now_ms,
        )
        invocation = Invocation(mapping.function, event, request_id, timeout_s=900.0)
        if self.tracing.enabled:
            # As Lambda does for an SQS event source: the batch continues its messages' trace.
            parent = next((m.trace_header for m in messages if m.trace_header), None)
            attributes = {
                "messaging.system": "aws_sqs",
                "messaging.operation.type": "process",
                "messaging.destination.name": mapping.queue_name,
                "messaging.batch.message_count": len(messages),
                "faas.trigger": "pubsub",
            }
            with self.tracing.span(f"receive {mapping.queue_name}", parent=parent, kind="consumer", attributes=attributes):
                result = self.invoker.invoke(invocation)
        else:
            result = self.invoker.invoke(invocation)
        ids = [m.message_id for m in messages]
        where = {
            "queue": mapping.queue_name,
            "function": mapping.function,
            "request_id": request_id,
            "messages": len(messages),
        }
        if not result.ok:
            error = f"{result.error_type}: {result.error_message}"
            logger.warning(
                "triggered function failed; the batch returns to the queue",
                extra={**where, "error": error},
            )
            return BatchOutcome(request_id, len(messages), 0, tuple(ids), error)
        failed: set[str] = set()
        if mapping.report_batch_item_failures:
            reported = batch_item_failures(result.payload, ids)
            if reported is None:
                error = "the function's batchItemFailures response is malformed; the whole batch failed"
                logger.warning(
                    "triggered function gave a malformed batch response",
                    extra={**where, "response": _preview(result.payload)},
                )
                return BatchOutcome(request_id, len(messages), 0, tuple(ids), error)
            failed = reported
        deleted = 0
        for message in messages:
            if message.message_id in failed:
                continue
            try:
                self.queues.delete(mapping.queue_name, message.receipt_handle)
            except (NotFoundError, InvalidMessageError):
                # Its visibility timeout ran out before the function returned: received again (that
                # receive settles it), or, on a FIFO queue, refused as expired and received again
                # later, as Lambda's event source mapping retries it on AWS.
                logger.warning(
                    "processed message could not be deleted; it will be processed again",
                    extra={**where, "message_id": message.message_id},
                )
            else:
                deleted += 1
        if failed:
            logger.info(
                "triggered function reported failed messages",
                extra={**where, "failed": len(failed)},
            )
        return BatchOutcome(request_id, len(messages), deleted, tuple(i for i in ids if i in failed))

    def _note(self, outcome: BatchOutcome) -> None:
        with self._stats_lock:
            stats = self._stats
            stats.batches += 1
            if outcome.error is not None:
                stats.failed_batches += 1
                stats.consecutive_failures += 1
                stats.last_error = outcome.error
            else:
                stats.consecutive_failures = 0
            stats.outcomes.append(outcome)
            del stats.outcomes[: -self.keep_outcomes]
            self._stats_lock.notify_all()

    # -- what happened --------------------------------------------------------

    @property
    def outcomes(self) -> list[BatchOutcome]:
        """The most recent batch outcomes, oldest first."""
        with self._stats_lock:
            return list(self._stats.outcomes)

    def stats(self) -> dict[str, Any]:
        """Counters: batches, failed batches, the last error, batches in flight and their peak, and
        messages deleted because they matched no filter."""
        with self._stats_lock:
            s = self._stats
            return {
                "batches": s.batches,
                "failed_batches": s.failed_batches,
                "consecutive_failures": s.consecutive_failures,
                "last_error": s.last_error,
                "in_flight": s.in_flight,
                "peak_in_flight": s.peak_in_flight,
                "filtered": s.filtered,
            }

    def wait_for_batches(self, count: int, timeout: float) -> bool:
        """Block until ``count`` batches have ended (any outcome); False on timeout."""
        with self._stats_lock:
            return self._stats_lock.wait_for(lambda: self._stats.batches >= count, timeout)


def _record_bytes(message: QueueMessage) -> int:
    """About what one message takes in the event: its body and receipt as JSON, and the rest."""
    attributes = sum(len(k) + len(v) + 96 for k, v in message.attributes.items())
    return len(json.dumps(message.body)) + len(message.receipt_handle) + attributes + 640


def _preview(payload: JSON) -> str:
    text = json.dumps(payload, default=str)
    return text if len(text) <= 200 else text[:199] + "…"


class EventSourceMappings:
    """The event source mappings of a local stack: one poller per mapping, started and stopped together.

    Args:
        queues: the queue port.
        invoker: the function port.
        clock: the time.
        region: for ARNs.
        account_id: for ARNs.
        function_concurrency: per-function limits across mappings (Lambda's reserved
            concurrency), by function name.
        poll_wait_s: see :class:`QueuePoller`.
        backoff_s: see :class:`QueuePoller`.
        tracing: see :class:`QueuePoller`.
    """

    def __init__(
        self,
        queues: Queue,
        invoker: FunctionInvoker,
        *,
        clock: Clock,
        region: str = "us-east-1",
        account_id: str = "111111111111",
        function_concurrency: Mapping[str, int] | None = None,
        poll_wait_s: float = 1.0,
        backoff_s: tuple[float, float] = (0.5, 10.0),
        tracing: Tracing | None = None,
    ) -> None:
        self.queues = queues
        self.invoker = invoker
        self.tracing = tracing
        self.clock = clock
        self.region = region
        self.account_id = account_id
        self.poll_wait_s = poll_wait_s
        self.backoff_s = backoff_s
        self._function_slots = {name: threading.BoundedSemaphore(limit) for name, limit in (function_concurrency or {}).items()}
        self._pollers: list[QueuePoller] = []
        self._started = False
        self._lock = threading.Lock()

    def add(self, mapping: EventSourceMapping) -> QueuePoller:
        """Add a mapping (started at once if the others run).

        Raises:
            ValueError: the same queue already triggers the same function.
        """
        with self._lock:
            for poller in self._pollers:
                if (poller.mapping.queue_name, poller.mapping.function_name) == (
                    mapping.queue_name,
                    mapping.function_name,
                ):
                    raise ValueError(
                        f'An event source mapping with SQS arn " {poller.queue_arn} " and function'
                        f' " {mapping.function_name} " already exists.'
                    )
            poller = QueuePoller(
                mapping,
                self.queues,
                self.invoker,
                clock=self.clock,
                region=self.region,
                account_id=self.account_id,
                function_slots=self._function_slots.get(mapping.function_name),
                poll_wait_s=self.poll_wait_s,
                backoff_s=self.backoff_s,
                tracing=self.tracing,
            )
            self._pollers.append(poller)
            if self._started:
                poller.start()
            return poller

    @property
    def pollers(self) -> list[QueuePoller]:
        with self._lock:
            return list(self._pollers)

    def remove(self, poller: QueuePoller, *, wait: bool = True) -> None:
        """Stop a mapping's poller and forget it (a mapping made again is then no duplicate).

        Its batches in flight run to their end (their deletes included). Without ``wait`` it is only
        asked to stop: the caller ends it with ``poller.close(wait_batches=False)``.
        """
        with self._lock:
            if poller in self._pollers:
                self._pollers.remove(poller)
        if wait:
            poller.close()
        else:
            poller.request_stop()

    def poll_once(self) -> list[BatchOutcome]:
        """One batch per enabled mapping, run in this thread (for tests and one-shot runs)."""
        outcomes = []
        for poller in self.pollers:
            if poller.mapping.enabled and (outcome := poller.poll_once()) is not None:
                outcomes.append(outcome)
        return outcomes

    def start(self) -> None:
        with self._lock:
            self._started = True
            pollers = list(self._pollers)
        for poller in pollers:
            poller.start()

    def close(self) -> None:
        with self._lock:
            self._started = False
            pollers = list(self._pollers)
        for poller in pollers:
            poller.request_stop()  # stop them all first, then wait for each
        for poller in pollers:
            poller.close()

    def __enter__(self) -> EventSourceMappings:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
