"""What happened to each state of an execution, read from its history (GetExecutionHistory's events).

Events name states but not where they run: a state inside a Map iteration or a Parallel branch is
found by following ``previousEventId``, which names the previous event of the same path. A
``*StateEntered`` event opens a *visit* of a state, its ``*StateExited`` (or ``*StateAborted``)
closes it, and every event in between belongs to the innermost open visit of its path, as in
:mod:`sluiceway.observability.execution_spans`. A ``MapIterationStarted`` event starts an
iteration: the visits it leads to are that iteration's.

A state is keyed by the chain of state names from the top level down (``("Fan", "Check")``),
which is how :attr:`sluiceway.console.graph.Node.names` names it. A state visited more than once on
one path (a loop, a redrive) shows its latest visit; a state inside a Map is the sum of its
iterations: FAILED if any failed, with counts per status.

Statuses are the Step Functions console's: SUCCEEDED, FAILED, CAUGHT_ERROR (it failed and a Catch
took over), RUNNING, CANCELLED (aborted, or the execution stopped while in it) and NOT_RUN (never
entered: the states :func:`from_history` does not return).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = ["Iterations", "StateOutcome", "Status", "from_history"]

Status = Literal["SUCCEEDED", "FAILED", "CAUGHT_ERROR", "RUNNING", "CANCELLED", "NOT_RUN"]

#: Worst first: the status a state shows when its iterations differ.
_PRECEDENCE: tuple[Status, ...] = ("FAILED", "RUNNING", "CAUGHT_ERROR", "CANCELLED", "SUCCEEDED")

#: Events that end an attempt of a state in failure (their details carry ``error`` and ``cause``).
_FAILURES = frozenset(
    {
        "TaskFailed", "TaskTimedOut", "TaskStartFailed", "TaskSubmitFailed",
        "LambdaFunctionFailed", "LambdaFunctionTimedOut", "LambdaFunctionScheduleFailed", "LambdaFunctionStartFailed",
        "ActivityFailed", "ActivityTimedOut", "ActivityScheduleFailed",
        "MapStateFailed", "ParallelStateFailed", "MapRunFailed", "EvaluationFailed",
    }
)  # fmt: skip
_SUCCESSES = frozenset(
    {"TaskSucceeded", "LambdaFunctionSucceeded", "ActivitySucceeded", "MapStateSucceeded", "ParallelStateSucceeded", "MapRunSucceeded"}
)
#: Events that begin an attempt: one after a failure, in the same visit, is a retry.
_ATTEMPTS = frozenset(
    {
        "TaskScheduled", "LambdaFunctionScheduled", "LambdaFunctionScheduleFailed", "ActivityScheduled", "ActivityScheduleFailed",
        "MapStateStarted", "ParallelStateStarted",
    }
)  # fmt: skip
_EXECUTION_ENDS = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionAborted"})


@dataclass(frozen=True)
class Iterations:
    """A Map state's iterations (or, for a state inside a Map, its visits) by how they ended."""

    total: int
    succeeded: int
    failed: int
    running: int
    aborted: int


@dataclass(frozen=True)
class StateOutcome:
    """One state's outcome in an execution."""

    status: Status
    input: str | None
    """The state's input as the history gives it (a JSON text), of the visit shown."""
    output: str | None
    error: str | None
    cause: str | None
    retries: int
    """Attempts begun after a failure in the same visit, summed over the visits counted."""
    entered_at: datetime | None
    exited_at: datetime | None
    visits: int
    """Visits counted: the latest per path, so one per iteration inside a Map."""
    counts: Mapping[str, int]
    """Those visits by status."""
    iterations: Iterations | None
    """A Map state's iterations from its MapIteration* events; None for other states and for a
    Distributed Map, whose iterations are child executions (see :attr:`map_run_arn`)."""
    map_run_arn: str | None


