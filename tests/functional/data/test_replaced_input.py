"""A run reads the version of its input that triggered it: a file replaced meanwhile fails the run cleanly."""

from __future__ import annotations

import os
from typing import Any

import pytest

from sluiceway.errors import DataError
from sluiceway.functions.aggregate import AggregateRequest, aggregate
from sluiceway.functions.process_chunk import ChunkRequest, process_chunk
from sluiceway.functions.validate import ValidateRequest, validate

Harness = Any  # the ``harness`` fixture from conftest.py
INPUT = "in-bucket"

HEADER = b"order_id,order_date,region,product,quantity,unit_price,customer_email\n"


def rows(start: int, count: int, region: str) -> bytes:
    return b"".join(f"{i},2024-03-01,{region},Widget,2,3.50,c{i}@example.com\n".encode() for i in range(start, start + count))


@pytest.mark.parametrize("how", ["replaced", "rewritten in place, same size"])
def test_a_chunk_of_a_replaced_file_fails_the_run_instead_of_mixing_versions(harness: Harness, how: str) -> None:
    config = harness.with_config(chunk_size_mb=0.001)
    first = HEADER + rows(1, 200, "north")
    info = harness.store.put(INPUT, "sales.csv", first)
    services: dict[str, Any] = {"objects": harness.store, "pipeline": config, "workspace": harness.workspace, "clock": harness.clock}
    planned = validate(ValidateRequest(INPUT, "sales.csv", info.etag, "arn:run", "run", "2026-01-01T00:00:00Z"), **services)
    assert len(planned.chunks) > 2
    one = process_chunk(ChunkRequest.from_event({"file": planned.file.to_event(), "chunk": planned.chunks[0].to_event()}), **services)

    second = HEADER + rows(1, 200, "south")  # same size: only the region changed
    assert len(second) == len(first)
    if how == "replaced":
        harness.store.put(INPUT, "sales.csv", second)
    else:
        path = harness.store.bucket_path(INPUT) / "sales.csv"
        with open(path, "r+b") as f:
            f.write(second)
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))

    with pytest.raises(DataError, match="changed while this run read it.*the new version has its own run"):
        process_chunk(ChunkRequest.from_event({"file": planned.file.to_event(), "chunk": planned.chunks[1].to_event()}), **services)
    # AggregateData reads chunks again (unique keys across chunks): pinned the same way.
    with pytest.raises(DataError, match="changed while this run read it"):
        aggregate(AggregateRequest.from_event({"file": planned.file.to_event(), "chunks": [one.to_event()] * 2}), **services)


def test_validate_refuses_a_file_that_changed_since_its_event(harness: Harness) -> None:
    old = harness.store.put(INPUT, "sales.csv", HEADER + rows(1, 5, "north"))
    harness.store.put(INPUT, "sales.csv", HEADER + rows(1, 9, "north"))
    services: dict[str, Any] = {
        "objects": harness.store,
        "pipeline": harness.config,
        "workspace": harness.workspace,
        "clock": harness.clock,
    }
    with pytest.raises(DataError, match="changed after the event"):
        validate(ValidateRequest(INPUT, "sales.csv", old.etag, "arn:run", "run", "2026-01-01T00:00:00Z"), **services)
