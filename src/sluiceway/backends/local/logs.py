"""CloudWatch Logs on SQLite: log groups, streams and events, kept across restarts.

Every function invocation appends its log lines here (one transaction per invocation), and
clients write through PutLogEvents. The events live in a database file of their own
(``logs.db`` beside ``sluiceway.db``): they are many and written from every invocation, and
a file of their own keeps those writes from waiting on (or delaying) the stack's state
commits, and lets them be deleted without touching that state. The schema is created
here, not by the numbered migrations, which belong to the state database.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ...errors import ConflictError, NotFoundError
from ._sqlite import ThreadConnections

__all__ = ["LogEvent", "LogGroup", "LogStream", "SqliteLogStore"]

#: The most (group, stream) pairs remembered as made; a function's instances each write a stream.
_MADE = 10_000

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS log_groups (
        name        TEXT PRIMARY KEY,
        created_ms  INTEGER NOT NULL,
        retention   INTEGER,
        tags        TEXT NOT NULL DEFAULT '{}'
    )""",
    """CREATE TABLE IF NOT EXISTS log_streams (
        log_group        TEXT NOT NULL REFERENCES log_groups (name) ON DELETE CASCADE,
        name             TEXT NOT NULL,
        created_ms       INTEGER NOT NULL,
        first_event_ms   INTEGER,
        last_event_ms    INTEGER,
        last_ingestion_ms INTEGER,
        stored_bytes     INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (log_group, name)
    )""",
    """CREATE TABLE IF NOT EXISTS log_events (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        log_group     TEXT NOT NULL,
        stream        TEXT NOT NULL,
        ts_ms         INTEGER NOT NULL,
        ingestion_ms  INTEGER NOT NULL,
        message       TEXT NOT NULL,
        FOREIGN KEY (log_group, stream) REFERENCES log_streams (log_group, name) ON DELETE CASCADE
    )""",
    "CREATE INDEX IF NOT EXISTS log_events_stream ON log_events (log_group, stream, ts_ms, id)",
    "CREATE INDEX IF NOT EXISTS log_events_group ON log_events (log_group, ts_ms, id)",
)


@dataclass(frozen=True)
class LogGroup:
    name: str
    created_ms: int
    retention_days: int | None
    stored_bytes: int
    kms_key_id: str | None = None


@dataclass(frozen=True)
class LogStream:
    group: str
    name: str
    created_ms: int
    first_event_ms: int | None
    last_event_ms: int | None
    last_ingestion_ms: int | None
    stored_bytes: int


@dataclass(frozen=True)
class LogEvent:
    id: int
    stream: str
    timestamp_ms: int
    ingestion_ms: int
    message: str


