"""The expression language: parsing, DynamoDB's error messages, evaluation of conditions."""

from __future__ import annotations

from typing import Any

import pytest

from sluiceway.dynamodb.errors import DynamoDbError
from sluiceway.dynamodb.expressions import Bindings, holds, project
from sluiceway.dynamodb.expressions.parser import parse_condition, parse_update

ITEM: dict[str, Any] = {
    "id": {"S": "a1"},
    "status": {"S": "ACTIVE"},
    "count": {"N": "5"},
    "price": {"N": "10.50"},
    "tags": {"SS": ["red", "blue"]},
    "scores": {"NS": ["1", "2.5"]},
    "bin": {"B": b"\x00\x01\x02"},
    "flag": {"BOOL": True},
    "nothing": {"NULL": True},
    "info": {"M": {"name": {"S": "Widget"}, "dims": {"L": [{"N": "1"}, {"N": "2"}, {"M": {"d": {"S": "deep"}}}]}}},
    "list": {"L": [{"S": "x"}, {"N": "3"}]},
}


def refused(call: Any) -> str:
    with pytest.raises(DynamoDbError) as caught:
        call()
    assert caught.value.code == "ValidationException"
    return caught.value.message


def check(expression: str, values: dict[str, Any] | None = None, names: dict[str, str] | None = None, item: Any = ITEM) -> bool:
    bindings = Bindings(names, values)
    condition = bindings.condition(expression)
    bindings.check_all_used()
    return holds(condition, item)


N = lambda text: {"N": text}  # noqa: E731
S = lambda text: {"S": text}  # noqa: E731


@pytest.mark.parametrize(
    ("expression", "values", "expected"),
    [
        ("#c = :v", {":v": N("5")}, True),
        ("#c = :v", {":v": N("5.000")}, True),
        ("#c = :v", {":v": S("5")}, False),
        ("#c <> :v", {":v": S("5")}, True),
        ("#c < :v", {":v": N("10")}, True),
        ("#c <= :v", {":v": N("5")}, True),
        ("#c > :v", {":v": N("5")}, False),
        ("#c >= :v", {":v": N("-1e3")}, True),
        ("#c > :v", {":v": S("a")}, False),
        ("price BETWEEN :a AND :b", {":a": N("10"), ":b": N("11")}, True),
        ("price BETWEEN :a AND :b", {":a": N("10.6"), ":b": N("11")}, False),
        ("#s IN (:a, :b)", {":a": S("X"), ":b": S("ACTIVE")}, True),
        ("#s IN (:a)", {":a": S("X")}, False),
        ("attribute_exists(info.dims[2].d)", None, True),
        ("attribute_exists(info.dims[3])", None, False),
        ("attribute_not_exists(absent)", None, True),
        ("attribute_type(tags, :t)", {":t": S("SS")}, True),
        ("attribute_type(#c, :t)", {":t": S("S")}, False),
        ("begins_with(info.#n, :p)", {":p": S("Wid")}, True),
        ("begins_with(bin, :p)", {":p": {"B": b"\x00"}}, True),
        ("contains(tags, :t)", {":t": S("red")}, True),
        ("contains(scores, :t)", {":t": N("2.50")}, True),
        ("contains(info.#n, :t)", {":t": S("dge")}, True),
        ("contains(#l, :t)", {":t": N("3")}, True),
        ("size(tags) = :two", {":two": N("2")}, True),
        ("size(info.dims) > :two", {":two": N("2")}, True),
        ("size(info.#n) = :six", {":six": N("6")}, True),
        ("NOT #s = :a", {":a": S("ACTIVE")}, False),
        ("#s = :a OR #c = :b AND flag = :f", {":a": S("no"), ":b": N("5"), ":f": {"BOOL": True}}, True),
        ("(#s = :a OR #c = :b) AND flag = :f", {":a": S("no"), ":b": N("5"), ":f": {"BOOL": False}}, False),
        ("absent = :a", {":a": S("x")}, False),
        ("absent <> :a", {":a": S("x")}, True),
        ("nothing = :n", {":n": {"NULL": True}}, True),
        ("info.dims[0] = :one", {":one": N("1")}, True),
        ("#l = :l", {":l": {"L": [S("x"), N("3.0")]}}, True),
        ("tags = :t", {":t": {"SS": ["blue", "red"]}}, True),
    ],
)
def test_conditions_evaluate_as_dynamodb_does(expression: str, values: dict[str, Any] | None, expected: bool) -> None:
    names = {k: v for k, v in {"#c": "count", "#s": "status", "#n": "name", "#l": "list"}.items() if k in expression}
    assert check(expression, values, names or None) is expected


