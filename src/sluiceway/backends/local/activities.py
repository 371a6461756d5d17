"""Step Functions activities and the queue of their scheduled tasks, in the local database.

An activity is a name workers poll (GetActivityTask). A Task state whose resource is an
activity ARN schedules a task: a row here, kept until its execution ends, so that a task
scheduled before a restart is handed to a worker after it. A row is handed out once: the
poller that sets its ``started_ms`` has it, in the same transaction as the execution's
ActivityStarted (:meth:`SqliteActivities.hand_out`), so that a crash never leaves a task
handed out that its execution does not know was started. Long polls wait on
:class:`~._long_poll.LongPolls`, are woken by the commit of a scheduled task, and end when
the stack stops (:meth:`SqliteActivities.close`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from ...ports import Clock
from ._long_poll import LongPolls
from ._sqlite import Database

__all__ = ["ActivityRecord", "ActivityTask", "SqliteActivities"]

T = TypeVar("T")

POLL_INTERVAL_S = 1.0
"""How often a long poll looks again without being woken (a task scheduled by another process)."""


@dataclass(frozen=True)
class ActivityRecord:
    """An activity as CreateActivity made it."""

    arn: str
    name: str
    created_at: datetime
    encryption: Mapping[str, Any] = field(default_factory=dict)
    """Its EncryptionConfiguration (``{"type": "AWS_OWNED_KEY"}`` when none was given)."""
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ActivityTask:
    """A task an execution scheduled on an activity."""

    seq: int
    activity_arn: str
    execution_arn: str
    task: str
    """The execution's own name for the task (its Task state's current call)."""
    task_token: str
    input: str
    """The task's input as JSON text (GetActivityTask's ``input``)."""


class SqliteActivities:
    """Activities (``sfn_activities``) and their scheduled tasks (``sfn_activity_tasks``). Thread-safe."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.polls = LongPolls(clock)

    # -- activities -------------------------------------------------------------------------

    def create(self, arn: str, name: str, encryption: Mapping[str, Any], tags: Mapping[str, str]) -> tuple[ActivityRecord, bool]:
        """The activity ``arn``, made now unless it exists; and whether it was made."""
        with self.db.transaction() as conn:
            row = conn.execute("SELECT * FROM sfn_activities WHERE arn=?", (arn,)).fetchone()
            if row is not None:
                return _activity(row), False
            conn.execute(
                "INSERT INTO sfn_activities (arn, name, created_ms, encryption, tags) VALUES (?, ?, ?, ?, ?)",
                (arn, name, _ms(self.clock.now()), json.dumps(dict(encryption)), json.dumps(dict(tags))),
            )
            row = conn.execute("SELECT * FROM sfn_activities WHERE arn=?", (arn,)).fetchone()
        # Tasks already scheduled on an activity of this ARN (deleted and made again) can be polled again.
        self.polls.changed()
        return _activity(row), True

    def get(self, arn: str) -> ActivityRecord | None:
        row = self.db.connection().execute("SELECT * FROM sfn_activities WHERE arn=?", (arn,)).fetchone()
        return None if row is None else _activity(row)

    def list_activities(self, *, after: str | None, limit: int) -> list[ActivityRecord]:
        """Up to ``limit`` activities by name, those after the name ``after``."""
        rows = self.db.connection().execute("SELECT * FROM sfn_activities WHERE name > ? ORDER BY name LIMIT ?", (after or "", limit))
        return [_activity(row) for row in rows]

    def set_tags(self, arn: str, tags: Mapping[str, str]) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE sfn_activities SET tags=? WHERE arn=?", (json.dumps(dict(tags)), arn))

    def delete(self, arn: str) -> None:
        """Delete the activity (nothing when there is none). Its scheduled tasks stay their executions'."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM sfn_activities WHERE arn=?", (arn,))
        self.polls.changed()  # long polls on it answer ActivityDoesNotExist

    # -- scheduled tasks (the orchestrator's ActivityQueue) ------------------------------------

    def schedule(
        self, activity_arn: str, execution_arn: str, task: str, task_token: str, input_text: str
    ) -> Literal["scheduled", "missing"]:
        """Queue the task for the activity's workers; "missing" when there is no such activity.

        Idempotent: a task queued before (this is a restart's second call) stays as it is,
        handed out or not, even when its activity was deleted since.
        """
        with self.db.transaction() as conn:
            queued = conn.execute("SELECT 1 FROM sfn_activity_tasks WHERE execution_arn=? AND task=?", (execution_arn, task)).fetchone()
            if queued is not None:
                return "scheduled"
            if conn.execute("SELECT 1 FROM sfn_activities WHERE arn=?", (activity_arn,)).fetchone() is None:
                return "missing"
            conn.execute(
                "INSERT INTO sfn_activity_tasks (activity_arn, execution_arn, task, task_token, input, scheduled_ms)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (activity_arn, execution_arn, task, task_token, input_text, _ms(self.clock.now())),
            )
            self.db.after_commit(self.polls.changed)
        return "scheduled"

    def forget(self, execution_arn: str, task: str | None = None) -> None:
        """Drop the execution's tasks (one, or all once it ended)."""
        with self.db.transaction() as conn:
            if task is None:
                conn.execute("DELETE FROM sfn_activity_tasks WHERE execution_arn=?", (execution_arn,))
            else:
                conn.execute("DELETE FROM sfn_activity_tasks WHERE execution_arn=? AND task=?", (execution_arn, task))

    # -- workers ---------------------------------------------------------------------------------

    def waiting(self, activity_arn: str, *, limit: int = 10) -> list[ActivityTask]:
        """The activity's tasks not handed out yet, oldest first."""
        rows = self.db.connection().execute(
            "SELECT * FROM sfn_activity_tasks WHERE activity_arn=? AND started_ms IS NULL ORDER BY seq LIMIT ?",
            (activity_arn, limit),
        )
        return [_task(row) for row in rows]

    @contextmanager
    def hand_out(self, execution_arn: str, task: str, worker_name: str | None) -> Iterator[bool]:
        """Claim the execution's ``task`` for a worker inside a transaction; yields whether this caller got it.

        What the caller writes to this database inside the block (the execution's ActivityStarted)
        commits with the claim, or neither does: an exception in the block puts the task back.
        """
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE sfn_activity_tasks SET started_ms=?, worker_name=? WHERE execution_arn=? AND task=? AND started_ms IS NULL",
                (_ms(self.clock.now()), worker_name, execution_arn, task),
            )
            yield cursor.rowcount == 1

    def close(self) -> None:
        """End every long poll now (answering no task), and every later one at once: the stack stops."""
        self.polls.close()

    def poll(self, activity_arn: str, wait_s: float, take: Callable[[], T | None]) -> T | None:
        """Call ``take`` until it gives something or ``wait_s`` passes; woken when a task is scheduled.

        ``take`` runs outside any transaction and lock: it claims with :meth:`hand_out`. Once
        :meth:`close` was called, ``take`` is not called any more and the poll answers None.
        """
        if self.polls.closed:
            return None
        generation = self.polls.generation
        first = take()
        if first is not None:
            return first

        def look() -> list[T]:
            found = take()
            return [] if found is None else [found]

        taken = self.polls.wait(activity_arn, wait_s, generation, look, poll_interval_s=POLL_INTERVAL_S)
        return taken[0] if taken else None

    def wait_for_pollers(self, activity_arn: str, count: int = 1, timeout: float | None = None) -> bool:
        """Block until ``count`` workers long-poll the activity; False on timeout (tests' synchronisation)."""
        return self.polls.wait_for_receivers(activity_arn, count, timeout)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _activity(row: sqlite3.Row) -> ActivityRecord:
    return ActivityRecord(
        arn=row["arn"],
        name=row["name"],
        created_at=datetime.fromtimestamp(row["created_ms"] / 1000, UTC),
        encryption=json.loads(row["encryption"]),
        tags=json.loads(row["tags"]),
    )


def _task(row: sqlite3.Row) -> ActivityTask:
    return ActivityTask(row["seq"], row["activity_arn"], row["execution_arn"], row["task"], row["task_token"], row["input"])
