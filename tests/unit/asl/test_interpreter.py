"""The interpreter on definitions and data that used to crash or hang it.

Each case ends in a terminal status with AWS's error name, never a Python exception.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sluiceway.asl import parser
from sluiceway.asl.interpreter import InvokeTask, ReadItems, TaskFailed, TaskSucceeded, WriteResults
from sluiceway.asl.simulator import Simulation, simulate

START = datetime(2024, 1, 1, tzinfo=UTC)


def answer_ok(command: InvokeTask | ReadItems | WriteResults) -> TaskSucceeded | TaskFailed:
    return TaskSucceeded(command.token, {"ok": True})


def answer_fail(command: InvokeTask | ReadItems | WriteResults) -> TaskSucceeded | TaskFailed:
    return TaskFailed(command.token, "Boom", "it broke")


def run(definition: dict[str, Any], input_: Any = None, answer: Any = answer_ok) -> Simulation:
    machine = parser.parse(definition)
    return simulate(machine, {} if input_ is None else input_, answer, start=START)


def one_state(state: dict[str, Any], *, jsonata: bool = False) -> dict[str, Any]:
    definition: dict[str, Any] = {"StartAt": "S", "States": {"S": state}}
    if jsonata:
        definition["QueryLanguage"] = "JSONata"
    return definition


def nested_list(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


PASS_END = {"Type": "Pass", "End": True}


# --- nesting -------------------------------------------------------------------------------


def test_deeply_nested_execution_input_fails_the_execution() -> None:
    result = run(one_state(PASS_END), nested_list(20_000))
    assert (result.status, result.error) == ("FAILED", "States.DataLimitExceeded")
    assert "nested more than 200 levels deep" in str(result.cause)


def test_deeply_nested_task_output_fails_the_state() -> None:
    deep = nested_list(20_000)
    definition = one_state({"Type": "Task", "Resource": "arn:aws:states:::x", "End": True})
    result = run(definition, answer=lambda command: TaskSucceeded(command.token, deep))
    assert (result.status, result.error) == ("FAILED", "States.DataLimitExceeded")


def test_a_deeply_nested_string_given_to_string_to_json_fails_the_state() -> None:
    definition = one_state({"Type": "Pass", "Parameters": {"v.$": "States.StringToJson($.s)"}, "End": True})
    result = run(definition, {"s": "[" * 20_000 + "]" * 20_000})
    assert (result.status, result.error) == ("FAILED", "States.IntrinsicFailure")
    assert "nested too deeply" in str(result.cause)


def test_jsonata_building_deep_data_fails_the_state() -> None:
    output = "{% $reduce([1..300], function($acc, $i) { {'a': $acc} }, {}) %}"
    result = run(one_state({"Type": "Pass", "Output": output, "End": True}, jsonata=True))
    assert (result.status, result.error) == ("FAILED", "States.DataLimitExceeded")


def test_data_at_the_nesting_limit_still_runs() -> None:
    result = run(one_state(PASS_END), nested_list(200))
    assert result.status == "SUCCEEDED"


# --- bounded JSONata --------------------------------------------------------------------------


def test_a_catastrophic_regex_in_a_pass_output_fails_instead_of_hanging() -> None:
    output = "{% $match('" + "a" * 40 + "!', /^(a|a)*$/) %}"
    result = run(one_state({"Type": "Pass", "Output": output, "End": True}, jsonata=True))
    assert (result.status, result.error) == ("FAILED", "States.QueryEvaluationError")
    assert "did not finish within" in str(result.cause)


# --- JSONata values that are not JSON -----------------------------------------------------


@pytest.mark.parametrize(
    ("definition", "field"),
    [
        (
            {
                "StartAt": "M",
                "States": {
                    "M": {
                        "Type": "Map",
                        "Items": "{% $sum %}",
                        "ItemProcessor": {"StartAt": "P", "States": {"P": PASS_END}},
                        "End": True,
                    }
                },
            },
            "Items",
        ),
        (
            {
                "StartAt": "C",
                "States": {
                    "C": {"Type": "Choice", "Choices": [{"Condition": "{% $string %}", "Next": "P"}], "Default": "P"},
                    "P": PASS_END,
                },
            },
            "Condition",
        ),
        ({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": "{% $string %}", "End": True}}}, "Seconds"),
        ({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "{% $string %}"}}}, "Error"),
        (
            {
                "StartAt": "T",
                "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::x", "TimeoutSeconds": "{% $sum %}", "End": True}},
            },
            "TimeoutSeconds",
        ),
        (
            {
                "StartAt": "M",
                "States": {
                    "M": {
                        "Type": "Map",
                        "Items": [1],
                        "MaxConcurrency": "{% $sum %}",
                        "ItemProcessor": {"StartAt": "P", "States": {"P": PASS_END}},
                        "End": True,
                    }
                },
            },
            "MaxConcurrency",
        ),
    ],
    ids=["map-items", "choice-condition", "wait-seconds", "fail-error", "task-timeout", "map-concurrency"],
)
def test_a_function_value_fails_the_execution_with_a_query_evaluation_error(definition: dict[str, Any], field: str) -> None:
    result = run({"QueryLanguage": "JSONata", **definition})
    assert result.status == "FAILED"
    assert result.error == "States.QueryEvaluationError"
    assert f"specified for the field '{field}' returned nothing (undefined)." in str(result.cause)


def test_a_choice_condition_must_be_a_boolean() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "C",
        "States": {"C": {"Type": "Choice", "Choices": [{"Condition": "{% 'yes' %}", "Next": "P"}]}, "P": PASS_END},
    }
    result = run(definition)
    assert (result.status, result.error) == ("FAILED", "States.QueryEvaluationError")
    assert "specified for the field 'Condition' returned an unexpected result type. Expected 'boolean', but was 'string'" in str(
        result.cause
    )