def test_conditions_on_a_missing_item() -> None:
    assert check("attribute_not_exists(id)", item=None) is True
    assert check("id = :v", {":v": S("a1")}, item=None) is False


def test_keywords_are_case_insensitive_functions_are_not() -> None:
    assert check("attribute_exists(id) and not attribute_exists(nope)")
    assert refused(lambda: parse_condition("ATTRIBUTE_EXISTS(id)")) == (
        "Invalid ConditionExpression: Invalid function name; function: ATTRIBUTE_EXISTS"
    )


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "Invalid ConditionExpression: The expression can not be empty;"),
        ("a = ", 'Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "= "'),
        ("a = :v :w", 'Invalid ConditionExpression: Syntax error; token: ":w", near: ":v :w"'),
        ("a == :v", 'Invalid ConditionExpression: Syntax error; token: "=", near: "== :v"'),
        ("(a = :v", 'Invalid ConditionExpression: Syntax error; token: "<EOF>", near: ":v"'),
        ("a BETWEEN :x", 'Invalid ConditionExpression: Syntax error; token: "<EOF>", near: ":x"'),
        ("a = :v ; b", 'Invalid ConditionExpression: Syntax error; token: ";", near: ":v ; b"'),
        ("size(a)", 'Invalid ConditionExpression: Syntax error; token: "<EOF>", near: ")"'),
        ("foo(a)", "Invalid ConditionExpression: Invalid function name; function: foo"),
        (
            "attribute_exists(a, b)",
            "Invalid ConditionExpression: Incorrect number of operands for operator or function;"
            " operator or function: attribute_exists, number of operands: 2",
        ),
        ("a[x] = :v", 'Invalid ConditionExpression: Syntax error; token: "x", near: "[x]"'),
    ],
)
def test_syntax_errors_are_worded_as_dynamodb_words_them(expression: str, message: str) -> None:
    assert refused(lambda: parse_condition(expression)) == message


@pytest.mark.parametrize(
    ("expression", "names", "values", "message"),
    [
        (
            "status = :v",
            None,
            {":v": S("x")},
            "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: status",
        ),
        (
            "#x = :v",
            None,
            {":v": S("x")},
            "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #x",
        ),
        (
            "a = :nope",
            None,
            {":v": S("x")},
            "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :nope",
        ),
        ("a = :v", {"#unused": "b"}, {":v": S("x")}, "Value provided in ExpressionAttributeNames unused in expressions: keys: {#unused}"),
        (
            "a = :v",
            None,
            {":v": S("x"), ":w": S("y"), ":z": S("z")},
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w, :z}",
        ),
        (
            "attribute_exists(:v)",
            None,
            {":v": S("x")},
            "Invalid ConditionExpression: Operator or function requires a document path; operator or function: attribute_exists",
        ),
        (
            "begins_with(a, :v)",
            None,
            {":v": N("1")},
            "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with,"
            " operand type: N",
        ),
        (
            "attribute_type(a, :v)",
            None,
            {":v": S("STRING")},
            "Invalid ConditionExpression: Invalid attribute type name found; type: STRING, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}",
        ),
        (
            "a BETWEEN :hi AND :lo",
            None,
            {":hi": N("5"), ":lo": N("1")},
            "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound;"
            " lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {N:1}",
        ),
    ],
)
def test_semantic_errors_are_worded_as_dynamodb_words_them(
    expression: str, names: dict[str, str] | None, values: dict[str, Any], message: str
) -> None:
    assert refused(lambda: check(expression, values, names)) == message


