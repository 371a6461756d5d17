"""The streams of the data dir's tables: ``dynamodb_streams`` and their records in ``dynamodb_stream_records``.

Every item change of a table whose stream is enabled appends one record **in the
transaction of the change** (:meth:`StreamLog.append`, called by the engine): a write
that commits has its record, a write that rolls back (a failed condition, a cancelled
transaction) has none, and a process killed in between leaves neither.

A stream is one shard locally. AWS splits a stream into shards and rolls them every
few hours; a reader that follows one shard after another sees records in the same
order per item, which is all AWS promises, so one shard per stream loses nothing a
reader can rely on. Records live 24 hours, then are trimmed; a disabled stream (or
the stream of a deleted table) is closed and stays readable for as long.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from ....dynamodb.schema import TableSpec
from ....ports import Clock
from .._sqlite import Database
from .stream_records import change_name, record_body
from .stream_signal import StreamSignal, signal_for

__all__ = ["RETENTION_S", "StoredRecord", "StreamInfo", "StreamLog"]

RETENTION_S: Final = 24 * 3600
"""How long a record (and a disabled stream) lives: DynamoDB Streams' 24 hours."""
_TRIM_EVERY_S: Final = 60.0


@dataclass(frozen=True)
class StreamInfo:
    """One stream of a table."""

    arn: str
    table: str
    label: str
    view_type: str
    key_schema: list[dict[str, str]]
    created: float
    shard_id: str
    start_seq: int
    """The lowest sequence number the shard can hold."""
    status: str
    """``ENABLED``, or ``DISABLED`` (closed: no more records)."""
    end_seq: int | None
    """The last record's sequence number of a closed shard (None: open, or closed empty)."""
    disabled_at: float | None
    trimmed_through: int
    """Records up to this sequence number are gone."""

    @property
    def enabled(self) -> bool:
        return self.status == "ENABLED"


@dataclass(frozen=True)
class StoredRecord:
    sequence: int
    created: float
    body: dict[str, Any]
    size: int
    """Bytes of the stored body (what GetRecords' 1 MB counts)."""


