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


@pytest.mark.parametrize(
    ("state", "field", "lowest"),
    [
        ({"Type": "Wait", "Seconds": 10**30, "End": True}, "Seconds", 0),
        ({"Type": "Wait", "Seconds": 100_000_000, "End": True}, "Seconds", 0),
        ({"Type": "Wait", "Seconds": -1, "End": True}, "Seconds", 0),
        ({**TASK, "TimeoutSeconds": 10**30}, "TimeoutSeconds", 1),
        ({**TASK, "TimeoutSeconds": "soon"}, "TimeoutSeconds", 1),
        ({**TASK, "HeartbeatSeconds": [1]}, "HeartbeatSeconds", 1),
    ],
    ids=["wait-beyond-long", "wait-beyond-maximum", "wait-negative", "timeout-huge", "timeout-string", "heartbeat-list"],
)
def test_timer_fields_out_of_range_are_refused(state: dict[str, Any], field: str, lowest: int) -> None:
    assert issues(one_state(state)) == [f"/States/S/{field}: The field '{field}' must be a number from {lowest} to 99999999"]


def test_jsonata_timer_fields_are_checked_when_they_run() -> None:
    doc = {"QueryLanguage": "JSONata", **one_state({"Type": "Wait", "Seconds": "{% $states.input.s %}", "End": True})}
    parser.parse(doc)


# --- values of the wrong type --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "location"),
    [
        ({"Type": ["Pass"], "End": True}, "/States/S/Type"),
        ({"Type": "Pass", "Next": ["S"]}, "/States/S/Next"),
        ({"Type": "Choice", "Choices": [{"Variable": "$.a", "IsPresent": True, "Next": "S"}], "Default": {"a": 1}}, "/States/S/Default"),
        ({"Type": "Pass", "Assign": "x", "End": True}, "/States/S/Assign"),
        ({"Type": "Wait", "End": True}, "/States/S"),
        ({"Type": "Wait", "SecondsPath": ["$.a"], "End": True}, "/States/S/SecondsPath"),
        ({"Type": "Wait", "Timestamp": 5, "End": True}, "/States/S/Timestamp"),
        ({**TASK, "TimeoutSecondsPath": 5}, "/States/S/TimeoutSecondsPath"),
        ({"Type": "Fail", "ErrorPath": {"a": 1}}, "/States/S/ErrorPath"),
        ({**TASK, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "S", "ResultPath": "$.a[*]"}]}, "/States/S/Catch/0/ResultPath"),
        ({**TASK, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "S", "Assign": {"x.$": 5}}]}, "/States/S/Catch/0/Assign/x.$"),
        ({"Type": "Parallel", "Branches": [5], "End": True}, "/States/S/Branches"),
    ],
    ids=[
        "type",
        "next",
        "default",
        "assign",
        "wait-without-time",
        "seconds-path",
        "timestamp",
        "timeout-path",
        "error-path",
        "catch-result-path",
        "catch-assign",
        "branch",
    ],
)
def test_fields_of_the_wrong_type_are_refused(state: dict[str, Any], location: str) -> None:
    assert any(problem.startswith(f"{location}:") for problem in issues(one_state(state)))


@pytest.mark.parametrize("field", ["ItemReader", "ItemBatcher", "ResultWriter"])
def test_map_settings_must_be_objects(field: str) -> None:
    processor = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    state = {"Type": "Map", "ItemProcessor": processor, field: 5, "End": True}
    assert issues(one_state(state)) == [f"/States/S/{field}: The field must be a JSON object"]


def test_a_jsonata_choice_rule_must_name_its_next_state() -> None:
    state = {"Type": "Choice", "Choices": [{"Condition": "{% true %}", "Next": 1}], "Default": "S"}
    assert issues({"QueryLanguage": "JSONata", **one_state(state)}) == ["/States/S/Choices/0/Next: The field 'Next' must be a state name"]
