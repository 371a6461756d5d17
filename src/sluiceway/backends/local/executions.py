"""Execution state and history on SQLite: one transaction per interpreter step.

The store also keeps the state machines that were created through the AWS-compatible
endpoint (with the text of their definition, their type, role and tags), so that a
restarted stack registers them again before it resumes their executions, and every
revision of them that an execution started with (:mod:`.revisions`), so that an execution
resumes and is redriven with its own.
"""

from __future__ import annotations

import builtins
import json
import logging
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ...errors import ExecutionAlreadyExistsError, ExecutionNotFoundError, NotFoundError
from ...ports import ExecutionRecord
from . import revisions, versions
from ._sqlite import Database
from .revisions import StateMachineRevision

logger = logging.getLogger(__name__)

__all__ = ["SqliteExecutionStore", "StateMachineRecord", "StateMachineRevision"]


@dataclass(frozen=True)
class StateMachineRecord:
    """A state machine as Step Functions describes it."""

    name: str
    definition: str
    """The definition text exactly as given (DescribeStateMachine returns it unchanged)."""
    role_arn: str
    type: str
    """``STANDARD`` or ``EXPRESS``."""
    created_at: datetime
    updated_at: datetime
    revision_id: str
    logging: Mapping[str, Any] | None = None
    tracing: Mapping[str, Any] | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    builtin: bool = False
    """One of the application's own workflows (defined by the app, not through the endpoint)."""


