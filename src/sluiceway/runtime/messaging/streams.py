"""Stream -> function triggers: Lambda's event source mappings for DynamoDB Streams and Kinesis, run locally.

Each :class:`StreamMapping` gets a :class:`StreamPoller` per shard of its stream, which
reads the shard from its checkpoint, and one thread that takes its shards in turn and hands
their invocations to a few workers (a stream of one shard, as a table's, invokes on that thread
itself); each shard invokes the function with Lambda's event
(DynamoDB: ``{"Records": [{"eventID", "eventName", "eventVersion": "1.1", "eventSource":
"aws:dynamodb", "awsRegion", "dynamodb": {...}, "eventSourceARN"}]}``; Kinesis: see
``kinesis_source.py``) one batch at a time, in order, and settles each batch as Lambda does:

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
  record for streams, which names the records (``DDBStreamBatchInfo`` or ``KinesisBatchInfo``), not their data;
  an S3 bucket gets the record with the whole event (``payload``) as an object
  ``aws/lambda/<mapping UUID>/<shard id>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>``.

Records that match none of the mapping's filters (``FilterCriteria``, compiled by
:mod:`sluiceway.events.lambda_filters`) are stepped over without invoking the function,
as Lambda does; a batch none of whose records match costs no invocation.
The checkpoint (one per shard: the mapping's UUID for a DynamoDB stream's single shard,
``<UUID>/<shard id>`` for a Kinesis stream's) is written to the data dir after each settled
batch, so a restarted stack resumes after the last batch it finished; a process killed
mid-batch runs that batch again: delivery is at least once, as on Lambda.

Locally a table's stream has one shard; a Kinesis stream has the shards it was made with
(those it lists when the mapping starts: shards made later by resharding are not read).
``ParallelizationFactor`` runs as 1 (Lambda's default), so records of a shard are handled
strictly in order: a shard has one invocation at a time, while the mapping's shards are invoked
at once, as Lambda does, up to :data:`MAX_CONCURRENT_SHARDS` of them.
A mapping's thread is woken by the commit of a write to its stream in this process (a
table's write wakes every table's); it also looks every ``poll_s`` for writes of other processes.

A mapping is stopped without waiting for the batch in flight: a disabled or updated mapping
keeps its checkpoint, and its old poller settles that batch (moving the checkpoint past it)
before the mapping's next poller reads from there; a deleted mapping's poller is *retired*:
it never writes the checkpoint again, so a batch that ends after the delete cannot bring the
checkpoint back.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from ...events.lambda_filters import FilterCriteria, compile_filter_criteria
from ...ports import Clock, FunctionInvoker, Invocation, InvocationResult, ObjectStore, Queue, Topic
from ...types import EventDict
from ..lambdas.destinations import destination_kind
from .stream_shards import DynamoDBShards, ShardRecord, ShardSource, StreamSource, sequence_number
from .stream_workers import StreamWorkers
from .triggers import batch_item_failures

logger = logging.getLogger(__name__)

__all__ = [
    "Checkpoints",
    "ShardSource",
    "StreamBatchOutcome",
    "StreamMapping",
    "StreamMappings",
    "StreamPoller",
    "StreamSource",
    "checkpoint_key",
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
KINESIS_STARTING_POSITIONS: Final = ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")
_BUCKET_ARN: Final = re.compile(r"arn:aws[a-z-]*:s3:::(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])")
INVOKE_TIMEOUT_S: Final = 900.0
"""Lambda's longest function timeout: no batch's invocation runs longer."""
MAX_CONCURRENT_SHARDS: Final = 10
"""The most shards of one mapping invoked at once. Lambda invokes every shard at once; locally a
mapping's workers are bounded so a wide stream costs a handful of threads: a slow shard holds
one of them, and the others' shards take turns on the rest."""


class Checkpoints(Protocol):
    """Each mapping's position in each shard of its stream, kept across restarts.

    The key is the mapping's UUID for a DynamoDB stream, ``<UUID>/<shard id>`` for a Kinesis stream's shard.
    """

    def get(self, mapping_uuid: str) -> int | None: ...

    def put(self, mapping_uuid: str, stream_arn: str, function: str, position: int) -> None: ...

    def delete(self, mapping_uuid: str) -> None: ...


