"""SNS through boto3 (query protocol): topics, subscriptions, Publish and PublishBatch, fan-out
to the stack's queues and functions through its durable deliverer."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.runtime.lambdas.invoker import FunctionSpec
from sluiceway.runtime.stack import Stack

ACCOUNT = "111111111111"
REGION = "us-east-1"
RECEIVED: list[Any] = []
"""Events the ``record`` handler got (the thread invoker runs it in this process)."""


def record(event: Any, context: Any) -> Any:
    RECEIVED.append(event)
    return None


@pytest.fixture(scope="module")
def sns(aws: Callable[..., Any]) -> Any:
    return aws("sns")


@pytest.fixture(scope="module")
def sqs(aws: Callable[..., Any]) -> Any:
    return aws("sqs")


def _arn(name: str) -> str:
    return f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}"


def _queue(sqs: Any, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _receive(sqs: Any, url: str, count: int = 1, wait_s: float = 10.0) -> list[dict[str, Any]]:
    """Long-poll ``url`` until ``count`` messages came (deliveries are asynchronous), with a deadline."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + wait_s
    while len(got) < count and time.monotonic() < deadline:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"])
        for message in answer.get("Messages", []):
            got.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return got


# ------------------------------------------------------------------------------ topics


def test_create_get_set_list_and_delete_topics(sns: Any) -> None:
    arn = sns.create_topic(Name="t-life", Attributes={"DisplayName": "Life"})["TopicArn"]
    assert arn == _arn("t-life")
    assert sns.create_topic(Name="t-life", Attributes={"DisplayName": "Life"})["TopicArn"] == arn  # idempotent
    with pytest.raises(sns.exceptions.InvalidParameterException) as info:
        sns.create_topic(Name="t-life", Attributes={"DisplayName": "Other"})
    assert info.value.response["Error"]["Code"] == "InvalidParameter"
    attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes["TopicArn"] == arn and attributes["DisplayName"] == "Life" and attributes["Owner"] == ACCOUNT
    assert attributes["SubscriptionsConfirmed"] == "0"
    assert json.loads(attributes["Policy"])["Statement"][0]["Resource"] == arn
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Renamed")
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"] == "Renamed"
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.set_topic_attributes(TopicArn=arn, AttributeName="Colour", AttributeValue="blue")
    for bad in ("bad name", "x" * 257):
        with pytest.raises(sns.exceptions.InvalidParameterException):
            sns.create_topic(Name=bad)
    fifo = sns.create_topic(Name="t-fifo.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    assert sns.get_topic_attributes(TopicArn=fifo)["Attributes"]["FifoTopic"] == "true"
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.create_topic(Name="t-not-fifo", Attributes={"FifoTopic": "true"})  # a FIFO topic's name ends in .fifo
    assert arn in [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    sns.delete_topic(TopicArn=arn)
    with pytest.raises(sns.exceptions.NotFoundException) as info:
        sns.get_topic_attributes(TopicArn=arn)
    assert info.value.response["Error"]["Code"] == "NotFound" and info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_list_topics_pages_by_100(sns: Any) -> None:
    for n in range(101):
        sns.create_topic(Name=f"t-page-{n:03d}")
    seen: list[str] = []
    first = sns.list_topics()
    assert len(first["Topics"]) == 100 and "NextToken" in first
    seen += [t["TopicArn"] for t in first["Topics"]]
    second = sns.list_topics(NextToken=first["NextToken"])
    seen += [t["TopicArn"] for t in second["Topics"]]
    assert "NextToken" not in second
    assert all(_arn(f"t-page-{n:03d}") in seen for n in range(101)) and len(seen) == len(set(seen))


def test_tags(sns: Any) -> None:
    arn = sns.create_topic(Name="t-tags", Tags=[{"Key": "team", "Value": "data"}])["TopicArn"]
    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "dev"}])
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "data"}]
    sns.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "env", "Value": "dev"}]
    with pytest.raises(sns.exceptions.ResourceNotFoundException):
        sns.list_tags_for_resource(ResourceArn=_arn("t-tags-none"))
    with pytest.raises(sns.exceptions.TagLimitExceededException):
        sns.tag_resource(ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])


