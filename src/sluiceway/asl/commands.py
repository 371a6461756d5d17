"""What the interpreter asks of the runtime, what the runtime answers, and what a step returns.

:func:`~sluiceway.asl.interpreter.start` and :func:`~sluiceway.asl.interpreter.step` return a
:class:`Step`: the execution's new state, the **commands** the runtime carries out
(:class:`InvokeTask`, :class:`StartTimer`, :class:`ReadItems`, :class:`WriteResults`) and AWS-shaped
history events. The runtime answers each command with an **event** (:class:`TaskSucceeded`,
:class:`TaskFailed`, :class:`TimerFired`...) fed back through ``step``. All of them are plain
values, so the runtime can persist and replay them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..types import JSON

__all__ = [
    "Command",
    "Event",
    "InvokeTask",
    "ReadItems",
    "StartTimer",
    "Step",
    "StopExecution",
    "TaskFailed",
    "TaskHeartbeat",
    "TaskSucceeded",
    "TimerFired",
    "WriteResults",
]


@dataclass(frozen=True)
class InvokeTask:
    """Run a Task state's resource; answer with :class:`TaskSucceeded` or :class:`TaskFailed`."""

    token: str
    resource: str
    payload: JSON
    state_name: str
    timeout_s: float | None = None
    heartbeat_s: float | None = None
    wait_for_token: bool = False
    """``.waitForTaskToken``: the call's own result is ignored; SendTaskSuccess/Failure answers."""
    credentials: JSON = None
    idempotency_key: str = ""
    """The task's identity across runs of it (execution and token), set by the runtime: a
    task run again after a crash uses it to have its effect once."""
    execution_arn: str = ""
    """The execution the task runs in, set by the runtime (``events:putEvents`` names it in
    every event's ``resources``, as Step Functions does)."""


@dataclass(frozen=True)
class StartTimer:
    """Answer with :class:`TimerFired` at ``due`` (durable: it must survive a restart)."""

    token: str
    due: datetime


@dataclass(frozen=True)
class ReadItems:
    """Distributed Map ItemReader: fetch and parse items; answer with TaskSucceeded(items) or TaskFailed."""

    token: str
    resource: str
    parameters: JSON
    reader_config: JSON
    state_name: str


@dataclass(frozen=True)
class WriteResults:
    """Distributed Map ResultWriter: store the child runs' records; answer with the ResultWriterDetails."""

    token: str
    resource: str
    parameters: JSON
    writer_config: JSON
    records: list[dict[str, Any]]
    map_run_arn: str
    state_name: str


Command = InvokeTask | StartTimer | ReadItems | WriteResults


# ------------------------------------------------------------------- events


@dataclass(frozen=True)
class TaskSucceeded:
    """The task (or item reader/result writer) named by ``token`` returned ``output``."""

    token: str
    output: JSON


@dataclass(frozen=True)
class TaskFailed:
    """The task named by ``token`` failed with an ASL error name (``States.Timeout``, a Lambda's ``errorType``...)."""

    token: str
    error: str
    cause: str | None = None


@dataclass(frozen=True)
class TimerFired:
    """The timer a :class:`StartTimer` with ``token`` asked for is due."""

    token: str


@dataclass(frozen=True)
class TaskHeartbeat:
    """SendTaskHeartbeat for a ``.waitForTaskToken`` task: the heartbeat timer starts again."""

    token: str


@dataclass(frozen=True)
class StopExecution:
    """StopExecution (``ABORTED``), or the runtime ending an execution it cannot continue (``FAILED``)."""

    error: str | None = None
    cause: str | None = None
    status: str = "ABORTED"


Event = TaskSucceeded | TaskFailed | TimerFired | TaskHeartbeat | StopExecution


@dataclass
class Step:
    """The result of :func:`start` or :func:`step`."""

    state: dict[str, Any]
    commands: list[Command] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        return str(self.state["status"])
