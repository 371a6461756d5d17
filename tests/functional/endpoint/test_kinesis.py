"""Kinesis Data Streams through boto3 against the endpoint: streams, shards, records, iterators,
retention, tags and AWS's errors."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.settings import Settings

Aws = Callable[..., Any]
ACCOUNT = Settings.load().account_id


@pytest.fixture(scope="module")
def kinesis(aws: Aws) -> Any:
    return aws("kinesis")


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return str(error["Code"]), str(error.get("Message", ""))


def _all_records(kinesis: Any, stream: str, shard: str, kind: str = "TRIM_HORIZON", **extra: Any) -> list[dict[str, Any]]:
    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType=kind, **extra)["ShardIterator"]
    records: list[dict[str, Any]] = kinesis.get_records(ShardIterator=iterator)["Records"]
    return records


def test_a_stream_is_created_described_listed_and_deleted(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="orders", ShardCount=3)
    described = kinesis.describe_stream(StreamName="orders")["StreamDescription"]
    assert described["StreamStatus"] == "ACTIVE"
    assert described["StreamARN"] == f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/orders"
    assert described["RetentionPeriodHours"] == 24 and described["HasMoreShards"] is False
    assert described["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert described["EncryptionType"] == "NONE"
    # Kinesis splits the 128-bit hash key space evenly.
    assert [(s["ShardId"], s["HashKeyRange"]["StartingHashKey"], s["HashKeyRange"]["EndingHashKey"]) for s in described["Shards"]] == [
        ("shardId-000000000000", "0", "113427455640312821154458202477256070484"),
        ("shardId-000000000001", "113427455640312821154458202477256070485", "226854911280625642308916404954512140969"),
        ("shardId-000000000002", "226854911280625642308916404954512140970", "340282366920938463463374607431768211455"),
    ]
    summary = kinesis.describe_stream_summary(StreamARN=described["StreamARN"])["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 3 and summary["StreamName"] == "orders"
    listed = kinesis.list_streams()
    assert "orders" in listed["StreamNames"]
    assert any(s["StreamARN"] == described["StreamARN"] for s in listed["StreamSummaries"])
    with pytest.raises(ClientError) as excinfo:
        kinesis.create_stream(StreamName="orders", ShardCount=1)
    assert _error(excinfo) == ("ResourceInUseException", f"Stream orders under account {ACCOUNT} already exists.")
    kinesis.delete_stream(StreamName="orders")
    with pytest.raises(ClientError) as excinfo:
        kinesis.describe_stream(StreamName="orders")
    assert _error(excinfo) == ("ResourceNotFoundException", f"Stream orders under account {ACCOUNT} not found.")


def test_on_demand_and_unsized_streams_start_with_four_shards(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="on-demand", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    kinesis.create_stream(StreamName="unsized")
    for name in ("on-demand", "unsized"):
        assert len(kinesis.list_shards(StreamName=name)["Shards"]) == 4
    assert kinesis.describe_stream_summary(StreamName="on-demand")["StreamDescriptionSummary"]["StreamModeDetails"] == {
        "StreamMode": "ON_DEMAND"
    }


def test_records_go_to_the_shard_of_their_hash_key_and_read_back_in_order(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="routed", ShardCount=2)
    put = [kinesis.put_record(StreamName="routed", Data=f"r{i}".encode(), PartitionKey=f"key-{i}") for i in range(6)]
    for i, answer in enumerate(put):
        hash_key = int.from_bytes(hashlib.md5(f"key-{i}".encode()).digest(), "big")
        assert answer["ShardId"] == ("shardId-000000000000" if hash_key < 2**127 else "shardId-000000000001")
        assert answer["SequenceNumber"].isdigit() and len(answer["SequenceNumber"]) == 56
    explicit = kinesis.put_record(StreamName="routed", Data=b"x", PartitionKey="any", ExplicitHashKey=str(2**128 - 1))
    assert explicit["ShardId"] == "shardId-000000000001"
    seen = []
    for shard in ("shardId-000000000000", "shardId-000000000001"):
        records = _all_records(kinesis, "routed", shard)
        numbers = [int(r["SequenceNumber"]) for r in records]
        assert numbers == sorted(numbers)
        seen += [(r["Data"], r["PartitionKey"]) for r in records]
        assert all(isinstance(r["ApproximateArrivalTimestamp"], datetime) for r in records)
    assert sorted(seen) == sorted([(f"r{i}".encode(), f"key-{i}") for i in range(6)] + [(b"x", "any")])


def test_put_records_answers_each_record_and_limits_hold(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="batched", ShardCount=1)
    answer = kinesis.put_records(StreamName="batched", Records=[{"Data": b"a", "PartitionKey": "p"}, {"Data": b"b", "PartitionKey": "q"}])
    assert answer["FailedRecordCount"] == 0 and [r["ShardId"] for r in answer["Records"]] == ["shardId-000000000000"] * 2
    with pytest.raises(ClientError) as excinfo:
        kinesis.put_records(StreamName="batched", Records=[{"Data": b"a", "PartitionKey": "p"}] * 501)
    assert _error(excinfo) == (
        "ValidationException",
        "1 validation error detected: Value at 'records' failed to satisfy constraint: Member must have length less than or equal to 500",
    )
    with pytest.raises(ClientError) as excinfo:
        kinesis.put_record(StreamName="batched", Data=b"x" * (1024 * 1024 + 1), PartitionKey="p")
    assert _error(excinfo) == (
        "ValidationException",
        "1 validation error detected: Value at 'data' failed to satisfy constraint: Member must have length less than or equal to 1048576",
    )
    with pytest.raises(ClientError) as excinfo:
        kinesis.put_records(StreamName="batched", Records=[{"Data": b"x" * (1024 * 1024 - 1), "PartitionKey": "p"}] * 6)
    assert _error(excinfo) == ("InvalidArgumentException", "Records size exceeds 5 MB limit")
    with pytest.raises(ClientError) as excinfo:
        kinesis.put_record(StreamName="batched", Data=b"x", PartitionKey="p" * 257)
    assert _error(excinfo)[0] == "ValidationException" and "partitionKey" in _error(excinfo)[1]
    with pytest.raises(ClientError) as excinfo:
        kinesis.put_record(StreamName="nowhere", Data=b"x", PartitionKey="p")
    assert _error(excinfo) == ("ResourceNotFoundException", f"Stream nowhere under account {ACCOUNT} not found.")


def test_shard_iterators_start_where_their_type_says(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="iterated", ShardCount=1)
    shard = "shardId-000000000000"
    numbers = [kinesis.put_record(StreamName="iterated", Data=f"{i}".encode(), PartitionKey="p")["SequenceNumber"] for i in range(3)]
    assert [r["Data"] for r in _all_records(kinesis, "iterated", shard)] == [b"0", b"1", b"2"]
    at = _all_records(kinesis, "iterated", shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=numbers[1])
    assert [r["Data"] for r in at] == [b"1", b"2"]
    after = _all_records(kinesis, "iterated", shard, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=numbers[1])
    assert [r["Data"] for r in after] == [b"2"]
    past = datetime.now(UTC) - timedelta(hours=1)
    assert len(_all_records(kinesis, "iterated", shard, "AT_TIMESTAMP", Timestamp=past)) == 3
    latest = kinesis.get_shard_iterator(StreamName="iterated", ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    first = kinesis.get_records(ShardIterator=latest)
    assert first["Records"] == [] and first["MillisBehindLatest"] == 0
    kinesis.put_record(StreamName="iterated", Data=b"3", PartitionKey="p")
    second = kinesis.get_records(ShardIterator=first["NextShardIterator"], Limit=10)
    assert [r["Data"] for r in second["Records"]] == [b"3"]
    limited = kinesis.get_records(
        ShardIterator=kinesis.get_shard_iterator(StreamName="iterated", ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"],
        Limit=2,
    )
    assert len(limited["Records"]) == 2
    with pytest.raises(ClientError) as excinfo:
        kinesis.get_shard_iterator(StreamName="iterated", ShardId="shardId-000000000009", ShardIteratorType="LATEST")
    assert _error(excinfo) == (
        "ResourceNotFoundException",
        f"Shard shardId-000000000009 in stream iterated under account {ACCOUNT} does not exist",
    )


def test_retention_moves_within_its_bounds(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="kept", ShardCount=1)
    kinesis.increase_stream_retention_period(StreamName="kept", RetentionPeriodHours=48)
    assert kinesis.describe_stream_summary(StreamName="kept")["StreamDescriptionSummary"]["RetentionPeriodHours"] == 48
    with pytest.raises(ClientError) as excinfo:
        kinesis.increase_stream_retention_period(StreamName="kept", RetentionPeriodHours=30)
    assert _error(excinfo) == (
        "InvalidArgumentException",
        "Requested retention period (30 hours) for stream kept can not be shorter than existing retention period "
        "(48 hours). Use DecreaseRetentionPeriod API.",
    )
    with pytest.raises(ClientError) as excinfo:
        kinesis.decrease_stream_retention_period(StreamName="kept", RetentionPeriodHours=20)
    assert _error(excinfo)[0] == "InvalidArgumentException" and "too short" in _error(excinfo)[1]
    kinesis.decrease_stream_retention_period(StreamName="kept", RetentionPeriodHours=24)
    assert kinesis.describe_stream(StreamName="kept")["StreamDescription"]["RetentionPeriodHours"] == 24


def test_tags_are_added_listed_and_removed(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="tagged", ShardCount=1)
    kinesis.add_tags_to_stream(StreamName="tagged", Tags={"team": "data", "env": "dev"})
    assert kinesis.list_tags_for_stream(StreamName="tagged")["Tags"] == [{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "data"}]
    page = kinesis.list_tags_for_stream(StreamName="tagged", Limit=1)
    assert page["HasMoreTags"] is True and len(page["Tags"]) == 1
    kinesis.remove_tags_from_stream(StreamName="tagged", TagKeys=["env"])
    assert kinesis.list_tags_for_stream(StreamName="tagged")["Tags"] == [{"Key": "team", "Value": "data"}]


def test_list_shards_pages_with_next_token(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="paged", ShardCount=5)
    first = kinesis.list_shards(StreamName="paged", MaxResults=2)
    assert [s["ShardId"] for s in first["Shards"]] == ["shardId-000000000000", "shardId-000000000001"]
    rest = kinesis.list_shards(NextToken=first["NextToken"])
    assert [s["ShardId"] for s in rest["Shards"]] == ["shardId-000000000002", "shardId-000000000003", "shardId-000000000004"]
    assert "NextToken" not in rest
    with pytest.raises(ClientError) as excinfo:
        kinesis.list_shards(StreamName="paged", NextToken=first["NextToken"])
    assert _error(excinfo)[0] == "InvalidArgumentException"
    after = kinesis.list_shards(StreamName="paged", ShardFilter={"Type": "AFTER_SHARD_ID", "ShardId": "shardId-000000000003"})
    assert [s["ShardId"] for s in after["Shards"]] == ["shardId-000000000004"]


@pytest.fixture(scope="module")
def unchecked(kinesis: Any) -> Any:
    """A client that sends what it is given, as a client in another language may."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    config = Config(retries={"max_attempts": 1}, parameter_validation=False)
    return session.client("kinesis", endpoint_url=kinesis.meta.endpoint_url, config=config)


