"""PartiQL's bounds: ASCII numbers, nesting depth, long WHERE clauses, IN lists, and the functions DynamoDB's PartiQL has."""

from __future__ import annotations

from typing import Any

import pytest

from sluiceway.dynamodb.errors import DynamoDbError
from sluiceway.dynamodb.partiql import MALFORMED, parse_statement, plan_statement
from sluiceway.dynamodb.partiql.messages import reworded
from sluiceway.dynamodb.partiql.nodes import And, Exists, Not, Null, Or, Path, Select
from sluiceway.dynamodb.partiql.parser import MAX_DEPTH
from sluiceway.dynamodb.partiql.plans import Plan
from sluiceway.dynamodb.schema import TableSpec, table_from_request


def table() -> TableSpec:
    request = {
        "TableName": "tbl",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    return table_from_request(request, created=0.0, table_id="id")


def plan(statement: str, *parameters: dict[str, Any]) -> Plan:
    return plan_statement(parse_statement(statement), table(), list(parameters))


def refused(statement: str) -> str:
    with pytest.raises(DynamoDbError) as caught:
        plan(statement)
    assert caught.value.code == "ValidationException"
    return caught.value.message


@pytest.mark.parametrize(
    "statement", ["SELECT * FROM tbl WHERE a[²] = 1", "SELECT * FROM tbl WHERE v = ٣", "SELECT * FROM tbl WHERE v = 1e²"]
)
def test_only_ascii_digits_make_numbers(statement: str) -> None:
    assert refused(statement).startswith(MALFORMED)


def test_nesting_beyond_the_limit_is_refused_not_a_recursion_error() -> None:
    deep = MAX_DEPTH + 1
    for statement in (
        "SELECT * FROM tbl WHERE " + "(" * deep + "v = 1" + ")" * deep,
        "SELECT * FROM tbl WHERE " + "NOT " * deep + "v = 1",
        "INSERT INTO tbl VALUE {'pk': 'a', 'sk': 1, 'v': " + "[" * deep + "]" * deep + "}",
        "SELECT * FROM tbl WHERE " + "(" * 3500 + "v = 1" + ")" * 3500,
        "SELECT * FROM tbl WHERE " + "size(" * deep + "v" + ")" * deep + " > 1",
    ):
        assert refused(statement) == MALFORMED + "Statement is nested too deeply"


def test_nesting_within_the_limit_plans_and_renders() -> None:
    depth = MAX_DEPTH - 1
    nots = plan("SELECT * FROM tbl WHERE " + "NOT " * depth + "v = ?", {"N": "1"})
    assert nots.request["FilterExpression"] == "NOT " * depth + "#n0 = :v0"
    lists = plan("INSERT INTO tbl VALUE {'pk': 'a', 'sk': 1, 'v': " + "[" * (depth - 1) + "]" * (depth - 1) + "}")
    assert "v" in lists.request["Item"]


def test_long_and_or_chains_are_flat() -> None:
    ands = parse_statement("SELECT * FROM tbl WHERE " + " AND ".join(["v = 1"] * 1500))
    assert isinstance(ands, Select) and isinstance(ands.where, And) and len(ands.where.terms) == 1500
    found = plan("SELECT * FROM tbl WHERE " + " AND ".join(["v = 1"] * 1500))
    assert found.request["FilterExpression"].count(" AND ") == 1499
    ors = plan("SELECT * FROM tbl WHERE " + " OR ".join(f"v = {i}" for i in range(1500)))
    assert ors.request["FilterExpression"].count(" OR ") == 1499
    mixed = parse_statement("SELECT * FROM tbl WHERE a = 1 OR b = 2 AND NOT c = 3 OR d = 4")
    assert isinstance(mixed, Select) and isinstance(mixed.where, Or) and len(mixed.where.terms) == 3
    assert isinstance(mixed.where.terms[1], And) and isinstance(mixed.where.terms[1].terms[1], Not)


def test_in_lists_are_bounded_as_the_reference_says() -> None:
    keys = ", ".join(f"'{i}'" for i in range(51))
    assert "at most 50" in refused(f"SELECT * FROM tbl WHERE pk IN [{keys}]")
    assert plan("SELECT * FROM tbl WHERE pk IN [" + ", ".join(f"'{i}'" for i in range(50)) + "]").operation == "Query"
    values = ", ".join(str(i) for i in range(101))
    assert "at most 100" in refused(f"SELECT * FROM tbl WHERE v IN [{values}]")
    assert "at most 100" in refused(f"UPDATE tbl SET a = 1 WHERE pk = 'a' AND sk = 1 AND NOT v IN [{values}]")
    assert plan("SELECT * FROM tbl WHERE v IN [" + ", ".join(str(i) for i in range(100)) + "]").operation == "Scan"


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM tbl WHERE attribute_exists(v)",
        "SELECT * FROM tbl WHERE attribute_not_exists(v)",
        "UPDATE tbl SET v = if_not_exists(v, 1) WHERE pk = 'a' AND sk = 1",
    ],
)
def test_expression_functions_partiql_lacks_are_refused(statement: str) -> None:
    assert refused(statement) == MALFORMED + "Unexpected term"