@dataclass
class _Visit:
    event_id: int
    key: tuple[str, ...]
    parent: _Visit | None
    path: tuple[int, int]
    """(the enclosing visit's entered event id or 0, the Map iteration's index or -1): visits on one path replace each other."""
    input: str | None
    entered_at: datetime | None
    exited_at: datetime | None = None
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    closed: bool = False
    failed_last: bool = False
    aborted: bool = False
    fail_state: bool = False
    ended_in_it: Status | None = None
    retries: int = 0
    child_error: tuple[str | None, str | None] | None = None
    length: int | None = None
    map_run_arn: str | None = None
    iterations: dict[int, str] = field(default_factory=dict)

    def status(self) -> Status:
        if self.aborted:
            return "CANCELLED"
        if self.closed:
            return "CAUGHT_ERROR" if self.failed_last else "SUCCEEDED"
        if self.fail_state or self.ended_in_it == "FAILED":
            return "FAILED"
        parent = self.parent
        if parent is not None and (parent.closed or parent.failed_last or parent.iterations.get(self.path[1]) in ("Failed", "Aborted")):
            # The branch or iteration it ran in has ended without it.
            return "FAILED" if self.failed_last else "CANCELLED"
        # Open after a failure, with nothing else failing: a retry is due, unless the execution stopped.
        return self.ended_in_it or "RUNNING"


def from_history(events: Iterable[Mapping[str, Any]]) -> dict[tuple[str, ...], StateOutcome]:
    """Each entered state's outcome, keyed by its chain of state names (see the module docstring).

    ``events`` are GetExecutionHistory's, in any page order; they are read by ``id``.
    """
    ordered = sorted(events, key=lambda e: int(e.get("id", 0)))
    owner: dict[int, _Visit | None] = {0: None}
    iteration: dict[int, int] = {0: -1}
    visits: list[_Visit] = []
    for event in ordered:
        event_id, previous, kind = int(event.get("id", 0)), int(event.get("previousEventId") or 0), str(event.get("type", ""))
        mine = owner.get(previous)
        index = iteration.get(previous, -1)
        when = _moment(event.get("timestamp"))
        if kind.endswith("StateEntered"):
            details = event.get("stateEnteredEventDetails") or {}
            name = str(details.get("name", ""))
            visit = _Visit(
                event_id,
                (*(mine.key if mine else ()), name),
                mine,
                (mine.event_id if mine else 0, index),
                details.get("input"),
                when,
                fail_state=kind == "FailStateEntered",
            )
            visits.append(visit)
            owner[event_id], iteration[event_id] = visit, index
            continue
        if mine is not None and (kind.endswith("StateExited") or kind.endswith("StateAborted")):
            details = event.get("stateExitedEventDetails") or {}
            mine.closed, mine.exited_at = True, when
            mine.aborted = kind.endswith("StateAborted")
            mine.output = details.get("output", mine.output)
            owner[event_id], iteration[event_id] = mine.parent, mine.path[1]
            continue
        # An execution's own events (ended, redriven) belong to no state: a state redriven after
        # ExecutionRedriven is entered at the top level again, not inside the one that failed.
        owner[event_id], iteration[event_id] = (None, -1) if kind.startswith("Execution") else (mine, index)
        if kind == "MapIterationStarted":
            iteration[event_id] = int((event.get("mapIterationStartedEventDetails") or {}).get("index", -1))
        if kind in _EXECUTION_ENDS:
            _execution_ended(kind, event, mine, visits, when)
        elif kind == "EvaluationFailed":
            # It names the previous event of the state's path, not the state's: its ``state`` says which.
            about = _evaluated(event, mine, visits)
            owner[event_id] = about
            _failed(about, event)
        elif mine is not None:
            _event(mine, kind, event)
    return _outcomes(visits)


def _event(visit: _Visit, kind: str, event: Mapping[str, Any]) -> None:
    """An event inside ``visit``: an attempt, its end, or its Map's iterations."""
    if kind in _ATTEMPTS:
        if visit.failed_last:
            visit.retries += 1
        visit.failed_last = False
        if kind == "MapStateStarted":
            visit.length = int((event.get("mapStateStartedEventDetails") or {}).get("length", 0))
            visit.iterations = {}
    if kind in _FAILURES:
        _failed(visit, event)
    elif kind in _SUCCESSES:
        visit.failed_last = False
    if kind.startswith("MapIteration"):
        details = next((v for k, v in event.items() if k.startswith("mapIteration") and isinstance(v, Mapping)), {})
        visit.iterations[int(details.get("index", -1))] = kind.removeprefix("MapIteration")
    elif kind == "MapRunStarted":
        visit.map_run_arn = (event.get("mapRunStartedEventDetails") or {}).get("mapRunArn")


