"""Execution history to CloudWatch Logs, as a state machine's ``loggingConfiguration`` asks.

Step Functions writes each history event an execution records, that its log level keeps, as
one log event of the configured log group: a compact JSON object (ids, timestamps and the
redrive count as strings; ``details`` the event's details without the execution's data unless
``includeExecutionData``), in a stream named ``states/<state machine>/<UTC date and hour>/<shard>``.

Publishing never blocks or slows an execution (AWS: "Publishing logs doesn't block or slow down
executions"): the orchestrator hands committed events, with the revision the execution runs, to
:class:`ExecutionLogWriter`, which decides from it at once and only queues what logs; one thread
formats and writes them, a transaction per stream. Like AWS's (documented as best-effort),
delivery is not durable: events still queued when the process dies, or that find the queue full,
are not written; a stop writes what is queued first (within a time limit).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from ...errors import ConflictError, NotFoundError
from ...ports import ExecutionRecord
from ..log_queue import BestEffortLogWriter, Wording

logger = logging.getLogger(__name__)

__all__ = [
    "ERROR_EVENTS",
    "FATAL_EVENTS",
    "VALIDATION_MESSAGE",
    "VALIDATION_STREAM",
    "Configured",
    "ExecutionLogWriter",
    "QUEUE_COMMITS",
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

    The message's members come in the order AWS writes them (recorded: id, type, details,
    previous_event_id, event_timestamp, execution_arn, redrive_count); ``details`` is the
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
        "id": str(event["id"]),
        "type": event["type"],
        "details": {k: details[k] for k in sorted(details)},
        "previous_event_id": str(event.get("previousEventId", 0)),
        "event_timestamp": str(timestamp_ms),
        "execution_arn": execution_arn,
        "redrive_count": str(redrive_count),
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


class Configured(Protocol):
    """A stored state machine or revision: what tells where its executions log."""

    @property
    def logging(self) -> Mapping[str, Any] | None: ...


class MachineStore(Protocol):
    """What :func:`configurations_in` reads (:class:`~sluiceway.backends.local.executions.SqliteExecutionStore`)."""

    def execution_revision(self, arn: str) -> Configured | None: ...

    def get_state_machine(self, name: str) -> Configured | None: ...


def configurations_in(store: MachineStore) -> Callable[[str, str], Mapping[str, Any] | None]:
    """``fallback`` for :class:`ExecutionLogWriter` over the execution store.

    Asked only for an execution the orchestrator names no revision for: it logs as the revision
    recorded for it, else as its machine is configured now.
    """

    def configuration_of(arn: str, state_machine: str) -> Mapping[str, Any] | None:
        revision = store.execution_revision(arn)
        if revision is not None:
            return revision.logging
        machine = store.get_state_machine(state_machine)
        return machine.logging if machine is not None else None

    return configuration_of


QUEUE_COMMITS = 10_000
"""The most commits waiting to be written; more are dropped (a stalled log store must not grow memory)."""


@dataclass(frozen=True)
class _Committed:
    arn: str
    state_machine: str
    redrive_count: int
    destination: LogDestination | None
    """Where it logs; None for an execution whose configuration the writer's thread looks up."""
    ended: bool
    events: tuple[Mapping[str, Any], ...]


_WORDING = Wording(
    thread="sluiceway-execution-logs",
    queue_full="the execution log queue is full (%d commits); execution logs are dropped",
    dropped="%d commits' execution logs were dropped (the queue was full)",
    gave_up="the execution log writer did not finish in %.1fs; queued execution logs are dropped",
    not_started="the execution log writer could not start",
    not_released="the execution log writer's connections were not released",
    not_written="execution logs not written",
)


