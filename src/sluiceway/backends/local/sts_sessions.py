"""Temporary credentials STS handed out, so that a request signed with them is told who it is.

AssumeRole, GetSessionToken and GetFederationToken answer an access key; GetCallerIdentity
signed with that key names the role session (or user) it stands for, until it expires. The
sessions live in ``sts.db`` beside the stack's state: a client holding credentials across a
restart of the stack still gets the same identity, and the file can be deleted at any time
(the keys then act as the account's root, as every unknown key does locally).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ._sqlite import ThreadConnections

__all__ = ["Session", "SqliteSessionStore"]

_SCHEMA = """CREATE TABLE IF NOT EXISTS sts_sessions (
    access_key  TEXT PRIMARY KEY,
    account     TEXT NOT NULL,
    arn         TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    expires_ms  INTEGER NOT NULL
)"""


@dataclass(frozen=True)
class Session:
    """Who an access key STS issued acts as."""

    access_key: str
    account: str
    """The account of the role or user (GetCallerIdentity's ``Account``)."""
    arn: str
    """``arn:aws:sts::<account>:assumed-role/<role>/<session>``, a federated user's or the caller's ARN."""
    user_id: str
    """GetCallerIdentity's ``UserId``: ``<role id>:<session>`` for a role session."""
    expires_ms: int


class SqliteSessionStore:
    """Issued sessions in one SQLite file (thread-safe: a connection per thread).

    Args:
        path: the database file (created with its folder).
        clock_ms: the current time in milliseconds since the epoch.
    """

    def __init__(self, path: str | Path, clock_ms: Callable[[], int]) -> None:
        self.path = Path(path)
        self.clock_ms = clock_ms
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._connections = ThreadConnections(self.path)
        conn = self._connections.get()
        conn.execute(_SCHEMA)

    def add(self, session: Session) -> None:
        """Remember ``session``, dropping the expired ones in the same transaction."""
        conn = self._connections.get()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("DELETE FROM sts_sessions WHERE expires_ms <= ?", (self.clock_ms(),))
            conn.execute(
                "INSERT OR REPLACE INTO sts_sessions VALUES (?, ?, ?, ?, ?)",
                (session.access_key, session.account, session.arn, session.user_id, session.expires_ms),
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def get(self, access_key: str) -> Session | None:
        """The live session of ``access_key``; None if unknown or expired."""
        row = (
            self._connections.get()
            .execute(
                "SELECT access_key, account, arn, user_id, expires_ms FROM sts_sessions WHERE access_key = ? AND expires_ms > ?",
                (access_key, self.clock_ms()),
            )
            .fetchone()
        )
        return None if row is None else Session(*row)

    def close(self) -> None:
        self._connections.close()
