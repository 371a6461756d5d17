"""The interpreter's core: the path tree, history, input/output processing, Retry/Catch, children.

An execution is a tree of *paths*: the root path walks the top-level states; a Parallel state
starts one child path per branch, a Map state one per item. :class:`Run` is one call of
``start``/``step``/``redrive`` working on the execution's state (a JSON object the runtime
persists): it runs every path that can move until each waits on a task, a timer or its
children. What a state of each type does lives in :mod:`.states`, one module per type, behind
:class:`StateType`; the core calls it and does everything the types share.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Generic, TypeVar

from .. import jsonpath
from ..errors import StatesError
from ..types import JSON
from . import dataflow, limits, templates
from . import jsonata as jsonata_lang
from .commands import Command, StartTimer, Step, TaskFailed, TaskHeartbeat, TaskSucceeded, TimerFired
from .model import (
    NEVER_RETRIED,
    UNCATCHABLE_BY_ALL,
    Catcher,
    ChoiceState,
    ExecutionState,
    FailState,
    MapState,
    ParallelState,
    State,
    StateMachine,
    Template,
)
from .values import iso, size, text, too_deep_cause, too_large_cause

__all__ = ["Failure", "PathRecord", "Run", "StateType", "error_matches"]

PathRecord = dict[str, Any]
"""One path of the tree, as kept in the execution state (``state["paths"][pid]``)."""

S = TypeVar("S", bound=State)


def error_matches(patterns: tuple[str, ...], error: str) -> bool:
    """Whether a Retry/Catch ``ErrorEquals`` list matches ``error``, with AWS's wildcards."""
    for pattern in patterns:
        if pattern == error:
            return True
        if pattern == "States.ALL" and error not in UNCATCHABLE_BY_ALL:
            return True
        # AWS: States.TaskFailed matches any error a task can raise except States.Timeout.
        if pattern == "States.TaskFailed" and error not in UNCATCHABLE_BY_ALL and error != "States.Timeout":
            return True
    return False


class Failure(Exception):
    """A state failed: carries the ASL error and cause up to Retry/Catch handling."""

    def __init__(self, error: str, cause: str | None) -> None:
        super().__init__(error)
        self.error = error
        self.cause = cause


class _HistoryFull(Exception):
    """The execution has just failed for reaching the history limit: stop whatever was running."""


class StateType(Generic[S]):
    """What one state type does; the core calls these, :mod:`.states` implements them.

    ``execute`` runs the state when a path enters it (and again when its Retry fires). The
    other hooks answer what the state waits on: its own timers, its task's outcome, its
    children. A hook a type never needs is left as it is here.
    """

    def execute(self, run: Run, path: PathRecord, state: S) -> None:
        raise NotImplementedError

    def failed(self, run: Run, path: PathRecord, state: S, error: str | None) -> None:
        """The state failed for good: no Retrier takes it again (a Catcher may still handle it).

        Not called for ``States.Runtime``, which ends the execution with nothing else recorded.
        """

    def retry(self, run: Run, path: PathRecord, state: S) -> None:
        """A Retry's interval has passed: run the state again."""
        run.execute(path, state)

    def timer_fired(self, run: Run, path: PathRecord, state: S, timer: Mapping[str, Any]) -> None:
        """A timer the state armed (other than Retry's) is due."""

    def task_succeeded(self, run: Run, path: PathRecord, state: S, task: Mapping[str, Any], output: JSON) -> None:
        """The runtime answered a command of the state with a result."""

    def task_failed(self, run: Run, path: PathRecord, state: S, task: Mapping[str, Any], error: str, cause: str | None) -> None:
        """The runtime answered a command of the state with an error."""

    def heartbeat(self, run: Run, path: PathRecord, state: S, token: str, task: Mapping[str, Any]) -> None:
        """SendTaskHeartbeat for the state's task ``token``."""

    def child_finished(self, run: Run, parent: PathRecord, state: S, child: Mapping[str, Any], output: JSON) -> None:
        """A branch or iteration of the state succeeded."""

    def child_failed(self, run: Run, parent: PathRecord, state: S, child: Mapping[str, Any], error: str | None, cause: str | None) -> None:
        """A branch or iteration of the state failed."""


