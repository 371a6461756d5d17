"""The local DynamoDB engine on a real SQLite data dir."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.dynamodb import LocalDynamoDb
from sluiceway.backends.local.tables import SqliteTable
from sluiceway.clock import FakeClock
from sluiceway.dynamodb.errors import DynamoDbError


@pytest.fixture
def db(tmp_path: Path) -> Any:
    database = Database(tmp_path / "sluiceway.db")
    yield database
    database.close()


@pytest.fixture
def engine(db: Database) -> LocalDynamoDb:
    return LocalDynamoDb(db, FakeClock(datetime(2026, 3, 1, tzinfo=UTC)), region="eu-west-1", account_id="123456789012")


def refused(call: Callable[[], Any], code: str = "ValidationException") -> DynamoDbError:
    with pytest.raises(DynamoDbError) as caught:
        call()
    assert caught.value.code == code, caught.value.message
    return caught.value


ORDERS: dict[str, Any] = {
    "TableName": "orders",
    "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"}, {"AttributeName": "seq", "KeyType": "RANGE"}],
    "AttributeDefinitions": [
        {"AttributeName": "customer", "AttributeType": "S"},
        {"AttributeName": "seq", "AttributeType": "N"},
        {"AttributeName": "state", "AttributeType": "S"},
        {"AttributeName": "amount", "AttributeType": "N"},
    ],
    "BillingMode": "PAY_PER_REQUEST",
    "GlobalSecondaryIndexes": [
        {
            "IndexName": "by-state",
            "KeySchema": [{"AttributeName": "state", "KeyType": "HASH"}, {"AttributeName": "amount", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }
    ],
    "LocalSecondaryIndexes": [
        {
            "IndexName": "by-total",
            "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"}, {"AttributeName": "amount", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["note"]},
        }
    ],
}


def order(customer: str, seq: int | str, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"customer": {"S": customer}, "seq": {"N": str(seq)}}
    for name, value in extra.items():
        item[name] = {"N": str(value)} if isinstance(value, int | float) else {"S": value}
    return item


@pytest.fixture
def orders(engine: LocalDynamoDb) -> LocalDynamoDb:
    engine.create_table(ORDERS)
    return engine


def put(engine: LocalDynamoDb, item: dict[str, Any], **request: Any) -> dict[str, Any]:
    return engine.put_item({"TableName": "orders", "Item": item, **request})


def test_tables_are_created_described_listed_and_deleted(engine: LocalDynamoDb) -> None:
    created = engine.create_table(ORDERS)["TableDescription"]
    assert created["TableStatus"] == "CREATING"
    table = engine.describe_table({"TableName": "orders"})["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert table["TableArn"] == "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
    assert table["CreationDateTime"] == datetime(2026, 3, 1, tzinfo=UTC)
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["by-state"]
    assert table["LocalSecondaryIndexes"][0]["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["note"]}
    assert refused(lambda: engine.create_table(ORDERS), "ResourceInUseException").message == "Table already exists: orders"
    for name in ("tab-b", "tab-c", "tab-a"):
        engine.create_table({**ORDERS, "TableName": name})
    first = engine.list_tables({"Limit": 2})
    assert first == {"TableNames": ["orders", "tab-a"], "LastEvaluatedTableName": "tab-a"}
    assert engine.list_tables({"ExclusiveStartTableName": "tab-a"}) == {"TableNames": ["tab-b", "tab-c"]}
    assert engine.delete_table({"TableName": "orders"})["TableDescription"]["TableStatus"] == "DELETING"
    assert refused(lambda: engine.describe_table({"TableName": "orders"}), "ResourceNotFoundException").message == (
        "Requested resource not found: Table: orders not found"
    )
    assert refused(lambda: put(engine, order("a", 1)), "ResourceNotFoundException").message == "Requested resource not found"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"TableName": "ab"},
            "1 validation error detected: Value 'ab' at 'tableName' failed to satisfy constraint: Member must have length greater"
            " than or equal to 3",
        ),
        (
            {"AttributeDefinitions": ORDERS["AttributeDefinitions"][:3]},
            "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys:"
            " [amount], AttributeDefinitions: [customer, seq, state]",
        ),
        (
            {"AttributeDefinitions": [*ORDERS["AttributeDefinitions"], {"AttributeName": "x", "AttributeType": "S"}]},
            # A table with indexes names the unused definitions (one without says the counts differ).
            "One or more parameter values were invalid: Some AttributeDefinitions are not used. AttributeDefinitions:"
            " [amount, customer, seq, state, x], keys used: [amount, customer, seq, state]",
        ),
        (
            {"KeySchema": [{"AttributeName": "seq", "KeyType": "RANGE"}]},
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ),
        (
            {"BillingMode": "PROVISIONED"},
            "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when"
            " BillingMode is PROVISIONED",
        ),
        (
            {"ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}},
            "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when"
            " BillingMode is PAY_PER_REQUEST",
        ),
    ],
)
def test_create_table_refusals(engine: LocalDynamoDb, change: dict[str, Any], message: str) -> None:
    assert refused(lambda: engine.create_table({**ORDERS, **change})).message == message


def test_put_get_and_conditions(orders: LocalDynamoDb) -> None:
    put(orders, order("ann", 1, state="NEW", amount=30, note="hi"))
    got = orders.get_item(
        {"TableName": "orders", "Key": order("ann", 1), "ProjectionExpression": "#s, note", "ExpressionAttributeNames": {"#s": "state"}}
    )
    assert got == {"Item": {"state": {"S": "NEW"}, "note": {"S": "hi"}}}
    assert orders.get_item({"TableName": "orders", "Key": order("ann", 2)}) == {}
    failed = refused(
        lambda: put(
            orders, order("ann", 1), ConditionExpression="attribute_not_exists(customer)", ReturnValuesOnConditionCheckFailure="ALL_OLD"
        ),
        "ConditionalCheckFailedException",
    )
    assert failed.message == "The conditional request failed"
    assert failed.item is not None and failed.item["note"] == {"S": "hi"}
    old = put(orders, order("ann", 1, state="PAID"), ReturnValues="ALL_OLD")
    assert old["Attributes"]["state"] == {"S": "NEW"}
    assert refused(lambda: put(orders, order("ann", 1), ReturnValues="ALL_NEW")).message == "Return values set to invalid value"
    deleted = orders.delete_item(
        {
            "TableName": "orders",
            "Key": order("ann", 1),
            "ConditionExpression": "#s = :s",
            "ExpressionAttributeNames": {"#s": "state"},
            "ExpressionAttributeValues": {":s": {"S": "PAID"}},
            "ReturnValues": "ALL_OLD",
        }
    )
    assert deleted["Attributes"]["state"] == {"S": "PAID"}
    assert orders.get_item({"TableName": "orders", "Key": order("ann", 1)}) == {}


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"customer": {"S": "a"}}, "One or more parameter values were invalid: Missing the key seq in the item"),
        (
            {"customer": {"N": "1"}, "seq": {"N": "1"}},
            "One or more parameter values were invalid: Type mismatch for key customer expected: S actual: N",
        ),
        (
            {"customer": {"S": ""}, "seq": {"N": "1"}},
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string"
            " value. Key: customer",
        ),
        (
            {"customer": {"S": "x" * 2049}, "seq": {"N": "1"}},
            "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes",
        ),
        ({**order("a", 1), "big": {"S": "x" * 410_000}}, "Item size has exceeded the maximum allowed size"),
        (
            {**order("a", 1), "state": {"N": "1"}},
            "One or more parameter values were invalid: Type mismatch for Index Key state Expected: S Actual: N IndexName: by-state",
        ),
        (
            {**order("a", 1), "state": {"S": ""}},
            "One or more parameter values are not valid. A value specified for a secondary index key is not supported. The"
            " AttributeValue for a key attribute cannot contain an empty string value. IndexName: by-state, IndexKey: state",
        ),
    ],
)
def test_items_dynamodb_refuses(orders: LocalDynamoDb, item: dict[str, Any], message: str) -> None:
    assert refused(lambda: put(orders, item)).message == message


def test_a_key_must_match_the_schema(orders: LocalDynamoDb) -> None:
    for key in ({"customer": {"S": "a"}}, {**order("a", 1), "x": {"S": "y"}}, {"customer": {"S": "a"}, "seq": {"S": "1"}}):
        assert (
            refused(lambda k=key: orders.get_item({"TableName": "orders", "Key": k})).message
            == "The provided key element does not match the schema"
        )


def test_update_item_return_values(orders: LocalDynamoDb) -> None:
    def update(expression: str, returns: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
        request: dict[str, Any] = {"TableName": "orders", "Key": order("bo", 1), "UpdateExpression": expression, "ReturnValues": returns}
        if values:
            request["ExpressionAttributeValues"] = values
        return orders.update_item(request)

    assert update("SET a = :one, m = :m", "ALL_NEW", {":one": {"N": "1"}, ":m": {"M": {"x": {"N": "1"}, "y": {"N": "2"}}}})[
        "Attributes"
    ] == {
        **order("bo", 1),
        "a": {"N": "1"},
        "m": {"M": {"x": {"N": "1"}, "y": {"N": "2"}}},
    }
    assert update("SET m.x = :two", "UPDATED_NEW", {":two": {"N": "2"}}) == {"Attributes": {"m": {"M": {"x": {"N": "2"}}}}}
    assert update("SET m.x = :three", "UPDATED_OLD", {":three": {"N": "3"}}) == {"Attributes": {"m": {"M": {"x": {"N": "2"}}}}}
    assert update("REMOVE a", "ALL_OLD")["Attributes"]["a"] == {"N": "1"}
    assert update("REMOVE nothing_here", "UPDATED_OLD") == {}
    assert refused(lambda: update("SET seq = :one", "NONE", {":one": {"N": "1"}})).message == (
        "One or more parameter values were invalid: Cannot update attribute seq. This attribute is part of the key"
    )


def load(orders: LocalDynamoDb) -> None:
    for seq, amount in ((3, 5), (1, 20), (-2, 7), (10, 1), (2.5, 40)):
        put(orders, order("cy", seq, state="NEW" if seq != 10 else "OLD", amount=amount, note=f"n{seq}", extra="e"))
    put(orders, order("dee", 1, state="NEW", amount=3))


def query(orders: LocalDynamoDb, **request: Any) -> dict[str, Any]:
    values = {":c": {"S": "cy"}, **request.pop("values", {})}
    return orders.query(
        {
            "TableName": "orders",
            "KeyConditionExpression": request.pop("key", "customer = :c"),
            "ExpressionAttributeValues": values,
            **request,
        }
    )


def seqs(page: dict[str, Any]) -> list[str]:
    return [i["seq"]["N"] for i in page["Items"]]


def test_query_orders_numbers_numerically_both_ways(orders: LocalDynamoDb) -> None:
    load(orders)
    assert seqs(query(orders)) == ["-2", "1", "2.5", "3", "10"]
    assert seqs(query(orders, ScanIndexForward=False)) == ["10", "3", "2.5", "1", "-2"]
    assert seqs(query(orders, key="customer = :c AND seq BETWEEN :a AND :b", values={":a": {"N": "1"}, ":b": {"N": "3"}})) == [
        "1",
        "2.5",
        "3",
    ]
    assert seqs(query(orders, key="customer = :c AND seq < :a", values={":a": {"N": "1"}})) == ["-2"]


def test_query_pages_with_limit_and_filter(orders: LocalDynamoDb) -> None:
    load(orders)
    seen: list[str] = []
    start = None
    pages = 0
    while True:
        request: dict[str, Any] = {"Limit": 2, "FilterExpression": "amount > :t", "values": {":t": {"N": "5"}}}
        if start:
            request["ExclusiveStartKey"] = start
        page = query(orders, **request)
        pages += 1
        assert page["ScannedCount"] <= 2
        seen += seqs(page)
        start = page.get("LastEvaluatedKey")
        if start is None:
            break
    assert seen == ["-2", "1", "2.5"]
    assert pages == 3  # the last page with two items still says where to go on, as DynamoDB does
    counted = query(orders, Select="COUNT", FilterExpression="amount > :t", values={":t": {"N": "5"}})
    assert counted == {"Count": 3, "ScannedCount": 5}


def test_query_and_scan_of_indexes(orders: LocalDynamoDb) -> None:
    load(orders)
    put(orders, order("eve", 1, amount=99))  # no state: not in the sparse global index
    by_state = orders.query(
        {
            "TableName": "orders",
            "IndexName": "by-state",
            "KeyConditionExpression": "#s = :s AND amount >= :t",
            "ExpressionAttributeNames": {"#s": "state"},
            "ExpressionAttributeValues": {":s": {"S": "NEW"}, ":t": {"N": "5"}},
        }
    )
    assert [i["amount"]["N"] for i in by_state["Items"]] == ["5", "7", "20", "40"]
    assert set(by_state["Items"][0]) == {"customer", "seq", "state", "amount"}  # KEYS_ONLY
    local = query(orders, IndexName="by-total", ScanIndexForward=False, Limit=2)
    assert [i["amount"]["N"] for i in local["Items"]] == ["40", "20"]
    assert set(local["Items"][0]) == {"customer", "seq", "amount", "note"}  # INCLUDE: the keys and note
    assert local["LastEvaluatedKey"] == {"customer": {"S": "cy"}, "seq": {"N": "1"}, "amount": {"N": "20"}}
    assert refused(
        lambda: orders.query(
            {
                "TableName": "orders",
                "IndexName": "by-state",
                "ConsistentRead": True,
                "KeyConditionExpression": "#s = :s",
                "ExpressionAttributeNames": {"#s": "state"},
                "ExpressionAttributeValues": {":s": {"S": "NEW"}},
            }
        )
    ).message == ("Consistent reads are not supported on global secondary indexes")
    scanned = orders.scan({"TableName": "orders", "IndexName": "by-state"})
    assert scanned["Count"] == 6


def test_scan_segments_split_the_table(orders: LocalDynamoDb) -> None:
    for n in range(40):
        put(orders, order(f"c{n}", n))
    parts = [orders.scan({"TableName": "orders", "Segment": s, "TotalSegments": 3})["Items"] for s in range(3)]
    keys = sorted(i["customer"]["S"] for part in parts for i in part)
    assert keys == sorted(f"c{n}" for n in range(40))
    assert all(parts)
    assert refused(lambda: orders.scan({"TableName": "orders", "Segment": 3, "TotalSegments": 3})).message == (
        "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: 3 is not less than TotalSegments: 3"
    )


def test_batches(orders: LocalDynamoDb) -> None:
    writes = [{"PutRequest": {"Item": order("fa", n)}} for n in range(20)]
    assert orders.batch_write_item({"RequestItems": {"orders": writes}}) == {"UnprocessedItems": {}}
    orders.batch_write_item({"RequestItems": {"orders": [{"DeleteRequest": {"Key": order("fa", 0)}}]}})
    got = orders.batch_get_item({"RequestItems": {"orders": {"Keys": [order("fa", 0), order("fa", 1), order("fa", 19)]}}})
    assert sorted(i["seq"]["N"] for i in got["Responses"]["orders"]) == ["1", "19"]
    assert got["UnprocessedKeys"] == {}
    too_many = [{"PutRequest": {"Item": order("fb", n)}} for n in range(26)]
    assert (
        "Member must have length less than or equal to 25"
        in refused(lambda: orders.batch_write_item({"RequestItems": {"orders": too_many}})).message
    )
    twice = [{"PutRequest": {"Item": order("fc", 1)}}, {"DeleteRequest": {"Key": order("fc", 1)}}]
    assert (
        refused(lambda: orders.batch_write_item({"RequestItems": {"orders": twice}})).message
        == "Provided list of item keys contains duplicates"
    )


def test_transactions_are_all_or_nothing(orders: LocalDynamoDb) -> None:
    put(orders, order("ga", 1, state="NEW"))
    actions = [
        {"Put": {"TableName": "orders", "Item": order("ga", 2)}},
        {
            "Update": {
                "TableName": "orders",
                "Key": order("ga", 3),
                "UpdateExpression": "SET n = :n",
                "ExpressionAttributeValues": {":n": {"N": "1"}},
            }
        },
        {
            "ConditionCheck": {
                "TableName": "orders",
                "Key": order("ga", 1),
                "ConditionExpression": "#s = :s",
                "ExpressionAttributeNames": {"#s": "state"},
                "ExpressionAttributeValues": {":s": {"S": "PAID"}},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        },
    ]
    cancelled = refused(lambda: orders.transact_write_items({"TransactItems": actions}), "TransactionCanceledException")
    assert (
        cancelled.message
        == "Transaction cancelled, please refer cancellation reasons for specific reasons [None, None, ConditionalCheckFailed]"
    )
    assert [r.to_wire() for r in cancelled.reasons] == [
        {"Code": "None"},
        {"Code": "None"},
        {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed", "Item": order("ga", 1, state="NEW")},
    ]
    assert orders.get_item({"TableName": "orders", "Key": order("ga", 2)}) == {}
    actions[2]["ConditionCheck"]["ExpressionAttributeValues"] = {":s": {"S": "NEW"}}
    actions.append({"Delete": {"TableName": "orders", "Key": order("ga", 9)}})
    assert orders.transact_write_items({"TransactItems": actions}) == {}
    got = orders.transact_get_items({"TransactItems": [{"Get": {"TableName": "orders", "Key": order("ga", n)}} for n in (2, 3, 4)]})
    assert got["Responses"] == [{"Item": order("ga", 2)}, {"Item": {**order("ga", 3), "n": {"N": "1"}}}, {}]
    same = [{"Put": {"TableName": "orders", "Item": order("ga", 5)}}, {"Delete": {"TableName": "orders", "Key": order("ga", 5)}}]
    assert (
        refused(lambda: orders.transact_write_items({"TransactItems": same})).message
        == "Transaction request cannot include multiple operations on one item"
    )
    bad_update = [
        {
            "Update": {
                "TableName": "orders",
                "Key": order("ga", 1),
                "UpdateExpression": "SET x = #s + :one",
                "ExpressionAttributeNames": {"#s": "state"},
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }
    ]
    reasons = refused(lambda: orders.transact_write_items({"TransactItems": bad_update}), "TransactionCanceledException").reasons
    assert reasons[0].to_wire() == {"Code": "ValidationError", "Message": "An operand in the update expression has an incorrect data type"}


def test_conditional_writers_never_both_win(tmp_path: Path, orders: LocalDynamoDb) -> None:
    put(orders, order("hi", 1, version=0))
    successes: list[int] = []
    barrier = threading.Barrier(8)

    def writer(number: int) -> None:
        engine = LocalDynamoDb(Database(tmp_path / "sluiceway.db"), FakeClock(), region="eu-west-1", account_id="1")
        barrier.wait()
        for _ in range(5):
            current = engine.get_item({"TableName": "orders", "Key": order("hi", 1)})["Item"]["version"]
            try:
                engine.update_item(
                    {
                        "TableName": "orders",
                        "Key": order("hi", 1),
                        "UpdateExpression": "SET version = version + :one, #last = :me",
                        "ConditionExpression": "version = :seen",
                        "ExpressionAttributeNames": {"#last": "last"},
                        "ExpressionAttributeValues": {":one": {"N": "1"}, ":me": {"N": str(number)}, ":seen": current},
                    }
                )
                successes.append(number)
            except DynamoDbError as exc:
                assert exc.code == "ConditionalCheckFailedException"
        engine.db.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    final = orders.get_item({"TableName": "orders", "Key": order("hi", 1)})["Item"]
    assert int(final["version"]["N"]) == len(successes) > 0


def test_update_table_adds_and_drops_a_global_index(orders: LocalDynamoDb) -> None:
    put(orders, order("ia", 1, area="eu"))
    put(orders, order("ib", 1, area="us"))
    orders.update_table(
        {
            "TableName": "orders",
            "AttributeDefinitions": [{"AttributeName": "area", "AttributeType": "S"}],
            "GlobalSecondaryIndexUpdates": [
                {
                    "Create": {
                        "IndexName": "by-region",
                        "KeySchema": [{"AttributeName": "area", "KeyType": "HASH"}],
                        "Projection": {"ProjectionType": "ALL"},
                    }
                }
            ],
        }
    )
    found = orders.query(
        {
            "TableName": "orders",
            "IndexName": "by-region",
            "KeyConditionExpression": "#r = :r",
            "ExpressionAttributeNames": {"#r": "area"},
            "ExpressionAttributeValues": {":r": {"S": "eu"}},
        }
    )
    assert [i["customer"]["S"] for i in found["Items"]] == ["ia"]
    orders.update_table({"TableName": "orders", "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "by-region"}}]})
    assert [i["IndexName"] for i in orders.describe_table({"TableName": "orders"})["Table"]["GlobalSecondaryIndexes"]] == ["by-state"]


def test_time_to_live_is_stored(orders: LocalDynamoDb) -> None:
    assert orders.describe_time_to_live({"TableName": "orders"}) == {"TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"}}
    orders.update_time_to_live({"TableName": "orders", "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "expires"}})
    assert orders.describe_time_to_live({"TableName": "orders"})["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "expires",
    }
    assert (
        refused(
            lambda: orders.update_time_to_live(
                {"TableName": "orders", "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "expires"}}
            )
        ).message
        == "TimeToLive is already enabled"
    )


def test_the_metadata_table_and_the_engine_share_one_storage(db: Database, engine: LocalDynamoDb) -> None:
    table = SqliteTable(db, "ProcessingMetadata", engine=engine)
    assert "ProcessingMetadata" in engine.list_tables({})["TableNames"]
    table.put({"ExecutionId": "e1", "Status": "RUNNING", "Timestamp": "2026-03-01T00:00:00Z", "Rows": 12, "Ratio": 0.25})
    got = engine.get_item({"TableName": "ProcessingMetadata", "Key": {"ExecutionId": {"S": "e1"}}})["Item"]
    assert got["Rows"] == {"N": "12"} and got["Ratio"] == {"N": "0.25"}
    engine.update_item(
        {
            "TableName": "ProcessingMetadata",
            "Key": {"ExecutionId": {"S": "e1"}},
            "UpdateExpression": "SET #s = :s, Tags = :t",
            "ExpressionAttributeNames": {"#s": "Status"},
            "ExpressionAttributeValues": {":s": {"S": "SUCCEEDED"}, ":t": {"SS": ["b", "a"]}},
        }
    )
    assert table.get({"ExecutionId": "e1"}) == {
        "ExecutionId": "e1",
        "Status": "SUCCEEDED",
        "Timestamp": "2026-03-01T00:00:00Z",
        "Rows": 12,
        "Ratio": 0.25,
        "Tags": ["a", "b"],
    }
    assert [r["ExecutionId"] for r in table.query_index("StatusTimeIndex", "SUCCEEDED")] == ["e1"]
    described = engine.describe_table({"TableName": "ProcessingMetadata"})["Table"]
    assert described["KeySchema"] == [{"AttributeName": "ExecutionId", "KeyType": "HASH"}]
    assert described["GlobalSecondaryIndexes"][0]["IndexName"] == "StatusTimeIndex"


def test_rows_written_before_the_engine_are_read_as_typed_items(db: Database, engine: LocalDynamoDb) -> None:
    table = SqliteTable(db, "legacy-runs", engine=engine)
    with db.transaction() as conn:  # a row as the metadata table wrote them before migration 0041
        conn.execute(
            "INSERT INTO items (table_name, pk, sk, body, typed) VALUES (?, ?, '', ?, 0)",
            (
                "legacy-runs",
                "old-1",
                json.dumps({"ExecutionId": "old-1", "Status": "FAILED", "Timestamp": "2025-01-01T00:00:00Z", "Rows": 3}),
            ),
        )
        conn.execute("INSERT INTO item_index VALUES ('legacy-runs', 'StatusTimeIndex', 'FAILED', '2025-01-01T00:00:00Z', 'old-1', '')")
    assert table.get({"ExecutionId": "old-1"})["Rows"] == 3  # type: ignore[index]
    page = engine.query(
        {
            "TableName": "legacy-runs",
            "IndexName": "StatusTimeIndex",
            "KeyConditionExpression": "#s = :s",
            "ExpressionAttributeNames": {"#s": "Status"},
            "ExpressionAttributeValues": {":s": {"S": "FAILED"}},
        }
    )
    assert page["Items"] == [
        {"ExecutionId": {"S": "old-1"}, "Status": {"S": "FAILED"}, "Timestamp": {"S": "2025-01-01T00:00:00Z"}, "Rows": {"N": "3"}}
    ]