def test_is_null_holds_for_null_or_missing() -> None:
    select = parse_statement("SELECT * FROM tbl WHERE v IS NULL AND w IS NOT NULL")
    assert isinstance(select, Select) and isinstance(select.where, And)
    assert select.where.terms == (Null(Path(("v",))), Null(Path(("w",)), negated=True))
    found = plan("SELECT * FROM tbl WHERE v IS NULL AND w IS NOT NULL")
    assert found.request["FilterExpression"] == (
        "(attribute_not_exists(#n0) OR attribute_type(#n0, :v0)) AND (attribute_exists(#n1) AND NOT attribute_type(#n1, :v1))"
    )
    assert found.request["ExpressionAttributeValues"] == {":v0": {"S": "NULL"}, ":v1": {"S": "NULL"}}


def test_exists_is_a_condition_check() -> None:
    exists = parse_statement("EXISTS(SELECT * FROM tbl WHERE pk = 'a' AND sk = 1 AND v > 2)")
    assert isinstance(exists, Exists) and exists.table == "tbl"
    found = plan("EXISTS(SELECT * FROM tbl WHERE pk = 'a' AND sk = 1 AND v > 2)")
    assert found.operation == "ConditionCheck"
    assert found.request["Key"] == {"pk": {"S": "a"}, "sk": {"N": "1"}}
    assert found.request["ConditionExpression"] == "attribute_exists(#n0) AND #n1 > :v0"
    assert "mandatory equality" in refused("EXISTS(SELECT * FROM tbl WHERE pk = 'a')")


def test_listed_partition_keys_are_one_query_each_in_order() -> None:
    listed = plan("SELECT * FROM tbl WHERE pk IN ['b', 'a', 'b'] AND sk > 1")
    assert listed.operation == "Query" and listed.partitions == [{"S": "b"}, {"S": "a"}]
    assert listed.request["KeyConditionExpression"] == f"#n0 = {listed.partition_value} AND #n1 > :v1"
    ored = plan("SELECT * FROM tbl WHERE pk = 'x' OR pk = 'y'")
    assert ored.operation == "Query" and ored.partitions == [{"S": "x"}, {"S": "y"}]
    ordered = plan("SELECT * FROM tbl WHERE pk IN ['b', 'c', 'a'] ORDER BY pk DESC, sk")
    assert ordered.partitions == [{"S": "c"}, {"S": "b"}, {"S": "a"}] and "ScanIndexForward" not in ordered.request
    # A key condition beyond the list leaves a Scan (a Query may not filter on its key).
    assert plan("SELECT * FROM tbl WHERE pk IN ['a', 'b'] AND sk > 1 AND sk < 5").operation == "Scan"


def test_order_by_names_the_partition_key_the_sort_key_or_both() -> None:
    assert plan("SELECT * FROM tbl WHERE pk = 'a' ORDER BY pk").operation == "Query"
    assert plan("SELECT * FROM tbl WHERE pk = 'a' ORDER BY sk DESC, pk").request["ScanIndexForward"] is False
    assert plan("SELECT * FROM tbl WHERE pk = 'a' ORDER BY pk, sk DESC").request["ScanIndexForward"] is False
    assert "ORDER BY" in refused("SELECT * FROM tbl WHERE pk IN ['a', 'b'] ORDER BY sk, pk")
    assert "ORDER BY" in refused("SELECT * FROM tbl WHERE pk = 'a' ORDER BY v")


def test_native_expression_names_are_taken_out_of_messages() -> None:
    error = reworded(DynamoDbError("ValidationException", "Invalid UpdateExpression: Incorrect operand type for operator or function"))
    assert error.message == "Incorrect operand type for operator or function"
    error = reworded(DynamoDbError("ValidationException", "ExpressionAttributeValues contains invalid value: Number overflow for key :v3"))
    assert error.message == "Number overflow"
    kept = DynamoDbError("ConditionalCheckFailedException", "The conditional request failed")
    assert reworded(kept) is kept