# ----------------------------------------------------------------------- subscriptions


def test_subscribe_list_attributes_and_unsubscribe(sns: Any, sqs: Any) -> None:
    arn = sns.create_topic(Name="t-subs")["TopicArn"]
    _, queue_arn = _queue(sqs, "q-t-subs")
    sub = sns.subscribe(
        TopicArn=arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true", "FilterPolicy": json.dumps({"kind": ["a"]})},
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    assert sub.startswith(arn + ":")
    # Subscribing again with the same attributes gives the same subscription.
    assert (
        sns.subscribe(
            TopicArn=arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true", "FilterPolicy": json.dumps({"kind": ["a"]})},
        )["SubscriptionArn"]
        == sub
    )
    mail = sns.subscribe(TopicArn=arn, Protocol="email", Endpoint="ops@example.com")["SubscriptionArn"]
    listed = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert sorted((s["Protocol"], s["Endpoint"]) for s in listed) == [("email", "ops@example.com"), ("sqs", queue_arn)]
    assert all(s["Owner"] == ACCOUNT and s["TopicArn"] == arn for s in listed)
    assert {s["SubscriptionArn"] for s in sns.list_subscriptions()["Subscriptions"]} >= {sub, mail}
    attributes = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert attributes["RawMessageDelivery"] == "true" and json.loads(attributes["FilterPolicy"]) == {"kind": ["a"]}
    assert attributes["PendingConfirmation"] == "false" and attributes["Endpoint"] == queue_arn
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicyScope", AttributeValue="MessageBody")
    assert sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]["FilterPolicyScope"] == "MessageBody"
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.set_subscription_attributes(SubscriptionArn=mail, AttributeName="RawMessageDelivery", AttributeValue="true")
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["SubscriptionsConfirmed"] == "2"
    sns.unsubscribe(SubscriptionArn=mail)
    with pytest.raises(sns.exceptions.NotFoundException):
        sns.get_subscription_attributes(SubscriptionArn=mail)
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.subscribe(TopicArn=arn, Protocol="carrier-pigeon", Endpoint="x")
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.subscribe(TopicArn=arn, Protocol="https", Endpoint="http://example.com/hook")  # scheme mismatch
    with pytest.raises(sns.exceptions.NotFoundException):
        sns.subscribe(TopicArn=_arn("t-subs-none"), Protocol="sqs", Endpoint=queue_arn)


# ------------------------------------------------------------------------------ publish


def test_fan_out_to_queues_with_a_filter_policy_and_raw_delivery(sns: Any, sqs: Any) -> None:
    arn = sns.create_topic(Name="t-fanout")["TopicArn"]
    raw_url, raw_arn = _queue(sqs, "q-fan-raw")
    env_url, env_arn = _queue(sqs, "q-fan-envelope")
    sns.subscribe(
        TopicArn=arn,
        Protocol="sqs",
        Endpoint=raw_arn,
        Attributes={"RawMessageDelivery": "true", "FilterPolicy": json.dumps({"kind": ["order"], "amount": [{"numeric": [">", 100]}]})},
    )
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=env_arn)
    matching = {"kind": {"DataType": "String", "StringValue": "order"}, "amount": {"DataType": "Number", "StringValue": "250"}}
    kept = sns.publish(TopicArn=arn, Message="big order", Subject="Orders", MessageAttributes=matching)["MessageId"]
    sns.publish(TopicArn=arn, Message="small order", MessageAttributes={**matching, "amount": {"DataType": "Number", "StringValue": "5"}})
    [raw] = _receive(sqs, raw_url)
    assert raw["Body"] == "big order"
    assert raw["MessageAttributes"]["kind"] == {"DataType": "String", "StringValue": "order"}
    envelopes = [json.loads(m["Body"]) for m in _receive(sqs, env_url, count=2)]
    assert sorted(e["Message"] for e in envelopes) == ["big order", "small order"]
    big = next(e for e in envelopes if e["MessageId"] == kept)
    assert big["Type"] == "Notification" and big["TopicArn"] == arn and big["Subject"] == "Orders"
    assert big["MessageAttributes"]["amount"] == {"Type": "Number", "Value": "250"}
    assert "small order" not in [m["Body"] for m in _receive(sqs, raw_url, wait_s=1.0)]


