"""State machine versions and aliases on SQLite.

A version is a number that names one stored revision of a machine (see :mod:`.revisions`)
for good: PublishStateMachineVersion numbers the machine's current revision, unless a
version of it exists already (publishing is idempotent), and numbers are never reused. An
alias routes executions to one or two versions by weight. Which version (and alias) an
execution was started through is recorded beside it. Deleting a machine deletes its versions
and aliases, in the transaction that deletes it (:meth:`forget_machine`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ...errors import ConflictError, NotFoundError
from ._sqlite import Database
from .revisions import StateMachineRevision, revision_from_row

__all__ = [
    "ExecutionVersion",
    "RevisionChangedError",
    "SqliteVersionStore",
    "StateMachineAlias",
    "StateMachineVersion",
    "VersionInUseError",
    "VersionQuotaError",
    "forget_machine",
]


@dataclass(frozen=True)
class StateMachineVersion:
    """One published version of a state machine."""

    state_machine: str
    version: int
    revision: StateMachineRevision
    """The configuration the version runs (never changes)."""
    created_at: datetime
    description: str | None = None


@dataclass(frozen=True)
class StateMachineAlias:
    """A named route from StartExecution to one or two versions of a state machine."""

    state_machine: str
    name: str
    routing: tuple[tuple[int, int], ...]
    """``(version, weight)`` pairs in the order they were given; the weights add up to 100."""
    created_at: datetime
    updated_at: datetime
    description: str | None = None


@dataclass(frozen=True)
class ExecutionVersion:
    """The version, and the alias if any, an execution was started through."""

    state_machine: str
    version: int
    alias: str | None = None


class RevisionChangedError(ConflictError):
    """PublishStateMachineVersion named a revision the machine is no longer at."""

    def __init__(self, expected: str, current: str | None) -> None:
        super().__init__(f"revision {expected} is not the current revision {current}")
        self.expected = expected
        self.current = current
        """The current revision's id as AWS shows it (None for the one CreateStateMachine made)."""


class VersionInUseError(ConflictError):
    """A version that aliases route to cannot be deleted."""

    def __init__(self, aliases: Sequence[str]) -> None:
        super().__init__(f"referenced by aliases {list(aliases)}")
        self.aliases = list(aliases)


class VersionQuotaError(ConflictError):
    """The machine has as many versions as it may have."""


