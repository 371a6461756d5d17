"""The "json-records" preset: a JSON document lands under ``incoming/`` → one record → a notification.

Each object becomes one item keyed ``pk`` = the document's ``id`` (or, when it
has none, the object key). The write is conditional, so a second delivery of
the same object (a redelivered or replayed event) writes nothing new and
notifies nobody again. A document that is not valid JSON becomes a FAILED
record naming the line and column, and a failure notification: it never crashes
the worker and never disappears.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import ConflictError, NotFoundError
from ..ports import MetadataTable, ObjectStore, Topic
from ..types import JSON, EventDict

logger = logging.getLogger(__name__)

__all__ = ["RecordRequest", "handler", "record_document"]

TABLE = "events"
PARTITION_KEY = "pk"
TOPIC = "events-notify"
MAX_PK_LENGTH = 1024


@dataclass(frozen=True)
class RecordRequest:
    """The object an EventBridge "Object Created" event names."""

    bucket: str
    key: str
    etag: str | None = None

    @classmethod
    def from_event(cls, event: EventDict) -> RecordRequest:
        try:
            detail = event["detail"]
            return cls(detail["bucket"]["name"], detail["object"]["key"], detail["object"].get("etag"))
        except (KeyError, TypeError):
            raise ValueError("expected an S3 Object Created event with detail.bucket.name and detail.object.key") from None


def record_document(request: RecordRequest, *, objects: ObjectStore, table: MetadataTable, topic: Topic, now: datetime) -> dict[str, JSON]:
    """Store one record for the document and notify; idempotent per object.

    Returns:
        ``{"status": "RECORDED" | "DUPLICATE" | "FAILED", "pk": ..., ...}``.
    """
    stamp = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    try:
        body = objects.get(request.bucket, request.key)
    except NotFoundError:
        # Deleted before we got to it: nothing to record; the event is not lost, just moot.
        logger.warning("object vanished before processing", extra={"bucket": request.bucket, "key": request.key})
        return {"status": "MISSING", "key": request.key}
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        return _failed(request, f"not UTF-8 text (byte {exc.start})", table, topic, stamp)
    except json.JSONDecodeError as exc:
        return _failed(request, f"not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}", table, topic, stamp)
    pk = _partition_key(document, request.key)
    item: dict[str, Any] = {
        PARTITION_KEY: pk,
        "payload": document,
        "SourceBucket": request.bucket,
        "SourceKey": request.key,
        "SourceEtag": request.etag,
        "Status": "RECORDED",
        "Timestamp": stamp,
    }
    try:
        table.put(item, if_absent=True)
    except ConflictError:
        logger.info("document already recorded", extra={"pk": pk, "key": request.key})
        return {"status": "DUPLICATE", "pk": pk, "key": request.key}
    topic.publish(TOPIC, f"New file processed: {request.key}", subject="S3 Event Processed", attributes={"status": "RECORDED"})
    return {"status": "RECORDED", "pk": pk, "key": request.key}


def _partition_key(document: JSON, key: str) -> str:
    candidate = document.get("id") if isinstance(document, dict) else None
    if isinstance(candidate, bool) or not isinstance(candidate, str | int | float) or str(candidate) == "":
        return key
    text = str(candidate)
    return text if len(text.encode()) <= MAX_PK_LENGTH else key


def _failed(request: RecordRequest, reason: str, table: MetadataTable, topic: Topic, stamp: str) -> dict[str, JSON]:
    message = f"Failed to process s3://{request.bucket}/{request.key}: {reason}"
    try:
        table.put(
            {
                PARTITION_KEY: request.key,
                "Status": "FAILED",
                "Reason": reason,
                "SourceBucket": request.bucket,
                "SourceKey": request.key,
                "SourceEtag": request.etag,
                "Timestamp": stamp,
            },
            if_absent=True,
        )
    except ConflictError:
        return {"status": "DUPLICATE", "pk": request.key, "key": request.key}
    topic.publish(TOPIC, message, subject="S3 Event Failed", attributes={"status": "FAILED"})
    logger.warning("document rejected", extra={"key": request.key, "reason": reason})
    return {"status": "FAILED", "pk": request.key, "key": request.key, "reason": reason}


def handler(event: EventDict, context: Any) -> EventDict:
    """Lambda entrypoint: an EventBridge rule (incoming/*.json) targets this function."""
    from ..services import get_services

    services = get_services()
    return record_document(
        RecordRequest.from_event(event),
        objects=services.objects,
        table=services.table_named(TABLE, PARTITION_KEY),
        topic=services.topic,
        now=services.clock.now(),
    )
