"""examples/csv-fanout end to end: S3 → processor → SNS → SQS (DLQ after 3 receives) → consumer → summary objects.

The consumer's queue is made with a 3-second visibility timeout (a template parameter), so a
poison message's three receives take about ten seconds instead of a minute.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from example_harness import RunningApp, run_example, s3_put_record


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    with run_example("csv-fanout", tmp_path_factory.mktemp("csv-fanout"), parameters={"ConsumerVisibilityTimeout": "3"}) as app:
        yield app


def _summary(running: RunningApp, key: str) -> dict[str, Any] | None:
    s3 = running.client("s3")
    try:
        body = s3.get_object(Bucket=running.outputs["OutputBucketName"], Key=f"summaries/{key}.json")["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    return dict(json.loads(body))


def test_the_queue_is_made_as_the_template_says(running: RunningApp) -> None:
    sqs = running.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=running.outputs["SummariesQueueUrl"], AttributeNames=["All"])["Attributes"]
    dlq = sqs.get_queue_attributes(QueueUrl=running.outputs["DeadLetterQueueUrl"], AttributeNames=["QueueArn"])["Attributes"]
    dlq_arn = dlq["QueueArn"]
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}
    assert attributes["VisibilityTimeout"] == "3"


def test_a_good_csv_becomes_one_summary_object(running: RunningApp) -> None:
    s3 = running.client("s3")
    body = (running.app_dir / "data" / "orders.csv").read_bytes()
    # A space in the key: S3's event carries it URL-encoded ("daily+orders.csv"), the processor decodes it.
    s3.put_object(Bucket=running.outputs["InputBucketName"], Key="in/daily orders.csv", Body=body)
    s3.put_object(Bucket=running.outputs["InputBucketName"], Key="in/readme.txt", Body=b"not a csv, not processed")

    summary = running.until(lambda: _summary(running, "in/daily orders.csv"), "the summary object")
    assert summary["status"] == "SUCCEEDED"
    assert summary["rows"] == 4  # the quoted line break belongs to its row
    assert summary["columns"] == ["order_id", "region", "product", "quantity", "unit_price"]
    assert summary["empty_cells"] == 1
    assert summary["numeric"]["quantity"] == {"count": 3, "sum": 9.0, "min": 1.0, "max": 6.0}
    assert "region" not in summary["numeric"]
    assert summary["size"] == len(body)
    assert summary["bucket"] == running.outputs["InputBucketName"]
    listed = s3.list_objects_v2(Bucket=running.outputs["OutputBucketName"], Prefix="summaries/in/")
    assert [o["Key"] for o in listed.get("Contents", [])] == ["summaries/in/daily orders.csv.json"]
    # The upload's event went through the claim, keyed by the write as S3 names it (the key URL-encoded).
    (claim,) = running.client("dynamodb").scan(
        TableName=running.outputs["IdempotencyTableName"],
        FilterExpression="begins_with(pk, :write)",
        ExpressionAttributeValues={":write": {"S": f"s3://{running.outputs['InputBucketName']}/in/daily+orders.csv#"}},
    )["Items"]
    assert claim["status"] == {"S": "COMPLETED"}


def test_a_file_that_is_not_utf8_ends_in_a_failed_summary(running: RunningApp) -> None:
    body = (running.app_dir / "data" / "latin1.csv").read_bytes()
    running.client("s3").put_object(Bucket=running.outputs["InputBucketName"], Key="latin1.csv", Body=body)
    summary = running.until(lambda: _summary(running, "latin1.csv"), "the FAILED summary")
    assert summary["status"] == "FAILED"
    assert summary["error"].startswith("not UTF-8 text")


def test_a_poison_message_ends_in_the_dead_letter_queue_after_three_receives(running: RunningApp) -> None:
    sqs = running.client("sqs")
    running.client("sns").publish(TopicArn=running.outputs["TopicArn"], Message="this is no summary")
    # Three receives, each failed by the consumer and hidden for 3 s, then SQS moves it.
    (dead,) = running.drain(running.outputs["DeadLetterQueueUrl"], 1, "the dead letter", timeout=25)
    assert dead["Body"] == "this is no summary"  # raw delivery: the message itself, no SNS envelope
    visible, hidden = (
        int(v)
        for v in sqs.get_queue_attributes(
            QueueUrl=running.outputs["SummariesQueueUrl"],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"].values()
    )
    assert (visible, hidden) == (0, 0)
    # The consumer saw it exactly three times: one failure line per receive in its log group.
    failed = [line for line in running.log_lines(running.outputs["ConsumerFunctionName"]) if '"failed"' in line]
    assert len(failed) == 3, failed
    assert len({json.loads(line)["failed"] for line in failed}) == 1


def test_a_write_s3_delivers_twice_is_summarised_and_published_once(running: RunningApp) -> None:
    s3 = running.client("s3")
    bucket, processor = running.outputs["InputBucketName"], running.outputs["ProcessorFunctionName"]
    inbox = running.inbox(running.outputs["TopicArn"])
    # Not .csv, so S3 itself sends nothing: the two deliveries below are the write's only ones.
    key = "redelivered/orders.csv.txt"
    body = (running.app_dir / "data" / "orders.csv").read_bytes()
    put = s3.put_object(Bucket=bucket, Key=key, Body=body)
    record = s3_put_record(bucket, key, etag=put["ETag"], size=len(body), version_id=put.get("VersionId"), sequencer="0066A1B2C3D4E5F601")

    # S3 delivers at least once: the same record again once the first delivery completed. (A delivery
    # that finds the claim still in progress fails, and Lambda delivers it again later.)
    running.deliver_s3_event(processor, record)
    running.until(lambda: _claim_status(running, bucket, key) == "COMPLETED", "the first delivery's claim completed")
    running.deliver_s3_event(processor, record)
    running.until(lambda: [line for line in running.log_lines(processor) if '"duplicate"' in line], "the duplicate's log line")
    (message,) = running.drain(inbox, 1, "the summary's notification", settle=2.0)
    assert json.loads(json.loads(message["Body"])["Message"])["key"] == key
    summary = running.until(lambda: _summary(running, key), "the summary object")
    assert (summary["status"], summary["rows"]) == ("SUCCEEDED", 4)
    processed = [line for line in running.log_lines(processor) if '"processed"' in line and key in line]
    assert len(processed) == 1, processed

    # The same bytes written again are another write (a version and sequencer of its own): published again.
    put = s3.put_object(Bucket=bucket, Key=key, Body=body)
    again = s3_put_record(bucket, key, etag=put["ETag"], size=len(body), version_id=put.get("VersionId"), sequencer="0066A1B2C3D4E5F602")
    running.deliver_s3_event(processor, again)
    (message,) = running.drain(inbox, 1, "the second write's notification", settle=1.0)
    assert json.loads(json.loads(message["Body"])["Message"])["key"] == key


def _claim_status(running: RunningApp, bucket: str, key: str) -> str | None:
    items = running.client("dynamodb").scan(
        TableName=running.outputs["IdempotencyTableName"],
        FilterExpression="begins_with(pk, :write)",
        ExpressionAttributeValues={":write": {"S": f"s3://{bucket}/{key}#"}},
    )["Items"]
    return items[0]["status"]["S"] if items else None
