"""Stream retention on the local engine: records live 24 hours, closed streams as long, readers told when data is gone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.dynamodb import LocalDynamoDb
from sluiceway.backends.local.dynamodb.stream_reads import StreamReader
from sluiceway.clock import FakeClock
from sluiceway.dynamodb.errors import DynamoDbError


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 1, tzinfo=UTC))


@pytest.fixture
def engine(tmp_path: Path, clock: FakeClock) -> Iterator[LocalDynamoDb]:
    db = Database(tmp_path / "sluiceway.db")
    yield LocalDynamoDb(db, clock, region="eu-west-1", account_id="123456789012")
    db.close()


def make(engine: LocalDynamoDb, name: str) -> str:
    created = engine.create_table(
        {
            "TableName": name,
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        }
    )
    arn: str = created["TableDescription"]["LatestStreamArn"]
    return arn


def iterator(reader: StreamReader, arn: str, kind: str, **extra: str) -> str:
    shard = reader.describe_stream({"StreamArn": arn})["StreamDescription"]["Shards"][0]["ShardId"]
    token: str = reader.get_shard_iterator({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": kind, **extra})["ShardIterator"]
    return token


def test_records_older_than_24_hours_are_trimmed(engine: LocalDynamoDb, clock: FakeClock) -> None:
    reader = StreamReader(engine.streams, clock, region="eu-west-1")
    arn = make(engine, "aging")
    engine.put_item({"TableName": "aging", "Item": {"id": {"S": "old"}}})
    old_iterator = iterator(reader, arn, "TRIM_HORIZON")
    [old] = reader.get_records({"ShardIterator": old_iterator})["Records"]
    clock.advance(23 * 3600)
    engine.put_item({"TableName": "aging", "Item": {"id": {"S": "new"}}})
    clock.advance(2 * 3600)  # the first record is 25 hours old, the second 2
    records = reader.get_records({"ShardIterator": iterator(reader, arn, "TRIM_HORIZON")})["Records"]
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in records] == ["new"]
    with pytest.raises(DynamoDbError) as caught:
        iterator(reader, arn, "AT_SEQUENCE_NUMBER", SequenceNumber=old["dynamodb"]["SequenceNumber"])
    assert caught.value.code == "TrimmedDataAccessException"
    with pytest.raises(DynamoDbError) as caught:
        reader.get_records({"ShardIterator": old_iterator})
    assert caught.value.code == "ExpiredIteratorException"  # 25 hours old: it expired long before


def test_an_iterator_expires_after_15_minutes(engine: LocalDynamoDb, clock: FakeClock) -> None:
    reader = StreamReader(engine.streams, clock, region="eu-west-1")
    arn = make(engine, "expiring")
    token = iterator(reader, arn, "LATEST")
    clock.advance(14 * 60)
    assert reader.get_records({"ShardIterator": token})["Records"] == []
    clock.advance(2 * 60)
    with pytest.raises(DynamoDbError) as caught:
        reader.get_records({"ShardIterator": token})
    assert caught.value.code == "ExpiredIteratorException"


def test_a_deleted_tables_stream_is_readable_for_24_hours(engine: LocalDynamoDb, clock: FakeClock) -> None:
    reader = StreamReader(engine.streams, clock, region="eu-west-1")
    arn = make(engine, "deleted")
    engine.put_item({"TableName": "deleted", "Item": {"id": {"S": "x"}}})
    engine.delete_table({"TableName": "deleted"})
    description = reader.describe_stream({"StreamArn": arn})["StreamDescription"]
    assert description["StreamStatus"] == "DISABLED"
    page = reader.get_records({"ShardIterator": iterator(reader, arn, "TRIM_HORIZON")})
    assert len(page["Records"]) == 1 and "NextShardIterator" not in page
    # A new table of the same name does not inherit the old one's stream.
    engine.create_table(
        {
            "TableName": "deleted",
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        }
    )
    assert "LatestStreamArn" not in engine.describe_table({"TableName": "deleted"})["Table"]
    clock.advance(25 * 3600)
    with pytest.raises(DynamoDbError) as caught:
        reader.describe_stream({"StreamArn": arn})
    assert caught.value.code == "ResourceNotFoundException"
    assert reader.list_streams({})["Streams"] == []
