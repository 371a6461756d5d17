"""The execution ports: starting and following state machine executions, and their durable store."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ..types import JSON

__all__ = ["ChildExecutions", "ExecutionRecord", "ExecutionStore", "Orchestrator", "TaskJournal"]


@dataclass(frozen=True)
class ExecutionRecord:
    """One state machine execution as the execution store keeps it."""

    arn: str
    name: str
    state_machine: str
    status: str
    """RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED."""
    input: JSON
    started_at: datetime
    output: JSON = None
    error: str | None = None
    cause: str | None = None
    stopped_at: datetime | None = None
    state: JSON = None
    """The interpreter's serialised execution state (opaque to the store)."""


class Orchestrator(Protocol):
    """Starts, describes and stops state machine executions (Step Functions semantics).

    State machines are named by name (an ARN is accepted where the backend can use
    it); executions by the ARN ``start_execution`` returns.
    """

    def start_execution(self, state_machine: str, input: JSON, *, name: str | None = None) -> ExecutionRecord:
        """Start an execution of ``state_machine`` with ``input``; return its record.

        Idempotent by name, as StartExecution is: starting again with the name and
        input of an existing execution returns that execution (same ARN) and starts
        nothing. The record's status is RUNNING, or a terminal status when the
        execution has already ended.

        Args:
            state_machine: the state machine's name.
            input: the execution's input, any JSON value.
            name: the execution's name, unique per state machine; one is made up
                when omitted.

        Raises:
            ExecutionAlreadyExistsError: an execution with that name exists with
                another input.
            ExecutionNotFoundError: no such state machine.
            InvalidNameError: ``name`` is not a valid execution name.
        """
        ...

    def describe(self, arn: str) -> ExecutionRecord:
        """The execution's current record: status, input, output, error and cause, dates.

        Raises:
            ExecutionNotFoundError: no execution has that ARN.
        """
        ...

    def stop_execution(self, arn: str, *, error: str | None = None, cause: str | None = None) -> None:
        """Stop a running execution; it ends ABORTED with ``error`` and ``cause``.

        The stop may take effect after this returns (the local orchestrator's
        dispatcher applies it); :meth:`describe` shows ABORTED once it has.

        Raises:
            ExecutionNotFoundError: no execution has that ARN.
        """
        ...


class ExecutionStore(Protocol):
    """Durable execution state and history for the local orchestrator."""

    def create(self, record: ExecutionRecord, history: Sequence[Mapping[str, Any]]) -> ExecutionRecord:
        """Insert a new execution with its first history events, in one transaction.

        Returns the stored record; if a *running* execution with the same name exists
        with the same input, returns that one instead (StartExecution is idempotent by name).

        Raises:
            ExecutionAlreadyExistsError: the name exists with another input, or its execution has ended.
        """
        ...

    def advance(self, record: ExecutionRecord, history: Sequence[Mapping[str, Any]]) -> None:
        """Replace the execution's state and append history events, in one transaction."""
        ...

    def get(self, arn: str) -> ExecutionRecord:
        """Return the execution. Raises ExecutionNotFoundError."""
        ...

    def list(self, *, status: str | None = None, limit: int = 100) -> list[ExecutionRecord]:
        """Executions, newest first."""
        ...

    def history(self, arn: str) -> builtins.list[dict[str, Any]]:
        """The execution's history events in order (AWS's event shapes)."""
        ...


class TaskJournal(Protocol):
    """What Task states did, by task: a task run again after a crash has its effect once (local runtime only)."""

    def once(self, key: str, action: Callable[[], JSON], *, atomic: bool = True) -> JSON:
        """Run ``action`` unless a task with ``key`` already did; return its outcome either way.

        Args:
            key: the task's identity (its execution and task token).
            action: does the task's effect and returns its outcome; raising records nothing.
            atomic: the action writes only to the journal's own database, so it runs inside
                the transaction that records it (exactly once); otherwise it runs first and is
                recorded after (a crash in between repeats it).
        """
        ...


class ChildExecutions(Protocol):
    """What ``states:startExecution`` needs from the orchestrator."""

    def start_execution(
        self, state_machine: str, input: JSON, *, name: str | None = None, input_text: str | None = None
    ) -> ExecutionRecord:
        """Start the child; ``input_text`` is the JSON text of ``input`` as the task gave it, which the
        child is described with (DescribeExecution, its ExecutionStarted event) unchanged."""
        ...

    def describe(self, arn: str) -> ExecutionRecord: ...

    def wait(self, arn: str, timeout: float | None = None) -> ExecutionRecord:
        """Until the execution ends. Raises OrchestratorStoppedError when the orchestrator stops first."""
        ...
