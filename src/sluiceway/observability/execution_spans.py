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
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# Imported only through Tracing.executions(), when tracing is on: the SDK is loaded by then, and
# imports at the top spare the orchestrator a lookup for each of its history events.
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode, Tracer

__all__ = ["ExecutionSpans"]

_FAILED_EVENTS = frozenset(
    {"TaskFailed", "TaskTimedOut", "LambdaFunctionFailed", "LambdaFunctionTimedOut", "LambdaFunctionScheduleFailed", "TaskSubmitFailed"}
)


@dataclass
class _Execution:
    span: Span
    state_machine: str
    states: dict[int, Span] = field(default_factory=dict)
    """Open state spans by the id of their ``*StateEntered`` event."""
    enclosing: dict[int, int] = field(default_factory=dict)
    """A state's entered event id -> the entered event id of the state it runs in (0: the execution)."""
    owner: dict[int, int] = field(default_factory=dict)
    """Event id -> the entered event id of the open state it belongs to (0: none)."""


class ExecutionSpans:
    """The orchestrator's spans (see the module docstring); thread-safe."""

    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer
        self._executions: dict[str, _Execution] = {}
        self._lock = threading.Lock()

    def started(self, arn: str, state_machine: str, history: Iterable[Mapping[str, Any]], *, resumed: bool = False) -> None:
        """An execution started (or was redriven or resumed); its span is a child of the current span."""
        attributes: dict[str, Any] = {"aws.stepfunctions.execution.arn": arn, "aws.stepfunctions.state_machine.name": state_machine}
        if resumed:
            attributes["sluiceway.resumed"] = True
        span = self._tracer.start_span(f"execution {state_machine}", kind=trace.SpanKind.INTERNAL, attributes=attributes)
        with self._lock:
            previous = self._executions.pop(arn, None)
            self._executions[arn] = _Execution(span, state_machine)
        if previous is not None:
            _end_all(previous, "the execution started again")
        self.advanced(arn, history)

    def advanced(self, arn: str, history: Iterable[Mapping[str, Any]]) -> None:
        """A step committed ``history``: open and end state spans."""
        with self._lock:
            execution = self._executions.get(arn)
            if execution is None:
                return
            for event in history:
                self._event(execution, event)

    def _event(self, execution: _Execution, event: Mapping[str, Any]) -> None:
        event_id, previous, kind = int(event.get("id", 0)), int(event.get("previousEventId", 0)), str(event.get("type", ""))
        mine = execution.owner.get(previous, 0)
        if kind.endswith("StateEntered"):
            parent = execution.states.get(mine, execution.span)
            name = str((event.get("stateEnteredEventDetails") or {}).get("name", ""))
            span = self._tracer.start_span(
                f"state {name}",
                context=trace.set_span_in_context(parent),
                attributes={"aws.stepfunctions.state.name": name, "aws.stepfunctions.state.type": kind.removesuffix("StateEntered")},
            )
            execution.states[event_id] = span
            execution.enclosing[event_id] = mine if mine in execution.states else 0
            execution.owner[event_id] = event_id
            return
        if kind.endswith("StateExited") and mine in execution.states:
            execution.states.pop(mine).end()
            execution.owner[event_id] = execution.enclosing.pop(mine, 0)
            return
        execution.owner[event_id] = mine
        if kind in _FAILED_EVENTS and mine in execution.states:
            details = next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, Mapping)), {})
            execution.states[mine].set_status(Status(StatusCode.ERROR, str(details.get("error") or kind)))

    def ended(self, arn: str, status: str, error: str | None = None) -> None:
        """The execution ended with Step Functions' ``status``; its spans end."""
        with self._lock:
            execution = self._executions.pop(arn, None)
        if execution is None:
            return
        _end_all(execution, None)
        execution.span.set_attribute("aws.stepfunctions.execution.status", status)
        if status != "SUCCEEDED":
            execution.span.set_status(Status(StatusCode.ERROR, error or status))
        execution.span.end()

    def task_parent(self, arn: str, token: str, state: Any) -> Span | None:
        """The span a task of execution ``arn`` runs under: its state's, else the execution's.

        Args:
            state: the execution's state as committed (the interpreter's), which knows the task's path.
        """
        with self._lock:
            execution = self._executions.get(arn)
            if execution is None:
                return None
            try:
                path = state["paths"][state["tasks"][token]["pid"]]
                if "history_root" in path:
                    return execution.span  # a Distributed Map child run: its events are numbered apart
                return execution.states.get(execution.owner.get(int(path["last_event"]), 0), execution.span)
            except (KeyError, TypeError, ValueError):
                return execution.span

    @contextmanager
    def task(self, parent: Span | None, state_name: str, resource: str, integration: str) -> Iterator[Span | None]:
        """A Task's work, current on this thread (what it invokes or publishes continues it)."""
        if parent is None:
            yield None
            return
        attributes = {"aws.stepfunctions.state.name": state_name, "aws.stepfunctions.task.resource": resource}
        with self._tracer.start_as_current_span(
            f"task {integration}", context=trace.set_span_in_context(parent), kind=trace.SpanKind.CLIENT, attributes=attributes
        ) as span:
            yield span

    def open_executions(self) -> int:
        """Executions whose span is open (for tests)."""
        with self._lock:
            return len(self._executions)


def _end_all(execution: _Execution, why: str | None) -> None:
    for span in execution.states.values():
        if why is not None:
            span.set_attribute("sluiceway.abandoned", why)
        span.end()
    execution.states.clear()
    execution.enclosing.clear()
    execution.owner.clear()
