"""Run an execution to completion synchronously on a virtual clock.

For tests, mocked runs and definition checks: tasks are answered by a callable
in the order they were scheduled, and timers fire in due order the moment
nothing else can happen, so Wait states and retry intervals take no time.
Deterministic: the same definition, input and task answers give the same
history.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..types import JSON
from . import interpreter
from .commands import Command, Event, InvokeTask, ReadItems, StartTimer, TaskFailed, TaskSucceeded, TimerFired, WriteResults
from .model import StateMachine

__all__ = ["Simulation", "simulate"]

TaskAnswer = Callable[[InvokeTask | ReadItems | WriteResults], TaskSucceeded | TaskFailed]


@dataclass(frozen=True)
class Simulation:
    """How a simulated execution ended."""

    status: str
    output: JSON
    error: str | None
    cause: str | None
    history: list[dict[str, Any]]
    tasks: list[InvokeTask | ReadItems | WriteResults]
    """Every task command, in the order it was carried out."""


def simulate(
    machine: StateMachine,
    input: JSON,
    answer: TaskAnswer,
    *,
    start: datetime,
    execution_name: str = "simulation",
    state_machine_name: str = "StateMachine",
    region: str = "us-east-1",
    account_id: str = "111111111111",
    max_payload_bytes: int = interpreter.DEFAULT_MAX_PAYLOAD,
    max_steps: int = 1_000_000,
) -> Simulation:
    """Run ``machine`` on ``input`` until it ends, answering tasks with ``answer``."""
    sm_arn = f"arn:aws:states:{region}:{account_id}:stateMachine:{state_machine_name}"
    step = interpreter.start(
        machine,
        input,
        execution_arn=f"arn:aws:states:{region}:{account_id}:execution:{state_machine_name}:{execution_name}",
        execution_name=execution_name,
        state_machine_arn=sm_arn,
        state_machine_name=state_machine_name,
        now=start,
        max_payload_bytes=max_payload_bytes,
    )
    now = start
    state = step.state
    history = list(step.history)
    tasks: deque[InvokeTask | ReadItems | WriteResults] = deque()
    timers: list[tuple[datetime, int, str]] = []
    order = itertools.count()
    done: list[InvokeTask | ReadItems | WriteResults] = []

    def take(commands: list[Command]) -> None:
        for command in commands:
            if isinstance(command, StartTimer):
                heapq.heappush(timers, (command.due, next(order), command.token))
            else:
                tasks.append(command)

    take(step.commands)
    for _ in range(max_steps):
        if state["status"] != "RUNNING":
            break
        if tasks:
            command = tasks.popleft()
            done.append(command)
            event: Event = answer(command)
        elif timers:
            due, _, token = heapq.heappop(timers)
            now = max(now, due)
            event = TimerFired(token)
        else:
            raise RuntimeError("the execution waits on nothing: it can never finish")
        step = interpreter.step(machine, state, event, now)
        state = step.state
        history.extend(step.history)
        take(step.commands)
    else:
        raise RuntimeError(f"the execution did not finish within {max_steps} steps")
    return Simulation(
        status=str(state["status"]),
        output=state.get("output"),
        error=state.get("error"),
        cause=state.get("cause"),
        history=history,
        tasks=done,
    )
