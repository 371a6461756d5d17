"""DynamoDB stream -> function triggers: Lambda's event source mappings for DynamoDB Streams, run locally.

Each :class:`StreamMapping` gets a :class:`StreamPoller`, a thread that reads its
table's stream from the mapping's checkpoint, invokes the function with Lambda's
DynamoDB event (``{"Records": [{"eventID", "eventName", "eventVersion": "1.1",
"eventSource": "aws:dynamodb", "awsRegion", "dynamodb": {...}, "eventSourceARN"}]}``)
one batch at a time, in order, and settles each batch as Lambda does:

* the function returned: the checkpoint moves past the batch;
* with ``report_batch_item_failures``, the function may name records of the batch in
  ``{"batchItemFailures": [{"itemIdentifier": SequenceNumber}]}``: the checkpoint moves
  to just before the lowest one named, and the batch is tried again from there (a
  response Lambda cannot read fails the whole batch);
* the function failed: the batch is tried again, split in two first with
  ``bisect_batch_on_function_error`` (splitting costs no retry), until it succeeds, its
  retries run out (``max_retry_attempts``; -1 = until its records expire) or its records
  grow older than ``max_record_age_s``; then the batch is skipped, and the
  ``on_failure`` destination (an SQS queue or SNS topic) gets Lambda's invocation
  record for streams, which names the records (``DDBStreamBatchInfo``), not their data;
  an S3 bucket gets the record with the whole event (``payload``) as an object
  ``aws/lambda/<mapping UUID>/<shard id>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>``.

Records that match none of the mapping's filters (``FilterCriteria``, compiled by
:mod:`sluiceway.events.lambda_filters`) are stepped over without invoking the function,
as Lambda does; a batch none of whose records match costs no invocation.
The checkpoint is written to the data dir after each settled batch, so a restarted
stack resumes after the last batch it finished; a process killed mid-batch runs that
batch again: delivery is at least once, as on Lambda.

Locally a stream has one shard and a mapping one poller: ``ParallelizationFactor`` is
1 (Lambda's default), so records of a shard are handled strictly in order.
A poller is woken by the commit of a write in this process; it also looks every
``poll_s`` for writes of other processes.

A mapping is stopped without waiting for the batch in flight: a disabled or updated mapping
keeps its checkpoint, and its old poller settles that batch (moving the checkpoint past it)
before the mapping's next poller reads from there; a deleted mapping's poller is *retired*:
it never writes the checkpoint again, so a batch that ends after the delete cannot bring the
checkpoint back.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from ...events.lambda_filters import FilterCriteria, compile_filter_criteria
from ...ports import Clock, FunctionInvoker, Invocation, InvocationResult, ObjectStore, Queue, Topic
from ...types import EventDict
from ..lambdas.destinations import destination_kind
from .triggers import batch_item_failures

logger = logging.getLogger(__name__)

__all__ = [
    "Checkpoints",
    "StreamBatchOutcome",
    "StreamMapping",
    "StreamMappings",
    "StreamPoller",
    "StreamSource",
    "failure_destination_kind",
    "failure_object_key",
    "failure_record",
]

DEFAULT_BATCH_SIZE: Final = 100
MAX_BATCH_SIZE: Final = 10_000
MAX_BATCHING_WINDOW_S: Final = 300
MAX_RETRY_ATTEMPTS: Final = 10_000
MIN_RECORD_AGE_S: Final = 60
MAX_RECORD_AGE_S: Final = 604_800
MAX_PARALLELIZATION: Final = 10
STARTING_POSITIONS: Final = ("TRIM_HORIZON", "LATEST")
_BUCKET_ARN: Final = re.compile(r"arn:aws[a-z-]*:s3:::(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])")
INVOKE_TIMEOUT_S: Final = 900.0
"""Lambda's longest function timeout: no batch's invocation runs longer."""


class StreamSource(Protocol):
    """The streams a mapping reads (``backends/local/dynamodb/stream_source.py`` locally)."""

    def stream_arn(self, source: str) -> str | None:
        """The stream ARN a mapping's source names (a stream ARN, a table name or ARN); None if there is none."""
        ...

    def shard_id(self, stream_arn: str) -> str | None: ...

    def exists(self, stream_arn: str) -> bool: ...

    def read(self, stream_arn: str, after: int, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` records after position ``after``, oldest first, in Lambda's event shape."""
        ...

    def latest_position(self, stream_arn: str) -> int: ...

    def trim_horizon(self, stream_arn: str) -> int: ...

    @property
    def generation(self) -> int: ...

    def wait(self, since: int, timeout: float) -> int:
        """Block until records are committed after ``since`` or ``timeout`` seconds pass."""
        ...

    def wake(self) -> None: ...


class Checkpoints(Protocol):
    """Each mapping's position in its stream, kept across restarts."""

    def get(self, mapping_uuid: str) -> int | None: ...

    def put(self, mapping_uuid: str, stream_arn: str, function: str, position: int) -> None: ...

    def delete(self, mapping_uuid: str) -> None: ...


@dataclass(frozen=True)
class StreamMapping:
    """A table's stream that triggers a function (Lambda's CreateEventSourceMapping for DynamoDB).

    Raises:
        ValueError: a setting out of Lambda's range (with Lambda's reason).
    """

    table: str
    """The stream's ARN (``EventSourceArn``: what ``!GetAtt Table.StreamArn`` gives), or the table's name or ARN."""
    function: str
    """The function's name or ARN."""
    starting_position: str = "LATEST"
    """Where a new mapping starts: ``TRIM_HORIZON`` (the oldest record kept) or ``LATEST`` (records from now on)."""
    batch_size: int = DEFAULT_BATCH_SIZE
    """Records per invocation: 1-10,000."""
    max_batching_window_s: float = 0
    """How long to gather records before invoking with fewer than ``batch_size`` (0-300 s)."""
    max_retry_attempts: int = -1
    """Retries of a failing batch before it is skipped (0-10,000; -1: until its records expire)."""
    max_record_age_s: int = -1
    """Records older than this are skipped instead of being (re)tried (60-604,800 s; -1: until they expire)."""
    bisect_batch_on_function_error: bool = False
    """Split a failed batch in two before retrying it."""
    report_batch_item_failures: bool = False
    """The function reports failed records by sequence number (``FunctionResponseTypes: [ReportBatchItemFailures]``)."""
    on_failure: str | None = None
    """Where the record of a skipped batch goes (``DestinationConfig.OnFailure.Destination``): an SQS queue, SNS topic or S3 bucket ARN."""
    filter_criteria: Mapping[str, Any] | None = field(default=None, hash=False)
    """``FilterCriteria`` (``{"Filters": [{"Pattern": "..."}]}``): records matching no filter are stepped
    over without invoking the function."""
    max_filters: int = 5
    """The account's quota of filters per mapping (Lambda's default 5, up to 10 on request)."""
    parallelization_factor: int = 1
    """Batches of one shard at once (1-10): accepted, and run as 1 locally."""
    enabled: bool = True
    uuid: str | None = None
    """The mapping's id; by default one derived from the stream and the function, so that the same
    mapping made again after a restart finds its checkpoint."""
    failure_record: Callable[..., EventDict] | None = field(default=None, hash=False, compare=False)
    """What the ``on_failure`` destination gets for a skipped batch, built from :func:`failure_record`'s
    keyword arguments; None: Lambda's invocation record (a pipe's poller sends Pipes' own)."""
    filters: FilterCriteria = field(init=False, repr=False, compare=False)
    """``filter_criteria``, compiled (no filters: every record passes)."""

    def __post_init__(self) -> None:
        if self.starting_position not in STARTING_POSITIONS:
            raise ValueError(
                f"StartingPosition must be one of {', '.join(STARTING_POSITIONS)} for DynamoDB streams, got {self.starting_position!r}"
            )
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"BatchSize must be between 1 and {MAX_BATCH_SIZE}, got {self.batch_size!r}")
        if not 0 <= self.max_batching_window_s <= MAX_BATCHING_WINDOW_S:
            raise ValueError(
                f"MaximumBatchingWindowInSeconds must be between 0 and {MAX_BATCHING_WINDOW_S}, got {self.max_batching_window_s!r}"
            )
        if not (self.max_retry_attempts == -1 or 0 <= self.max_retry_attempts <= MAX_RETRY_ATTEMPTS):
            raise ValueError(f"MaximumRetryAttempts must be -1 or between 0 and {MAX_RETRY_ATTEMPTS}, got {self.max_retry_attempts!r}")
        if not (self.max_record_age_s == -1 or MIN_RECORD_AGE_S <= self.max_record_age_s <= MAX_RECORD_AGE_S):
            raise ValueError(
                f"MaximumRecordAgeInSeconds must be -1 or between {MIN_RECORD_AGE_S} and {MAX_RECORD_AGE_S}, got {self.max_record_age_s!r}"
            )
        if not 1 <= self.parallelization_factor <= MAX_PARALLELIZATION:
            raise ValueError(f"ParallelizationFactor must be between 1 and {MAX_PARALLELIZATION}, got {self.parallelization_factor!r}")
        # Any factor runs as 1 locally: one poller per shard, strictly in order. Lambda keeps
        # order per item key only, so a function correct at a higher factor is correct at 1.
        if self.on_failure is not None and failure_destination_kind(self.on_failure) is None:
            raise ValueError(
                "DestinationConfig.OnFailure of a DynamoDB stream must be an SQS queue, SNS topic or S3 bucket ARN,"
                f" got {self.on_failure!r}"
            )
        # FilterCriteriaError (a ValueError) with Lambda's code and message for filters it refuses.
        object.__setattr__(self, "filters", compile_filter_criteria(self.filter_criteria, source="dynamodb", max_filters=self.max_filters))

    @property
    def function_name(self) -> str:
        """The function's name, without ARN parts or qualifier."""
        ref = self.function.split(":function:", 1)[1] if ":function:" in self.function else self.function
        return ref.split(":", 1)[0]


@dataclass(frozen=True)
class StreamBatchOutcome:
    """What became of one batch (or part of a batch) the function was given."""

    request_id: str
    first_sequence: str
    last_sequence: str
    records: int
    status: str
    """``ok``, ``partial`` (retried from a reported record), ``failed`` (retried), ``skipped`` (given up on)
    or ``filtered`` (no record matched a filter: nothing invoked)."""
    error: str | None = None


def failure_record(
    *,
    records: Sequence[Mapping[str, Any]],
    condition: str,
    function_arn: str,
    request_id: str,
    invoke_count: int,
    shard_id: str,
    stream_arn: str,
    result: InvocationResult | None,
    now: datetime,
) -> EventDict:
    """Lambda's invocation record for a skipped stream batch (what an on-failure destination gets).

    Args:
        condition: ``RetryAttemptsExhausted`` or ``RecordAgeExceeded``.
        result: the last invocation's result; None when the records expired before one.
    """
    first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
    record: EventDict = {
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
    }
    if result is not None:
        context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if not result.ok:
            context["functionError"] = "Unhandled"
        record["responseContext"] = context
    record["version"] = "1.0"
    record["timestamp"] = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    record["DDBStreamBatchInfo"] = {
        "shardId": shard_id,
        "startSequenceNumber": first["SequenceNumber"],
        "endSequenceNumber": last["SequenceNumber"],
        "approximateArrivalOfFirstRecord": _seconds(first["ApproximateCreationDateTime"]),
        "approximateArrivalOfLastRecord": _seconds(last["ApproximateCreationDateTime"]),
        "batchSize": len(records),
        "streamArn": stream_arn,
    }
    return record


def failure_destination_kind(arn: str) -> str | None:
    """``queue``, ``topic`` or ``bucket``: what a stream mapping's on-failure destination ARN names; None otherwise."""
    if _BUCKET_ARN.fullmatch(arn):
        return "bucket"
    kind = destination_kind(arn)
    return kind if kind in ("queue", "topic") else None


def failure_object_key(mapping_uuid: str, shard_id: str, now: datetime, unique: str) -> str:
    """Where Lambda puts a skipped batch's record in an S3 destination."""
    moment = now.astimezone(UTC)
    return f"aws/lambda/{mapping_uuid}/{shard_id}/{moment:%Y/%m/%d}/{moment:%Y-%m-%dT%H.%M.%S}-{unique}"


def _seconds(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sequence(record: Mapping[str, Any]) -> int:
    return int(record["dynamodb"]["SequenceNumber"])


@dataclass
class _Work:
    """A batch being tried: its records, the retries it used and the invocations it had."""

    records: list[dict[str, Any]]
    retries: int = 0
    invokes: int = 0
    last_result: InvocationResult | None = field(default=None, repr=False)


class StreamPoller:
    """Reads one stream for one mapping and invokes its function, batch after batch, in order.

    Args:
        mapping: the mapping.
        uuid: the mapping's id (its checkpoint's key).
        stream_arn: the stream it reads.
        source: the streams.
        checkpoints: where the mapping's position is kept.
        invoker: the function port.
        send_failure: sends an invocation record to the on-failure destination (with the mapping's UUID: an S3 object's key names it).
        clock: the time (record ages, the record's timestamp).
        region: for the function's ARN.
        account_id: for the function's ARN.
        poll_s: how often to look for writes of other processes.
        backoff_s: (first, largest) wait before retrying a failed batch; it doubles while it fails.
        on_outcome: told of each outcome (after it is noted), from the poller's thread.
        predecessor: the mapping's previous poller, stopping: this one reads nothing until it ended.
        drain_s: how long to wait for ``predecessor``; past it, the predecessor is retired.
    """

    def __init__(
        self,
        mapping: StreamMapping,
        uuid: str,
        stream_arn: str,
        source: StreamSource,
        checkpoints: Checkpoints,
        invoker: FunctionInvoker,
        send_failure: Callable[[str, EventDict, str], None],
        *,
        clock: Clock,
        region: str,
        account_id: str,
        poll_s: float = 1.0,
        backoff_s: tuple[float, float] = (0.5, 10.0),
        on_outcome: Callable[[StreamBatchOutcome], None] | None = None,
        predecessor: StreamPoller | None = None,
        drain_s: float = INVOKE_TIMEOUT_S + 30,
    ) -> None:
        self.mapping = mapping
        self.uuid = uuid
        self.stream_arn = stream_arn
        self.source = source
        self.checkpoints = checkpoints
        self.invoker = invoker
        self.send_failure = send_failure
        self.clock = clock
        self.function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{mapping.function_name}"
        self.poll_s = poll_s
        self.backoff_s = backoff_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition()
        self._outcomes: list[StreamBatchOutcome] = []
        self._settled = 0
        self.on_outcome = on_outcome
        self._predecessor = predecessor
        self.drain_s = drain_s
        # Held across "retired?" and the checkpoint write: once retire() returns, no write follows.
        self._gate = threading.Lock()
        self._retired = False

    # -- the thread -----------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None or not self.mapping.enabled:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=f"sluiceway-stream-{self.mapping.function_name}", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Start no other batch; the invocation in progress ends and settles its batch (without waiting here)."""
        self._stop.set()

    def retire(self) -> None:
        """Stop, and never write the checkpoint again (the mapping is deleted, or a successor gave up waiting).

        A write in progress ends before this returns; the invocation in progress runs to its end unsettled.
        """
        with self._gate:
            self._retired = True
        previous = self._predecessor
        if previous is not None:
            previous.retire()
        self._stop.set()
        self.source.wake()

    @property
    def alive(self) -> bool:
        """The thread runs (an invocation may be in progress after a stop)."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def join(self, timeout: float) -> bool:
        """Wait for the thread to end; False if it still runs after ``timeout`` seconds."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.alive

    def close(self, timeout: float = 60) -> None:
        """Stop after the invocation in progress (its batch's checkpoint is written if it settled it)."""
        self._stop.set()
        self.source.wake()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            if not self._thread.is_alive():
                self._thread = None

    def _loop(self) -> None:
        self._await_predecessor()
        while not self._stop.is_set():
            try:
                if not self.poll_once():
                    continue
            except Exception:
                logger.exception("stream poll failed", extra={"stream": self.stream_arn, "function": self.mapping.function})
                self._stop.wait(self.backoff_s[1])

    def _await_predecessor(self) -> None:
        """One poller per mapping at a time: the previous one settles its batch before this one reads."""
        previous = self._predecessor
        if previous is None:
            return
        deadline = self.clock.monotonic() + self.drain_s
        while not previous.join(0.1):
            if self._retired:
                return  # deleted meanwhile (the predecessor was retired with it)
            # Stopped meanwhile, it still waits: the mapping's next poller waits for this one, and so for both.
            if self.clock.monotonic() >= deadline:
                # Past any invocation's timeout: its batch stays unsettled and is read again here.
                previous.retire()
                logger.warning("stream poller outlived its mapping's change", extra={"uuid": self.uuid})
                break
        self._predecessor = None

    # -- one batch ------------------------------------------------------------

    def position(self) -> int:
        """Where the mapping stands: every record up to this sequence number is handled."""
        found = self.checkpoints.get(self.uuid)
        return found if found is not None else self.source.trim_horizon(self.stream_arn)

    def poll_once(self) -> bool:
        """Wait (up to ``poll_s``) for a batch, then run it to its end; False when none came."""
        generation = self.source.generation
        batch = self._gather(generation)
        if not batch:
            return False
        self._run(batch)
        return True

    def _gather(self, generation: int) -> list[dict[str, Any]]:
        mapping = self.mapping
        position = self.position()
        batch = self.source.read(self.stream_arn, position, mapping.batch_size)
        if not batch:
            if not self._stop.is_set():
                self.source.wait(generation, self.poll_s)
            return []
        if mapping.max_batching_window_s <= 0 or len(batch) >= mapping.batch_size:
            return batch
        # Gather until the batch is full, the window closes, or Lambda's payload limit stops it
        # (the source returns fewer records than asked when the next would pass it).
        deadline = self.clock.monotonic() + mapping.max_batching_window_s
        while len(batch) < mapping.batch_size and not self._stop.is_set():
            remaining = deadline - self.clock.monotonic()
            if remaining <= 0:
                break
            generation = self.source.wait(generation, min(remaining, self.poll_s))
            more = self.source.read(self.stream_arn, position, mapping.batch_size)
            if len(more) > len(batch):
                batch = more
        return batch

    def _run(self, records: list[dict[str, Any]]) -> None:
        work = [_Work(records)]
        while work and not self._stop.is_set():
            current = work[0]
            current.records = self._drop_expired(current)
            if not current.records:
                work.pop(0)
                continue
            first, last = current.records[0]["dynamodb"]["SequenceNumber"], current.records[-1]["dynamodb"]["SequenceNumber"]
            request_id = str(uuid.uuid4())
            filters = self.mapping.filters
            invoked = [r for r in current.records if filters.matches(r)] if filters.patterns else current.records
            if not invoked:
                # Nothing here matches a filter: Lambda steps over such records as handled.
                self._advance(_sequence(current.records[-1]))
                self._note(StreamBatchOutcome(request_id, first, last, len(current.records), "filtered"))
                work.pop(0)
                continue
            result = self.invoker.invoke(Invocation(self.mapping.function, {"Records": invoked}, request_id, timeout_s=INVOKE_TIMEOUT_S))
            current.invokes += 1
            current.last_result = result
            failed_from = self._failed_from(result, invoked)
            if failed_from is not None:
                # From the invoked records' order to the batch's (filtered-out records stay in the batch).
                failed_from = current.records.index(invoked[failed_from])
            if result.ok and failed_from is None:
                self._advance(_sequence(current.records[-1]))
                self._note(StreamBatchOutcome(request_id, first, last, len(current.records), "ok"))
                work.pop(0)
                continue
            if result.ok and failed_from is not None and failed_from > 0:
                # The records before the lowest reported failure succeeded: the checkpoint moves
                # to them and the batch is tried again from the failure (with bisection, too:
                # Lambda splits a partly failed batch at the reported record).
                self._advance(_sequence(current.records[failed_from - 1]))
                self._note(StreamBatchOutcome(request_id, first, last, len(current.records), "partial"))
                current.records = current.records[failed_from:]
            elif not result.ok and self.mapping.bisect_batch_on_function_error and len(current.records) > 1:
                half = len(current.records) // 2
                # Splitting costs no retry; each half is tried as a batch of its own.
                work[0:1] = [
                    _Work(current.records[:half], current.retries, current.invokes, result),
                    _Work(current.records[half:], current.retries, 0, None),
                ]
                self._note(StreamBatchOutcome(request_id, first, last, len(current.records), "failed", _error(result)))
                continue
            else:
                self._note(StreamBatchOutcome(request_id, first, last, len(current.records), "failed", _error(result)))
            current.retries += 1
            limit = self.mapping.max_retry_attempts
            if limit != -1 and current.retries > limit:
                self._skip(current, "RetryAttemptsExhausted", request_id)
                work.pop(0)
                continue
            first_wait, largest = self.backoff_s
            self._stop.wait(min(largest, first_wait * 2 ** min(current.retries - 1, 30)))

    def _failed_from(self, result: InvocationResult, records: list[dict[str, Any]]) -> int | None:
        """The index of the lowest record the function reported failed; None when none was, 0 for a malformed response."""
        if not result.ok or not self.mapping.report_batch_item_failures:
            return None
        numbers = [r["dynamodb"]["SequenceNumber"] for r in records]
        reported = batch_item_failures(result.payload, numbers)
        if reported is None:
            logger.warning(
                "stream-triggered function gave a malformed batch response; the whole batch failed",
                extra={"function": self.mapping.function, "stream": self.stream_arn},
            )
            return 0
        if not reported:
            return None
        return min(numbers.index(n) for n in reported)

    def _drop_expired(self, work: _Work) -> list[dict[str, Any]]:
        """The batch without its records older than the mapping's maximum age (those are skipped, and reported)."""
        age = self.mapping.max_record_age_s
        if age == -1:
            return work.records
        now = self.clock.now().timestamp()
        expired = [r for r in work.records if now - r["dynamodb"]["ApproximateCreationDateTime"] > age]
        if not expired:
            return work.records
        # Records are in order of time: the expired ones are a prefix.
        self._skip(_Work(expired, work.retries, work.invokes, work.last_result), "RecordAgeExceeded", str(uuid.uuid4()))
        return work.records[len(expired) :]

    def _skip(self, work: _Work, condition: str, request_id: str) -> None:
        records = work.records
        logger.warning(
            "stream batch skipped",
            extra={"function": self.mapping.function, "stream": self.stream_arn, "condition": condition, "records": len(records)},
        )
        if self.mapping.on_failure is not None:
            build = self.mapping.failure_record or failure_record
            document = build(
                records=records,
                condition=condition,
                function_arn=self.function_arn,
                request_id=request_id,
                invoke_count=work.invokes,
                shard_id=self.source.shard_id(self.stream_arn) or "",
                stream_arn=self.stream_arn,
                result=work.last_result,
                now=self.clock.now(),
            )
            if failure_destination_kind(self.mapping.on_failure) == "bucket":
                document["payload"] = json.dumps({"Records": records})  # S3 alone gets the batch itself
            self.send_failure(self.mapping.on_failure, document, self.uuid)
        self._advance(_sequence(records[-1]))
        self._note(
            StreamBatchOutcome(
                request_id,
                records[0]["dynamodb"]["SequenceNumber"],
                records[-1]["dynamodb"]["SequenceNumber"],
                len(records),
                "skipped",
                condition,
            )
        )

    def _advance(self, position: int) -> None:
        with self._gate:
            if self._retired:
                return
            self.checkpoints.put(self.uuid, self.stream_arn, self.mapping.function_name, position)

    def _note(self, outcome: StreamBatchOutcome) -> None:
        with self._cond:
            self._outcomes.append(outcome)
            del self._outcomes[:-100]
            self._settled += 1
            self._cond.notify_all()
        if self.on_outcome is not None and not self._retired:
            try:
                self.on_outcome(outcome)
            except Exception:
                logger.exception("stream outcome listener failed", extra={"uuid": self.uuid})

    # -- what happened --------------------------------------------------------

    @property
    def outcomes(self) -> list[StreamBatchOutcome]:
        """The most recent outcomes, oldest first."""
        with self._cond:
            return list(self._outcomes)

    def wait_for_outcomes(self, count: int, timeout: float) -> bool:
        """Block until ``count`` outcomes were noted since the poller was made; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._settled >= count, timeout)


def _error(result: InvocationResult) -> str | None:
    return None if result.ok else f"{result.error_type}: {result.error_message}"


class StreamMappings:
    """The DynamoDB stream event source mappings of a local stack, started and stopped together.

    Args:
        source: the tables' streams.
        checkpoints: where each mapping's position is kept.
        invoker: the function port.
        queues: for on-failure destinations that are SQS queues.
        topics: for on-failure destinations that are SNS topics.
        objects: for on-failure destinations that are S3 buckets (without it, their records are not delivered).
        clock: the time.
        region: for ARNs.
        account_id: for ARNs.
        poll_s: see :class:`StreamPoller`.
        backoff_s: see :class:`StreamPoller`.
        drain_s: see :class:`StreamPoller`.
    """

    def __init__(
        self,
        source: StreamSource,
        checkpoints: Checkpoints,
        invoker: FunctionInvoker,
        *,
        queues: Queue,
        topics: Topic,
        clock: Clock,
        objects: ObjectStore | None = None,
        region: str = "us-east-1",
        account_id: str = "111111111111",
        poll_s: float = 1.0,
        backoff_s: tuple[float, float] = (0.5, 10.0),
        drain_s: float = INVOKE_TIMEOUT_S + 30,
    ) -> None:
        self.source = source
        self.checkpoints = checkpoints
        self.invoker = invoker
        self.queues = queues
        self.topics = topics
        self.objects = objects
        self.clock = clock
        self.region = region
        self.account_id = account_id
        self.poll_s = poll_s
        self.backoff_s = backoff_s
        self.drain_s = drain_s
        self._pollers: dict[str, StreamPoller] = {}
        self._stopping: dict[str, StreamPoller] = {}
        """Removed pollers whose thread may still settle a batch, by mapping UUID."""
        self._started = False
        self._lock = threading.Lock()

    def add(self, mapping: StreamMapping, *, on_outcome: Callable[[StreamBatchOutcome], None] | None = None) -> str:
        """Add a mapping (started at once if the others run); return its UUID.

        A new mapping starts at its ``starting_position``; a mapping whose UUID has a
        checkpoint (the same stream and function as before a restart) resumes after it.
        A mapping removed a moment ago whose poller still settles a batch resumes once it has.
        ``on_outcome`` is told of each batch's outcome.

        Raises:
            ValueError: the stream does not exist, or it already triggers the function.
        """
        stream_arn = self.source.stream_arn(mapping.table)
        if stream_arn is None:
            raise ValueError(f"Stream not found: {mapping.table}")
        mapping_uuid = mapping.uuid or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{stream_arn}|{mapping.function_name}"))
        with self._lock:
            for poller in self._pollers.values():
                if (poller.stream_arn, poller.mapping.function_name) == (stream_arn, mapping.function_name):
                    raise ValueError(
                        f"The event source arn ({stream_arn}) and function ({mapping.function_name}) provided mapping already exists."
                        f" Please update or delete the existing mapping with UUID {poller.uuid}"
                    )
            if self.checkpoints.get(mapping_uuid) is None:
                # Fixed now, not at the first poll: LATEST means the records written from the
                # mapping's creation on, and a restart before the first poll must not skip them.
                start = (
                    self.source.latest_position(stream_arn)
                    if mapping.starting_position == "LATEST"
                    else self.source.trim_horizon(stream_arn)
                )
                self.checkpoints.put(mapping_uuid, stream_arn, mapping.function_name, start)
            predecessor = self._stopping.pop(mapping_uuid, None)
            poller = StreamPoller(
                mapping,
                mapping_uuid,
                stream_arn,
                self.source,
                self.checkpoints,
                self.invoker,
                self._send_failure,
                clock=self.clock,
                region=self.region,
                account_id=self.account_id,
                poll_s=self.poll_s,
                backoff_s=self.backoff_s,
                on_outcome=on_outcome,
                predecessor=predecessor if predecessor is not None and predecessor.alive else None,
                drain_s=self.drain_s,
            )
            self._pollers[mapping_uuid] = poller
            if self._started:
                poller.start()
        logger.info("stream mapping added", extra={"uuid": mapping_uuid, "stream": stream_arn, "function": mapping.function})
        return mapping_uuid

    def remove(self, mapping_uuid: str, *, keep_checkpoint: bool = False) -> None:
        """Stop the mapping, if it runs in this process, without waiting for the batch in flight.

        With ``keep_checkpoint`` (a mapping disabled or changed) that batch settles and the
        checkpoint moves past it; the mapping added again resumes after it. Otherwise (a mapping
        deleted) the poller is retired and the checkpoint forgotten: a mapping made again starts
        afresh. A mapping of an earlier run that this run never started (it left the template)
        has only its checkpoint left: that goes too.
        """
        with self._lock:
            poller = self._pollers.pop(mapping_uuid, None)
            if poller is not None:
                poller.request_stop()
                self._stopping[mapping_uuid] = poller
            if not keep_checkpoint:
                stopping = self._stopping.pop(mapping_uuid, None)
                if stopping is not None:
                    stopping.retire()
                self.checkpoints.delete(mapping_uuid)
            self._stopping = {key: old for key, old in self._stopping.items() if old.alive}
        self.source.wake()

    def get(self, mapping_uuid: str) -> StreamPoller:
        with self._lock:
            return self._pollers[mapping_uuid]

    @property
    def pollers(self) -> list[StreamPoller]:
        with self._lock:
            return list(self._pollers.values())

    def start(self) -> None:
        with self._lock:
            self._started = True
            pollers = list(self._pollers.values())
        for poller in pollers:
            poller.start()

    def close(self) -> None:
        with self._lock:
            self._started = False
            pollers = [*self._pollers.values(), *self._stopping.values()]
            self._stopping.clear()
        for poller in pollers:
            poller.request_stop()
        self.source.wake()
        for poller in pollers:
            poller.close()

    def _send_failure(self, destination: str, record: EventDict, mapping_uuid: str) -> None:
        """Send a skipped batch's record; best effort, as Lambda's (a failure is logged, the batch stays skipped)."""
        body = json.dumps(record)
        try:
            kind = failure_destination_kind(destination)
            if kind == "queue":
                self.queues.send(destination.rsplit(":", 1)[-1], body)
            elif kind == "topic":
                self.topics.publish(destination, body)
            elif self.objects is None:
                raise RuntimeError("this stack has no object store for S3 destinations")
            else:
                bucket = destination.rsplit(":", 1)[-1]
                shard = record["DDBStreamBatchInfo"]["shardId"]
                key = failure_object_key(mapping_uuid, shard, self.clock.now(), str(uuid.uuid4()))
                self.objects.put(bucket, key, body.encode(), content_type="application/json")
        except Exception as exc:
            logger.warning("stream failure record not delivered", extra={"destination": destination, "error": str(exc)})

    def __enter__(self) -> StreamMappings:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