@dataclass(frozen=True)
class StreamMapping:
    """A stream that triggers a function (Lambda's CreateEventSourceMapping for DynamoDB Streams and Kinesis).

    Raises:
        ValueError: a setting out of Lambda's range (with Lambda's reason).
    """

    table: str
    """The stream's ARN (``EventSourceArn``: what ``!GetAtt Table.StreamArn`` or ``!GetAtt Stream.Arn`` gives),
    or the table's name or ARN."""
    function: str
    """The function's name or ARN."""
    starting_position: str = "LATEST"
    """Where a new mapping starts: ``TRIM_HORIZON`` (the oldest record kept), ``LATEST`` (records from now on)
    or, for Kinesis, ``AT_TIMESTAMP`` (records that arrived from ``starting_position_timestamp`` on)."""
    starting_position_timestamp: datetime | None = None
    """Where ``AT_TIMESTAMP`` starts (``StartingPositionTimestamp``)."""
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
    tumbling_window_s: int = 0
    """``TumblingWindowInSeconds``: only 0 (no window) runs locally."""
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
        positions = KINESIS_STARTING_POSITIONS if self.kind == "kinesis" else STARTING_POSITIONS
        if self.starting_position not in positions:
            streams = "Kinesis streams" if self.kind == "kinesis" else "DynamoDB streams"
            raise ValueError(f"StartingPosition must be one of {', '.join(positions)} for {streams}, got {self.starting_position!r}")
        if self.starting_position == "AT_TIMESTAMP" and self.starting_position_timestamp is None:
            raise ValueError("StartingPositionTimestamp must be provided when StartingPosition is AT_TIMESTAMP")
        if self.tumbling_window_s:
            # Tumbling windows carry the function's state from batch to batch of a window (the
            # event's window, state, isFinalInvokeForWindow...): not emulated, so refused rather
            # than run without the state the function relies on.
            raise ValueError(
                f"TumblingWindowInSeconds {self.tumbling_window_s} is not emulated locally: Sluiceway runs stream mappings"
                " without tumbling windows (TumblingWindowInSeconds 0)"
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
                f"DestinationConfig.OnFailure of a stream must be an SQS queue, SNS topic or S3 bucket ARN, got {self.on_failure!r}"
            )
        # FilterCriteriaError (a ValueError) with Lambda's code and message for filters it refuses.
        filters = compile_filter_criteria(
            self.filter_criteria, source="kinesis" if self.kind == "kinesis" else "dynamodb", max_filters=self.max_filters
        )
        object.__setattr__(self, "filters", filters)

    @property
    def kind(self) -> str:
        """``kinesis`` for a Kinesis stream's ARN, else ``dynamodb`` (a table's stream, named by ARN or by table)."""
        parts = self.table.split(":")
        return "kinesis" if len(parts) > 5 and parts[0] == "arn" and parts[2] == "kinesis" else "dynamodb"

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
    if "kinesis" in records[0]:
        first, last = records[0]["kinesis"], records[-1]["kinesis"]
        # Kinesis's batch info gives arrivals to the millisecond, DynamoDB's to the second (as recorded against Lambda).
        record["KinesisBatchInfo"] = {
            "shardId": shard_id,
            "startSequenceNumber": first["sequenceNumber"],
            "endSequenceNumber": last["sequenceNumber"],
            "approximateArrivalOfFirstRecord": _milliseconds(first["approximateArrivalTimestamp"]),
            "approximateArrivalOfLastRecord": _milliseconds(last["approximateArrivalTimestamp"]),
            "batchSize": len(records),
            "streamArn": stream_arn,
        }
        return record
    first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
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