@pytest.mark.parametrize(
    ("names", "values", "message"),
    [
        ({"x": "a"}, None, 'ExpressionAttributeNames contains invalid key: Syntax error; key: "x"'),
        (None, {"v": S("a")}, 'ExpressionAttributeValues contains invalid key: Syntax error; key: "v"'),
        ({}, None, "ExpressionAttributeNames must not be empty"),
        (None, {}, "ExpressionAttributeValues must not be empty"),
        (
            None,
            {":v": {"SS": []}},
            "ExpressionAttributeValues contains invalid value: One or more parameter values were invalid:"
            " An string set  may not be empty for key :v",
        ),
    ],
)
def test_placeholder_maps_are_checked(names: Any, values: Any, message: str) -> None:
    assert refused(lambda: Bindings(names, values)) == message


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("SET a = :v,", 'Invalid UpdateExpression: Syntax error; token: "<EOF>", near: ","'),
        ("SET a = VALUE 1", 'Invalid UpdateExpression: Syntax error; token: "1", near: "VALUE 1"'),
        ("a = :v", 'Invalid UpdateExpression: Syntax error; token: "a", near: "a ="'),
        ("SET a = :v SET b = :v", 'Invalid UpdateExpression: The "SET" section can only be used once in an update expression;'),
        ("SET a = :v + :v + :v", 'Invalid UpdateExpression: Syntax error; token: "+", near: ":v + :v"'),
        ("REMOVE a, SET", 'Invalid UpdateExpression: Syntax error; token: "SET", near: ", SET"'),
        ("ADD a", 'Invalid UpdateExpression: Syntax error; token: "<EOF>", near: "a"'),
        ("SET a = size(b)", "Invalid UpdateExpression: The function is not allowed in an update expression; function: size"),
        ("SET a = nope(b)", "Invalid UpdateExpression: Invalid function name; function: nope"),
    ],
)
def test_update_syntax_errors(expression: str, message: str) -> None:
    assert refused(lambda: parse_update(expression)) == message


@pytest.mark.parametrize(
    ("expression", "values", "message"),
    [
        (
            "SET a = :v REMOVE a",
            {":v": S("x")},
            "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths;"
            " path one: [a], path two: [a]",
        ),
        (
            "SET a.b = :v, a = :v",
            {":v": S("x")},
            "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths;"
            " path one: [a, b], path two: [a]",
        ),
        (
            "SET a[1] = :v, a.b = :v",
            {":v": S("x")},
            "Invalid UpdateExpression: Two document paths conflict with each other; must remove or rewrite one of these paths;"
            " path one: [a, [1]], path two: [a, b]",
        ),
        (
            "ADD a :v",
            {":v": S("x")},
            "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: ADD, operand type: S",
        ),
        (
            "DELETE a :v",
            {":v": N("1")},
            "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: DELETE, operand type: N",
        ),
        (
            "SET a = :v + b",
            {":v": S("x")},
            "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: +, operand type: S",
        ),
        (
            "SET a = list_append(b, :v)",
            {":v": N("1")},
            "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: list_append, operand type: N",
        ),
        (
            "SET a = if_not_exists(:v, b)",
            {":v": N("1")},
            "Invalid UpdateExpression: Operator or function requires a document path; operator or function: if_not_exists",
        ),
        ("SET name = :v", {":v": N("1")}, "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: name"),
    ],
)
def test_update_semantic_errors(expression: str, values: dict[str, Any], message: str) -> None:
    assert refused(lambda: Bindings(None, values).update(expression)) == message


def test_a_projection_keeps_the_named_parts() -> None:
    bindings = Bindings({"#n": "name", "#l": "list"}, None)
    projection = bindings.projection("id, info.#n, info.dims[2].d, info.dims[0], #l[5], nope")
    assert project(ITEM, projection.paths) == {
        "id": {"S": "a1"},
        "info": {"M": {"name": {"S": "Widget"}, "dims": {"L": [{"N": "1"}, {"M": {"d": {"S": "deep"}}}]}}},
    }


def test_projection_paths_may_not_overlap() -> None:
    assert refused(lambda: Bindings(None, None).projection("a, a.b")) == (
        "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths;"
        " path one: [a], path two: [a, b]"
    )
