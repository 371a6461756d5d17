"""Where a task stands in its execution's events: what a task's span needs of the interpreter's state.

Light on purpose: the orchestrator imports it whether or not it traces (the SDK is not loaded
with it), and copies a task's position out of the state under its lock, since the interpreter
changes that state in place as the execution's other paths advance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["TaskPosition", "task_position"]


@dataclass(frozen=True)
class TaskPosition:
    """Where a task stands in its execution's events, copied out of the interpreter's state."""

    last_event: int
    """The event its path last recorded (its state's entry, whose span the task continues)."""
    child_run: bool
    """It runs in a Distributed Map child run (whose events are numbered apart)."""


def task_position(state: Any, token: str) -> TaskPosition | None:
    """The position of task ``token`` in the interpreter's ``state``; None when it cannot be told.

    Call it where ``state`` cannot change (under the orchestrator's lock): the interpreter
    changes it in place as other paths of the execution advance.
    """
    try:
        path = state["paths"][state["tasks"][token]["pid"]]
        return TaskPosition(int(path["last_event"]), "history_root" in path)
    except (KeyError, TypeError, ValueError):
        return None
