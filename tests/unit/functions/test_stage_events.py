"""The stage events: what goes through the state machine, and back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sluiceway.data.keys import KeyStats
from sluiceway.functions._common import ChunkRef, FileRef, Workspace, s3_uri, split_uri
from sluiceway.functions.aggregate import AggregateRequest, AggregateResult
from sluiceway.functions.process_chunk import ChunkRequest, ChunkResult
from sluiceway.functions.store_results import StoreRequest, iso_timestamp
from sluiceway.functions.validate import ValidateRequest, ValidateResult
from sluiceway.settings import Settings

FILE = FileRef(
    bucket="in",
    key="a/b.csv",
    etag="abc",
    size=10,
    execution_id="arn:x",
    execution_name="run-1",
    started_at="2026-01-01T00:00:00Z",
    pipeline="sales",
    config_digest="d1",
    columns=("x", "y"),
    encoding="utf-8",
    newline="crlf",
    data_first_line=2,
    source_bucket="in",
    source_key="a/b.csv",
    output_bucket="out",
    output_prefix="results/a/b.csv/run-1",
    work_prefix="_work/run-1",
)


def test_file_ref_round_trips_through_json() -> None:
    event = json.loads(json.dumps(FILE.to_event()))
    assert FileRef.from_event(event) == FILE
    assert event["source"] == {"bucket": "in", "key": "a/b.csv"}
    assert event["output"] == {
        "bucket": "out",
        "prefix": "results/a/b.csv/run-1",
        "work": "_work/run-1",
    }
    assert FILE.uri == "s3://in/a/b.csv"
    assert FILE.chunk_key(3, "partial.parquet") == "_work/run-1/chunk-00003/partial.parquet"
    assert FILE.output_key("result.json") == "results/a/b.csv/run-1/result.json"


def test_layout_checks_the_execution_name() -> None:
    assert FileRef.layout(output_prefix="results", key="k.csv", execution_name="r-1") == (
        "results/k.csv/r-1",
        "_work/r-1",
    )
    with pytest.raises(Exception, match="invalid execution name"):
        FileRef.layout(output_prefix="results", key="k.csv", execution_name="../x")


def test_malformed_events_are_programmer_errors() -> None:
    with pytest.raises(ValueError, match="malformed file reference"):
        FileRef.from_event({"bucket": "x"})
    with pytest.raises(ValueError, match="malformed chunk reference"):
        ChunkRef.from_event({"index": "a"})
    with pytest.raises(ValueError, match="ValidateData needs 'key'"):
        ValidateRequest.from_event({"bucket": "b", "execution_name": "n"})


def test_validate_shapes() -> None:
    request = ValidateRequest.from_event(
        {
            "bucket": "in",
            "key": "k.csv",
            "etag": '"e"',
            "execution_id": "arn",
            "execution_name": "n",
            "started_at": "t",
        }
    )
    assert request.etag == '"e"' and request.execution_name == "n"
    result = ValidateResult(FILE, (ChunkRef(0, 2, 5), ChunkRef(1, 5, 10)), 2, 1.5).to_event()
    assert result["chunks"] == [
        {"index": 0, "start": 2, "end": 5},
        {"index": 1, "start": 5, "end": 10},
    ]
    assert result["max_concurrency"] == 2 and result["duration_ms"] == 1.5 and result["file"]["columns"] == ["x", "y"]


def test_chunk_shapes_are_small() -> None:
    item = ChunkRequest.from_event({"file": FILE.to_event(), "chunk": {"index": 7, "start": 1, "end": 9}})
    assert item.chunk == ChunkRef(7, 1, 9)
    result = ChunkResult(
        ChunkRef(7, 1, 9),
        lines=4,
        rows_read=4,
        rows_valid=3,
        rows_rejected=1,
        duration_ms=2.0,
        files=("keys-0", "partial", "rejects"),
        keys={"id": KeyStats(3, 3, 1, 9)},
    )
    event = result.to_event()
    assert event == {
        "index": 7,
        "start": 1,
        "end": 9,
        "lines": 4,
        "rows_read": 4,
        "rows_valid": 3,
        "rows_rejected": 1,
        "files": ["keys-0", "partial", "rejects"],
        "duration_ms": 2.0,
        "keys": {"id": {"count": 3, "distinct": 3, "min": 1, "max": 9}},
    }
    assert ChunkResult.from_event(event) == result
    assert len(json.dumps(event)) < 400  # Workspace.max_chunks (payload // 640) results fit in the Map state's payload limit
    assert ChunkResult.from_event({**event, "exact_lines": False}).exact_lines is False


def test_aggregate_and_store_shapes() -> None:
    request = AggregateRequest.from_event({"file": FILE.to_event(), "chunks": []})
    assert request.chunks == ()
    result = AggregateResult(
        10,
        9,
        1,
        {"columns": ["a"], "rows": 1, "csv": "s3://o/r.csv", "data": "s3://o/_work/r.json"},
        "s3://o/rejects.csv",
        2,
        5.0,
        1.0,
    ).to_event()
    assert {
        "rows_read",
        "rows_valid",
        "rows_rejected",
        "result",
        "rejects",
        "process_ms",
        "duration_ms",
    } <= set(result)
    store = StoreRequest.from_event({"file": FILE.to_event(), "validation_ms": 3, "aggregate": result})
    assert store.validation_ms == 3.0 and store.aggregate["rows_valid"] == 9


def test_uris() -> None:
    assert s3_uri("b", "k/x") == "s3://b/k/x"
    assert split_uri("s3://b/k/x") == ("b", "k/x")
    with pytest.raises(ValueError):
        split_uri("http://b/k")


def test_iso_timestamps_sort_as_text() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    assert iso_timestamp(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)) == "2026-01-02T03:04:05.678Z"
    assert iso_timestamp(datetime(2026, 1, 2, 5, 0, tzinfo=timezone(timedelta(hours=2)))) == "2026-01-02T03:00:00.000Z"


def test_workspace_from_settings(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        output_bucket="outs",
        function_memory_mb=2048,
        max_payload_bytes=256 * 1024,
    )
    workspace = Workspace.from_settings(settings)
    assert workspace.output_bucket == "outs" and workspace.scratch_dir == tmp_path / "scratch"
    assert workspace.memory_limit_mb == 1536 and workspace.max_chunks == 409


def test_functions_import_without_the_api_or_cli() -> None:
    code = (
        "import sys\n"
        "import sluiceway.functions.validate, sluiceway.functions.process_chunk, sluiceway.functions.aggregate\n"
        "import sluiceway.functions.store_results, sluiceway.functions.error_handler\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('fastapi', 'typer', 'rich', 'boto3')"
        " or m.startswith(('sluiceway.runtime', 'sluiceway.backends', 'sluiceway.cli', 'sluiceway.api'))]\n"
        "print(bad)\n"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"
