"""Activity tasks: Task states whose resource is an activity ARN, answered by workers that poll.

An activity task is a callback task whose token GetActivityTask hands to a worker instead of
the payload carrying it: the Task state makes its token and waits (``wait_for_token``), the
runtime queues the task on the activity (:class:`ActivityQueue`, durable), and a worker's
GetActivityTask takes it from there (:meth:`LocalOrchestrator.start_activity_task` hands it out
and records ActivityStarted in one transaction). SendTaskSuccess/Failure/Heartbeat then answer
it as any callback task.

The queue is what serves the endpoint's activities; until it is handed over
(:meth:`Activities.serve`), activity tasks wait for it without holding a thread. An
orchestrator whose activity tasks no worker can ever take (``sluiceway sfn run``, which runs
beside no endpoint) refuses them instead (:meth:`Activities.refuse`): they fail at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
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
    "HandOut",
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

    def hand_out(self, execution_arn: str, task: str, worker_name: str | None) -> AbstractContextManager[bool]:
        """Claim a queued task for a worker; the block's result is whether this caller got it.

        The execution's ActivityStarted is committed inside the block, in the claim's transaction:
        both commit or neither does (an exception in the block leaves the task queued).
        """
        ...

    def close(self) -> None:
        """End the workers' long polls: the orchestrator that fed them stops."""
        ...


HandOut = Literal["started", "taken", "gone", "closed"]
"""What became of a worker's try to take a queued task (:meth:`LocalOrchestrator.start_activity_task`):
``started`` it is the worker's (ActivityStarted committed); ``taken`` another worker has it;
``gone`` its execution no longer waits for it (the queue may forget it); ``closed`` the
orchestrator stopped (the task stays queued for the next start)."""


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
        self._refusal: tuple[str, Callable[[str], bool]] | None = None
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

    def refuse(self, cause: str, exists: Callable[[str], bool]) -> None:
        """Fail activity tasks at once from now on: no queue will be served, no worker would ever come.

        Args:
            cause: why, for a task whose activity exists (the execution fails with States.Runtime).
            exists: whether an activity ARN names an activity; one that does not fails as on AWS.
        """
        with self._lock:
            self._refusal = (cause, exists)
            parked, self._parked = self._parked, []
        for arn, command in parked:
            self.schedule(arn, command)

    def schedule(self, arn: str, command: InvokeTask) -> None:
        """Queue the activity task ``command`` of execution ``arn`` (or keep it until a queue is served)."""
        with self._lock:
            queue, refusal = self._queue, self._refusal
            if queue is not None:
                self._executions.add(arn)
            elif refusal is None:
                self._parked.append((arn, command))
                return
        if queue is None:
            if refusal is not None:  # no worker will ever come: the task fails now, not never
                cause, exists = refusal
                self._feed(arn, ActivityUnavailable(command.token, cause if exists(command.resource) else _missing(command.resource)))
            return
        token = make_task_token(arn, command.token)
        outcome = queue.schedule(command.resource, arn, command.token, token, text(command.payload))
        if outcome == "missing":
            self._feed(arn, ActivityUnavailable(command.token, _missing(command.resource)))
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


def _missing(activity_arn: str) -> str:
    # Step Functions' words for a Task state whose activity does not exist.
    return f"The activity {activity_arn} does not exist."
