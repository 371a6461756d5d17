"""Kinesis retention on SQLite: puts trim a stream's expired records through an index, not every put."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.kinesis import PutEntry, SqliteKinesis
from sluiceway.backends.local.kinesis.store import TRIM_EVERY_S
from sluiceway.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 1, tzinfo=UTC))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "sluiceway.db")
    yield database
    database.close()


def stored(db: Database, stream: str) -> int:
    return int(db.connection().execute("SELECT count(*) FROM kinesis_records WHERE stream = ?", (stream,)).fetchone()[0])


def test_the_trim_reads_an_index_range_not_the_stream(db: Database) -> None:
    plan = db.connection().execute("EXPLAIN QUERY PLAN DELETE FROM kinesis_records WHERE stream = ? AND arrival_ms < ?", ("s", 0))
    details = " ".join(str(row[3]) for row in plan)
    assert "kinesis_records_by_arrival" in details and "SCAN" not in details


def test_puts_trim_expired_records_at_most_once_every_few_seconds(db: Database, clock: FakeClock) -> None:
    kinesis = SqliteKinesis(db, clock, region="us-east-1", account_id="111111111111")
    arn = kinesis.create_stream("s", shard_count=1).arn
    other = kinesis.create_stream("other", shard_count=1).arn
    kinesis.put(arn, [PutEntry("k", b"old")])
    kinesis.put(other, [PutEntry("k", b"old")])
    clock.advance(2)
    kinesis.put(arn, [PutEntry("k", b"old2")])
    clock.advance(24 * 3600 - 1)  # "old" is past the default retention, "old2" a second short of it

    kinesis.put(arn, [PutEntry("k", b"new")])
    assert stored(db, "s") == 2  # "old" trimmed
    # Within TRIM_EVERY_S of that trim no put trims, though "old2" expired meanwhile; readers
    # never see it all the same.
    clock.advance(TRIM_EVERY_S / 2)
    kinesis.put(arn, [PutEntry("k", b"newer")])
    assert stored(db, "s") == 3
    assert [r.data for r in kinesis.read(arn, "shardId-000000000000", 0, 10, 1 << 20)] == [b"new", b"newer"]

    clock.advance(TRIM_EVERY_S / 2)
    kinesis.put(arn, [PutEntry("k", b"last")])
    assert stored(db, "s") == 3  # "old2" trimmed
    assert stored(db, "other") == 1  # another stream's records are its own puts' to trim
