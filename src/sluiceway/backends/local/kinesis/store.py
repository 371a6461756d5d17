"""Kinesis Data Streams on SQLite: streams, their shards, their records and their tags.

The streams live in the state database, so the endpoint, event source mappings and template
deploys share them across restarts. A record's *position* is its row id: it grows with every
put and is never reused (AUTOINCREMENT), and a shard's records are those of its rows. Only this
module maps positions to Kinesis's sequence numbers (see :mod:`.shards`).

Records older than the stream's retention are neither returned nor kept: a put trims them, at
most once every :data:`TRIM_EVERY_S` seconds per stream (readers skip expired records anyway, so a
late trim only keeps them on disk a little longer).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from ....errors import ConflictError, NotFoundError
from ....ports import Clock
from .._sqlite import Database
from ..dynamodb.stream_signal import StreamSignal
from .shards import decode_sequence_number, hash_key_of, hash_ranges, sequence_number
from .shards import shard_id as shard_name

__all__ = [
    "DEFAULT_RETENTION_HOURS",
    "ON_DEMAND_SHARDS",
    "KinesisRecord",
    "KinesisShard",
    "KinesisStream",
    "PutEntry",
    "SqliteKinesis",
]

DEFAULT_RETENTION_HOURS: Final = 24
ON_DEMAND_SHARDS: Final = 4
"""An ON_DEMAND stream starts with 4 shards, as Kinesis starts one (it scales them later; locally it does not)."""
TRIM_EVERY_S: Final = 5.0
"""How often a stream's puts trim its expired records: each trim takes the database's write lock."""


@dataclass(frozen=True)
class KinesisRecord:
    """One record of a shard, as GetRecords and event source mappings see it."""

    position: int
    """Grows with the sequence number within the shard; readers ask for records after one."""
    sequence_number: str
    partition_key: str
    data: bytes
    arrival: datetime
    """When the stream took it (UTC, millisecond precision): ApproximateArrivalTimestamp."""
    shard_id: str
    encryption_type: str
    """``NONE`` or ``KMS``: the stream's encryption when the record was put."""


@dataclass(frozen=True)
class KinesisShard:
    shard_id: str
    ordinal: int
    start_hash: int
    end_hash: int
    starting_sequence_number: str
    ending_sequence_number: str | None
    """Set once the shard is closed (no more records go to it)."""
    parent: str | None = None
    adjacent_parent: str | None = None

    @property
    def is_open(self) -> bool:
        return self.ending_sequence_number is None


@dataclass(frozen=True)
class KinesisStream:
    name: str
    arn: str
    status: str
    """``CREATING``, ``ACTIVE``, ``UPDATING`` or ``DELETING`` (locally a stream is ACTIVE once made)."""
    mode: str
    """``PROVISIONED`` or ``ON_DEMAND``."""
    retention_hours: int
    created: datetime
    encryption_type: str
    key_id: str | None


@dataclass(frozen=True)
class PutEntry:
    """One record to put: its partition key, data, and the hash key that overrides the key's MD5."""

    partition_key: str
    data: bytes
    explicit_hash_key: int | None = None


_SIGNALS: dict[tuple[str, str], StreamSignal] = {}
_SIGNALS_LOCK = threading.Lock()


def _database_key(path: Path) -> str:
    return str(path.resolve()) if str(path) != ":memory:" else f":memory:{id(path)}"


def _signal_for(database: str, stream: str) -> StreamSignal:
    """One signal per stream of a database file per process, whichever store instance put the records:
    a put wakes the readers of its stream only."""
    with _SIGNALS_LOCK:
        signal = _SIGNALS.get((database, stream))
        if signal is None:
            signal = _SIGNALS[(database, stream)] = StreamSignal()
        return signal


