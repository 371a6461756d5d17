"""The pure ASL interpreter: (machine, execution state, event, now) -> Step.

An execution is a tree of *paths*: the root path walks the top-level states;
a Parallel state starts one child path per branch, a Map state one per item.
A path runs until it waits on something outside: a task result, a timer, or
its children. :func:`step` feeds one outside event in, runs every path that
can move, and returns the new state, the commands for the runtime to carry out
(:class:`InvokeTask`, :class:`StartTimer`) and the history events produced, in
AWS's shapes.

The execution state is a plain JSON object so that the runtime can persist it
after every step and resume after a crash. :func:`step` takes ownership of the
state it is given (it is updated in place and returned): callers keep only the
returned one. Task failures never raise: they are events and become data.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import math
import random
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from .. import jsonpath
from ..errors import StatesError
from ..types import JSON, json_type
from . import dataflow, intrinsics, limits, templates
from . import jsonata as jsonata_lang
from .choice import evaluate as evaluate_choice
from .commands import (
    Command,
    Event,
    InvokeTask,
    ReadItems,
    StartTimer,
    Step,
    StopExecution,
    TaskFailed,
    TaskHeartbeat,
    TaskSucceeded,
    TimerFired,
    WriteResults,
)
from .items import batch_items
from .model import (
    NEVER_RETRIED,
    UNCATCHABLE_BY_ALL,
    Catcher,
    ChoiceState,
    ExecutionState,
    FailState,
    ItemReader,
    JsonataChoice,
    MapState,
    ParallelState,
    PassState,
    Setting,
    State,
    StateMachine,
    SucceedState,
    TaskState,
    Template,
    WaitState,
)

# The commands and events are defined in commands.py; the interpreter re-exports them, as the
# module callers drive executions through.
__all__ = [
    "Command",
    "Event",
    "InvokeTask",
    "ReadItems",
    "StartTimer",
    "WriteResults",
    "Step",
    "TaskFailed",
    "TaskHeartbeat",
    "TaskSucceeded",
    "TimerFired",
    "StopExecution",
    "error_matches",
    "redrive",
    "start",
    "step",
]

DEFAULT_MAX_PAYLOAD = 256 * 1024
_LAMBDA_ARN_PREFIX = "arn:aws:lambda:"


# --------------------------------------------------------------- public API


def start(
    machine: StateMachine,
    input: JSON,
    *,
    execution_arn: str,
    execution_name: str,
    state_machine_arn: str,
    state_machine_name: str,
    now: datetime,
    role_arn: str = "arn:aws:iam::111111111111:role/sluiceway",
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD,
    redrive_count: int = 0,
) -> Step:
    """Begin an execution: ExecutionStarted, then run until every path waits."""
    start_time = _iso(now)
    state: dict[str, Any] = {
        "status": "RUNNING",
        "event_id": 0,
        "seq": 0,
        "max_payload": max_payload_bytes,
        "context": {
            "Execution": {
                "Id": execution_arn,
                "Input": input,
                "Name": execution_name,
                "RoleArn": role_arn,
                "StartTime": start_time,
                "RedriveCount": redrive_count,
            },
            "StateMachine": {"Id": state_machine_arn, "Name": state_machine_name},
        },
        "paths": {},
        "tasks": {},
        "timers": {},
        "output": None,
        "error": None,
        "cause": None,
    }
    # Checked before anything serialises or walks the input: too deep for the JSON encoder.
    too_deep = limits.too_deep(input)
    if too_deep:
        state["context"]["Execution"]["Input"] = None
    run = _Run(machine, state, now)
    run.emit(
        None,
        "ExecutionStarted",
        "executionStartedEventDetails",
        {
            "input": "" if too_deep else _text(input),
            "inputDetails": {"truncated": too_deep},
            "roleArn": role_arn,
            "stateMachineArn": state_machine_arn,
        },
    )
    if too_deep:
        run.fail_execution("States.DataLimitExceeded", _too_deep_cause("The execution input"))
        return run.result()
    if _size(input) > max_payload_bytes:
        run.fail_execution(
            "States.DataLimitExceeded",
            f"The state/task input of size {_size(input)} bytes exceeds the maximum of {max_payload_bytes} bytes",
        )
        return run.result()
    root = run.new_path(parent=None, slot=None, machine_path=[], state_name=machine.start_at, input=input)
    state["root"] = root
    if machine.timeout_s:
        token = run.token("execution-timeout")
        due = limits.later(now, machine.timeout_s)
        state["timers"][token] = {"pid": None, "kind": "execution-timeout", "due": due.isoformat()}
        run.commands.append(StartTimer(token, due))
    with run.history_guard():
        run.drain()
    return run.result()


def step(machine: StateMachine, state: dict[str, Any], event: Event, now: datetime) -> Step:
    """Feed one event into a running execution and run until every path waits.

    Events for tokens the execution no longer waits on (a cancelled branch, a
    task that timed out) are ignored, so redelivery after a crash is harmless.
    """
    run = _Run(machine, state, now)
    if state["status"] != "RUNNING":
        return run.result()
    with run.history_guard():
        if isinstance(event, StopExecution):
            run.fail_execution(event.error, event.cause, status=event.status)
        elif isinstance(event, TaskSucceeded):
            run.on_task_succeeded(event)
        elif isinstance(event, TaskFailed):
            run.on_task_failed(event)
        elif isinstance(event, TimerFired):
            run.on_timer(event)
        elif isinstance(event, TaskHeartbeat):
            run.on_heartbeat(event)
        run.drain()
    return run.result()


def redrive(machine: StateMachine, state: dict[str, Any], now: datetime) -> Step:
    """RedriveExecution: run a failed, timed-out or aborted execution again from the state that failed.

    The failed top-level state is entered again with the input it had, and the
    variables assigned before it; states that had succeeded are not run again.
    A Map or Parallel state that failed runs again as a whole.

    Raises:
        ValueError: the execution is running, succeeded, or never entered a state.
    """
    if state["status"] not in ("FAILED", "TIMED_OUT", "ABORTED"):
        raise ValueError(f"Execution is {state['status']}: only failed, timed-out or aborted executions can be redriven")
    point = state.get("redrive")
    if point is None:
        raise ValueError("Execution has no state to redrive from")
    if _history_events(state) >= limits.MAX_HISTORY_EVENTS - 1:
        raise ValueError("Execution cannot be redriven: its history has reached the maximum number of events")
    run = _Run(machine, state, now)
    execution = state["context"]["Execution"]
    execution["RedriveCount"] = int(execution.get("RedriveCount", 0)) + 1
    state.update({"status": "RUNNING", "output": None, "error": None, "cause": None})
    with run.history_guard():
        run.emit(None, "ExecutionRedriven", "executionRedrivenEventDetails", {"redriveCount": execution["RedriveCount"]})
        root = run.new_path(parent=None, slot=None, machine_path=[], state_name=point["state"], input=point["input"])
        state["paths"][root]["vars"] = dict(point.get("vars") or {})
        state["root"] = root
        run.drain()
    return run.result()


def pending_commands(machine: StateMachine, state: Mapping[str, Any]) -> list[Command]:
    """The commands a restarted runtime must re-issue: in-flight tasks and armed timers."""
    commands: list[Command] = []
    for token, info in state.get("timers", {}).items():
        commands.append(StartTimer(token, datetime.fromisoformat(info["due"])))
    for token, info in state.get("tasks", {}).items():
        if info.get("kind") in ("reader", "writer"):
            commands.append(_map_io_command(token, info))
            continue
        commands.append(
            InvokeTask(
                token=token,
                resource=info["resource"],
                payload=info["payload"],
                state_name=info["state"],
                timeout_s=info.get("timeout"),
                heartbeat_s=info.get("heartbeat"),
                wait_for_token=info.get("wait_for_token", False),
            )
        )
    return commands


def make_task_token(execution_arn: str, task: str) -> str:
    """A ``$$.Task.Token``: names its execution and task, plus a digest so it can't be guessed from them."""
    digest = hashlib.sha256(f"{execution_arn}|{task}|sluiceway".encode()).hexdigest()[:20]
    arn = base64.urlsafe_b64encode(execution_arn.encode()).decode().rstrip("=")
    return f"{arn}.{task}.{digest}"


