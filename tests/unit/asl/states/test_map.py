"""Map: items, settings given by path or JSONata, and Distributed Map runs, as AWS documents them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from sluiceway.asl import parser
from sluiceway.asl.commands import InvokeTask, ReadItems, TaskFailed, TaskSucceeded, WriteResults
from sluiceway.asl.simulator import Simulation, simulate

START = datetime(2024, 1, 1, tzinfo=UTC)
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
FUNCTION = "arn:aws:lambda:us-east-1:111111111111:function:work"
PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
Command = InvokeTask | ReadItems | WriteResults


def run(definition: dict[str, Any], input_: Any = None, answer: Any = None) -> Simulation:
    def no_tasks(command: Command) -> TaskSucceeded | TaskFailed:
        raise AssertionError(f"unexpected task {command}")

    return simulate(parser.parse(definition), {} if input_ is None else input_, answer or no_tasks, start=START)


def map_machine(map_state: dict[str, Any], *, jsonata: bool = False) -> dict[str, Any]:
    definition: dict[str, Any] = {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemProcessor": PASS, "End": True, **map_state}}}
    if jsonata:
        definition["QueryLanguage"] = "JSONata"
    return definition


def entered_cause(text: str) -> str:
    return f"An error occurred while executing the state 'M' (entered at the event id #2). {text}"


# --- JSONata: "Use a JSON array as Map state items. Example value: [1, "{% $two %}", 3]" -----------


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([1, "{% $number('2') %}", 3], [1, 2, 3]),
        (["{% $states.input.a %}", {"b": "{% $states.input.a + 1 %}"}, ["{% 'deep' %}"]], [5, {"b": 6}, ["deep"]]),
        ("{% [1, 'two', 3] %}", [1, "two", 3]),
        ([], []),
    ],
    ids=["array-element", "any-depth", "whole-expression", "empty"],
)
def test_items_evaluate_expressions_wherever_they_sit(items: Any, expected: Any) -> None:
    result = run(map_machine({"Items": items}, jsonata=True), {"a": 5})
    assert (result.status, result.output) == ("SUCCEEDED", expected)


def test_an_expression_in_items_that_yields_nothing_names_its_place() -> None:
    result = run(map_machine({"Items": [1, "{% $states.input.missing %}"]}, jsonata=True))
    assert (result.status, result.error) == ("FAILED", "States.QueryEvaluationError")
    assert result.cause == entered_cause(
        "The JSONata expression '$states.input.missing' specified for the field 'Items[1]' returned nothing (undefined)."
    )


def test_settings_given_as_expressions_are_evaluated() -> None:
    definition = map_machine(
        {
            "Items": "{% $states.input.items %}",
            "MaxConcurrency": "{% $states.input.n %}",
            "ToleratedFailureCount": "{% $states.input.n %}",
            "ToleratedFailurePercentage": "{% $states.input.n * 10 %}",
        },
        jsonata=True,
    )
    assert run(definition, {"items": [1, 2], "n": 1}).output == [1, 2]


# --- *Path settings: a reference path "must resolve to" an integer / a number ----------------------


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("MaxConcurrencyPath", "NoNumber", "NoNumber"),
        ("MaxConcurrencyPath", {}, "{}"),
        ("MaxConcurrencyPath", 1.5, "1.5"),
        ("MaxConcurrencyPath", True, "true"),
        ("MaxConcurrencyPath", 2**31, "2147483648"),
        ("ToleratedFailureCountPath", "NoNumber", "NoNumber"),
        ("ToleratedFailureCountPath", {"a": [1]}, "{a=[1]}"),
        ("ToleratedFailureCountPath", None, "null"),
    ],
)
def test_an_integer_setting_path_to_anything_else_fails_with_awss_words(field: str, value: Any, shown: str) -> None:
    result = run(map_machine({field: "$.v", "ItemsPath": "$.items"}), {"v": value, "items": [1]})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert result.cause == entered_cause(f'The {field} field refers to value "{shown}" which is not a valid integer: $.v')


@pytest.mark.parametrize(("value", "shown"), [("NoNumber", "NoNumber"), ({}, "{}"), ([], "[]"), (True, "true")])
def test_a_percentage_path_to_a_non_number_is_not_a_valid_float(value: Any, shown: str) -> None:
    result = run(map_machine({"ToleratedFailurePercentagePath": "$.v", "ItemsPath": "$.items"}), {"v": value, "items": [1]})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert result.cause == entered_cause(
        f'The ToleratedFailurePercentagePath field refers to value "{shown}" which is not a valid float: $.v'
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("MaxConcurrencyPath", "3"),
        ("ToleratedFailureCountPath", "+2"),
        ("ToleratedFailurePercentagePath", "12.5"),
        ("ToleratedFailurePercentagePath", 100),
    ],
)
def test_numbers_held_in_strings_are_read_as_java_reads_them(field: str, value: Any) -> None:
    assert run(map_machine({field: "$.v", "ItemsPath": "$.items"}), {"v": value, "items": [1, 2]}).output == [1, 2]


@pytest.mark.parametrize(
    ("field", "value", "cause"),
    [
        ("ToleratedFailureCountPath", -1, "ToleratedFailureCount cannot be negative."),
        ("ToleratedFailurePercentagePath", -1.1, "ToleratedFailurePercentage must be between 0 and 100."),
        ("ToleratedFailurePercentagePath", 100.1, "ToleratedFailurePercentage must be between 0 and 100."),
    ],
)
def test_thresholds_out_of_range_fail_after_the_map_started(field: str, value: Any, cause: str) -> None:
    result = run(map_machine({field: "$.v", "ItemsPath": "$.items"}), {"v": value, "items": [1]})
    assert (result.status, result.error, result.cause) == ("FAILED", "States.Runtime", entered_cause(cause))
    assert [e["type"] for e in result.history] == ["ExecutionStarted", "MapStateEntered", "MapStateStarted", "ExecutionFailed"]


def test_a_setting_path_that_finds_nothing_is_an_invalid_path() -> None:
    result = run(map_machine({"MaxConcurrencyPath": "$.missing", "ItemsPath": "$.items"}), {"items": [1]})
    assert result.cause == entered_cause("Invalid path '$.missing' : No results for path: $['missing']")


# --- Distributed Map -----------------------------------------------------------------------------


def distributed(processor_states: dict[str, Any], start: str, **map_state: Any) -> dict[str, Any]:
    processor = {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": start, "States": processor_states}
    return {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": processor, "End": True, **map_state}}}


INVOKE = {
    "Type": "Task",
    "Resource": LAMBDA_INVOKE,
    "Parameters": {"FunctionName": FUNCTION, "Payload.$": "$"},
    "End": True,
}


def lambda_answer(fail: set[int] | None = None) -> Any:
    def answer(command: Command) -> TaskSucceeded | TaskFailed:
        assert isinstance(command, InvokeTask)
        payload = command.payload["Payload"]
        if fail and payload["n"] in fail:
            cause = json.dumps({"errorMessage": "bad item", "errorType": "ValueError"}, separators=(",", ":"))
            return TaskFailed(command.token, "ValueError", cause)
        return TaskSucceeded(command.token, {"ExecutedVersion": "$LATEST", "Payload": {"double": payload["n"] * 2}, "StatusCode": 200})

    return answer


def test_lambda_invoke_in_a_distributed_map_gets_its_payload_and_returns_the_invoke_result() -> None:
    definition = distributed({"Invoke": {**INVOKE, "ResultSelector": {"value.$": "$.Payload.double"}}}, "Invoke")
    result = run(definition, {"items": [{"n": 1}, {"n": 2}]}, lambda_answer())
    assert (result.status, result.output) == ("SUCCEEDED", [{"value": 2}, {"value": 4}])
    assert [c.payload for c in result.tasks] == [
        {"FunctionName": FUNCTION, "Payload": {"n": 1}},
        {"FunctionName": FUNCTION, "Payload": {"n": 2}},
    ]


def test_the_whole_invoke_result_is_the_iteration_output_without_a_selector() -> None:
    result = run(distributed({"Invoke": INVOKE}, "Invoke"), {"items": [{"n": 3}]}, lambda_answer())
    assert result.output == [{"ExecutedVersion": "$LATEST", "Payload": {"double": 6}, "StatusCode": 200}]


def test_a_failed_child_fails_the_map_run_at_the_default_threshold_of_zero() -> None:
    result = run(distributed({"Invoke": INVOKE}, "Invoke"), {"items": [{"n": 1}, {"n": 2}]}, lambda_answer(fail={2}))
    assert (result.status, result.error, result.cause) == (
        "FAILED",
        "States.ExceedToleratedFailureThreshold",
        "The specified tolerated failure threshold was exceeded",
    )


def test_a_child_error_caught_inside_the_child_does_not_fail_the_run() -> None:
    catching = {**INVOKE, "Catch": [{"ErrorEquals": ["ValueError"], "Next": "Handled"}]}
    definition = distributed({"Invoke": catching, "Handled": {"Type": "Pass", "Result": "handled", "End": True}}, "Invoke")
    result = run(definition, {"items": [{"n": 1}, {"n": 2}]}, lambda_answer(fail={2}))
    assert result.output == [{"ExecutedVersion": "$LATEST", "Payload": {"double": 2}, "StatusCode": 200}, "handled"]


def test_child_failures_within_the_tolerated_count_let_the_run_succeed() -> None:
    definition = distributed({"Invoke": INVOKE}, "Invoke", ToleratedFailureCount=1)
    result = run(definition, {"items": [{"n": 1}, {"n": 2}]}, lambda_answer(fail={2}))
    assert result.status == "SUCCEEDED"


def test_an_inline_map_fails_with_its_iterations_error() -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": {"StartAt": "Invoke", "States": {"Invoke": INVOKE}}, "End": True}
        },
    }
    result = run(definition, {"items": [{"n": 1}]}, lambda_answer(fail={1}))
    assert (result.status, result.error) == ("FAILED", "ValueError")


def test_the_execution_history_records_the_map_run_not_its_iterations() -> None:
    result = run(distributed({"Invoke": INVOKE}, "Invoke"), {"items": [{"n": 1}, {"n": 2}]}, lambda_answer())
    types = [e["type"] for e in result.history]
    assert types == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapRunStarted",
        "MapRunSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]
    assert [e["id"] for e in result.history] == list(range(1, 9))
    started = result.history[3]["mapRunStartedEventDetails"]["mapRunArn"]
    assert started.startswith("arn:aws:states:us-east-1:111111111111:mapRun:StateMachine/M:")


def test_a_failed_map_run_is_recorded_with_its_error() -> None:
    result = run(distributed({"Invoke": INVOKE}, "Invoke"), {"items": [{"n": 1}]}, lambda_answer(fail={1}))
    failed = [e for e in result.history if e["type"] == "MapRunFailed"]
    assert failed[0]["mapRunFailedEventDetails"] == {
        "error": "States.ExceedToleratedFailureThreshold",
        "cause": "The specified tolerated failure threshold was exceeded",
    }
    assert [e["type"] for e in result.history][-3:] == ["MapRunFailed", "MapStateFailed", "ExecutionFailed"]


def test_a_child_states_failure_names_the_event_in_its_own_history() -> None:
    # Each child workflow execution has its own history, where its first state is event #2.
    task = {
        "Type": "Task",
        "Resource": LAMBDA_INVOKE,
        "Arguments": {"FunctionName": FUNCTION, "Payload": "{% $missing %}"},
        "Catch": [{"ErrorEquals": ["States.ALL"], "Output": "{% $states.errorOutput.Cause %}", "Next": "Done"}],
        "Next": "Done",
    }
    definition = distributed({"T": task, "Done": {"Type": "Pass", "End": True}}, "T")
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Before",
        "States": {"Before": {"Type": "Pass", "Next": "M"}, **definition["States"]},
    }
    definition["States"]["M"] = {k: v for k, v in definition["States"]["M"].items() if k != "ItemsPath"} | {"Items": [1]}
    result = run(definition)
    assert result.output == [
        "An error occurred while executing the state 'T' (entered at the event id #2). "
        "The JSONata expression '$missing' specified for the field 'Arguments/Payload' returned nothing (undefined)."
    ]


# --- ItemReader: "MaxItems ... limits the number of data items passed to the Map state" ------------


def reader_machine(reader_config: dict[str, Any]) -> dict[str, Any]:
    return distributed(
        {"P": {"Type": "Pass", "End": True}},
        "P",
        ItemReader={"Resource": "arn:aws:states:::s3:getObject", "Parameters": {"Bucket": "b", "Key": "k"}, "ReaderConfig": reader_config},
    )


def read_items(command: Command) -> TaskSucceeded | TaskFailed:
    assert isinstance(command, ReadItems)
    return TaskSucceeded(command.token, [1, 2, 3, 4])


@pytest.mark.parametrize(("max_items", "expected"), [(2, [1, 2]), (0, [1, 2, 3, 4]), (100_000_001, [1, 2, 3, 4])])
def test_max_items_limits_the_items_and_zero_means_all(max_items: int, expected: list[int]) -> None:
    result = run(reader_machine({"InputType": "JSON", "MaxItemsPath": "$.n"}), {"n": max_items}, read_items)
    assert result.output == expected


def test_a_negative_max_items_fails_the_item_reader() -> None:
    result = run(reader_machine({"InputType": "JSON", "MaxItemsPath": "$.n"}), {"n": -1}, read_items)
    assert (result.status, result.error, result.cause) == ("FAILED", "States.ItemReaderFailed", "field MaxItems must be positive")


def test_a_fractional_max_items_is_not_a_valid_integer() -> None:
    result = run(reader_machine({"InputType": "JSON", "MaxItemsPath": "$.n"}), {"n": 1.5}, read_items)
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert result.cause == entered_cause('The MaxItemsPath field refers to value "1.5" which is not a valid integer: $.n')
