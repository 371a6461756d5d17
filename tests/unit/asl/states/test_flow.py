"""Pass, Choice, Succeed and Fail in JSONata: "any string value, including those inside objects or
arrays, will be evaluated as JSONata if surrounded by {% %} characters"."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sluiceway.asl import parser
from sluiceway.asl.commands import InvokeTask, TaskSucceeded
from sluiceway.asl.simulator import Simulation, simulate

START = datetime(2024, 1, 1, tzinfo=UTC)


def run(states: dict[str, Any], start: str, input_: Any) -> Simulation:
    definition = {"QueryLanguage": "JSONata", "StartAt": start, "States": states}

    def echo(command: InvokeTask) -> TaskSucceeded:
        return TaskSucceeded(command.token, command.payload)

    return simulate(parser.parse(definition), input_, echo, start=START)


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ({"a": ["{% $states.input.x %}", {"b": "{% $states.input.x * 2 %}"}]}, {"a": [3, {"b": 6}]}),
        (
            [None, 0, "plain", "$.not.a.path", "{% $states.input.x %}", {"k": "{% true %}"}],
            [None, 0, "plain", "$.not.a.path", 3, {"k": True}],
        ),
        (" {% $states.input.x %} ", " {% $states.input.x %} "),
        (True, True),
    ],
    ids=["nested", "list", "blanks-make-a-literal", "non-string"],
)
def test_pass_output_is_evaluated_at_any_depth(output: Any, expected: Any) -> None:
    result = run({"P": {"Type": "Pass", "Output": output, "End": True}}, "P", {"x": 3})
    assert result.output == expected


def test_task_arguments_are_evaluated_at_any_depth() -> None:
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Arguments": {"a": ["{% $states.input.x %}", [{"b": "{% 'y' %}"}]]},
        "End": True,
    }
    result = run({"T": task}, "T", {"x": 1})
    assert result.tasks[0].payload == {"a": [1, [{"b": "y"}]]}


def test_fail_error_and_cause_are_expressions() -> None:
    fail = {"Type": "Fail", "Error": "{% $states.input.code %}", "Cause": "{% 'because ' & $states.input.why %}"}
    result = run({"F": fail}, "F", {"code": "Bad", "why": "it is"})
    assert (result.status, result.error, result.cause) == ("FAILED", "Bad", "because it is")


def test_a_choice_rule_output_is_evaluated_at_any_depth() -> None:
    choice = {
        "Type": "Choice",
        "Choices": [{"Condition": "{% $states.input.x > 1 %}", "Next": "Done", "Output": {"seen": ["{% $states.input.x %}"]}}],
        "Default": "Done",
    }
    result = run({"C": choice, "Done": {"Type": "Succeed"}}, "C", {"x": 2})
    assert result.output == {"seen": [2]}