def parse_task_token(task_token: str) -> tuple[str, str]:
    """``(execution_arn, task)`` named by a task token.

    Raises:
        ValueError: the token is malformed or was not made by :func:`make_task_token`.
    """
    try:
        arn_part, task, digest = task_token.split(".")
        arn = base64.urlsafe_b64decode(arn_part + "=" * (-len(arn_part) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise ValueError("Invalid Token: malformed task token") from None
    if make_task_token(arn, task) != task_token:
        raise ValueError("Invalid Token: the task token does not match")
    return arn, task


def _map_io_command(token: str, info: Mapping[str, Any]) -> ReadItems | WriteResults:
    if info["kind"] == "reader":
        return ReadItems(token, info["resource"], info["parameters"], info["config"], info["state"])
    return WriteResults(token, info["resource"], info["parameters"], info["config"], info["records"], info["map_run"], info["state"])


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


# ------------------------------------------------------------ the run itself


class _Failure(Exception):
    """A state failed: carries the ASL error and cause up to Retry/Catch handling."""

    def __init__(self, error: str, cause: str | None) -> None:
        super().__init__(error)
        self.error = error
        self.cause = cause


class _HistoryFull(Exception):
    """The execution has just failed for reaching the history limit: stop whatever was running."""


class _Run:
    """One call of start/step: the mutable working set around the state dict."""

    def __init__(self, machine: StateMachine, state: dict[str, Any], now: datetime) -> None:
        self.machine = machine
        self.state = state
        self.now = now
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

    def emit(self, pid: str | None, type_: str, details_key: str | None, details: Mapping[str, Any] | None) -> int:
        path = self.state["paths"].get(pid) if pid else None
        if _in_child_history(path, type_):
            self.state["uncounted_events"] = self.state.get("uncounted_events", 0) + 1
        elif _history_events(self.state) + 1 >= limits.MAX_HISTORY_EVENTS and type_ != "ExecutionSucceeded":
            self._history_limit_reached()
        self.state["event_id"] += 1
        event_id = int(self.state["event_id"])
        previous = path["last_event"] if path else event_id - 1
        event: dict[str, Any] = {
            "id": event_id,
            "previousEventId": previous,
            "timestamp": _iso(self.now),
            "type": type_,
        }
        if details_key is not None and details is not None:
            event[details_key] = dict(details)
        self.history.append(event)
        if path is not None:
            path["last_event"] = event_id
        return event_id

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
        if own_history or (parent_path is not None and parent_path.get("own_history")):
            self.state["paths"][pid]["own_history"] = True
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
        ctx["State"] = {"EnteredTime": path.get("entered", _iso(self.now)), "Name": state.name}
        if isinstance(state, ExecutionState):
            ctx["State"]["RetryCount"] = path["retry_count"]
        ctx.update(path.get("context_extra", {}))
        if path.get("task_token"):
            ctx["Task"] = {"Token": path["task_token"]}
        return ctx

    def scope(self, path: Mapping[str, Any], state: State, data: JSON) -> jsonpath.Scope:
        return jsonpath.Scope(input=data, context=self.context(path, state), variables=self.variables(path))

    def bindings(self, path: Mapping[str, Any], state: State, **states: JSON) -> dict[str, JSON]:
        values = self.variables(path)
        states_var = {"context": self.context(path, state)}
        states_var.update(states)
        values["states"] = states_var
        return values

    # -- driving ------------------------------------------------------------

    def drain(self) -> None:
        while self.ready and self.state["status"] == "RUNNING":
            pid = self.ready.pop(0)
            path = self.state["paths"].get(pid)
            if path is None or path["phase"] != "enter":
                continue
            self.enter(path)

    def enter(self, path: dict[str, Any]) -> None:
        state = self.current(path)
        path["entered"] = _iso(self.now)
        path["retry_count"] = 0
        path["retries"] = {}
        path["phase"] = "running"
        self.emit(
            path["pid"],
            f"{state.type}StateEntered",
            "stateEnteredEventDetails",
            {"name": state.name, "input": _text(path["input"]), "inputDetails": {"truncated": False}},
        )
        self.execute(path, state)

    def execute(self, path: dict[str, Any], state: State) -> None:
        try:
            handler = getattr(self, f"_state_{state.type.lower()}")
            handler(path, state)
        except _Failure as failure:
            self.state_failed(path, state, failure.error, failure.cause)
        except StatesError as exc:
            self.state_failed(path, state, exc.error, self._runtime_cause(path, state, exc))

    def _runtime_cause(self, path: Mapping[str, Any], state: State, exc: StatesError) -> str:
        entered = self._entered_event_id(path)
        return f"An error occurred while executing the state '{state.name}' (entered at the event id #{entered}). {exc.cause}"

    def _entered_event_id(self, path: Mapping[str, Any]) -> int:
        return int(path.get("entered_event", path["last_event"]))

    # -- state types --------------------------------------------------------

    def _effective_input(self, path: Mapping[str, Any], state: State) -> JSON:
        if state.query_language == "JSONata":
            return path["input"]
        if state.input_path is None:
            return {}
        return jsonpath.select(state.input_path, self.scope(path, state, path["input"]), field=None)

    def _state_pass(self, path: dict[str, Any], state: PassState) -> None:
        path["entered_event"] = path["last_event"]
        if state.query_language == "JSONata":
            output = self._jsonata_output(path, state, state.output, default=path["input"])
            self._assign_jsonata(path, state, state.assign)
            self.exit_state(path, state, output)
            return
        effective = self._effective_input(path, state)
        if state.result is not None:
            result = state.result.value
        elif state.parameters is not None:
            result = templates.resolve(state.parameters.value, self.scope(path, state, effective), field="Parameters", rng=self.rng())
        else:
            result = effective
        self._assign_jsonpath(path, state, result)
        output = dataflow.put(path["input"], state.result_path, result)
        self.exit_state(path, state, self._output_path(path, state, output))

    def _state_succeed(self, path: dict[str, Any], state: SucceedState) -> None:
        path["entered_event"] = path["last_event"]
        if state.query_language == "JSONata":
            output = self._jsonata_output(path, state, state.output, default=path["input"])
        else:
            output = self._output_path(path, state, self._effective_input(path, state))
        self.exit_state(path, state, output, end=True)

    def _state_fail(self, path: dict[str, Any], state: FailState) -> None:
        path["entered_event"] = path["last_event"]
        error = self._fail_field(path, state, state.error)
        cause = self._fail_field(path, state, state.cause)
        self.fail_path(path, None if error is None else str(error), None if cause is None else str(cause))

    def _fail_field(self, path: Mapping[str, Any], state: FailState, setting: Setting | None) -> JSON:
        if setting is None:
            return None
        if state.query_language == "JSONata":
            if setting.path is not None:
                return None  # ErrorPath and CausePath are JSONPath fields
            return _jsonata_value(setting.value, self.bindings(path, state, input=path["input"]), self.rng(), setting.name, self.now)
        if setting.path is None:
            return setting.value
        scope = self.scope(path, state, path["input"])
        if intrinsics.is_intrinsic(setting.path):
            return intrinsics.evaluate(setting.path, scope, self.rng(), field=setting.field)
        return jsonpath.select(setting.path, scope, field=setting.field)

    def _state_choice(self, path: dict[str, Any], state: ChoiceState) -> None:
        path["entered_event"] = path["last_event"]
        if state.query_language == "JSONata":
            bindings = self.bindings(path, state, input=path["input"])
            for rule in state.choices:
                assert isinstance(rule, JsonataChoice)
                matched = self._condition(rule.condition, bindings)
                if matched:
                    output = self._jsonata_output(path, state, rule.output, default=path["input"])
                    self._assign_jsonata(path, state, rule.assign)
                    self.exit_state(path, state, output, next_state=rule.next)
                    return
            default = state.default
            if default is None:
                raise _Failure("States.NoChoiceMatched", "No Matches!")
            output = self._jsonata_output(path, state, state.output, default=path["input"])
            self._assign_jsonata(path, state, state.assign)
            self.exit_state(path, state, output, next_state=default)
            return
        effective = self._effective_input(path, state)
        scope = self.scope(path, state, effective)
        for rule in state.choices:
            assert not isinstance(rule, JsonataChoice)
            if evaluate_choice(rule, scope):
                if rule.assign:
                    self._assign_values(path, templates.resolve(rule.assign, scope, field="Assign", rng=self.rng()))
                self.exit_state(path, state, self._output_path(path, state, effective), next_state=rule.next)
                return
        default = state.default
        if default is None:
            raise _Failure("States.NoChoiceMatched", "No Matches!")
        self._assign_jsonpath(path, state, effective)
        self.exit_state(path, state, self._output_path(path, state, effective), next_state=default)

    def _condition(self, condition: JSON, bindings: Mapping[str, JSON]) -> bool:
        # An expression is held to its type like Map's Items ("returned an unexpected result
        # type. Expected 'boolean' ..."); one that yields a function yields nothing, since AWS
        # turns results into JSON as JSON.stringify does, and that drops functions.
        value = jsonata_lang.resolve(
            condition, bindings, self.rng(), field="Condition", now=self.now, expected="boolean"
        )
        if not isinstance(value, bool):
            raise StatesError(
                "States.QueryEvaluationError",
                f"The JSONata expression in the field 'Condition' must return a boolean, got {_text(value)}",
            )
        return value

    def _state_wait(self, path: dict[str, Any], state: WaitState) -> None:
        path["entered_event"] = path["last_event"]
        if path.get("waited"):
            return
        due = self._wait_due(path, state)
        token = self.token("wait")
        path["phase"] = "waiting"
        path["timer"] = token
        self.state["timers"][token] = {"pid": path["pid"], "kind": "wait", "due": due.isoformat()}
        self.commands.append(StartTimer(token, due))

    def _wait_due(self, path: Mapping[str, Any], state: WaitState) -> datetime:
        if state.query_language == "JSONata":
            bindings = self.bindings(path, state, input=path["input"])
            if state.seconds is not None:
                seconds = _jsonata_value(state.seconds.value, bindings, self.rng(), "Seconds", self.now)
                return limits.later(self.now, _wait_seconds(seconds, "Seconds", None))
            assert state.timestamp is not None
            stamp = _jsonata_value(state.timestamp.value, bindings, self.rng(), "Timestamp", self.now)
            return _wait_timestamp(stamp, "Timestamp", None)
        effective = self._effective_input(path, state)
        scope = self.scope(path, state, effective)
        if state.seconds is not None:
            if state.seconds.path is None:
                return limits.later(self.now, _wait_seconds(state.seconds.value, "Seconds", None))
            value = _select_param(state.seconds.path, scope, "SecondsPath")
            return limits.later(self.now, _wait_seconds(value, "SecondsPath", state.seconds.path))
        assert state.timestamp is not None
        if state.timestamp.path is None:
            return _wait_timestamp(state.timestamp.value, "Timestamp", None)
        value = _select_param(state.timestamp.path, scope, "TimestampPath")
        return _wait_timestamp(value, "TimestampPath", state.timestamp.path)

    def _finish_wait(self, path: dict[str, Any]) -> None:
        state = self.current(path)
        path["phase"] = "running"
        path.pop("timer", None)
        try:
            if state.query_language == "JSONata":
                output = self._jsonata_output(path, state, state.output, default=path["input"])
                self._assign_jsonata(path, state, state.assign)
            else:
                effective = self._effective_input(path, state)
                self._assign_jsonpath(path, state, effective)
                output = self._output_path(path, state, effective)
            self.exit_state(path, state, output)
        except StatesError as exc:
            self.state_failed(path, state, exc.error, self._runtime_cause(path, state, exc))

    # Task -----------------------------------------------------------------

    def _state_task(self, path: dict[str, Any], state: TaskState) -> None:
        path["entered_event"] = path["last_event"]
        self._schedule_task(path, state)

    def _schedule_task(self, path: dict[str, Any], state: TaskState) -> None:
        resource = state.resource
        wait_for_token = resource.endswith(".waitForTaskToken")
        token = self.token("task")
        if wait_for_token:
            path["task_token"] = make_task_token(self.state["context"]["Execution"]["Id"], token)
        if state.query_language == "JSONata":
            bindings = self.bindings(path, state, input=path["input"])
            payload = (
                jsonata_lang.resolve(state.arguments.value, bindings, self.rng(), field="Arguments", now=self.now)
                if state.arguments is not None
                else path["input"]
            )
            timeout = _number_field(state.timeout, bindings, self.rng(), self.now)
            heartbeat = _number_field(state.heartbeat, bindings, self.rng(), self.now)
        else:
            effective = self._effective_input(path, state)
            scope = self.scope(path, state, effective)
            payload = (
                templates.resolve(state.parameters.value, scope, field="Parameters", rng=self.rng())
                if state.parameters is not None
                else effective
            )
            timeout = _path_number(state.timeout, scope)
            heartbeat = _path_number(state.heartbeat, scope)
        resource_type, resource_name = _resource_parts(resource)
        if resource.startswith(_LAMBDA_ARN_PREFIX):
            details: dict[str, Any] = {"resource": resource, "input": _text(payload), "inputDetails": {"truncated": False}}
            if timeout is not None:
                details["timeoutInSeconds"] = int(timeout)
            self.emit(path["pid"], "LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails", details)
            self.emit(path["pid"], "LambdaFunctionStarted", None, None)
        else:
            details = {
                "resourceType": resource_type,
                "resource": resource_name,
                "region": _region(self.state),
                "parameters": _text(payload),
            }
            if timeout is not None:
                details["timeoutInSeconds"] = int(timeout)
            if heartbeat is not None:
                details["heartbeatInSeconds"] = int(heartbeat)
            self.emit(path["pid"], "TaskScheduled", "taskScheduledEventDetails", details)
            self.emit(path["pid"], "TaskStarted", "taskStartedEventDetails", {"resourceType": resource_type, "resource": resource_name})
        path["phase"] = "task"
        path["task"] = token
        self.state["tasks"][token] = {
            "pid": path["pid"],
            "resource": resource,
            "payload": payload,
            "state": state.name,
            "timeout": timeout,
            "heartbeat": heartbeat,
            "wait_for_token": wait_for_token,
            "task_token": path.get("task_token"),
        }
        self.commands.append(InvokeTask(token, resource, payload, state.name, timeout, heartbeat, wait_for_token, state.credentials))
        if timeout is not None:
            timer = self.token("timeout")
            due = limits.later(self.now, timeout)
            self.state["timers"][timer] = {"pid": path["pid"], "kind": "task-timeout", "task": token, "due": due.isoformat()}
            path["timeout_timer"] = timer
            self.commands.append(StartTimer(timer, due))
        if heartbeat is not None:
            self._arm_heartbeat(path, token, heartbeat)

    def _arm_heartbeat(self, path: dict[str, Any], task: str, seconds: float) -> None:
        old = path.pop("heartbeat_timer", None)
        if old:
            self.state["timers"].pop(old, None)
        timer = self.token("heartbeat")
        due = limits.later(self.now, seconds)
        self.state["timers"][timer] = {"pid": path["pid"], "kind": "heartbeat", "task": task, "due": due.isoformat()}
        path["heartbeat_timer"] = timer
        self.commands.append(StartTimer(timer, due))

    def on_heartbeat(self, event: TaskHeartbeat) -> None:
        info = self.state["tasks"].get(event.token)
        if info is None or info.get("heartbeat") is None:
            return
        path = self.state["paths"].get(info["pid"])
        if path is not None:
            self._arm_heartbeat(path, event.token, info["heartbeat"])

    def on_task_succeeded(self, event: TaskSucceeded) -> None:
        info = self.state["tasks"].pop(event.token, None)
        if info is None:
            return
        path = self.state["paths"].get(info["pid"])
        if path is None:
            return
        too_deep = limits.too_deep(event.output)
        if too_deep and info.get("kind") in ("reader", "writer"):
            path["phase"] = "running"
            path.pop("task", None)
            cause = _too_deep_cause(f"The result of the state '{info['state']}'")
            self.state_failed(path, self.current(path), "States.DataLimitExceeded", cause)
            return
        if info.get("kind") in ("reader", "writer"):
            self._map_io_done(path, info, event.output)
            return
        self._disarm_task_timer(path)
        state = self.current(path)
        resource = info["resource"]
        resource_type, resource_name = _resource_parts(resource)
        output_text = "" if too_deep else _text(event.output)
        if resource.startswith(_LAMBDA_ARN_PREFIX):
            self.emit(
                path["pid"],
                "LambdaFunctionSucceeded",
                "lambdaFunctionSucceededEventDetails",
                {"output": output_text, "outputDetails": {"truncated": too_deep}},
            )
        else:
            self.emit(
                path["pid"],
                "TaskSucceeded",
                "taskSucceededEventDetails",
                {
                    "resourceType": resource_type,
                    "resource": resource_name,
                    "output": output_text,
                    "outputDetails": {"truncated": too_deep},
                },
            )
        path["phase"] = "running"
        path.pop("task", None)
        path.pop("task_token", None)
        try:
            if too_deep:
                raise _Failure("States.DataLimitExceeded", _too_deep_cause(f"The result of the state '{state.name}'"))
            if _size(event.output) > self.state["max_payload"]:
                raise _Failure(
                    "States.DataLimitExceeded",
                    f"The state/task '{state.name}' returned a result with a size exceeding the maximum number of bytes service limit.",
                )
            assert isinstance(state, TaskState)
            self._task_result(path, state, event.output)
        except _Failure as failure:
            self.state_failed(path, state, failure.error, failure.cause)
        except StatesError as exc:
            self.state_failed(path, state, exc.error, self._runtime_cause(path, state, exc))

    def _task_result(self, path: dict[str, Any], state: ExecutionState, result: JSON) -> None:
        """Apply the result-processing fields of a Task/Map/Parallel state and move on."""
        if state.query_language == "JSONata":
            output = self._jsonata_output(path, state, state.output, default=result, result=result)
            self._assign_jsonata(path, state, state.assign, result=result)
            self.exit_state(path, state, output)
            return
        if state.result_selector is not None:
            result = templates.resolve(state.result_selector.value, self.scope(path, state, result), field="ResultSelector", rng=self.rng())
        self._assign_jsonpath(path, state, result)
        output = dataflow.put(path["input"], state.result_path, result)
        self.exit_state(path, state, self._output_path(path, state, output))

    def on_task_failed(self, event: TaskFailed) -> None:
        info = self.state["tasks"].pop(event.token, None)
        if info is None:
            return
        path = self.state["paths"].get(info["pid"])
        if path is None:
            return
        if info.get("kind") in ("reader", "writer"):
            path["phase"] = "running"
            error = "States.ItemReaderFailed" if info["kind"] == "reader" else "States.ResultWriterFailed"
            self.state_failed(path, self.current(path), error, event.cause or event.error)
            return
        self._disarm_task_timer(path)
        self._task_failed(path, info, event.error, event.cause)

    def _task_failed(self, path: dict[str, Any], info: Mapping[str, Any], error: str, cause: str | None) -> None:
        state = self.current(path)
        if error == "States.Timeout" and cause is None:
            cause = ""  # AWS reports a timed-out task with an empty Cause, not a missing one
        if info["resource"].startswith(_LAMBDA_ARN_PREFIX):
            cause = _lambda_cause(cause)
        resource = info["resource"]
        resource_type, resource_name = _resource_parts(resource)
        details: dict[str, Any] = {"error": error}
        if cause is not None:
            details["cause"] = cause
        if resource.startswith(_LAMBDA_ARN_PREFIX) and error != "States.Timeout":
            self.emit(path["pid"], "LambdaFunctionFailed", "lambdaFunctionFailedEventDetails", details)
        elif error == "States.Timeout":
            self.emit(
                path["pid"],
                "TaskTimedOut" if not resource.startswith(_LAMBDA_ARN_PREFIX) else "LambdaFunctionTimedOut",
                "taskTimedOutEventDetails" if not resource.startswith(_LAMBDA_ARN_PREFIX) else "lambdaFunctionTimedOutEventDetails",
                ({"resourceType": resource_type, "resource": resource_name} if not resource.startswith(_LAMBDA_ARN_PREFIX) else {})
                | details,
            )
        else:
            self.emit(
                path["pid"],
                "TaskFailed",
                "taskFailedEventDetails",
                {"resourceType": resource_type, "resource": resource_name} | details,
            )
        path["phase"] = "running"
        path.pop("task", None)
        path.pop("task_token", None)
        self.state_failed(path, state, error, cause)

    def _disarm_task_timer(self, path: dict[str, Any]) -> None:
        for key in ("timeout_timer", "heartbeat_timer"):
            timer = path.pop(key, None)
            if timer:
                self.state["timers"].pop(timer, None)

    # Parallel and Map -----------------------------------------------------

    def _state_parallel(self, path: dict[str, Any], state: ParallelState) -> None:
        path["entered_event"] = path["last_event"]
        if state.query_language == "JSONata":
            bindings = self.bindings(path, state, input=path["input"])
            branch_input = (
                jsonata_lang.resolve(state.arguments.value, bindings, self.rng(), field="Arguments", now=self.now)
                if state.arguments is not None
                else path["input"]
            )
        else:
            effective = self._effective_input(path, state)
            branch_input = (
                templates.resolve(state.parameters.value, self.scope(path, state, effective), field="Parameters", rng=self.rng())
                if state.parameters is not None
                else effective
            )
        self.emit(path["pid"], "ParallelStateStarted", None, None)
        path["phase"] = "children"
        path["children"] = {
            "kind": "parallel",
            "results": [None] * len(state.branches),
            "open": [],
            "done": 0,
            "total": len(state.branches),
        }
        for index, branch in enumerate(state.branches):
            child = self.new_path(
                parent=path["pid"],
                slot=index,
                machine_path=[*path["machine"], [state.name, index]],
                state_name=branch.start_at,
                input=branch_input,
                last_event=path["last_event"],
            )
            path["children"]["open"].append(child)

    def _state_map(self, path: dict[str, Any], state: MapState) -> None:
        path["entered_event"] = path["last_event"]
        if state.item_reader is not None and "reader_items" not in path:
            self._schedule_map_io(path, state, "reader", None)
            return
        if "reader_items" in path:
            items = path.pop("reader_items")
            scope_input = path["input"] if state.query_language == "JSONata" else self._effective_input(path, state)
        elif state.query_language == "JSONata":
            bindings = self.bindings(path, state, input=path["input"])
            if state.items is not None:
                template = state.items.value
                items = _jsonata_value(template, bindings, self.rng(), "Items", self.now)
                if not isinstance(items, list):
                    expression = _inner(template) if isinstance(template, str) else _text(template)
                    raise StatesError(
                        "States.QueryEvaluationError",
                        f"The JSONata expression '{expression}' specified for the field 'Items' returned an unexpected "
                        f"result type. Expected 'array', but was '{json_type(items)}' for value: {_text(items)}",
                    )
            else:
                items = path["input"]
                if not isinstance(items, list):
                    raise StatesError("States.QueryEvaluationError", f"Map state input must be an array but was: {_text(items)}")
            scope_input = path["input"]
        else:
            scope_input = self._effective_input(path, state)
            items = jsonpath.select(state.items_path, self.scope(path, state, scope_input), field=None)
            if not isinstance(items, list):
                raise StatesError(
                    "States.Runtime",
                    f"Item path {state.items_path} in state {state.name} does not reference an array: {_text(items)}",
                )
        scope = self.scope(path, state, scope_input)
        if state.item_reader is not None:
            max_items = self._map_int(state.item_reader.max_items, scope, path, state, default=None)
            if max_items is not None:
                items = items[:max_items]
        if state.item_batcher is not None:
            batcher = state.item_batcher
            batch_input: JSON = None
            if batcher.batch_input is not None:
                batch_input = (
                    jsonata_lang.resolve(
                        batcher.batch_input.value,
                        self.bindings(path, state, input=path["input"]),
                        self.rng(),
                        field="BatchInput",
                        now=self.now,
                    )
                    if state.query_language == "JSONata"
                    else templates.resolve(batcher.batch_input.value, scope, field="BatchInput", rng=self.rng())
                )
            items = batch_items(
                items,
                max_items=self._map_int(batcher.max_items_per_batch, scope, path, state, default=None),
                max_bytes=self._map_int(batcher.max_input_bytes_per_batch, scope, path, state, default=None),
                batch_input=batch_input,
            )
        max_concurrency = self._map_int(state.max_concurrency, scope, path, state, default=0)
        tolerated_count = self._map_int(state.tolerated_failure_count, scope, path, state, default=None)
        tolerated_pct = self._map_number(state.tolerated_failure_percentage, scope, path, state)
        if tolerated_count is not None and tolerated_count < 0:
            raise StatesError("States.Runtime", "ToleratedFailureCount cannot be negative.")
        if tolerated_pct is not None and not 0 <= tolerated_pct <= 100:
            raise StatesError("States.Runtime", "ToleratedFailurePercentage must be between 0 and 100.")
        self.emit(path["pid"], "MapStateStarted", "mapStateStartedEventDetails", {"length": len(items)})
        path["phase"] = "children"
        path["children"] = {
            "kind": "map",
            "items": items,
            "selector": state.item_selector_field if state.item_selector is not None else None,
            "results": [None] * len(items),
            "next": 0,
            "open": [],
            "done": 0,
            "failed": 0,
            "total": len(items),
            "max": max_concurrency or 0,
            "tolerated_count": tolerated_count,
            "tolerated_pct": tolerated_pct,
            "records": [None] * len(items) if state.result_writer is not None else None,
            "distributed": state.distributed,
        }
        if not items:
            self._children_done(path, state)
            return
        self._spawn_map_items(path, state)

    def _schedule_map_io(self, path: dict[str, Any], state: MapState, kind: str, records: list[Any] | None) -> None:
        """Ask the runtime to read items (ItemReader) or write results (ResultWriter)."""
        io = state.item_reader if kind == "reader" else state.result_writer
        assert io is not None
        if state.query_language == "JSONata":
            bindings = self.bindings(path, state, input=path["input"])
            arguments = io.arguments.value if io.arguments is not None else {}
            parameters = jsonata_lang.resolve(arguments, bindings, self.rng(), field="Arguments", now=self.now)
        else:
            scope = self.scope(path, state, self._effective_input(path, state))
            template = io.parameters.value if io.parameters is not None else {}
            parameters = templates.resolve(template, scope, field="Parameters", rng=self.rng())
        token = self.token(kind)
        info: dict[str, Any] = {"pid": path["pid"], "kind": kind, "resource": io.resource, "state": state.name, "parameters": parameters}
        self.state["tasks"][token] = info
        path["phase"] = "task"
        path["task"] = token
        if isinstance(io, ItemReader):
            info["config"] = dict(io.reader_config)
        else:
            info["config"] = dict(io.writer_config)
            info["records"] = [r for r in records or [] if r]
            info["map_run"] = (
                f"{self.state['context']['StateMachine']['Id'].replace(':stateMachine:', ':mapRun:')}/{state.name}:"
                f"{hashlib.sha256((self.state['context']['Execution']['Id'] + token).encode()).hexdigest()[:12]}"
            )
            path["map_run_arn"] = info["map_run"]
        self.commands.append(_map_io_command(token, info))

    def _map_io_done(self, path: dict[str, Any], info: Mapping[str, Any], output: JSON) -> None:
        state = self.current(path)
        assert isinstance(state, MapState)
        path["phase"] = "running"
        path.pop("task", None)
        if info["kind"] == "reader":
            if not isinstance(output, list):
                self.state_failed(path, state, "States.ItemReaderFailed", "The item reader did not return a list of items")
                return
            path["reader_items"] = output
            self.execute(path, state)
            return
        result = {"MapRunArn": path.pop("map_run_arn", None), "ResultWriterDetails": output}
        self._map_or_parallel_done(path, state, "map", result)

    def _map_int(
        self, setting: Setting | None, scope: jsonpath.Scope, path: Mapping[str, Any], state: MapState, *, default: int | None
    ) -> int | None:
        if setting is None:
            return default
        name = setting.name
        if state.query_language == "JSONata" and isinstance(setting.value, str):
            value = _jsonata_value(setting.value, self.bindings(path, state, input=path["input"]), self.rng(), name, self.now)
        elif setting.path is None:
            value = setting.value
        else:
            raw = jsonpath.select(setting.path, scope, field=None)
            value = self._path_int(raw)
            if value is None:
                raise StatesError(
                    "States.Runtime",
                    f'The {name}Path field refers to value "{_text(raw)}" which is not a valid integer: {setting.path}',
                )
        if not isinstance(value, int) or isinstance(value, bool):
            raise StatesError("States.Runtime", f"{name} must be an integer, got {_text(value)}")
        return value

    def _path_int(self, value: JSON) -> int | None:
        """An integer from a ``*Path`` field; AWS also accepts a string holding one."""
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value.strip())
        return None

    def _map_number(self, setting: Setting | None, scope: jsonpath.Scope, path: Mapping[str, Any], state: MapState) -> float | None:
        if setting is None:
            return None
        name = setting.name
        if state.query_language == "JSONata" and isinstance(setting.value, str):
            value = _jsonata_value(setting.value, self.bindings(path, state, input=path["input"]), self.rng(), name, self.now)
        elif setting.path is None:
            value = setting.value
        else:
            value = jsonpath.select(setting.path, scope, field=None)
            if isinstance(value, str):  # AWS accepts a number held in a string here
                try:
                    value = float(value)
                except ValueError:
                    pass
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise StatesError("States.Runtime", f"{name} must be a number, got {_text(value)}")
        return float(value)

    def _spawn_map_items(self, path: dict[str, Any], state: MapState) -> None:
        children = path["children"]
        processor = state.item_processor
        while children["next"] < children["total"] and (children["max"] == 0 or len(children["open"]) < children["max"]):
            index = children["next"]
            children["next"] += 1
            item = children["items"][index]
            item_context = {"Map": {"Item": {"Index": index, "Value": item}}}
            if state.item_selector is not None:
                template = state.item_selector.value
                ctx_path = dict(path)
                ctx_path["context_extra"] = {**path.get("context_extra", {}), **item_context}
                if state.query_language == "JSONata":
                    bindings = self.bindings(ctx_path, state, input=path["input"])
                    item_input = jsonata_lang.resolve(template, bindings, self.rng(), field="ItemSelector", now=self.now)
                else:
                    item_input = templates.resolve(
                        template,
                        self.scope(ctx_path, state, self._effective_input(path, state)),
                        field=state.item_selector_field,
                        rng=self.rng(),
                    )
            else:
                item_input = item
            self.emit(
                path["pid"],
                "MapIterationStarted",
                "mapIterationStartedEventDetails",
                {"name": state.name, "index": index},
            )
            if children.get("records") is not None:
                children["records"][index] = {"Index": index, "Input": item_input, "Status": "RUNNING"}
            child = self.new_path(
                parent=path["pid"],
                slot=index,
                machine_path=[*path["machine"], [state.name, 0]],
                state_name=processor.start_at,
                input=item_input,
                context_extra=item_context,
                last_event=path["last_event"],
                own_history=bool(children.get("distributed")),
            )
            children["open"].append(child)

    def child_finished(self, child: Mapping[str, Any], output: JSON) -> None:
        parent = self.state["paths"].get(child["parent"])
        if parent is None or parent.get("phase") != "children":
            return
        state = self.current(parent)
        assert isinstance(state, MapState | ParallelState)
        children = parent["children"]
        children["results"][child["slot"]] = output
        if children.get("records") is not None:
            children["records"][child["slot"]].update({"Status": "SUCCEEDED", "Output": output})
        children["done"] += 1
        if child["pid"] in children["open"]:
            children["open"].remove(child["pid"])
        if children["kind"] == "map":
            self.emit(
                parent["pid"], "MapIterationSucceeded", "mapIterationSucceededEventDetails", {"name": state.name, "index": child["slot"]}
            )
            assert isinstance(state, MapState)
            self._spawn_map_items(parent, state)
        if children["done"] >= children["total"]:
            self._children_done(parent, state)

    def child_failed(self, child: Mapping[str, Any], error: str | None, cause: str | None) -> None:
        parent = self.state["paths"].get(child["parent"])
        if parent is None or parent.get("phase") != "children":
            return
        state = self.current(parent)
        children = parent["children"]
        if child["pid"] in children["open"]:
            children["open"].remove(child["pid"])
        if children["kind"] == "map":
            self.emit(parent["pid"], "MapIterationFailed", "mapIterationFailedEventDetails", {"name": state.name, "index": child["slot"]})
            children["failed"] += 1
            children["done"] += 1
            if children.get("records") is not None:
                children["records"][child["slot"]].update({"Status": "FAILED", "Error": error, "Cause": cause})
            if self._within_tolerance(children):
                assert isinstance(state, MapState)
                children["results"][child["slot"]] = {"Error": error, "Cause": cause}
                self._spawn_map_items(parent, state)
                if children["done"] >= children["total"]:
                    self._children_done(parent, state)
                return
            if children["tolerated_count"] is not None or children["tolerated_pct"] is not None:
                error, cause = (
                    "States.ExceedToleratedFailureThreshold",
                    "The specified tolerated failure threshold was exceeded",
                )
            self.emit(parent["pid"], "MapStateFailed", None, None)
        else:
            self.emit(parent["pid"], "ParallelStateFailed", None, None)
        self.cancel_children(parent)
        parent["phase"] = "running"
        self.state_failed(parent, state, error, cause)

    def _within_tolerance(self, children: Mapping[str, Any]) -> bool:
        count, pct = children["tolerated_count"], children["tolerated_pct"]
        if count is None and pct is None:
            return False
        if count is not None and children["failed"] <= count:
            return True
        if pct is not None and children["total"] and children["failed"] * 100.0 / children["total"] <= pct:
            return True
        return False

    def cancel_children(self, parent: dict[str, Any]) -> None:
        for pid in list(parent.get("children", {}).get("open", [])):
            self._drop_path(pid)
        if "children" in parent:
            parent["children"]["open"] = []

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

    def _children_done(self, path: dict[str, Any], state: MapState | ParallelState) -> None:
        children = path.pop("children")
        path["phase"] = "running"
        if isinstance(state, MapState) and state.result_writer is not None:
            try:
                self._schedule_map_io(path, state, "writer", children["records"])
            except StatesError as exc:
                self.state_failed(path, state, exc.error, self._runtime_cause(path, state, exc))
            return
        self._map_or_parallel_done(path, state, children["kind"], children["results"])

    def _map_or_parallel_done(self, path: dict[str, Any], state: ExecutionState, kind: str, results: JSON) -> None:
        if kind == "map":
            self.emit(path["pid"], "MapStateSucceeded", None, None)
        else:
            self.emit(path["pid"], "ParallelStateSucceeded", None, None)
        try:
            self._task_result(path, state, results)
        except _Failure as failure:
            self.state_failed(path, state, failure.error, failure.cause)
        except StatesError as exc:
            self.state_failed(path, state, exc.error, self._runtime_cause(path, state, exc))

    # -- transitions --------------------------------------------------------

    def _output_path(self, path: Mapping[str, Any], state: State, output: JSON) -> JSON:
        if state.output_path is None:
            return {}
        return jsonpath.select(state.output_path, self.scope(path, state, output), field=None)

    def _jsonata_output(
        self, path: Mapping[str, Any], state: State, template: Template | None, *, default: JSON, result: JSON = None
    ) -> JSON:
        if template is None:
            return default
        extra: dict[str, JSON] = {"input": path["input"]}
        if result is not None or isinstance(state, ExecutionState):
            extra["result"] = result
        if "error_output" in path:
            extra["errorOutput"] = path["error_output"]
        bindings = self.bindings(path, state, **extra)
        value = jsonata_lang.resolve(template.value, bindings, self.rng(), field="Output", now=self.now)
        return None if value is jsonata_lang.UNDEFINED else value

    def _assign_jsonata(self, path: dict[str, Any], state: State, assign: Template | None, *, result: JSON = None) -> None:
        if assign is None or not assign.value:
            return
        extra: dict[str, JSON] = {"input": path["input"]}
        if result is not None or isinstance(state, ExecutionState):
            extra["result"] = result
        if "error_output" in path:
            extra["errorOutput"] = path["error_output"]
        bindings = self.bindings(path, state, **extra)
        values = jsonata_lang.resolve(assign.value, bindings, self.rng(), field="Assign", now=self.now)
        self._assign_values(path, values)

    def _assign_jsonpath(self, path: dict[str, Any], state: State, result: JSON) -> None:
        if state.assign is None or not state.assign.value:
            return
        values = templates.resolve(state.assign.value, self.scope(path, state, result), field="Assign", rng=self.rng())
        self._assign_values(path, values)

    def _assign_values(self, path: dict[str, Any], values: JSON) -> None:
        if isinstance(values, Mapping):
            path.setdefault("pending_assign", {}).update(values)

    def exit_state(self, path: dict[str, Any], state: State, output: JSON, *, next_state: str | None = None, end: bool = False) -> None:
        # Before anything serialises the output or the variables: deep enough, they would not be.
        if limits.too_deep(output) or limits.too_deep(path.get("pending_assign")):
            cause = _too_deep_cause(f"The output of the state '{state.name}'")
            self.state_failed(path, state, "States.DataLimitExceeded", cause)
            return
        # Assign takes effect after the state's own Output was computed (AWS order).
        assigned = path.pop("pending_assign", None)
        if assigned:
            path["vars"].update(assigned)
        path.pop("error_output", None)
        if _size(output) > self.state["max_payload"]:
            self.state_failed(
                path,
                state,
                "States.DataLimitExceeded",
                f"The state/task '{state.name}' returned a result with a size exceeding the maximum number of bytes service limit.",
            )
            return
        details: dict[str, Any] = {"name": state.name, "output": _text(output), "outputDetails": {"truncated": False}}
        if assigned:
            details["assignedVariables"] = {k: _text(v) for k, v in assigned.items()}
            details["assignedVariablesDetails"] = {"truncated": False}
        if state.type != "Fail":
            self.emit(path["pid"], f"{state.type}StateExited", "stateExitedEventDetails", details)
        target = next_state or (None if end or state.end else state.next)
        if state.type == "Choice" and next_state is None:
            target = None
        if target is None:
            self.finish_path(path, output)
            return
        path["state"] = target
        path["input"] = output
        path["phase"] = "enter"
        self.ready.append(path["pid"])

    def finish_path(self, path: dict[str, Any], output: JSON) -> None:
        path["phase"] = "done"
        if path["parent"] is None:
            self.state["status"] = "SUCCEEDED"
            self.state["output"] = output
            self.emit(
                None,
                "ExecutionSucceeded",
                "executionSucceededEventDetails",
                {"output": _text(output), "outputDetails": {"truncated": False}},
            )
            self.state["paths"].clear()
            self.state["tasks"].clear()
            self.state["timers"].clear()
            return
        self.state["paths"].pop(path["pid"], None)
        self.child_finished(path, output)

    def fail_path(self, path: dict[str, Any], error: str | None, cause: str | None) -> None:
        """A path ended in failure that no Retry or Catch of its state handled."""
        path["phase"] = "done"
        if path["parent"] is None:
            # Where a redrive starts again: the failed top-level state, its input and the variables.
            self.state["redrive"] = {"state": path["state"], "input": path["input"], "vars": path["vars"]}
            self.fail_execution(error, cause)
            return
        self.state["paths"].pop(path["pid"], None)
        self.child_failed(path, error, cause)

    def fail_execution(self, error: str | None, cause: str | None, *, status: str = "FAILED") -> None:
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
        self.state["paths"].clear()
        self.state["tasks"].clear()
        self.state["timers"].clear()

    def abort(self, error: str | None, cause: str | None) -> None:
        self.fail_execution(error, cause, status="ABORTED")

    # -- errors: Retry, then Catch ------------------------------------------

    def state_failed(self, path: dict[str, Any], state: State, error: str | None, cause: str | None) -> None:
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
                token = self.token("retry")
                due = limits.later(self.now, delay)
                path["phase"] = "retrying"
                path["timer"] = token
                self.state["timers"][token] = {"pid": path["pid"], "kind": "retry", "due": due.isoformat()}
                self.commands.append(StartTimer(token, due))
                return
            catcher = next((c for c in state.catch if error_matches(c.error_equals, name)), None)
            if catcher is not None:
                self._catch(path, state, catcher, error, cause)
                return
        self.fail_path(path, error, cause)

    def _retry_delay(self, path: dict[str, Any], state: ExecutionState, error: str) -> float | None:
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

    def _catch(self, path: dict[str, Any], state: ExecutionState, catcher: Catcher, error: str | None, cause: str | None) -> None:
        error_output: dict[str, JSON] = {"Error": error}
        if cause is not None:
            error_output["Cause"] = cause
        try:
            if state.query_language == "JSONata":
                path["error_output"] = error_output
                output: JSON = self._jsonata_output(path, state, catcher.output, default=error_output)
                self._assign_jsonata(path, state, catcher.assign)
            else:
                if catcher.assign is not None and catcher.assign.value:
                    values = templates.resolve(catcher.assign.value, self.scope(path, state, error_output), field="Assign", rng=self.rng())
                    self._assign_values(path, values)
                output = dataflow.put(path["input"], catcher.result_path, error_output)
        except StatesError as exc:
            self.fail_path(path, exc.error, self._runtime_cause(path, state, exc))
            return
        assigned = path.pop("pending_assign", None)
        if assigned:
            path["vars"].update(assigned)
        path.pop("error_output", None)
        path["state"] = catcher.next
        path["input"] = output
        path["phase"] = "enter"
        self.ready.append(path["pid"])

    # -- timers ---------------------------------------------------------------

    def on_timer(self, event: TimerFired) -> None:
        info = self.state["timers"].pop(event.token, None)
        if info is None:
            return
        kind = info["kind"]
        if kind == "execution-timeout":
            self.fail_execution("States.Timeout", "The execution timed out", status="TIMED_OUT")
            return
        path = self.state["paths"].get(info["pid"])
        if path is None:
            return
        if kind == "wait":
            self._finish_wait(path)
        elif kind == "retry":
            path.pop("timer", None)
            path["phase"] = "running"
            state = self.current(path)
            self._retry_task(path, state) if isinstance(state, TaskState) else self.execute(path, state)
        elif kind in ("task-timeout", "heartbeat"):
            task = self.state["tasks"].pop(info["task"], None)
            path.pop("timeout_timer" if kind == "task-timeout" else "heartbeat_timer", None)
            self._disarm_task_timer(path)
            if task is not None:
                error = "States.Timeout" if kind == "task-timeout" else "States.HeartbeatTimeout"
                self._task_failed(path, task, error, None)

    def _retry_task(self, path: dict[str, Any], state: TaskState) -> None:
        try:
            self._schedule_task(path, state)
        except _Failure as failure:
            self.state_failed(path, state, failure.error, failure.cause)
        except StatesError as exc:
            self.state_failed(path, state, exc.error, self._runtime_cause(path, state, exc))


# ------------------------------------------------------------------ helpers


def _lambda_cause(cause: str | None) -> str | None:
    """A Lambda function's error payload as Step Functions passes it on for function ARNs.

    The recordings show the cause of a failed ``arn:aws:lambda:...:function:``
    task in the form AWS Lambda's Python runtime writes (``json.dumps`` with its
    default ``", "``/``": "`` separators), while ``lambda:invoke`` keeps the
    compact text; a cause given compact is re-rendered the Lambda way.
    """
    if not cause or not cause.startswith("{"):
        return cause
    try:
        parsed = json.loads(cause)
    except ValueError:
        return cause
    return json.dumps(parsed, ensure_ascii=False) if isinstance(parsed, dict) else cause



def _inner(expression: str) -> str:
    text = expression.strip()
    return text[2:-2].strip()


def _jsonata_value(value: JSON, bindings: Mapping[str, JSON], rng: random.Random, field_name: str, now: datetime | None = None) -> JSON:
    """A field that may be one JSONata expression; one that yields nothing fails the state.

    A result JSON cannot hold (undefined, or a function such as ``{% $sum %}``) must not reach
    code that expects JSON: :func:`jsonata.resolve` fails it with States.QueryEvaluationError.
    """
    if isinstance(value, str) and jsonata_lang.is_expression(value):
        return jsonata_lang.resolve(value, bindings, rng, field=field_name, now=now)
    return value


def _number_field(setting: Setting | None, bindings: Mapping[str, JSON], rng: random.Random, now: datetime | None = None) -> float | None:
    if setting is None:
        return None
    name = setting.name
    value = _jsonata_value(setting.value, bindings, rng, name, now)
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise StatesError("States.QueryEvaluationError", f"The field '{name}' must be a positive number, got {_text(value)}")
    if not value <= limits.MAX_TIMER_SECONDS:
        raise StatesError(
            "States.QueryEvaluationError", f"The field '{name}' must be at most {limits.MAX_TIMER_SECONDS}, got {_number_text(value)}"
        )
    return float(value)


def _path_number(setting: Setting | None, scope: jsonpath.Scope) -> float | None:
    if setting is None:
        return None
    if setting.path is None:
        return float(setting.value)
    path_field = setting.field
    value = jsonpath.select(setting.path, scope, field=None)
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise StatesError("States.Runtime", f"The {path_field} parameter does not reference a positive number: {setting.path}")
    if not value <= limits.MAX_TIMER_SECONDS:
        raise StatesError(
            "States.Runtime",
            f"The {path_field} parameter references a value greater than {limits.MAX_TIMER_SECONDS}: "
            f"{setting.path} == {_number_text(value)}",
        )
    return float(value)


def _select_param(expression: str, scope: jsonpath.Scope, field_name: str) -> JSON:
    try:
        return jsonpath.select(expression, scope, field=field_name)
    except StatesError:
        raise StatesError("States.Runtime", f"The {field_name} parameter does not reference an input value: {expression}") from None


_JAVA_LONG: Final = range(-(2**63), 2**63)


def _wait_seconds(value: JSON, field_name: str, expression: str | None) -> float:
    where = f": {expression} == {_number_text(value)}" if expression else ""
    # AWS reads the value as a Java long: a fraction, or a number past the long range (1e300,
    # 10**30), "cannot be parsed as a long value".
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StatesError("States.Runtime", f"The {field_name} parameter cannot be parsed as a long value{where}")
    if (isinstance(value, float) and not value.is_integer()) or int(value) not in _JAVA_LONG:
        raise StatesError("States.Runtime", f"The {field_name} parameter cannot be parsed as a long value{where}")
    if value < 0:
        raise StatesError("States.Runtime", f"The {field_name} parameter references a negative value{where}")
    # AWS documents Seconds as "from 0 up to 99999999"; what it does with a longer wait from a
    # path is not documented (no execution lives past a year). Failing says so; waiting for
    # centuries, or overflowing the calendar, would not.
    if value > limits.MAX_TIMER_SECONDS:
        raise StatesError(
            "States.Runtime", f"The {field_name} parameter references a value greater than {limits.MAX_TIMER_SECONDS}{where}"
        )
    return float(value)


def _wait_timestamp(value: JSON, field_name: str, expression: str | None) -> datetime:
    if isinstance(value, str):
        try:
            text = value.replace("Z", "+00:00").replace("z", "+00:00")
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is not None and "T" in value:
                return parsed
        except ValueError:
            pass
    where = f": {expression} == {_text(value)}" if expression else ""
    raise StatesError(
        "States.Runtime", f"The {field_name} parameter does not reference a valid ISO-8601 extended offset date-time format string{where}"
    )


def _resource_parts(resource: str) -> tuple[str, str]:
    """AWS's (resourceType, resource) for TaskScheduled: ``arn:aws:states:::sns:publish`` -> (sns, publish)."""
    if resource.startswith("arn:aws:states:::"):
        rest = resource[len("arn:aws:states:::") :]
        if rest.startswith("aws-sdk:"):
            _, service, action = rest.split(":", 2)
            return service, action
        service, _, action = rest.partition(":")
        return service, action
    if resource.startswith(_LAMBDA_ARN_PREFIX):
        return "lambda", resource.rsplit(":", 1)[-1]
    return "activity" if ":activity:" in resource else "lambda", resource


def _region(state: Mapping[str, Any]) -> str:
    arn = str(state["context"]["Execution"]["Id"])
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else "us-east-1"


def _text(value: JSON) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _number_text(value: JSON) -> str:
    """A value in an error cause: numbers as Java prints them (``1.0E300``), the rest as JSON."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return jsonpath.java_text(value)
    return _text(value)


def _too_deep_cause(what: str) -> str:
    return f"{what} is nested more than {limits.MAX_NESTING_DEPTH} levels deep, which exceeds the maximum nesting depth"


def _history_events(state: Mapping[str, Any]) -> int:
    """Events in the execution's own history: those of Distributed Map child runs are theirs."""
    return int(state["event_id"]) - int(state.get("uncounted_events", 0))


def _in_child_history(path: Mapping[str, Any] | None, type_: str) -> bool:
    """Whether an event belongs to a Distributed Map child run's history, not the execution's.

    AWS runs each Distributed Map iteration as a child workflow execution with its own history,
    and the parent records the map run, not its iterations.
    """
    if path is None:
        return False
    if path.get("own_history"):
        return True
    return type_.startswith("MapIteration") and bool(path.get("children", {}).get("distributed"))


def _size(value: JSON) -> int:
    return len(_text(value).encode("utf-8"))


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
