"""The pipeline's stages chained by hand, as the state machine would, on local backends in tmp_path."""

from __future__ import annotations

import csv
import io
import json
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.objects import FileObjectStore
from sluiceway.backends.local.tables import SqliteTable
from sluiceway.clock import FakeClock
from sluiceway.config import PipelineConfig, load_config, packaged_config_path
from sluiceway.functions._common import Workspace, split_uri
from sluiceway.functions.aggregate import AggregateRequest, aggregate
from sluiceway.functions.error_handler import ErrorRequest, handle_error
from sluiceway.functions.process_chunk import ChunkRequest, process_chunk
from sluiceway.functions.store_results import StoreRequest, store_results
from sluiceway.functions.validate import ValidateRequest, validate

INPUT = "in-bucket"
OUTPUT = "out-bucket"


@dataclass
class Run:
    """Everything one run produced."""

    key: str
    validation: dict[str, Any] | None = None
    chunks: list[dict[str, Any]] = field(default_factory=list)
    aggregate: dict[str, Any] | None = None
    stored: dict[str, Any] | None = None
    error: BaseException | None = None
    failure: dict[str, Any] | None = None
    record: dict[str, Any] | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None


class Harness:
    """Runs files through validate -> process chunks -> aggregate -> store (or the error handler)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.store = FileObjectStore(root / "buckets")
        self.store.ensure_bucket(INPUT)
        self.store.ensure_bucket(OUTPUT)
        self.db = Database(root / "meta.db")
        self.table = SqliteTable(self.db, "ProcessingMetadata")
        self.clock = FakeClock()
        self.workspace = Workspace(OUTPUT, root / "scratch")
        self.config: PipelineConfig = load_config(packaged_config_path())
        self.runs = 0

    def with_config(self, **changes: Any) -> PipelineConfig:
        self.config = self.config.model_copy(update=changes)
        return self.config

    def run(self, key: str, data: bytes | None = None, *, config: PipelineConfig | None = None) -> Run:
        config = config or self.config
        if data is not None:
            self.store.put(INPUT, key, data)
        info = self.store.head(INPUT, key)
        self.runs += 1
        name = f"run-{self.runs}"
        execution_id = f"arn:aws:states:us-east-1:111111111111:execution:DataProcessingWorkflow:{name}"
        run = Run(key)
        services = {
            "objects": self.store,
            "pipeline": config,
            "workspace": self.workspace,
            "clock": self.clock,
        }
        try:
            request = ValidateRequest(INPUT, key, info.etag, execution_id, name, "2026-01-01T00:00:00Z")
            run.validation = validate(request, **services).to_event()  # type: ignore[arg-type]
            for chunk in run.validation["chunks"]:
                item = {"file": run.validation["file"], "chunk": chunk}
                run.chunks.append(process_chunk(ChunkRequest.from_event(item), **services).to_event())  # type: ignore[arg-type]
            run.aggregate = aggregate(
                AggregateRequest.from_event({"file": run.validation["file"], "chunks": run.chunks}),
                **services,  # type: ignore[arg-type]
            ).to_event()
            run.stored = store_results(
                StoreRequest.from_event(
                    {
                        "file": run.validation["file"],
                        "validation_ms": run.validation["duration_ms"],
                        "aggregate": run.aggregate,
                    }
                ),
                objects=self.store,
                table=self.table,
                clock=self.clock,
            ).to_event()
        except Exception as exc:  # what the state machine's Catch hands the ErrorHandler
            run.error = exc
            cause = {
                "errorMessage": str(exc),
                "errorType": type(exc).__name__,
                "stackTrace": traceback.format_tb(exc.__traceback__),
            }
            event = {
                "detail": {
                    "bucket": {"name": INPUT},
                    "object": {"key": key, "etag": info.etag, "size": info.size},
                },
                "error": {"Error": type(exc).__name__, "Cause": json.dumps(cause)},
                "execution_id": execution_id,
                "execution_name": name,
                "started_at": "2026-01-01T00:00:00Z",
            }
            run.failure = handle_error(
                ErrorRequest.from_event(event),
                table=self.table,
                objects=self.store,
                clock=self.clock,
                workspace=self.workspace,
                pipeline=config.name,
            ).to_event()
        run.record = self.table.get({"ExecutionId": execution_id})
        return run

    def text(self, uri: str) -> str:
        bucket, key = split_uri(uri)
        return self.store.get(bucket, key).decode("utf-8")

    def csv(self, uri: str) -> list[list[str]]:
        return list(csv.reader(io.StringIO(self.text(uri), newline="")))

    def json(self, uri: str) -> Any:
        return json.loads(self.text(uri))

    def work_files(self) -> list[str]:
        return [info.key for info in self.store.list(OUTPUT, "_work/")]


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path)
    yield h
    h.db.close()