class Run:
    """One call of start/step/redrive: the mutable working set around the execution state."""

    def __init__(self, machine: StateMachine, state: dict[str, Any], now: datetime, types: Mapping[type[State], StateType[Any]]) -> None:
        self.machine = machine
        self.state = state
        self.now = now
        self.types = types
        self.commands: list[Command] = []
        self.history: list[dict[str, Any]] = []
        self.ready: list[str] = []
        self.history_full = False

    def history_guard(self) -> contextlib.suppress:
        """Where a step's work stops when the execution fails for reaching the history limit."""
        return contextlib.suppress(_HistoryFull)

    def result(self) -> Step:
        return Step(self.state, self.commands, self.history)

    # -- bookkeeping --------------------------------------------------------

    def token(self, kind: str) -> str:
        self.state["seq"] += 1
        return f"{kind}-{self.state['seq']}"

    def rng(self) -> random.Random:
        seed = f"{self.state['context']['Execution']['Id']}:{self.state['event_id']}:{self.state['seq']}"
        self.state["seq"] += 1
        return random.Random(hashlib.sha256(seed.encode()).digest())

    def emit(
        self, pid: str | None, type_: str, details_key: str | None, details: Mapping[str, Any] | None, *, previous: int | None = None
    ) -> int:
        """Record a history event of ``pid``'s path (None: the execution's); returns its id.

        An event of a Distributed Map iteration belongs to that child execution's own history:
        it is numbered there (from 2, after the child's ExecutionStarted) and is not part of
        the execution's history, nor counted against its 25,000 events.
        """
        path = self.state["paths"].get(pid) if pid else None
        child_run = self._child_run(path)
        if child_run is not None:
            assert path is not None
            child_run["child_events"] = int(child_run.get("child_events", 1)) + 1
            path["last_event"] = child_run["child_events"]
            return int(child_run["child_events"])
        if path is not None and path.get("own_history"):
            # A child path recorded by an earlier version, without its own numbering.
            self.state["uncounted_events"] = self.state.get("uncounted_events", 0) + 1
        elif history_events(self.state) + 1 >= limits.MAX_HISTORY_EVENTS and type_ != "ExecutionSucceeded":
            self._history_limit_reached()
        self.state["event_id"] += 1
        event_id = int(self.state["event_id"])
        if previous is None:
            previous = path["last_event"] if path else event_id - 1
        event: dict[str, Any] = {
            "id": event_id,
            "previousEventId": previous,
            "timestamp": iso(self.now),
            "type": type_,
        }
        if details_key is not None and details is not None:
            event[details_key] = dict(details)
        self.history.append(event)
        if path is not None:
            path["last_event"] = event_id
        return event_id

    def _child_run(self, path: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """The root path of the Distributed Map child execution ``path`` runs in, if any."""
        if path is None or "history_root" not in path:
            return None
        root: dict[str, Any] | None = self.state["paths"].get(path["history_root"])
        return root if root is not None else dict(path)

    def _history_limit_reached(self) -> None:
        """AWS: once an execution has 24,999 events, event 25,000 must be ExecutionSucceeded;
        anything else is replaced by ExecutionFailed (States.Runtime), and the execution ends."""
        if self.history_full:
            return  # the ExecutionFailed below is that 25,000th event
        self.history_full = True
        self.commands.clear()  # nothing the execution asked for is wanted any more
        self.state.pop("redrive", None)
        self.fail_execution("States.Runtime", limits.HISTORY_LIMIT_CAUSE)
        raise _HistoryFull

    def arm_timer(self, pid: str | None, kind: str, due: datetime, *, prefix: str | None = None, **extra: Any) -> str:
        """Record a durable timer and ask the runtime for it; returns its token (``<prefix or kind>-<n>``)."""
        token = self.token(prefix or kind)
        self.state["timers"][token] = {"pid": pid, "kind": kind, **extra, "due": due.isoformat()}
        self.commands.append(StartTimer(token, due))
        return token

    def new_path(
        self,
        *,
        parent: str | None,
        slot: int | None,
        machine_path: list[Any],
        state_name: str,
        input: JSON,
        context_extra: Mapping[str, Any] | None = None,
        last_event: int | None = None,
        own_history: bool = False,
    ) -> str:
        pid = self.token("path")
        parent_path = self.state["paths"].get(parent) if parent else None
        self.state["paths"][pid] = {
            "pid": pid,
            "parent": parent,
            "slot": slot,
            "machine": machine_path,
            "state": state_name,
            "input": input,
            "vars": {},
            "phase": "enter",
            "retries": {},
            "retry_count": 0,
            "context_extra": dict(context_extra or {}),
            "last_event": last_event if last_event is not None else self.state["event_id"],
        }
        record = self.state["paths"][pid]
        if own_history:
            # The first path of a Distributed Map child execution: its events are numbered in
            # its own history, whose event 1 is the child's ExecutionStarted.
            record.update(own_history=True, history_root=pid, child_events=1, last_event=0)
        elif parent_path is not None and "history_root" in parent_path:
            record.update(own_history=True, history_root=parent_path["history_root"])
        self.ready.append(pid)
        return pid

    def path_machine(self, path: Mapping[str, Any]) -> StateMachine:
        machine = self.machine
        for state_name, branch in path["machine"]:
            state = machine.states[state_name]
            if isinstance(state, MapState):
                machine = state.item_processor
            else:
                assert isinstance(state, ParallelState)
                machine = state.branches[branch]
        return machine

    def current(self, path: Mapping[str, Any]) -> State:
        return self.path_machine(path).states[path["state"]]

    def variables(self, path: Mapping[str, Any]) -> dict[str, JSON]:
        """Variables visible to ``path``: its own over its ancestors' (inner scope wins)."""
        chain = []
        node: Mapping[str, Any] | None = path
        while node is not None:
            chain.append(node["vars"])
            node = self.state["paths"].get(node["parent"]) if node["parent"] else None
        merged: dict[str, JSON] = {}
        for scope in reversed(chain):
            merged.update(scope)
        return merged

    def context(self, path: Mapping[str, Any], state: State) -> dict[str, Any]:
        ctx = dict(self.state["context"])
        ctx["State"] = {"EnteredTime": path.get("entered", iso(self.now)), "Name": state.name}
        if isinstance(state, ExecutionState):
            ctx["State"]["RetryCount"] = path["retry_count"]
        ctx.update(path.get("context_extra", {}))
        if path.get("task_token"):
            ctx["Task"] = {"Token": path["task_token"]}
        return ctx

    def scope(self, path: Mapping[str, Any], state: State, data: JSON) -> jsonpath.Scope:
        """What JSONPath paths, templates and intrinsics see: ``$`` is ``data``."""
        return jsonpath.Scope(input=data, context=self.context(path, state), variables=self.variables(path))

    def bindings(self, path: Mapping[str, Any], state: State, **states: JSON) -> dict[str, JSON]:
        """What JSONata expressions see: the variables, and ``$states`` with ``context`` and ``states``."""
        values = self.variables(path)
        states_var = {"context": self.context(path, state)}
        states_var.update(states)
        values["states"] = states_var
        return values

    def jsonata(self, template: JSON, path: Mapping[str, Any], state: State, field: str, **kwargs: Any) -> JSON:
        """A JSONata-mode field's value, its ``{% %}`` strings evaluated wherever they sit.

        ``$states.input`` is the state's input; ``kwargs`` go to :func:`.jsonata.resolve`
        (``expected=`` a type for a field that is one expression).
        """
        bindings = self.bindings(path, state, input=path["input"])
        return jsonata_lang.resolve(template, bindings, self.rng(), field=field, now=self.now, **kwargs)

    # -- driving ------------------------------------------------------------

    def drain(self) -> None:
        while self.ready and self.state["status"] == "RUNNING":
            pid = self.ready.pop(0)
            path = self.state["paths"].get(pid)
            if path is None or path["phase"] != "enter":
                continue
            self.enter(path)

    def enter(self, path: PathRecord) -> None:
        state = self.current(path)
        path["entered"] = iso(self.now)
        path["retry_count"] = 0
        path["retries"] = {}
        path["phase"] = "running"
        path["entered_previous"] = path["last_event"]
        self.emit(
            path["pid"],
            f"{state.type}StateEntered",
            "stateEnteredEventDetails",
            {"name": state.name, "input": text(path["input"]), "inputDetails": {"truncated": False}},
        )
        self.execute(path, state)

    def execute(self, path: PathRecord, state: State) -> None:
        self.guarded(path, state, lambda: self.types[type(state)].execute(self, path, state))

    def guarded(self, path: PathRecord, state: State, work: Callable[[], None], *, on_error: Callable[[], None] | None = None) -> None:
        """Run ``work()``; a failure it raises becomes the state's error, for Retry and Catch.

        ``on_error`` runs first, when there is one (a Map stops the iterations it had started).
        """
        try:
            work()
        except Failure as failure:
            if on_error is not None:
                on_error()
            self.state_failed(path, state, failure.error, failure.cause)
        except StatesError as exc:
            cause = self.runtime_cause(path, state, exc)
            self.evaluation_failed(path, state, exc, cause)
            if on_error is not None:
                on_error()
            self.state_failed(path, state, exc.error, cause)

    def evaluation_failed(self, path: PathRecord, state: State, exc: StatesError, cause: str) -> None:
        """AWS records a JSONata evaluation that failed as an EvaluationFailed event naming the field."""
        if exc.error != jsonata_lang.QUERY_EVALUATION_ERROR:
            return
        details: dict[str, Any] = {"error": exc.error, "cause": cause, "state": state.name}
        location = getattr(exc, "location", None)
        if location is not None:
            details["location"] = location
        # AWS links it to the event before the state was entered, not to the state's last event.
        self.emit(path["pid"], "EvaluationFailed", "evaluationFailedEventDetails", details, previous=path.get("entered_previous"))

    def runtime_cause(self, path: Mapping[str, Any], state: State, exc: StatesError) -> str:
        entered = int(path.get("entered_event", path["last_event"]))
        return f"An error occurred while executing the state '{state.name}' (entered at the event id #{entered}). {exc.cause}"

    # -- input and output ---------------------------------------------------

    def effective_input(self, path: Mapping[str, Any], state: State) -> JSON:
        """The input after InputPath (JSONata states have none: their input as it is)."""
        if state.query_language == "JSONata":
            return path["input"]
        return dataflow.input_path(state.input_path, self.scope(path, state, path["input"]))

    def output_path(self, path: Mapping[str, Any], state: State, output: JSON) -> JSON:
        return dataflow.output_path(state.output_path, self.scope(path, state, output))

    def jsonata_output(
        self, path: Mapping[str, Any], state: State, template: Template | None, *, default: JSON, result: JSON = None
    ) -> JSON:
        """A JSONata ``Output`` (``default`` when there is none)."""
        if template is None:
            return default
        bindings = self.bindings(path, state, **self._jsonata_states(path, state, result))
        value = jsonata_lang.resolve(template.value, bindings, self.rng(), field="Output", now=self.now)
        return None if value is jsonata_lang.UNDEFINED else value

    def assign_jsonata(self, path: PathRecord, state: State, assign: Template | None, *, result: JSON = None) -> None:
        if assign is None or not assign.value:
            return
        bindings = self.bindings(path, state, **self._jsonata_states(path, state, result))
        values = jsonata_lang.resolve(assign.value, bindings, self.rng(), field="Assign", now=self.now)
        self.assign_values(path, values)

    def _jsonata_states(self, path: Mapping[str, Any], state: State, result: JSON) -> dict[str, JSON]:
        """``$states`` members besides ``context``: ``input``, and ``result``/``errorOutput`` where they exist."""
        extra: dict[str, JSON] = {"input": path["input"]}
        if result is not None or isinstance(state, ExecutionState):
            extra["result"] = result
        if "error_output" in path:
            extra["errorOutput"] = path["error_output"]
        return extra

    def assign_jsonpath(self, path: PathRecord, state: State, result: JSON) -> None:
        if state.assign is None or not state.assign.value:
            return
        values = templates.resolve(state.assign.value, self.scope(path, state, result), field="Assign", rng=self.rng())
        self.assign_values(path, values)

    def assign_values(self, path: PathRecord, values: JSON) -> None:
        if isinstance(values, Mapping):
            path.setdefault("pending_assign", {}).update(values)

    def apply_result(self, path: PathRecord, state: ExecutionState, result: JSON) -> None:
        """A Task/Map/Parallel state's result: ResultSelector, ResultPath, OutputPath (or Output), then move on."""
        if state.query_language == "JSONata":
            output = self.jsonata_output(path, state, state.output, default=result, result=result)
            self.assign_jsonata(path, state, state.assign, result=result)
            self.exit_state(path, state, output)
            return
        if state.result_selector is not None:
            result = templates.resolve(state.result_selector.value, self.scope(path, state, result), field="ResultSelector", rng=self.rng())
        self.assign_jsonpath(path, state, result)
        output = dataflow.put(path["input"], state.result_path, result)
        self.exit_state(path, state, self.output_path(path, state, output))

    # -- transitions --------------------------------------------------------

    def exit_state(self, path: PathRecord, state: State, output: JSON, *, next_state: str | None = None, end: bool = False) -> None:
        # Before anything serialises the output or the variables: deep enough, they would not be.
        if limits.too_deep(output) or limits.too_deep(path.get("pending_assign")):
            self.state_failed(path, state, "States.DataLimitExceeded", too_deep_cause(f"The output of the state '{state.name}'"))
            return
        # Assign takes effect after the state's own Output was computed (AWS order).
        assigned = path.pop("pending_assign", None)
        if assigned:
            path["vars"].update(assigned)
        path.pop("error_output", None)
        if size(output) > self.state["max_payload"]:
            self.state_failed(path, state, "States.DataLimitExceeded", too_large_cause(state.name))
            return
        if not isinstance(state, FailState):
            self.emit(path["pid"], f"{state.type}StateExited", "stateExitedEventDetails", _exited_details(state, output, assigned))
        target = next_state or (None if end or state.end else state.next)
        if isinstance(state, ChoiceState) and next_state is None:
            target = None
        if target is None:
            self.finish_path(path, output)
            return
        path["state"] = target
        path["input"] = output
        path["phase"] = "enter"
        self.ready.append(path["pid"])

    def finish_path(self, path: PathRecord, output: JSON) -> None:
        path["phase"] = "done"
        if path["parent"] is None:
            self.state["status"] = "SUCCEEDED"
            self.state["output"] = output
            self.emit(
                None,
                "ExecutionSucceeded",
                "executionSucceededEventDetails",
                {"output": text(output), "outputDetails": {"truncated": False}},
            )
            self._clear()
            return
        self.state["paths"].pop(path["pid"], None)
        parent = self._parent(path)
        if parent is not None:
            state = self.current(parent)
            self.types[type(state)].child_finished(self, parent, state, path, output)

    def fail_path(self, path: PathRecord, error: str | None, cause: str | None) -> None:
        """A path ended in failure that no Retry or Catch of its state handled."""
        path["phase"] = "done"
        if path["parent"] is None:
            # Where a redrive starts again: the failed top-level state, its input and the variables.
            self.state["redrive"] = {"state": path["state"], "input": path["input"], "vars": path["vars"]}
            self.fail_execution(error, cause)
            return
        self.state["paths"].pop(path["pid"], None)
        parent = self._parent(path)
        if parent is not None:
            state = self.current(parent)
            self.types[type(state)].child_failed(self, parent, state, path, error, cause)

    def _parent(self, child: Mapping[str, Any]) -> PathRecord | None:
        """The parent still waiting on ``child``, if any (a cancelled one is not)."""
        parent: PathRecord | None = self.state["paths"].get(child["parent"])
        if parent is None or parent.get("phase") != "children":
            return None
        return parent

    def fail_execution(self, error: str | None, cause: str | None, *, status: str = "FAILED") -> None:
        root = self.state["paths"].get(self.state.get("root"))
        if status in ("ABORTED", "TIMED_OUT") and root is not None and root.get("phase") != "done":
            # Stopped or timed out while a top-level state ran (a Wait, a Task, a Map): AWS redrives
            # ABORTED and TIMED_OUT executions as it does FAILED ones, from that state with its input.
            self.state["redrive"] = {"state": root["state"], "input": root["input"], "vars": root["vars"]}
        self.state["status"] = status
        self.state["error"] = error
        self.state["cause"] = cause
        details: dict[str, Any] = {}
        if error is not None:
            details["error"] = error
        if cause is not None:
            details["cause"] = cause
        kind = {"FAILED": "ExecutionFailed", "TIMED_OUT": "ExecutionTimedOut", "ABORTED": "ExecutionAborted"}[status]
        key = {
            "FAILED": "executionFailedEventDetails",
            "TIMED_OUT": "executionTimedOutEventDetails",
            "ABORTED": "executionAbortedEventDetails",
        }[status]
        self.emit(None, kind, key, details)
        self._clear()

    def _clear(self) -> None:
        self.state["paths"].clear()
        self.state["tasks"].clear()
        self.state["timers"].clear()

    # -- children -----------------------------------------------------------

    def cancel_children(self, parent: PathRecord) -> None:
        """Stop the branches or iterations still open: each running state records <Type>StateAborted,
        each inline Map iteration MapIterationAborted (as AWS does when a sibling fails)."""
        children = parent.get("children", {})
        parent_state = self.current(parent)
        for pid in list(children.get("open", [])):
            self._abort(pid)
            if children.get("kind") == "map" and not children.get("distributed"):
                slot = self.state["paths"].get(pid, {}).get("slot")
                details = {"name": parent_state.name, "index": slot}
                self.emit(parent["pid"], "MapIterationAborted", "mapIterationAbortedEventDetails", details)
            self._drop_path(pid)
        if "children" in parent:
            parent["children"]["open"] = []

    def _abort(self, pid: str) -> None:
        path = self.state["paths"].get(pid)
        if path is None or path["phase"] in ("enter", "done"):
            return
        for child in path.get("children", {}).get("open", []):
            self._abort(child)
        self.emit(pid, f"{self.current(path).type}StateAborted", None, None)

    def _drop_path(self, pid: str) -> None:
        path = self.state["paths"].pop(pid, None)
        if path is None:
            return
        for token, info in list(self.state["tasks"].items()):
            if info["pid"] == pid:
                del self.state["tasks"][token]
        for token, info in list(self.state["timers"].items()):
            if info.get("pid") == pid:
                del self.state["timers"][token]
        for child in path.get("children", {}).get("open", []):
            self._drop_path(child)

    # -- errors: Retry, then Catch ------------------------------------------

    def state_failed(self, path: PathRecord, state: State, error: str | None, cause: str | None) -> None:
        path.pop("pending_assign", None)
        # AWS: States.Runtime is never retried and never caught, not even when a
        # catcher names it explicitly (the recordings show the execution failing).
        if isinstance(state, ExecutionState) and error != "States.Runtime":
            # A branch that ended in a Fail state without an Error still fails its
            # Parallel/Map: only the wildcards (States.ALL, States.TaskFailed) match it.
            name = error if error is not None else ""
            delay = self._retry_delay(path, state, name)
            if delay is not None:
                path["retry_count"] += 1
                path["phase"] = "retrying"
                path["timer"] = self.arm_timer(path["pid"], "retry", limits.later(self.now, delay))
                return
            self.types[type(state)].failed(self, path, state, error)
            catcher = next((c for c in state.catch if error_matches(c.error_equals, name)), None)
            if catcher is not None:
                self._catch(path, state, catcher, error, cause)
                return
        self.fail_path(path, error, cause)

    def _retry_delay(self, path: PathRecord, state: ExecutionState, error: str) -> float | None:
        if error in NEVER_RETRIED:
            return None
        for index, retrier in enumerate(state.retry):
            if not error_matches(retrier.error_equals, error):
                continue
            attempts = path["retries"].get(str(index), 0)
            if attempts >= retrier.max_attempts:
                return None
            path["retries"][str(index)] = attempts + 1
            delay = retrier.delay_s(attempts)
            if retrier.jitter == "FULL":
                delay = self.rng().uniform(0, delay)
            return float(delay)
        return None

    def _catch(self, path: PathRecord, state: ExecutionState, catcher: Catcher, error: str | None, cause: str | None) -> None:
        error_output: dict[str, JSON] = {"Error": error}
        if cause is not None:
            error_output["Cause"] = cause
        elif error in ("States.Timeout", "States.HeartbeatTimeout"):
            # A timed-out task's history events and execution have no cause; its error output an empty one.
            error_output["Cause"] = ""
        try:
            if state.query_language == "JSONata":
                path["error_output"] = error_output
                output: JSON = self.jsonata_output(path, state, catcher.output, default=error_output)
                self.assign_jsonata(path, state, catcher.assign)
            else:
                if catcher.assign is not None and catcher.assign.value:
                    values = templates.resolve(catcher.assign.value, self.scope(path, state, error_output), field="Assign", rng=self.rng())
                    self.assign_values(path, values)
                output = dataflow.put(path["input"], catcher.result_path, error_output)
        except StatesError as exc:
            cause = self.runtime_cause(path, state, exc)
            self.evaluation_failed(path, state, exc, cause)
            self.fail_path(path, exc.error, cause)
            return
        assigned = path.pop("pending_assign", None)
        if assigned:
            path["vars"].update(assigned)
        path.pop("error_output", None)
        # A caught error still exits the state (AWS records TaskStateExited with the catcher's output).
        self.emit(path["pid"], f"{state.type}StateExited", "stateExitedEventDetails", _exited_details(state, output, assigned))
        path["state"] = catcher.next
        path["input"] = output
        path["phase"] = "enter"
        self.ready.append(path["pid"])

    # -- what the runtime answers -------------------------------------------

    def on_timer(self, event: TimerFired) -> None:
        info = self.state["timers"].pop(event.token, None)
        if info is None:
            return
        if info["kind"] == "execution-timeout":
            self.fail_execution("States.Timeout", "The execution timed out", status="TIMED_OUT")
            return
        path = self.state["paths"].get(info["pid"])
        if path is None:
            return
        state = self.current(path)
        if info["kind"] == "retry":
            path.pop("timer", None)
            path["phase"] = "running"
            self.types[type(state)].retry(self, path, state)
        else:
            self.types[type(state)].timer_fired(self, path, state, info)

    def on_task_succeeded(self, event: TaskSucceeded) -> None:
        found = self._task(event.token, pop=True)
        if found is not None:
            path, state, info = found
            self.types[type(state)].task_succeeded(self, path, state, info, event.output)

    def on_task_failed(self, event: TaskFailed) -> None:
        found = self._task(event.token, pop=True)
        if found is not None:
            path, state, info = found
            self.types[type(state)].task_failed(self, path, state, info, event.error, event.cause)

    def on_heartbeat(self, event: TaskHeartbeat) -> None:
        found = self._task(event.token, pop=False)
        if found is not None:
            path, state, info = found
            self.types[type(state)].heartbeat(self, path, state, event.token, info)

    def _task(self, token: str, *, pop: bool) -> tuple[PathRecord, State, dict[str, Any]] | None:
        """The path and state a command's answer is for; None for one no longer waited on."""
        info = self.state["tasks"].pop(token, None) if pop else self.state["tasks"].get(token)
        if info is None:
            return None
        path = self.state["paths"].get(info["pid"])
        if path is None:
            return None
        return path, self.current(path), info


def _exited_details(state: State, output: JSON, assigned: Mapping[str, JSON] | None) -> dict[str, Any]:
    details: dict[str, Any] = {"name": state.name, "output": text(output), "outputDetails": {"truncated": False}}
    if assigned:
        details["assignedVariables"] = {k: text(v) for k, v in assigned.items()}
        details["assignedVariablesDetails"] = {"truncated": False}
    return details


def history_events(state: Mapping[str, Any]) -> int:
    """Events in the execution's own history: those of Distributed Map child runs are theirs."""
    return int(state["event_id"]) - int(state.get("uncounted_events", 0))
