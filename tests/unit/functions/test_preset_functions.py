"""The presets' functions on in-memory fakes of the ports."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from sluiceway.errors import ConflictError, NotFoundError
from sluiceway.functions.csv_processor import process, summarize_csv
from sluiceway.functions.json_records import RecordRequest, record_document
from sluiceway.functions.sqs_consumer import consume
from sluiceway.ports import ObjectInfo

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class MemoryObjects:
    def __init__(self) -> None:
        self.data: dict[tuple[str, str], bytes] = {}

    def get(self, bucket: str, key: str, *, start: int | None = None, end: int | None = None) -> bytes:
        try:
            return self.data[(bucket, key)][start:end]
        except KeyError:
            raise NotFoundError(key) from None

    def put(self, bucket: str, key: str, data: bytes, **_: Any) -> ObjectInfo:
        self.data[(bucket, key)] = data
        return ObjectInfo(bucket, key, len(data), "etag", NOW)

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        return iter([])


class MemoryTable:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def put(self, item: Mapping[str, Any], *, if_absent: bool = False) -> None:
        if if_absent and item["pk"] in self.items:
            raise ConflictError("exists")
        self.items[item["pk"]] = dict(item)


class MemoryTopic:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str | None]] = []

    def publish(self, topic: str, message: str, *, subject: str | None = None, attributes: Any = None) -> str:
        self.sent.append((topic, message, subject))
        return f"m{len(self.sent)}"


def world() -> tuple[MemoryObjects, MemoryTable, MemoryTopic]:
    return MemoryObjects(), MemoryTable(), MemoryTopic()


def test_json_record_keyed_by_id_then_key_and_idempotent() -> None:
    objects, table, topic = world()
    objects.put("in", "incoming/a.json", b'{"id": 7, "x": 1}')
    objects.put("in", "incoming/b.json", b'{"x": 2}')
    for key in ("incoming/a.json", "incoming/b.json", "incoming/a.json"):
        record_document(RecordRequest("in", key), objects=objects, table=table, topic=topic, now=NOW)
    assert set(table.items) == {"7", "incoming/b.json"}
    assert table.items["7"]["payload"] == {"id": 7, "x": 1}
    assert [m for _, m, _ in topic.sent] == ["New file processed: incoming/a.json", "New file processed: incoming/b.json"]


def test_malformed_json_is_a_failure_record_and_a_notification() -> None:
    objects, table, topic = world()
    objects.put("in", "incoming/bad.json", b'{"id": 1,\n "x": }')
    result = record_document(RecordRequest("in", "incoming/bad.json"), objects=objects, table=table, topic=topic, now=NOW)
    assert result["status"] == "FAILED"
    assert "line 2, column 7" in str(result["reason"])
    assert table.items["incoming/bad.json"]["Status"] == "FAILED"
    [(_, message, subject)] = topic.sent
    assert subject == "S3 Event Failed" and "incoming/bad.json" in message


def test_record_request_needs_an_s3_event() -> None:
    with pytest.raises(ValueError):
        RecordRequest.from_event({"detail": {}})


@pytest.mark.parametrize(
    ("content", "status", "rows", "error"),
    [
        (b"a,b\n1,2\n3,\n", "SUCCEEDED", 2, None),
        (b"", "FAILED", 0, "empty"),
        (b"a,b\n1,2,3\n", "FAILED", 0, "line 2"),
        (b"a,b\n\x00\x01", "FAILED", 0, "NUL"),
        (b"\xff\xfe\x00", "FAILED", 0, "UTF-8"),
    ],
)
def test_csv_summaries(content: bytes, status: str, rows: int, error: str | None) -> None:
    summary = summarize_csv("in", "k.csv", "e", content)
    assert (summary.status, summary.rows) == (status, rows)
    if error:
        assert error in (summary.error or "")


def test_processor_publishes_and_consumer_writes_summary_and_reports_bad_records() -> None:
    objects, _, topic = world()
    objects.put("in", "x/data.csv", b"a,b\n1,2\n")
    event = {"detail": {"bucket": {"name": "in"}, "object": {"key": "x/data.csv", "etag": "e"}}}
    assert process(event, objects=objects, topic=topic)["status"] == "SUCCEEDED"
    [(_, message, _)] = topic.sent
    envelope = json.dumps({"Type": "Notification", "Message": message})
    batch = {"Records": [{"messageId": "good", "body": envelope}, {"messageId": "poison", "body": "nope"}]}
    assert consume(batch, objects=objects, output_bucket="out") == {"batchItemFailures": [{"itemIdentifier": "poison"}]}
    assert json.loads(objects.get("out", "summaries/x/data.csv.summary.json"))["rows"] == 1