def _signals_of(database: str) -> list[StreamSignal]:
    with _SIGNALS_LOCK:
        return [signal for (db, _), signal in _SIGNALS.items() if db == database]


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _when(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


class SqliteKinesis:
    """The data dir's Kinesis streams, in the state database. Thread-safe."""

    def __init__(self, db: Database, clock: Clock, *, region: str, account_id: str) -> None:
        self.db = db
        self.clock = clock
        self.region = region
        self.account_id = account_id
        self._database = _database_key(db.path)
        self._trimmed: dict[str, float] = {}
        """When (monotonic) each stream's expired records were last trimmed by this store."""
        self._trim_lock = threading.Lock()

    # -- names ----------------------------------------------------------------------------

    def arn_of(self, name: str) -> str:
        return f"arn:aws:kinesis:{self.region}:{self.account_id}:stream/{name}"

    def name_of(self, name_or_arn: str) -> str | None:
        """The stream name that ``name_or_arn`` gives; None for an ARN of another account or region."""
        if not name_or_arn.startswith("arn:"):
            return name_or_arn
        parts = name_or_arn.split(":", 5)
        if len(parts) != 6 or parts[2] != "kinesis" or not parts[5].startswith("stream/"):
            return None
        if parts[3] != self.region or parts[4] != self.account_id:
            return None
        return parts[5][len("stream/") :]

    def stream_arn(self, name_or_arn: str) -> str | None:
        """The stream's ARN if it exists (ACTIVE or UPDATING), else None."""
        stream = self.describe(name_or_arn)
        if stream is None or stream.status not in ("ACTIVE", "UPDATING"):
            return None
        return stream.arn

    def _must_name(self, stream_arn: str) -> str:
        name = self.name_of(stream_arn)
        if name is None or self._row(name) is None:
            raise NotFoundError(f"stream {stream_arn} not found")
        return name

    # -- streams --------------------------------------------------------------------------

    def create_stream(
        self,
        name: str,
        *,
        shard_count: int | None,
        mode: str = "PROVISIONED",
        tags: Mapping[str, str] | None = None,
    ) -> KinesisStream:
        """Make stream ``name`` with its shards (ON_DEMAND: :data:`ON_DEMAND_SHARDS`).

        Raises:
            ConflictError: a stream of that name exists.
        """
        count = ON_DEMAND_SHARDS if mode == "ON_DEMAND" or shard_count is None else shard_count
        now = self.clock.now()
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM kinesis_streams WHERE name = ?", (name,)).fetchone() is not None:
                raise ConflictError(f"stream {name} exists")
            conn.execute(
                "INSERT INTO kinesis_streams (name, status, mode, retention_hours, created_ms, encryption_type, key_id)"
                " VALUES (?, 'ACTIVE', ?, ?, ?, 'NONE', NULL)",
                (name, mode, DEFAULT_RETENTION_HOURS, _ms(now)),
            )
            start = self._last_position(conn)
            conn.executemany(
                "INSERT INTO kinesis_shards (stream, shard_id, ordinal, start_hash, end_hash, start_position) VALUES (?, ?, ?, ?, ?, ?)",
                [(name, shard_name(i), i, str(lo), str(hi), start) for i, (lo, hi) in enumerate(hash_ranges(count))],
            )
            conn.executemany(
                "INSERT INTO kinesis_tags (stream, tag_key, tag_value) VALUES (?, ?, ?)",
                [(name, k, v) for k, v in (tags or {}).items()],
            )
        stream = self.describe(name)
        assert stream is not None
        return stream

    def delete_stream(self, name_or_arn: str) -> None:
        """Delete the stream, its shards, records and tags. Raises NotFoundError if there is none."""
        name = self._must_name(name_or_arn)
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM kinesis_streams WHERE name = ?", (name,))

    def _row(self, name: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.db.connection().execute("SELECT * FROM kinesis_streams WHERE name = ?", (name,)).fetchone()
        return row

    def describe(self, name_or_arn: str) -> KinesisStream | None:
        name = self.name_of(name_or_arn)
        row = None if name is None else self._row(name)
        return None if row is None else self._stream(row)

    def _stream(self, row: sqlite3.Row) -> KinesisStream:
        return KinesisStream(
            name=str(row["name"]),
            arn=self.arn_of(str(row["name"])),
            status=str(row["status"]),
            mode=str(row["mode"]),
            retention_hours=int(row["retention_hours"]),
            created=_when(int(row["created_ms"])),
            encryption_type=str(row["encryption_type"]),
            key_id=None if row["key_id"] is None else str(row["key_id"]),
        )

    def streams(self) -> list[KinesisStream]:
        """Every stream, by name."""
        rows = self.db.connection().execute("SELECT * FROM kinesis_streams ORDER BY name").fetchall()
        return [self._stream(r) for r in rows]

    def set_retention(self, name_or_arn: str, hours: int) -> None:
        name = self._must_name(name_or_arn)
        with self.db.transaction() as conn:
            conn.execute("UPDATE kinesis_streams SET retention_hours = ? WHERE name = ?", (hours, name))

    def set_encryption(self, name_or_arn: str, encryption_type: str, key_id: str | None) -> None:
        name = self._must_name(name_or_arn)
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE kinesis_streams SET encryption_type = ?, key_id = ? WHERE name = ?",
                (encryption_type, key_id, name),
            )

    # -- tags -----------------------------------------------------------------------------

    def tags(self, name_or_arn: str) -> dict[str, str]:
        """The stream's tags, by key. Raises NotFoundError if there is no such stream."""
        name = self._must_name(name_or_arn)
        rows = self.db.connection().execute("SELECT tag_key, tag_value FROM kinesis_tags WHERE stream = ? ORDER BY tag_key", (name,))
        return {str(k): str(v) for k, v in rows}

    def tag(self, name_or_arn: str, tags: Mapping[str, str]) -> None:
        name = self._must_name(name_or_arn)
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT INTO kinesis_tags (stream, tag_key, tag_value) VALUES (?, ?, ?)"
                " ON CONFLICT (stream, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
                [(name, k, v) for k, v in tags.items()],
            )

    def untag(self, name_or_arn: str, keys: Iterable[str]) -> None:
        name = self._must_name(name_or_arn)
        with self.db.transaction() as conn:
            conn.executemany("DELETE FROM kinesis_tags WHERE stream = ? AND tag_key = ?", [(name, k) for k in keys])

    # -- shards ---------------------------------------------------------------------------

    def shards(self, stream_arn: str) -> list[KinesisShard]:
        """The stream's shards, open and closed, in the order they were made."""
        name = self._must_name(stream_arn)
        rows = self.db.connection().execute("SELECT * FROM kinesis_shards WHERE stream = ? ORDER BY ordinal", (name,))
        return [self._shard(r) for r in rows]

    @staticmethod
    def _shard(row: sqlite3.Row) -> KinesisShard:
        ordinal = int(row["ordinal"])
        end = row["end_position"]
        return KinesisShard(
            shard_id=str(row["shard_id"]),
            ordinal=ordinal,
            start_hash=int(row["start_hash"]),
            end_hash=int(row["end_hash"]),
            starting_sequence_number=sequence_number(int(row["start_position"]), ordinal),
            ending_sequence_number=None if end is None else sequence_number(int(end), ordinal),
            parent=None if row["parent"] is None else str(row["parent"]),
            adjacent_parent=None if row["adjacent_parent"] is None else str(row["adjacent_parent"]),
        )

    def shard_ids(self, stream_arn: str) -> list[str]:
        """The stream's shard ids (``shardId-000000000000``...), open and closed, in order."""
        return [s.shard_id for s in self.shards(stream_arn)]

    def shard(self, stream_arn: str, shard: str) -> KinesisShard | None:
        name = self._must_name(stream_arn)
        row = self.db.connection().execute("SELECT * FROM kinesis_shards WHERE stream = ? AND shard_id = ?", (name, shard)).fetchone()
        return None if row is None else self._shard(row)

    # -- records --------------------------------------------------------------------------

    def put(self, stream_arn: str, entries: Sequence[PutEntry]) -> list[KinesisRecord]:
        """Append ``entries`` to the stream in one transaction, each to the open shard its hash key falls in.

        Records past the stream's retention are trimmed on the way. Readers waiting in
        :meth:`wait` are woken once the records are committed.
        """
        name = self._must_name(stream_arn)
        now = self.clock.now()
        arrival = _ms(now)
        written: list[KinesisRecord] = []
        with self.db.transaction() as conn:
            stream = conn.execute("SELECT retention_hours, encryption_type FROM kinesis_streams WHERE name = ?", (name,)).fetchone()
            if stream is None:
                raise NotFoundError(f"stream {stream_arn} not found")
            if self._trim_due(name):
                cutoff = _ms(now - timedelta(hours=int(stream["retention_hours"])))
                # An index range (kinesis_records_by_arrival): the cost is the records trimmed.
                conn.execute("DELETE FROM kinesis_records WHERE stream = ? AND arrival_ms < ?", (name, cutoff))
            open_shards = [
                (int(r["start_hash"]), int(r["end_hash"]), str(r["shard_id"]), int(r["ordinal"]))
                for r in conn.execute("SELECT * FROM kinesis_shards WHERE stream = ? AND end_position IS NULL ORDER BY ordinal", (name,))
            ]
            encryption = str(stream["encryption_type"])
            for entry in entries:
                key = hash_key_of(entry.partition_key) if entry.explicit_hash_key is None else entry.explicit_hash_key
                target = next((s for s in open_shards if s[0] <= key <= s[1]), None)
                if target is None:  # the open shards cover the whole space; only a bad hash key misses
                    raise ValueError(f"hash key {key} is outside the stream's range")
                cursor = conn.execute(
                    "INSERT INTO kinesis_records (stream, shard_id, ordinal, partition_key, data, arrival_ms, encryption_type)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (name, target[2], target[3], entry.partition_key, entry.data, arrival, encryption),
                )
                position = int(cursor.lastrowid or 0)
                written.append(
                    KinesisRecord(
                        position=position,
                        sequence_number=sequence_number(position, target[3]),
                        partition_key=entry.partition_key,
                        data=entry.data,
                        arrival=_when(arrival),
                        shard_id=target[2],
                        encryption_type=encryption,
                    )
                )
            self.db.after_commit(lambda: self.wake(name))
        return written

    def _trim_due(self, name: str) -> bool:
        """Whether a put to stream ``name`` trims now (the first in this store, then every :data:`TRIM_EVERY_S`)."""
        now = self.clock.monotonic()
        with self._trim_lock:
            last = self._trimmed.get(name)
            if last is not None and now - last < TRIM_EVERY_S:
                return False
            self._trimmed[name] = now
            return True

    def _cutoff_ms(self, name: str) -> int:
        row = self._row(name)
        hours = DEFAULT_RETENTION_HOURS if row is None else int(row["retention_hours"])
        return _ms(self.clock.now() - timedelta(hours=hours))

    def read(self, stream_arn: str, shard_id: str, after: int, limit: int, max_bytes: int) -> list[KinesisRecord]:
        """Records of the shard with position > ``after``, oldest first, at most ``limit``.

        Stops before the one that would take the data past ``max_bytes`` (but returns at least
        one). Records older than the stream's retention are not returned.
        """
        name = self._must_name(stream_arn)
        rows = self.db.connection().execute(
            "SELECT * FROM kinesis_records WHERE stream = ? AND shard_id = ? AND position > ? AND arrival_ms >= ?"
            " ORDER BY position LIMIT ?",
            (name, shard_id, after, self._cutoff_ms(name), limit),
        )
        out: list[KinesisRecord] = []
        size = 0
        for row in rows:
            size += len(row["data"])
            if out and size > max_bytes:
                break
            out.append(self._record(row))
        return out

    @staticmethod
    def _record(row: sqlite3.Row) -> KinesisRecord:
        position = int(row["position"])
        return KinesisRecord(
            position=position,
            sequence_number=sequence_number(position, int(row["ordinal"])),
            partition_key=str(row["partition_key"]),
            data=bytes(row["data"]),
            arrival=_when(int(row["arrival_ms"])),
            shard_id=str(row["shard_id"]),
            encryption_type=str(row["encryption_type"]),
        )

    @staticmethod
    def _last_position(conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'kinesis_records'").fetchone()
        return 0 if row is None else int(row[0])

    def last_position(self) -> int:
        """The newest position handed out so far, in any stream (a sequence number past it was never given)."""
        return self._last_position(self.db.connection())

    def open_shard_count(self) -> int:
        """The open shards of every stream (what the account's shard limit counts)."""
        return int(self.db.connection().execute("SELECT count(*) FROM kinesis_shards WHERE end_position IS NULL").fetchone()[0])

    def latest_position(self, stream_arn: str, shard_id: str) -> int:
        """The position just after the shard's newest record (LATEST): later puts read as after it."""
        self._must_name(stream_arn)
        # Any position handed out so far will do: every record put from now on is past it.
        return self._last_position(self.db.connection())

    def trim_horizon(self, stream_arn: str, shard_id: str) -> int:
        """The position just before the shard's oldest record kept (TRIM_HORIZON)."""
        name = self._must_name(stream_arn)
        row = (
            self.db.connection()
            .execute(
                "SELECT min(position) FROM kinesis_records WHERE stream = ? AND shard_id = ? AND arrival_ms >= ?",
                (name, shard_id, self._cutoff_ms(name)),
            )
            .fetchone()
        )
        if row is None or row[0] is None:
            return self.latest_position(stream_arn, shard_id)
        return int(row[0]) - 1

    def position_at(self, stream_arn: str, shard_id: str, when: datetime) -> int:
        """The position just before the shard's first record that arrived at or after ``when`` (AT_TIMESTAMP)."""
        name = self._must_name(stream_arn)
        since = max(_ms(when), self._cutoff_ms(name))
        row = (
            self.db.connection()
            .execute(
                "SELECT min(position) FROM kinesis_records WHERE stream = ? AND shard_id = ? AND arrival_ms >= ?",
                (name, shard_id, since),
            )
            .fetchone()
        )
        if row is None or row[0] is None:
            return self.latest_position(stream_arn, shard_id)
        return int(row[0]) - 1

    def newest_arrival(self, stream_arn: str, shard_id: str) -> datetime | None:
        """When the shard's newest record arrived (None: it has none kept)."""
        name = self._must_name(stream_arn)
        row = (
            self.db.connection()
            .execute(
                "SELECT arrival_ms FROM kinesis_records WHERE stream = ? AND shard_id = ? ORDER BY position DESC LIMIT 1",
                (name, shard_id),
            )
            .fetchone()
        )
        return None if row is None else _when(int(row[0]))

    def first_arrival_after(self, stream_arn: str, shard_id: str, after: int) -> datetime | None:
        """When the shard's first record past ``after`` arrived (None: the reader is at the tip)."""
        name = self._must_name(stream_arn)
        row = (
            self.db.connection()
            .execute(
                "SELECT arrival_ms FROM kinesis_records WHERE stream = ? AND shard_id = ? AND position > ?"
                " AND arrival_ms >= ? ORDER BY position LIMIT 1",
                (name, shard_id, after, self._cutoff_ms(name)),
            )
            .fetchone()
        )
        return None if row is None else _when(int(row[0]))

    @staticmethod
    def decode(sequence: str) -> tuple[int, int] | None:
        """``(position, shard ordinal)`` of a sequence number this store handed out, else None."""
        return decode_sequence_number(sequence)

    # -- wake-ups -------------------------------------------------------------------------

    def _signal(self, name_or_arn: str) -> StreamSignal:
        return _signal_for(self._database, self.name_of(name_or_arn) or name_or_arn)

    def generation(self, stream_arn: str) -> int:
        """Bumped each time a put to the stream commits in this process."""
        return self._signal(stream_arn).generation

    def wait(self, stream_arn: str, since: int, timeout: float) -> int:
        """Block until the stream's generation is past ``since`` or ``timeout`` seconds pass; return the generation."""
        return self._signal(stream_arn).wait(since, timeout)

    def wake(self, stream_arn: str | None = None) -> None:
        """Wake the stream's readers (every stream's without one)."""
        for signal in _signals_of(self._database) if stream_arn is None else [self._signal(stream_arn)]:
            signal.notify()