def _milliseconds(epoch: float) -> str:
    millis = round(epoch * 1000)  # epoch is a float of milliseconds: rounded, not floored, to the one it stands for
    return datetime.fromtimestamp(millis // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}Z"


@dataclass
class _Work:
    """A batch being tried: its records, the retries it used and the invocations it had."""

    records: list[ShardRecord]
    retries: int = 0
    invokes: int = 0
    last_result: InvocationResult | None = field(default=None, repr=False)


class StreamPoller:
    """Reads one shard of a stream for one mapping and invokes its function, batch after batch, in order.

    It has no thread of its own: the mapping's thread (:class:`_MappingRun`) takes each of its
    shards a step at a time, gathering the shard's batch (:meth:`due`) and handing its
    invocation (:meth:`turn`) to the mapping's workers, so that a mapping costs a bounded number
    of threads however many shards its stream has, and each shard still has one batch at a time,
    in order.

    Args:
        mapping: the mapping.
        uuid: the mapping's id.
        stream_arn: the stream it reads.
        source: the streams' shards.
        checkpoints: where the mapping's position is kept.
        invoker: the function port.
        send_failure: sends an invocation record to the on-failure destination (with the mapping's UUID: an S3 object's key names it).
        clock: the time (record ages, the record's timestamp).
        region: for the function's ARN.
        account_id: for the function's ARN.
        poll_s: how often to look for writes of other processes (the mapping's thread looks).
        backoff_s: (first, largest) wait before retrying a failed batch; it doubles while it fails.
        on_outcome: told of each outcome (after it is noted), from the poller's thread.
        predecessor: the mapping's previous poller, stopping: this one reads nothing until it ended.
        drain_s: how long to wait for ``predecessor``; past it, the predecessor is retired.
        shard_id: the shard it reads.
        key: the key of its checkpoint (by default ``uuid``).
        identity: the function's role ARN (Kinesis records name it).
        stop: set to stop (shared by the mapping's pollers: they stop together).
    """

    def __init__(
        self,
        mapping: StreamMapping,
        uuid: str,
        stream_arn: str,
        source: ShardSource,
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
        shard_id: str,
        key: str | None = None,
        identity: str = "",
        stop: threading.Event | None = None,
    ) -> None:
        self.mapping = mapping
        self.uuid = uuid
        self.stream_arn = stream_arn
        self.source = source
        self.shard_id = shard_id
        self.key = key or uuid
        self.identity = identity
        self.checkpoints = checkpoints
        self.invoker = invoker
        self.send_failure = send_failure
        self.clock = clock
        self.function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{mapping.function_name}"
        self.poll_s = poll_s
        self.backoff_s = backoff_s
        self._stop = stop if stop is not None else threading.Event()
        self._runner: _MappingRun | None = None
        """The mapping's thread, which takes this shard (and the mapping's others) step by step."""
        self._work: list[_Work] = []
        """The batch in hand (split in parts by bisection), until it is settled."""
        self._not_before = 0.0
        """When (``time.monotonic``) the shard may be taken on: a failed batch's backoff, or a pause after an error."""
        self._window_closes: float | None = None
        """When (``clock.monotonic``) the batching window of the records seen closes."""
        self._cond = threading.Condition()
        self._outcomes: list[StreamBatchOutcome] = []
        self._settled = 0
        self.on_outcome = on_outcome
        self._predecessor = predecessor
        self.drain_s = drain_s
        # Held across "retired?" and the checkpoint write: once retire() returns, no write follows.
        self._gate = threading.Lock()
        self._retired = False

    # -- the mapping's thread -------------------------------------------------

    def request_stop(self) -> None:
        """Start no other batch; the invocation in progress ends and settles its batch (without waiting here)."""
        self._stop.set()
        self.source.wake(self.stream_arn)

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
        self.source.wake(self.stream_arn)

    @property
    def alive(self) -> bool:
        """The mapping's thread runs (an invocation may be in progress after a stop)."""
        runner = self._runner
        return runner is not None and runner.alive

    def join(self, timeout: float) -> bool:
        """Wait for the mapping's thread to end; False if it still runs after ``timeout`` seconds."""
        runner = self._runner
        if runner is not None:
            runner.join(timeout)
        return not self.alive

    def close(self, timeout: float = 60) -> None:
        """Stop after the invocation in progress (its batch's checkpoint is written if it settled it)."""
        self.request_stop()
        self.join(timeout)

    def _await_predecessor(self) -> None:
        """One poller per mapping and shard at a time: the previous one settles its batch before this one reads."""
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
                logger.warning("stream poller outlived its mapping's change", extra={"uuid": self.uuid, "shard": self.shard_id})
                break
        self._predecessor = None

    # -- one step ---------------------------------------------------------------

    def position(self) -> int:
        """Where the mapping stands in the shard: every record up to this position is handled."""
        found = self.checkpoints.get(self.key)
        return found if found is not None else self.source.trim_horizon(self.stream_arn, self.shard_id)

    def step(self) -> float | None:
        """Take the shard one step on: gather a batch, or run one invocation of the batch (:meth:`due`, then :meth:`turn`).

        Returns None when it did something (another step may follow at once), else how many
        seconds may pass before it has something to do (``inf``: not before records are put).
        """
        wait_s = self.due()
        if wait_s is not None:
            return wait_s
        self.turn()
        return None

    def due(self) -> float | None:
        """Without waiting: None when a turn of a batch is due (gathering the batch if none is in
        hand), else how many seconds may pass before one is (``inf``: not before records are put).

        A failing batch waits out its backoff here, not in the mapping's thread, so that the
        mapping's other shards go on meanwhile.
        """
        remaining = self._not_before - time.monotonic()
        if remaining > 0:
            return remaining
        if not self._work:
            batch, wait_s = self._gather()
            if not batch:
                return wait_s
            self._work = [_Work(batch)]
        return None

    def turn(self) -> None:
        """One turn of the batch in hand (after :meth:`due` said one is due): one invocation, or a
        filtered or expired part settled. Never run twice at once for a shard."""
        self._run_once()

    def _read(self, position: int) -> list[ShardRecord]:
        return self.source.read(self.stream_arn, self.shard_id, position, self.mapping.batch_size, identity=self.identity)

    def _gather(self) -> tuple[list[ShardRecord], float]:
        """The next batch, if it is due; else how long until it may be (``inf``: no record yet)."""
        mapping = self.mapping
        batch = self._read(self.position())
        if not batch:
            self._window_closes = None
            return [], math.inf
        if mapping.max_batching_window_s <= 0 or len(batch) >= mapping.batch_size:
            self._window_closes = None
            return batch, 0.0
        # Gather until the batch is full, the window closes, or Lambda's payload limit stops it
        # (the source returns fewer records than asked when the next would pass it). The window
        # opens with the first record seen.
        if self._window_closes is None:
            self._window_closes = self.clock.monotonic() + mapping.max_batching_window_s
        remaining = self._window_closes - self.clock.monotonic()
        if remaining > 0:
            return [], remaining
        self._window_closes = None
        return batch, 0.0

    def _run_once(self) -> None:
        """One turn of the batch in hand: one invocation (or a filtered or expired part settled)."""
        work = self._work
        current = work[0]
        current.records = self._drop_expired(current)
        if not current.records:
            work.pop(0)
            return
        first, last = current.records[0].sequence_number, current.records[-1].sequence_number
        request_id = str(uuid.uuid4())
        filters = self.mapping.filters
        invoked = [r for r in current.records if filters.matches(r.event)] if filters.patterns else current.records
        if not invoked:
            # Nothing here matches a filter: Lambda steps over such records as handled.
            self._advance(current.records[-1].position)
            self._note(StreamBatchOutcome(request_id, first, last, len(current.records), "filtered"))
            work.pop(0)
            return
        event = {"Records": [r.event for r in invoked]}
        result = self.invoker.invoke(Invocation(self.mapping.function, event, request_id, timeout_s=INVOKE_TIMEOUT_S))
        current.invokes += 1
        current.last_result = result
        failed_from = self._failed_from(result, invoked)
        if failed_from is not None:
            # From the invoked records' order to the batch's (filtered-out records stay in the batch).
            failed_from = current.records.index(invoked[failed_from])
        if result.ok and failed_from is None:
            self._advance(current.records[-1].position)
            self._note(StreamBatchOutcome(request_id, first, last, len(current.records), "ok"))
            work.pop(0)
            return
        if result.ok and failed_from is not None and failed_from > 0:
            # The records before the lowest reported failure succeeded: the checkpoint moves
            # to them and the batch is tried again from the failure (with bisection, too:
            # Lambda splits a partly failed batch at the reported record).
            self._advance(current.records[failed_from - 1].position)
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
            return
        else:
            self._note(StreamBatchOutcome(request_id, first, last, len(current.records), "failed", _error(result)))
        current.retries += 1
        limit = self.mapping.max_retry_attempts
        if limit != -1 and current.retries > limit:
            self._skip(current, "RetryAttemptsExhausted", request_id)
            work.pop(0)
            return
        first_wait, largest = self.backoff_s
        self._not_before = time.monotonic() + min(largest, first_wait * 2 ** min(current.retries - 1, 30))

    def pause(self) -> None:
        """After an unexpected error: drop the batch in hand (read again from the checkpoint) and rest a while."""
        self._work = []
        self._window_closes = None
        self._not_before = time.monotonic() + self.backoff_s[1]

    def _failed_from(self, result: InvocationResult, records: list[ShardRecord]) -> int | None:
        """The index of the lowest record the function reported failed; None when none was, 0 for a malformed response."""
        if not result.ok or not self.mapping.report_batch_item_failures:
            return None
        numbers = [r.sequence_number for r in records]
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

    def _drop_expired(self, work: _Work) -> list[ShardRecord]:
        """The batch without its records older than the mapping's maximum age (those are skipped, and reported)."""
        age = self.mapping.max_record_age_s
        if age == -1:
            return work.records
        now = self.clock.now().timestamp()
        expired = [r for r in work.records if now - r.arrival > age]
        if not expired:
            return work.records
        # Records are in order of time: the expired ones are a prefix.
        self._skip(_Work(expired, work.retries, work.invokes, work.last_result), "RecordAgeExceeded", str(uuid.uuid4()))
        return work.records[len(expired) :]

    def _skip(self, work: _Work, condition: str, request_id: str) -> None:
        records = [r.event for r in work.records]
        logger.warning(
            "stream batch skipped",
            extra={
                "function": self.mapping.function,
                "stream": self.stream_arn,
                "shard": self.shard_id,
                "condition": condition,
                "records": len(records),
            },
        )
        if self.mapping.on_failure is not None:
            build = self.mapping.failure_record or failure_record
            document = build(
                records=records,
                condition=condition,
                function_arn=self.function_arn,
                request_id=request_id,
                invoke_count=work.invokes,
                shard_id=self.shard_id,
                stream_arn=self.stream_arn,
                result=work.last_result,
                now=self.clock.now(),
            )
            if failure_destination_kind(self.mapping.on_failure) == "bucket":
                document["payload"] = json.dumps({"Records": records})  # S3 alone gets the batch itself
            self.send_failure(self.mapping.on_failure, document, self.uuid)
        self._advance(work.records[-1].position)
        self._note(
            StreamBatchOutcome(
                request_id,
                sequence_number(records[0]),
                sequence_number(records[-1]),
                len(records),
                "skipped",
                condition,
            )
        )

    def _advance(self, position: int) -> None:
        with self._gate:
            if self._retired:
                return
            self.checkpoints.put(self.key, self.stream_arn, self.mapping.function_name, position)

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


class _MappingRun:
    """A mapping's scheduling thread: it goes round the shards' pollers in order, a step of each at a time.

    Each shard keeps one batch at a time, in order; a shard whose batch waits (its backoff, its
    batching window) does not hold the others up, nor does one whose invocation is slow: the
    invocations run on the mapping's workers (up to :data:`MAX_CONCURRENT_SHARDS` at once), one
    at a time per shard, while this thread goes on to the other shards. A stream of one shard
    (a table's) invokes on this thread itself: it has nothing to run beside it.
    When no shard has anything to do, the thread sleeps until a put to the stream wakes it (an
    invocation that ends wakes it the same way), the soonest wait ends, or ``poll_s`` passes (for
    puts by other processes). Stopped, it starts no other invocation, and ends once those in
    progress have settled their batches (so a successor reads after them).
    """

    def __init__(self, pollers: list[StreamPoller], stop: threading.Event, *, poll_s: float) -> None:
        self.pollers = pollers
        self.stop = stop
        self.poll_s = poll_s
        self.source = pollers[0].source
        self.stream_arn = pollers[0].stream_arn
        self._thread: threading.Thread | None = None
        self._busy = threading.Condition()
        self._in_flight: set[str] = set()
        """The shards whose invocation the workers have (queued or running), by shard id."""
        for poller in pollers:
            poller._runner = self

    def start(self) -> None:
        if self._thread is not None or not self.pollers[0].mapping.enabled:
            return
        self.stop.clear()
        name = f"sluiceway-stream-{self.pollers[0].mapping.function_name}"
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def join(self, timeout: float) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(max(0.0, timeout))

    def _loop(self) -> None:
        for poller in self.pollers:
            poller._await_predecessor()
        size = min(len(self.pollers), MAX_CONCURRENT_SHARDS)
        workers = None if size < 2 else StreamWorkers(size, f"sluiceway-stream-{self.pollers[0].mapping.function_name}-invoke")
        try:
            self._schedule(workers)
        finally:
            if workers is not None:
                with self._busy:
                    self._busy.wait_for(lambda: not self._in_flight)
                workers.close()

    def _schedule(self, workers: StreamWorkers | None) -> None:
        while not self.stop.is_set():
            generation = self.source.generation(self.stream_arn)
            wait_s = self.poll_s
            for poller in self.pollers:
                if self.stop.is_set():
                    return
                with self._busy:
                    if poller.shard_id in self._in_flight:
                        continue  # its invocation wakes this thread when it ends
                try:
                    due = poller.due()
                    if due is None:
                        if workers is None:
                            poller.turn()
                            wait_s = 0.0
                        else:
                            with self._busy:
                                self._in_flight.add(poller.shard_id)
                            workers.submit(functools.partial(self._turn, poller))
                        continue
                except Exception:
                    self._failed(poller)
                    due = poller.backoff_s[1]
                wait_s = min(wait_s, due)
            if wait_s > 0 and not self.stop.is_set():
                self.source.wait(self.stream_arn, generation, wait_s)

    def _turn(self, poller: StreamPoller) -> None:
        """A worker's job: the shard's turn, unless the mapping stopped while it waited for a worker."""
        try:
            if not self.stop.is_set():
                poller.turn()
        except Exception:
            self._failed(poller)
        finally:
            with self._busy:
                self._in_flight.discard(poller.shard_id)
                self._busy.notify_all()
            # Wakes the scheduling thread (and the stream's other readers, which find nothing new).
            self.source.wake(self.stream_arn)

    def _failed(self, poller: StreamPoller) -> None:
        logger.exception(
            "stream poll failed",
            extra={"stream": self.stream_arn, "shard": poller.shard_id, "function": poller.mapping.function},
        )
        poller.pause()


def _error(result: InvocationResult) -> str | None:
    return None if result.ok else f"{result.error_type}: {result.error_message}"


class StreamMappings:
    """The stream event source mappings of a local stack (DynamoDB streams and Kinesis streams), started and stopped together.

    A mapping runs a poller per shard of its stream; its source (DynamoDB or Kinesis) is picked by
    the stream's ARN.

    Args:
        source: the tables' streams.
        checkpoints: where each mapping's position in each shard is kept.
        invoker: the function port.
        queues: for on-failure destinations that are SQS queues.
        topics: for on-failure destinations that are SNS topics.
        objects: for on-failure destinations that are S3 buckets (without it, their records are not delivered).
        clock: the time.
        kinesis: the Kinesis streams (without it, mappings of Kinesis streams are refused).
        role_of: the role ARN of a function by name (Kinesis records name it as ``invokeIdentityArn``);
            by default the role Sluiceway reports for its functions.
        region: for ARNs.
        account_id: for ARNs.
        poll_s: see :class:`StreamPoller`.
        backoff_s: see :class:`StreamPoller`.
        drain_s: see :class:`StreamPoller`.
        stop_s: how long :meth:`close` waits for the invocations in progress, in all.
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
        kinesis: ShardSource | None = None,
        role_of: Callable[[str], str | None] | None = None,
        region: str = "us-east-1",
        account_id: str = "111111111111",
        poll_s: float = 1.0,
        backoff_s: tuple[float, float] = (0.5, 10.0),
        drain_s: float = INVOKE_TIMEOUT_S + 30,
        stop_s: float = 60.0,
    ) -> None:
        self.source = source
        self.kinesis = kinesis
        self._dynamodb = DynamoDBShards(source)
        self.checkpoints = checkpoints
        self.invoker = invoker
        self.queues = queues
        self.topics = topics
        self.objects = objects
        self.clock = clock
        self.role_of = role_of
        self.region = region
        self.account_id = account_id
        self.poll_s = poll_s
        self.backoff_s = backoff_s
        self.drain_s = drain_s
        self.stop_s = stop_s
        self._pollers: dict[str, list[StreamPoller]] = {}
        """Each running mapping's pollers (one per shard, one thread between them), by mapping UUID."""
        self._stopping: dict[str, list[StreamPoller]] = {}
        """Removed mappings' pollers whose thread may still settle a batch, by mapping UUID."""
        self._started = False
        self._lock = threading.Lock()

    def shards_of(self, stream: str) -> ShardSource | None:
        """The source of the stream a mapping names (Kinesis for a Kinesis stream's ARN); None when it has none here."""
        parts = stream.split(":")
        if len(parts) > 5 and parts[0] == "arn" and parts[2] == "kinesis":
            return self.kinesis
        return self._dynamodb

    def stream_arn(self, stream: str) -> str | None:
        """The ARN of the stream a mapping's source names, if the stream exists."""
        shards = self.shards_of(stream)
        return shards.stream_arn(stream) if shards is not None else None

    def add(self, mapping: StreamMapping, *, on_outcome: Callable[[StreamBatchOutcome], None] | None = None) -> str:
        """Add a mapping (started at once if the others run); return its UUID.

        A new mapping starts each shard at its ``starting_position``; a mapping whose UUID has a
        checkpoint for a shard (the same stream and function as before a restart) resumes after it.
        A mapping removed a moment ago whose pollers still settle a batch resumes once they have.
        ``on_outcome`` is told of each batch's outcome.

        Raises:
            ValueError: the stream does not exist, or it already triggers the function.
        """
        shards = self.shards_of(mapping.table)
        stream_arn = shards.stream_arn(mapping.table) if shards is not None else None
        if shards is None or stream_arn is None:
            raise ValueError(f"Stream not found: {mapping.table}")
        mapping_uuid = mapping.uuid or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{stream_arn}|{mapping.function_name}"))
        identity = (self.role_of(mapping.function_name) if self.role_of is not None else None) or (
            f"arn:aws:iam::{self.account_id}:role/sluiceway"  # the role GetFunction reports for Sluiceway's functions
        )
        with self._lock:
            for pollers in self._pollers.values():
                poller = pollers[0]
                if (poller.stream_arn, poller.mapping.function_name) == (stream_arn, mapping.function_name):
                    raise ValueError(
                        f"The event source arn ({stream_arn}) and function ({mapping.function_name}) provided mapping already exists."
                        f" Please update or delete the existing mapping with UUID {poller.uuid}"
                    )
            predecessors = {p.shard_id: p for p in self._stopping.pop(mapping_uuid, [])}
            stop = threading.Event()
            pollers = []
            for shard_id in shards.shard_ids(stream_arn):
                key = checkpoint_key(mapping_uuid, shard_id, shards.kind)
                if self.checkpoints.get(key) is None:
                    # Fixed now, not at the first poll: LATEST means the records written from the
                    # mapping's creation on, and a restart before the first poll must not skip them.
                    start = _start(shards, mapping, stream_arn, shard_id)
                    self.checkpoints.put(key, stream_arn, mapping.function_name, start)
                predecessor = predecessors.get(shard_id)
                poller = StreamPoller(
                    mapping,
                    mapping_uuid,
                    stream_arn,
                    shards,
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
                    shard_id=shard_id,
                    key=key,
                    identity=identity,
                    stop=stop,
                )
                pollers.append(poller)
            if not pollers:
                raise ValueError(f"Stream not found: {mapping.table}")
            run = _MappingRun(pollers, stop, poll_s=self.poll_s)
            self._pollers[mapping_uuid] = pollers
            if self._started:
                run.start()
        logger.info(
            "stream mapping added",
            extra={"uuid": mapping_uuid, "stream": stream_arn, "function": mapping.function, "shards": len(pollers)},
        )
        return mapping_uuid

    def remove(self, mapping_uuid: str, *, keep_checkpoint: bool = False) -> None:
        """Stop the mapping, if it runs in this process, without waiting for the batches in flight.

        With ``keep_checkpoint`` (a mapping disabled or changed) those batches settle and the
        checkpoints move past them; the mapping added again resumes after them. Otherwise (a
        mapping deleted) the pollers are retired and the checkpoints forgotten: a mapping made
        again starts afresh. A mapping of an earlier run that this run never started (it left the
        template) has only its checkpoints left: those go too.
        """
        with self._lock:
            pollers = self._pollers.pop(mapping_uuid, None)
            if pollers is not None:
                for poller in pollers:
                    poller.request_stop()
                self._stopping[mapping_uuid] = pollers
            if not keep_checkpoint:
                for stopping in self._stopping.pop(mapping_uuid, []):
                    stopping.retire()
                    self.checkpoints.delete(stopping.key)
                self.checkpoints.delete(mapping_uuid)
            self._stopping = {key: alive for key, old in self._stopping.items() if (alive := [p for p in old if p.alive])}
        self.source.wake()
        if self.kinesis is not None:
            self.kinesis.wake()

    def get(self, mapping_uuid: str) -> StreamPoller:
        """The mapping's poller (of its first shard: a DynamoDB stream's only one)."""
        with self._lock:
            return self._pollers[mapping_uuid][0]

    def shard_pollers(self, mapping_uuid: str) -> list[StreamPoller]:
        """The mapping's pollers, one per shard, in the order of the shards."""
        with self._lock:
            return list(self._pollers[mapping_uuid])

    @property
    def pollers(self) -> list[StreamPoller]:
        with self._lock:
            return [poller for pollers in self._pollers.values() for poller in pollers]

    def start(self) -> None:
        with self._lock:
            self._started = True
            runs = [_run_of(pollers) for pollers in self._pollers.values()]
        for run in runs:
            run.start()

    def close(self) -> None:
        """Stop every mapping after its invocation in progress, waiting for them all ``stop_s`` at most in all."""
        with self._lock:
            self._started = False
            groups = [*self._pollers.values(), *self._stopping.values()]
            self._stopping.clear()
        for group in groups:
            for poller in group:
                poller.request_stop()
        self.source.wake()
        if self.kinesis is not None:
            self.kinesis.wake()
        # One deadline for all: the mappings' threads stop at once, each after its own invocation.
        deadline = time.monotonic() + self.stop_s
        for group in groups:
            _run_of(group).join(deadline - time.monotonic())

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
                info = record.get("KinesisBatchInfo") or record["DDBStreamBatchInfo"]
                key = failure_object_key(mapping_uuid, info["shardId"], self.clock.now(), str(uuid.uuid4()))
                self.objects.put(bucket, key, body.encode(), content_type="application/json")
        except Exception as exc:
            logger.warning("stream failure record not delivered", extra={"destination": destination, "error": str(exc)})

    def __enter__(self) -> StreamMappings:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def checkpoint_key(mapping_uuid: str, shard_id: str, kind: str) -> str:
    """Where a mapping's position in a shard is kept: its UUID for a DynamoDB stream's one shard
    (as before streams had shards), ``<UUID>/<shard id>`` for each shard of a Kinesis stream."""
    return mapping_uuid if kind == "dynamodb" else f"{mapping_uuid}/{shard_id}"


def _run_of(pollers: list[StreamPoller]) -> _MappingRun:
    run = pollers[0]._runner
    assert run is not None  # StreamMappings.add gives every mapping's pollers their thread
    return run


def _start(shards: ShardSource, mapping: StreamMapping, stream_arn: str, shard_id: str) -> int:
    if mapping.starting_position == "LATEST":
        return shards.latest_position(stream_arn, shard_id)
    if mapping.starting_position == "AT_TIMESTAMP" and mapping.starting_position_timestamp is not None:
        return shards.position_at(stream_arn, shard_id, mapping.starting_position_timestamp)
    return shards.trim_horizon(stream_arn, shard_id)
