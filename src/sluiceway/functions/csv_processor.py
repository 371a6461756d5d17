"""The "csv-fanout" preset's first stage: read a CSV that landed, publish a summary to a topic.

The topic fans out to a queue whose consumer (:mod:`.sqs_consumer`) writes the
summary object. A file that cannot be read as CSV is published too, with its
error, so the failure travels the same way and ends in a summary marked FAILED.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import dataclass
from typing import Any

from ..ports import ObjectStore, Topic
from ..types import JSON, EventDict

logger = logging.getLogger(__name__)

__all__ = ["handler", "summarize_csv"]

TOPIC = "csv-processed"
_MAX_COLUMNS_REPORTED = 50


@dataclass(frozen=True)
class CsvSummary:
    bucket: str
    key: str
    etag: str | None
    status: str
    rows: int = 0
    columns: tuple[str, ...] = ()
    empty_cells: int = 0
    error: str | None = None

    def to_message(self) -> str:
        return json.dumps(
            {
                "bucket": self.bucket,
                "key": self.key,
                "etag": self.etag,
                "status": self.status,
                "rows": self.rows,
                "columns": list(self.columns[:_MAX_COLUMNS_REPORTED]),
                "empty_cells": self.empty_cells,
                "error": self.error,
            },
            separators=(",", ":"),
        )


def summarize_csv(bucket: str, key: str, etag: str | None, data: bytes) -> CsvSummary:
    """Count rows and empty cells; any problem becomes a FAILED summary naming the line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return CsvSummary(bucket, key, etag, "FAILED", error=f"not UTF-8 text (byte {exc.start})")
    if "\x00" in text:
        return CsvSummary(bucket, key, etag, "FAILED", error="binary content (a NUL byte)")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return CsvSummary(bucket, key, etag, "FAILED", error="the file is empty")
    except csv.Error as exc:
        return CsvSummary(bucket, key, etag, "FAILED", error=f"line 1: {exc}")
    rows = empty = 0
    try:
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                return CsvSummary(
                    bucket,
                    key,
                    etag,
                    "FAILED",
                    rows=rows,
                    columns=tuple(header),
                    error=f"line {reader.line_num}: {len(row)} fields where the header has {len(header)}",
                )
            rows += 1
            empty += sum(1 for cell in row if cell == "")
    except csv.Error as exc:
        return CsvSummary(bucket, key, etag, "FAILED", rows=rows, columns=tuple(header), error=f"line {reader.line_num}: {exc}")
    return CsvSummary(bucket, key, etag, "SUCCEEDED", rows=rows, columns=tuple(header), empty_cells=empty)


def process(event: EventDict, *, objects: ObjectStore, topic: Topic) -> dict[str, JSON]:
    detail = event.get("detail") or {}
    bucket = (detail.get("bucket") or {}).get("name")
    obj = detail.get("object") or {}
    if not isinstance(bucket, str) or not isinstance(obj.get("key"), str):
        raise ValueError("expected an S3 Object Created event with detail.bucket.name and detail.object.key")
    summary = summarize_csv(bucket, obj["key"], obj.get("etag"), objects.get(bucket, obj["key"]))
    message_id = topic.publish(TOPIC, summary.to_message(), subject="CSV processed", attributes={"status": summary.status})
    return {"status": summary.status, "message_id": message_id, "rows": summary.rows}


def handler(event: EventDict, context: Any) -> EventDict:
    """Lambda entrypoint: an EventBridge rule (.csv objects) targets this function."""
    from ..services import get_services

    services = get_services()
    return process(event, objects=services.objects, topic=services.topic)
