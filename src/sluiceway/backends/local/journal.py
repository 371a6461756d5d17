"""Exactly-once effects for Task states whose effect lives in the local database.

The orchestrator runs a task again when its outcome was not committed (the process
died, or stopped, in between): at least once. Step Functions runs a Standard
workflow's service integrations once. Locally that holds when the effect (an SNS
publish, an SQS send, an event put, a DynamoDB write: all rows in SQLite) and the
record that the task had it commit in one transaction: a task run again finds
the record and returns the outcome it had, and nothing happens twice.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

from ...types import JSON
from ._sqlite import Database

logger = logging.getLogger(__name__)

__all__ = ["SqliteTaskJournal"]


class SqliteTaskJournal:
    """A :class:`~sluiceway.ports.TaskJournal` in the local database's ``task_effects`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def once(self, key: str, action: Callable[[], JSON], *, atomic: bool = True) -> JSON:
        """Run ``action`` unless a task with ``key`` already did; return its outcome either way.

        ``key`` is ``<execution ARN>#<task token>``: the execution's records are deleted
        when it ends (:class:`~.executions.SqliteExecutionStore`).

        With ``atomic``, ``action`` runs inside the transaction that records it: its writes
        to this database commit with the record or not at all, and raising rolls both back.
        Otherwise (an effect elsewhere, or one that must not hold the write lock) it runs
        first and is recorded after.
        """
        if not atomic:
            recorded = self._recorded(self.db.connection(), key)
            if recorded is not None:
                return recorded[0]
            outcome = action()
            with self.db.transaction() as conn:
                self._record(conn, key, outcome)
            return outcome
        with self.db.transaction() as conn:
            recorded = self._recorded(conn, key)
            if recorded is not None:
                return recorded[0]
            outcome = action()
            self._record(conn, key, outcome)
            return outcome

    @staticmethod
    def _recorded(conn: sqlite3.Connection, key: str) -> tuple[JSON] | None:
        row = conn.execute("SELECT outcome FROM task_effects WHERE task_key=?", (key,)).fetchone()
        if row is None:
            return None
        logger.info("task ran before; its recorded outcome is returned", extra={"task": key})
        return (json.loads(row["outcome"]),)

    @staticmethod
    def _record(conn: sqlite3.Connection, key: str, outcome: JSON) -> None:
        execution = key.rsplit("#", 1)[0]
        # Not for an execution that has ended meanwhile (a task it no longer waited for):
        # its records went when it ended, and nothing would ever remove this one.
        conn.execute(
            "INSERT OR IGNORE INTO task_effects (task_key, execution_arn, outcome, created_at)"
            " SELECT ?, ?, ?, ? WHERE NOT EXISTS"
            " (SELECT 1 FROM executions WHERE arn=? AND status != 'RUNNING')",
            (key, execution, json.dumps(outcome, separators=(",", ":")), datetime.now(UTC).isoformat(), execution),
        )
