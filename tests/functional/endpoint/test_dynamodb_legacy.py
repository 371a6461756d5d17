"""How DynamoDB checks ConditionalOperator, QueryFilter's attributes and KeyConditions' types.

ConditionalOperator is a legacy parameter of every operation that takes it (it may not go
with any expression), and it needs an Expected, QueryFilter or ScanFilter of two or more
conditions to join. A QueryFilter may not name a key attribute of what is queried. The
messages are the ones DynamoDB answers (as suites recorded against it carry them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

_MIXED = "Can not use both expression and non-expression parameters in the same request: "
_WITHOUT = "ConditionalOperator cannot be used without Filter or Expected"
_ONE = "ConditionalOperator can only be used when Filter or Expected has two or more elements"


@pytest.fixture(scope="module")
def ddb(aws: Callable[..., Any]) -> Any:
    return aws("dynamodb")


@pytest.fixture(scope="module")
def table(ddb: Any) -> str:
    ddb.create_table(
        TableName="legacy-items",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "g", "AttributeType": "S"},
            {"AttributeName": "h", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "h", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(
        TableName="legacy-items",
        Item={"pk": {"S": "p"}, "sk": {"N": "1"}, "a": {"S": "x"}, "b": {"S": "y"}, "g": {"S": "G"}, "h": {"S": "H"}},
    )
    return "legacy-items"


def _eq(value: str) -> dict[str, Any]:
    return {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": value}]}


def _refused(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException"
    return str(error["Message"])


_KEY = {"pk": {"S": "p"}, "sk": {"N": "1"}}
_NEW = {"pk": {"S": "q"}, "sk": {"N": "1"}}

# -- ConditionalOperator with expressions --------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "request_", "legacy", "expressions"),
    [
        ("put_item", {"Item": _NEW, "ConditionExpression": "attribute_not_exists(pk)"}, "ConditionalOperator", "ConditionExpression"),
        (
            "put_item",
            {"Item": _NEW, "Expected": {"a": _eq("x")}, "ConditionExpression": "attribute_not_exists(pk)"},
            "Expected, ConditionalOperator",
            "ConditionExpression",
        ),
        ("delete_item", {"Key": _KEY, "ConditionExpression": "attribute_exists(pk)"}, "ConditionalOperator", "ConditionExpression"),
        (
            "update_item",
            {"Key": _KEY, "UpdateExpression": "SET a = :v", "ExpressionAttributeValues": {":v": {"S": "x"}}},
            "ConditionalOperator",
            "UpdateExpression",
        ),
        (
            "update_item",
            {
                "Key": _KEY,
                "AttributeUpdates": {"a": {"Value": {"S": "v"}}},
                "Expected": {"a": _eq("x")},
                "UpdateExpression": "SET a = :v",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": {":v": {"S": "x"}},
            },
            "AttributeUpdates, Expected, ConditionalOperator",
            "UpdateExpression, ConditionExpression",
        ),
        ("scan", {"ProjectionExpression": "a"}, "ConditionalOperator", "ProjectionExpression"),
        (
            "query",
            {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p"}}},
            "ConditionalOperator",
            "KeyConditionExpression",
        ),
        (
            "query",
            {
                "KeyConditions": {"pk": _eq("p")},
                "QueryFilter": {"a": _eq("x")},
                "KeyConditionExpression": "pk = :p",
                "FilterExpression": "a = :v",
                "ProjectionExpression": "b",
                "ExpressionAttributeValues": {":p": {"S": "p"}, ":v": {"S": "x"}},
            },
            "QueryFilter, ConditionalOperator, KeyConditions",
            "ProjectionExpression, FilterExpression, KeyConditionExpression",
        ),
    ],
)
def test_conditional_operator_does_not_go_with_expressions(
    ddb: Any, table: str, operation: str, request_: dict[str, Any], legacy: str, expressions: str
) -> None:
    message = _refused(lambda: getattr(ddb, operation)(TableName=table, ConditionalOperator="OR", **request_))
    assert message == f"{_MIXED}Non-expression parameters: {{{legacy}}} Expression parameters: {{{expressions}}}"


# -- ConditionalOperator needs two or more conditions ----------------------------------------


@pytest.mark.parametrize(
    ("operation", "request_", "message"),
    [
        ("scan", {}, _WITHOUT),
        ("scan", {"ScanFilter": {}}, _WITHOUT),
        ("scan", {"AttributesToGet": ["a"]}, _WITHOUT),
        ("scan", {"ScanFilter": {"a": _eq("x")}}, _ONE),
        # It is checked before the missing key condition.
        ("query", {}, _WITHOUT),
        ("query", {"KeyConditions": {"pk": _eq("p")}}, _WITHOUT),
        ("query", {"KeyConditions": {"pk": _eq("p")}, "QueryFilter": {"a": _eq("x")}}, _ONE),
        ("put_item", {"Item": _NEW}, _WITHOUT),
        ("put_item", {"Item": _NEW, "Expected": {}}, _WITHOUT),
        ("put_item", {"Item": _NEW, "Expected": {"a": {"Exists": False}}}, _ONE),
        ("delete_item", {"Key": _KEY}, _WITHOUT),
        ("delete_item", {"Key": _KEY, "Expected": {"a": _eq("x")}}, _ONE),
        ("update_item", {"Key": _KEY, "AttributeUpdates": {"a": {"Value": {"S": "v"}}}}, _WITHOUT),
        ("update_item", {"Key": _KEY, "Expected": {"a": _eq("x")}}, _ONE),
    ],
)
def test_conditional_operator_needs_two_conditions(ddb: Any, table: str, operation: str, request_: dict[str, Any], message: str) -> None:
    assert _refused(lambda: getattr(ddb, operation)(TableName=table, ConditionalOperator="AND", **request_)) == message
    assert ddb.get_item(TableName=table, Key=_NEW).get("Item") is None


def test_conditional_operator_value_is_an_enum(ddb: Any, table: str) -> None:
    # The enum is checked ahead of the conditions (a front validation), in DynamoDB's order of values.
    message = _refused(lambda: ddb.scan(TableName=table, ConditionalOperator="XOR"))
    assert message == (
        "1 validation error detected: Value 'XOR' at 'conditionalOperator' failed to satisfy constraint:"
        " Member must satisfy enum value set: [OR, AND]"
    )


def test_conditional_operator_joins_two_conditions(ddb: Any, table: str) -> None:
    either = {"a": _eq("nope"), "b": _eq("y")}
    answer = ddb.scan(TableName=table, ScanFilter=either, ConditionalOperator="OR")
    assert [i["sk"] for i in answer["Items"]] == [{"N": "1"}]
    answer = ddb.query(TableName=table, KeyConditions={"pk": _eq("p")}, QueryFilter=either, ConditionalOperator="AND")
    assert answer["Count"] == 0
    ddb.delete_item(TableName=table, Key=_NEW, Expected={"a": {"Exists": False}, "b": {"Exists": False}}, ConditionalOperator="OR")


# -- QueryFilter on key attributes -------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "attribute"),
    [
        (
            {"KeyConditions": {"pk": _eq("p")}, "QueryFilter": {"sk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"N": "1"}]}}},
            "sk",
        ),
        ({"KeyConditions": {"pk": _eq("p")}, "QueryFilter": {"a": _eq("x"), "pk": _eq("p")}, "ConditionalOperator": "OR"}, "pk"),
        # The partition key is named first when the filter names both.
        ({"KeyConditions": {"pk": _eq("p")}, "QueryFilter": {"sk": {"ComparisonOperator": "NOT_NULL"}, "pk": _eq("p")}}, "pk"),
        # On an index, the index's keys.
        ({"IndexName": "by-g", "KeyConditions": {"g": _eq("G")}, "QueryFilter": {"h": _eq("H")}}, "h"),
    ],
)
def test_query_filter_cannot_name_a_key_attribute(ddb: Any, table: str, request_: dict[str, Any], attribute: str) -> None:
    message = _refused(lambda: ddb.query(TableName=table, **request_))
    assert message == f"QueryFilter can only contain non-primary key attributes: Primary key attribute: {attribute}"


def test_query_filter_on_other_attributes_of_an_index(ddb: Any, table: str) -> None:
    answer = ddb.query(TableName=table, IndexName="by-g", KeyConditions={"g": _eq("G")}, QueryFilter={"a": _eq("x")})
    assert answer["Count"] == 1


# -- KeyConditions' types -----------------------------------------------------------------------


def test_key_conditions_begins_with_a_string_on_a_number_key(ddb: Any, table: str) -> None:
    conditions = {"pk": _eq("p"), "sk": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"S": "1"}]}}
    message = _refused(lambda: ddb.query(TableName=table, KeyConditions=conditions))
    assert message == "One or more parameter values were invalid: Condition parameter type does not match schema type"


def test_key_conditions_types_are_checked_before_the_operator(ddb: Any, table: str) -> None:
    # A partition key condition of the wrong type and operator: the type is checked first.
    conditions = {"pk": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "1"}]}}
    message = _refused(lambda: ddb.query(TableName=table, KeyConditions=conditions))
    assert message == "One or more parameter values were invalid: Condition parameter type does not match schema type"


def test_key_condition_expression_begins_with_is_checked_on_its_operand(ddb: Any, table: str) -> None:
    values = {":p": {"S": "p"}, ":n": {"N": "1"}}
    message = _refused(
        lambda: ddb.query(TableName=table, KeyConditionExpression="pk = :p AND begins_with(sk, :n)", ExpressionAttributeValues=values)
    )
    assert message == (
        "Invalid KeyConditionExpression: Incorrect operand type for operator or function;"
        " operator or function: begins_with, operand type: N"
    )
    values = {":p": {"S": "p"}, ":s": {"S": "1"}}
    message = _refused(
        lambda: ddb.query(TableName=table, KeyConditionExpression="pk = :p AND begins_with(sk, :s)", ExpressionAttributeValues=values)
    )
    assert message == "One or more parameter values were invalid: Condition parameter type does not match schema type"


def test_a_query_filter_expression_may_not_name_a_key_attribute(ddb: Any) -> None:
    dynamodb = ddb
    # DynamoDB: a key attribute belongs in the key condition, never in a Query's filter.
    name = "filter-keys"
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {"N": "1"}, "n": {"N": "5"}})
    with pytest.raises(ClientError) as refused:
        dynamodb.query(
            TableName=name,
            KeyConditionExpression="pk = :p",
            FilterExpression="#s > :z AND n > :z",
            ExpressionAttributeNames={"#s": "sk"},
            ExpressionAttributeValues={":p": {"S": "p"}, ":z": {"N": "0"}},
        )
    assert refused.value.response["Error"]["Message"] == (
        "Filter Expression can only contain non-primary key attributes: Primary key attribute: sk"
    )
    kept = dynamodb.query(
        TableName=name,
        KeyConditionExpression="pk = :p",
        FilterExpression="n > :z",
        ExpressionAttributeValues={":p": {"S": "p"}, ":z": {"N": "0"}},
    )
    assert kept["Count"] == 1
