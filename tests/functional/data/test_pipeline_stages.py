"""The stages chained by hand on local backends: the files a pipeline meets, end to end."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import duckdb
import pytest

from sluiceway.config import parse_config
from sluiceway.data.samples import write_sales_csv, write_samples
from sluiceway.errors import ConfigError, DataError
from sluiceway.functions.aggregate import AggregateRequest, aggregate
from sluiceway.functions.process_chunk import ChunkRequest, process_chunk

INPUT = "in-bucket"
OUTPUT = "out-bucket"
Harness = Any  # the ``harness`` fixture from conftest.py
HEADER = b"order_id,order_date,region,product,quantity,unit_price,customer_email\n"


def sales(tmp_path: Path, rows: int, *, seed: int = 0, start_id: int = 1, header: bool = True) -> bytes:
    path = tmp_path / f"gen-{rows}-{seed}-{start_id}.csv"
    write_sales_csv(path, rows=rows, seed=seed, start_id=start_id, header=header)
    return path.read_bytes()


def row(
    order_id: int,
    *,
    region: str = "north",
    product: str = "Mug",
    quantity: str = "2",
    price: str = "3.50",
) -> bytes:
    return f"{order_id},2024-05-01,{region},{product},{quantity},{price},c{order_id}@example.com\n".encode()


def plain_duckdb(path: Path) -> list[tuple[object, ...]]:
    return duckdb.sql(
        f"""SELECT region, count(*), sum(quantity * unit_price), avg(quantity * unit_price), sum(quantity),
                   min(unit_price), max(unit_price), count(DISTINCT customer_email), count(DISTINCT product)
            FROM read_csv('{path}') GROUP BY region ORDER BY region"""
    ).fetchall()


def test_a_good_file_matches_plain_duckdb(harness: Harness, tmp_path: Path) -> None:
    data = sales(tmp_path, 5000, seed=2)
    harness.with_config(chunk_size_mb=0.05)
    run = harness.run("daily/sales.csv", data)
    assert run.succeeded, run.failure
    assert run.validation is not None and len(run.validation["chunks"]) == 8
    assert run.validation["max_concurrency"] == 4
    assert run.aggregate is not None
    assert (
        run.aggregate["rows_read"],
        run.aggregate["rows_valid"],
        run.aggregate["rows_rejected"],
    ) == (5000, 5000, 0)
    assert run.aggregate["rejects"] is None

    assert run.stored is not None
    prefix = f"s3://{OUTPUT}/results/daily/sales.csv/run-1"
    assert run.stored["output"] == f"{prefix}/result.json"
    result = harness.json(run.stored["output"])
    (tmp_path / "whole.csv").write_bytes(data)
    expected = plain_duckdb(tmp_path / "whole.csv")
    got = [
        (
            r["region"],
            r["orders"],
            r["revenue"],
            r["mean_order_value"],
            r["units"],
            r["min_unit_price"],
            r["max_unit_price"],
            r["customers"],
            r["products"],
        )
        for r in result["results"]
    ]
    assert len(got) == len(expected) == 5
    for mine, theirs in zip(got, expected, strict=True):
        assert mine[0] == theirs[0] and mine[1] == theirs[1] and mine[4:] == theirs[4:]
        assert mine[2] == pytest.approx(theirs[2]) and mine[3] == pytest.approx(theirs[3])
    assert result["input"] == {
        "bucket": INPUT,
        "key": "daily/sales.csv",
        "etag": hashlib.md5(data).hexdigest(),
        "size": len(data),
    }
    assert result["rows_read"] == 5000 and result["results_csv"] == f"{prefix}/results.csv"
    assert harness.csv(f"{prefix}/results.csv")[0][:3] == ["region", "orders", "revenue"]

    record = run.record
    assert record is not None
    assert record["Status"] == "SUCCEEDED" and record["ExecutionId"].endswith(":run-1")
    assert (record["InputBucket"], record["InputKey"]) == (INPUT, "daily/sales.csv")
    assert (record["RowsRead"], record["RowsValid"], record["RowsRejected"]) == (5000, 5000, 0)
    assert set(record["Durations"]) == {"validate_ms", "process_ms", "aggregate_ms", "store_ms"}
    assert record["OutputLocation"] == run.stored["output"] and record["RejectsLocation"] is None
    assert record["Timestamp"] == "2026-01-01T00:00:00.000Z"
    assert harness.work_files() == []
    assert harness.store.get(INPUT, "daily/sales.csv") == data  # the input is untouched


def test_bad_rows_are_rejected_with_their_lines(harness: Harness, tmp_path: Path) -> None:
    sample = next(s for s in write_samples(tmp_path / "samples", seed=5, scale=0.001) if s.name == "sales-with-bad-rows.csv")
    harness.with_config(chunk_size_mb=0.03)
    run = harness.run(sample.name, sample.path.read_bytes())
    assert run.succeeded and run.aggregate is not None
    assert run.aggregate["rows_read"] == sample.rows
    assert run.aggregate["rows_rejected"] == sample.bad_rows
    rejects = harness.csv(run.aggregate["rejects"])
    assert rejects[0] == ["line", "column", "value", "reason"]
    lines = sample.path.read_text(encoding="utf-8").split("\n")
    assert len({r[0] for r in rejects[1:]}) == sample.bad_rows
    for line, column, value, reason in rejects[1:]:
        assert value in lines[int(line) - 1] or column == "", (line, value)
        assert reason
    reasons = {r[3].split(" (")[0].split(":")[0] for r in rejects[1:]}
    assert {
        "not a valid integer",
        "less than the minimum 1",
        "required value is missing",
        "expected 7 fields, found 4",
        "duplicate value of unique column order_id",
    } <= reasons
    assert run.record is not None and run.record["RowsRejected"] == sample.bad_rows
    assert run.record["RejectsLocation"] == run.aggregate["rejects"]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        (
            "broken.csv",
            b"order_id,order_date\n\x00\x01\x02garbage",
            "line 2: contains NUL bytes (the first at offset 20): not a text file",
        ),
        ("empty.csv", b"", "the file is empty (0 bytes)"),
        ("blank.csv", b"\n\n", "the file has no header and no rows (only blank lines)"),
        (
            "wrong.csv",
            b"id,date\n1,2\n",
            "line 1: the header does not match the schema: missing columns order_id",
        ),
        (
            "archive.csv",
            b"\x1f\x8b\x08rest",
            "the file is not a CSV text file: it is gzip-compressed",
        ),
    ],
)
def test_unusable_files_fail_with_a_clear_message(harness: Harness, name: str, data: bytes, reason: str) -> None:
    run = harness.run(name, data)
    assert isinstance(run.error, DataError)
    assert run.failure is not None
    assert run.failure["message"].startswith(f"file s3://{INPUT}/{name} failed in ValidateData: {reason}")
    assert run.failure["stage"] == "ValidateData"
    record = run.record
    assert record is not None and record["Status"] == "FAILED"
    assert record["Error"] == "DataError" and record["InputKey"] == name and record["FailedStage"] == "ValidateData"
    assert "errorMessage" in record["Cause"]
    assert list(harness.store.list(OUTPUT, "results/")) == []


def test_a_header_only_file_has_no_rows(harness: Harness) -> None:
    run = harness.run("empty-day.csv", HEADER)
    assert run.succeeded and run.validation is not None and run.validation["chunks"] == []
    assert run.aggregate is not None and run.aggregate["rows_read"] == 0 and run.aggregate["result"]["rows"] == 0
    assert run.record is not None and run.record["RowsRead"] == 0


def test_a_quoted_line_break_across_a_chunk_boundary(harness: Harness) -> None:
    long_product = '"' + "line\n" * 200 + 'end"'
    body = b"".join(row(i) for i in range(1, 40))
    body += row(40, product=long_product)
    body += b"".join(row(i) for i in range(41, 80))
    body += row(80, quantity="0")
    harness.with_config(chunk_size_mb=0.001)
    run = harness.run("multi.csv", HEADER + body)
    assert run.succeeded and run.validation is not None and run.aggregate is not None
    assert len(run.validation["chunks"]) > 4
    assert (run.aggregate["rows_read"], run.aggregate["rows_rejected"]) == (80, 1)
    rejects = harness.csv(run.aggregate["rejects"])
    assert rejects[1] == [str(1 + 80 + 200), "quantity", "0", "less than the minimum 1"]


def test_byte_order_mark_crlf_and_a_bad_row(harness: Harness) -> None:
    data = b"\xef\xbb\xbf" + (HEADER + row(1) + row(2, region="mars") + row(3)).replace(b"\n", b"\r\n")
    run = harness.run("bom.csv", data)
    assert run.succeeded and run.aggregate is not None
    assert run.aggregate["rows_rejected"] == 1
    assert harness.csv(run.aggregate["rejects"])[1][:3] == ["3", "region", "mars"]


def test_a_one_megabyte_field(harness: Harness) -> None:
    product = "x" * (1024 * 1024)
    data = HEADER + row(1) + row(2, product=product) + row(3, quantity="-1")
    harness.with_config(chunk_size_mb=0.1)
    run = harness.run("big-field.csv", data)
    assert run.succeeded and run.aggregate is not None
    assert (run.aggregate["rows_read"], run.aggregate["rows_valid"]) == (3, 2)
    assert harness.csv(run.aggregate["rejects"])[1][:2] == ["4", "quantity"]


def test_latin1(harness: Harness) -> None:
    config = harness.with_config(csv=harness.config.csv.model_copy(update={"encoding": "latin-1"}))
    data = HEADER + row(1, product="Caf\xe9 cr\xe8me".encode("latin-1").decode("latin-1"))
    run = harness.run("latin.csv", data.decode("utf-8").encode("latin-1"), config=config)
    assert run.succeeded and run.aggregate is not None and run.aggregate["rows_valid"] == 1
    assert run.aggregate["rows_rejected"] == 0


def test_utf16_is_transcoded_and_chunked(harness: Harness) -> None:
    config = harness.with_config(csv=harness.config.csv.model_copy(update={"encoding": "utf-16"}), chunk_size_mb=0.002)
    text = (HEADER + b"".join(row(i, product="Caf\xc3\xa9".decode() if False else "Café") for i in range(1, 100))).decode()
    run = harness.run("wide.csv", text.encode("utf-16"), config=config)
    assert run.succeeded and run.validation is not None and run.aggregate is not None
    assert run.validation["file"]["source"]["key"] == "_work/run-1/source.csv"
    assert len(run.validation["chunks"]) > 1
    assert run.aggregate["rows_valid"] == 99
    assert harness.work_files() == []


def test_duplicate_ids_across_and_within_chunks(harness: Harness) -> None:
    body = b"".join(row(i) for i in range(1, 60))
    body += row(5, region="south")  # a later copy of id 5 (another chunk)
    body += row(100) + row(100)  # twice in a row (the same chunk)
    harness.with_config(chunk_size_mb=0.001)
    run = harness.run("dups.csv", HEADER + body)
    assert run.succeeded and run.aggregate is not None
    assert run.aggregate["duplicates"] == 2
    assert (
        run.aggregate["rows_read"],
        run.aggregate["rows_valid"],
        run.aggregate["rows_rejected"],
    ) == (62, 60, 2)
    rejects = harness.csv(run.aggregate["rejects"])[1:]
    assert rejects == [
        ["61", "order_id", "5", "duplicate value of unique column order_id (first on line 6)"],
        ["63", "order_id", "100", "duplicate value of unique column order_id (first on line 62)"],
    ]
    result = harness.json(run.stored["output"]) if run.stored else {}
    assert sum(r["orders"] for r in result["results"]) == 60
    assert all(r["region"] != "south" for r in result["results"])  # the duplicate's region never counted


def test_shuffled_unique_ids_without_duplicates(harness: Harness) -> None:
    ids = [7, 3, 9, 1, 8, 2, 6, 4, 5, 10] * 1
    body = b"".join(row(i * 1000 + j) for j in range(20) for i in ids)
    harness.with_config(chunk_size_mb=0.002)
    run = harness.run("shuffled.csv", HEADER + body)
    assert run.succeeded and run.aggregate is not None
    assert run.aggregate["rows_rejected"] == 0 and run.aggregate["duplicates"] == 0


def test_sql_processing_with_duplicates(harness: Harness) -> None:
    base = harness.config.model_dump(by_alias=True)
    base["processing"] = {
        "sql": "SELECT region, count(*) AS orders, sum(quantity) AS units FROM valid_rows GROUP BY region ORDER BY region"
    }
    config = harness.with_config(processing=parse_config(_yaml(base)).processing, chunk_size_mb=0.001)
    body = b"".join(row(i) for i in range(1, 30)) + row(3, region="south") + row(31, quantity="x")
    run = harness.run("sql.csv", HEADER + body, config=config)
    assert run.succeeded and run.aggregate is not None and run.stored is not None
    assert (
        run.aggregate["rows_read"],
        run.aggregate["rows_valid"],
        run.aggregate["rows_rejected"],
    ) == (31, 29, 2)
    assert harness.json(run.stored["output"])["results"] == [{"region": "north", "orders": 29, "units": 58}]
    assert [r[:2] for r in harness.csv(run.aggregate["rejects"])[1:]] == [
        ["31", "order_id"],
        ["32", "quantity"],
    ]


def _yaml(data: dict[str, object]) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False)


def test_a_retried_chunk_changes_nothing(harness: Harness) -> None:
    harness.with_config(chunk_size_mb=0.001)
    data = HEADER + b"".join(row(i) for i in range(1, 50)) + row(50, quantity="0")
    run = harness.run("retry.csv", data)
    assert run.validation is not None
    file, chunk = run.validation["file"], run.validation["chunks"][-1]
    services = {
        "objects": harness.store,
        "pipeline": harness.config,
        "workspace": harness.workspace,
        "clock": harness.clock,
    }
    first = process_chunk(ChunkRequest.from_event({"file": file, "chunk": chunk}), **services).to_event()  # type: ignore[arg-type]
    again = process_chunk(ChunkRequest.from_event({"file": file, "chunk": chunk}), **services).to_event()  # type: ignore[arg-type]
    assert first == again
    chunks = [process_chunk(ChunkRequest.from_event({"file": file, "chunk": c}), **services).to_event() for c in run.validation["chunks"]]  # type: ignore[arg-type]
    merged = aggregate(AggregateRequest.from_event({"file": file, "chunks": chunks}), **services).to_event()  # type: ignore[arg-type]
    assert run.aggregate is not None
    assert merged["rows_rejected"] == run.aggregate["rows_rejected"] == 1


def test_a_config_change_mid_run_is_refused(harness: Harness) -> None:
    run = harness.run("a.csv", HEADER + row(1))
    assert run.validation is not None
    changed = harness.config.model_copy(update={"max_concurrency": 9})
    with pytest.raises(ConfigError, match="the pipeline config changed during the run"):
        process_chunk(
            ChunkRequest.from_event({"file": run.validation["file"], "chunk": {"index": 0, "start": 0, "end": 1}}),
            objects=harness.store,
            pipeline=changed,
            workspace=harness.workspace,
            clock=harness.clock,
        )


def test_an_object_changed_after_its_event(harness: Harness) -> None:
    harness.store.put(INPUT, "moving.csv", HEADER + row(1))
    from sluiceway.functions.validate import ValidateRequest, validate

    request = ValidateRequest(INPUT, "moving.csv", "0" * 32, "arn:x", "run-x", "")
    with pytest.raises(DataError, match=r"s3://in-bucket/moving\.csv changed after the event"):
        validate(
            request,
            objects=harness.store,
            pipeline=harness.config,
            workspace=harness.workspace,
            clock=harness.clock,
        )
    request = ValidateRequest(INPUT, "gone.csv", "", "arn:x", "run-x", "")
    with pytest.raises(DataError, match=r"s3://in-bucket/gone\.csv does not exist"):
        validate(
            request,
            objects=harness.store,
            pipeline=harness.config,
            workspace=harness.workspace,
            clock=harness.clock,
        )


def test_the_demo_dataset_ends_as_expected(harness: Harness, tmp_path: Path) -> None:
    harness.with_config(chunk_size_mb=0.2)
    for sample in write_samples(tmp_path / "samples", seed=1, scale=0.02):
        run = harness.run(sample.name, sample.path.read_bytes())
        assert ("SUCCEEDED" if run.succeeded else "FAILED") == sample.expect, (
            sample.name,
            run.failure,
        )
        if run.succeeded:
            assert run.aggregate is not None
            assert run.aggregate["rows_read"] == sample.rows
            assert run.aggregate["rows_rejected"] == sample.bad_rows


def test_a_broken_pattern_is_checked_per_row_by_the_chunks_after_the_first(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    from sluiceway.functions._common import read_hints

    rows = [row(i) for i in range(1, 2001)]
    rows[3] = rows[3].replace(b"@example.com", b"-at-example.com")  # in the first chunk
    rows[1500] = rows[1500].replace(b"@example.com", b"-at-example.com")  # and in a later one
    harness.with_config(chunk_size_mb=0.02)
    with caplog.at_level("INFO", logger="sluiceway.data.validate"):
        run = harness.run("patterns.csv", HEADER + b"".join(rows))
    assert run.succeeded and run.aggregate is not None and len(run.chunks) > 3
    assert run.aggregate["rows_rejected"] == 2
    assert [r[1] for r in harness.csv(run.aggregate["rejects"])[1:]] == ["customer_email", "customer_email"]
    # Only the first chunk found out the hard way; it recorded the column for the chunks after it.
    assert sum("computing the chunk again" in r.getMessage() for r in caplog.records) == 1
    assert read_hints(harness.store, OUTPUT, harness.config.name).per_row_patterns == ("customer_email",)

    clean = harness.run("clean.csv", HEADER + b"".join(row(i) for i in range(1, 2001)))
    assert clean.succeeded and clean.validation is not None
    assert clean.validation["file"]["hints"]["per_row_patterns"] == ["customer_email"]
    assert read_hints(harness.store, OUTPUT, harness.config.name).per_row_patterns == ()


def test_sparse_ids_are_collected_in_the_pass_once_a_chunk_found_them_sparse(harness: Harness) -> None:
    from sluiceway.functions._common import read_hints

    harness.with_config(chunk_size_mb=0.02)
    sparse = harness.run("sparse.csv", HEADER + b"".join(row(3 * i) for i in range(1, 2001)))
    assert sparse.succeeded and sparse.aggregate is not None and len(sparse.chunks) > 3
    assert sparse.aggregate["rows_rejected"] == 0
    assert read_hints(harness.store, OUTPUT, harness.config.name).listed_keys == ("order_id",)
    assert all(c["unproven_keys"] == ["order_id"] for c in sparse.chunks)

    dense = harness.run("dense.csv", HEADER + b"".join(row(i) for i in range(1, 2001)))
    assert dense.succeeded and dense.validation is not None
    assert dense.validation["file"]["hints"]["listed_keys"] == ["order_id"]  # collected this time
    assert read_hints(harness.store, OUTPUT, harness.config.name).listed_keys == ()  # and not needed


def test_pipeline_sql_that_reaches_for_a_host_file_fails_the_run(harness: Harness, tmp_path: Path) -> None:
    # The config check refuses this at load time; a config that got past it still reads nothing but its rows.
    secret = tmp_path / "secret.txt"
    secret.write_text("top-secret")
    leaky = harness.config.processing.model_copy(
        update={"sql": f"SELECT content FROM read_text('{secret}')", "derived": {}, "group_by": [], "aggregations": {}}
    )
    harness.with_config(processing=leaky)
    run = harness.run("daily/leak.csv", HEADER + row(1))
    assert not run.succeeded
    assert isinstance(run.error, DataError) and "Permission Error" in str(run.error)
    assert run.record is not None and run.record["Status"] == "FAILED"
    assert "top-secret" not in str(run.record) and run.stored is None
