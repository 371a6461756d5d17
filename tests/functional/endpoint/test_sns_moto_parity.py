"""SNS through boto3 as AWS answers it: FIFO topics end to end (attributes, group and deduplication
ids, sequence numbers, delivery to FIFO queues), Subscribe's order of checks, AddPermission's policy."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "111111111111"


@pytest.fixture(scope="module")
def sns(aws: Callable[..., Any]) -> Any:
    return aws("sns")


@pytest.fixture(scope="module")
def sqs(aws: Callable[..., Any]) -> Any:
    return aws("sqs")


def _error(call: Callable[..., Any], **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response: dict[str, Any] = caught.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def _invalid(message: str) -> tuple[str, str, int]:
    return "InvalidParameter", message, 400


def _queue(sqs: Any, name: str, **attributes: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _receive(sqs: Any, url: str, count: int, wait_s: float = 10.0) -> list[dict[str, Any]]:
    """Messages of ``url`` until ``count`` came (deliveries are asynchronous), deleting each."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + wait_s
    while len(got) < count and time.monotonic() < deadline:
        response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"])
        for message in response.get("Messages", []):
            got.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return got


def test_fifo_topic_attributes(sns: Any) -> None:
    arn = sns.create_topic(Name="parity-attrs.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert (attributes["FifoTopic"], attributes["ContentBasedDeduplication"]) == ("true", "false")
    sns.set_topic_attributes(TopicArn=arn, AttributeName="ContentBasedDeduplication", AttributeValue="true")
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["ContentBasedDeduplication"] == "true"
    assert sns.create_topic(Name="parity-attrs.fifo", Attributes={"FifoTopic": "true"})["TopicArn"] == arn
    assert _error(sns.set_topic_attributes, TopicArn=arn, AttributeName="FifoTopic", AttributeValue="false") == _invalid(
        "Invalid parameter: AttributeName"
    )
    plain = sns.create_topic(Name="parity-attrs", Attributes={"FifoTopic": "false"})["TopicArn"]
    assert "FifoTopic" not in sns.get_topic_attributes(TopicArn=plain)["Attributes"]
    assert _error(sns.create_topic, Name="parity-attrs-2.fifo") == _invalid("Invalid parameter: Topic Name")


def test_fifo_publish_validations(sns: Any) -> None:
    fifo = sns.create_topic(Name="parity-checks.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    plain = sns.create_topic(Name="parity-checks")["TopicArn"]
    assert _error(sns.publish, TopicArn=fifo, Message="m") == _invalid(
        "Invalid parameter: The MessageGroupId parameter is required for FIFO topics"
    )
    assert _error(sns.publish, TopicArn=fifo, Message="m", MessageGroupId="g") == _invalid(
        "Invalid parameter: The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly"
    )
    assert _error(sns.publish, TopicArn=plain, Message="m", MessageDeduplicationId="d") == _invalid(
        "Invalid parameter: MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid"
        " for this topic type"
    )
    # PublishBatch fails whole for the first entry SNS would refuse.
    assert _error(
        sns.publish_batch,
        TopicArn=fifo,
        PublishBatchRequestEntries=[
            {"Id": "1", "Message": "a", "MessageGroupId": "g", "MessageDeduplicationId": "d"},
            {"Id": "2", "Message": "b"},
        ],
    ) == _invalid("Invalid parameter: The MessageGroupId parameter is required for FIFO topics")
    assert "SequenceNumber" not in sns.publish(TopicArn=plain, Message="m")


def test_fifo_topic_to_fifo_queue(sns: Any, sqs: Any) -> None:
    topic = sns.create_topic(Name="parity-flow.fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"})["TopicArn"]
    url, arn = _queue(sqs, "parity-flow.fifo", FifoQueue="true")
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)["SubscriptionArn"]

    first = sns.publish(TopicArn=topic, Message="Test", MessageGroupId="group-1")
    duplicate = sns.publish(TopicArn=topic, Message="Test", MessageGroupId="group-2")  # same content: not delivered
    assert duplicate["MessageId"] == first["MessageId"] and len(first["SequenceNumber"]) == 20
    batch = sns.publish_batch(
        TopicArn=topic,
        PublishBatchRequestEntries=[{"Id": "a", "Message": "batched", "MessageGroupId": "group-1", "MessageDeduplicationId": "dedup-a"}],
    )
    assert batch["Failed"] == [] and batch["Successful"][0]["SequenceNumber"] > first["SequenceNumber"]

    messages = _receive(sqs, url, 2)
    assert len(messages) == 2 and _receive(sqs, url, 1, wait_s=1.5) == []
    one, two = messages
    assert one["Attributes"]["MessageGroupId"] == "group-1"
    # Content-based deduplication: SNS hands the queue the SHA-256 of the message.
    assert one["Attributes"]["MessageDeduplicationId"] == "532eaabd9574880dbf76b9b8cc00832c20a6ec113d682299550d7a6e0f345e25"
    assert two["Attributes"]["MessageDeduplicationId"] == "dedup-a"
    envelope = json.loads(one["Body"])
    assert list(envelope) == ["Type", "MessageId", "SequenceNumber", "TopicArn", "Message", "Timestamp", "UnsubscribeURL"]
    assert envelope["MessageId"] == first["MessageId"] and envelope["SequenceNumber"] == first["SequenceNumber"]
    assert envelope["UnsubscribeURL"].endswith(f"SubscriptionArn={subscription}")