class SqliteExecutionStore:
    """An :class:`~sluiceway.ports.ExecutionStore` in the ``executions`` and ``history`` tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, record: ExecutionRecord, history: Sequence[Mapping[str, Any]], *, revision_id: str | None = None) -> ExecutionRecord:
        """Insert a new execution (see :meth:`~sluiceway.ports.ExecutionStore.create`).

        The input is kept as the text its ExecutionStarted event shows (StartExecution's input
        as given, see :meth:`input_text`), which must be JSON for ``record.input``.

        Args:
            revision_id: the revision of ``record.state_machine`` the execution started with;
                recorded in the same transaction (nothing is recorded for one not stored).
        """
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
                    _input_text(record, history),
                    _dump(record.output),
                    record.error,
                    record.cause,
                    record.started_at.isoformat(),
                    record.stopped_at.isoformat() if record.stopped_at else None,
                    _dump(record.state),
                ),
            )
            _append(conn, record.arn, history)
            if revision_id is not None and not revisions.link_execution(conn, record.arn, record.state_machine, revision_id):
                logger.warning("execution started with a revision no longer stored", extra={"execution": record.arn})
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

    def input_text(self, arn: str) -> str:
        """The execution's input as its start gave it: the text DescribeExecution returns.

        Executions stored before the text was kept give their input as it was serialised then.

        Raises:
            ExecutionNotFoundError: no execution has that ARN.
        """
        row = self.db.connection().execute("SELECT input FROM executions WHERE arn=?", (arn,)).fetchone()
        if row is None:
            raise ExecutionNotFoundError(f"Execution Does Not Exist: '{arn}'")
        return str(row["input"])

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

    def page(
        self,
        *,
        state_machine: str | None = None,
        status: str | None = None,
        redriven: bool | None = None,
        after: tuple[str, str] | None = None,
        limit: int = 100,
        version: int | None = None,
        alias: str | None = None,
    ) -> builtins.list[ExecutionRecord]:
        """The executions of :meth:`keyed_page`, without their sort keys."""
        rows = self.keyed_page(
            state_machine=state_machine, status=status, redriven=redriven, after=after, limit=limit, version=version, alias=alias
        )
        return [record for record, _ in rows]

    def keyed_page(
        self,
        *,
        state_machine: str | None = None,
        status: str | None = None,
        redriven: bool | None = None,
        after: tuple[str, str] | None = None,
        limit: int = 100,
        version: int | None = None,
        alias: str | None = None,
    ) -> builtins.list[tuple[ExecutionRecord, str]]:
        """Executions as ListExecutions orders them, the most recent first, with each one's sort key.

        Step Functions sorts a running execution by its start (or last redrive) date and an ended
        one by its stop date; executions at the same instant come by ARN, descending.

        Args:
            redriven: only executions redriven at least once (True) or never (False).
            after: ``(sort key, arn)`` of the last execution of the previous page.
            version: only executions started through this version of ``state_machine``
                (directly or through an alias).
            alias: only executions started through this alias of ``state_machine``.
        """
        where: list[str] = []
        args: list[str | int] = []
        if state_machine is not None:
            where.append("state_machine=?")
            args.append(state_machine)
        if status is not None:
            where.append("status=?")
            args.append(status)
        if redriven is not None:
            where.append(f"COALESCE(json_extract(state, '$.context.Execution.RedriveCount'), 0) {'>' if redriven else '='} 0")
        if version is not None:
            where.append("EXISTS (SELECT 1 FROM execution_versions v WHERE v.execution_arn = arn AND v.version = ?)")
            args.append(version)
        if alias is not None:
            where.append("EXISTS (SELECT 1 FROM execution_versions v WHERE v.execution_arn = arn AND v.alias = ?)")
            args.append(alias)
        if after is not None:
            where.append("(sort_at < ? OR (sort_at = ? AND arn < ?))")
            args.extend([after[0], after[0], after[1]])
        sql = f"SELECT * FROM (SELECT *, {_SORT_AT} AS sort_at FROM executions)"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY sort_at DESC, arn DESC LIMIT ?"
        rows = self.db.connection().execute(sql, (*args, limit))
        return [(_record(r), str(r["sort_at"])) for r in rows]

    # -- state machines ----------------------------------------------------------------

    def create_state_machine(
        self,
        name: str,
        definition: str,
        *,
        role_arn: str,
        type: str,
        now: datetime,
        logging: Mapping[str, Any] | None = None,
        tracing: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        builtin: bool = False,
    ) -> tuple[StateMachineRecord, bool]:
        """Store a new state machine unless one of that name exists: ``(the stored one, whether it is new)``."""
        machine = StateMachineRecord(
            name=name,
            definition=definition,
            role_arn=role_arn,
            type=type,
            created_at=now,
            updated_at=now,
            revision_id=str(uuid.uuid4()),
            logging=logging,
            tracing=tracing,
            tags=dict(tags or {}),
            builtin=builtin,
        )
        with self.db.transaction() as conn:
            row = conn.execute("SELECT * FROM state_machines WHERE name=?", (name,)).fetchone()
            if row is not None:
                return _machine(row), False
            conn.execute(
                "INSERT INTO state_machines (name, definition, role_arn, type, created_at, updated_at, revision_id,"
                " logging, tracing, tags, builtin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    machine.name,
                    machine.definition,
                    machine.role_arn,
                    machine.type,
                    machine.created_at.isoformat(),
                    machine.updated_at.isoformat(),
                    machine.revision_id,
                    _dump(machine.logging),
                    _dump(machine.tracing),
                    json.dumps(dict(machine.tags)),
                    int(machine.builtin),
                ),
            )
            revisions.write_revision(conn, _revision_of(machine, initial=True))
        return machine, True

    def update_state_machine(self, machine: StateMachineRecord) -> str:
        """Replace the stored state machine of ``machine.name`` (its creation date stays; pass a new
        ``revision_id`` with a new definition or role, as UpdateStateMachine makes one).

        The configuration is stored as a revision in the same transaction. Revisions never
        change: a configuration that differs from the one stored under ``machine.revision_id``
        is stored under a fresh id, which becomes the machine's. Returns the revision id stored.

        Raises:
            NotFoundError: no state machine has that name.
        """
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM state_machines WHERE name=?", (machine.name,)).fetchone() is None:
                raise NotFoundError(f"State Machine Does Not Exist: '{machine.name}'")
            initial = machine.updated_at == machine.created_at  # never updated: still CreateStateMachine's configuration
            revision_id = revisions.write_revision(conn, _revision_of(machine, initial=initial))
            conn.execute(
                "UPDATE state_machines SET definition=?, role_arn=?, type=?, updated_at=?, revision_id=?, logging=?,"
                " tracing=?, tags=?, builtin=? WHERE name=?",
                (
                    machine.definition,
                    machine.role_arn,
                    machine.type,
                    machine.updated_at.isoformat(),
                    revision_id,
                    _dump(machine.logging),
                    _dump(machine.tracing),
                    json.dumps(dict(machine.tags)),
                    int(machine.builtin),
                    machine.name,
                ),
            )
        return revision_id

    def get_state_machine(self, name: str) -> StateMachineRecord | None:
        row = self.db.connection().execute("SELECT * FROM state_machines WHERE name=?", (name,)).fetchone()
        return None if row is None else _machine(row)

    def state_machines(self) -> builtins.list[StateMachineRecord]:
        """Every stored state machine, by name."""
        rows = self.db.connection().execute("SELECT * FROM state_machines ORDER BY name")
        return [_machine(r) for r in rows]

    def delete_state_machine(self, name: str) -> bool:
        """Forget the state machine (its executions stay, as on AWS until they age out); True if it existed.

        The revisions its executions started with stay with them (they describe and resume them).
        """
        with self.db.transaction() as conn:
            existed = conn.execute("DELETE FROM state_machines WHERE name=?", (name,)).rowcount > 0
            # Its versions and aliases go with it (AWS deletes them too); then the revisions only
            # they kept.
            versions.forget_machine(conn, name)
            revisions.forget_unused(conn, name)
            return existed

    def current_revision(self, name: str) -> StateMachineRevision | None:
        """The revision the state machine is at now; None for a machine the store does not keep."""
        row = (
            self.db.connection()
            .execute(
                "SELECT r.* FROM state_machines m JOIN state_machine_revisions r"
                " ON r.state_machine = m.name AND r.revision_id = m.revision_id WHERE m.name=?",
                (name,),
            )
            .fetchone()
        )
        return None if row is None else revisions.revision_from_row(row)

    def revision(self, name: str, revision_id: str) -> StateMachineRevision | None:
        """The machine's stored revision ``revision_id``; None if it is not stored."""
        row = (
            self.db.connection()
            .execute("SELECT * FROM state_machine_revisions WHERE state_machine=? AND revision_id=?", (name, revision_id))
            .fetchone()
        )
        return None if row is None else revisions.revision_from_row(row)

    def machine_revisions(self, name: str) -> builtins.list[StateMachineRevision]:
        """Every stored revision of the state machine, the newest first."""
        return revisions.machine_revisions(self.db.connection(), name)

    def execution_revision(self, arn: str) -> StateMachineRevision | None:
        """The revision the execution started with.

        None for an execution started before revisions were kept, or of a machine the store
        did not describe when it started (one registered in code only): such an execution
        runs with, and is described by, its machine's current definition.
        """
        return revisions.execution_revision(self.db.connection(), arn)


