"""CloudWatch dashboards on SQLite: each one's body as it was put, kept across restarts.

Dashboards are global (not per Region), so a name is unique in the data dir. The body is
stored as given, never rewritten: GetDashboard returns what PutDashboard took.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from ...ports import Clock
from ._sqlite import Database

__all__ = ["DashboardRecord", "SqliteDashboards"]

_COLUMNS: Final = "name, body, last_modified_ms, length(CAST(body AS BLOB))"


@dataclass(frozen=True)
class DashboardRecord:
    name: str
    body: str
    """The DashboardBody as PutDashboard was given it."""
    last_modified_ms: int
    size: int
    """The body's size in bytes (UTF-8)."""


class SqliteDashboards:
    """The data dir's dashboards, in the state database."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def put(self, name: str, body: str, *, tags: Sequence[Mapping[str, str]] = ()) -> None:
        """Create the dashboard, or replace an existing one's body (its tags stay as they were)."""
        now = int(self.clock.now().timestamp() * 1000)
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO cw_dashboards (name, body, last_modified_ms, tags) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET body=excluded.body, last_modified_ms=excluded.last_modified_ms",
                (name, body, now, json.dumps([dict(tag) for tag in tags])),
            )

    def get(self, name: str) -> DashboardRecord | None:
        row = self.db.connection().execute(f"SELECT {_COLUMNS} FROM cw_dashboards WHERE name = ?", (name,)).fetchone()
        return None if row is None else DashboardRecord(*row)

    def tags(self, name: str) -> list[dict[str, str]] | None:
        """The tags the dashboard was created with (None: no such dashboard)."""
        row = self.db.connection().execute("SELECT tags FROM cw_dashboards WHERE name = ?", (name,)).fetchone()
        return None if row is None else list(json.loads(row[0]))

    def page(self, *, prefix: str = "", after: str | None = None, limit: int) -> list[DashboardRecord]:
        """Dashboards whose name starts with ``prefix``, by name, from the first after ``after``."""
        # substr rather than LIKE: a prefix's "_" is a character, not LIKE's wildcard, and the
        # match is case-sensitive as CloudWatch's is.
        rows = self.db.connection().execute(
            f"SELECT {_COLUMNS} FROM cw_dashboards WHERE substr(name, 1, ?) = ? AND name > ? ORDER BY name LIMIT ?",
            (len(prefix), prefix, after or "", limit),
        )
        return [DashboardRecord(*row) for row in rows]

    def delete(self, names: Sequence[str]) -> list[str]:
        """Delete the dashboards named that are there; the others are returned, in the order given."""
        wanted = list(dict.fromkeys(names))
        if not wanted:
            return []
        with self.db.transaction() as conn:
            marks = ", ".join("?" * len(wanted))
            there = {row[0] for row in conn.execute(f"SELECT name FROM cw_dashboards WHERE name IN ({marks})", wanted)}
            conn.execute(f"DELETE FROM cw_dashboards WHERE name IN ({marks})", wanted)
        return [name for name in wanted if name not in there]
