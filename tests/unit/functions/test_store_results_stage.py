"""StoreResults: result.json, one metadata record, and the run's work files gone."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sluiceway.backends.local.objects import FileObjectStore
from sluiceway.clock import FakeClock
from sluiceway.functions._common import FileRef
from sluiceway.functions.store_results import MAX_EMBEDDED_ROWS, StoreRequest, store_results

FILE = FileRef(
    bucket="in",
    key="k.csv",
    etag="e",
    size=10,
    execution_id="arn:run-1",
    execution_name="run-1",
    started_at="2026-01-01T00:00:00Z",
    pipeline="sales",
    config_digest="d",
    columns=("x",),
    encoding="utf-8",
    newline="lf",
    data_first_line=2,
    source_bucket="in",
    source_key="k.csv",
    output_bucket="out",
    output_prefix="results/k.csv/run-1",
    work_prefix="_work/run-1",
)


class Table:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def put(self, item: Mapping[str, Any], *, if_absent: bool = False) -> None:
        self.items.append(dict(item))


def aggregate_event(store: FileObjectStore, rows: list[dict[str, Any]]) -> dict[str, Any]:
    store.put("out", "_work/run-1/results.json", json.dumps({"columns": ["x"], "rows": rows}).encode())
    store.put("out", "_work/run-1/chunk-00000/partial.parquet", b"p")
    return {
        "rows_read": 5,
        "rows_valid": 4,
        "rows_rejected": 1,
        "process_ms": 7.0,
        "duration_ms": 2.0,
        "rejects": "s3://out/results/k.csv/run-1/rejects.csv",
        "result": {
            "columns": ["x"],
            "rows": len(rows),
            "csv": "s3://out/results/k.csv/run-1/results.csv",
            "data": "s3://out/_work/run-1/results.json",
        },
    }


def test_result_json_record_and_cleanup(tmp_path: Path) -> None:
    store, table, clock = FileObjectStore(tmp_path), Table(), FakeClock()
    request = StoreRequest(FILE, 3.25, aggregate_event(store, [{"x": 1}, {"x": 2}]))
    result = store_results(request, objects=store, table=table, clock=clock).to_event()
    assert result == {
        "output": "s3://out/results/k.csv/run-1/result.json",
        "rejects": "s3://out/results/k.csv/run-1/rejects.csv",
        "record": "arn:run-1",
        "duration_ms": 0.0,
    }
    document = json.loads(store.get("out", "results/k.csv/run-1/result.json"))
    assert document["results"] == [{"x": 1}, {"x": 2}] and document["results_count"] == 2
    assert (document["rows_read"], document["rows_valid"], document["rows_rejected"]) == (5, 4, 1)
    assert document["input"] == {"bucket": "in", "key": "k.csv", "etag": "e", "size": 10}
    assert document["execution_id"] == "arn:run-1" and "results_truncated" not in document
    (item,) = table.items
    assert item["Status"] == "SUCCEEDED" and item["ExecutionId"] == "arn:run-1"
    assert item["Durations"] == {
        "validate_ms": 3.25,
        "process_ms": 7.0,
        "aggregate_ms": 2.0,
        "store_ms": 0.0,
    }
    assert item["RejectsLocation"] == result["rejects"] and item["OutputLocation"] == result["output"]
    assert list(store.list("out", "_work/")) == []


def test_large_results_are_not_all_embedded(tmp_path: Path) -> None:
    store = FileObjectStore(tmp_path)
    rows = [{"x": i} for i in range(MAX_EMBEDDED_ROWS + 1)]
    store_results(
        StoreRequest(FILE, 0, aggregate_event(store, rows)),
        objects=store,
        table=Table(),
        clock=FakeClock(),
    )
    document = json.loads(store.get("out", "results/k.csv/run-1/result.json"))
    assert len(document["results"]) == MAX_EMBEDDED_ROWS and document["results_truncated"] is True
    assert document["results_count"] == MAX_EMBEDDED_ROWS + 1


def test_a_retry_replaces_what_the_first_attempt_wrote(tmp_path: Path) -> None:
    store, table = FileObjectStore(tmp_path), Table()
    event = aggregate_event(store, [{"x": 1}])
    store_results(StoreRequest(FILE, 0, event), objects=store, table=table, clock=FakeClock())
    store.put(
        "out",
        "_work/run-1/results.json",
        json.dumps({"columns": ["x"], "rows": [{"x": 1}]}).encode(),
    )
    store_results(StoreRequest(FILE, 0, event), objects=store, table=table, clock=FakeClock())
    assert [i["ExecutionId"] for i in table.items] == ["arn:run-1", "arn:run-1"]
    assert json.loads(store.get("out", "results/k.csv/run-1/result.json"))["results"] == [{"x": 1}]
