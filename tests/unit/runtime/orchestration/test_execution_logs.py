"""Execution history as Step Functions logs it to CloudWatch Logs (shapes recorded against AWS where noted)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from sluiceway.errors import ConflictError, NotFoundError
from sluiceway.ports import ExecutionRecord
from sluiceway.runtime.orchestration.execution_logs import (
    MAX_ESCAPED_BYTES,
    ExecutionLogWriter,
    LogDestination,
    destination_of,
    keeps,
    log_group_name,
    log_message,
    stream_name,
)

EXECUTION = "arn:aws:states:us-east-1:111111111111:execution:sm:run-1"
GROUP_ARN = "arn:aws:logs:us-east-1:111111111111:log-group:/sfn/logs:*"
DESTINATIONS = [{"cloudWatchLogsLogGroup": {"logGroupArn": GROUP_ARN}}]
ROLE = "arn:aws:iam::111111111111:role/r"

STARTED = {
    "id": 1,
    "previousEventId": 0,
    "timestamp": "2026-08-24T03:25:42.883Z",
    "type": "ExecutionStarted",
    "executionStartedEventDetails": {"input": '{"a": 1}', "inputDetails": {"truncated": False}, "roleArn": ROLE},
}
EXITED = {
    "id": 3,
    "previousEventId": 2,
    "timestamp": "2026-08-24T03:25:42.901Z",
    "type": "PassStateExited",
    "stateExitedEventDetails": {"name": "P", "output": '{"a":1}', "outputDetails": {"truncated": False}},
}
SCHEDULED = {
    "id": 4,
    "previousEventId": 3,
    "timestamp": "2026-08-24T03:25:42.901Z",
    "type": "TaskScheduled",
    "taskScheduledEventDetails": {"resourceType": "lambda", "resource": "invoke", "region": "us-east-1", "parameters": '{"x":1}'},
}
SUCCEEDED = {
    "id": 5,
    "previousEventId": 4,
    "timestamp": "2026-08-24T03:25:43Z",
    "type": "ExecutionSucceeded",
    "executionSucceededEventDetails": {"output": '{"a":1}', "outputDetails": {"truncated": False}},
}
FAILED = {
    "id": 3,
    "previousEventId": 2,
    "timestamp": "2026-08-24T03:25:42.901Z",
    "type": "ExecutionFailed",
    "executionFailedEventDetails": {"error": "SomeFailure", "cause": "why"},
}


def message(event: dict[str, Any], *, include_data: bool, redrives: int = 0) -> tuple[int, dict[str, Any], str]:
    ts, text = log_message(event, EXECUTION, redrives, include_data=include_data)
    return ts, json.loads(text), text


def test_without_execution_data_details_keep_only_what_is_not_data() -> None:
    ts, started, text = message(STARTED, include_data=False)
    # Member order and compact form as AWS writes them (observed in a log group).
    assert text == (
        '{"details":{"roleArn":"' + ROLE + '"},"redrive_count":"0","id":"1","type":"ExecutionStarted",'
        '"previous_event_id":"0","event_timestamp":"1787541942883","execution_arn":"' + EXECUTION + '"}'
    )
    assert ts == 1787541942883
    assert message(EXITED, include_data=False)[1]["details"] == {"name": "P"}
    assert message(SUCCEEDED, include_data=False)[1]["details"] == {}
    # A task's parameters are execution data; its resource is not (observed).
    assert message(SCHEDULED, include_data=False)[1]["details"] == {"region": "us-east-1", "resource": "invoke", "resourceType": "lambda"}
    assert message(FAILED, include_data=False)[1]["details"] == {"cause": "why", "error": "SomeFailure"}


def test_with_execution_data_details_carry_inputs_and_outputs_as_text() -> None:
    _, started, _ = message(STARTED, include_data=True, redrives=2)
    assert started["details"] == {"input": '{"a": 1}', "inputDetails": {"truncated": False}, "roleArn": ROLE}
    assert list(started["details"]) == ["input", "inputDetails", "roleArn"]
    assert started["redrive_count"] == "2"
    assert message(SUCCEEDED, include_data=True)[1]["details"] == {"output": '{"a":1}', "outputDetails": {"truncated": False}}
    assert message(SCHEDULED, include_data=True)[1]["details"]["parameters"] == '{"x":1}'
    assert message(SUCCEEDED, include_data=True)[1]["event_timestamp"] == "1787541943000"


def test_an_output_too_large_escaped_is_truncated_and_says_so() -> None:
    big = json.dumps({"k": '"' * MAX_ESCAPED_BYTES})  # quotes double when escaped
    event = {**SUCCEEDED, "executionSucceededEventDetails": {"output": big, "outputDetails": {"truncated": False}}}
    details = message(event, include_data=True)[1]["details"]
    assert details["outputDetails"] == {"truncated": True}
    assert big.startswith(details["output"])
    escaped = len(json.dumps(details["output"]).encode()) - 2
    assert MAX_ESCAPED_BYTES - 8 <= escaped <= MAX_ESCAPED_BYTES


@pytest.mark.parametrize(
    ("level", "event_type", "kept"),
    [
        ("ALL", "PassStateEntered", True),
        ("ERROR", "FailStateEntered", True),
        ("ERROR", "WaitStateEntered", False),
        ("ERROR", "TaskFailed", True),
        ("ERROR", "ExecutionFailed", True),
        ("ERROR", "ExecutionStarted", False),
        ("FATAL", "FailStateEntered", False),
        ("FATAL", "ExecutionTimedOut", True),
        ("FATAL", "TaskFailed", False),
        ("OFF", "ExecutionFailed", False),
    ],
)
def test_levels_keep_the_event_types_of_the_guide(level: str, event_type: str, kept: bool) -> None:
    assert keeps(level, event_type) is kept


def test_stream_is_per_machine_and_utc_hour() -> None:
    assert stream_name("sm", 1787541942883) == "states/sm/2026-08-24-03/00000000"


def test_destination_of_a_stored_configuration() -> None:
    configured = {"level": "ERROR", "includeExecutionData": True, "destinations": DESTINATIONS}
    assert destination_of(configured) == LogDestination("/sfn/logs", "ERROR", True)
    assert destination_of({**configured, "level": "OFF"}) is None
    assert destination_of({"level": "OFF", "includeExecutionData": False}) is None
    assert destination_of(None) is None
    assert log_group_name(GROUP_ARN) == "/sfn/logs"
    assert log_group_name("arn:aws:logs:us-east-1:111111111111:log-group:/sfn/logs") is None


class FakeLogs:
    """A log store with groups and streams, recording puts."""

    def __init__(self, groups: Sequence[str]) -> None:
        self.groups = set(groups)
        self.streams: set[tuple[str, str]] = set()
        self.events: list[tuple[str, str, int, str]] = []

    def put(self, group: str, stream: str, events: Sequence[tuple[int, str]], *, create: bool = False) -> None:
        if (group, stream) not in self.streams:
            raise NotFoundError(stream)
        self.events.extend((group, stream, ts, text) for ts, text in events)

    def has_group(self, name: str) -> bool:
        return name in self.groups

    def create_stream(self, group: str, name: str) -> None:
        if group not in self.groups:
            raise NotFoundError(group)
        if (group, name) in self.streams:
            raise ConflictError(name)
        self.streams.add((group, name))


def record(status: str = "RUNNING", redrives: int = 0) -> ExecutionRecord:
    return ExecutionRecord(
        arn=EXECUTION,
        name="run-1",
        state_machine="sm",
        status=status,
        input={},
        started_at=datetime(2026, 8, 24, 3, tzinfo=UTC),
        state={"context": {"Execution": {"RedriveCount": redrives}}},
    )


def test_writer_logs_what_the_level_keeps_to_the_configured_group() -> None:
    logs = FakeLogs(["/sfn/logs"])
    configuration = {
        "level": "ERROR",
        "includeExecutionData": False,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": GROUP_ARN}}],
    }
    asked: list[tuple[str, str]] = []

    def configuration_of(arn: str, machine: str) -> dict[str, Any]:
        asked.append((arn, machine))
        return configuration

    writer = ExecutionLogWriter(logs, configuration_of)
    try:
        writer(record(), [STARTED, EXITED])
        writer(record("FAILED", redrives=1), [FAILED])
        assert writer.flush(5)
    finally:
        writer.close()
    assert [(g, s) for g, s, _, _ in logs.events] == [("/sfn/logs", "states/sm/2026-08-24-03/00000000")]
    logged = json.loads(logs.events[0][3])
    assert (logged["type"], logged["redrive_count"]) == ("ExecutionFailed", "1")
    assert asked == [(EXECUTION, "sm")]  # looked up once per execution


def test_writer_drops_events_of_a_deleted_group_and_never_raises() -> None:
    logs = FakeLogs([])
    configuration = {
        "level": "ALL",
        "includeExecutionData": False,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": GROUP_ARN}}],
    }
    writer = ExecutionLogWriter(logs, lambda arn, machine: configuration)
    broken = ExecutionLogWriter(logs, lambda arn, machine: 1 / 0)  # type: ignore[arg-type,return-value]
    try:
        started = time.perf_counter()
        writer(record(), [STARTED])
        broken(record(), [STARTED])
        assert time.perf_counter() - started < 0.5  # the orchestrator's call only queues
        assert writer.flush(5) and broken.flush(5)
    finally:
        writer.close()
        broken.close()
    assert logs.events == []
