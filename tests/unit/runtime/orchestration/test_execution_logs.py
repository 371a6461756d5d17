"""Execution history as Step Functions logs it to CloudWatch Logs (shapes recorded against AWS where noted)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
    # Member order (recorded against AWS: LocalStack's test_logs snapshot) and compact form.
    assert text == (
        '{"id":"1","type":"ExecutionStarted","details":{"roleArn":"' + ROLE + '"},"previous_event_id":"0",'
        '"event_timestamp":"1787541942883","execution_arn":"' + EXECUTION + '","redrive_count":"0"}'
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


class HeldLogs(FakeLogs):
    """A log store whose puts wait until ``go`` is set (a busy database); ``entered`` says one waits."""

    def __init__(self, groups: Sequence[str]) -> None:
        super().__init__(groups)
        self.entered = threading.Event()
        self.go = threading.Event()

    def put(self, group: str, stream: str, events: Sequence[tuple[int, str]], *, create: bool = False) -> None:
        self.entered.set()
        assert self.go.wait(10)
        super().put(group, stream, events, create=create)


@dataclass(frozen=True)
class Revision:
    """A stored revision as the orchestrator hands it over."""

    logging: Mapping[str, Any] | None


ALL = Revision({"level": "ALL", "includeExecutionData": False, "destinations": DESTINATIONS})
ERROR = Revision({"level": "ERROR", "includeExecutionData": False, "destinations": DESTINATIONS})
OFF = Revision({"level": "OFF", "includeExecutionData": False})


def record(status: str = "RUNNING", redrives: int = 0, name: str = "run-1") -> ExecutionRecord:
    return ExecutionRecord(
        arn=EXECUTION.replace("run-1", name),
        name=name,
        state_machine="sm",
        status=status,
        input={},
        started_at=datetime(2026, 8, 24, 3, tzinfo=UTC),
        state={"context": {"Execution": {"RedriveCount": redrives}}},
    )


class Threads:
    """A thread factory that counts the threads it made."""

    def __init__(self) -> None:
        self.made = 0

    def __call__(self, **kwargs: Any) -> threading.Thread:
        self.made += 1
        return threading.Thread(**kwargs)


def never_asked(arn: str, machine: str) -> Mapping[str, Any] | None:
    raise AssertionError(f"configuration of {arn} looked up")


def test_writer_logs_what_the_revisions_level_keeps_to_its_group() -> None:
    logs = FakeLogs(["/sfn/logs"])
    writer = ExecutionLogWriter(logs, never_asked)
    try:
        writer(record(), [STARTED, EXITED], ERROR)
        writer(record("FAILED", redrives=1), [FAILED], ERROR)
        assert writer.flush(5)
    finally:
        assert writer.close()
    assert [(g, s) for g, s, _, _ in logs.events] == [("/sfn/logs", "states/sm/2026-08-24-03/00000000")]
    logged = json.loads(logs.events[0][3])
    assert (logged["type"], logged["redrive_count"]) == ("ExecutionFailed", "1")


def test_an_execution_that_does_not_log_is_neither_queued_nor_looked_up() -> None:
    logs = FakeLogs(["/sfn/logs"])
    threads = Threads()
    writer = ExecutionLogWriter(logs, never_asked, thread_factory=threads)
    try:
        for revision in (OFF, Revision(None)):
            writer(record(), [STARTED, EXITED], revision)
            writer(record("SUCCEEDED"), [SUCCEEDED], revision)
        assert threads.made == 0  # nothing was queued: no writer thread was needed
        writer(record(), [STARTED], ALL)
        assert writer.flush(5)
        assert threads.made == 1
    finally:
        writer.close()
    assert len(logs.events) == 1


def test_without_a_revision_the_fallback_is_asked_once_per_execution() -> None:
    logs = FakeLogs(["/sfn/logs"])
    asked: list[str] = []
    configured = {"quiet": OFF.logging, "loud": ALL.logging}

    def fallback(arn: str, machine: str) -> Mapping[str, Any] | None:
        asked.append(arn.rsplit(":", 1)[-1])
        return configured[arn.rsplit(":", 1)[-1]]

    writer = ExecutionLogWriter(logs, fallback)
    try:
        for name in ("quiet", "loud"):
            writer(record(name=name), [STARTED])
            assert writer.flush(5)
            writer(record(name=name), [EXITED])
            writer(record("SUCCEEDED", name=name), [SUCCEEDED])
        assert writer.flush(5)
    finally:
        writer.close()
    assert asked == ["quiet", "loud"]
    assert [json.loads(e[3])["type"] for e in logs.events] == ["ExecutionStarted", "PassStateExited", "ExecutionSucceeded"]


def test_writer_drops_events_of_a_deleted_group_and_never_raises() -> None:
    logs = FakeLogs([])
    writer = ExecutionLogWriter(logs)
    broken = ExecutionLogWriter(logs, lambda arn, machine: 1 / 0)  # type: ignore[arg-type,return-value]
    try:
        writer(record(), [STARTED], ALL)
        broken(record(), [STARTED])
        assert writer.flush(5) and broken.flush(5)
    finally:
        writer.close()
        broken.close()
    assert logs.events == [] and logs.streams == set()  # the group is not made again, nor its stream


def test_one_stream_or_event_that_fails_loses_only_itself() -> None:
    class Refusing(FakeLogs):
        def put(self, group: str, stream: str, events: Sequence[tuple[int, str]], *, create: bool = False) -> None:
            if stream.endswith("-03/00000000"):
                raise RuntimeError("disk I/O error")
            super().put(group, stream, events, create=create)

    logs = Refusing(["/sfn/logs"])
    later = {**SUCCEEDED, "timestamp": "2026-08-24T04:00:00Z"}
    unreadable = {**EXITED, "id": 4, "timestamp": "not a time"}
    writer = ExecutionLogWriter(logs)
    try:
        writer(record(), [STARTED, unreadable, later], ALL)
        assert writer.flush(5)
    finally:
        writer.close()
    assert [(s, json.loads(t)["type"]) for _, s, _, t in logs.events] == [("states/sm/2026-08-24-04/00000000", "ExecutionSucceeded")]


def test_a_full_queue_drops_and_counts_commits() -> None:
    logs = HeldLogs(["/sfn/logs"])
    logs.streams.add(("/sfn/logs", "states/sm/2026-08-24-03/00000000"))
    writer = ExecutionLogWriter(logs, capacity=1)
    try:
        writer(record(), [STARTED], ALL)
        assert logs.entered.wait(5)  # the writer holds the first commit
        writer(record(), [EXITED], ALL)  # queued
        writer(record(), [SCHEDULED], ALL)  # no room
        assert writer.dropped == 1
        logs.go.set()
        assert writer.flush(5)
    finally:
        writer.close()
    assert [json.loads(t)["type"] for *_, t in logs.events] == ["ExecutionStarted", "PassStateExited"]


def test_a_close_that_times_out_writes_nothing_more_and_releases_the_thread() -> None:
    logs = HeldLogs(["/sfn/logs"])
    released: list[str] = []
    writer = ExecutionLogWriter(logs, release=lambda: released.append(threading.current_thread().name))
    later = {**SUCCEEDED, "timestamp": "2026-08-24T04:00:00Z"}
    writer(record(), [STARTED], ALL)
    assert logs.entered.wait(5)  # the writer is in a put (its stream's creation was not)
    writer(record(), [later], ALL)
    assert writer.close(timeout=0.05) is False
    assert writer.flush(5) is False  # closed before what was queued was written
    logs.go.set()
    deadline = time.monotonic() + 10
    while not released:
        assert time.monotonic() < deadline, "the writer did not end"
        time.sleep(0.01)
    assert released == ["sluiceway-execution-logs"]
    # The put under way when close() gave up ends; the stream queued after it is never written.
    assert [json.loads(t)["type"] for *_, t in logs.events] == ["ExecutionStarted"]
    assert writer.flush(5) is False
    writer(record(), [EXITED], ALL)  # after close: dropped, not queued
    assert [json.loads(t)["type"] for *_, t in logs.events] == ["ExecutionStarted"]
