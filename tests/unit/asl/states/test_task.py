"""Task: what the call receives and what the history records of it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sluiceway.asl import parser
from sluiceway.asl.commands import InvokeTask, TaskFailed, TaskSucceeded
from sluiceway.asl.simulator import Simulation, simulate

START = datetime(2024, 1, 1, tzinfo=UTC)
ROLE = "arn:aws:iam::222222222222:role/trusted"


def run(task: dict[str, Any], input_: Any, answer: Any, *, jsonata: bool = False) -> Simulation:
    definition: dict[str, Any] = {"StartAt": "T", "States": {"T": {"Type": "Task", "End": True, **task}}}
    if jsonata:
        definition["QueryLanguage"] = "JSONata"
    return simulate(parser.parse(definition), input_, answer, start=START)


def ok(command: InvokeTask) -> TaskSucceeded:
    return TaskSucceeded(command.token, {"done": True})


def event(result: Simulation, type_: str) -> dict[str, Any]:
    return next(e for e in result.history if e["type"] == type_)


def test_jsonata_credentials_are_evaluated_and_recorded_with_the_call() -> None:
    task = {
        "Resource": "arn:aws:states:::lambda:invoke",
        "Arguments": {"FunctionName": "f"},
        "Credentials": {"RoleArn": "{% $states.input.role %}"},
    }
    result = run(task, {"role": ROLE}, ok, jsonata=True)
    assert result.tasks[0].credentials == {"RoleArn": ROLE}
    assert event(result, "TaskScheduled")["taskScheduledEventDetails"]["taskCredentials"] == {"roleArn": ROLE}


def test_jsonpath_credentials_take_paths() -> None:
    task = {"Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"}, "Credentials": {"RoleArn.$": "$.role"}}
    result = run(task, {"role": ROLE}, ok)
    assert result.tasks[0].credentials == {"RoleArn": ROLE}


def test_an_aws_sdk_task_is_recorded_with_its_service_as_resource_type() -> None:
    result = run({"Resource": "arn:aws:states:::aws-sdk:dynamodb:putItem", "Parameters": {"TableName": "t"}}, {}, ok)
    details = event(result, "TaskScheduled")["taskScheduledEventDetails"]
    assert (details["resourceType"], details["resource"]) == ("aws-sdk:dynamodb", "putItem")


def test_a_timed_out_task_has_no_cause_but_its_caught_error_has_an_empty_one() -> None:
    def time_out(command: InvokeTask) -> TaskFailed:
        return TaskFailed(command.token, "States.Timeout")

    task = {
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "f"},
        "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "Handled"}],
    }
    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Next": "Done", **task}, "Handled": {"Type": "Pass", "End": True}}}
    definition["States"]["Done"] = {"Type": "Succeed"}
    result = simulate(parser.parse(definition), {}, time_out, start=START)
    assert event(result, "TaskTimedOut")["taskTimedOutEventDetails"] == {
        "resourceType": "lambda",
        "resource": "invoke",
        "error": "States.Timeout",
    }
    assert result.output == {"Error": "States.Timeout", "Cause": ""}
