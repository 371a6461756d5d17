"""PutEvents entries into events: what EventBridge fills in, and what it refuses with which code."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from sluiceway.events.envelope import bus_name_of, from_put_events_entry
from sluiceway.events.errors import InvalidEntryError

NOW = datetime(2026, 1, 31, 12, 0, 0, tzinfo=UTC)
ENTRY = {"Source": "shop", "DetailType": "Order Placed", "Detail": json.dumps({"n": 1})}


def build(entry: Any) -> dict[str, Any]:
    return from_put_events_entry(entry, event_id="e-1", now=NOW, region="eu-west-1", account="111111111111")


def refusal(entry: Any) -> tuple[str, str, str]:
    with pytest.raises(InvalidEntryError) as caught:
        build(entry)
    return caught.value.code, caught.value.message, caught.value.reason


def test_an_entry_becomes_the_event_targets_receive() -> None:
    event = build({**ENTRY, "Resources": ["arn:aws:s3:::b"], "TraceHeader": "Root=1-abc"})
    assert event == {
        "version": "0",
        "id": "e-1",
        "detail-type": "Order Placed",
        "source": "shop",
        "account": "111111111111",
        "time": "2026-01-31T12:00:00Z",
        "region": "eu-west-1",
        "resources": ["arn:aws:s3:::b"],
        "detail": {"n": 1},
    }
    assert list(event) == ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"]
    assert build(ENTRY)["resources"] == []


@pytest.mark.parametrize(
    "when",
    [
        "2025-12-24T18:30:00Z",
        "2025-12-24T19:30:00+01:00",
        datetime(2025, 12, 24, 18, 30, tzinfo=UTC),
        datetime(2025, 12, 24, 18, 30),  # naive: taken as UTC
        datetime(2025, 12, 24, 13, 30, tzinfo=timezone(timedelta(hours=-5))),
        1766601000,  # seconds since the epoch, as the JSON protocol sends a timestamp
        1766601000.0,
    ],
)
def test_time_is_the_entry_s_in_utc(when: Any) -> None:
    assert build({**ENTRY, "Time": when})["time"] == "2025-12-24T18:30:00Z"


def test_without_time_the_event_has_the_time_of_the_call() -> None:
    assert build({**ENTRY, "Time": None})["time"] == "2026-01-31T12:00:00Z"
    later = from_put_events_entry(
        ENTRY, event_id="e", now=datetime(2026, 2, 1, 1, 0, tzinfo=timezone(timedelta(hours=2))), region="r", account="a"
    )
    assert later["time"] == "2026-01-31T23:00:00Z"


def test_members_put_events_does_not_have_are_ignored() -> None:
    assert build({**ENTRY, "id": "mine", "Other": 1})["id"] == "e-1"


@pytest.mark.parametrize(
    ("entry", "code", "message", "reason"),
    [
        (
            {"DetailType": "x", "Detail": "{}"},
            "InvalidArgument",
            "Parameter Source is not valid. Reason: Source is a required argument.",
            "an event needs a source (Source)",
        ),
        (
            {"Source": "", "DetailType": "x", "Detail": "{}"},
            "InvalidArgument",
            "Parameter Source is not valid. Reason: Source is a required argument.",
            "an event needs a source (Source)",
        ),
        (
            {"Source": "s", "Detail": "{}"},
            "InvalidArgument",
            "Parameter DetailType is not valid. Reason: DetailType is a required argument.",
            "an event needs a detail-type (DetailType)",
        ),
        (
            {"Source": "s", "DetailType": "x"},
            "InvalidArgument",
            "Parameter Detail is not valid. Reason: Detail is a required argument.",
            "an event needs a detail (Detail)",
        ),
        ({"Source": "s", "DetailType": "x", "Detail": "{nope"}, "MalformedDetail", "Detail is malformed.", "Detail is not valid JSON"),
        ({"Source": "s", "DetailType": "x", "Detail": "NaN"}, "MalformedDetail", "Detail is malformed.", "Detail is not valid JSON"),
        (
            {"Source": "s", "DetailType": "x", "Detail": "[1]"},
            "MalformedDetail",
            "Detail is malformed.",
            "an event's detail (Detail) must be a JSON object",
        ),
        (
            {"Source": "s", "DetailType": "x", "Detail": '"text"'},
            "MalformedDetail",
            "Detail is malformed.",
            "an event's detail (Detail) must be a JSON object",
        ),
    ],
)
def test_entries_put_events_fails(entry: dict[str, Any], code: str, message: str, reason: str) -> None:
    assert refusal(entry) == (code, message, reason)


def test_a_missing_source_is_reported_before_the_rest() -> None:
    assert refusal({"Detail": "{nope"})[1].startswith("Parameter Source is not valid")
    assert refusal({"Source": "s", "Detail": "{nope"})[1].startswith("Parameter DetailType is not valid")


@pytest.mark.parametrize(
    ("member", "value", "expected"),
    [
        ("Source", 5, "Source must be a string"),
        ("Detail", {"n": 1}, "Detail must be a string"),
        ("EventBusName", ["b"], "EventBusName must be a string"),
        ("Resources", "arn:aws:s3:::b", "Resources must be a list of strings"),
        ("Resources", [1], "Resources must be a list of strings"),
        ("Time", True, "Time must be a time stamp"),
        ("Time", "yesterday", "Time must be a time stamp"),
    ],
)
def test_members_of_the_wrong_type_fail_the_whole_request(member: str, value: Any, expected: str) -> None:
    # AWS's request parser refuses these before any entry is looked at, so they win over a missing Source.
    code, _, reason = refusal({"DetailType": "x", "Detail": "{}", member: value})
    assert code == "SerializationException"
    assert reason.startswith(expected)


def test_an_entry_that_is_not_an_object() -> None:
    assert refusal(["Source"])[0] == "SerializationException"


@pytest.mark.parametrize(
    ("member", "value", "constraint"),
    [
        ("EventBusName", "bad name", "Member must satisfy regular expression pattern"),
        ("EventBusName", "arn:aws:events:us-east-1:111111111111:rule/r", "Member must satisfy regular expression pattern"),
        ("EventBusName", "", "Member must have length between 1 and 1600"),
        ("EventBusName", "b" * 1601, "Member must have length between 1 and 1600"),
        ("TraceHeader", "t" * 501, "Member must have length between 1 and 500"),
        ("Resources", ["r" * 2049], "Member must have length less than or equal to 2048"),
    ],
)
def test_constraints_of_the_api_fail_the_whole_request(member: str, value: Any, constraint: str) -> None:
    code, message, _ = refusal({**ENTRY, member: value})
    assert code == "ValidationException"
    assert message.startswith("1 validation error detected: Value '") and constraint in message


def test_the_error_says_what_aws_says_and_why() -> None:
    with pytest.raises(InvalidEntryError) as caught:
        build({"DetailType": "x", "Detail": "{}"})
    assert str(caught.value) == (
        "an event needs a source (Source): InvalidArgument: Parameter Source is not valid. Reason: Source is a required argument."
    )
    assert isinstance(caught.value, ValueError)


def test_the_bus_is_the_entry_s_or_the_default() -> None:
    assert bus_name_of(ENTRY, "default") == "default"
    assert bus_name_of({**ENTRY, "EventBusName": "orders"}, "default") == "orders"
    arn = "arn:aws:events:eu-west-1:111111111111:event-bus/orders"
    build({**ENTRY, "EventBusName": arn})
    assert bus_name_of({**ENTRY, "EventBusName": arn}, "default") == "orders"
