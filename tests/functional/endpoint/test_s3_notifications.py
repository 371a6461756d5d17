"""S3 notifications through the endpoint: EventBridge on/off, SQS/SNS/Lambda destinations with filters, the workflow."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.runtime.stack import Stack

ACCOUNT_ARN = "arn:aws:{service}:us-east-1:{account}:{name}"


def arn(stack: Stack, service: str, name: str) -> str:
    return ACCOUNT_ARN.format(service=service, account=stack.settings.account_id, name=name)


@pytest.fixture(scope="module")
def s3(aws: Callable[..., Any]) -> Any:
    return aws("s3")


def s3_events(stack: Stack, bucket: str) -> list[dict[str, Any]]:
    since = datetime.now(UTC) - timedelta(hours=1)
    return [
        e.event for e in stack.bus.archived(since) if e.event.get("source") == "aws.s3" and e.event["detail"]["bucket"]["name"] == bucket
    ]


def drain(stack: Stack, queue: str) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    while messages := stack.local.queues.receive(queue, max_messages=10):
        for message in messages:
            bodies.append(json.loads(message.body))
            stack.local.queues.delete(queue, message.receipt_handle)
    return bodies


def test_eventbridge_is_off_for_a_new_bucket_until_turned_on(s3: Any, stack: Stack) -> None:
    s3.create_bucket(Bucket="eb-switch")
    assert s3.get_bucket_notification_configuration(Bucket="eb-switch").get("EventBridgeConfiguration") is None
    s3.put_object(Bucket="eb-switch", Key="before", Body=b"x")
    assert s3_events(stack, "eb-switch") == []
    s3.put_bucket_notification_configuration(Bucket="eb-switch", NotificationConfiguration={"EventBridgeConfiguration": {}})
    assert s3.get_bucket_notification_configuration(Bucket="eb-switch")["EventBridgeConfiguration"] == {}
    s3.put_object(Bucket="eb-switch", Key="after", Body=b"x")
    s3.delete_object(Bucket="eb-switch", Key="after")
    assert [(e["detail-type"], e["detail"]["object"]["key"]) for e in s3_events(stack, "eb-switch")] == [
        ("Object Created", "after"),
        ("Object Deleted", "after"),
    ]
    s3.put_bucket_notification_configuration(Bucket="eb-switch", NotificationConfiguration={})
    s3.put_object(Bucket="eb-switch", Key="off-again", Body=b"x")
    assert len(s3_events(stack, "eb-switch")) == 2


def test_the_stacks_own_buckets_keep_eventbridge_on(s3: Any, stack: Stack) -> None:
    answer = s3.get_bucket_notification_configuration(Bucket=stack.settings.output_bucket)
    assert answer["EventBridgeConfiguration"] == {}


def test_a_queue_gets_s3_records_for_matching_keys(s3: Any, stack: Stack) -> None:
    stack.local.queues.create_queue("s3-records")
    s3.create_bucket(Bucket="to-a-queue")
    s3.put_bucket_notification_configuration(
        Bucket="to-a-queue",
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "csv-in",
                    "QueueArn": arn(stack, "sqs", "s3-records"),
                    "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:Delete"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}, {"Name": "suffix", "Value": ".csv"}]}},
                }
            ]
        },
    )
    [test_event] = drain(stack, "s3-records")
    assert (test_event["Event"], test_event["Bucket"], test_event["Service"]) == ("s3:TestEvent", "to-a-queue", "Amazon S3")
    s3.put_object(Bucket="to-a-queue", Key="in/sales 1.csv", Body=b"a,b\n")
    s3.put_object(Bucket="to-a-queue", Key="in/notes.txt", Body=b"no")
    s3.put_object(Bucket="to-a-queue", Key="out/sales.csv", Body=b"no")
    s3.copy_object(Bucket="to-a-queue", Key="in/copy.csv", CopySource="to-a-queue/in/sales 1.csv")
    s3.delete_object(Bucket="to-a-queue", Key="in/copy.csv")
    records = [body["Records"][0] for body in drain(stack, "s3-records")]
    assert [(r["eventName"], r["s3"]["object"]["key"]) for r in records] == [
        ("ObjectCreated:Put", "in/sales+1.csv"),
        ("ObjectCreated:Copy", "in/copy.csv"),
        ("ObjectRemoved:Delete", "in/copy.csv"),
    ]
    first = records[0]
    assert (first["eventVersion"], first["eventSource"], first["awsRegion"]) == ("2.1", "aws:s3", "us-east-1")
    assert first["s3"]["configurationId"] == "csv-in"
    assert first["s3"]["bucket"] == {
        "name": "to-a-queue",
        "ownerIdentity": {"principalId": stack.settings.account_id},
        "arn": "arn:aws:s3:::to-a-queue",
    }
    assert (first["s3"]["object"]["size"], first["s3"]["object"]["eTag"]) == (4, hashlib.md5(b"a,b\n").hexdigest())
    assert "size" not in records[2]["s3"]["object"]  # a removal has no size or ETag
    got = s3.get_bucket_notification_configuration(Bucket="to-a-queue")
    [config] = got["QueueConfigurations"]
    assert (config["Id"], config["Events"]) == ("csv-in", ["s3:ObjectCreated:*", "s3:ObjectRemoved:Delete"])
    assert config["Filter"]["Key"]["FilterRules"] == [{"Name": "Prefix", "Value": "in/"}, {"Name": "Suffix", "Value": ".csv"}]


def test_a_topic_gets_them_with_s3s_subject(s3: Any, stack: Stack) -> None:
    stack.local.topics.create_topic("s3-topic")
    s3.create_bucket(Bucket="to-a-topic")
    s3.put_bucket_notification_configuration(
        Bucket="to-a-topic",
        NotificationConfiguration={
            "TopicConfigurations": [{"TopicArn": arn(stack, "sns", "s3-topic"), "Events": ["s3:ObjectCreated:Put"]}]
        },
    )
    s3.put_object(Bucket="to-a-topic", Key="k.json", Body=b"{}")
    published = stack.local.topics.published("s3-topic")
    bodies = [json.loads(m.message) for m in published]
    assert bodies[0]["Event"] == "s3:TestEvent"
    assert [b["Records"][0]["s3"]["object"]["key"] for b in bodies[1:]] == ["k.json"]
    assert {m.subject for m in published} == {"Amazon S3 Notification"}


def test_a_function_is_invoked_with_the_records(s3: Any, stack: Stack) -> None:
    s3.create_bucket(Bucket="to-a-function")
    s3.put_bucket_notification_configuration(
        Bucket="to-a-function",
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {"LambdaFunctionArn": arn(stack, "lambda", "function:JsonRecords"), "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )
    s3.put_object(Bucket="to-a-function", Key="doc.json", Body=b"{}")
    # JsonRecords expects EventBridge's shape: S3's record reaching it makes it fail, which is
    # how the invocation shows here. S3 handed it to Lambda's asynchronous queue, where it waits
    # for Lambda's retry a minute later.
    conn = stack.local.db.connection()
    deadline = time.monotonic() + 20
    row = None
    while time.monotonic() < deadline:
        row = conn.execute(
            "SELECT attempts, last_error, payload, function, status FROM lambda_async_invocations WHERE payload LIKE '%to-a-function%'"
        ).fetchone()
        if row is not None and row[0] >= 1:
            break
        time.sleep(0.05)
    assert row is not None and row[0] == 1, row
    assert "S3 Object Created event" in row[1]
    assert json.loads(row[2])["Records"][0]["s3"]["object"]["key"] == "doc.json"
    assert (row[3], row[4]) == (arn(stack, "lambda", "function:JsonRecords"), "pending")


@pytest.mark.parametrize(
    ("configuration", "message"),
    [
        (
            {"QueueConfigurations": [{"QueueArn": "arn:aws:sqs:us-east-1:000000000000:nowhere", "Events": ["s3:ObjectCreated:*"]}]},
            "Unable to validate",
        ),
        ({"EventBridgeConfiguration": {}, "QueueConfigurations": [{"QueueArn": "QARN", "Events": ["s3:Nothing"]}]}, "not supported"),
        (
            {
                "QueueConfigurations": [
                    {
                        "QueueArn": "QARN",
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {"Key": {"FilterRules": [{"Name": "middle", "Value": "x"}]}},
                    }
                ]
            },
            "prefix or suffix",
        ),
        (
            {
                "QueueConfigurations": [
                    {"QueueArn": "QARN", "Events": ["s3:ObjectCreated:*"]},
                    {
                        "QueueArn": "QARN",
                        "Events": ["s3:ObjectCreated:Put"],
                        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "a/"}]}},
                    },
                ]
            },
            "overlapping",
        ),
    ],
)
def test_bad_configurations_are_invalid_arguments(s3: Any, stack: Stack, configuration: dict[str, Any], message: str) -> None:
    stack.local.queues.create_queue("s3-valid")
    text = json.dumps(configuration).replace("QARN", arn(stack, "sqs", "s3-valid"))
    s3.create_bucket(Bucket="bad-configs")
    with pytest.raises(ClientError) as caught:
        s3.put_bucket_notification_configuration(Bucket="bad-configs", NotificationConfiguration=json.loads(text))
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidArgument" and message in error["Message"]
    assert s3.get_bucket_notification_configuration(Bucket="bad-configs").get("QueueConfigurations") is None


def test_an_upload_into_the_input_bucket_runs_the_csv_workflow(s3: Any, stack: Stack) -> None:
    key = "endpoint/orders.csv"
    body = "order_id,order_date,region,product,quantity,unit_price,customer_email\n1,2024-03-01,north,Widget,2,3.50,a@example.com\n"
    s3.put_object(Bucket=stack.settings.input_bucket, Key=key, Body=body.encode(), ContentType="text/csv")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = [
            r for r in stack.orchestrator.store.list(limit=200) if (r.input or {}).get("detail", {}).get("object", {}).get("key") == key
        ]
        if runs and runs[0].status != "RUNNING":
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"no run for {key} ended within 60 s")
    assert runs[0].status == "SUCCEEDED", runs[0].cause
    assert runs[0].input["detail"]["reason"] == "PutObject"
