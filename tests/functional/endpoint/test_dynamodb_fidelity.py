"""DynamoDB through the endpoint, answer for answer as AWS gives them (messages, shapes, limits)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.settings import DEFAULT_ACCOUNT_ID as ACCOUNT


@pytest.fixture(scope="module")
def ddb(aws: Callable[..., Any]) -> Any:
    return aws("dynamodb")


def error_of(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call()
    response: dict[str, Any] = caught.value.response
    return response


def make_table(ddb: Any, name: str, *, sort: bool = False, gsi: bool = False, **extra: Any) -> str:
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}]
    definitions = [{"AttributeName": "pk", "AttributeType": "S"}]
    if sort:
        keys.append({"AttributeName": "sk", "KeyType": "RANGE"})
        definitions.append({"AttributeName": "sk", "AttributeType": "N"})
    if gsi:
        definitions.append({"AttributeName": "g", "AttributeType": "S"})
        extra["GlobalSecondaryIndexes"] = [
            {"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}
        ]
    extra.setdefault("BillingMode", "PAY_PER_REQUEST")
    created = ddb.create_table(TableName=name, KeySchema=keys, AttributeDefinitions=definitions, **extra)
    return str(created["TableDescription"]["TableArn"])


def test_table_descriptions_have_aws_members(ddb: Any) -> None:
    created = ddb.create_table(
        TableName="fid-describe",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )["TableDescription"]
    assert created["TableStatus"] == "CREATING"
    assert created["BillingModeSummary"] == {"BillingMode": "PAY_PER_REQUEST"}
    assert "WarmThroughput" not in created
    table = ddb.describe_table(TableName="fid-describe")["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert table["ProvisionedThroughput"] == {"NumberOfDecreasesToday": 0, "ReadCapacityUnits": 0, "WriteCapacityUnits": 0}
    assert set(table["BillingModeSummary"]) == {"BillingMode", "LastUpdateToPayPerRequestDateTime"}
    assert table["WarmThroughput"] == {"ReadUnitsPerSecond": 12000, "WriteUnitsPerSecond": 4000, "Status": "ACTIVE"}
    assert table["TableArn"] == f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/fid-describe"
    assert len(table["TableId"]) == 36
    ddb.put_item(TableName="fid-describe", Item={"pk": {"S": "a"}, "v": {"S": "x" * 10}})
    assert ddb.describe_table(TableName="fid-describe")["Table"]["ItemCount"] == 1
    deleted = ddb.delete_table(TableName="fid-describe")["TableDescription"]
    # DeleteTable describes the table in brief.
    assert "KeySchema" not in deleted and "AttributeDefinitions" not in deleted
    assert deleted["TableStatus"] == "DELETING"
    missing = error_of(lambda: ddb.delete_table(TableName="fid-describe"))
    assert missing["Error"] == {
        "Code": "ResourceNotFoundException",
        "Message": "Requested resource not found: Table: fid-describe not found",
    }


def test_provisioned_warm_throughput_follows_units(ddb: Any) -> None:
    ddb.create_table(
        TableName="fid-provisioned",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 3},
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
                "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 2},
            }
        ],
    )
    table = ddb.describe_table(TableName="fid-provisioned")["Table"]
    assert "BillingModeSummary" not in table
    assert table["WarmThroughput"] == {"ReadUnitsPerSecond": 5, "WriteUnitsPerSecond": 3, "Status": "ACTIVE"}
    assert table["GlobalSecondaryIndexes"][0]["WarmThroughput"] == {"ReadUnitsPerSecond": 1, "WriteUnitsPerSecond": 2, "Status": "ACTIVE"}


def test_single_writes_frame_front_validation(ddb: Any) -> None:
    make_table(ddb, "fid-framed")
    key = {"pk": {"S": "a"}}
    unused = error_of(
        lambda: ddb.update_item(
            TableName="fid-framed",
            Key=key,
            UpdateExpression="SET v = :v",
            ExpressionAttributeNames={"#count": "count"},
            ExpressionAttributeValues={":v": {"N": "1"}},
        )
    )
    assert unused["Error"]["Message"] == (
        "1 validation error detected: Value provided in ExpressionAttributeNames unused in expressions: keys: {#count}"
    )
    twice = error_of(
        lambda: ddb.update_item(
            TableName="fid-framed", Key=key, UpdateExpression="SET a = :v SET b = :v", ExpressionAttributeValues={":v": {"N": "1"}}
        )
    )
    assert twice["Error"]["Message"] == (
        '1 validation error detected: Invalid UpdateExpression: The "SET" section can only be used once in an update expression;'
    )
    overlap = error_of(
        lambda: ddb.update_item(
            TableName="fid-framed", Key=key, UpdateExpression="ADD s :s DELETE s :s", ExpressionAttributeValues={":s": {"SS": ["x"]}}
        )
    )
    assert overlap["Error"]["Message"] == (
        "1 validation error detected: Invalid UpdateExpression: Two document paths overlap with each other;"
        " must remove or rewrite one of these paths; path one: [s], path two: [s]"
    )
    empty = error_of(lambda: ddb.update_item(TableName="fid-framed", Key=key, UpdateExpression=""))
    assert empty["Error"]["Message"] == "1 validation error detected: Invalid UpdateExpression: The expression can not be empty;"
    empty_set = error_of(lambda: ddb.put_item(TableName="fid-framed", Item={"pk": {"S": "a"}, "s": {"NS": []}}))
    assert empty_set["Error"]["Message"] == (
        "1 validation error detected: One or more parameter values were invalid: An number set  may not be empty"
    )
    empty_value = error_of(
        lambda: ddb.update_item(TableName="fid-framed", Key=key, UpdateExpression="ADD s :e", ExpressionAttributeValues={":e": {"SS": []}})
    )
    assert empty_value["Error"]["Message"] == (
        "1 validation error detected: One or more parameter values were invalid: An string set  may not be empty"
    )
    # Reads answer the same refusal bare.
    read = error_of(
        lambda: ddb.get_item(TableName="fid-framed", Key=key, ExpressionAttributeNames={"#count": "count"}, ProjectionExpression="pk")
    )
    assert read["Error"]["Message"] == "Value provided in ExpressionAttributeNames unused in expressions: keys: {#count}"
    # A syntax error is not framed, even in a single write.
    syntax = error_of(
        lambda: ddb.update_item(
            TableName="fid-framed", Key=key, UpdateExpression="SET a = :v,", ExpressionAttributeValues={":v": {"N": "1"}}
        )
    )
    assert syntax["Error"]["Message"] == 'Invalid UpdateExpression: Syntax error; token: "<EOF>", near: ","'


def test_condition_failure_returns_the_old_item(ddb: Any) -> None:
    make_table(ddb, "fid-condition")
    item = {"pk": {"S": "456"}, "price": {"N": "650"}, "product": {"S": "sporting goods"}}
    ddb.put_item(TableName="fid-condition", Item=item)
    failed = error_of(
        lambda: ddb.delete_item(
            TableName="fid-condition",
            Key={"pk": {"S": "456"}},
            ConditionExpression="price between :lo and :hi",
            ExpressionAttributeValues={":lo": {"N": "500"}, ":hi": {"N": "600"}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    )
    assert failed["Error"] == {"Code": "ConditionalCheckFailedException", "Message": "The conditional request failed"}
    assert failed["Item"] == item
    cancelled = error_of(
        lambda: ddb.transact_write_items(
            TransactItems=[
                {
                    "ConditionCheck": {
                        "TableName": "fid-condition",
                        "Key": {"pk": {"S": "456"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {"Put": {"TableName": "fid-condition", "Item": {"pk": {"S": "other"}}}},
            ]
        )
    )
    assert cancelled["Error"]["Message"] == (
        "Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None]"
    )
    assert cancelled["CancellationReasons"] == [
        {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"},
        {"Code": "None"},
    ]


def test_table_arns_stand_for_names(ddb: Any) -> None:
    arn = make_table(ddb, "fid-arn")
    ddb.transact_write_items(TransactItems=[{"Put": {"TableName": arn, "Item": {"pk": {"S": "a"}}}}])
    got = ddb.transact_get_items(TransactItems=[{"Get": {"TableName": arn, "Key": {"pk": {"S": "a"}}}}])
    assert got["Responses"] == [{"Item": {"pk": {"S": "a"}}}]
    ddb.batch_write_item(RequestItems={arn: [{"PutRequest": {"Item": {"pk": {"S": "b"}}}}]})
    assert ddb.get_item(TableName=arn, Key={"pk": {"S": "b"}})["Item"] == {"pk": {"S": "b"}}
    batch = ddb.batch_get_item(RequestItems={arn: {"Keys": [{"pk": {"S": "a"}}]}})
    assert batch["Responses"] == {arn: [{"pk": {"S": "a"}}]}
    assert ddb.scan(TableName=arn)["Count"] == 2


def test_consumed_capacity(ddb: Any) -> None:
    make_table(ddb, "fid-capacity", gsi=True)
    wrong = error_of(lambda: ddb.put_item(TableName="fid-capacity", Item={"pk": {"S": "a"}}, ReturnConsumedCapacity="Garbage"))
    assert wrong["Error"]["Message"] == (
        "1 validation error detected: Value 'Garbage' at 'returnConsumedCapacity' failed to satisfy constraint:"
        " Member must satisfy enum value set: [INDEXES, TOTAL, NONE]"
    )
    put = ddb.put_item(TableName="fid-capacity", Item={"pk": {"S": "a"}, "g": {"S": "x"}}, ReturnConsumedCapacity="INDEXES")
    assert put["ConsumedCapacity"] == {
        "TableName": "fid-capacity",
        "CapacityUnits": 2.0,
        "Table": {"CapacityUnits": 1.0},
        "GlobalSecondaryIndexes": {"by-g": {"CapacityUnits": 1.0}},
    }
    big = ddb.put_item(TableName="fid-capacity", Item={"pk": {"S": "b"}, "v": {"S": "x" * 3000}}, ReturnConsumedCapacity="TOTAL")
    assert big["ConsumedCapacity"] == {"TableName": "fid-capacity", "CapacityUnits": 3.0}
    missing = ddb.get_item(TableName="fid-capacity", Key={"pk": {"S": "none"}}, ReturnConsumedCapacity="TOTAL")
    assert missing["ConsumedCapacity"] == {"TableName": "fid-capacity", "CapacityUnits": 0.5}
    strong = ddb.get_item(TableName="fid-capacity", Key={"pk": {"S": "a"}}, ConsistentRead=True, ReturnConsumedCapacity="TOTAL")
    assert strong["ConsumedCapacity"]["CapacityUnits"] == 1.0
    assert "ConsumedCapacity" not in ddb.get_item(TableName="fid-capacity", Key={"pk": {"S": "a"}}, ReturnConsumedCapacity="NONE")
    query = ddb.query(
        TableName="fid-capacity",
        IndexName="by-g",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "x"}},
        ReturnConsumedCapacity="INDEXES",
    )
    assert query["ConsumedCapacity"] == {
        "TableName": "fid-capacity",
        "CapacityUnits": 0.5,
        "Table": {"CapacityUnits": 0.0},
        "GlobalSecondaryIndexes": {"by-g": {"CapacityUnits": 0.5}},
    }
    batch = ddb.batch_get_item(RequestItems={"fid-capacity": {"Keys": [{"pk": {"S": "a"}}]}}, ReturnConsumedCapacity="TOTAL")
    assert batch["ConsumedCapacity"] == [{"TableName": "fid-capacity", "CapacityUnits": 0.5}]
    transaction = ddb.transact_write_items(
        TransactItems=[{"Put": {"TableName": "fid-capacity", "Item": {"pk": {"S": "c"}}}}], ReturnConsumedCapacity="TOTAL"
    )
    assert transaction["ConsumedCapacity"] == [{"TableName": "fid-capacity", "CapacityUnits": 2.0}]


def test_tags(ddb: Any) -> None:
    arn = make_table(ddb, "fid-tags", Tags=[{"Key": "team", "Value": "data"}])
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "dev"}, {"Key": "team", "Value": "ops"}])
    tags = ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]
    assert sorted(tags, key=lambda t: t["Key"]) == [{"Key": "stage", "Value": "dev"}, {"Key": "team", "Value": "ops"}]
    ddb.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "stage", "Value": "dev"}]
    other = arn.replace("fid-tags", "fid-none")
    missing = error_of(lambda: ddb.list_tags_of_resource(ResourceArn=other))
    assert missing["Error"] == {
        "Code": "ResourceNotFoundException",
        "Message": f"Requested resource not found: ResourcArn: {other} not found",
    }


def test_batch_limits(ddb: Any) -> None:
    make_table(ddb, "fid-batch", sort=True)
    keys = [{"pk": {"S": "a"}, "sk": {"N": str(n)}} for n in range(101)]
    too_many = error_of(lambda: ddb.batch_get_item(RequestItems={"fid-batch": {"Keys": keys}}))
    assert too_many["Error"]["Message"] == (
        "1 validation error detected: Value at 'requestItems.fid-batch.member.keys' failed to satisfy constraint:"
        " Member must have length less than or equal to 100"
    )
    not_keyed = error_of(lambda: ddb.batch_write_item(RequestItems={"fid-batch": [{"PutRequest": {"Item": {"other": {"S": "x"}}}}]}))
    assert not_keyed["Error"]["Message"] == "The provided key element does not match the schema"
    twice = error_of(
        lambda: ddb.batch_write_item(
            RequestItems={"fid-batch": [{"DeleteRequest": {"Key": keys[0]}}, {"PutRequest": {"Item": {**keys[0], "v": {"S": "x"}}}}]}
        )
    )
    assert twice["Error"]["Message"] == "Provided list of item keys contains duplicates"


def test_batch_get_answers_16_mb_and_leaves_the_rest(ddb: Any) -> None:
    make_table(ddb, "fid-big")
    body = "x" * (390 * 1024)
    for start in range(0, 50, 25):
        ddb.batch_write_item(
            RequestItems={"fid-big": [{"PutRequest": {"Item": {"pk": {"S": f"k{n}"}, "v": {"S": body}}}} for n in range(start, start + 25)]}
        )
    keys = [{"pk": {"S": f"k{n}"}} for n in range(50)]
    answer = ddb.batch_get_item(RequestItems={"fid-big": {"Keys": keys, "ProjectionExpression": "pk, v"}})
    returned = answer["Responses"]["fid-big"]
    left = answer["UnprocessedKeys"]["fid-big"]
    assert len(returned) + len(left["Keys"]) == 50
    assert len(returned) * 390 * 1024 <= 16 * 1024 * 1024 < (len(returned) + 1) * 390 * 1024
    assert left["ProjectionExpression"] == "pk, v"
    again = ddb.batch_get_item(RequestItems={"fid-big": left})
    assert {i["pk"]["S"] for i in again["Responses"]["fid-big"]} | {i["pk"]["S"] for i in returned} == {f"k{n}" for n in range(50)}


def test_query_messages(ddb: Any) -> None:
    make_table(ddb, "fid-query", sort=True)
    wrong = error_of(
        lambda: ddb.query(TableName="fid-query", KeyConditionExpression="wrongName = :pk", ExpressionAttributeValues={":pk": {"S": "a"}})
    )
    assert wrong["Error"]["Message"] == "Query condition missed key schema element: pk"
    sort_only = error_of(
        lambda: ddb.query(
            TableName="fid-query",
            KeyConditionExpression="pk = :pk AND attr1 = :v",
            ExpressionAttributeValues={":pk": {"S": "a"}, ":v": {"N": "1"}},
        )
    )
    assert sort_only["Error"]["Message"] == "Query condition missed key schema element: sk"
    # Query frames its Select refusals; Scan does not.
    query_select = error_of(
        lambda: ddb.query(
            TableName="fid-query",
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "a"}},
            Select="SPECIFIC_ATTRIBUTES",
        )
    )
    assert query_select["Error"]["Message"] == (
        "1 validation error detected: Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES"
    )
    scan_select = error_of(lambda: ddb.scan(TableName="fid-query", Select="COUNT", ProjectionExpression="pk"))
    assert scan_select["Error"]["Message"] == "Cannot specify the ProjectionExpression when choosing to get only the Count"
    lowercase = error_of(
        lambda: ddb.query(
            TableName="fid-query", KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "a"}}, Select="count"
        )
    )
    assert lowercase["Error"]["Message"] == (
        "1 validation error detected: Value 'count' at 'select' failed to satisfy constraint:"
        " Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]"
    )


def test_gsi_paging_and_count(ddb: Any) -> None:
    make_table(ddb, "fid-paging", sort=True, gsi=True)
    for n in range(5):
        ddb.put_item(TableName="fid-paging", Item={"pk": {"S": "p"}, "sk": {"N": str(n)}, "g": {"S": "same"}})
    seen: list[str] = []
    start: dict[str, Any] | None = None
    while True:
        extra = {"ExclusiveStartKey": start} if start else {}
        page = ddb.query(
            TableName="fid-paging",
            IndexName="by-g",
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": "same"}},
            Limit=2,
            **extra,
        )
        seen += [i["sk"]["N"] for i in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if start is None:
            break
        assert set(start) == {"pk", "sk", "g"}
    assert sorted(seen) == ["0", "1", "2", "3", "4"]
    count = ddb.query(
        TableName="fid-paging",
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
        Select="COUNT",
        ScanIndexForward=False,
    )
    assert count["Count"] == 5 and "Items" not in count