_SORT_AT = (
    "COALESCE(stopped_at, CASE WHEN stopped_at IS NULL THEN (SELECT REPLACE(json_extract(h.body, '$.timestamp'), 'Z', '+00:00')"
    " FROM history h WHERE h.execution_arn = executions.arn AND json_extract(h.body, '$.type') = 'ExecutionRedriven'"
    " ORDER BY h.event_id DESC LIMIT 1) END, started_at)"
)
"""ListExecutions' sort key as ISO text: the stop date, else the last redrive's date, else the start date.

History stamps milliseconds with ``Z``; as ``+00:00`` they sort as text with the ISO dates the
executions table keeps (all UTC)."""


def _revision_of(machine: StateMachineRecord, *, initial: bool) -> StateMachineRevision:
    return StateMachineRevision(
        state_machine=machine.name,
        revision_id=machine.revision_id,
        definition=machine.definition,
        role_arn=machine.role_arn,
        type=machine.type,
        updated_at=machine.updated_at,
        initial=initial,
        logging=machine.logging,
        tracing=machine.tracing,
    )


def _append(conn: sqlite3.Connection, arn: str, history: Sequence[Mapping[str, Any]]) -> None:
    conn.executemany(
        "INSERT INTO history (execution_arn, event_id, body) VALUES (?, ?, ?)",
        [(arn, int(e["id"]), json.dumps(e, separators=(",", ":"))) for e in history],
    )


def _input_text(record: ExecutionRecord, history: Sequence[Mapping[str, Any]]) -> str:
    """The text to keep of the execution's input: its ExecutionStarted event's, the same string
    AWS shows in DescribeExecution; compact JSON when the event holds none (a truncated input)."""
    if history and history[0].get("type") == "ExecutionStarted":
        details = history[0].get("executionStartedEventDetails") or {}
        text = details.get("input")
        if isinstance(text, str) and not (details.get("inputDetails") or {}).get("truncated"):
            return text
    return json.dumps(record.input, separators=(",", ":"), ensure_ascii=False)


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


def _machine(row: sqlite3.Row) -> StateMachineRecord:
    return StateMachineRecord(
        name=row["name"],
        definition=row["definition"],
        role_arn=row["role_arn"],
        type=row["type"],
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        revision_id=row["revision_id"],
        logging=json.loads(row["logging"]) if row["logging"] is not None else None,
        tracing=json.loads(row["tracing"]) if row["tracing"] is not None else None,
        tags=json.loads(row["tags"]),
        builtin=bool(row["builtin"]),
    )
