"""Activity tasks: Task states whose resource is an activity ARN, answered by workers that poll.

An activity task is a callback task whose token GetActivityTask hands to a worker instead of
the payload carrying it: the Task state makes its token and waits (``wait_for_token``), the
runtime queues the task on the activity (:class:`ActivityQueue`, durable), and a worker's
GetActivityTask takes it from there (:meth:`LocalOrchestrator.start_activity_task` records
ActivityStarted). SendTaskSuccess/Failure/Heartbeat then answer it as any callback task.

The queue is what serves the endpoint's activities; until it is handed over
(:meth:`Activities.serve`), activity tasks wait for it without holding a thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from ...asl.commands import InvokeTask, Step
from ...asl.core import Run
from ...asl.model import StateMachine
from ...asl.states import STATE_TYPES
from ...asl.states.task import activity_scheduled, activity_started, activity_unavailable, is_activity, make_task_token
from ...asl.values import text

__all__ = [
    "Activities",
    "ActivityEvent",
    "ActivityQueue",
    "ActivityScheduled",
    "ActivityStarted",
    "ActivityUnavailable",
    "is_activity",
    "step",
]


class ActivityQueue(Protocol):
    """Where activity tasks wait for workers (durably: they outlive a restart)."""

    def schedule(
        self, activity_arn: str, execution_arn: str, task: str, task_token: str, input_text: str
    ) -> Literal["scheduled", "missing"]:
        """Queue a task; "missing" when the activity does not exist. Idempotent per execution and task:
        a task queued before stays as it is (handed out or not), whatever became of its activity."""
        ...

    def forget(self, execution_arn: str, task: str | None = None) -> None:
        """Drop the execution's queued tasks (all of them with no ``task``)."""
        ...


@dataclass(frozen=True)
class ActivityScheduled:
    """The task ``token`` is queued for the activity's workers."""

    token: str


@dataclass(frozen=True)
class ActivityUnavailable:
    """The task ``token``'s activity does not exist."""

    token: str
    cause: str


@dataclass(frozen=True)
class ActivityStarted:
    """GetActivityTask handed the task ``token`` to a worker (``worker_name`` as it gave it)."""

    token: str
    worker_name: str | None


ActivityEvent = ActivityScheduled | ActivityUnavailable | ActivityStarted


def step(machine: StateMachine, state: dict[str, Any], event: ActivityEvent, now: datetime) -> Step:
    """Feed an activity event to a running execution (the activities' counterpart of ``interpreter.step``)."""
    run = Run(machine, state, now, STATE_TYPES)
    if state["status"] != "RUNNING":
        return run.result()
    with run.history_guard():
        if isinstance(event, ActivityScheduled):
            activity_scheduled(run, event.token)
        elif isinstance(event, ActivityUnavailable):
            activity_unavailable(run, event.token, event.cause)
        else:
            activity_started(run, event.token, event.worker_name)
        run.drain()
    return run.result()


class Activities:
    """The orchestrator's side of activities: queues its activity tasks once a queue is served.

    Args:
        feed: gives an execution an event (the orchestrator's event queue).
    """

    def __init__(self, feed: Callable[[str, ActivityEvent], None]) -> None:
        self._feed = feed
        self._queue: ActivityQueue | None = None
        self._parked: list[tuple[str, InvokeTask]] = []
        self._executions: set[str] = set()
        """Executions that queued a task here: their rows go when they end."""
        self._lock = threading.Lock()

    @property
    def queue(self) -> ActivityQueue | None:
        return self._queue

    def serve(self, queue: ActivityQueue) -> None:
        """Queue activity tasks on ``queue`` from now on (those waiting for one first)."""
        with self._lock:
            self._queue = queue
            parked, self._parked = self._parked, []
        for arn, command in parked:
            self.schedule(arn, command)

    def schedule(self, arn: str, command: InvokeTask) -> None:
        """Queue the activity task ``command`` of execution ``arn`` (or keep it until a queue is served)."""
        with self._lock:
            queue = self._queue
            if queue is None:
                self._parked.append((arn, command))
                return
            self._executions.add(arn)
        token = make_task_token(arn, command.token)
        outcome = queue.schedule(command.resource, arn, command.token, token, text(command.payload))
        if outcome == "missing":
            self._feed(arn, ActivityUnavailable(command.token, f"The activity {command.resource} does not exist."))
        else:
            self._feed(arn, ActivityScheduled(command.token))

    def ended(self, arn: str) -> None:
        """The execution ended: its tasks leave the queue."""
        with self._lock:
            if arn not in self._executions:
                return
            self._executions.discard(arn)
            self._parked = [(a, c) for a, c in self._parked if a != arn]
            queue = self._queue
        if queue is not None:
            queue.forget(arn)