def _failed(visit: _Visit | None, event: Mapping[str, Any]) -> None:
    if visit is None:
        return
    details = next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, Mapping)), {})
    visit.failed_last = True
    if details.get("error") is not None or details.get("cause") is not None:
        visit.error, visit.cause = details.get("error"), details.get("cause")
    elif visit.child_error is not None:
        # A Map or Parallel fails with no details of its own: the branch's failure is its cause.
        visit.error, visit.cause = visit.child_error
    if visit.parent is not None and (visit.error is not None or visit.cause is not None):
        visit.parent.child_error = (visit.error, visit.cause)


def _evaluated(event: Mapping[str, Any], mine: _Visit | None, visits: list[_Visit]) -> _Visit | None:
    """The visit an EvaluationFailed event is about: its ``state``, open on this path."""
    state = (event.get("evaluationFailedEventDetails") or {}).get("state")
    for visit in reversed(visits):
        if not visit.closed and visit.key[-1] == state and (visit.parent is mine or visit is mine):
            return visit
    return mine


def _execution_ended(kind: str, event: Mapping[str, Any], mine: _Visit | None, visits: list[_Visit], when: datetime | None) -> None:
    """States still open when the execution ended: FAILED where it failed, CANCELLED elsewhere."""
    if kind in ("ExecutionFailed", "ExecutionTimedOut"):
        details = next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, Mapping)), {})
        where = mine
        while where is not None:
            if not where.closed:
                where.ended_in_it = "FAILED"
                if where.error is None and where.cause is None:
                    where.error, where.cause = details.get("error"), details.get("cause")
            where = where.parent
    for visit in visits:
        if not visit.closed and visit.ended_in_it is None:
            visit.ended_in_it = "CANCELLED"


def _outcomes(visits: list[_Visit]) -> dict[tuple[str, ...], StateOutcome]:
    # A later visit on the same path replaces an earlier one, and what ran inside a replaced visit
    # goes with it (a redriven Map's first, failed iterations).
    latest: dict[tuple[tuple[str, ...], tuple[int, int]], _Visit] = {}
    for visit in visits:
        latest[(visit.key, visit.path)] = visit
    current = {id(v) for v in latest.values()}
    live = [v for v in visits if id(v) in current and _ancestors_live(v, current)]
    by_state: dict[tuple[str, ...], list[_Visit]] = {}
    for visit in live:
        by_state.setdefault(visit.key, []).append(visit)
    return {key: _outcome(group) for key, group in by_state.items()}


def _ancestors_live(visit: _Visit, current: set[int]) -> bool:
    parent = visit.parent
    while parent is not None:
        if id(parent) not in current:
            return False
        parent = parent.parent
    return True


def _outcome(group: list[_Visit]) -> StateOutcome:
    statuses = [v.status() for v in group]
    status = next(s for s in _PRECEDENCE if s in statuses)
    # The details shown are those of the latest visit with the status shown.
    shown = next(v for v, s in zip(reversed(group), reversed(statuses), strict=True) if s == status)
    counts: dict[str, int] = {}
    for s in statuses:
        counts[s] = counts.get(s, 0) + 1
    return StateOutcome(
        status=status,
        input=shown.input,
        output=shown.output,
        error=shown.error,
        cause=shown.cause,
        retries=sum(v.retries for v in group),
        entered_at=shown.entered_at,
        exited_at=shown.exited_at,
        visits=len(group),
        counts=counts,
        iterations=_iterations(group),
        map_run_arn=next((v.map_run_arn for v in reversed(group) if v.map_run_arn), None),
    )


def _iterations(group: list[_Visit]) -> Iterations | None:
    inline = [v for v in group if v.length is not None and v.map_run_arn is None]
    if not inline:
        return None
    total = succeeded = failed = running = aborted = 0
    for visit in inline:
        ended = list(visit.iterations.values())
        succeeded += ended.count("Succeeded")
        failed += ended.count("Failed")
        aborted += ended.count("Aborted")
        started = ended.count("Started")
        # An iteration not started yet (MaxConcurrency) is still to run, as one that is running.
        size = max(visit.length or 0, len(ended))
        total += size
        running += started + (size - len(ended) if visit.status() == "RUNNING" else 0)
    return Iterations(total, succeeded, failed, running, aborted)


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None
