"""SSM Parameter Store on SQLite: each parameter's versions, their labels, and the parameter's tags.

The parameters live in the state database, so functions in worker processes, the endpoint
and template deploys all read the same values. Values are kept as given, SecureString ones
too: locally nothing is encrypted beyond the data dir's own protection.

A parameter is found by its *key*: its name, except that a name of one level is the same
parameter with or without its leading slash (``/db`` is ``db``), as Parameter Store has it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

from ...errors import ConflictError, NotFoundError
from ._sqlite import Database

__all__ = [
    "MAX_VERSIONS",
    "LabelledOldestVersionError",
    "ParameterVersion",
    "SqliteParameters",
    "parameter_key",
]

MAX_VERSIONS: Final = 100
"""Parameter Store keeps this many versions of a parameter; a new one drops the oldest."""

_COLUMNS: Final = (
    "key, version, name, type, value, description, key_id, allowed_pattern, data_type, tier, policies, modified_ms, modified_by"
)


class LabelledOldestVersionError(ConflictError):
    """The parameter has :data:`MAX_VERSIONS` versions and the oldest, which would go, has a label."""

    def __init__(self, name: str, version: int) -> None:
        super().__init__(f"version {version} of {name} has a label")
        self.name = name
        self.version = version


def parameter_key(name: str) -> str:
    """The key a name finds its parameter by: ``/db`` and ``db`` are one parameter, ``/a/b`` is itself."""
    if name.startswith("/") and "/" not in name[1:]:
        return name[1:]
    return name


@dataclass(frozen=True)
class ParameterVersion:
    """One version of a parameter, as PutParameter made it."""

    name: str
    """The name as the parameter was created (with or without a leading slash)."""
    version: int
    type: str
    """``String``, ``StringList`` or ``SecureString``."""
    value: str
    description: str | None
    key_id: str | None
    """The KMS key a SecureString names (recorded; locally the value is not encrypted with it)."""
    allowed_pattern: str | None
    data_type: str
    tier: str
    """``Standard`` or ``Advanced`` (Intelligent-Tiering is resolved to one of them when put)."""
    policies: str | None
    """The parameter policies' JSON text, as given."""
    modified_ms: int
    modified_by: str
    """The ARN of who put it (``LastModifiedUser``)."""
    labels: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return parameter_key(self.name)


def _version(row: tuple[Any, ...], labels: tuple[str, ...] = ()) -> ParameterVersion:
    (_, version, name, kind, value, description, key_id, pattern, data_type, tier, policies, modified_ms, modified_by) = row
    return ParameterVersion(
        name=str(name),
        version=int(version),
        type=str(kind),
        value=str(value),
        description=None if description is None else str(description),
        key_id=None if key_id is None else str(key_id),
        allowed_pattern=None if pattern is None else str(pattern),
        data_type=str(data_type),
        tier=str(tier),
        policies=None if policies is None else str(policies),
        modified_ms=int(modified_ms),
        modified_by=str(modified_by),
        labels=labels,
    )