class StreamLog:
    """Streams and their records; lifecycle methods run in the caller's transaction.

    Args:
        db: the data dir's database.
        clock: record times, retention.
        region: for stream ARNs.
        account_id: for stream ARNs.
    """

    def __init__(self, db: Database, clock: Clock, *, region: str, account_id: str) -> None:
        self.db = db
        self.clock = clock
        self.region = region
        self.account_id = account_id
        self.signal: StreamSignal = signal_for(db.path)
        self._trimmed: dict[str, float] = {}
        self._lock = threading.Lock()

    def _now(self) -> float:
        return self.clock.now().timestamp()

    # -- lifecycle ------------------------------------------------------------------------

    def enable(self, conn: sqlite3.Connection, spec: TableSpec, view_type: str, *, at: float | None = None) -> StreamInfo:
        """Start a new stream for ``spec``'s table (labelled with the time ``at``, now by default)."""
        when = self._now() if at is None else at
        label = _label(when)
        arn = self._arn(spec.name, label)
        while conn.execute("SELECT 1 FROM dynamodb_streams WHERE arn=?", (arn,)).fetchone() is not None:
            # Disabled and enabled again within a millisecond: labels tell streams apart.
            when += 0.001
            label = _label(when)
            arn = self._arn(spec.name, label)
        start = _last_assigned(conn) + 1
        shard = f"shardId-{int(when * 1000):020d}-{secrets.token_hex(4)}"
        conn.execute(
            "INSERT INTO dynamodb_streams"
            " (arn, table_name, table_id, label, view_type, key_schema, created, shard_id, start_seq, status)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'ENABLED')",
            (arn, spec.name, spec.table_id, label, view_type, json.dumps(_key_schema(spec)), when, shard, start),
        )
        info = self._get(conn, arn)
        assert info is not None
        return info

    def disable(self, conn: sqlite3.Connection, table: str) -> StreamInfo | None:
        """Close the table's enabled stream (its records stay readable); None when it has none."""
        stream = self.enabled(conn, table)
        if stream is None:
            return None
        row = conn.execute("SELECT MAX(seq) AS last FROM dynamodb_stream_records WHERE stream_arn=?", (stream.arn,)).fetchone()
        conn.execute(
            "UPDATE dynamodb_streams SET status='DISABLED', end_seq=?, disabled_at=? WHERE arn=?",
            (row["last"], self._now(), stream.arn),
        )
        self.db.after_commit(self.signal.notify)  # readers of a closed shard see its end
        return self._get(conn, stream.arn)

    def enabled(self, conn: sqlite3.Connection, table: str) -> StreamInfo | None:
        row = conn.execute(
            "SELECT * FROM dynamodb_streams WHERE table_name=? AND status='ENABLED' ORDER BY created DESC LIMIT 1", (table,)
        ).fetchone()
        return None if row is None else _info(row)

    def latest(self, conn: sqlite3.Connection, spec: TableSpec) -> StreamInfo | None:
        """The table's most recent stream, enabled or not (DescribeTable's ``LatestStreamArn``).

        Only this table's streams count (by its TableId): the closed stream of a deleted
        table of the same name is not the new table's.
        """
        row = conn.execute(
            "SELECT * FROM dynamodb_streams WHERE table_name=? AND table_id=? ORDER BY created DESC LIMIT 1",
            (spec.name, spec.table_id),
        ).fetchone()
        return None if row is None else _info(row)

    def ensure(self, conn: sqlite3.Connection, spec: TableSpec) -> StreamInfo | None:
        """The enabled stream of a table whose definition says it streams (made now for a table
        whose stream was enabled before streams were kept); None when it does not stream."""
        if not _streams(spec):
            return None
        stream = self.enabled(conn, spec.name)
        if stream is None:
            assert spec.stream is not None
            stream = self.enable(conn, spec, str(spec.stream.get("StreamViewType")), at=spec.created)
        return stream

    # -- writes ---------------------------------------------------------------------------

    def append(
        self,
        conn: sqlite3.Connection,
        spec: TableSpec,
        old: Mapping[str, Any] | None,
        new: Mapping[str, Any] | None,
        *,
        by_ttl: bool = False,
    ) -> None:
        """Record that an item of ``spec``'s table was ``old`` and is ``new`` (None: absent), if it streams and changed."""
        if not _streams(spec):
            return
        name = change_name(old, new)
        if name is None:
            return
        stream = self.ensure(conn, spec)
        assert stream is not None
        body = record_body(
            event_id=uuid.uuid4().hex,
            event_name=name,
            key_names=spec.key_names,
            old=old,
            new=new,
            view_type=stream.view_type,
            by_ttl=by_ttl,
        )
        now = self._now()
        conn.execute(
            "INSERT INTO dynamodb_stream_records (stream_arn, created, body) VALUES (?, ?, ?)",
            (stream.arn, now, json.dumps(body, separators=(",", ":"))),
        )
        if self._trim_due(stream.arn, now):
            self._trim(conn, stream.arn, now)
        self.db.after_commit(self.signal.notify)

    # -- reads ----------------------------------------------------------------------------

    def get(self, arn: str) -> StreamInfo | None:
        """The stream, trimmed of expired records first; None when there is none (or it expired)."""
        self.trim(arn)
        return self._get(self.db.connection(), arn)

    def streams(self, table: str | None, after: str | None, limit: int) -> list[StreamInfo]:
        """Streams by ARN after ``after``, of one table or all."""
        self.sweep()
        sql = "SELECT * FROM dynamodb_streams WHERE arn > ?"
        params: list[Any] = [after or ""]
        if table is not None:
            sql += " AND table_name=?"
            params.append(table)
        rows = self.db.connection().execute(sql + " ORDER BY arn LIMIT ?", (*params, limit)).fetchall()
        return [_info(row) for row in rows]

    def records(self, arn: str, after: int, limit: int, *, max_bytes: int | None = None) -> list[StoredRecord]:
        """Records of the stream with sequence numbers above ``after``, oldest first, at most ``limit``
        and (but for the first) ``max_bytes`` of them."""
        rows = self.db.connection().execute(
            "SELECT seq, created, body FROM dynamodb_stream_records WHERE stream_arn=? AND seq > ? ORDER BY seq LIMIT ?",
            (arn, after, limit),
        )
        found: list[StoredRecord] = []
        total = 0
        for row in rows:
            text: str = row["body"]
            total += len(text)
            if max_bytes is not None and found and total > max_bytes:
                break
            found.append(StoredRecord(int(row["seq"]), float(row["created"]), json.loads(text), len(text)))
        return found

    def last_sequence(self, arn: str) -> int | None:
        row = self.db.connection().execute("SELECT MAX(seq) AS last FROM dynamodb_stream_records WHERE stream_arn=?", (arn,)).fetchone()
        return None if row["last"] is None else int(row["last"])

    def first_since(self, arn: str, when: float) -> int | None:
        """The sequence number of the first record at or after ``when`` (seconds); None when none is."""
        row = (
            self.db.connection()
            .execute("SELECT MIN(seq) AS first FROM dynamodb_stream_records WHERE stream_arn=? AND created >= ?", (arn, when))
            .fetchone()
        )
        return None if row["first"] is None else int(row["first"])

    # -- retention ------------------------------------------------------------------------

    def trim(self, arn: str) -> None:
        """Remove the stream's records older than 24 hours (and the stream, 24 hours after it closed)."""
        now = self._now()
        if not self._trim_due(arn, now):
            return
        conn = self.db.connection()
        cutoff = now - RETENTION_S
        expired = conn.execute("SELECT 1 FROM dynamodb_stream_records WHERE stream_arn=? AND created < ? LIMIT 1", (arn, cutoff)).fetchone()
        closed = conn.execute(
            "SELECT 1 FROM dynamodb_streams WHERE arn=? AND status='DISABLED' AND disabled_at < ?", (arn, cutoff)
        ).fetchone()
        if expired is None and closed is None:
            return
        with self.db.transaction() as conn:
            self._trim(conn, arn, now)

    def sweep(self) -> None:
        """:meth:`trim` every stream."""
        arns = [str(r["arn"]) for r in self.db.connection().execute("SELECT arn FROM dynamodb_streams")]
        for arn in arns:
            self.trim(arn)

    def _trim_due(self, arn: str, now: float) -> bool:
        with self._lock:
            last = self._trimmed.get(arn)
            if last is not None and 0 <= now - last < _TRIM_EVERY_S:
                return False
            self._trimmed[arn] = now
            return True

    def _trim(self, conn: sqlite3.Connection, arn: str, now: float) -> None:
        cutoff = now - RETENTION_S
        row = conn.execute(
            "SELECT MAX(seq) AS last FROM dynamodb_stream_records WHERE stream_arn=? AND created < ?", (arn, cutoff)
        ).fetchone()
        if row["last"] is not None:
            conn.execute("DELETE FROM dynamodb_stream_records WHERE stream_arn=? AND seq <= ?", (arn, row["last"]))
            conn.execute("UPDATE dynamodb_streams SET trimmed_through=MAX(trimmed_through, ?) WHERE arn=?", (int(row["last"]), arn))
        gone = conn.execute("DELETE FROM dynamodb_streams WHERE arn=? AND status='DISABLED' AND disabled_at < ?", (arn, cutoff)).rowcount
        if gone:
            conn.execute("DELETE FROM dynamodb_stream_records WHERE stream_arn=?", (arn,))

    # -- helpers --------------------------------------------------------------------------

    def _get(self, conn: sqlite3.Connection, arn: str) -> StreamInfo | None:
        row = conn.execute("SELECT * FROM dynamodb_streams WHERE arn=?", (arn,)).fetchone()
        return None if row is None else _info(row)

    def _arn(self, table: str, label: str) -> str:
        return f"arn:aws:dynamodb:{self.region}:{self.account_id}:table/{table}/stream/{label}"


