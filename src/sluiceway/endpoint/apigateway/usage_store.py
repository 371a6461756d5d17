"""API Gateway's API keys on the data dir's SQLite: what must outlive a restart (generated values, creation times, usage).

The keys and usage plans themselves are read from the template at each start; a key the template
gives no ``Value`` gets one generated once, kept here, so clients holding it keep working. Usage
is counted per plan, key and UTC day: a quota sums the days of its period in the same
transaction that counts the request, so two gateways on one data dir never both let the last
request of a quota through.

The tables are migration ``0089_api_key_usage.sql``'s. The store is handed the stack's state
database (``stack.local.db``) as the :class:`StateDatabase` it uses, so the gateway reaches it
without building backends itself.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

__all__ = ["KeyRecord", "SqliteApiKeys", "StateDatabase"]


class StateDatabase(Protocol):
    """What the store needs of the data dir's database (``backends.local._sqlite.Database``)."""

    def connection(self) -> sqlite3.Connection: ...

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...


@dataclass(frozen=True)
class KeyRecord:
    created_ms: int
    generated_value: str | None


class SqliteApiKeys:
    """The data dir's API key state, in the state database."""

    def __init__(self, db: StateDatabase, now_ms: Callable[[], int]) -> None:
        self.db = db
        self._now_ms = now_ms

    def key(self, key_id: str, generate: Callable[[], str] | None = None) -> KeyRecord:
        """The key's record, made at first sight; ``generate`` makes its value when it needs one and has none yet."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO apigw_api_keys (key_id, generated_value, created_ms) VALUES (?, NULL, ?) ON CONFLICT (key_id) DO NOTHING",
                (key_id, self._now_ms()),
            )
            row = conn.execute("SELECT created_ms, generated_value FROM apigw_api_keys WHERE key_id = ?", (key_id,)).fetchone()
            created_ms, value = int(row[0]), row[1]
            if value is None and generate is not None:
                value = generate()
                conn.execute("UPDATE apigw_api_keys SET generated_value = ? WHERE key_id = ?", (value, key_id))
        return KeyRecord(created_ms, value)

    def plan_created_ms(self, plan_id: str) -> int:
        """When the usage plan was first seen (made at first sight)."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO apigw_usage_plans (plan_id, created_ms) VALUES (?, ?) ON CONFLICT (plan_id) DO NOTHING",
                (plan_id, self._now_ms()),
            )
            row = conn.execute("SELECT created_ms FROM apigw_usage_plans WHERE plan_id = ?", (plan_id,)).fetchone()
        return int(row[0])

    def consume(self, plan_id: str, key_id: str, *, day: str, since: str, limit: int | None) -> bool:
        """Count one request of ``key_id`` on ``day`` unless the days from ``since`` already hold ``limit``.

        Days are ``YYYY-MM-DD`` (UTC), compared as text. ``limit`` None: no quota, always counted.
        Returns whether the request was counted (False: the quota is used up).
        """
        with self.db.transaction() as conn:
            if limit is not None:
                row = conn.execute(
                    "SELECT coalesce(sum(used), 0) FROM apigw_key_usage WHERE plan_id = ? AND key_id = ? AND day >= ? AND day <= ?",
                    (plan_id, key_id, since, day),
                ).fetchone()
                if int(row[0]) >= limit:
                    return False
            conn.execute(
                "INSERT INTO apigw_key_usage (plan_id, key_id, day, used) VALUES (?, ?, ?, 1)"
                " ON CONFLICT (plan_id, key_id, day) DO UPDATE SET used = used + 1",
                (plan_id, key_id, day),
            )
        return True

    def used(self, plan_id: str, key_id: str, *, since: str, until: str) -> int:
        """Requests counted for the key under the plan from day ``since`` to day ``until``, both included."""
        row = (
            self.db.connection()
            .execute(
                "SELECT coalesce(sum(used), 0) FROM apigw_key_usage WHERE plan_id = ? AND key_id = ? AND day >= ? AND day <= ?",
                (plan_id, key_id, since, until),
            )
            .fetchone()
        )
        return int(row[0])

    def daily(self, plan_id: str, *, since: str, until: str) -> dict[str, dict[str, int]]:
        """key id -> day -> requests counted, for the plan's days from ``since`` to ``until``."""
        rows = (
            self.db.connection()
            .execute(
                "SELECT key_id, day, used FROM apigw_key_usage WHERE plan_id = ? AND day >= ? AND day <= ? ORDER BY key_id, day",
                (plan_id, since, until),
            )
            .fetchall()
        )
        out: dict[str, dict[str, int]] = {}
        for key_id, day, used in rows:
            out.setdefault(str(key_id), {})[str(day)] = int(used)
        return out
