"""Wait: Seconds and Timestamp, literal, by path or by JSONata, with AWS's errors for bad values."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sluiceway.asl import parser
from sluiceway.asl.commands import InvokeTask, TaskSucceeded
from sluiceway.asl.simulator import Simulation, simulate

START = datetime(2024, 1, 1, tzinfo=UTC)
VALID = ["2016-03-14T01:59:00Z", "2016-03-05T21:29:29.243167252Z", "2016-03-14T01:59:00+02:00"]
INVALID = ["2016-12-05 21:29:29Z", "2016-12-05T21:29:29", "2016-13-05T21:29:29Z", "2016-12-05T25:29:29Z", "05-12-2016T21:29:29Z"]


def run(wait: dict[str, Any], input_: Any, *, jsonata: bool = False) -> Simulation:
    definition: dict[str, Any] = {"StartAt": "W", "States": {"W": {"Type": "Wait", "End": True, **wait}}}
    if jsonata:
        definition["QueryLanguage"] = "JSONata"

    def answer(command: InvokeTask) -> TaskSucceeded:
        raise AssertionError("no tasks here")

    return simulate(parser.parse(definition), input_, answer, start=START)


def cause(text: str) -> str:
    return f"An error occurred while executing the state 'W' (entered at the event id #2). {text}"


@pytest.mark.parametrize("stamp", VALID)
def test_iso_8601_timestamps_with_an_offset_are_waited_for(stamp: str) -> None:
    assert run({"TimestampPath": "$.t"}, {"t": stamp}).status == "SUCCEEDED"
    assert run({"Timestamp": "{% $states.input.t %}"}, {"t": stamp}, jsonata=True).status == "SUCCEEDED"


@pytest.mark.parametrize("stamp", INVALID)
def test_a_timestamp_path_to_a_bad_timestamp_quotes_it_as_it_is(stamp: str) -> None:
    result = run({"TimestampPath": "$.t"}, {"t": stamp})
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert result.cause == cause(
        f"The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: $.t == {stamp}"
    )


@pytest.mark.parametrize("stamp", INVALID)
def test_a_jsonata_timestamp_that_is_not_one_is_a_query_evaluation_error(stamp: str) -> None:
    result = run({"Timestamp": "{% $states.input.t %}"}, {"t": stamp}, jsonata=True)
    assert (result.status, result.error) == ("FAILED", "States.QueryEvaluationError")
    assert result.cause == cause(f"The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {stamp}")
    failed = [e for e in result.history if e["type"] == "EvaluationFailed"]
    assert failed[0]["evaluationFailedEventDetails"]["location"] == "Timestamp"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (-1, "The SecondsPath parameter references a negative value: $.s == -1"),
        (1.5, "The SecondsPath parameter cannot be parsed as a long value: $.s == 1.5"),
        ("five", "The SecondsPath parameter cannot be parsed as a long value: $.s == five"),
        (True, "The SecondsPath parameter cannot be parsed as a long value: $.s == true"),
        (2.0, "The SecondsPath parameter cannot be parsed as a long value: $.s == 2.0"),
    ],
)
def test_a_seconds_path_to_a_bad_number_fails(value: Any, text: str) -> None:
    result = run({"SecondsPath": "$.s"}, {"s": value})
    assert (result.status, result.error, result.cause) == ("FAILED", "States.Runtime", cause(text))


def test_a_seconds_path_to_digits_in_a_string_waits_that_long() -> None:
    result = run({"SecondsPath": "$.s"}, {"s": "5"})
    assert result.status == "SUCCEEDED"
    assert result.history[-2]["timestamp"] == "2024-01-01T00:00:05.000Z"


def test_a_seconds_path_that_finds_nothing_does_not_reference_an_input_value() -> None:
    result = run({"SecondsPath": "$.s"}, {})
    assert result.cause == cause("The SecondsPath parameter does not reference an input value: $.s")
