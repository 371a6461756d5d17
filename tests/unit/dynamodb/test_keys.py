"""KeyConditionExpression reduced to key ranges, and its refusals."""

from __future__ import annotations

from typing import Any

import pytest

from sluiceway.dynamodb.errors import DynamoDbError
from sluiceway.dynamodb.expressions import Bindings, key_range
from sluiceway.dynamodb.keys import KeyAttribute

PK = KeyAttribute("pk", "S")
SK = KeyAttribute("sk", "N")
VALUES = {":p": {"S": "a"}, ":lo": {"N": "1"}, ":hi": {"N": "5"}}


def reduce(expression: str, values: dict[str, Any] = VALUES, range_key: KeyAttribute | None = SK) -> Any:
    bindings = Bindings(None, values)
    return key_range(bindings.condition(expression, "KeyConditionExpression"), PK, range_key)


def test_partition_and_sort_ranges() -> None:
    assert reduce("pk = :p", {":p": {"S": "a"}}).operator is None
    between = reduce("pk = :p AND sk BETWEEN :lo AND :hi")
    assert (between.operator, between.low, between.high) == ("BETWEEN", {"N": "1"}, {"N": "5"})
    assert reduce("sk >= :lo AND pk = :p", {":p": {"S": "a"}, ":lo": {"N": "1"}}).operator == ">="
    # A value on the left flips the comparison.
    assert reduce(":lo < sk AND pk = :p", {":p": {"S": "a"}, ":lo": {"N": "1"}}).operator == ">"


@pytest.mark.parametrize(
    ("expression", "values", "message"),
    [
        ("pk = :p OR sk = :lo", {":p": {"S": "a"}, ":lo": {"N": "1"}}, "Invalid operator used in KeyConditionExpression: OR"),
        ("pk = :p AND sk <> :lo", {":p": {"S": "a"}, ":lo": {"N": "1"}}, "Invalid operator used in KeyConditionExpression: <>"),
        ("pk = :p AND attribute_exists(sk)", {":p": {"S": "a"}}, "Invalid operator used in KeyConditionExpression: attribute_exists"),
        ("sk = :lo", {":lo": {"N": "1"}}, "Query condition missed key schema element: pk"),
        ("pk = :p AND extra = :lo", {":p": {"S": "a"}, ":lo": {"N": "1"}}, "Query condition missed key schema element: sk"),
        ("pk > :p", {":p": {"S": "a"}}, "Query key condition not supported"),
        ("pk = :p AND sk = :lo AND sk = :hi", VALUES, "Conditions can be of length 1 or 2 only"),
        ("pk = :lo", {":lo": {"N": "1"}}, "One or more parameter values were invalid: Condition parameter type does not match schema type"),
        (
            "pk = :p AND begins_with(sk, :lo)",
            {":p": {"S": "a"}, ":lo": {"N": "1"}},
            "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with,"
            " operand type: N",
        ),
    ],
)
def test_refused_key_conditions(expression: str, values: dict[str, Any], message: str) -> None:
    with pytest.raises(DynamoDbError) as caught:
        reduce(expression, values)
    assert caught.value.message == message
