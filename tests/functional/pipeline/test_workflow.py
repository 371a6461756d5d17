"""The whole DataProcessingWorkflow on the local stack: event → ASL → worker processes → results, records, notifications.

One stack per module (worker processes start once); each test uploads its own
file under its own key and waits for that run. A pipeline config with a tiny
chunk size makes every file span several chunks, so chunk boundaries are
exercised everywhere (quoted newlines, CRLF, BOM, a 1 MB field).
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest

from sluiceway.config import packaged_config_path
from sluiceway.ports import ExecutionRecord
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

HEADER = "order_id,order_date,region,product,quantity,unit_price,customer_email"


def row(
    i: int, *, region: str = "north", product: str = "Widget", quantity: str = "2", price: str = "3.50", email: str | None = None
) -> str:
    return f"{i},2024-03-01,{region},{product},{quantity},{price},{email or f'c{i % 7}@example.com'}"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("pipeline")
    config = root / "pipeline.yaml"
    text = packaged_config_path().read_text(encoding="utf-8").replace("chunk_size_mb: 128", "chunk_size_mb: 0.002")
    assert "chunk_size_mb: 0.002" in text
    config.write_text(text, encoding="utf-8")
    settings = Settings.load(data_dir=root / "data", pipeline_config=config, workers=2)
    stack = build_stack(settings)
    stack.start()
    yield stack
    stack.close()


def run_file(stack: Stack, tmp_path: Path, key: str, content: bytes, timeout: float = 60) -> tuple[ExecutionRecord, dict[str, Any]]:
    path = tmp_path / Path(key).name
    path.write_bytes(content)
    stack.upload(path, key)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = [
            r for r in stack.orchestrator.store.list(limit=500) if (r.input or {}).get("detail", {}).get("object", {}).get("key") == key
        ]
        if runs and runs[0].status != "RUNNING":
            record = runs[0]
            item = stack.services.table.get({"ExecutionId": record.arn}) or {}
            return record, item
        time.sleep(0.05)
    raise AssertionError(f"the run for {key} did not end within {timeout} s")


def rejects(stack: Stack, item: dict[str, Any]) -> list[dict[str, str]]:
    location = item["RejectsLocation"]
    bucket, key = location.removeprefix("s3://").split("/", 1)
    return list(csv.DictReader(io.StringIO(stack.services.objects.get(bucket, key).decode("utf-8"))))


def result(stack: Stack, item: dict[str, Any]) -> Any:
    bucket, key = item["OutputLocation"].removeprefix("s3://").split("/", 1)
    return json.loads(stack.services.objects.get(bucket, key))


def notifications(stack: Stack, key: str) -> list[Any]:
    return [m for m in stack.services.topic.messages() if key in m.message]  # type: ignore[attr-defined]


def test_good_file_end_to_end(stack: Stack, tmp_path: Path) -> None:
    lines = [HEADER] + [row(i, region=["north", "south"][i % 2], quantity=str(1 + i % 3)) for i in range(1, 301)]
    record, item = run_file(stack, tmp_path, "t/good.csv", ("\n".join(lines) + "\n").encode())
    assert record.status == "SUCCEEDED", record.cause
    assert (item["Status"], item["RowsRead"], item["RowsValid"], item["RowsRejected"]) == ("SUCCEEDED", 300, 300, 0)
    assert item["InputKey"] == "t/good.csv" and item["InputBucket"] == stack.settings.input_bucket
    assert set(item["Durations"]) >= {"validate_ms", "process_ms", "aggregate_ms", "store_ms"}
    history = stack.orchestrator.store.history(record.arn)
    chunks = sum(1 for e in history if e["type"] == "MapIterationStarted")
    assert chunks > 3, "the tiny chunk size should split the file"
    output = result(stack, item)
    groups = {g["region"]: g for g in output["results"]}
    assert set(groups) == {"north", "south"}
    assert groups["north"]["orders"] == groups["south"]["orders"] == 150
    # quantity cycles 1,2,3 over i; revenue = quantity * 3.50; merged exactly across chunks
    assert groups["north"]["units"] + groups["south"]["units"] == sum(1 + i % 3 for i in range(1, 301))
    assert groups["north"]["revenue"] == pytest.approx(3.5 * sum(1 + i % 3 for i in range(2, 301, 2)))
    assert groups["north"]["customers"] == len({i % 7 for i in range(2, 301, 2)})
    assert groups["north"]["mean_order_value"] == pytest.approx(groups["north"]["revenue"] / 150)
    assert output["rows_valid"] == 300
    # The functions' own writes (in worker processes) emitted S3 events too, as S3 would.
    from datetime import datetime, timedelta

    since = datetime.now(UTC) - timedelta(hours=1)
    written = {
        e.event["detail"]["object"]["key"]
        for e in stack.bus.archived(since)
        if e.event["detail"]["bucket"]["name"] == stack.settings.output_bucket
    }
    assert item["OutputLocation"].split("/", 3)[3] in written
    [note] = notifications(stack, "t/good.csv")
    assert note.subject == "Sluiceway: file processed" and "300 valid" in note.message


def test_bad_rows_go_to_rejects_with_line_column_reason(stack: Stack, tmp_path: Path) -> None:
    lines = [
        HEADER,
        row(1),
        row(2, quantity="0"),
        row(3, region="mars"),
        row(4, email="not-an-email"),
        row(5, quantity="two"),
        "6,2024-03-01,north",
        row(7),
    ]
    record, item = run_file(stack, tmp_path, "t/bad-rows.csv", ("\n".join(lines) + "\n").encode())
    assert record.status == "SUCCEEDED", record.cause
    assert (item["RowsRead"], item["RowsValid"], item["RowsRejected"]) == (7, 2, 5)
    found = rejects(stack, item)
    by_line = {int(r["line"]): r for r in found}
    assert set(by_line) == {3, 4, 5, 6, 7}
    assert by_line[3]["column"] == "quantity" and by_line[3]["value"] == "0"
    assert by_line[4]["column"] == "region" and by_line[4]["value"] == "mars"
    assert by_line[5]["column"] == "customer_email"
    assert by_line[6]["column"] == "quantity"
    assert all(r["reason"] for r in found)


def test_broken_file_fails_with_record_and_notification_and_input_kept(stack: Stack, tmp_path: Path) -> None:
    content = b"order_id,order_date\n\x00\x01\x02 binary \xff\xfe garbage"
    record, item = run_file(stack, tmp_path, "t/broken.csv", content)
    assert record.status == "FAILED"
    assert item["Status"] == "FAILED"
    [note] = notifications(stack, "t/broken.csv")
    assert note.subject == "Sluiceway: file failed"
    assert "s3://" in note.message and "t/broken.csv" in note.message
    assert stack.services.objects.get(stack.settings.input_bucket, "t/broken.csv") == content


def test_empty_file_fails_clearly(stack: Stack, tmp_path: Path) -> None:
    record, item = run_file(stack, tmp_path, "t/empty.csv", b"")
    assert record.status == "FAILED"
    assert "empty" in json.dumps(item).lower()


def test_header_only_file_has_zero_rows(stack: Stack, tmp_path: Path) -> None:
    record, item = run_file(stack, tmp_path, "t/header-only.csv", (HEADER + "\n").encode())
    assert record.status == "SUCCEEDED", record.cause
    assert (item["RowsRead"], item["RowsValid"], item["RowsRejected"]) == (0, 0, 0)


def test_quoted_newlines_across_chunk_boundaries(stack: Stack, tmp_path: Path) -> None:
    lines = [HEADER]
    for i in range(1, 201):
        product = f'"Desk ""Pro""\nline two, with comma {i}"' if i % 5 == 0 else "Lamp"
        lines.append(row(i, product=product))
    lines.append(row(201, quantity="0"))
    record, item = run_file(stack, tmp_path, "t/quoted.csv", ("\n".join(lines) + "\n").encode())
    assert record.status == "SUCCEEDED", record.cause
    assert (item["RowsRead"], item["RowsValid"], item["RowsRejected"]) == (201, 200, 1)
    # 200 records, 40 of them two lines long: record 201 starts on physical line 1 + 200 + 40 + 1.
    [reject] = rejects(stack, item)
    assert int(reject["line"]) == 242


def test_bom_and_crlf(stack: Stack, tmp_path: Path) -> None:
    lines = [HEADER] + [row(i) for i in range(1, 151)]
    content = "\ufeff".encode() + ("\r\n".join(lines) + "\r\n").encode()
    record, item = run_file(stack, tmp_path, "t/bom-crlf.csv", content)
    assert record.status == "SUCCEEDED", record.cause
    assert (item["RowsValid"], item["RowsRejected"]) == (150, 0)


def test_a_one_megabyte_field(stack: Stack, tmp_path: Path) -> None:
    big = "x" * (1024 * 1024)
    lines = [HEADER, row(1), row(2, product=big), row(3)]
    record, item = run_file(stack, tmp_path, "t/big-field.csv", ("\n".join(lines) + "\n").encode(), timeout=120)
    assert record.status == "SUCCEEDED", record.cause
    assert (item["RowsRead"], item["RowsValid"]) == (3, 3)


def test_duplicate_unique_values_across_chunks(stack: Stack, tmp_path: Path) -> None:
    lines = [HEADER] + [row(i) for i in range(1, 200)] + [row(5)]
    record, item = run_file(stack, tmp_path, "t/dupes.csv", ("\n".join(lines) + "\n").encode())
    assert record.status == "SUCCEEDED", record.cause
    assert item["RowsRejected"] == 1
    [reject] = rejects(stack, item)
    assert reject["column"] == "order_id" and int(reject["line"]) == 201


def test_same_write_seen_twice_runs_once(stack: Stack, tmp_path: Path) -> None:
    record, _ = run_file(stack, tmp_path, "t/once.csv", (HEADER + "\n" + row(1) + "\n").encode())
    info = stack.services.objects.head(stack.settings.input_bucket, "t/once.csv")
    stack.objects.emit_created(info)  # the folder watcher reporting the same write again
    stack.router.deliver_pending()
    runs = [r for r in stack.orchestrator.store.list(limit=500) if r.input.get("detail", {}).get("object", {}).get("key") == "t/once.csv"]
    assert [r.arn for r in runs] == [record.arn]


def _validated_file(stack: Stack, record: ExecutionRecord) -> dict[str, Any]:
    """The file reference ValidateData returned in a run (the first function output in the history)."""
    for event in stack.orchestrator.store.history(record.arn):
        if event["type"] == "LambdaFunctionSucceeded":
            file: dict[str, Any] = json.loads(event["lambdaFunctionSucceededEventDetails"]["output"])["file"]
            return file
    raise AssertionError("no ValidateData output in the history")


def test_a_pattern_that_failed_is_checked_per_row_in_the_next_run(stack: Stack, tmp_path: Path) -> None:
    from sluiceway.functions._common import read_hints

    def recorded() -> tuple[str, ...]:
        return read_hints(stack.services.objects, stack.settings.output_bucket, "sales").per_row_patterns

    good = [HEADER] + [row(i) for i in range(1, 201)]
    dirty = [*good[:50], row(50, email="not-an-email"), *good[50:]]
    first, item = run_file(stack, tmp_path, "t/patterns-1.csv", ("\n".join(dirty) + "\n").encode())
    assert first.status == "SUCCEEDED", first.cause
    assert item["RowsRejected"] == 1 and rejects(stack, item)[0]["column"] == "customer_email"
    assert recorded() == ("customer_email",)

    # The next run checks that pattern on every row, finds it clean and forgets it again.
    second, item = run_file(stack, tmp_path, "t/patterns-2.csv", ("\n".join(good) + "\n").encode())
    assert second.status == "SUCCEEDED", second.cause
    assert _validated_file(stack, second)["hints"]["per_row_patterns"] == ["customer_email"]
    assert item["RowsRejected"] == 0 and recorded() == ()

    # Per row or on distinct values, the same rows are rejected.
    third, item = run_file(stack, tmp_path, "t/patterns-3.csv", ("\n".join(dirty) + "\n").encode())
    assert _validated_file(stack, third)["hints"]["per_row_patterns"] == []
    assert item["RowsRejected"] == 1 and recorded() == ("customer_email",)
