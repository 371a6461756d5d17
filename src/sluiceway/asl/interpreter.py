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

This module is the entry point; the work is done by :mod:`.core` (paths, history,
input and output, Retry and Catch) and :mod:`.states` (one module per state type).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..types import JSON
from . import limits
from .commands import (
    Command,
    Event,
    InvokeTask,
    StartTimer,
    Step,
    StopExecution,
    TaskFailed,
    TaskHeartbeat,
    TaskSucceeded,
    TimerFired,
)
from .core import Run, history_events
from .model import StateMachine
from .states import STATE_TYPES
from .states.map import map_io_command
from .states.task import parse_task_token
from .values import iso, size, text, too_deep_cause

# The commands and events the entry points take and give live in commands.py.
__all__ = [
    "DEFAULT_MAX_PAYLOAD",
    "parse_task_token",
    "pending_commands",
    "redrive",
    "start",
    "step",
]

DEFAULT_MAX_PAYLOAD = 256 * 1024


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
    start_time = iso(now)
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
    run = Run(machine, state, now, STATE_TYPES)
    run.emit(
        None,
        "ExecutionStarted",
        "executionStartedEventDetails",
        {
            "input": "" if too_deep else text(input),
            "inputDetails": {"truncated": too_deep},
            "roleArn": role_arn,
        },
    )
    if too_deep:
        run.fail_execution("States.DataLimitExceeded", too_deep_cause("The execution input"))
        return run.result()
    if size(input) > max_payload_bytes:
        run.fail_execution(
            "States.DataLimitExceeded",
            f"The state/task input of size {size(input)} bytes exceeds the maximum of {max_payload_bytes} bytes",
        )
        return run.result()
    # AWS's first StateEntered names no previous event (previousEventId 0), not ExecutionStarted.
    root = run.new_path(parent=None, slot=None, machine_path=[], state_name=machine.start_at, input=input, last_event=0)
    state["root"] = root
    if machine.timeout_s:
        run.arm_timer(None, "execution-timeout", limits.later(now, machine.timeout_s))
    with run.history_guard():
        run.drain()
    return run.result()


def step(machine: StateMachine, state: dict[str, Any], event: Event, now: datetime) -> Step:
    """Feed one event into a running execution and run until every path waits.

    Events for tokens the execution no longer waits on (a cancelled branch, a
    task that timed out) are ignored, so redelivery after a crash is harmless.
    """
    run = Run(machine, state, now, STATE_TYPES)
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
    if history_events(state) >= limits.MAX_HISTORY_EVENTS - 1:
        raise ValueError("Execution cannot be redriven: its history has reached the maximum number of events")
    run = Run(machine, state, now, STATE_TYPES)
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
            commands.append(map_io_command(token, info))
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
