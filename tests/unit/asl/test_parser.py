"""The parser refuses, with a DefinitionError, definitions that used to crash it or the interpreter."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sluiceway.asl import parser
from sluiceway.errors import DefinitionError


def one_state(state: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "S", "States": {"S": state}}


def nested_list(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


def issues(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parser.parse(doc)
    return caught.value.issues


# --- size and nesting --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "state",
    [
        {"Type": "Pass", "Result": nested_list(20_000), "End": True},
        {"Type": "Pass", "Parameters": {"a": nested_list(20_000)}, "End": True},
        {"Type": "Pass", "Result": nested_list(201), "End": True},
    ],
    ids=["deep-result", "deep-parameters", "just-too-deep"],
)
def test_a_definition_nested_too_deeply_is_refused(state: dict[str, Any]) -> None:
    assert issues(one_state(state)) == ["/: The definition is nested more than 200 levels deep"]
    assert [d.message for d in parser.validate(one_state(state))] == ["The definition is nested more than 200 levels deep"]


def test_a_definition_at_the_nesting_limit_parses() -> None:
    parser.parse(one_state({"Type": "Pass", "Result": nested_list(196), "End": True}))


def test_a_definition_over_one_megabyte_is_refused() -> None:
    doc = one_state({"Type": "Pass", "Result": "x" * 1_048_576, "End": True})
    assert issues(doc) == ["/: The definition is 1048645 characters long; at most 1048576 are allowed"]
    with pytest.raises(DefinitionError, match="at most 1048576 are allowed"):
        parser.parse_text(json.dumps(doc))


def test_definition_text_too_deep_for_the_json_parser_is_invalid_json() -> None:
    text = '{"StartAt": "S", "States": {"S": {"Type": "Pass", "Result": ' + "[" * 20_000 + "]" * 20_000 + ', "End": true}}}'
    with pytest.raises(DefinitionError, match="not valid JSON: the JSON text is nested too deeply"):
        parser.parse_text(text)


def test_numbers_json_cannot_hold_are_refused() -> None:
    retry = [{"ErrorEquals": ["X"], "BackoffRate": float("nan")}]
    assert issues(one_state({"Type": "Task", "Resource": "arn:aws:states:::x", "End": True, "Retry": retry})) == [
        "/: The definition is not valid JSON: nan is not a JSON number"
    ]


@pytest.mark.parametrize(
    "path",
    [
        "$" + ".a" * 201,
        "$[?(" + "(" * 20_000 + "@.a" + ")" * 20_000 + ")]",
        "$" + "[?(@.a" * 150 + ")]" * 150,
    ],
    ids=["too-many-steps", "nested-parentheses", "nested-filters"],
)
def test_paths_that_would_recurse_too_deeply_are_refused(path: str) -> None:
    problems = issues(one_state({"Type": "Pass", "InputPath": path, "End": True}))
    assert len(problems) == 1 and problems[0].startswith("/States/S/InputPath: invalid JSONPath")


def test_a_long_run_of_negations_in_a_filter_parses() -> None:
    parser.parse(one_state({"Type": "Pass", "InputPath": "$[?(" + "!" * 20_000 + "@.a)]", "End": True}))


@pytest.mark.parametrize(
    "expression",
    ["{% " + "[" * 20_000 + "]" * 20_000 + " %}", "{% " + "+".join(["1"] * 20_000) + " %}", "{% $match('a', /*a/) %}"],
    ids=["nested", "operator-chain", "regex-the-tokenizer-trips-on"],
)
def test_jsonata_the_parser_cannot_take_is_a_definition_error(expression: str) -> None:
    doc = {"QueryLanguage": "JSONata", **one_state({"Type": "Pass", "Output": expression, "End": True})}
    problems = issues(doc)
    assert len(problems) == 1 and problems[0].startswith("/States/S/Output: The JSONata expression is not valid")


# --- numbers beyond what AWS accepts -------------------------------------------------------------

TASK = {"Type": "Task", "Resource": "arn:aws:states:::x", "End": True}


@pytest.mark.parametrize(
    ("retrier", "problem"),
    [
        ({"MaxDelaySeconds": "x"}, "MaxDelaySeconds: MaxDelaySeconds must be an integer greater than 0 and less than 31622401"),
        ({"MaxDelaySeconds": 31_622_401}, "MaxDelaySeconds: MaxDelaySeconds must be an integer greater than 0 and less than 31622401"),
        ({"IntervalSeconds": 10**400}, "IntervalSeconds: IntervalSeconds must be a positive integer no greater than 99999999"),
    ],
    ids=["max-delay-string", "max-delay-too-long", "interval-huge"],
)
def test_retry_delays_out_of_range_are_refused(retrier: dict[str, Any], problem: str) -> None:
    state = {**TASK, "Retry": [{"ErrorEquals": ["X"], **retrier}]}
    assert issues(one_state(state)) == [f"/States/S/Retry/0/{problem}"]


def test_an_execution_timeout_too_large_for_a_timer_is_refused() -> None:
    doc = {**one_state({"Type": "Pass", "End": True}), "TimeoutSeconds": 10**400}
    assert issues(doc) == ["/TimeoutSeconds: TimeoutSeconds must be a positive integer no greater than 99999999"]