class SqliteLogStore:
    """Log groups, streams and events in one SQLite file (thread-safe: a connection per thread).

    Args:
        path: the database file (created with its folder).
        clock_ms: the ingestion time, in milliseconds since the epoch.
    """

    def __init__(self, path: str | Path, clock_ms: Callable[[], int]) -> None:
        self.path = Path(path)
        self.clock_ms = clock_ms
        self._connections = ThreadConnections(self.path)
        self._made: set[tuple[str, str]] = set()
        """(group, stream) pairs :meth:`put` made or found: their next events skip making them."""
        with self._write() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(log_groups)")}
            if "kms_key_id" not in columns:  # a logs.db made before groups kept their KMS key
                conn.execute("ALTER TABLE log_groups ADD COLUMN kms_key_id TEXT")

    # -- connections --------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        return self._connections.get()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        self._connections.close()

    # -- groups and streams -------------------------------------------------------------

    def create_group(
        self,
        name: str,
        *,
        retention_days: int | None = None,
        tags: Mapping[str, str] | None = None,
        kms_key_id: str | None = None,
    ) -> None:
        """Raises ConflictError if the group exists."""
        with self._write() as conn:
            try:
                conn.execute(
                    "INSERT INTO log_groups (name, created_ms, retention, tags, kms_key_id) VALUES (?, ?, ?, ?, ?)",
                    (name, self.clock_ms(), retention_days, json.dumps(dict(tags or {})), kms_key_id),
                )
            except sqlite3.IntegrityError:
                raise ConflictError(f"log group {name} exists") from None

    def set_retention(self, name: str, days: int | None) -> None:
        """Keep the group's events ``days`` days (None: forever). Raises NotFoundError."""
        self._update_group(name, "retention", days)

    def set_kms_key(self, name: str, key_id: str | None) -> None:
        """Record the KMS key the group's events are encrypted with (None: none). Raises NotFoundError."""
        self._update_group(name, "kms_key_id", key_id)

    def _update_group(self, name: str, column: str, value: object) -> None:
        with self._write() as conn:
            cursor = conn.execute(f"UPDATE log_groups SET {column} = ? WHERE name = ?", (value, name))  # noqa: S608 - column is fixed by the callers
            if cursor.rowcount == 0:
                raise NotFoundError(f"log group {name} does not exist")

    def retention(self, name: str) -> int | None:
        """The group's retention in days (None: forever, or no such group)."""
        row = self._conn().execute("SELECT retention FROM log_groups WHERE name=?", (name,)).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def tags(self, name: str) -> dict[str, str]:
        """The group's tags. Raises NotFoundError."""
        row = self._conn().execute("SELECT tags FROM log_groups WHERE name=?", (name,)).fetchone()
        if row is None:
            raise NotFoundError(f"log group {name} does not exist")
        return dict(json.loads(row[0]))

    def change_tags(self, name: str, *, add: Mapping[str, str] | None = None, remove: Sequence[str] = ()) -> dict[str, str]:
        """Add (or overwrite) and remove tags in one transaction; the tags after. Raises NotFoundError."""
        with self._write() as conn:
            row = conn.execute("SELECT tags FROM log_groups WHERE name=?", (name,)).fetchone()
            if row is None:
                raise NotFoundError(f"log group {name} does not exist")
            tags = {**json.loads(row[0]), **(add or {})}
            for key in remove:
                tags.pop(key, None)
            conn.execute("UPDATE log_groups SET tags = ? WHERE name = ?", (json.dumps(tags), name))
        return tags

    def delete_group(self, name: str) -> None:
        """Delete the group with its streams and events. Raises NotFoundError."""
        self._made = {made for made in self._made if made[0] != name}
        with self._write() as conn:
            conn.execute("DELETE FROM log_events WHERE log_group=?", (name,))
            conn.execute("DELETE FROM log_streams WHERE log_group=?", (name,))
            if conn.execute("DELETE FROM log_groups WHERE name=?", (name,)).rowcount == 0:
                raise NotFoundError(f"log group {name} does not exist")

    def create_stream(self, group: str, name: str) -> None:
        """Raises NotFoundError (no such group) or ConflictError (the stream exists)."""
        with self._write() as conn:
            self._must_group(conn, group)
            try:
                conn.execute("INSERT INTO log_streams (log_group, name, created_ms) VALUES (?, ?, ?)", (group, name, self.clock_ms()))
            except sqlite3.IntegrityError:
                raise ConflictError(f"log stream {name} exists") from None

    def delete_stream(self, group: str, name: str) -> None:
        self._made.discard((group, name))
        with self._write() as conn:
            conn.execute("DELETE FROM log_events WHERE log_group=? AND stream=?", (group, name))
            if conn.execute("DELETE FROM log_streams WHERE log_group=? AND name=?", (group, name)).rowcount == 0:
                raise NotFoundError(f"log stream {name} does not exist")

    def groups(self, *, prefix: str = "", after: str | None = None, limit: int = 50) -> list[LogGroup]:
        """Groups by name, those whose name starts with ``prefix``, after ``after``."""
        rows = self._conn().execute(
            "SELECT g.name, g.created_ms, g.retention, g.kms_key_id,"
            " (SELECT COALESCE(SUM(s.stored_bytes), 0) FROM log_streams s WHERE s.log_group = g.name) AS bytes"
            " FROM log_groups g WHERE g.name >= ? AND substr(g.name, 1, ?) = ? AND g.name > ? ORDER BY g.name LIMIT ?",
            (prefix, len(prefix), prefix, after or "", limit),
        )
        return [LogGroup(r[0], r[1], r[2], r[4], kms_key_id=r[3]) for r in rows]

    def last_event_id(self) -> int:
        """The position of the last event put (0 when none): what a metric filter put now starts after."""
        return int(self._conn().execute("SELECT coalesce(max(id), 0) FROM log_events").fetchone()[0])

    def has_group(self, name: str) -> bool:
        return self._conn().execute("SELECT 1 FROM log_groups WHERE name=?", (name,)).fetchone() is not None

    def streams(
        self,
        group: str,
        *,
        prefix: str = "",
        by_last_event: bool = False,
        descending: bool = False,
        offset: int = 0,
        limit: int = 50,
    ) -> list[LogStream]:
        """The group's streams by name (or by last event time), from ``offset``. Raises NotFoundError."""
        conn = self._conn()
        self._must_group(conn, group)
        direction = "DESC" if descending else "ASC"
        order = f"COALESCE(last_event_ms, 0) {direction}, name {direction}" if by_last_event else f"name {direction}"
        rows = conn.execute(
            f"SELECT * FROM log_streams WHERE log_group=? AND substr(name, 1, ?) = ? ORDER BY {order} LIMIT ? OFFSET ?",  # noqa: S608 - order is one of four fixed strings
            (group, len(prefix), prefix, limit, offset),
        )
        return [_stream(r) for r in rows]

    def stream(self, group: str, name: str) -> LogStream | None:
        row = self._conn().execute("SELECT * FROM log_streams WHERE log_group=? AND name=?", (group, name)).fetchone()
        return None if row is None else _stream(row)

    @staticmethod
    def _must_group(conn: sqlite3.Connection, group: str) -> None:
        if conn.execute("SELECT 1 FROM log_groups WHERE name=?", (group,)).fetchone() is None:
            raise NotFoundError(f"log group {group} does not exist")

    # -- events -------------------------------------------------------------------------

    def put(self, group: str, stream: str, events: Sequence[tuple[int, str]], *, create: bool = False) -> None:
        """Append ``(timestamp ms, message)`` events, in one transaction.

        Args:
            create: make the group and stream when missing (what Lambda does for a function's
                logs); otherwise a missing one raises NotFoundError.
        """
        if not events:
            return
        if not create:
            self._append(group, stream, events, "check")
            return
        if (group, stream) in self._made:
            try:
                # Made before: the foreign keys refuse the events if it was deleted since.
                self._append(group, stream, events, "trust")
                return
            except sqlite3.IntegrityError:
                self._made.discard((group, stream))  # deleted (by another process): made again, as Lambda does
        self._append(group, stream, events, "create")
        if len(self._made) >= _MADE:
            self._made.clear()
        self._made.add((group, stream))

    def _append(self, group: str, stream: str, events: Sequence[tuple[int, str]], stream_is: str) -> None:
        """Append in one transaction; ``stream_is``: ``create`` it if missing, ``check`` it exists, or ``trust`` it does."""
        now = self.clock_ms()
        size = sum(len(message.encode()) + 26 for _, message in events)  # CloudWatch counts 26 bytes an event
        with self._write() as conn:
            if stream_is == "create":
                conn.execute("INSERT OR IGNORE INTO log_groups (name, created_ms) VALUES (?, ?)", (group, now))
                conn.execute("INSERT OR IGNORE INTO log_streams (log_group, name, created_ms) VALUES (?, ?, ?)", (group, stream, now))
            elif (
                stream_is == "check"
                and conn.execute("SELECT 1 FROM log_streams WHERE log_group=? AND name=?", (group, stream)).fetchone() is None
            ):
                self._must_group(conn, group)
                raise NotFoundError(f"log stream {stream} does not exist")
            conn.executemany(
                "INSERT INTO log_events (log_group, stream, ts_ms, ingestion_ms, message) VALUES (?, ?, ?, ?, ?)",
                [(group, stream, ts, now, message) for ts, message in events],
            )
            first = min(ts for ts, _ in events)
            last = max(ts for ts, _ in events)
            conn.execute(
                "UPDATE log_streams SET first_event_ms = MIN(COALESCE(first_event_ms, ?), ?),"
                " last_event_ms = MAX(COALESCE(last_event_ms, ?), ?), last_ingestion_ms = ?, stored_bytes = stored_bytes + ?"
                " WHERE log_group=? AND name=?",
                (first, first, last, last, now, size, group, stream),
            )

    def stream_events(
        self,
        group: str,
        stream: str,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        after_id: int | None = None,
        before_id: int | None = None,
        from_head: bool = True,
        limit: int = 10_000,
    ) -> list[LogEvent]:
        """A stream's events in time order: the first ``limit`` (``from_head``) or the last ``limit``.

        ``after_id``/``before_id`` bound the events by position (GetLogEvents' tokens).
        Raises NotFoundError for a missing group or stream.
        """
        conn = self._conn()
        if conn.execute("SELECT 1 FROM log_streams WHERE log_group=? AND name=?", (group, stream)).fetchone() is None:
            self._must_group(conn, group)
            raise NotFoundError(f"log stream {stream} does not exist")
        where = ["log_group=?", "stream=?"]
        args: list[object] = [group, stream]
        if start_ms is not None:
            where.append("ts_ms >= ?")
            args.append(start_ms)
        if end_ms is not None:
            where.append("ts_ms < ?")
            args.append(end_ms)
        if after_id is not None:
            where.append("id > ?")
            args.append(after_id)
        if before_id is not None:
            where.append("id < ?")
            args.append(before_id)
        direction = "ASC" if from_head else "DESC"
        rows = conn.execute(
            f"SELECT id, stream, ts_ms, ingestion_ms, message FROM log_events WHERE {' AND '.join(where)}"  # noqa: S608 - fixed fragments
            f" ORDER BY id {direction} LIMIT ?",
            (*args, limit),
        ).fetchall()
        events = [LogEvent(r[0], r[1], r[2], r[3], r[4]) for r in rows]
        return events if from_head else events[::-1]

    def scan(
        self,
        group: str,
        *,
        streams: Sequence[str] | None = None,
        stream_prefix: str = "",
        start_ms: int | None = None,
        end_ms: int | None = None,
        after: tuple[int, int] | None = None,
        limit: int = 1000,
    ) -> list[LogEvent]:
        """The group's events in time order (then by position), after ``(timestamp, id)``. Raises NotFoundError."""
        conn = self._conn()
        self._must_group(conn, group)
        where = ["log_group=?"]
        args: list[object] = [group]
        if streams:
            where.append(f"stream IN ({','.join('?' * len(streams))})")
            args.extend(streams)
        if stream_prefix:
            where.append("substr(stream, 1, ?) = ?")
            args.extend([len(stream_prefix), stream_prefix])
        if start_ms is not None:
            where.append("ts_ms >= ?")
            args.append(start_ms)
        if end_ms is not None:
            where.append("ts_ms <= ?")
            args.append(end_ms)
        if after is not None:
            where.append("(ts_ms > ? OR (ts_ms = ? AND id > ?))")
            args.extend([after[0], after[0], after[1]])
        rows = conn.execute(
            f"SELECT id, stream, ts_ms, ingestion_ms, message FROM log_events WHERE {' AND '.join(where)}"  # noqa: S608 - fixed fragments
            " ORDER BY ts_ms, id LIMIT ?",
            (*args, limit),
        )
        return [LogEvent(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def _stream(row: sqlite3.Row) -> LogStream:
    return LogStream(
        group=row["log_group"],
        name=row["name"],
        created_ms=row["created_ms"],
        first_event_ms=row["first_event_ms"],
        last_event_ms=row["last_event_ms"],
        last_ingestion_ms=row["last_ingestion_ms"],
        stored_bytes=row["stored_bytes"],
    )