def test_fifo_topic_to_standard_queue_keeps_no_group(sns: Any, sqs: Any) -> None:
    topic = sns.create_topic(Name="parity-mixed.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    url, arn = _queue(sqs, "parity-mixed")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    sns.publish(TopicArn=topic, Message="Test", MessageGroupId="g", MessageDeduplicationId="d")
    [message] = _receive(sqs, url, 1)
    assert "MessageGroupId" not in message["Attributes"] and "MessageDeduplicationId" not in message["Attributes"]
    assert json.loads(message["Body"])["Message"] == "Test"


def test_subscriptions_must_suit_the_topic(sns: Any, sqs: Any) -> None:
    plain = sns.create_topic(Name="parity-subs")["TopicArn"]
    _, fifo_queue = _queue(sqs, "parity-subs.fifo", FifoQueue="true")
    assert _error(sns.subscribe, TopicArn=plain, Protocol="sqs", Endpoint=fifo_queue) == _invalid(
        "Invalid parameter: Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be subscribed to standard SNS topics"
    )
    fifo = sns.create_topic(Name="parity-subs.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    subscription = sns.subscribe(TopicArn=fifo, Protocol="sqs", Endpoint=fifo_queue)["SubscriptionArn"]
    _, standard_dlq = _queue(sqs, "parity-subs-dlq")
    assert _error(
        sns.set_subscription_attributes,
        SubscriptionArn=subscription,
        AttributeName="RedrivePolicy",
        AttributeValue=json.dumps({"deadLetterTargetArn": standard_dlq}),
    ) == _invalid("Invalid parameter: RedrivePolicy: must use a FIFO queue as DLQ for a FIFO Subscription to a FIFO Topic.")


def test_subscribe_to_a_missing_topic_is_not_found_before_the_endpoint_is_checked(sns: Any) -> None:
    missing = f"arn:aws:sns:us-east-1:{ACCOUNT}:parity-missing"
    assert _error(sns.subscribe, TopicArn=missing, Protocol="sqs", Endpoint="not-an-arn") == ("NotFound", "Topic does not exist", 404)


def test_add_permission_writes_single_values_as_strings(sns: Any) -> None:
    arn = sns.create_topic(Name="parity-permission")["TopicArn"]
    sns.add_permission(TopicArn=arn, Label="one", AWSAccountId=["999999999999"], ActionName=["Publish"])
    sns.add_permission(TopicArn=arn, Label="two", AWSAccountId=["888888888888", "777777777777"], ActionName=["Publish", "Subscribe"])
    statements = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])["Statement"]
    one, two = statements[-2:]
    assert (one["Principal"], one["Action"]) == ({"AWS": "arn:aws:iam::999999999999:root"}, "SNS:Publish")
    assert two["Principal"] == {"AWS": ["arn:aws:iam::888888888888:root", "arn:aws:iam::777777777777:root"]}
    assert two["Action"] == ["SNS:Publish", "SNS:Subscribe"]


def test_remove_permission_of_a_label_the_policy_lacks_succeeds(sns: Any) -> None:
    arn = sns.create_topic(Name="parity-remove-permission")["TopicArn"]
    before = sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"]
    sns.remove_permission(TopicArn=arn, Label="never-added")
    assert json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"]) == json.loads(before)


def test_subscription_attributes_by_protocol(sns: Any, sqs: Any) -> None:
    topic = sns.create_topic(Name="parity-sub-attrs")["TopicArn"]
    _, queue = _queue(sqs, "parity-sub-attrs")
    by_queue = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue)["SubscriptionArn"]
    by_http = sns.subscribe(TopicArn=topic, Protocol="http", Endpoint="http://127.0.0.1:9/hook")["SubscriptionArn"]
    queue_attributes = sns.get_subscription_attributes(SubscriptionArn=by_queue)["Attributes"]
    assert "EffectiveDeliveryPolicy" not in queue_attributes  # SNS fixes the retries of non-HTTP protocols
    assert queue_attributes["SubscriptionPrincipal"] == f"arn:aws:iam::{ACCOUNT}:root"
    effective = json.loads(sns.get_subscription_attributes(SubscriptionArn=by_http)["Attributes"]["EffectiveDeliveryPolicy"])
    assert effective["healthyRetryPolicy"]["numRetries"] == 3 and effective["guaranteed"] is False
    assert (effective["sicklyRetryPolicy"], effective["throttlePolicy"]) == (None, None)
