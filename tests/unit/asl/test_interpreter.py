"""The interpreter on definitions and data that used to crash or hang it.

Each case ends in a terminal status with AWS's error name, never a Python exception.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sluiceway.asl import interpreter, parser
from sluiceway.asl.commands import InvokeTask, ReadItems, TaskFailed, TaskSucceeded, WriteResults
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


# --- numbers beyond what timers can hold ---------------------------------------------------


@pytest.mark.parametrize(
    ("value", "cause"),
    [
        (1e300, "The SecondsPath parameter cannot be parsed as a long value: $.s == 1.0E300"),
        (10**30, "The SecondsPath parameter cannot be parsed as a long value: $.s == 1000000000000000000000000000000"),
        (10**12, "The SecondsPath parameter references a value greater than 99999999: $.s == 1000000000000"),
    ],
    ids=["float", "beyond-long", "beyond-wait-maximum"],
)
def test_a_huge_seconds_path_fails_with_states_runtime(value: Any, cause: str) -> None:
    result = run(one_state({"Type": "Wait", "SecondsPath": "$.s", "End": True}), {"s": value})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert str(result.cause).endswith(cause)


def test_the_largest_wait_aws_allows_still_runs() -> None:
    result = run(one_state({"Type": "Wait", "SecondsPath": "$.s", "End": True}), {"s": 99_999_999})
    assert result.status == "SUCCEEDED"


def test_a_huge_jsonata_wait_fails_with_states_runtime() -> None:
    result = run(one_state({"Type": "Wait", "Seconds": "{% 1e300 %}", "End": True}, jsonata=True))
    assert (result.status, result.error) == ("FAILED", "States.Runtime")


def test_timers_after_a_wait_until_the_end_of_the_calendar_do_not_overflow() -> None:
    definition = {
        "StartAt": "Until",
        "States": {
            "Until": {"Type": "Wait", "TimestampPath": "$.t", "Next": "Then"},
            "Then": {"Type": "Wait", "Seconds": 10, "Next": "Work"},
            "Work": {"Type": "Task", "Resource": "arn:aws:states:::x", "TimeoutSeconds": 5, "HeartbeatSeconds": 1, "End": True},
        },
    }
    result = run(definition, {"t": "9999-12-31T23:59:59Z"})
    assert result.status == "SUCCEEDED"


@pytest.mark.parametrize("field", ["TimeoutSecondsPath", "HeartbeatSecondsPath"])
@pytest.mark.parametrize("value", [1e300, 10**30, 10**12])
def test_a_huge_task_timeout_path_fails_with_states_runtime(field: str, value: Any) -> None:
    state = {"Type": "Task", "Resource": "arn:aws:states:::x", field: "$.s", "End": True}
    result = run(one_state(state), {"s": value})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")


def test_retry_with_extreme_interval_and_backoff_retries_then_fails() -> None:
    retrier = {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 99_999_999, "MaxAttempts": 5, "BackoffRate": 1e300, "MaxDelaySeconds": 100}
    state = {"Type": "Task", "Resource": "arn:aws:states:::x", "End": True, "Retry": [retrier]}
    result = run(one_state(state), answer=answer_fail)
    assert (result.status, result.error) == ("FAILED", "Boom")
    assert len(result.tasks) == 6


def test_retry_backoff_without_max_delay_does_not_overflow() -> None:
    retrier = {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 60, "BackoffRate": 1e300}
    state = {"Type": "Task", "Resource": "arn:aws:states:::x", "End": True, "Retry": [retrier]}
    result = run(one_state(state), answer=answer_fail)
    assert (result.status, result.error) == ("FAILED", "Boom")
    assert len(result.tasks) == 61


@pytest.mark.parametrize(
    "expression",
    [
        "States.MathAdd(1e300, 1)",
        "States.MathAdd($.big, 1)",
        "States.MathRandom(1e300, 1e301)",
        "States.MathRandom(1, 10, 1e300)",
        "States.ArrayRange(0, 1e300, 1)",
        "States.ArrayRange(0, $.big, 1)",
        "States.ArrayGetItem(States.Array(1), 1e300)",
        "States.ArrayPartition(States.Array(1), 1e300)",
    ],
)
def test_intrinsics_with_huge_numbers_end_cleanly(expression: str) -> None:
    result = run(one_state({"Type": "Pass", "Parameters": {"v.$": expression}, "End": True}), {"big": 10**400})
    assert result.status in ("SUCCEEDED", "FAILED")
    assert result.error in (None, "States.IntrinsicFailure")


# --- the history limit ---------------------------------------------------------------------


def counting_loop(iterations: int) -> dict[str, Any]:
    """Pass increments $.n, Choice loops back while $.n < iterations: 4 events a round."""
    return {
        "StartAt": "Count",
        "States": {
            "Count": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "Loop"},
            "Loop": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericLessThan": iterations, "Next": "Count"}], "Default": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }


def test_an_execution_fails_when_its_history_would_exceed_25000_events() -> None:
    result = run(counting_loop(100_000), {"n": 0})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert result.cause == "The execution reached the maximum number of history events (25000)."
    assert len(result.history) == 25_000
    last = result.history[-1]
    assert (last["id"], last["previousEventId"], last["type"]) == (25_000, 24_999, "ExecutionFailed")


def test_an_execution_whose_25000th_event_is_its_success_succeeds() -> None:
    # 1 ExecutionStarted + 4 per round + SucceedStateEntered/Exited + ExecutionSucceeded.
    result = run(counting_loop(6_249), {"n": 0})
    assert result.status == "SUCCEEDED"
    assert len(result.history) == 25_000
    assert result.history[-1]["type"] == "ExecutionSucceeded"


def test_one_more_round_fails_at_the_limit() -> None:
    result = run(counting_loop(6_250), {"n": 0})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert len(result.history) == 25_000


def test_inline_map_iterations_share_the_execution_history() -> None:
    definition = {
        "StartAt": "M",
        "States": {"M": {"Type": "Map", "ItemProcessor": {"StartAt": "P", "States": {"P": PASS_END}}, "End": True}},
    }
    result = run(definition, list(range(7_000)))
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert len(result.history) == 25_000


def test_parallel_branches_share_the_execution_history() -> None:
    branch = counting_loop(2_500)
    branch["States"]["Done"] = {"Type": "Pass", "End": True}
    definition = {"StartAt": "Par", "States": {"Par": {"Type": "Parallel", "Branches": [branch, branch, branch], "End": True}}}
    result = run(definition, {"n": 0})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert len(result.history) == 25_000


def test_distributed_map_children_have_their_own_histories() -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "P",
                    "States": {"P": PASS_END},
                },
                "End": True,
            }
        },
    }
    result = run(definition, list(range(7_000)))
    assert result.status == "SUCCEEDED"


def test_an_execution_failed_by_the_history_limit_cannot_be_redriven() -> None:
    machine = parser.parse(counting_loop(100_000))
    step = interpreter.start(
        machine,
        {"n": 0},
        execution_arn="arn:aws:states:us-east-1:1:execution:M:e",
        execution_name="e",
        state_machine_arn="arn:aws:states:us-east-1:1:stateMachine:M",
        state_machine_name="M",
        now=START,
    )
    assert (step.status, step.state["error"]) == ("FAILED", "States.Runtime")
    assert step.commands == []
    with pytest.raises(ValueError, match="no state to redrive from"):
        interpreter.redrive(machine, step.state, START)