class SqliteParameters:
    """The data dir's parameters, in the state database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- writing ---------------------------------------------------------------------------

    def put(
        self,
        name: str,
        build: Callable[[ParameterVersion | None], ParameterVersion],
        *,
        tags: Mapping[str, str] | None = None,
    ) -> ParameterVersion:
        """Add a version of ``name``, made by ``build`` from the latest one (None: a new parameter).

        ``build`` runs inside the write transaction, so that two writers never make the same
        version; whatever it raises leaves the parameter as it was. ``tags`` are set on a new
        parameter. The oldest version goes once there are :data:`MAX_VERSIONS`.

        Raises:
            LabelledOldestVersionError: the oldest version would go, and it has a label.
        """
        key = parameter_key(name)
        with self.db.transaction() as conn:
            previous = self._latest(conn, key)
            made = build(previous)
            version = 1 if previous is None else previous.version + 1
            made = replace(made, name=previous.name if previous else made.name, version=version, labels=())
            if previous is not None:
                count, oldest = conn.execute("SELECT count(*), min(version) FROM ssm_parameter_versions WHERE key=?", (key,)).fetchone()
                if int(count) >= MAX_VERSIONS:
                    if conn.execute("SELECT 1 FROM ssm_parameter_labels WHERE key=? AND version=?", (key, oldest)).fetchone():
                        raise LabelledOldestVersionError(previous.name, int(oldest))
                    conn.execute("DELETE FROM ssm_parameter_versions WHERE key=? AND version=?", (key, oldest))
            conn.execute(
                f"INSERT INTO ssm_parameter_versions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    made.version,
                    made.name,
                    made.type,
                    made.value,
                    made.description,
                    made.key_id,
                    made.allowed_pattern,
                    made.data_type,
                    made.tier,
                    made.policies,
                    made.modified_ms,
                    made.modified_by,
                ),
            )
            if previous is None:
                for tag_key, tag_value in (tags or {}).items():
                    conn.execute("INSERT OR REPLACE INTO ssm_parameter_tags VALUES (?, ?, ?)", (key, tag_key, tag_value))
        return made

    def delete(self, name: str) -> None:
        """Delete the parameter, its versions, labels and tags (NotFoundError: no such parameter)."""
        key = parameter_key(name)
        with self.db.transaction() as conn:
            if conn.execute("DELETE FROM ssm_parameter_versions WHERE key=?", (key,)).rowcount == 0:
                raise NotFoundError(f"parameter {name} does not exist")
            conn.execute("DELETE FROM ssm_parameter_labels WHERE key=?", (key,))
            conn.execute("DELETE FROM ssm_parameter_tags WHERE key=?", (key,))

    def label(self, name: str, version: int, labels: Iterable[str], *, most: int) -> None:
        """Attach ``labels`` to ``version`` (moving any from another version of the parameter).

        Raises:
            NotFoundError: no such version of the parameter.
            ConflictError: the version would have more than ``most`` labels.
        """
        key = parameter_key(name)
        with self.db.transaction() as conn:
            if not conn.execute("SELECT 1 FROM ssm_parameter_versions WHERE key=? AND version=?", (key, version)).fetchone():
                raise NotFoundError(f"version {version} of {name} does not exist")
            held = {str(r[0]) for r in conn.execute("SELECT label FROM ssm_parameter_labels WHERE key=? AND version=?", (key, version))}
            adding = [label for label in dict.fromkeys(labels) if label not in held]
            if len(held) + len(adding) > most:
                raise ConflictError(f"version {version} of {name} would have more than {most} labels")
            for label in adding:
                # Deleted and inserted again (not updated): the labels of a version list in the order they came.
                conn.execute("DELETE FROM ssm_parameter_labels WHERE key=? AND label=?", (key, label))
                conn.execute("INSERT INTO ssm_parameter_labels VALUES (?, ?, ?)", (key, label, version))

    def unlabel(self, name: str, version: int, labels: Iterable[str]) -> list[str]:
        """Detach ``labels`` from ``version``; the ones it had (NotFoundError: no such version)."""
        key = parameter_key(name)
        removed: list[str] = []
        with self.db.transaction() as conn:
            if not conn.execute("SELECT 1 FROM ssm_parameter_versions WHERE key=? AND version=?", (key, version)).fetchone():
                raise NotFoundError(f"version {version} of {name} does not exist")
            for label in dict.fromkeys(labels):
                if conn.execute("DELETE FROM ssm_parameter_labels WHERE key=? AND label=? AND version=?", (key, label, version)).rowcount:
                    removed.append(label)
        return removed

    def tag(self, name: str, tags: Mapping[str, str], *, most: int) -> None:
        """Add or replace tags (NotFoundError: no such parameter; ConflictError: over ``most`` tags)."""
        key = parameter_key(name)
        with self.db.transaction() as conn:
            if not conn.execute("SELECT 1 FROM ssm_parameter_versions WHERE key=?", (key,)).fetchone():
                raise NotFoundError(f"parameter {name} does not exist")
            held = {str(r[0]) for r in conn.execute("SELECT tag_key FROM ssm_parameter_tags WHERE key=?", (key,))}
            if len(held | set(tags)) > most:
                raise ConflictError(f"parameter {name} would have more than {most} tags")
            for tag_key, tag_value in tags.items():
                conn.execute("INSERT OR REPLACE INTO ssm_parameter_tags VALUES (?, ?, ?)", (key, tag_key, tag_value))

    def untag(self, name: str, keys: Iterable[str]) -> None:
        """Remove tags (absent ones are ignored; NotFoundError: no such parameter)."""
        key = parameter_key(name)
        with self.db.transaction() as conn:
            if not conn.execute("SELECT 1 FROM ssm_parameter_versions WHERE key=?", (key,)).fetchone():
                raise NotFoundError(f"parameter {name} does not exist")
            conn.executemany("DELETE FROM ssm_parameter_tags WHERE key=? AND tag_key=?", [(key, k) for k in keys])

    # -- reading ---------------------------------------------------------------------------

    def latest(self, name: str) -> ParameterVersion | None:
        """The parameter's latest version with its labels; None if there is no such parameter."""
        return self._latest(self.db.connection(), parameter_key(name))

    def version(self, name: str, version: int) -> ParameterVersion | None:
        key = parameter_key(name)
        conn = self.db.connection()
        row = conn.execute(f"SELECT {_COLUMNS} FROM ssm_parameter_versions WHERE key=? AND version=?", (key, version)).fetchone()
        return None if row is None else _version(row, self._labels(conn, key, int(version)))

    def labelled(self, name: str, label: str) -> ParameterVersion | None:
        """The version ``label`` is attached to; None if none is."""
        key = parameter_key(name)
        row = self.db.connection().execute("SELECT version FROM ssm_parameter_labels WHERE key=? AND label=?", (key, label)).fetchone()
        return None if row is None else self.version(name, int(row[0]))

    def history(self, name: str) -> list[ParameterVersion]:
        """Every kept version, oldest first, with its labels."""
        key = parameter_key(name)
        conn = self.db.connection()
        labels: dict[int, list[str]] = {}
        for label, version in conn.execute("SELECT label, version FROM ssm_parameter_labels WHERE key=? ORDER BY rowid", (key,)):
            labels.setdefault(int(version), []).append(str(label))
        rows = conn.execute(f"SELECT {_COLUMNS} FROM ssm_parameter_versions WHERE key=? ORDER BY version", (key,)).fetchall()
        return [_version(row, tuple(labels.get(int(row[1]), ()))) for row in rows]

    def all_latest(self) -> list[ParameterVersion]:
        """Every parameter's latest version, by name (ASCII order)."""
        conn = self.db.connection()
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM ssm_parameter_versions AS v"
            " WHERE version = (SELECT max(version) FROM ssm_parameter_versions WHERE key = v.key) ORDER BY name"
        ).fetchall()
        labels: dict[tuple[str, int], list[str]] = {}
        for key, label, version in conn.execute("SELECT key, label, version FROM ssm_parameter_labels ORDER BY rowid"):
            labels.setdefault((str(key), int(version)), []).append(str(label))
        return [_version(row, tuple(labels.get((str(row[0]), int(row[1])), ()))) for row in rows]

    def tags(self, name: str) -> dict[str, str]:
        """The parameter's tags (NotFoundError: no such parameter)."""
        key = parameter_key(name)
        conn = self.db.connection()
        if not conn.execute("SELECT 1 FROM ssm_parameter_versions WHERE key=?", (key,)).fetchone():
            raise NotFoundError(f"parameter {name} does not exist")
        return {
            str(k): str(v) for k, v in conn.execute("SELECT tag_key, tag_value FROM ssm_parameter_tags WHERE key=? ORDER BY rowid", (key,))
        }

    def all_tags(self) -> dict[str, dict[str, str]]:
        """Every parameter's tags, by key."""
        found: dict[str, dict[str, str]] = {}
        for key, tag_key, tag_value in self.db.connection().execute(
            "SELECT key, tag_key, tag_value FROM ssm_parameter_tags ORDER BY rowid"
        ):
            found.setdefault(str(key), {})[str(tag_key)] = str(tag_value)
        return found

    def _latest(self, conn: sqlite3.Connection, key: str) -> ParameterVersion | None:
        row = conn.execute(f"SELECT {_COLUMNS} FROM ssm_parameter_versions WHERE key=? ORDER BY version DESC LIMIT 1", (key,)).fetchone()
        return None if row is None else _version(row, self._labels(conn, key, int(row[1])))

    @staticmethod
    def _labels(conn: sqlite3.Connection, key: str, version: int) -> tuple[str, ...]:
        rows = conn.execute("SELECT label FROM ssm_parameter_labels WHERE key=? AND version=? ORDER BY rowid", (key, version))
        return tuple(str(r[0]) for r in rows)