def test_a_filter_on_the_message_body(sns: Any, sqs: Any) -> None:
    arn = sns.create_topic(Name="t-body-filter")["TopicArn"]
    url, queue_arn = _queue(sqs, "q-body-filter")
    sns.subscribe(
        TopicArn=arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true", "FilterPolicyScope": "MessageBody", "FilterPolicy": json.dumps({"status": ["failed"]})},
    )
    sns.publish(TopicArn=arn, Message=json.dumps({"status": "ok"}))
    sns.publish(TopicArn=arn, Message=json.dumps({"status": "failed", "run": 3}))
    [got] = _receive(sqs, url)
    assert json.loads(got["Body"]) == {"status": "failed", "run": 3}


def test_message_structure_json_gives_each_protocol_its_message(sns: Any, sqs: Any) -> None:
    arn = sns.create_topic(Name="t-structure")["TopicArn"]
    url, queue_arn = _queue(sqs, "q-structure")
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    sns.publish(TopicArn=arn, MessageStructure="json", Message=json.dumps({"default": "for everyone", "sqs": "for queues"}))
    assert [m["Body"] for m in _receive(sqs, url)] == ["for queues"]
    for message in ("not json", json.dumps({"sqs": "no default"})):
        with pytest.raises(sns.exceptions.InvalidParameterException) as info:
            sns.publish(TopicArn=arn, MessageStructure="json", Message=message)
        assert info.value.response["Error"]["Message"].startswith("Invalid parameter: Message Structure")


def test_publish_errors_as_sns(sns: Any) -> None:
    arn = sns.create_topic(Name="t-errors")["TopicArn"]
    with pytest.raises(sns.exceptions.NotFoundException) as info:
        sns.publish(TopicArn=_arn("t-errors-none"), Message="x")
    assert info.value.response["Error"]["Message"] == "Topic does not exist"
    with pytest.raises(sns.exceptions.InvalidParameterException) as info:
        sns.publish(TopicArn=arn, Message="")
    assert info.value.response["Error"]["Message"] == "Invalid parameter: Empty message"
    with pytest.raises(sns.exceptions.InvalidParameterException) as info:
        sns.publish(TopicArn=arn, Message="x" * (256 * 1024 + 1))
    assert info.value.response["Error"]["Message"] == "Invalid parameter: Message too long"
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.publish(TopicArn=arn, Message="x", MessageAttributes={"n": {"DataType": "Number", "StringValue": "nan-ish"}})
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.publish(Message="nowhere")
    # A topic may take larger messages, up to 1 MiB.
    sns.set_topic_attributes(TopicArn=arn, AttributeName="MaximumMessageSize", AttributeValue=str(1024 * 1024))
    assert sns.publish(TargetArn=arn, Message="x" * (512 * 1024))["MessageId"]