def _streams(spec: TableSpec) -> bool:
    return bool(spec.stream and spec.stream.get("StreamEnabled"))


def _label(when: float) -> str:
    """A stream's label: its creation time to the millisecond, as AWS writes it (``2024-05-01T12:00:00.123``)."""
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def _key_schema(spec: TableSpec) -> list[dict[str, str]]:
    schema = [{"AttributeName": spec.hash_key.name, "KeyType": "HASH"}]
    if spec.range_key is not None:
        schema.append({"AttributeName": spec.range_key.name, "KeyType": "RANGE"})
    return schema


def _last_assigned(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name='dynamodb_stream_records'").fetchone()
    return 0 if row is None else int(row["seq"])


def _info(row: sqlite3.Row) -> StreamInfo:
    return StreamInfo(
        arn=str(row["arn"]),
        table=str(row["table_name"]),
        label=str(row["label"]),
        view_type=str(row["view_type"]),
        key_schema=json.loads(row["key_schema"]),
        created=float(row["created"]),
        shard_id=str(row["shard_id"]),
        start_seq=int(row["start_seq"]),
        status=str(row["status"]),
        end_seq=None if row["end_seq"] is None else int(row["end_seq"]),
        disabled_at=None if row["disabled_at"] is None else float(row["disabled_at"]),
        trimmed_through=int(row["trimmed_through"]),
    )
