"""Execution history to CloudWatch Logs, as a state machine's ``loggingConfiguration`` asks.

Step Functions writes each history event an execution records, that its log level keeps, as
one log event of the configured log group: a compact JSON object (ids, timestamps and the
redrive count as strings; ``details`` the event's details without the execution's data unless
``includeExecutionData``), in a stream named ``states/<state machine>/<UTC date and hour>/<shard>``.

Publishing never blocks or slows an execution (AWS: "Publishing logs doesn't block or slow down
executions"): the orchestrator hands committed events to :class:`ExecutionLogWriter`, which only
queues them; one thread formats and writes them, a batch per transaction. Like AWS's (documented
as best-effort), delivery is not durable: events still queued when the process dies are not
written; a stop writes what is queued first.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from ...errors import ConflictError, NotFoundError
from ...ports import ExecutionRecord

logger = logging.getLogger(__name__)

__all__ = [
    "ERROR_EVENTS",
    "FATAL_EVENTS",
    "VALIDATION_MESSAGE",
    "VALIDATION_STREAM",
    "ExecutionLogWriter",
    "configurations_in",
    "LogDestination",
    "destination_of",
    "keeps",
    "log_group_name",
    "log_message",
    "stream_name",
]

FATAL_EVENTS = frozenset({"ExecutionAborted", "ExecutionFailed", "ExecutionTimedOut"})
"""What level ``FATAL`` logs (the Step Functions guide's "Log levels" table)."""

ERROR_EVENTS = FATAL_EVENTS | frozenset(
    {
        "FailStateEntered",
        "LambdaFunctionFailed",
        "LambdaFunctionScheduleFailed",
        "LambdaFunctionStartFailed",
        "LambdaFunctionTimedOut",
        "MapIterationAborted",
        "MapIterationFailed",
        "MapStateAborted",
        "MapStateFailed",
        "ParallelStateAborted",
        "ParallelStateFailed",
        "TaskFailed",
        "TaskStartFailed",
        "TaskStateAborted",
        "TaskSubmitFailed",
        "TaskTimedOut",
        "WaitStateAborted",
        # Not in the guide's table, which predates Distributed Map: a map run's failure is an
        # error like a Map state's (not confirmed against AWS).
        "MapRunAborted",
        "MapRunFailed",
    }
)
"""What level ``ERROR`` logs (the guide's table; recorded: FailStateEntered is, WaitStateEntered is not)."""

VALIDATION_STREAM = "log_stream_created_by_aws_to_validate_log_delivery_subscriptions"
"""The stream AWS makes in the log group when a logging configuration is set, with one event."""
VALIDATION_MESSAGE = "Permissions are set correctly to allow AWS CloudWatch Logs to write into your logs while creating a subscription."

SHARD = "00000000"
"""The last part of the stream name; AWS's executions log to ``.../00000000`` (observed), more
shards presumably at volumes a local stack never sees."""

MAX_ESCAPED_BYTES = 248 * 1024
"""An input or output whose escaped text exceeds 248 KB is truncated (its ``*Details.truncated`` says so)."""

_DATA_FIELDS = frozenset(
    {"input", "inputDetails", "output", "outputDetails", "parameters", "assignedVariables", "assignedVariablesDetails"}
)
"""What ``includeExecutionData: false`` leaves out of ``details`` (recorded: input, output and their
details; a TaskScheduled keeps region, resource and resourceType but not its parameters). Assigned
variables are the execution's data too (not confirmed against AWS)."""

_TRUNCATED = {"input": "inputDetails", "output": "outputDetails"}
_BATCH = 500


@dataclass(frozen=True)
class LogDestination:
    """Where and what an execution logs."""

    group: str
    """The log group's name."""
    level: str
    """``ALL``, ``ERROR`` or ``FATAL``."""
    include_data: bool
    """``includeExecutionData``: inputs, outputs and parameters go into ``details``."""


def log_group_name(arn: str) -> str | None:
    """The group name of a log group ARN as Step Functions takes it (``arn:aws:logs:<region>:<account>:log-group:<name>:*``).

    None for anything else; ``:*`` is part of the form (AWS refuses the ARN without it).
    """
    parts = arn.split(":")
    if len(parts) != 8 or parts[0] != "arn" or parts[2] != "logs" or parts[5] != "log-group" or parts[7] != "*" or not parts[6]:
        return None
    return parts[6]


def destination_of(configuration: Mapping[str, Any] | None) -> LogDestination | None:
    """Where a stored ``loggingConfiguration`` logs; None when it logs nothing (``OFF``, or no usable destination)."""
    if not configuration:
        return None
    level = configuration.get("level") or "OFF"
    destinations = configuration.get("destinations") or []
    if level == "OFF" or len(destinations) != 1:
        return None
    arn = ((destinations[0] or {}).get("cloudWatchLogsLogGroup") or {}).get("logGroupArn")
    group = log_group_name(arn) if isinstance(arn, str) else None
    if group is None:
        return None
    return LogDestination(group, str(level), bool(configuration.get("includeExecutionData")))


def keeps(level: str, event_type: str) -> bool:
    """Whether ``level`` logs history events of ``event_type``."""
    if level == "ALL":
        return True
    if level == "ERROR":
        return event_type in ERROR_EVENTS
    if level == "FATAL":
        return event_type in FATAL_EVENTS
    return False


def stream_name(state_machine: str, timestamp_ms: int) -> str:
    """The stream an event of ``timestamp_ms`` goes to: one per state machine and UTC hour (observed on AWS)."""
    hour = datetime.fromtimestamp(timestamp_ms / 1000, UTC).strftime("%Y-%m-%d-%H")
    return f"states/{state_machine}/{hour}/{SHARD}"


def log_message(event: Mapping[str, Any], execution_arn: str, redrive_count: int, *, include_data: bool) -> tuple[int, str]:
    """One history event as Step Functions logs it: ``(timestamp ms, message)``.

    The message's members come in the order AWS writes them (observed); ``details`` is the
    event's ``*EventDetails`` member, its keys sorted as AWS gives them.
    """
    timestamp_ms = _epoch_ms(str(event["timestamp"]))
    details: dict[str, Any] = {}
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, Mapping):
            details = dict(value)
            break
    if include_data:
        for field_name, details_name in _TRUNCATED.items():
            text = details.get(field_name)
            if isinstance(text, str):
                cut = _fit(text)
                if cut is not text:
                    details[field_name] = cut
                    details[details_name] = {**(details.get(details_name) or {}), "truncated": True}
    else:
        details = {k: v for k, v in details.items() if k not in _DATA_FIELDS}
    message = {
        "details": {k: details[k] for k in sorted(details)},
        "redrive_count": str(redrive_count),
        "id": str(event["id"]),
        "type": event["type"],
        "previous_event_id": str(event.get("previousEventId", 0)),
        "event_timestamp": str(timestamp_ms),
        "execution_arn": execution_arn,
    }
    return timestamp_ms, json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def _epoch_ms(iso_text: str) -> int:
    when = datetime.fromisoformat(iso_text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(round(when.timestamp() * 1000))


def _escaped_bytes(text: str) -> int:
    return len(json.dumps(text, ensure_ascii=False).encode()) - 2


def _fit(text: str) -> str:
    """``text``, or its longest prefix whose escaped form fits :data:`MAX_ESCAPED_BYTES`."""
    size = _escaped_bytes(text)
    if size <= MAX_ESCAPED_BYTES:
        return text
    # A proportional first guess, then shrink: escapes (\", \n, \uXXXX) make bytes per char vary.
    end = max(0, len(text) * MAX_ESCAPED_BYTES // size)
    while end > 0 and _escaped_bytes(text[:end]) > MAX_ESCAPED_BYTES:
        end -= max(1, (_escaped_bytes(text[:end]) - MAX_ESCAPED_BYTES) // 6)
    return text[:end]


class LogStore(Protocol):
    """What the writer needs of the CloudWatch Logs store (:class:`~sluiceway.backends.local.logs.SqliteLogStore`)."""

    def put(self, group: str, stream: str, events: Sequence[tuple[int, str]], *, create: bool = False) -> None: ...

    def has_group(self, name: str) -> bool: ...

    def create_stream(self, group: str, name: str) -> None: ...


class _Configured(Protocol):
    @property
    def logging(self) -> Mapping[str, Any] | None: ...


class MachineStore(Protocol):
    """What :func:`configurations_in` reads (:class:`~sluiceway.backends.local.executions.SqliteExecutionStore`)."""

    def execution_revision(self, arn: str) -> _Configured | None: ...

    def get_state_machine(self, name: str) -> _Configured | None: ...


def configurations_in(store: MachineStore) -> Callable[[str, str], Mapping[str, Any] | None]:
    """``configuration_of`` for :class:`ExecutionLogWriter` over the execution store.

    An execution logs as the revision it started with is configured: an UpdateStateMachine
    applies to executions started after it, as its new definition does (not confirmed against
    AWS for the logging configuration). One without a recorded revision logs as its machine is
    configured now.
    """

    def configuration_of(arn: str, state_machine: str) -> Mapping[str, Any] | None:
        revision = store.execution_revision(arn)
        if revision is not None:
            return revision.logging
        machine = store.get_state_machine(state_machine)
        return machine.logging if machine is not None else None

    return configuration_of


@dataclass(frozen=True)
class _Committed:
    arn: str
    state_machine: str
    redrive_count: int
    ended: bool
    events: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class _Flush:
    done: threading.Event


class ExecutionLogWriter:
    """Writes executions' committed history events to the log group their state machine logs to.

    Call it (it is the orchestrator's history listener) with an execution and the events just
    committed; it returns at once.

    Args:
        logs: the CloudWatch Logs store.
        configuration_of: the ``loggingConfiguration`` an execution runs with, by execution ARN and
            state machine name (looked up once per execution, on the writer's thread).
    """

    def __init__(self, logs: LogStore, configuration_of: Callable[[str, str], Mapping[str, Any] | None]) -> None:
        self.logs = logs
        self.configuration_of = configuration_of
        self._queue: queue.Queue[_Committed | _Flush | None] = queue.Queue()
        self._destinations: dict[str, LogDestination | None] = {}
        self._streams: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def __call__(self, record: ExecutionRecord, history: Sequence[Mapping[str, Any]]) -> None:
        if not history or self._closed:
            return
        context = (record.state or {}).get("context") or {}
        redrives = int((context.get("Execution") or {}).get("RedriveCount") or 0)
        self._queue.put(_Committed(record.arn, record.state_machine, redrives, record.status != "RUNNING", tuple(history)))
        self._ensure_thread()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is written; True if that happened within ``timeout`` seconds."""
        done = threading.Event()
        with self._lock:
            if self._thread is None:
                return True
        self._queue.put(_Flush(done))
        return done.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued (within ``timeout`` seconds), then stop."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is None:
            return
        self._queue.put(None)
        thread.join(timeout)

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="sluiceway-execution-logs", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            batch: list[_Committed] = []
            flushes: list[_Flush] = []
            stop = False
            while True:
                if item is None:
                    stop = True
                elif isinstance(item, _Flush):
                    flushes.append(item)
                else:
                    batch.append(item)
                if stop or len(batch) >= _BATCH:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            try:
                self._write(batch)
            except Exception:  # logging must never take the writer down: the next batch is tried as usual
                logger.exception("execution logs not written")
            for flush in flushes:
                flush.done.set()
            if stop:
                return

    def _write(self, batch: Sequence[_Committed]) -> None:
        # Events by (group, stream), each stream's in commit order: one transaction per stream.
        out: dict[tuple[str, str], list[tuple[int, str]]] = {}
        for committed in batch:
            destination = self._destination(committed)
            if destination is not None:
                for event in committed.events:
                    if keeps(destination.level, str(event.get("type"))):
                        ts, message = log_message(event, committed.arn, committed.redrive_count, include_data=destination.include_data)
                        out.setdefault((destination.group, stream_name(committed.state_machine, ts)), []).append((ts, message))
            if committed.ended:
                self._destinations.pop(committed.arn, None)
        for (group, stream), events in out.items():
            self._put(group, stream, events)

    def _destination(self, committed: _Committed) -> LogDestination | None:
        if committed.arn not in self._destinations:
            try:
                configuration = self.configuration_of(committed.arn, committed.state_machine)
            except Exception:
                logger.exception("logging configuration not read", extra={"execution": committed.arn})
                configuration = None
            self._destinations[committed.arn] = destination_of(configuration)
        return self._destinations[committed.arn]

    def _put(self, group: str, stream: str, events: Sequence[tuple[int, str]]) -> None:
        if (group, stream) in self._streams:
            try:
                self.logs.put(group, stream, events)
                return
            except NotFoundError:
                self._streams.discard((group, stream))
        # AWS makes the stream; a log group deleted since the configuration was set is not made
        # again: the events are dropped, the execution runs on (recorded).
        if not self.logs.has_group(group):
            logger.debug("log group gone; execution logs dropped", extra={"log_group": group})
            return
        try:
            self.logs.create_stream(group, stream)
        except ConflictError:
            pass
        except NotFoundError:
            return
        try:
            self.logs.put(group, stream, events)
        except NotFoundError:
            return
        if len(self._streams) > 10_000:
            self._streams.clear()
        self._streams.add((group, stream))
