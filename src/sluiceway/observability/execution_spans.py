"""Spans of Step Functions executions, their states and their tasks, read from the history they write.

The orchestrator tells :class:`ExecutionSpans` what happens, in the order it commits it:

- :meth:`~ExecutionSpans.started`: an execution began (its span is a child of the current span:
  the event delivery, the ``StartExecution`` request, the parent execution's task);
- :meth:`~ExecutionSpans.advanced`: a step's new history events. A ``*StateEntered`` event opens
  a state's span and its ``*StateExited`` event ends it. Which state an event belongs to follows
  from its ``previousEventId`` (each event names the previous one of its own path), so states
  inside a Map iteration or a Parallel branch are children of the Map or Parallel state's span,
  and iterations running side by side keep their states apart;
- :meth:`~ExecutionSpans.task`: a Task's work on a task thread, as a child of its state's span
  (found through the task's path in the execution's state);
- :meth:`~ExecutionSpans.ended`: the execution ended; its span and any state span still open end.

Spans live in memory: an execution resumed after a restart starts a new trace (its first
trace's context is not kept across the restart). Distributed Map child runs number their events
apart from the execution's history, so their states have no spans; their tasks are children of
the execution.

The orchestrator calls these while it holds its lock, in commit order: each call only appends
what happened (and when) to a queue, and the spans are built from it later (:meth:`~ExecutionSpans.build`),
in that order, outside the orchestrator's lock: when a task needs its parent
(:meth:`~ExecutionSpans.task_parent`, called after the orchestrator let go of its lock), and by
the export thread before each export (:class:`~.span_queue.SpanQueue`). Each span keeps the time
its event was committed.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

# Imported only through Tracing.executions(), when tracing is on: the SDK is loaded by then, and
# imports at the top spare the orchestrator a lookup for each of its history events.
from opentelemetry import trace
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode

from .recorded_span import RecordedSpan, SpanFactory
from .span_pipeline import CurrentSpan, record_failure
from .task_position import TaskPosition

__all__ = ["ExecutionSpans"]

_FAILED_EVENTS = frozenset(
    {"TaskFailed", "TaskTimedOut", "LambdaFunctionFailed", "LambdaFunctionTimedOut", "LambdaFunctionScheduleFailed", "TaskSubmitFailed"}
)
_STARTED: Final = 0
_ADVANCED: Final = 1
_ENDED: Final = 2

_Fact = tuple[int, str, Any, list[Mapping[str, Any]], int]
"""What the orchestrator committed: (what, execution ARN, details, history events, time in ns)."""


@dataclass
class _Execution:
    span: RecordedSpan
    state_machine: str
    states: dict[int, RecordedSpan] = field(default_factory=dict)
    """Open state spans by the id of their ``*StateEntered`` event."""
    enclosing: dict[int, int] = field(default_factory=dict)
    """A state's entered event id -> the entered event id of the state it runs in (0: the execution)."""
    owner: dict[int, int] = field(default_factory=dict)
    """Event id -> the entered event id of the open state it belongs to (0: none)."""


