"""StoreResults: write result.json and the run's metadata record, then clean the run's ``_work/`` files.

result.json (in ``<prefix>/<input key>/<execution name>/``)::

    {"pipeline", "execution_id", "execution_name", "started_at", "finished_at",
     "input": {"bucket", "key", "etag", "size"},
     "rows_read", "rows_valid", "rows_rejected",
     "columns": [...], "results": [{column: value}...], "results_count", "results_csv", "rejects",
     "durations": {"validate_ms", "process_ms", "aggregate_ms", "store_ms"}}

``results`` holds at most :data:`MAX_EMBEDDED_ROWS` rows (``results_truncated`` says
when there were more; results.csv always has them all).

The metadata record (one per execution, keyed by ExecutionId = the execution ARN)::

    ExecutionId, Timestamp, Status="SUCCEEDED", Pipeline, InputBucket, InputKey, InputEtag,
    RowsRead, RowsValid, RowsRejected, Durations{validate_ms, process_ms, aggregate_ms, store_ms},
    OutputLocation, RejectsLocation, ResultsLocation
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..errors import NotFoundError
from ..ports import Clock, MetadataTable, ObjectStore
from ..types import EventDict
from ._common import FileRef, s3_uri, split_uri

__all__ = [
    "MAX_EMBEDDED_ROWS",
    "StoreRequest",
    "StoreResult",
    "clean_work",
    "handler",
    "iso_timestamp",
    "store_results",
]

logger = logging.getLogger(__name__)

MAX_EMBEDDED_ROWS = 10_000
RESULT_JSON = "result.json"


def iso_timestamp(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``: sorts as text, as the run list does."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.astimezone(UTC).microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class StoreRequest:
    """The file, ValidateData's duration and AggregateData's result."""

    file: FileRef
    validation_ms: float
    aggregate: Mapping[str, Any]

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> StoreRequest:
        return cls(
            FileRef.from_event(event["file"]),
            float(event.get("validation_ms") or 0.0),
            dict(event.get("aggregate") or {}),
        )


@dataclass(frozen=True)
class StoreResult:
    output: str
    rejects: str | None
    record: str
    duration_ms: float

    def to_event(self) -> EventDict:
        return {
            "output": self.output,
            "rejects": self.rejects,
            "record": self.record,
            "duration_ms": self.duration_ms,
        }


def store_results(
    request: StoreRequest,
    *,
    objects: ObjectStore,
    table: MetadataTable,
    clock: Clock,
) -> StoreResult:
    """Write result.json and the SUCCEEDED metadata record; delete the run's ``_work/`` files.

    Safe to run again after a crash at any point (the orchestrator runs a task again when
    its outcome was not committed): result.json is the commit point. Once it exists for
    this execution, a later attempt takes the document from it instead of from the
    ``_work/`` files an earlier attempt may already have deleted, and writes the same
    record again.
    """
    started = clock.monotonic()
    file = request.file
    output_key = file.output_key(RESULT_JSON)
    output = s3_uri(file.output_bucket, output_key)
    document = _stored_document(objects, file, output_key)
    if document is None:
        document = _document(request, objects, clock)
        document["durations"]["store_ms"] = round((clock.monotonic() - started) * 1000, 3)
        objects.put(
            file.output_bucket,
            output_key,
            json.dumps(document, indent=2).encode(),
            content_type="application/json",
        )
    else:
        logger.info("results were stored by an earlier attempt", extra={"file": file.uri, "output": output})
    record_id = file.execution_id or file.execution_name
    table.put(_record(record_id, file, document, output))
    try:
        clean_work(objects, file.output_bucket, file.work_prefix)
    except Exception:  # noqa: BLE001 -- the results are stored: leftovers must not fail the run
        logger.warning("could not clean the run's work files", extra={"file": file.uri, "work": file.work_prefix}, exc_info=True)
    duration = round((clock.monotonic() - started) * 1000, 3)
    logger.info("results stored", extra={"file": file.uri, "output": output, "duration_ms": duration})
    return StoreResult(output=output, rejects=document.get("rejects"), record=record_id, duration_ms=duration)


def _stored_document(objects: ObjectStore, file: FileRef, output_key: str) -> dict[str, Any] | None:
    """result.json as an earlier attempt of this execution wrote it, or None."""
    try:
        stored = json.loads(objects.get(file.output_bucket, output_key))
    except NotFoundError:
        return None
    except ValueError:
        return None  # not ours (writes are atomic, so never a torn one of ours): written again
    if not isinstance(stored, dict) or stored.get("execution_name") != file.execution_name:
        return None
    return stored


def _document(request: StoreRequest, objects: ObjectStore, clock: Clock) -> dict[str, Any]:
    """result.json's content from AggregateData's result and its ``_work/`` results."""
    file, agg = request.file, request.aggregate
    result = agg.get("result") or {}
    columns: list[Any] = list(result.get("columns") or [])
    rows: list[Any] = []
    if result.get("data"):
        bucket, key = split_uri(str(result["data"]))
        loaded = json.loads(objects.get(bucket, key))
        columns, rows = list(loaded.get("columns") or columns), list(loaded.get("rows") or [])
    document: dict[str, Any] = {
        "pipeline": file.pipeline,
        "execution_id": file.execution_id,
        "execution_name": file.execution_name,
        "started_at": file.started_at,
        "finished_at": iso_timestamp(clock.now()),
        "input": {"bucket": file.bucket, "key": file.key, "etag": file.etag, "size": file.size},
        "rows_read": int(agg.get("rows_read") or 0),
        "rows_valid": int(agg.get("rows_valid") or 0),
        "rows_rejected": int(agg.get("rows_rejected") or 0),
        "columns": columns,
        "results": rows[:MAX_EMBEDDED_ROWS],
        "results_count": len(rows),
        "results_csv": result.get("csv"),
        "rejects": agg.get("rejects"),
        "durations": {
            "validate_ms": round(request.validation_ms, 3),
            "process_ms": round(float(agg.get("process_ms") or 0.0), 3),
            "aggregate_ms": round(float(agg.get("duration_ms") or 0.0), 3),
            "store_ms": 0.0,
        },
    }
    if len(rows) > MAX_EMBEDDED_ROWS:
        document["results_truncated"] = True
    return document


def _record(record_id: str, file: FileRef, document: Mapping[str, Any], output: str) -> dict[str, Any]:
    """The SUCCEEDED metadata record: a function of result.json, so every attempt writes the same one."""
    return {
        "ExecutionId": record_id,
        "Timestamp": document["finished_at"],
        "Status": "SUCCEEDED",
        "Pipeline": file.pipeline,
        "InputBucket": file.bucket,
        "InputKey": file.key,
        "InputEtag": file.etag,
        "RowsRead": document["rows_read"],
        "RowsValid": document["rows_valid"],
        "RowsRejected": document["rows_rejected"],
        "Durations": document["durations"],
        "OutputLocation": output,
        "RejectsLocation": document.get("rejects"),
        "ResultsLocation": document.get("results_csv"),
    }


def clean_work(objects: ObjectStore, bucket: str, prefix: str) -> int:
    """Delete every object under ``prefix/``; return how many."""
    removed = 0
    for info in list(objects.list(bucket, prefix.rstrip("/") + "/")):
        objects.delete(bucket, info.key)
        removed += 1
    return removed


def handler(event: EventDict, context: Any) -> EventDict:
    """Lambda entrypoint for StoreResults."""
    from ..services import get_services

    services = get_services()
    return store_results(
        StoreRequest.from_event(event),
        objects=services.objects,
        table=services.table,
        clock=services.clock,
    ).to_event()
