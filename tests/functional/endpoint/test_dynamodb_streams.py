"""DynamoDB Streams through the endpoint: tables' streams read with boto3's dynamodbstreams client."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

REGION = "us-east-1"


@pytest.fixture(scope="module")
def dynamodb(aws: Callable[..., Any]) -> Any:
    return aws("dynamodb")


@pytest.fixture(scope="module")
def streams(aws: Callable[..., Any]) -> Any:
    return aws("dynamodbstreams")


def error_of(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call()
    response: dict[str, Any] = caught.value.response
    return response


def make_table(dynamodb: Any, name: str, view_type: str | None = "NEW_AND_OLD_IMAGES") -> str | None:
    extra: dict[str, Any] = {}
    if view_type is not None:
        extra["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view_type}
    created = dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
    arn: str | None = created["TableDescription"].get("LatestStreamArn")
    return arn


def shard_iterator(streams: Any, arn: str, kind: str = "TRIM_HORIZON", **extra: Any) -> str:
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator: str = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType=kind, **extra)["ShardIterator"]
    return iterator


def test_every_write_kind_is_recorded_in_order_with_its_images(dynamodb: Any, streams: Any) -> None:
    arn = make_table(dynamodb, "streams-all-writes")
    assert arn is not None and arn.startswith(f"arn:aws:dynamodb:{REGION}:") and ":table/streams-all-writes/stream/" in arn
    key = {"pk": {"S": "a"}, "sk": {"N": "1"}}
    dynamodb.put_item(TableName="streams-all-writes", Item={**key, "v": {"N": "1"}, "b": {"B": b"\x00\x01"}})
    dynamodb.put_item(TableName="streams-all-writes", Item={**key, "v": {"N": "1"}, "b": {"B": b"\x00\x01"}})  # no change
    dynamodb.update_item(
        TableName="streams-all-writes", Key=key, UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"N": "2"}}
    )
    dynamodb.update_item(
        TableName="streams-all-writes", Key=key, UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"N": "2"}}
    )
    with pytest.raises(ClientError):
        dynamodb.put_item(TableName="streams-all-writes", Item=key, ConditionExpression="attribute_not_exists(pk)")
    dynamodb.delete_item(TableName="streams-all-writes", Key=key)
    dynamodb.delete_item(TableName="streams-all-writes", Key=key)  # absent: nothing deleted
    dynamodb.batch_write_item(
        RequestItems={"streams-all-writes": [{"PutRequest": {"Item": {"pk": {"S": "b"}, "sk": {"N": str(i)}}}} for i in (1, 2)]}
    )
    dynamodb.transact_write_items(
        TransactItems=[
            {"Delete": {"TableName": "streams-all-writes", "Key": {"pk": {"S": "b"}, "sk": {"N": "1"}}}},
            {"Put": {"TableName": "streams-all-writes", "Item": {"pk": {"S": "c"}, "sk": {"N": "1"}}}},
        ]
    )

    page = streams.get_records(ShardIterator=shard_iterator(streams, arn))
    records = page["Records"]
    assert [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in records] == [
        ("INSERT", "a"),
        ("MODIFY", "a"),
        ("REMOVE", "a"),
        ("INSERT", "b"),
        ("INSERT", "b"),
        ("REMOVE", "b"),
        ("INSERT", "c"),
    ]
    first, modify, remove = records[:3]
    assert first["eventVersion"] == "1.1" and first["eventSource"] == "aws:dynamodb" and first["awsRegion"] == REGION
    assert len(first["eventID"]) == 32
    assert first["dynamodb"]["NewImage"] == {**key, "v": {"N": "1"}, "b": {"B": b"\x00\x01"}}
    assert "OldImage" not in first["dynamodb"]
    assert first["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert first["dynamodb"]["SizeBytes"] > 0
    assert first["dynamodb"]["ApproximateCreationDateTime"].microsecond == 0
    assert modify["dynamodb"]["OldImage"]["v"] == {"N": "1"} and modify["dynamodb"]["NewImage"]["v"] == {"N": "2"}
    assert remove["dynamodb"]["OldImage"]["v"] == {"N": "2"} and "NewImage" not in remove["dynamodb"]
    sequences = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    assert all(len(r["dynamodb"]["SequenceNumber"]) >= 21 for r in records)
    assert streams.get_records(ShardIterator=page["NextShardIterator"])["Records"] == []


def test_keys_only_streams_hold_keys_only(dynamodb: Any, streams: Any) -> None:
    arn = make_table(dynamodb, "streams-keys-only", "KEYS_ONLY")
    assert arn is not None
    dynamodb.put_item(TableName="streams-keys-only", Item={"pk": {"S": "k"}, "sk": {"N": "7"}, "secret": {"S": "x"}})
    [record] = streams.get_records(ShardIterator=shard_iterator(streams, arn))["Records"]
    assert record["dynamodb"]["Keys"] == {"pk": {"S": "k"}, "sk": {"N": "7"}}
    assert "NewImage" not in record["dynamodb"] and "OldImage" not in record["dynamodb"]


def test_iterator_types_position_the_reader(dynamodb: Any, streams: Any) -> None:
    arn = make_table(dynamodb, "streams-iterators", "NEW_IMAGE")
    assert arn is not None
    for i in range(4):
        dynamodb.put_item(TableName="streams-iterators", Item={"pk": {"S": "p"}, "sk": {"N": str(i)}})
    records = streams.get_records(ShardIterator=shard_iterator(streams, arn), Limit=2)
    assert [r["dynamodb"]["Keys"]["sk"]["N"] for r in records["Records"]] == ["0", "1"]
    rest = streams.get_records(ShardIterator=records["NextShardIterator"])["Records"]
    assert [r["dynamodb"]["Keys"]["sk"]["N"] for r in rest] == ["2", "3"]
    second = records["Records"][1]["dynamodb"]["SequenceNumber"]
    at = streams.get_records(ShardIterator=shard_iterator(streams, arn, "AT_SEQUENCE_NUMBER", SequenceNumber=second))
    assert [r["dynamodb"]["Keys"]["sk"]["N"] for r in at["Records"]] == ["1", "2", "3"]
    after = streams.get_records(ShardIterator=shard_iterator(streams, arn, "AFTER_SEQUENCE_NUMBER", SequenceNumber=second))
    assert [r["dynamodb"]["Keys"]["sk"]["N"] for r in after["Records"]] == ["2", "3"]
    latest = shard_iterator(streams, arn, "LATEST")
    assert streams.get_records(ShardIterator=latest)["Records"] == []
    dynamodb.put_item(TableName="streams-iterators", Item={"pk": {"S": "p"}, "sk": {"N": "9"}})
    assert [r["dynamodb"]["Keys"]["sk"]["N"] for r in streams.get_records(ShardIterator=latest)["Records"]] == ["9"]


def test_describe_and_list_streams(dynamodb: Any, streams: Any) -> None:
    arn = make_table(dynamodb, "streams-describe", "OLD_IMAGE")
    assert arn is not None
    table = dynamodb.describe_table(TableName="streams-describe")["Table"]
    assert table["LatestStreamArn"] == arn
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "OLD_IMAGE"}
    assert arn.endswith("/stream/" + table["LatestStreamLabel"])
    description = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert description["StreamStatus"] == "ENABLED" and description["StreamViewType"] == "OLD_IMAGE"
    assert description["TableName"] == "streams-describe"
    assert description["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    [shard] = description["Shards"]
    assert shard["ShardId"].startswith("shardId-") and "EndingSequenceNumber" not in shard["SequenceNumberRange"]
    listed = streams.list_streams(TableName="streams-describe")["Streams"]
    assert listed == [{"StreamArn": arn, "TableName": "streams-describe", "StreamLabel": table["LatestStreamLabel"]}]
    assert arn in [s["StreamArn"] for s in streams.list_streams()["Streams"]]


def test_update_table_enables_and_disables_streams_as_dynamodb_does(dynamodb: Any, streams: Any) -> None:
    assert make_table(dynamodb, "streams-update", None) is None
    assert "LatestStreamArn" not in dynamodb.describe_table(TableName="streams-update")["Table"]
    error = error_of(lambda: dynamodb.update_table(TableName="streams-update", StreamSpecification={"StreamEnabled": False}))
    assert error["Error"] == {"Code": "ValidationException", "Message": "Table has no stream to disable: TableName: streams-update"}
    updated = dynamodb.update_table(TableName="streams-update", StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})[
        "TableDescription"
    ]
    first = updated["LatestStreamArn"]
    error = error_of(
        lambda: dynamodb.update_table(
            TableName="streams-update", StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
        )
    )
    assert error["Error"]["Message"] == "Table already has an enabled stream: TableName: streams-update"
    dynamodb.put_item(TableName="streams-update", Item={"pk": {"S": "x"}, "sk": {"N": "1"}})
    iterator = shard_iterator(streams, first)
    dynamodb.update_table(TableName="streams-update", StreamSpecification={"StreamEnabled": False})
    table = dynamodb.describe_table(TableName="streams-update")["Table"]
    assert "StreamSpecification" not in table and table["LatestStreamArn"] == first
    closed = streams.describe_stream(StreamArn=first)["StreamDescription"]
    assert closed["StreamStatus"] == "DISABLED" and "EndingSequenceNumber" in closed["Shards"][0]["SequenceNumberRange"]
    dynamodb.put_item(TableName="streams-update", Item={"pk": {"S": "x"}, "sk": {"N": "2"}})  # not streamed
    page = streams.get_records(ShardIterator=iterator)
    assert len(page["Records"]) == 1 and "NextShardIterator" not in page  # a closed shard read to its end
    second = dynamodb.update_table(TableName="streams-update", StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})[
        "TableDescription"
    ]["LatestStreamArn"]
    assert second != first


def test_errors_are_dynamodb_streams_errors(dynamodb: Any, streams: Any) -> None:
    missing = f"arn:aws:dynamodb:{REGION}:000000000000:table/nothing/stream/2024-01-01T00:00:00.000"
    error = error_of(lambda: streams.describe_stream(StreamArn=missing))
    assert error["Error"] == {"Code": "ResourceNotFoundException", "Message": f"Requested resource not found: Stream: {missing} not found"}
    arn = make_table(dynamodb, "streams-errors")
    assert arn is not None
    error = error_of(lambda: streams.get_records(ShardIterator="not-an-iterator"))
    assert error["Error"]["Code"] == "ValidationException"
    error = error_of(lambda: streams.get_records(ShardIterator=shard_iterator(streams, arn), Limit=1001))
    assert error["Error"]["Code"] == "LimitExceededException"
    # An iterator issued 16 minutes ago has expired.
    arn_, shard, position, issued = json.loads(base64.urlsafe_b64decode(shard_iterator(streams, arn)))
    old = base64.urlsafe_b64encode(json.dumps([arn_, shard, position, issued - 16 * 60]).encode()).decode()
    error = error_of(lambda: streams.get_records(ShardIterator=old))
    assert error["Error"]["Code"] == "ExpiredIteratorException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
