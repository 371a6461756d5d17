"""What SNS hands an SQS subscriber and a subscription's dead-letter queue, through the endpoint.

The expected answers are those recorded against AWS: moto's
``test_publish_to_sqs_msg_attr_different_formats`` and LocalStack's AWS-validated
``test_message_attributes_not_missing``, ``test_redrive_policy_sqs_queue_subscription`` and
``test_publish_fifo_messages_to_dlq`` (tests/aws/services/sns/test_sns.snapshot.json).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

REGION = "us-east-1"


@pytest.fixture(scope="module")
def sns(aws: Callable[..., Any]) -> Any:
    return aws("sns")


@pytest.fixture(scope="module")
def sqs(aws: Callable[..., Any]) -> Any:
    return aws("sqs")


def _queue(sqs: Any, name: str, **attributes: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _receive(sqs: Any, url: str, count: int = 1, wait_s: float = 10.0) -> list[dict[str, Any]]:
    """Long-poll ``url`` until ``count`` messages came (deliveries are asynchronous), with a deadline."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + wait_s
    while len(got) < count and time.monotonic() < deadline:
        answer = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"], AttributeNames=["All"]
        )
        for message in answer.get("Messages", []):
            got.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return got


def test_raw_delivery_keeps_each_attributes_type(sns: Any, sqs: Any) -> None:
    topic = sns.create_topic(Name="t-typed")["TopicArn"]
    url, arn = _queue(sqs, "q-typed")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    attributes = {
        "integer": {"DataType": "Number", "StringValue": "123"},
        "big-float": {"DataType": "Number", "StringValue": "123456.789"},
        "text": {"DataType": "String", "StringValue": "an-attribute-value"},
        "labelled": {"DataType": "Number.price", "StringValue": "12.34"},
        "binary-attribute": {"DataType": "Binary", "BinaryValue": b"\x02\x03\x04"},
        "list": {"DataType": "String.Array", "StringValue": '["a", 1]'},
    }
    sns.publish(TopicArn=topic, Message="test message", MessageAttributes=attributes)
    [message] = _receive(sqs, url)
    assert message["Body"] == "test message"
    assert message["MessageAttributes"] == attributes


def test_the_envelope_carries_attributes_and_the_queue_message_none(sns: Any, sqs: Any) -> None:
    topic = sns.create_topic(Name="t-envelope")["TopicArn"]
    url, arn = _queue(sqs, "q-envelope")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    sns.publish(TopicArn=topic, Message="text", MessageAttributes={"n": {"DataType": "Number", "StringValue": "1"}})
    [message] = _receive(sqs, url)
    assert "MessageAttributes" not in message and "MD5OfMessageAttributes" not in message


@pytest.mark.parametrize("raw", [True, False])
def test_a_dead_lettered_message_is_what_the_subscriber_would_have_got(sns: Any, sqs: Any, raw: bool) -> None:
    topic = sns.create_topic(Name=f"t-dlq-{raw}")["TopicArn"]
    gone_url, gone_arn = _queue(sqs, f"q-gone-{raw}")
    dlq_url, dlq_arn = _queue(sqs, f"q-dlq-{raw}")
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=gone_arn,
        Attributes={"RawMessageDelivery": str(raw).lower(), "RedrivePolicy": f'{{"deadLetterTargetArn": "{dlq_arn}"}}'},
    )
    sqs.delete_queue(QueueUrl=gone_url)  # the subscriber is gone: SNS gives up at once
    attributes = {
        "attr1": {"DataType": "Number", "StringValue": "111"},
        "attr2": {"DataType": "Binary", "BinaryValue": b"\x02\x03\x04"},
    }
    sns.publish(TopicArn=topic, Message="test_dlq_after_sqs_endpoint_deleted", MessageAttributes=attributes)
    [dead] = _receive(sqs, dlq_url)
    if raw:
        assert dead["Body"] == "test_dlq_after_sqs_endpoint_deleted"
        assert dead["MessageAttributes"] == attributes
    else:
        # SNS adds no attributes of its own (no error code or message): the envelope has them all.
        assert '"Type": "Notification"' in dead["Body"]
        assert "MessageAttributes" not in dead


@pytest.mark.parametrize("raw", [True, False])
def test_a_fifo_subscriptions_fifo_dead_letter_queue_gets_the_group_and_deduplication_ids(sns: Any, sqs: Any, raw: bool) -> None:
    topic = sns.create_topic(Name=f"t-fifo-dlq-{raw}.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    gone_url, gone_arn = _queue(sqs, f"q-fifo-gone-{raw}.fifo", FifoQueue="true")
    dlq_url, dlq_arn = _queue(sqs, f"q-fifo-dlq-{raw}.fifo", FifoQueue="true")
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=gone_arn,
        Attributes={"RawMessageDelivery": str(raw).lower(), "RedrivePolicy": f'{{"deadLetterTargetArn": "{dlq_arn}"}}'},
    )
    sqs.delete_queue(QueueUrl=gone_url)
    entries = [
        {
            "Id": str(i),
            "Message": f"message {i}",
            "MessageGroupId": "complexMessageGroupId",
            "MessageDeduplicationId": f"MessageDeduplicationId-{i}",
            "MessageAttributes": {"attr1": {"DataType": "Number", "StringValue": f"{i}9.12"}},
        }
        for i in (1, 2, 3)
    ]
    assert not sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)["Failed"]
    dead = _receive(sqs, dlq_url, count=3)
    assert [m["Attributes"]["MessageGroupId"] for m in dead] == ["complexMessageGroupId"] * 3
    assert [m["Attributes"]["MessageDeduplicationId"] for m in dead] == [f"MessageDeduplicationId-{i}" for i in (1, 2, 3)]
    if raw:
        assert [(m["Body"], m["MessageAttributes"]) for m in dead] == [(e["Message"], e["MessageAttributes"]) for e in entries]
    else:
        assert all("MessageAttributes" not in m for m in dead)