def test_publish_batch(sns: Any, sqs: Any) -> None:
    arn = sns.create_topic(Name="t-batch")["TopicArn"]
    url, queue_arn = _queue(sqs, "q-batch-sns")
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    result = sns.publish_batch(
        TopicArn=arn,
        PublishBatchRequestEntries=[
            {"Id": "one", "Message": "first"},
            {"Id": "two", "Message": "second", "MessageAttributes": {"b": {"DataType": "Binary", "BinaryValue": b"\x01\x02"}}},
        ],
    )
    assert sorted(e["Id"] for e in result["Successful"]) == ["one", "two"] and all(e["MessageId"] for e in result["Successful"])
    assert result["Failed"] == []
    assert sorted(m["Body"] for m in _receive(sqs, url, count=2)) == ["first", "second"]
    # An entry with a bad attribute fails the whole request, before anything is published (as on AWS).
    with pytest.raises(ClientError) as refused:
        sns.publish_batch(
            TopicArn=arn,
            PublishBatchRequestEntries=[
                {"Id": "three", "Message": "third"},
                {"Id": "bad", "Message": "x", "MessageAttributes": {"n": {"DataType": "Colour", "StringValue": "red"}}},
            ],
        )
    assert refused.value.response["Error"]["Code"] == "ParameterValueInvalid"
    for exception, entries in (
        ("TooManyEntriesInBatchRequestException", [{"Id": str(i), "Message": "x"} for i in range(11)]),
        ("BatchEntryIdsNotDistinctException", [{"Id": "same", "Message": "x"}] * 2),
        ("EmptyBatchRequestException", []),
    ):
        with pytest.raises(getattr(sns.exceptions, exception)):
            sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=entries)
    with pytest.raises(sns.exceptions.NotFoundException):
        sns.publish_batch(TopicArn=_arn("t-batch-none"), PublishBatchRequestEntries=[{"Id": "a", "Message": "x"}])


# ------------------------------------------------------------------------------- lambda


@pytest.fixture(scope="module")
def recorder(stack: Stack) -> Iterator[list[Any]]:
    module = __name__
    stack.invoker.register(FunctionSpec("SnsRecorder", f"{module}.record", timeout_s=10, memory_mb=128))
    yield RECEIVED


def test_a_lambda_subscription_gets_snss_event(sns: Any, recorder: list[Any]) -> None:
    arn = sns.create_topic(Name="t-lambda")["TopicArn"]
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:SnsRecorder"
    sub = sns.subscribe(TopicArn=arn, Protocol="lambda", Endpoint=function)["SubscriptionArn"]
    message_id = sns.publish(
        TopicArn=arn, Message="to a function", Subject="Hi", MessageAttributes={"b": {"DataType": "Binary", "BinaryValue": b"\xff"}}
    )["MessageId"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(e["Records"][0]["Sns"]["MessageId"] == message_id for e in recorder):
        time.sleep(0.02)
    [event] = [e for e in recorder if e["Records"][0]["Sns"]["MessageId"] == message_id]
    [entry] = event["Records"]
    assert entry["EventSource"] == "aws:sns" and entry["EventSubscriptionArn"] == sub
    assert entry["Sns"]["Message"] == "to a function" and entry["Sns"]["Subject"] == "Hi" and entry["Sns"]["TopicArn"] == arn
    assert entry["Sns"]["MessageAttributes"]["b"] == {"Type": "Binary", "Value": base64.b64encode(b"\xff").decode()}


def test_confirm_subscription_has_no_token_to_accept(sns: Any) -> None:
    arn = sns.create_topic(Name="t-confirm")["TopicArn"]
    with pytest.raises(ClientError) as info:
        sns.confirm_subscription(TopicArn=arn, Token="abc")
    assert info.value.response["Error"]["Code"] == "InvalidParameter"


def test_add_and_remove_permission_edit_the_topic_policy(sns: Any) -> None:
    arn = sns.create_topic(Name="t-perm")["TopicArn"]
    sns.add_permission(TopicArn=arn, Label="partner", AWSAccountId=["222222222222"], ActionName=["Publish"])
    statements = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])["Statement"]
    assert [s["Sid"] for s in statements] == ["__default_statement_ID", "partner"]
    assert statements[1]["Action"] == "SNS:Publish" and statements[1]["Resource"] == arn  # one action: a string, as AWS writes it
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.add_permission(TopicArn=arn, Label="partner", AWSAccountId=["222222222222"], ActionName=["Publish"])
    sns.remove_permission(TopicArn=arn, Label="partner")
    statements = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])["Statement"]
    assert [s["Sid"] for s in statements] == ["__default_statement_ID"]
    sns.remove_permission(TopicArn=arn, Label="partner")  # a label no longer there: AWS answers success
