"""The error handler: a FAILED record and a message people can act on."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sluiceway.backends.local.objects import FileObjectStore
from sluiceway.clock import FakeClock
from sluiceway.functions._common import Workspace
from sluiceway.functions.error_handler import ErrorRequest, describe_failure, handle_error

URI = "s3://in/daily/sales.csv"


class Table:
    """A metadata table that remembers what was put."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def put(self, item: Mapping[str, Any], *, if_absent: bool = False) -> None:
        self.items[str(item["ExecutionId"])] = dict(item)


def lambda_cause(message: str, kind: str = "DataError", stage_file: str = "validate") -> str:
    return json.dumps(
        {
            "errorMessage": message,
            "errorType": kind,
            "stackTrace": [
                f'  File "/var/task/sluiceway/functions/{stage_file}.py", line 120, in handler\n',
                '  File "/var/task/sluiceway/data/scan.py", line 80, in sniff\n',
            ],
        }
    )


def test_lambda_errors_give_their_message_and_stage() -> None:
    stage, kind, reason = describe_failure("DataError", lambda_cause(f"{URI}: line 1: the header does not match"), URI)
    assert (stage, kind, reason) == (
        "ValidateData",
        "DataError",
        "line 1: the header does not match",
    )
    stage, _, reason = describe_failure("DataError", lambda_cause(f"{URI} is empty (0 bytes)"), URI)
    assert reason == "the file is empty (0 bytes)"
    stage, _, _ = describe_failure("States.TaskFailed", lambda_cause("boom", "KeyError", "process_chunk"), URI)
    assert stage == "ProcessChunk"


def test_states_errors_without_a_cause() -> None:
    assert describe_failure("States.Timeout", "", URI) == (None, "States.Timeout", "it timed out")
    assert describe_failure("States.Runtime", "An error occurred while executing the state", URI)[2] == (
        "An error occurred while executing the state"
    )
    assert describe_failure("Custom", "{not json", URI)[2] == "{not json"


def test_long_reasons_are_cut() -> None:
    _, _, reason = describe_failure("X", "y" * 5000, URI)
    assert len(reason) == 2001 and reason.endswith("…")


def test_a_failed_record_and_the_work_files_cleaned(tmp_path: Path) -> None:
    store = FileObjectStore(tmp_path / "b")
    store.put("out", "_work/run-9/chunk-00000/partial.parquet", b"x")
    store.put("out", "_work/run-10/keep.parquet", b"x")
    table = Table()
    event = {
        "detail": {
            "bucket": {"name": "in"},
            "object": {"key": "daily/sales.csv", "etag": "e1", "size": 3},
        },
        "error": {
            "Error": "DataError",
            "Cause": lambda_cause(f"{URI}: line 2: not a CSV text file"),
        },
        "execution_id": "arn:aws:states:us-east-1:1:execution:DataProcessingWorkflow:run-9",
        "execution_name": "run-9",
        "started_at": "2026-01-01T00:00:00Z",
    }
    report = handle_error(
        ErrorRequest.from_event(event),
        table=table,
        objects=store,
        clock=FakeClock(),
        workspace=Workspace("out", tmp_path / "scratch"),
        pipeline="sales",
    ).to_event()
    assert report["message"] == f"file {URI} failed in ValidateData: line 2: not a CSV text file"
    assert report["record"] == event["execution_id"]
    item = table.items[event["execution_id"]]
    assert item["Status"] == "FAILED" and item["Timestamp"] == "2026-01-01T00:00:00.000Z"
    assert (item["InputBucket"], item["InputKey"], item["InputEtag"]) == (
        "in",
        "daily/sales.csv",
        "e1",
    )
    assert item["Error"] == "DataError" and item["ErrorType"] == "DataError" and item["Pipeline"] == "sales"
    assert json.loads(item["Cause"])["errorMessage"].endswith("not a CSV text file")
    assert [i.key for i in store.list("out", "_work/")] == ["_work/run-10/keep.parquet"]


def test_whatever_the_event_lacks_the_handler_still_answers(tmp_path: Path) -> None:
    table = Table()
    report = handle_error(
        ErrorRequest.from_event({"error": "weird"}),
        table=table,
        objects=FileObjectStore(tmp_path / "b"),
        clock=FakeClock(),
        workspace=Workspace("out", tmp_path / "s"),
    )
    assert report.message == "a run failed: weird"
    assert report.record.startswith("unknown:")
    assert list(table.items.values())[0]["Status"] == "FAILED"


def test_a_reason_never_carries_raw_control_characters() -> None:
    _, _, reason = describe_failure("ValueError", "bad value \x1b[31mred\x1b]0;title\x07 here", URI)
    assert "\x1b" not in reason and "\x07" not in reason and "\\x1b[31m" in reason
