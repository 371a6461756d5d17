"""ErrorHandler: record a failed run and phrase the failure for people.

It receives the triggering S3 event's ``detail`` and the caught error
(``{"Error", "Cause"}``; for a failed function, Cause is Lambda's JSON
``{"errorMessage", "errorType", "stackTrace"}``). It writes one FAILED record
to the metadata table, removes the run's ``_work/`` files (best effort) and
returns ``{"message": ...}`` for the failure notification.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..data.excerpt import printable
from ..ports import Clock, MetadataTable, ObjectStore
from ..types import EventDict
from ._common import WORK_ROOT, Workspace, s3_uri
from .store_results import clean_work, iso_timestamp

__all__ = ["ErrorReport", "ErrorRequest", "describe_failure", "handle_error", "handler"]

logger = logging.getLogger(__name__)

MAX_CAUSE_CHARS = 8192
MAX_REASON_CHARS = 2000

_STAGES = {
    "validate": "ValidateData",
    "process_chunk": "ProcessChunk",
    "aggregate": "AggregateData",
    "store_results": "StoreResults",
}
_FRAME = re.compile(r"sluiceway[/\\]functions[/\\](validate|process_chunk|aggregate|store_results)\.py")


@dataclass(frozen=True)
class ErrorRequest:
    """The ErrorHandler state's parameters."""

    detail: Mapping[str, Any]
    error: str
    cause: str
    execution_id: str = ""
    execution_name: str = ""
    started_at: str = ""

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> ErrorRequest:
        error = event.get("error") or {}
        detail = event.get("detail")
        return cls(
            detail=detail if isinstance(detail, Mapping) else {},
            error=str(error.get("Error") or "States.Runtime") if isinstance(error, Mapping) else str(error),
            cause=str(error.get("Cause") or "") if isinstance(error, Mapping) else "",
            execution_id=str(event.get("execution_id") or ""),
            execution_name=str(event.get("execution_name") or ""),
            started_at=str(event.get("started_at") or ""),
        )

    @property
    def bucket(self) -> str:
        bucket = self.detail.get("bucket") or {}
        return str(bucket.get("name") or "") if isinstance(bucket, Mapping) else ""

    @property
    def object(self) -> Mapping[str, Any]:
        found = self.detail.get("object") or {}
        return found if isinstance(found, Mapping) else {}


@dataclass(frozen=True)
class ErrorReport:
    message: str
    record: str
    error: str
    stage: str | None
    reason: str

    def to_event(self) -> EventDict:
        return {
            "message": self.message,
            "record": self.record,
            "error": self.error,
            "stage": self.stage,
            "reason": self.reason,
        }


def describe_failure(error: str, cause: str, uri: str) -> tuple[str | None, str, str]:
    """(stage, error type, reason) from an ASL error and its cause.

    The stage is read from the failing function's stack trace when there is one.
    """
    stage: str | None = None
    kind = error
    reason = cause.strip()
    try:
        parsed = json.loads(cause) if cause.strip().startswith("{") else None
    except ValueError:
        parsed = None
    if isinstance(parsed, Mapping):
        reason = str(parsed.get("errorMessage") or parsed.get("Cause") or reason)
        kind = str(parsed.get("errorType") or error)
        trace = parsed.get("stackTrace")
        text = json.dumps(trace) if trace is not None else ""
        frames = _FRAME.findall(text)
        if frames:
            stage = _STAGES[frames[0]]  # the outermost stage frame is the entrypoint
    if not reason:
        reason = {
            "States.Timeout": "it timed out",
            "States.HeartbeatTimeout": "it stopped sending heartbeats",
            "States.DataLimitExceeded": "a state's data exceeded the payload limit",
        }.get(error, error)
    if reason.startswith(uri + ": "):
        reason = reason[len(uri) + 2 :]
    elif reason.startswith(uri + " "):
        reason = "the file " + reason[len(uri) + 1 :]
    # Whatever raised may have quoted data: what reaches the record, the notification and a
    # terminal never carries a raw control or escape character. (Backslashes stay single: our
    # own messages quote file content as escaped excerpts already.)
    reason = printable(reason, keep="\n\\")
    if len(reason) > MAX_REASON_CHARS:
        reason = reason[:MAX_REASON_CHARS] + "…"
    return stage, kind, reason


def handle_error(
    request: ErrorRequest,
    *,
    table: MetadataTable,
    objects: ObjectStore,
    clock: Clock,
    workspace: Workspace,
    pipeline: str | None = None,
) -> ErrorReport:
    """Write the FAILED record and return the notification message."""
    key = str(request.object.get("key") or "")
    uri = s3_uri(request.bucket, key) if request.bucket and key else ""
    stage, kind, reason = describe_failure(request.error, request.cause, uri or "s3://")
    record_id = request.execution_id or request.execution_name or f"unknown:{uri or request.error}"
    subject = f"file {uri}" if uri else (f"run {request.execution_name}" if request.execution_name else "a run")
    message = f"{subject} failed" + (f" in {stage}" if stage else "") + f": {reason}"
    item: dict[str, Any] = {
        "ExecutionId": record_id,
        "Timestamp": iso_timestamp(clock.now()),
        "Status": "FAILED",
        "InputBucket": request.bucket or None,
        "InputKey": key or None,
        "InputEtag": str(request.object.get("etag") or "") or None,
        "Error": request.error,
        "ErrorType": kind,
        "Cause": request.cause[:MAX_CAUSE_CHARS],
        "Message": message,
        "FailedStage": stage,
        "StartedAt": request.started_at or None,
    }
    if pipeline:
        item["Pipeline"] = pipeline
    table.put(item)
    if request.execution_name:
        try:
            clean_work(objects, workspace.output_bucket, f"{WORK_ROOT}/{request.execution_name}")
        except Exception:  # the record and the message matter more than the cleanup
            logger.warning(
                "could not clean the run's work files",
                extra={"execution": request.execution_name},
                exc_info=True,
            )
    logger.info("failure recorded", extra={"execution": record_id, "error": request.error, "stage": stage})
    return ErrorReport(message=message, record=record_id, error=request.error, stage=stage, reason=reason)


def handler(event: EventDict, context: Any) -> EventDict:
    """Lambda entrypoint for ErrorHandler."""
    from ..services import get_services

    services = get_services()
    return handle_error(
        ErrorRequest.from_event(event),
        table=services.table,
        objects=services.objects,
        clock=services.clock,
        workspace=Workspace.from_settings(services.settings),
        pipeline=services.pipeline.name,
    ).to_event()