class ExecutionSpans:
    """The orchestrator's spans (see the module docstring); thread-safe."""

    def __init__(self, factory: SpanFactory) -> None:
        self._factory = factory
        self._executions: dict[str, _Execution] = {}
        self._facts: collections.deque[_Fact] = collections.deque()
        self._lock = threading.Lock()

    # -- what the orchestrator commits (cheap: called under its lock) ------------------------

    def started(self, arn: str, state_machine: str, history: Iterable[Mapping[str, Any]], *, resumed: bool = False) -> None:
        """An execution started (or was redriven or resumed); its span is a child of the current span."""
        parent = trace.get_current_span().get_span_context()
        self._facts.append((_STARTED, arn, (state_machine, parent, resumed), _listed(history), time.time_ns()))

    def advanced(self, arn: str, history: Iterable[Mapping[str, Any]]) -> None:
        """A step committed ``history``: its state spans open and end."""
        self._facts.append((_ADVANCED, arn, None, _listed(history), time.time_ns()))

    def ended(self, arn: str, status: str, error: str | None = None) -> None:
        """The execution ended with Step Functions' ``status``; its spans end."""
        self._facts.append((_ENDED, arn, (status, error), [], time.time_ns()))

    # -- building the spans ----------------------------------------------------------------

    def build(self) -> None:
        """Turn what was committed so far into spans, in commit order."""
        facts = self._facts
        with self._lock:
            while facts:
                what, arn, details, history, now = facts.popleft()
                if what == _STARTED:
                    self._start(arn, details, now)
                elif what == _ENDED:
                    self._end(arn, details, now)
                    continue
                execution = self._executions.get(arn)
                if execution is not None:
                    for event in history:
                        self._event(execution, event, now)

    def _start(self, arn: str, details: tuple[str, SpanContext, bool], now: int) -> None:
        state_machine, parent, resumed = details
        attributes: dict[str, Any] = {"aws.stepfunctions.execution.arn": arn, "aws.stepfunctions.state_machine.name": state_machine}
        if resumed:
            attributes["sluiceway.resumed"] = True
        span = self._factory.start(f"execution {state_machine}", parent, SpanKind.INTERNAL, attributes, now)
        previous = self._executions.pop(arn, None)
        self._executions[arn] = _Execution(span, state_machine)
        if previous is not None:
            _end_all(previous, "the execution started again", now)

    def _end(self, arn: str, details: tuple[str, str | None], now: int) -> None:
        execution = self._executions.pop(arn, None)
        if execution is None:
            return
        status, error = details
        _end_all(execution, None, now)
        execution.span.set_attribute("aws.stepfunctions.execution.status", status)
        if status != "SUCCEEDED":
            execution.span.set_status(Status(StatusCode.ERROR, error or status))
        execution.span.end(now)

    def _event(self, execution: _Execution, event: Mapping[str, Any], now: int) -> None:
        event_id, previous, kind = int(event.get("id", 0)), int(event.get("previousEventId", 0)), str(event.get("type", ""))
        mine = execution.owner.get(previous, 0)
        if kind.endswith("StateEntered"):
            parent = execution.states.get(mine, execution.span)
            name = str((event.get("stateEnteredEventDetails") or {}).get("name", ""))
            attributes = {"aws.stepfunctions.state.name": name, "aws.stepfunctions.state.type": kind.removesuffix("StateEntered")}
            execution.states[event_id] = self._factory.start(f"state {name}", parent.context, SpanKind.INTERNAL, attributes, now)
            execution.enclosing[event_id] = mine if mine in execution.states else 0
            execution.owner[event_id] = event_id
            return
        if kind.endswith("StateExited") and mine in execution.states:
            execution.states.pop(mine).end(now)
            execution.owner[event_id] = execution.enclosing.pop(mine, 0)
            return
        execution.owner[event_id] = mine
        if kind in _FAILED_EVENTS and mine in execution.states:
            details = next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, Mapping)), {})
            execution.states[mine].set_status(Status(StatusCode.ERROR, str(details.get("error") or kind)))

    # -- tasks -------------------------------------------------------------------------------

    def task_parent(self, arn: str, position: TaskPosition | None) -> SpanContext | None:
        """The context a task of execution ``arn`` runs under: its state's span, else the execution's.

        Call it without the orchestrator's lock held: it builds the spans committed so far.

        Args:
            position: :func:`task_position` of the task, read under the orchestrator's lock.
        """
        self.build()
        with self._lock:
            execution = self._executions.get(arn)
            if execution is None:
                return None
            if position is None or position.child_run:
                return execution.span.context  # a Distributed Map child run's events are numbered apart
            return execution.states.get(execution.owner.get(position.last_event, 0), execution.span).context

    def task(self, parent: SpanContext | None, state_name: str, resource: str, integration: str) -> CurrentSpan | _NoTask:
        """A Task's work, current on this thread (what it invokes or publishes continues it); nothing for no parent."""
        if parent is None:
            return _NO_TASK
        attributes = {"aws.stepfunctions.state.name": state_name, "aws.stepfunctions.task.resource": resource}
        return CurrentSpan(self._factory.start(f"task {integration}", parent, SpanKind.CLIENT, attributes), on_error=record_failure)

    def open_executions(self) -> int:
        """Executions whose span is open (for tests)."""
        self.build()
        with self._lock:
            return len(self._executions)


class _NoTask:
    """A task without a parent span: no span (a context manager that does nothing, yielding None)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NO_TASK: Final = _NoTask()


def _listed(history: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    # Committed history is never changed afterwards: a list is kept as it is, read later.
    return history if isinstance(history, list) else list(history)


def _end_all(execution: _Execution, why: str | None, now: int) -> None:
    for span in execution.states.values():
        if why is not None:
            span.set_attribute("sluiceway.abandoned", why)
        span.end(now)
    execution.states.clear()
    execution.enclosing.clear()
    execution.owner.clear()
