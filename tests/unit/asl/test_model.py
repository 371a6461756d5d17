"""The parser fills one typed, frozen spec per state type; the interpreter needs nothing else."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from sluiceway.asl import parser
from sluiceway.asl.choice import ChoiceRule
from sluiceway.asl.commands import InvokeTask, TaskSucceeded
from sluiceway.asl.model import (
    Catcher,
    ChoiceState,
    FailState,
    ItemBatcher,
    ItemReader,
    JsonataChoice,
    MapState,
    ParallelState,
    PassState,
    ProcessorConfig,
    ResultWriter,
    Retrier,
    Setting,
    SucceedState,
    TaskState,
    Template,
    WaitState,
)
from sluiceway.asl.simulator import simulate

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:f"


def one(state: dict[str, Any], **machine: Any) -> Any:
    return parser.parse({"StartAt": "S", "States": {"S": state}, **machine}).states["S"]


def test_task_fields_are_typed() -> None:
    state = one(
        {
            "Type": "Task",
            "Resource": LAMBDA,
            "Parameters": {"a.$": "$.x"},
            "ResultSelector": {"b.$": "$.y"},
            "ResultPath": "$.r",
            "OutputPath": "$.r",
            "InputPath": None,
            "TimeoutSecondsPath": "$.t",
            "HeartbeatSeconds": 5,
            "Retry": [{"ErrorEquals": ["E"], "IntervalSeconds": 2, "MaxAttempts": 4, "BackoffRate": 1.5, "JitterStrategy": "FULL"}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "S", "ResultPath": "$.err"}],
            "End": True,
        }
    )
    assert isinstance(state, TaskState) and state.type == "Task"
    assert state.resource == LAMBDA
    assert state.parameters == Template({"a.$": "$.x"}) and state.arguments is None
    assert state.result_selector == Template({"b.$": "$.y"})
    assert (state.input_path, state.result_path, state.output_path) == (None, "$.r", "$.r")
    assert state.timeout == Setting("TimeoutSeconds", path="$.t") and state.timeout.field == "TimeoutSecondsPath"
    assert state.heartbeat == Setting("HeartbeatSeconds", value=5) and state.heartbeat.field == "HeartbeatSeconds"
    assert state.retry == (Retrier(("E",), interval_s=2.0, max_attempts=4, backoff_rate=1.5, jitter="FULL"),)
    assert state.catch == (Catcher(("States.ALL",), "S", result_path="$.err"),)
    assert state.end and state.next is None


def test_jsonata_fields_are_typed() -> None:
    state = one(
        {
            "Type": "Task",
            "Resource": LAMBDA,
            "Arguments": {"a": ["{% $states.input.x %}"]},
            "Output": "{% $states.result %}",
            "Assign": {"v": "{% 1 %}"},
            "TimeoutSeconds": "{% $t %}",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "S", "Output": {"e": "{% $states.errorOutput %}"}}],
            "End": True,
        },
        QueryLanguage="JSONata",
    )
    assert isinstance(state, TaskState) and state.query_language == "JSONata"
    assert state.arguments == Template({"a": ["{% $states.input.x %}"]}) and state.parameters is None
    assert state.output == Template("{% $states.result %}")
    assert state.assign == Template({"v": "{% 1 %}"})
    assert state.timeout == Setting("TimeoutSeconds", value="{% $t %}")
    assert state.catch[0].output == Template({"e": "{% $states.errorOutput %}"})


def test_flow_states_are_typed() -> None:
    doc = {
        "StartAt": "P",
        "States": {
            "P": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": None, "Next": "W"},
            "W": {"Type": "Wait", "SecondsPath": "$.s", "Next": "C"},
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.x", "NumericEquals": 1, "Next": "F"}],
                "Default": "Ok",
            },
            "F": {"Type": "Fail", "ErrorPath": "$.e", "Cause": "why"},
            "Ok": {"Type": "Succeed"},
        },
    }
    states = parser.parse(doc).states
    assert isinstance(states["P"], PassState) and states["P"].result == Template({"x": 1}) and states["P"].result_path is None
    assert isinstance(states["W"], WaitState) and states["W"].seconds == Setting("Seconds", path="$.s") and states["W"].timestamp is None
    choice = states["C"]
    assert isinstance(choice, ChoiceState) and choice.default == "Ok"
    assert isinstance(choice.choices[0], ChoiceRule) and choice.choices[0].next == "F"
    assert isinstance(states["F"], FailState)
    assert states["F"].error == Setting("Error", path="$.e") and states["F"].cause == Setting("Cause", value="why")
    assert isinstance(states["Ok"], SucceedState)


def test_jsonata_choice_rules_are_typed() -> None:
    state = one(
        {"Type": "Choice", "Choices": [{"Condition": "{% true %}", "Next": "S", "Output": {"o": 1}, "Assign": {"a": 2}}]},
        QueryLanguage="JSONata",
    )
    assert state.choices == (JsonataChoice("{% true %}", "S", Template({"a": 2}), Template({"o": 1})),)


def test_parallel_and_map_hold_their_machines_and_settings() -> None:
    branch = {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}
    parallel = one({"Type": "Parallel", "Branches": [branch, branch], "End": True})
    assert isinstance(parallel, ParallelState) and [b.start_at for b in parallel.branches] == ["B", "B"]
    map_state = one(
        {
            "Type": "Map",
            "ItemProcessor": {**branch, "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}},
            "ItemReader": {
                "Resource": "arn:aws:states:::s3:getObject",
                "Parameters": {"Bucket": "b", "Key": "k"},
                "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", "MaxItemsPath": "$.n"},
            },
            "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"f.$": "$.f"}},
            "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "o"}},
            "Parameters": {"v.$": "$$.Map.Item.Value"},
            "MaxConcurrencyPath": "$.c",
            "ToleratedFailurePercentage": 5,
            "Label": "L",
            "End": True,
        }
    )
    assert isinstance(map_state, MapState) and map_state.distributed
    assert map_state.processor == ProcessorConfig("DISTRIBUTED", "STANDARD")
    assert map_state.item_processor.start_at == "B"
    assert map_state.item_selector == Template({"v.$": "$$.Map.Item.Value"}) and map_state.item_selector_field == "Parameters"
    assert map_state.parameters is None, "a Map's Parameters is its item selector"
    assert map_state.max_concurrency == Setting("MaxConcurrency", path="$.c")
    assert map_state.tolerated_failure_percentage == Setting("ToleratedFailurePercentage", value=5)
    assert map_state.label == "L"
    assert map_state.item_reader == ItemReader(
        resource="arn:aws:states:::s3:getObject",
        parameters=Template({"Bucket": "b", "Key": "k"}),
        reader_config={"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", "MaxItemsPath": "$.n"},
        max_items=Setting("MaxItems", path="$.n"),
    )
    assert map_state.item_batcher == ItemBatcher(
        max_items_per_batch=Setting("MaxItemsPerBatch", value=2), batch_input=Template({"f.$": "$.f"})
    )
    assert map_state.result_writer == ResultWriter(resource="arn:aws:states:::s3:putObject", parameters=Template({"Bucket": "o"}))


@pytest.mark.parametrize("state", [PassState, TaskState, MapState, Retrier, Template, Setting])
def test_specs_are_frozen_dataclasses(state: type) -> None:
    assert dataclasses.is_dataclass(state) and state.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_the_machine_does_not_share_the_callers_document() -> None:
    doc: dict[str, Any] = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": LAMBDA, "Parameters": {"fixed": [1, 2]}, "End": True}},
    }
    machine = parser.parse(doc)
    pristine = copy.deepcopy(doc)
    doc["States"]["T"]["Parameters"]["fixed"].append(3)
    doc["States"]["T"]["Resource"] = "arn:aws:lambda:us-east-1:111111111111:function:other"
    sent: list[InvokeTask] = []

    def answer(command: Any) -> TaskSucceeded:
        sent.append(command)
        return TaskSucceeded(command.token, "ok")

    result = simulate(machine, {}, answer, start=datetime(2024, 1, 1, tzinfo=UTC))
    assert result.status == "SUCCEEDED"
    assert [(c.resource, c.payload) for c in sent] == [(LAMBDA, pristine["States"]["T"]["Parameters"])]


def test_retrier_delays_back_off_up_to_the_bound() -> None:
    retrier = Retrier(("E",), interval_s=2, backoff_rate=3, max_delay_s=30)
    assert [retrier.delay_s(n) for n in range(4)] == [2.0, 6.0, 18.0, 30.0]
    assert Retrier(("E",), interval_s=1, backoff_rate=10).delay_s(400) == 99_999_999
