"""Execution state and history on SQLite: one transaction per interpreter step."""

from __future__ import annotations

import builtins
import json
import logging
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ...errors import ExecutionAlreadyExistsError, ExecutionNotFoundError
from ...ports import ExecutionRecord
from ._sqlite import Database

logger = logging.getLogger(__name__)


class SqliteExecutionStore:
    """An :class:`~sluiceway.ports.ExecutionStore` in the ``executions`` and ``history`` tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, record: ExecutionRecord, history: Sequence[Mapping[str, Any]]) -> ExecutionRecord:
        with self.db.transaction() as conn:
            row = conn.execute("SELECT * FROM executions WHERE state_machine=? AND name=?", (record.state_machine, record.name)).fetchone()
            if row is not None:
                existing = _record(row)
                # Step Functions: the same name and input as a *running* execution returns it;
                # a closed execution or another input is ExecutionAlreadyExists.
                if existing.input != record.input:
                    raise ExecutionAlreadyExistsError(f"Execution Already Exists: '{existing.arn}' (started with a different input)")
                if existing.status != "RUNNING":
                    raise ExecutionAlreadyExistsError(f"Execution Already Exists: '{existing.arn}' ({existing.status})")
                return existing
            conn.execute(
                "INSERT INTO executions (arn, name, state_machine, status, input, output, error, cause, started_at, stopped_at, state)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.arn,
                    record.name,
                    record.state_machine,
                    record.status,
                    json.dumps(record.input),
                    _dump(record.output),
                    record.error,
                    record.cause,
                    record.started_at.isoformat(),
                    record.stopped_at.isoformat() if record.stopped_at else None,
                    _dump(record.state),
                ),
            )
            _append(conn, record.arn, history)
        return record

    def advance(self, record: ExecutionRecord, history: Sequence[Mapping[str, Any]]) -> None:
        with self.db.transaction() as conn:
            cur = conn.execute(
                "UPDATE executions SET status=?, output=?, error=?, cause=?, stopped_at=?, state=? WHERE arn=?",
                (
                    record.status,
                    _dump(record.output),
                    record.error,
                    record.cause,
                    record.stopped_at.isoformat() if record.stopped_at else None,
                    _dump(record.state),
                    record.arn,
                ),
            )
            if cur.rowcount == 0:
                raise ExecutionNotFoundError(f"Execution Does Not Exist: '{record.arn}'")
            _append(conn, record.arn, history)
            if record.status != "RUNNING":
                # No task of an ended execution runs again: what the task journal kept for it goes.
                conn.execute("DELETE FROM task_effects WHERE execution_arn=?", (record.arn,))

    def get(self, arn: str) -> ExecutionRecord:
        row = self.db.connection().execute("SELECT * FROM executions WHERE arn=?", (arn,)).fetchone()
        if row is None:
            row = self.db.connection().execute("SELECT * FROM executions WHERE name=? ORDER BY started_at DESC LIMIT 1", (arn,)).fetchone()
        if row is None:
            raise ExecutionNotFoundError(f"Execution Does Not Exist: '{arn}'")
        return _record(row)

    def list(self, *, status: str | None = None, limit: int = 100) -> list[ExecutionRecord]:
        conn = self.db.connection()
        if status is None:
            rows = conn.execute("SELECT * FROM executions ORDER BY started_at DESC LIMIT ?", (limit,))
        else:
            rows = conn.execute("SELECT * FROM executions WHERE status=? ORDER BY started_at DESC LIMIT ?", (status, limit))
        return [_record(r) for r in rows]

    def history(self, arn: str) -> builtins.list[dict[str, Any]]:
        record = self.get(arn)
        rows = self.db.connection().execute("SELECT body FROM history WHERE execution_arn=? ORDER BY event_id", (record.arn,))
        return [json.loads(r["body"]) for r in rows]


def _append(conn: sqlite3.Connection, arn: str, history: Sequence[Mapping[str, Any]]) -> None:
    conn.executemany(
        "INSERT INTO history (execution_arn, event_id, body) VALUES (?, ?, ?)",
        [(arn, int(e["id"]), json.dumps(e, separators=(",", ":"))) for e in history],
    )


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def _record(row: sqlite3.Row) -> ExecutionRecord:
    return ExecutionRecord(
        arn=row["arn"],
        name=row["name"],
        state_machine=row["state_machine"],
        status=row["status"],
        input=json.loads(row["input"]),
        output=json.loads(row["output"]) if row["output"] is not None else None,
        error=row["error"],
        cause=row["cause"],
        started_at=datetime.fromisoformat(row["started_at"]),
        stopped_at=datetime.fromisoformat(row["stopped_at"]) if row["stopped_at"] else None,
        state=json.loads(row["state"]) if row["state"] is not None else None,
    )