def test_missing_members_and_forged_numbers_are_refused_not_failed(kinesis: Any, unchecked: Any) -> None:
    kinesis.create_stream(StreamName="checked", ShardCount=1)
    with pytest.raises(ClientError) as excinfo:
        unchecked.put_record(StreamName="checked", Data=b"x")
    assert _error(excinfo) == (
        "ValidationException",
        "1 validation error detected: Value null at 'partitionKey' failed to satisfy constraint: Member must not be null",
    )
    with pytest.raises(ClientError) as excinfo:
        unchecked.put_records(StreamName="checked", Records=[{"Data": b"x", "PartitionKey": "k"}, {"Data": b"y"}])
    assert _error(excinfo) == (
        "ValidationException",
        "1 validation error detected: Value null at 'records.2.member.partitionKey' failed to satisfy constraint: Member must not be null",
    )
    # A well-formed sequence number no record ever had.
    put = kinesis.put_record(StreamName="checked", Data=b"x", PartitionKey="k")
    beyond = put["SequenceNumber"][:2] + "9" * 38 + put["SequenceNumber"][40:]
    with pytest.raises(ClientError) as excinfo:
        kinesis.get_shard_iterator(
            StreamName="checked", ShardId="shardId-000000000000", ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber=beyond
        )
    assert _error(excinfo)[0] == "InvalidArgumentException" and beyond in _error(excinfo)[1]
    # An iterator with numbers no iterator holds.
    import base64
    import json

    iterator = kinesis.get_shard_iterator(StreamName="checked", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")
    payload = json.loads(base64.b64decode(iterator["ShardIterator"]))
    for forged in ({**payload, "p": 10**30}, {**payload, "t": -(10**30)}, {**payload, "c": 10**40}):
        with pytest.raises(ClientError) as excinfo:
            kinesis.get_records(ShardIterator=base64.b64encode(json.dumps(forged).encode()).decode())
        assert _error(excinfo)[0] == "InvalidArgumentException"
    kinesis.delete_stream(StreamName="checked")


def test_the_shard_limit_counts_the_accounts_open_shards(kinesis: Any) -> None:
    from sluiceway.endpoint.services.kinesis import MAX_SHARDS_PER_ACCOUNT

    kinesis.create_stream(StreamName="limited", ShardCount=3)
    existing = sum(
        kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["OpenShardCount"]
        for name in kinesis.list_streams()["StreamNames"]
    )
    wanted = MAX_SHARDS_PER_ACCOUNT - existing + 1
    with pytest.raises(ClientError) as excinfo:
        kinesis.create_stream(StreamName="over", ShardCount=wanted)
    assert _error(excinfo) == (
        "LimitExceededException",
        f"This request would exceed the shard limit for the account {ACCOUNT} in us-east-1. Current shard count for the account: "
        f"{existing}. Limit: {MAX_SHARDS_PER_ACCOUNT}. Number of additional shards that would have resulted from this request: {wanted}.",
    )
    kinesis.delete_stream(StreamName="limited")
