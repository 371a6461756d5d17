"""DynamoDB through the endpoint, with boto3's client and its resource layer."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.stack import Stack

REGION = "us-east-1"


@pytest.fixture(scope="module")
def dynamodb(aws: Callable[..., Any]) -> Any:
    return aws("dynamodb")


@pytest.fixture(scope="module")
def resource(endpoint: Endpoint) -> Any:
    import boto3

    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)
    return session.resource("dynamodb", endpoint_url=endpoint.url)


def error_of(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call()
    response: dict[str, Any] = caught.value.response
    return response


def make_table(dynamodb: Any, name: str, **extra: Any) -> None:
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            *extra.pop("definitions", []),
        ],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 20})


def test_tables_through_the_client(dynamodb: Any) -> None:
    make_table(dynamodb, "client-tables")
    table = dynamodb.describe_table(TableName="client-tables")["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert table["KeySchema"][1] == {"AttributeName": "sk", "KeyType": "RANGE"}
    assert table["CreationDateTime"].tzinfo is not None
    assert "client-tables" in dynamodb.list_tables()["TableNames"]
    in_use = error_of(lambda: make_table(dynamodb, "client-tables"))
    assert in_use["Error"] == {"Code": "ResourceInUseException", "Message": "Table already exists: client-tables"}
    assert in_use["ResponseMetadata"]["HTTPStatusCode"] == 400
    dynamodb.delete_table(TableName="client-tables")
    missing = error_of(lambda: dynamodb.describe_table(TableName="client-tables"))
    assert missing["Error"] == {
        "Code": "ResourceNotFoundException",
        "Message": "Requested resource not found: Table: client-tables not found",
    }


def test_items_through_the_client(dynamodb: Any) -> None:
    make_table(dynamodb, "client-items")
    dynamodb.put_item(TableName="client-items", Item={"pk": {"S": "a"}, "sk": {"N": "1"}, "bin": {"B": b"\x00\xff"}, "n": {"N": "1.50"}})
    item = dynamodb.get_item(TableName="client-items", Key={"pk": {"S": "a"}, "sk": {"N": "1"}}, ConsistentRead=True)["Item"]
    assert item == {"pk": {"S": "a"}, "sk": {"N": "1"}, "bin": {"B": b"\x00\xff"}, "n": {"N": "1.5"}}
    failed = error_of(
        lambda: dynamodb.put_item(
            TableName="client-items",
            Item={"pk": {"S": "a"}, "sk": {"N": "1"}},
            ConditionExpression="attribute_not_exists(pk)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    )
    assert failed["Error"] == {"Code": "ConditionalCheckFailedException", "Message": "The conditional request failed"}
    assert failed["Item"]["bin"] == {"B": b"\x00\xff"}
    updated = dynamodb.update_item(
        TableName="client-items",
        Key={"pk": {"S": "a"}, "sk": {"N": "1"}},
        UpdateExpression="SET n = n + :one ADD tags :t REMOVE bin",
        ExpressionAttributeValues={":one": {"N": "1"}, ":t": {"SS": ["x"]}},
        ReturnValues="UPDATED_NEW",
    )
    assert updated["Attributes"] == {"n": {"N": "2.5"}, "tags": {"SS": ["x"]}}
    invalid = error_of(
        lambda: dynamodb.update_item(
            TableName="client-items",
            Key={"pk": {"S": "a"}, "sk": {"N": "1"}},
            UpdateExpression="SET n = :v",
            ExpressionAttributeValues={":v": {"N": "1"}, ":x": {"N": "2"}},
        )
    )
    assert invalid["Error"] == {
        "Code": "ValidationException",
        "Message": "1 validation error detected: Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}",
    }
    syntax = error_of(
        lambda: dynamodb.update_item(TableName="client-items", Key={"pk": {"S": "a"}, "sk": {"N": "1"}}, UpdateExpression="SET n = VALUE 1")
    )
    assert syntax["Error"]["Message"] == 'Invalid UpdateExpression: Syntax error; token: "1", near: "VALUE 1"'


def test_query_scan_and_paging_through_the_client(dynamodb: Any) -> None:
    make_table(
        dynamodb,
        "client-query",
        definitions=[{"AttributeName": "kind", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[
            {"IndexName": "by-kind", "KeySchema": [{"AttributeName": "kind", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}
        ],
    )
    for n in (5, -1, 30, 2, 11):
        dynamodb.put_item(TableName="client-query", Item={"pk": {"S": "p"}, "sk": {"N": str(n)}, "kind": {"S": "odd" if n % 2 else "even"}})
    paginator = dynamodb.get_paginator("query")
    pages = list(
        paginator.paginate(
            TableName="client-query",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "p"}},
            PaginationConfig={"PageSize": 2},
        )
    )
    assert [i["sk"]["N"] for page in pages for i in page["Items"]] == ["-1", "2", "5", "11", "30"]
    assert len(pages) == 3
    odd = dynamodb.query(
        TableName="client-query", IndexName="by-kind", KeyConditionExpression="kind = :k", ExpressionAttributeValues={":k": {"S": "odd"}}
    )
    assert sorted(i["sk"]["N"] for i in odd["Items"]) == ["-1", "11", "5"]
    counted = dynamodb.scan(
        TableName="client-query", Select="COUNT", FilterExpression="sk > :z", ExpressionAttributeValues={":z": {"N": "3"}}
    )
    assert (counted["Count"], counted["ScannedCount"]) == (3, 5)


def test_transactions_through_the_client(dynamodb: Any) -> None:
    make_table(dynamodb, "client-tx")
    key = {"pk": {"S": "t"}, "sk": {"N": "1"}}
    cancelled = error_of(
        lambda: dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "client-tx", "Item": {"pk": {"S": "t"}, "sk": {"N": "2"}}}},
                {"ConditionCheck": {"TableName": "client-tx", "Key": key, "ConditionExpression": "attribute_exists(pk)"}},
            ]
        )
    )
    assert cancelled["Error"]["Code"] == "TransactionCanceledException"
    assert (
        cancelled["Error"]["Message"]
        == "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]"
    )
    assert cancelled["CancellationReasons"] == [
        {"Code": "None"},
        {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"},
    ]
    assert "Item" not in dynamodb.get_item(TableName="client-tx", Key={"pk": {"S": "t"}, "sk": {"N": "2"}})
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "client-tx", "Item": key}},
            {
                "Update": {
                    "TableName": "client-tx",
                    "Key": {"pk": {"S": "t"}, "sk": {"N": "3"}},
                    "UpdateExpression": "SET v = :v",
                    "ExpressionAttributeValues": {":v": {"BOOL": True}},
                }
            },
        ]
    )
    got = dynamodb.transact_get_items(
        TransactItems=[{"Get": {"TableName": "client-tx", "Key": {"pk": {"S": "t"}, "sk": {"N": n}}}} for n in ("1", "3", "4")]
    )
    assert got["Responses"] == [{"Item": key}, {"Item": {"pk": {"S": "t"}, "sk": {"N": "3"}, "v": {"BOOL": True}}}, {}]


def test_the_resource_layer(dynamodb: Any, resource: Any) -> None:
    make_table(dynamodb, "resource-items")
    table = resource.Table("resource-items")
    with table.batch_writer() as batch:
        for n in range(30):
            batch.put_item(Item={"pk": "r", "sk": n, "price": Decimal(f"{n}.25"), "tags": {"a", f"t{n}"}, "meta": {"even": n % 2 == 0}})
    assert table.get_item(Key={"pk": "r", "sk": 3})["Item"] == {
        "pk": "r",
        "sk": Decimal(3),
        "price": Decimal("3.25"),
        "tags": {"a", "t3"},
        "meta": {"even": False},
    }
    found = table.query(
        KeyConditionExpression=Key("pk").eq("r") & Key("sk").between(10, 20),
        FilterExpression=Attr("meta.even").eq(True) & Attr("tags").contains("a"),
    )
    assert [i["sk"] for i in found["Items"]] == [10, 12, 14, 16, 18, 20]
    assert table.scan(FilterExpression=Attr("price").gt(Decimal("28")))["Count"] == 2
    table.update_item(
        Key={"pk": "r", "sk": 0}, UpdateExpression="SET price = price + :p", ExpressionAttributeValues={":p": Decimal("0.75")}
    )
    assert table.get_item(Key={"pk": "r", "sk": 0}, ProjectionExpression="price")["Item"] == {"price": Decimal(1)}


def test_the_pipeline_table_is_the_metadata_table(dynamodb: Any, resource: Any, stack: Stack) -> None:
    name = stack.settings.table_name
    stack.local.table.put(
        {"ExecutionId": "endpoint-run", "Status": "SUCCEEDED", "Timestamp": "2026-03-01T12:00:00Z", "Rows": 42, "Ratio": 0.5}
    )
    answer = dynamodb.query(
        TableName=name,
        IndexName="StatusTimeIndex",
        KeyConditionExpression="#s = :s AND #t >= :since",
        ExpressionAttributeNames={"#s": "Status", "#t": "Timestamp"},
        ExpressionAttributeValues={":s": {"S": "SUCCEEDED"}, ":since": {"S": "2026-01-01"}},
    )
    assert {
        "ExecutionId": {"S": "endpoint-run"},
        "Status": {"S": "SUCCEEDED"},
        "Timestamp": {"S": "2026-03-01T12:00:00Z"},
        "Rows": {"N": "42"},
        "Ratio": {"N": "0.5"},
    } in answer["Items"]
    resource.Table(name).put_item(Item={"ExecutionId": "from-boto3", "Status": "RUNNING", "Rows": 7})
    assert stack.local.table.get({"ExecutionId": "from-boto3"}) == {"ExecutionId": "from-boto3", "Status": "RUNNING", "Rows": 7}
