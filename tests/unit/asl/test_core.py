"""The history the core records, event for event as AWS records it (from recorded AWS histories)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sluiceway.asl import parser
from sluiceway.asl.commands import InvokeTask, TaskFailed, TaskSucceeded
from sluiceway.asl.simulator import Simulation, simulate

START = datetime(2024, 1, 1, tzinfo=UTC)
INVOKE = "arn:aws:states:::lambda:invoke"


def run(definition: dict[str, Any], input_: Any = None, answer: Any = None) -> Simulation:
    def fail(command: InvokeTask) -> TaskFailed:
        return TaskFailed(command.token, "Exception", '{"errorMessage":"boom"}')

    return simulate(parser.parse(definition), {} if input_ is None else input_, answer or fail, start=START)


def types(result: Simulation) -> list[str]:
    return [e["type"] for e in result.history]


def test_the_first_state_entered_names_no_previous_event() -> None:
    result = run({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    assert [(e["id"], e["previousEventId"]) for e in result.history] == [(1, 0), (2, 0), (3, 2), (4, 3)]


def test_a_caught_error_still_exits_the_state_with_the_catchers_output() -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": INVOKE,
                "Parameters": {"FunctionName": "f"},
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Fallback"}],
                "End": True,
            },
            "Fallback": {"Type": "Pass", "End": True},
        },
    }
    result = run(definition, {"in": 1})
    assert types(result)[4:7] == ["TaskFailed", "TaskStateExited", "PassStateEntered"]
    exited = result.history[5]["stateExitedEventDetails"]
    assert exited["name"] == "T"
    assert exited["output"] == '{"in":1,"error":{"Error":"Exception","Cause":"{\\"errorMessage\\":\\"boom\\"}"}}'


def test_a_jsonata_evaluation_that_fails_is_recorded_with_its_field() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Output": {"result": "{% $doesNotExist %}"}, "End": True}},
    }
    result = run(definition)
    assert types(result) == ["ExecutionStarted", "PassStateEntered", "EvaluationFailed", "ExecutionFailed"]
    cause = (
        "An error occurred while executing the state 'P' (entered at the event id #2). "
        "The JSONata expression '$doesNotExist' specified for the field 'Output/result' returned nothing (undefined)."
    )
    assert result.history[2]["evaluationFailedEventDetails"] == {
        "error": "States.QueryEvaluationError",
        "cause": cause,
        "location": "Output/result",
        "state": "P",
    }


def test_a_map_whose_items_cannot_be_evaluated_records_map_state_failed() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "Items": "{% 1 %}",
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
                "End": True,
            }
        },
    }
    assert types(run(definition)) == ["ExecutionStarted", "MapStateEntered", "EvaluationFailed", "MapStateFailed", "ExecutionFailed"]


def test_a_runtime_error_ends_the_execution_with_nothing_else_recorded() -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "MaxConcurrencyPath": "$.n",
                "ItemsPath": "$.items",
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
                "End": True,
            }
        },
    }
    assert types(run(definition, {"n": "many", "items": []})) == ["ExecutionStarted", "MapStateEntered", "ExecutionFailed"]


def test_map_state_failed_is_recorded_once_after_the_last_retry() -> None:
    fail_branch = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "C"}}}
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": fail_branch,
                "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1, "IntervalSeconds": 1}],
                "End": True,
            }
        },
    }
    assert types(run(definition, [1])) == [
        "ExecutionStarted",
        "MapStateEntered",
        "MapStateStarted",
        "MapIterationStarted",
        "FailStateEntered",
        "MapIterationFailed",
        "MapStateStarted",
        "MapIterationStarted",
        "FailStateEntered",
        "MapIterationFailed",
        "MapStateFailed",
        "ExecutionFailed",
    ]


def test_iterations_still_running_when_one_fails_are_aborted() -> None:
    waiting = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": INVOKE, "Parameters": {"FunctionName": "f"}, "End": True}}}
    definition = {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemProcessor": waiting, "End": True}}}
    answered: list[str] = []

    def first_fails(command: InvokeTask) -> TaskSucceeded | TaskFailed:
        answered.append(command.token)
        if len(answered) == 1:
            return TaskFailed(command.token, "Exception", "first")
        return TaskSucceeded(command.token, {})

    result = run(definition, [1, 2, 3], first_fails)
    tail = types(result)[types(result).index("MapIterationFailed") :]
    assert tail == [
        "MapIterationFailed",
        "TaskStateAborted",
        "MapIterationAborted",
        "TaskStateAborted",
        "MapIterationAborted",
        "MapStateFailed",
        "ExecutionFailed",
    ]
    aborted = [e["mapIterationAbortedEventDetails"] for e in result.history if e["type"] == "MapIterationAborted"]
    assert aborted == [{"name": "M", "index": 1}, {"name": "M", "index": 2}]


def test_branches_still_running_when_one_fails_are_aborted() -> None:
    waiting = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": INVOKE, "Parameters": {"FunctionName": "f"}, "End": True}}}
    failing = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}
    definition = {"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [waiting, failing], "End": True}}}
    result = run(definition, {}, lambda command: TaskSucceeded(command.token, {}))
    assert types(result)[-3:] == ["TaskStateAborted", "ParallelStateFailed", "ExecutionFailed"]