class SqliteVersionStore:
    """Versions and aliases in the ``state_machine_versions`` and ``state_machine_aliases`` tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- versions ---------------------------------------------------------------------

    def publish(
        self, name: str, *, now: datetime, description: str | None = None, revision_id: str | None = None, limit: int = 1000
    ) -> tuple[StateMachineVersion, bool]:
        """Publish the machine's current revision: ``(the version, whether it is new)``.

        A version of the current revision that exists already is returned instead of a new
        one (whatever its description), as AWS does.

        Args:
            revision_id: the revision the caller expects the machine to be at, as AWS shows
                revision ids (the initial revision has none, so it never matches one).
            limit: how many versions the machine may have.

        Raises:
            NotFoundError: no state machine has that name.
            RevisionChangedError: the machine is not at ``revision_id``.
            VersionQuotaError: the machine has ``limit`` versions already.
        """
        with self.db.transaction() as conn:
            current = _current_revision(conn, name)
            if current is None:
                raise NotFoundError(f"State Machine Does Not Exist: '{name}'")
            shown = None if current.initial else current.revision_id
            if revision_id is not None and revision_id != shown:
                raise RevisionChangedError(revision_id, shown)
            row = conn.execute(
                "SELECT version FROM state_machine_versions WHERE state_machine=? AND revision_id=? ORDER BY version DESC LIMIT 1",
                (name, current.revision_id),
            ).fetchone()
            if row is not None:
                existing = self._version(conn, name, int(row["version"]))
                assert existing is not None
                return existing, False
            (count,) = conn.execute("SELECT COUNT(*) FROM state_machine_versions WHERE state_machine=?", (name,)).fetchone()
            if count >= limit:
                raise VersionQuotaError(f"state machine {name} has {count} versions")
            conn.execute(
                "INSERT INTO state_machine_version_counters (state_machine, last_version) VALUES (?, 1)"
                " ON CONFLICT (state_machine) DO UPDATE SET last_version = last_version + 1",
                (name,),
            )
            (number,) = conn.execute("SELECT last_version FROM state_machine_version_counters WHERE state_machine=?", (name,)).fetchone()
            conn.execute(
                "INSERT INTO state_machine_versions (state_machine, version, revision_id, description, created_at) VALUES (?, ?, ?, ?, ?)",
                (name, number, current.revision_id, description, now.isoformat()),
            )
            return StateMachineVersion(name, int(number), current, now, description), True

    def version(self, name: str, number: int) -> StateMachineVersion | None:
        """The machine's version ``number``; None if it was never published or was deleted."""
        return self._version(self.db.connection(), name, number)

    def versions(self, name: str) -> list[StateMachineVersion]:
        """The machine's versions, the newest first (ListStateMachineVersions' order)."""
        conn = self.db.connection()
        rows = conn.execute(
            "SELECT v.version AS version_number, v.description AS version_description, v.created_at AS version_created_at, r.*"
            " FROM state_machine_versions v JOIN state_machine_revisions r"
            " ON r.state_machine = v.state_machine AND r.revision_id = v.revision_id"
            " WHERE v.state_machine=? ORDER BY v.version DESC",
            (name,),
        )
        return [_version_from_row(name, r) for r in rows]

    def delete_version(self, name: str, number: int) -> bool:
        """Delete the version (its executions keep running); True if it existed.

        Raises:
            VersionInUseError: an alias routes to it.
        """
        with self.db.transaction() as conn:
            users = [a.name for a in _aliases(conn, name) if any(v == number for v, _ in a.routing)]
            if users:
                raise VersionInUseError(users)
            return conn.execute("DELETE FROM state_machine_versions WHERE state_machine=? AND version=?", (name, number)).rowcount > 0

    def _version(self, conn: sqlite3.Connection, name: str, number: int) -> StateMachineVersion | None:
        row = conn.execute(
            "SELECT v.version AS version_number, v.description AS version_description, v.created_at AS version_created_at, r.*"
            " FROM state_machine_versions v JOIN state_machine_revisions r"
            " ON r.state_machine = v.state_machine AND r.revision_id = v.revision_id"
            " WHERE v.state_machine=? AND v.version=?",
            (name, number),
        ).fetchone()
        return None if row is None else _version_from_row(name, row)

    # -- aliases ----------------------------------------------------------------------

    def create_alias(self, alias: StateMachineAlias, *, limit: int = 100) -> tuple[StateMachineAlias, bool]:
        """Store a new alias: ``(the stored one, whether it is new)``.

        The same alias again (description and routing) returns the stored one.

        Raises:
            ConflictError: an alias of that name exists with another description or routing.
            NotFoundError: a version routed to does not exist (any more).
            VersionQuotaError: the machine has ``limit`` aliases already.
        """
        with self.db.transaction() as conn:
            existing = _alias(conn, alias.state_machine, alias.name)
            if existing is not None:
                if existing.description == alias.description and existing.routing == alias.routing:
                    return existing, False
                raise ConflictError(f"alias {alias.name} exists with another configuration")
            _check_versions(conn, alias.state_machine, alias.routing)
            (count,) = conn.execute("SELECT COUNT(*) FROM state_machine_aliases WHERE state_machine=?", (alias.state_machine,)).fetchone()
            if count >= limit:
                raise VersionQuotaError(f"state machine {alias.state_machine} has {count} aliases")
            conn.execute(
                "INSERT INTO state_machine_aliases (state_machine, name, description, routing, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    alias.state_machine,
                    alias.name,
                    alias.description,
                    json.dumps([list(r) for r in alias.routing]),
                    alias.created_at.isoformat(),
                    alias.updated_at.isoformat(),
                ),
            )
            return alias, True

    def update_alias(
        self,
        name: str,
        alias_name: str,
        *,
        now: datetime,
        description: str | None = None,
        routing: tuple[tuple[int, int], ...] | None = None,
    ) -> StateMachineAlias:
        """Change the alias's description and/or routing.

        Raises:
            NotFoundError: no such alias, or a version routed to does not exist.
        """
        with self.db.transaction() as conn:
            existing = _alias(conn, name, alias_name)
            if existing is None:
                raise NotFoundError(f"alias {alias_name} of {name} does not exist")
            if routing is not None:
                _check_versions(conn, name, routing)
            conn.execute(
                "UPDATE state_machine_aliases SET description=?, routing=?, updated_at=? WHERE state_machine=? AND name=?",
                (
                    existing.description if description is None else description,
                    json.dumps([list(r) for r in (existing.routing if routing is None else routing)]),
                    now.isoformat(),
                    name,
                    alias_name,
                ),
            )
            updated = _alias(conn, name, alias_name)
            assert updated is not None
            return updated

    def alias(self, name: str, alias_name: str) -> StateMachineAlias | None:
        return _alias(self.db.connection(), name, alias_name)

    def aliases(self, name: str) -> list[StateMachineAlias]:
        """The machine's aliases, oldest first (the order AWS lists them in, recorded)."""
        return _aliases(self.db.connection(), name)

    def delete_alias(self, name: str, alias_name: str) -> bool:
        with self.db.transaction() as conn:
            return conn.execute("DELETE FROM state_machine_aliases WHERE state_machine=? AND name=?", (name, alias_name)).rowcount > 0

    # -- executions -------------------------------------------------------------------

    def link_execution(self, execution_arn: str, started: ExecutionVersion) -> None:
        """Record the version (and alias) the execution was started through."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO execution_versions (execution_arn, state_machine, version, alias) VALUES (?, ?, ?, ?)",
                (execution_arn, started.state_machine, started.version, started.alias),
            )

    def execution_version(self, execution_arn: str) -> ExecutionVersion | None:
        row = self.db.connection().execute("SELECT * FROM execution_versions WHERE execution_arn=?", (execution_arn,)).fetchone()
        return None if row is None else ExecutionVersion(row["state_machine"], int(row["version"]), row["alias"])


def forget_machine(conn: sqlite3.Connection, name: str) -> None:
    """Delete the machine's versions, aliases and version counter (inside the caller's transaction)."""
    conn.execute("DELETE FROM state_machine_aliases WHERE state_machine=?", (name,))
    conn.execute("DELETE FROM state_machine_versions WHERE state_machine=?", (name,))
    conn.execute("DELETE FROM state_machine_version_counters WHERE state_machine=?", (name,))


def _current_revision(conn: sqlite3.Connection, name: str) -> StateMachineRevision | None:
    row = conn.execute(
        "SELECT r.* FROM state_machines m JOIN state_machine_revisions r"
        " ON r.state_machine = m.name AND r.revision_id = m.revision_id WHERE m.name=?",
        (name,),
    ).fetchone()
    return None if row is None else revision_from_row(row)


def _check_versions(conn: sqlite3.Connection, name: str, routing: tuple[tuple[int, int], ...]) -> None:
    for number, _ in routing:
        if conn.execute("SELECT 1 FROM state_machine_versions WHERE state_machine=? AND version=?", (name, number)).fetchone() is None:
            raise NotFoundError(f"version {number} of {name} does not exist")


def _alias(conn: sqlite3.Connection, name: str, alias_name: str) -> StateMachineAlias | None:
    row = conn.execute("SELECT * FROM state_machine_aliases WHERE state_machine=? AND name=?", (name, alias_name)).fetchone()
    return None if row is None else _alias_from_row(row)


def _aliases(conn: sqlite3.Connection, name: str) -> list[StateMachineAlias]:
    rows = conn.execute("SELECT * FROM state_machine_aliases WHERE state_machine=? ORDER BY created_at, rowid", (name,))
    return [_alias_from_row(r) for r in rows]


def _alias_from_row(row: sqlite3.Row) -> StateMachineAlias:
    return StateMachineAlias(
        state_machine=row["state_machine"],
        name=row["name"],
        routing=tuple((int(v), int(w)) for v, w in json.loads(row["routing"])),
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        description=row["description"],
    )


def _version_from_row(name: str, row: sqlite3.Row) -> StateMachineVersion:
    return StateMachineVersion(
        state_machine=name,
        version=int(row["version_number"]),
        revision=revision_from_row(row),
        created_at=datetime.fromisoformat(row["version_created_at"]),
        description=row["version_description"],
    )
