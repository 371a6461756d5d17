"""EventBridge Pipes' pipes on SQLite: each pipe's definition, states and tags, kept across restarts.

The store keeps what the API said; running a pipe is the runtime's (``runtime/pipes``), which
the endpoint starts again from here when it starts.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from ...errors import ConflictError, NotFoundError
from ._sqlite import Database

__all__ = ["PipeRecord", "SqlitePipes"]

_COLUMNS = "region, name, arn, config, desired_state, current_state, state_reason, tags, created_ms, modified_ms"


@dataclass(frozen=True)
class PipeRecord:
    """One pipe as kept."""

    region: str
    name: str
    arn: str
    config: Mapping[str, Any]
    """The definition's members as the API takes them: ``Source``, ``Target``, ``SourceParameters``..."""
    desired_state: str
    current_state: str
    created_at: datetime
    modified_at: datetime
    state_reason: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    def with_state(self, desired: str, current: str, *, at: datetime, reason: str | None = None) -> PipeRecord:
        return replace(self, desired_state=desired, current_state=current, modified_at=at, state_reason=reason)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _row(row: Sequence[Any]) -> PipeRecord:
    region, name, arn, config, desired, current, reason, tags, created, modified = row
    return PipeRecord(
        region=region,
        name=name,
        arn=arn,
        config=json.loads(config),
        desired_state=desired,
        current_state=current,
        created_at=_moment(created),
        modified_at=_moment(modified),
        state_reason=reason,
        tags=json.loads(tags),
    )


class SqlitePipes:
    """The pipes of a data dir's state database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, record: PipeRecord) -> None:
        """Keep a new pipe.

        Raises:
            ConflictError: the region has a pipe of that name.
        """
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    f"INSERT INTO pipes ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    _values(record),
                )
        except sqlite3.IntegrityError:
            raise ConflictError(f"Pipe {record.name} already exists.") from None

    def replace(self, record: PipeRecord) -> None:
        """Keep ``record`` in place of the pipe of its name.

        Raises:
            NotFoundError: no such pipe.
        """
        with self.db.transaction() as conn:
            changed = conn.execute(
                "UPDATE pipes SET config = ?, desired_state = ?, current_state = ?, state_reason = ?, tags = ?, modified_ms = ?"
                " WHERE region = ? AND name = ?",
                (
                    json.dumps(record.config),
                    record.desired_state,
                    record.current_state,
                    record.state_reason,
                    json.dumps(dict(record.tags)),
                    _ms(record.modified_at),
                    record.region,
                    record.name,
                ),
            ).rowcount
        if not changed:
            raise NotFoundError(f"Pipe {record.name} does not exist.")

    def get(self, region: str, name: str) -> PipeRecord:
        """The pipe ``name``.

        Raises:
            NotFoundError: no such pipe.
        """
        row = self.db.connection().execute(f"SELECT {_COLUMNS} FROM pipes WHERE region = ? AND name = ?", (region, name)).fetchone()
        if row is None:
            raise NotFoundError(f"Pipe {name} does not exist.")
        return _row(row)

    def by_arn(self, arn: str) -> PipeRecord | None:
        row = self.db.connection().execute(f"SELECT {_COLUMNS} FROM pipes WHERE arn = ?", (arn,)).fetchone()
        return None if row is None else _row(row)

    def list(self, region: str | None = None) -> list[PipeRecord]:
        """The pipes (of ``region``, or all), by name."""
        if region is None:
            rows = self.db.connection().execute(f"SELECT {_COLUMNS} FROM pipes ORDER BY region, name").fetchall()
        else:
            rows = self.db.connection().execute(f"SELECT {_COLUMNS} FROM pipes WHERE region = ? ORDER BY name", (region,)).fetchall()
        return [_row(r) for r in rows]

    def delete(self, region: str, name: str) -> None:
        """Forget the pipe (nothing if it is gone)."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM pipes WHERE region = ? AND name = ?", (region, name))


def _values(record: PipeRecord) -> tuple[Any, ...]:
    return (
        record.region,
        record.name,
        record.arn,
        json.dumps(record.config),
        record.desired_state,
        record.current_state,
        record.state_reason,
        json.dumps(dict(record.tags)),
        _ms(record.created_at),
        _ms(record.modified_at),
    )