class ExecutionLogWriter:
    """Writes executions' committed history events to the log group their state machine logs to.

    It is the orchestrator's history listener: called with an execution, the events just committed
    and the revision it runs, it decides from that revision's ``loggingConfiguration`` (no I/O)
    and returns at once; an execution that does not log costs nothing more. An UpdateStateMachine
    thus applies to executions started after it, as its new definition does (not confirmed against
    AWS for the logging configuration). Events that log are queued (a bounded queue: a full one
    drops them, counted and reported, as AWS's delivery is best effort) and one thread writes them.

    Args:
        logs: the CloudWatch Logs store.
        fallback: the ``loggingConfiguration`` of an execution given without a revision (one
            started before revisions were kept), by execution ARN and state machine name; looked up
            once per execution, on the writer's thread. Without it such executions do not log.
        release: called on the writer's thread as it ends, to give back what it opened for that
            thread (the local data dir's per-thread SQLite connections).
        capacity: the most commits queued.
        thread_factory: makes the writer's thread (``threading.Thread``'s arguments).
    """

    def __init__(
        self,
        logs: LogStore,
        fallback: Callable[[str, str], Mapping[str, Any] | None] | None = None,
        *,
        release: Callable[[], None] | None = None,
        capacity: int = QUEUE_COMMITS,
        thread_factory: Callable[..., threading.Thread] = threading.Thread,
    ) -> None:
        self.logs = logs
        self.fallback = fallback
        self._looked_up: dict[str, LogDestination | None] = {}
        """Fallback destinations by execution ARN (written on the writer's thread, read at commit)."""
        self._streams: set[tuple[str, str]] = set()
        """Streams known to exist (touched on the writer's thread only)."""
        self._writer = BestEffortLogWriter[_Committed](
            self._by_stream,
            self._put,
            _WORDING,
            logger=logger,
            release=release,
            capacity=capacity,
            thread_factory=thread_factory,
        )

    @property
    def dropped(self) -> int:
        """Commits dropped so far because the queue was full."""
        return self._writer.dropped

    def __call__(self, record: ExecutionRecord, history: Sequence[Mapping[str, Any]], revision: Configured | None = None) -> None:
        if not history:
            return
        ended = record.status != "RUNNING"
        destination: LogDestination | None = None
        if revision is not None:
            destination = destination_of(revision.logging)
            if destination is None:
                return
        elif self.fallback is None:
            return
        elif record.arn in self._looked_up:
            destination = self._looked_up.pop(record.arn) if ended else self._looked_up[record.arn]
            if destination is None:
                return
        if self._writer.closed:
            return  # stopping: neither queued nor counted as dropped
        context = (record.state or {}).get("context") or {}
        redrives = int((context.get("Execution") or {}).get("RedriveCount") or 0)
        self._writer.submit(_Committed(record.arn, record.state_machine, redrives, destination, ended, tuple(history)))

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is written (or dropped); True if that happened within ``timeout`` seconds.

        False at once when a close gave up waiting (what was queued is dropped) or the writer's
        thread has ended with commits still queued.
        """
        return self._writer.flush(timeout)

    def close(self, timeout: float = 10.0) -> bool:
        """Accept no more events, write those queued (within ``timeout`` seconds), then stop the writer.

        Returns True if the writer ended in time; otherwise it is told to write nothing more (the
        log store it writes to is about to close) and what is still queued is dropped.
        """
        return self._writer.close(timeout)

    def _by_stream(self, batch: Sequence[_Committed]) -> dict[tuple[str, str], list[tuple[int, str]]]:
        """Events by (group, stream), each stream's in commit order: one transaction per stream."""
        out: dict[tuple[str, str], list[tuple[int, str]]] = {}
        for committed in batch:
            if self._writer.abandoned:
                return {}  # close() gave up waiting: nothing more is looked up or written
            destination = committed.destination or self._look_up(committed)
            if destination is None:
                continue
            for event in committed.events:
                if not keeps(destination.level, str(event.get("type"))):
                    continue
                try:
                    ts, message = log_message(event, committed.arn, committed.redrive_count, include_data=destination.include_data)
                except Exception:  # one event that cannot be formatted loses only itself
                    logger.exception("execution log event not written", extra={"execution": committed.arn, "event": event.get("id")})
                    continue
                out.setdefault((destination.group, stream_name(committed.state_machine, ts)), []).append((ts, message))
        return out

    def _look_up(self, committed: _Committed) -> LogDestination | None:
        """The fallback destination of an execution given without a revision (once per execution)."""
        if committed.arn in self._looked_up:
            destination = self._looked_up[committed.arn]
        else:
            assert self.fallback is not None
            try:
                destination = destination_of(self.fallback(committed.arn, committed.state_machine))
            except Exception:
                logger.exception("logging configuration not read", extra={"execution": committed.arn})
                destination = None
            if len(self._looked_up) > 10_000:
                self._looked_up.clear()
            self._looked_up[committed.arn] = destination
        if committed.ended:
            self._looked_up.pop(committed.arn, None)
        return destination

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
