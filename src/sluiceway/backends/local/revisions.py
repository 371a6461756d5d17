"""State machine revisions on SQLite: immutable snapshots of a machine's definition and configuration.

Step Functions runs an execution to its end with the revision it started with, whatever
UpdateStateMachine does meanwhile, and DescribeStateMachineForExecution describes that
revision. The execution store writes a revision in the transaction that creates or updates
a machine, and the revision an execution started with in the execution's start transaction;
these helpers are that SQL, always called inside the caller's transaction.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "StateMachineRevision",
    "execution_revision",
    "forget_unused",
    "link_execution",
    "machine_revisions",
    "write_revision",
]


@dataclass(frozen=True)
class StateMachineRevision:
    """One revision of a state machine, as DescribeStateMachineForExecution describes it."""

    state_machine: str
    """The state machine's name."""
    revision_id: str
    definition: str
    """The definition text exactly as it was given."""
    role_arn: str
    type: str
    """``STANDARD`` or ``EXPRESS``."""
    updated_at: datetime
    """When the machine got this revision (its creation date for the initial one)."""
    initial: bool
    """Made by CreateStateMachine: AWS gives the initial revision no ``revisionId``."""
    logging: Mapping[str, Any] | None = None
    tracing: Mapping[str, Any] | None = None


def write_revision(conn: sqlite3.Connection, revision: StateMachineRevision) -> str:
    """Store ``revision`` unless it is stored already; return its id.

    A revision never changes once written (executions may run with it). An id that is
    stored with another configuration gets a fresh id instead: the caller then records
    that id as the machine's current one.
    """
    row = conn.execute(
        "SELECT definition, role_arn, type, logging, tracing FROM state_machine_revisions WHERE state_machine=? AND revision_id=?",
        (revision.state_machine, revision.revision_id),
    ).fetchone()
    revision_id = revision.revision_id
    if row is not None:
        if tuple(row) == _configuration(revision):
            return revision_id
        revision_id = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO state_machine_revisions"
        " (state_machine, revision_id, definition, role_arn, type, logging, tracing, updated_at, initial)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (revision.state_machine, revision_id, *_configuration(revision), revision.updated_at.isoformat(), int(revision.initial)),
    )
    return revision_id


def link_execution(conn: sqlite3.Connection, execution_arn: str, state_machine: str, revision_id: str) -> bool:
    """Record that the execution started with the revision; False if that revision is not stored.

    A revision can be gone when its machine was deleted between the start reading it and this
    transaction: the execution then has no recorded revision, like one started before
    revisions were kept.
    """
    cur = conn.execute(
        "INSERT INTO execution_revisions (execution_arn, state_machine, revision_id)"
        " SELECT ?, state_machine, revision_id FROM state_machine_revisions WHERE state_machine=? AND revision_id=?",
        (execution_arn, state_machine, revision_id),
    )
    return cur.rowcount > 0


def execution_revision(conn: sqlite3.Connection, execution_arn: str) -> StateMachineRevision | None:
    """The revision the execution started with; None when none was recorded."""
    row = conn.execute(
        "SELECT r.* FROM execution_revisions e JOIN state_machine_revisions r"
        " ON r.state_machine = e.state_machine AND r.revision_id = e.revision_id WHERE e.execution_arn=?",
        (execution_arn,),
    ).fetchone()
    return None if row is None else revision_from_row(row)


def machine_revisions(conn: sqlite3.Connection, state_machine: str) -> list[StateMachineRevision]:
    """The machine's stored revisions, the newest first (by the date it got each, then by insertion)."""
    rows = conn.execute(
        "SELECT * FROM state_machine_revisions WHERE state_machine=? ORDER BY updated_at DESC, rowid DESC", (state_machine,)
    )
    return [revision_from_row(r) for r in rows]


def forget_unused(conn: sqlite3.Connection, state_machine: str) -> int:
    """Delete the machine's revisions that no execution started with; return how many.

    Called when the machine is deleted: its executions stay describable, so the revisions they
    reference stay too.
    """
    cur = conn.execute(
        "DELETE FROM state_machine_revisions WHERE state_machine=? AND NOT EXISTS (SELECT 1 FROM execution_revisions e"
        " WHERE e.state_machine = state_machine_revisions.state_machine AND e.revision_id = state_machine_revisions.revision_id)",
        (state_machine,),
    )
    return cur.rowcount


def revision_from_row(row: sqlite3.Row) -> StateMachineRevision:
    return StateMachineRevision(
        state_machine=row["state_machine"],
        revision_id=row["revision_id"],
        definition=row["definition"],
        role_arn=row["role_arn"],
        type=row["type"],
        updated_at=datetime.fromisoformat(row["updated_at"]),
        initial=bool(row["initial"]),
        logging=json.loads(row["logging"]) if row["logging"] is not None else None,
        tracing=json.loads(row["tracing"]) if row["tracing"] is not None else None,
    )


def _configuration(revision: StateMachineRevision) -> tuple[str, str, str, str | None, str | None]:
    return (revision.definition, revision.role_arn, revision.type, _dump(revision.logging), _dump(revision.tracing))


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))
