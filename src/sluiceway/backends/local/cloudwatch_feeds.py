"""AWS's own metrics, read from the durable stores into the CloudWatch store, each record once.

- :class:`LambdaLogFeed`: ``AWS/Lambda`` ``Invocations``, ``Errors`` and ``Duration`` by
  ``FunctionName``, from the lines Lambda writes to ``/aws/lambda/<name>`` (START, an unhandled
  error's ``[ERROR] Type: message``, REPORT with its ``Duration`` and ``Status``), and the
  metrics of the functions' Embedded Metric Format lines (CloudWatch extracts them from Lambda's
  log groups).
- :class:`LambdaThrottles`: ``AWS/Lambda`` ``Throttles`` by ``FunctionName``, put by the local
  Lambda at each refusal (it is not a feed: a throttled request leaves no record to read).
- :class:`ExecutionFeed`: ``AWS/States`` ``ExecutionsStarted``, ``ExecutionsSucceeded``,
  ``ExecutionsFailed``, ``ExecutionsTimedOut``, ``ExecutionsAborted`` and ``ExecutionTime`` by
  ``StateMachineArn``, from the execution store.
- :class:`QueueSampleFeed`: ``AWS/SQS`` ``ApproximateNumberOfMessagesVisible``,
  ``...NotVisible``, ``...Delayed`` and ``ApproximateAgeOfOldestMessage`` by ``QueueName``,
  sampled once a minute as SQS reports them.
- :class:`~._cw_event_feed.EventRoutingFeed` and :class:`~._cw_event_feed.EventInvocationFeed`:
  ``AWS/Events`` ``MatchedEvents``, ``TriggeredRules``, ``IngestionToInvocationStartLatency``,
  ``Invocations``, ``FailedInvocations`` and ``InvocationsSentToDlq``, from the event bus's
  tables (see that module for the dimensions).

Exactly once across restarts: each feed commits its data points with its cursor (the log
event id, the executions' row id, the sampled minute) in one transaction of the state database,
and only if the cursor is still where the feed read from (compared inside that transaction), so
two feeders over one data dir never count a record twice. A feed that has no cursor yet starts
at its source's end when it is made: on an existing data dir it does not replay the history of
before it existed in one turn; a feed that has one keeps it.

A line a feed cannot read is skipped (with a warning), never retried: one bad line must not stop
a feed for good.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Protocol

from ...errors import NotFoundError
from ...ports import Clock
from ._cw_cursor import pull_batches
from ._cw_event_feed import EventInvocationFeed, EventRoutingFeed
from ._cw_values import Datum, MetricKey, canonical_dimensions
from ._sqlite import ThreadConnections
from .cloudwatch import SqliteCloudWatch
from .executions import SqliteExecutionStore
from .queues import SqliteQueueService

logger = logging.getLogger(__name__)

__all__ = [
    "EmfParser",
    "EmfPoint",
    "EventInvocationFeed",
    "EventRoutingFeed",
    "ExecutionFeed",
    "LambdaLogFeed",
    "LambdaThrottles",
    "QueueSampleFeed",
    "metric_feeds",
]

_LAMBDA_GROUP = "/aws/lambda/"
_DURATION = re.compile(r"\tDuration: ([0-9.]+) ms\t")
_PLATFORM_ERROR = re.compile(r"\tStatus: (?:timeout|error)\t")
# An unhandled error, as Lambda's Python runtime logs it: "[ERROR] Type: message" (a logging
# record at ERROR level is "[ERROR]\t<time>..." with a tab: not an invocation error).
_UNHANDLED = re.compile(r"^\[ERROR\] [^\t\n]*")


class EmfPoint(Protocol):
    """One metric's values from an EMF log line (``observability.emf.DataPoint`` is one)."""

    @property
    def namespace(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def unit(self) -> str: ...
    @property
    def dimensions(self) -> tuple[tuple[str, str], ...]: ...
    @property
    def values(self) -> tuple[float, ...]: ...
    @property
    def timestamp_ms(self) -> int: ...
    @property
    def storage_resolution(self) -> int: ...


EmfParser = Callable[[str, int], Iterable[EmfPoint]]
"""``(log line, now ms) -> data points`` (none for an ordinary line or an invalid EMF one)."""


class LambdaLogFeed:
    """Lambda's metrics and the functions' EMF metrics, from the log store's file (read-only here).

    Args:
        logs_path: the log store's database (``logs.db``).
        parse_emf: reads EMF lines; None feeds no EMF metric.
        batch: log events read per transaction.
    """

    name = "lambda-logs"

    def __init__(self, store: SqliteCloudWatch, logs_path: Path, *, parse_emf: EmfParser | None = None, batch: int = 5000) -> None:
        self.store = store
        self.parse_emf = parse_emf
        self.batch = batch
        self._logs = ThreadConnections(logs_path)
        self._warned = False
        try:
            end = self._logs.get().execute("SELECT coalesce(max(id), 0) FROM log_events").fetchone()[0]
        except sqlite3.OperationalError:  # no log store yet: nothing before the feed
            end = 0
        store.start_cursor(self.name, int(end))

    def pull(self) -> int:
        return pull_batches(self.store, self.name, self.batch, self._rows, self._data)

    def _rows(self, after: int) -> list[sqlite3.Row]:
        rows: list[sqlite3.Row] = (
            self._logs.get()
            .execute("SELECT id, log_group, stream, ts_ms, message FROM log_events WHERE id > ? ORDER BY id LIMIT ?", (after, self.batch))
            .fetchall()
        )
        if len(rows) == self.batch:
            # Stop after the last complete invocation (its lines are one commit, so they are
            # contiguous): the rest is read with its REPORT next time.
            last_report = max((i for i, r in enumerate(rows) if r["message"].startswith("REPORT RequestId: ")), default=None)
            if last_report is not None:
                rows = rows[: last_report + 1]
        return rows

    def close(self) -> None:
        self._logs.close()

    def _data(self, rows: list[sqlite3.Row]) -> list[Datum]:
        data: list[Datum] = []
        failed: dict[tuple[str, str], bool] = {}
        now_ms = int(self.store.clock.now().timestamp() * 1000)
        for row in rows:
            try:
                self._line(row, failed, now_ms, data)
            except Exception:
                # Skipped, not retried: the cursor moves past it with the rest of the batch.
                logger.log(
                    logging.DEBUG if self._warned else logging.WARNING,
                    "a log line could not be read for metrics; skipped",
                    extra={"feed": self.name, "log_event": row["id"]},
                    exc_info=True,
                )
                self._warned = True
        return data

    def _line(self, row: sqlite3.Row, failed: dict[tuple[str, str], bool], now_ms: int, data: list[Datum]) -> None:
        """Add the data points of one log line to ``data`` (``failed``: the streams' invocations in error so far)."""
        group, stream, ts, message = row["log_group"], row["stream"], row["ts_ms"], row["message"]
        if not group.startswith(_LAMBDA_GROUP):
            return
        function = group[len(_LAMBDA_GROUP) :]
        where = (group, stream)
        if message.startswith("START RequestId: "):
            failed[where] = False
        elif message.startswith("REPORT RequestId: "):
            error = failed.pop(where, False) or _PLATFORM_ERROR.search(message) is not None
            key = MetricKey("AWS/Lambda", "", (("FunctionName", function),))
            data.append(Datum.of_value(_named(key, "Invocations"), ts, 1.0, unit="Count"))
            data.append(Datum.of_value(_named(key, "Errors"), ts, 1.0 if error else 0.0, unit="Count"))
            duration = _DURATION.search(message)
            if duration is not None:
                data.append(Datum.of_value(_named(key, "Duration"), ts, float(duration.group(1)), unit="Milliseconds"))
        elif _UNHANDLED.match(message):
            failed[where] = True
        elif self.parse_emf is not None and message.lstrip().startswith("{") and '"_aws"' in message:
            # All of the line's points or none of them.
            data.extend(
                [
                    Datum.of_values(
                        MetricKey(point.namespace, point.name, canonical_dimensions(point.dimensions)),
                        point.timestamp_ms,
                        point.values,
                        unit=point.unit,
                        resolution=point.storage_resolution,
                    )
                    for point in self.parse_emf(message, now_ms)
                ]
            )


def _named(key: MetricKey, name: str) -> MetricKey:
    return MetricKey(key.namespace, name, key.dimensions)


class LambdaThrottles:
    """``AWS/Lambda`` ``Throttles``: one data point of 1 (``Count``) per invocation request refused.

    The local Lambda calls :meth:`record` each time it refuses a request with
    ``TooManyRequestsException`` for the function's reserved concurrency, whoever made it: a
    synchronous Invoke (answered 429), each try of an asynchronous invocation that Lambda keeps and
    tries again, each batch of an event source mapping. That is what Lambda counts as a throttle;
    a throttled request counts in neither ``Invocations`` nor ``Errors``.

    Put at the refusal rather than fed from a record with a cursor, as the other metrics are: a
    refusal happens once, in the one process that refused it, so one insert there counts it exactly
    once by construction, durable in the state database from then on. Two stacks on one data dir
    each put only their own refusals, and no feed reads them again. A put that fails loses that one
    data point (the invoker logs it) and never fails the refusal nor repeats it.

    By ``FunctionName`` only, as ``Invocations`` here: no ``Resource`` (alias, version) dimension
    and no account-wide aggregate without dimensions.
    """

    def __init__(self, store: SqliteCloudWatch) -> None:
        self.store = store

    def record(self, function: str) -> None:
        """Count one throttled invocation request of ``function`` (a registered function's name), now."""
        now_ms = int(self.store.clock.now().timestamp() * 1000)
        key = MetricKey("AWS/Lambda", "Throttles", (("FunctionName", function),))
        self.store.put([Datum.of_value(key, now_ms, 1.0, unit="Count")])


_ENDED = {
    "SUCCEEDED": "ExecutionsSucceeded",
    "FAILED": "ExecutionsFailed",
    "TIMED_OUT": "ExecutionsTimedOut",
    "ABORTED": "ExecutionsAborted",
}


class ExecutionFeed:
    """Step Functions' execution metrics, from the execution store (the same database)."""

    name = "states-executions"

    def __init__(
        self, store: SqliteCloudWatch, executions: SqliteExecutionStore, *, region: str, account_id: str, batch: int = 1000
    ) -> None:
        self.store = store
        self.db = executions.db
        self.region = region
        self.account_id = account_id
        self.batch = batch
        end = self.db.connection().execute("SELECT coalesce(max(rowid), 0) FROM executions").fetchone()[0]
        store.start_cursor(self.name, int(end))

    def _machine_arn(self, state_machine: str) -> str:
        if state_machine.startswith("arn:"):
            return state_machine
        return f"arn:aws:states:{self.region}:{self.account_id}:stateMachine:{state_machine}"

    def pull(self) -> int:
        with self.db.transaction() as conn:
            after = self.store.cursor(self.name)
            started = conn.execute(
                "SELECT rowid, arn, state_machine, status, started_at, stopped_at FROM executions WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (after, self.batch),
            ).fetchall()
            data: list[Datum] = []
            for row in started:
                key = MetricKey("AWS/States", "ExecutionsStarted", (("StateMachineArn", self._machine_arn(row["state_machine"])),))
                data.append(Datum.of_value(key, _ms(row["started_at"]), 1.0, unit="Count"))
                if row["status"] == "RUNNING":
                    conn.execute("INSERT OR IGNORE INTO cw_open_executions (arn) VALUES (?)", (row["arn"],))
                else:
                    data.extend(self._ended(row))
            ended = conn.execute(
                "SELECT e.arn, e.state_machine, e.status, e.started_at, e.stopped_at FROM cw_open_executions o"
                " JOIN executions e ON e.arn = o.arn WHERE e.status != 'RUNNING'"
            ).fetchall()
            for row in ended:
                data.extend(self._ended(row))
                conn.execute("DELETE FROM cw_open_executions WHERE arn=?", (row["arn"],))
            conn.execute("DELETE FROM cw_open_executions WHERE arn NOT IN (SELECT arn FROM executions)")
            position = int(started[-1]["rowid"]) if started else after
            self.store.put(data, feed=(self.name, position))
        return len(data)

    def _ended(self, row: sqlite3.Row) -> list[Datum]:
        status, machine = row["status"], row["state_machine"]
        name = _ENDED.get(status)
        if name is None or row["stopped_at"] is None:
            return []
        stopped = _ms(row["stopped_at"])
        dims = (("StateMachineArn", self._machine_arn(machine)),)
        found = [Datum.of_value(MetricKey("AWS/States", name, dims), stopped, 1.0, unit="Count")]
        elapsed = max(0, stopped - _ms(row["started_at"]))
        found.append(Datum.of_value(MetricKey("AWS/States", "ExecutionTime", dims), stopped, float(elapsed), unit="Milliseconds"))
        return found


class QueueSampleFeed:
    """SQS's queue depth metrics, sampled once a minute (the minute is the cursor)."""

    name = "sqs-samples"

    def __init__(self, store: SqliteCloudWatch, queues: SqliteQueueService, clock: Clock) -> None:
        self.store = store
        self.queues = queues
        self.clock = clock

    def pull(self) -> int:
        now_ms = int(self.clock.now().timestamp() * 1000)
        minute = now_ms // 60_000
        after = self.store.cursor(self.name)
        if minute <= after:
            return 0
        stamp = minute * 60_000
        data: list[Datum] = []
        for queue in self.queues.list_queues():
            try:
                attributes = self.queues.queue_attributes(queue)
            except NotFoundError:  # deleted since it was listed
                continue
            dims = (("QueueName", queue),)
            for name, value, unit in (
                ("ApproximateNumberOfMessagesVisible", attributes.available, "Count"),
                ("ApproximateNumberOfMessagesNotVisible", attributes.in_flight, "Count"),
                ("ApproximateNumberOfMessagesDelayed", attributes.delayed, "Count"),
                ("ApproximateAgeOfOldestMessage", attributes.oldest_age_s or 0.0, "Seconds"),
            ):
                data.append(Datum.of_value(MetricKey("AWS/SQS", name, dims), stamp, float(value), unit=unit))
        # False: another feeder sampled this minute first.
        return len(data) if self.store.put(data, feed=(self.name, minute), expected=after) else 0


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def metric_feeds(
    store: SqliteCloudWatch,
    *,
    logs_path: Path,
    executions: SqliteExecutionStore,
    queues: SqliteQueueService,
    clock: Clock,
    region: str,
    account_id: str,
    parse_emf: EmfParser | None = None,
) -> list[LambdaLogFeed | ExecutionFeed | QueueSampleFeed | EventRoutingFeed | EventInvocationFeed]:
    """The feeds of AWS's own metrics over one data dir's stores (``local.logs.path``, ``local.executions``...).

    The event bus read is the store's own (``store.bus``, in the same database).
    """
    return [
        LambdaLogFeed(store, logs_path, parse_emf=parse_emf),
        ExecutionFeed(store, executions, region=region, account_id=account_id),
        QueueSampleFeed(store, queues, clock),
        EventRoutingFeed(store),
        EventInvocationFeed(store),
    ]
