"""examples/json-records end to end: the second source document's handler, verbatim, behind an S3 notification.

Two documents land under ``incoming/`` (and one elsewhere, which the prefix filter keeps
out): two items in the table, keyed by each document's ``id``, and two notifications on a
queue subscribed to the topic.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from example_harness import RunningApp, run_example, s3_put_record

SEED_HANDLER = Path(__file__).resolve().parents[1] / "endpoint" / "seed002" / "lambda_function.py"
EXAMPLES = Path(str(resources.files("sluiceway").joinpath("examples")))


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    with run_example("json-records", tmp_path_factory.mktemp("json-records")) as app:
        yield app


@pytest.fixture(scope="module")
def inbox(running: RunningApp) -> str:
    return running.inbox(running.outputs["TopicArn"])


def test_the_handler_is_the_seed_s_verbatim(running: RunningApp) -> None:
    assert (running.app_dir / "src" / "lambda_function.py").read_bytes() == SEED_HANDLER.read_bytes()
    # The function's entry point hands the seed's handler each write once; the module is csv-fanout's.
    template = (running.app_dir / "template.yaml").read_text(encoding="utf-8")
    assert "Handler: once_per_write.lambda_handler" in template
    fanout = EXAMPLES / "csv-fanout" / "src" / "csv_processor" / "idempotency.py"
    assert (running.app_dir / "src" / "idempotency.py").read_bytes() == fanout.read_bytes()


def test_two_documents_become_two_items_and_two_notifications(running: RunningApp, inbox: str) -> None:
    s3, ddb = running.client("s3"), running.client("dynamodb")
    bucket, table = running.outputs["BucketName"], running.outputs["TableName"]
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
    # Each upload's event went through the claim: one COMPLETED item per write.
    claims = ddb.scan(TableName=running.outputs["IdempotencyTableName"])["Items"]
    assert sorted(c["pk"]["S"].split("#", 1)[0] for c in claims) == [f"s3://{bucket}/incoming/{s.name}" for s in samples]
    assert {c["status"]["S"] for c in claims} == {"COMPLETED"}


def test_a_write_s3_delivers_twice_is_recorded_and_notified_once(running: RunningApp, inbox: str) -> None:
    s3, ddb = running.client("s3"), running.client("dynamodb")
    bucket, function = running.outputs["BucketName"], running.outputs["FunctionName"]
    # Outside incoming/, so S3 itself sends nothing: the two deliveries below are the write's only ones.
    key = "redelivered/order-3.json"
    body = b'{"id": "order-3", "customer": "eve", "total_cents": 990}'
    put = s3.put_object(Bucket=bucket, Key=key, Body=body)
    record = s3_put_record(bucket, key, etag=put["ETag"], size=len(body), version_id=put.get("VersionId"), sequencer="0066A1B2C3D4E5F601")

    # S3 delivers at least once: the same record again once the first delivery completed. (A delivery
    # that finds the claim still in progress fails, and Lambda delivers it again later.)
    running.deliver_s3_event(function, record)
    running.until(lambda: _claim_status(running, bucket, key) == "COMPLETED", "the first delivery's claim completed")
    running.deliver_s3_event(function, record)
    # Both deliveries ran: one did the work, the other found the write's item and said so.
    running.until(lambda: [line for line in running.log_lines(function) if '"duplicate"' in line], "the duplicate's log line")
    (message,) = running.drain(inbox, 1, "the notification", settle=2.0)
    assert json.loads(message["Body"])["Message"] == f"New file processed: {key}"
    assert ddb.get_item(TableName=running.outputs["TableName"], Key={"pk": {"S": "order-3"}})["Item"]["payload"]["M"]["customer"] == {
        "S": "eve"
    }
    (claim,) = ddb.scan(
        TableName=running.outputs["IdempotencyTableName"],
        FilterExpression="begins_with(pk, :write)",
        ExpressionAttributeValues={":write": {"S": f"s3://{bucket}/{key}#"}},
    )["Items"]
    assert claim["status"] == {"S": "COMPLETED"}

    # The same bytes written again are another write (a version and sequencer of its own): notified again.
    put = s3.put_object(Bucket=bucket, Key=key, Body=body)
    again = s3_put_record(bucket, key, etag=put["ETag"], size=len(body), version_id=put.get("VersionId"), sequencer="0066A1B2C3D4E5F602")
    running.deliver_s3_event(function, again)
    (message,) = running.drain(inbox, 1, "the second write's notification", settle=1.0)
    assert json.loads(message["Body"])["Message"] == f"New file processed: {key}"


def _claim_status(running: RunningApp, bucket: str, key: str) -> str | None:
    items = running.client("dynamodb").scan(
        TableName=running.outputs["IdempotencyTableName"],
        FilterExpression="begins_with(pk, :write)",
        ExpressionAttributeValues={":write": {"S": f"s3://{bucket}/{key}#"}},
    )["Items"]
    return items[0]["status"]["S"] if items else None
