"""UpdateExpression applied to items, with DynamoDB's runtime errors."""

from __future__ import annotations

from typing import Any

import pytest

from sluiceway.dynamodb.errors import DynamoDbError
from sluiceway.dynamodb.expressions import Bindings, apply_update

KEY = {"id": {"S": "k"}}


def run(
    expression: str, item: dict[str, Any] | None, values: dict[str, Any] | None = None, names: dict[str, str] | None = None
) -> dict[str, Any]:
    bindings = Bindings(names, values)
    update = bindings.update(expression)
    bindings.check_all_used()
    return apply_update(update, item, KEY, ["id"])


def failure(*args: Any, **kwargs: Any) -> str:
    with pytest.raises(DynamoDbError) as caught:
        run(*args, **kwargs)
    return caught.value.message


ONE = {"N": "1"}


def test_set_creates_the_item_from_its_key() -> None:
    assert run("SET a = :one", None, {":one": ONE}) == {"id": {"S": "k"}, "a": ONE}


def test_operands_read_the_item_before_the_update() -> None:
    item = {"id": {"S": "k"}, "a": {"N": "1"}, "b": {"N": "2"}}
    assert run("SET a = b, b = a", item) == {"id": {"S": "k"}, "a": {"N": "2"}, "b": {"N": "1"}}


def test_counters_with_if_not_exists_and_arithmetic() -> None:
    item = run("SET n = if_not_exists(n, :zero) + :one", None, {":zero": {"N": "0"}, ":one": ONE})
    item = run("SET n = if_not_exists(n, :zero) + :one", item, {":zero": {"N": "0"}, ":one": ONE})
    assert item["n"] == {"N": "2"}
    assert run("SET n = n - :big", item, {":big": {"N": "2.5"}})["n"] == {"N": "-0.5"}


def test_list_append_and_list_indexes() -> None:
    item = run(
        "SET l = list_append(if_not_exists(l, :empty), :new)",
        None,
        {":empty": {"L": []}, ":new": {"L": [{"S": "a"}, {"S": "b"}, {"S": "c"}]}},
    )
    assert run("SET l[1] = :x", item, {":x": {"S": "X"}})["l"] == {"L": [{"S": "a"}, {"S": "X"}, {"S": "c"}]}
    # An index past the end appends, as DynamoDB does.
    assert run("SET l[10] = :x", item, {":x": {"S": "X"}})["l"]["L"][-1] == {"S": "X"}
    # Removed indexes are those of the list before the update.
    assert run("REMOVE l[0], l[2]", item)["l"] == {"L": [{"S": "b"}]}
    assert run("SET l = list_append(:front, l)", item, {":front": {"L": [{"S": "0"}]}})["l"]["L"][0] == {"S": "0"}


def test_nested_maps() -> None:
    item = run("SET m = :m", None, {":m": {"M": {"a": {"M": {}}}}})
    assert run("SET m.a.b = :one", item, {":one": ONE})["m"] == {"M": {"a": {"M": {"b": ONE}}}}
    assert failure("SET m.x.y = :one", item, {":one": ONE}) == "The document path provided in the update expression is invalid for update"
    assert failure("SET nope.y = :one", item, {":one": ONE}) == "The document path provided in the update expression is invalid for update"


def test_add_and_delete_on_numbers_and_sets() -> None:
    item = run("ADD n :one, s :s", None, {":one": ONE, ":s": {"SS": ["a", "b"]}})
    assert item["n"] == ONE and item["s"] == {"SS": ["a", "b"]}
    item = run("ADD n :one, s :s", item, {":one": ONE, ":s": {"SS": ["b", "c"]}})
    assert item["n"] == {"N": "2"} and item["s"] == {"SS": ["a", "b", "c"]}
    item = run("DELETE s :s", item, {":s": {"SS": ["a", "c", "z"]}})
    assert item["s"] == {"SS": ["b"]}
    # A set never becomes empty: deleting its last member removes the attribute.
    assert "s" not in run("DELETE s :s", item, {":s": {"SS": ["b"]}})
    assert run("ADD ns :n", {"id": KEY["id"], "ns": {"NS": ["1"]}}, {":n": {"NS": ["1.0", "2"]}})["ns"] == {"NS": ["1", "2"]}


@pytest.mark.parametrize(
    ("expression", "item", "values", "message"),
    [
        ("SET a = b", None, None, "The provided expression refers to an attribute that does not exist in the item"),
        ("SET a = s + :one", {"s": {"S": "x"}}, {":one": ONE}, "An operand in the update expression has an incorrect data type"),
        ("ADD s :one", {"s": {"S": "x"}}, {":one": ONE}, "An operand in the update expression has an incorrect data type"),
        ("DELETE s :set", {"s": {"NS": ["1"]}}, {":set": {"SS": ["1"]}}, "An operand in the update expression has an incorrect data type"),
        (
            "SET l = list_append(l, :l)",
            {"l": {"S": "x"}},
            {":l": {"L": []}},
            "An operand in the update expression has an incorrect data type",
        ),
        (
            "SET id = :one",
            None,
            {":one": ONE},
            "One or more parameter values were invalid: Cannot update attribute id. This attribute is part of the key",
        ),
        (
            "SET n = n + :tenth",
            {"n": {"N": "9" * 38}},
            {":tenth": {"N": "0.1"}},
            "Attempting to store more than 38 significant digits in a Number",
        ),
    ],
)
def test_runtime_errors(expression: str, item: dict[str, Any] | None, values: dict[str, Any] | None, message: str) -> None:
    start = None if item is None else {"id": KEY["id"], **item}
    assert failure(expression, start, values) == message


def test_remove_of_a_missing_attribute_is_not_an_error() -> None:
    assert run("REMOVE a, b.c, d[3]", {"id": KEY["id"], "x": ONE}) == {"id": KEY["id"], "x": ONE}
