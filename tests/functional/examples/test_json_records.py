"""examples/json-records end to end: the second source document's handler, verbatim, behind an S3 notification.

Two documents land under ``incoming/`` (and one elsewhere, which the prefix filter keeps
out): two items in the table, keyed by each document's ``id``, and two notifications on a
queue subscribed to the topic.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from example_harness import RunningApp, run_example

SEED_HANDLER = Path(__file__).resolve().parents[1] / "endpoint" / "seed002" / "lambda_function.py"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    with run_example("json-records", tmp_path_factory.mktemp("json-records")) as app:
        yield app


def test_the_handler_is_the_seed_s_verbatim(running: RunningApp) -> None:
    assert (running.app_dir / "src" / "lambda_function.py").read_bytes() == SEED_HANDLER.read_bytes()


def test_two_documents_become_two_items_and_two_notifications(running: RunningApp) -> None:
    s3, ddb = running.client("s3"), running.client("dynamodb")
    bucket, table = running.outputs["BucketName"], running.outputs["TableName"]
    inbox = running.inbox(running.outputs["TopicArn"])
    samples = sorted((running.app_dir / "events").glob("*.json"))
    assert len(samples) == 2
    for sample in samples:
        s3.put_object(Bucket=bucket, Key=f"incoming/{sample.name}", Body=sample.read_bytes())
    # Outside incoming/, and not .json: the notification's filter rules invoke nothing for these.
    s3.put_object(Bucket=bucket, Key="archive/order-9.json", Body=b'{"id": "order-9"}')
    s3.put_object(Bucket=bucket, Key="incoming/notes.txt", Body=b'{"id": "notes"}')

    items = running.until(lambda: (found := ddb.scan(TableName=table)["Items"]) and len(found) >= 2 and found, "two items")
    documents = {sample.stem: json.loads(sample.read_text(encoding="utf-8")) for sample in samples}
    assert sorted(item["pk"]["S"] for item in items) == sorted(d["id"] for d in documents.values())
    order = ddb.get_item(TableName=table, Key={"pk": {"S": "order-1"}})["Item"]
    assert order["payload"]["M"]["customer"] == {"S": "ana"}
    assert order["payload"]["M"]["total_cents"] == {"N": "2450"}

    messages = running.drain(inbox, 2, "notifications")
    envelopes = [json.loads(m["Body"]) for m in messages]
    assert sorted(e["Message"] for e in envelopes) == [f"New file processed: incoming/{s.name}" for s in samples]
    assert {e["Subject"] for e in envelopes} == {"S3 Event Processed"}
    assert ddb.scan(TableName=table)["Count"] == 2  # nothing more came meanwhile
