"""PartiQL statements as the native requests DynamoDB runs them by, and the refusals on the way."""

from __future__ import annotations

from typing import Any

import pytest

from sluiceway.dynamodb.errors import DynamoDbError
from sluiceway.dynamodb.expressions import Bindings, holds
from sluiceway.dynamodb.partiql import NO_KEY, parse_statement, plan_statement
from sluiceway.dynamodb.partiql.plans import Plan
from sluiceway.dynamodb.schema import TableSpec, table_from_request


def table(sort: bool = True) -> TableSpec:
    key = [{"AttributeName": "pk", "KeyType": "HASH"}]
    definitions = [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "S"}]
    if sort:
        key.append({"AttributeName": "sk", "KeyType": "RANGE"})
        definitions.append({"AttributeName": "sk", "AttributeType": "N"})
    request = {
        "TableName": "tbl",
        "KeySchema": key,
        "AttributeDefinitions": definitions,
        "BillingMode": "PAY_PER_REQUEST",
        "GlobalSecondaryIndexes": [
            {"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}
        ],
    }
    return table_from_request(request, created=0.0, table_id="id")


def plan(statement: str, *parameters: dict[str, Any], sort: bool = True, consistent: bool = False) -> Plan:
    return plan_statement(parse_statement(statement), table(sort), list(parameters), consistent=consistent)


def refused(statement: str, *parameters: dict[str, Any]) -> str:
    with pytest.raises(DynamoDbError) as caught:
        plan(statement, *parameters)
    return caught.value.message


def resolved(request: dict[str, Any], member: str) -> Any:
    """The request's expression parsed and bound as the engine does (so it is valid for the engine)."""
    bindings = Bindings(request.get("ExpressionAttributeNames"), request.get("ExpressionAttributeValues"))
    if member == "UpdateExpression":
        return bindings.update(request[member])
    return bindings.condition(request[member], member)


def test_a_fixed_partition_key_is_a_query_with_its_sort_condition() -> None:
    found = plan("SELECT * FROM tbl WHERE pk = ? AND sk > 3 AND colour = 'red'", {"S": "a"})
    assert found.operation == "Query"
    request = found.request
    assert request["KeyConditionExpression"] == "#n0 = :v0 AND #n1 > :v1"
    assert request["FilterExpression"] == "#n2 = :v2"
    assert request["ExpressionAttributeNames"] == {"#n0": "pk", "#n1": "sk", "#n2": "colour"}
    assert request["ExpressionAttributeValues"] == {":v0": {"S": "a"}, ":v1": {"N": "3"}, ":v2": {"S": "red"}}
    resolved(request, "KeyConditionExpression")


def test_a_value_written_first_still_fixes_the_key() -> None:
    found = plan("SELECT * FROM tbl WHERE 'a' = pk AND 3 <= sk")
    assert found.operation == "Query"
    assert found.request["KeyConditionExpression"] == "#n0 = :v0 AND #n1 >= :v1"


def test_anything_else_is_a_scan_filtered_by_the_whole_where() -> None:
    for statement in (
        "SELECT * FROM tbl",
        "SELECT * FROM tbl WHERE colour = 'red'",
        # Two conditions on the sort key: a Query may not filter on a key attribute.
        "SELECT * FROM tbl WHERE pk = 'a' AND sk > 1 AND sk < 5",
    ):
        found = plan(statement)
        assert found.operation == "Scan", statement
        if "WHERE" in statement:
            resolved(found.request, "FilterExpression")
        else:
            assert "FilterExpression" not in found.request
            assert "ExpressionAttributeNames" not in found.request


def test_parentheses_are_written_only_where_precedence_needs_them() -> None:
    found = plan("SELECT * FROM tbl WHERE (a = 1 OR b = 2) AND NOT (c = 3 AND d IS MISSING) AND ((e = 4))")
    assert found.request["FilterExpression"] == ("(#n0 = :v0 OR #n1 = :v1) AND NOT (#n2 = :v2 AND attribute_not_exists(#n3)) AND #n4 = :v3")
    condition = resolved(found.request, "FilterExpression")
    assert holds(condition, {"a": {"N": "1"}, "e": {"N": "4"}})
    assert not holds(condition, {"a": {"N": "1"}, "c": {"N": "3"}, "e": {"N": "4"}})


def test_index_reads() -> None:
    found = plan("SELECT * FROM tbl.\"by-g\" WHERE g = 'x'")
    assert (found.operation, found.request["IndexName"]) == ("Query", "by-g")
    assert refused('SELECT * FROM tbl."nope"') == "The table does not have the specified index"
    with pytest.raises(DynamoDbError) as caught:
        plan('SELECT * FROM tbl."by-g"', consistent=True)
    assert caught.value.message == "Strongly consistent read is not supported on Global Secondary Indexes"


def test_order_by_needs_a_query_and_the_sort_key() -> None:
    found = plan("SELECT * FROM tbl WHERE pk = 'a' ORDER BY sk DESC")
    assert found.request["ScanIndexForward"] is False
    assert plan("SELECT * FROM tbl WHERE pk = 'a' ORDER BY sk").request.get("ScanIndexForward") is None
    assert refused("SELECT * FROM tbl ORDER BY sk") == "Must have WHERE clause in the statement when using ORDER BY clause."
    assert "ORDER BY" in refused("SELECT * FROM tbl WHERE colour = 'x' ORDER BY sk")


def test_a_keyed_select_names_its_item() -> None:
    found = plan("SELECT * FROM tbl WHERE pk = 'a' AND sk = 1 AND colour = 'red'")
    assert found.keyed_read and found.key == {"pk": {"S": "a"}, "sk": {"N": "1"}}
    assert found.remainder is not None
    assert not plan("SELECT * FROM tbl WHERE pk = 'a'").keyed_read


def test_insert_is_a_put_that_must_not_find_the_item() -> None:
    found = plan("INSERT INTO tbl VALUE {'pk': ?, 'sk': 1, 'v': 'x'}", {"S": "a"})
    assert found.operation == "PutItem"
    assert found.request["Item"] == {"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"S": "x"}}
    assert found.request["ConditionExpression"] == "attribute_not_exists(#n0)"
    assert found.request["ExpressionAttributeNames"] == {"#n0": "pk"}
    assert found.key == {"pk": {"S": "a"}, "sk": {"N": "1"}}


def test_update_is_an_update_item_that_must_find_the_item() -> None:
    found = plan(
        "UPDATE tbl SET n = n + 1, s = set_add(s, <<'x'>>) REMOVE old SET d = set_delete(d, <<1>>)"
        " WHERE pk = 'a' AND sk = 1 AND (n < 9 OR n IS MISSING) RETURNING ALL NEW *"
    )
    request = found.request
    assert found.operation == "UpdateItem"
    assert request["Key"] == {"pk": {"S": "a"}, "sk": {"N": "1"}}
    assert request["UpdateExpression"] == "SET #n0 = #n0 + :v0 REMOVE #n2 ADD #n1 :v1 DELETE #n3 :v2"
    assert request["ConditionExpression"] == "attribute_exists(#n4) AND (#n0 < :v3 OR attribute_not_exists(#n0))"
    assert request["ReturnValues"] == "ALL_NEW"
    resolved(request, "UpdateExpression")
    resolved(request, "ConditionExpression")


def test_delete_of_a_missing_item_is_no_failure_whatever_the_where_says() -> None:
    found = plan("DELETE FROM tbl WHERE pk = 'a' AND sk = 1 AND v = 2")
    assert found.request["ConditionExpression"] == "attribute_not_exists(#n0) OR #n1 = :v0"
    condition = resolved(found.request, "ConditionExpression")
    assert holds(condition, None)
    assert not holds(condition, {"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"N": "3"}})
    assert "ConditionExpression" not in plan("DELETE FROM tbl WHERE pk = 'a' AND sk = 1").request


def test_write_refusals() -> None:
    assert refused("UPDATE tbl SET v = 1 WHERE pk = 'a'") == NO_KEY
    assert refused("DELETE FROM tbl WHERE pk = 'a' OR sk = 1") == NO_KEY
    assert refused("DELETE FROM tbl") == NO_KEY
    assert refused("UPDATE tbl.\"by-g\" SET v = 1 WHERE pk = 'a' AND sk = 1") == "This operation is not supported on an index"
    assert refused("DELETE FROM tbl WHERE pk = 'a' AND sk = 1 RETURNING MODIFIED OLD *") == (
        "Invalid returning clause: RETURNING MODIFIED OLD *. Only RETURNING ALL OLD * is allowed in DELETE statements."
    )
    assert refused("SELECT * FROM tbl WHERE pk = ? AND sk = ?", {"S": "a"}) == "Number of parameters in request and statement don't match."
    assert refused("SELECT * FROM tbl", {"S": "a"}) == "Number of parameters in request and statement don't match."
