"""SNS's exact answers through boto3: error codes, messages and statuses as AWS records them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sluiceway.endpoint.server import Endpoint

REGION = "us-east-1"


@pytest.fixture(scope="module")
def sns(aws: Callable[..., Any]) -> Any:
    return aws("sns")


@pytest.fixture(scope="module")
def sqs(aws: Callable[..., Any]) -> Any:
    return aws("sqs")


@pytest.fixture(scope="module")
def unchecked_sns(endpoint: Endpoint) -> Any:
    """A client that sends what it is given (no botocore parameter validation)."""
    import boto3

    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)
    return session.client("sns", endpoint_url=endpoint.url, config=Config(parameter_validation=False, retries={"max_attempts": 1}))


def _error(call: Callable[..., Any], **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response: dict[str, Any] = caught.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def _invalid(message: str) -> tuple[str, str, int]:
    return "InvalidParameter", message, 400


# ------------------------------------------------------------------------------ topics


def test_topic_name_constraints(sns: Any) -> None:
    assert sns.create_topic(Name="a" * 256)["TopicArn"].endswith(":" + "a" * 256)
    for name in ["", "a" * 257, "test.fifo", *(f"bad{c}name" for c in ":;!@|^% ")]:
        assert _error(sns.create_topic, Name=name) == _invalid("Invalid parameter: Topic Name")
    assert _error(sns.create_topic, Name="test", Attributes={"FifoTopic": "true"}) == _invalid("Invalid parameter: Topic Name")


def test_create_topic_again_with_other_attributes_or_tags(sns: Any) -> None:
    arn = sns.create_topic(Name="fid-idem", Attributes={"DisplayName": "Value1"})["TopicArn"]
    assert sns.create_topic(Name="fid-idem")["TopicArn"] == arn
    assert sns.create_topic(Name="fid-idem", Attributes={"DisplayName": "Value1"})["TopicArn"] == arn
    assert sns.create_topic(Name="fid-idem", Attributes={"FifoTopic": "false"})["TopicArn"] == arn
    different = _invalid("Invalid parameter: Attributes Reason: Topic already exists with different attributes")
    assert _error(sns.create_topic, Name="fid-idem", Attributes={"DisplayName": "Value2"}) == different
    assert _error(sns.create_topic, Name="fid-idem", Attributes={"SignatureVersion": "2"}) == different
    assert _error(sns.create_topic, Name="fid-idem", Attributes={"SignatureVersion": "2", "DisplayName": "Value1"}) == different
    assert _error(sns.create_topic, Name="fid-idem", Tags=[{"Key": "key1", "Value": "value1"}]) == _invalid(
        "Invalid parameter: Tags Reason: Topic already exists with different tags"
    )


def test_malformed_and_missing_topic_arns(sns: Any, unchecked_sns: Any) -> None:
    for arn, parts in (("randomstring", 1), ("randomstring:1", 2), ("", 1)):
        assert _error(sns.publish, TopicArn=arn, Message="m") == _invalid(
            f"Invalid parameter: TopicArn Reason: An ARN must have at least 6 elements, not {parts}"
        )
    assert _error(sns.get_topic_attributes, TopicArn="randomstring") == _invalid(
        "Invalid parameter: TopicArn Reason: An ARN must have at least 6 elements, not 1"
    )
    assert _error(sns.subscribe, TopicArn="arn:aws:sns:us-east-1:111111111111", Protocol="sqs", Endpoint="x") == _invalid(
        "Invalid parameter: TopicArn Reason: An ARN must have at least 6 elements, not 5"
    )
    missing = f"arn:aws:sns:{REGION}:111111111111:fid-none"
    assert _error(sns.get_topic_attributes, TopicArn=missing) == ("NotFound", "Topic does not exist", 404)


def test_unsubscribe_with_malformed_arns(unchecked_sns: Any) -> None:
    assert _error(unchecked_sns.unsubscribe, SubscriptionArn="randomstring") == _invalid(
        "Invalid parameter: SubscriptionArn Reason: An ARN must have at least 6 elements, not 1"
    )
    assert _error(unchecked_sns.unsubscribe, SubscriptionArn="arn:aws:sns:us-east-1:random") == _invalid(
        "Invalid parameter: SubscriptionArn Reason: An ARN must have at least 6 elements, not 5"
    )
    assert _error(unchecked_sns.unsubscribe, SubscriptionArn="arn:aws:sns:us-east-1:111111111111:random") == _invalid(
        "Invalid parameter: SubscriptionId"
    )


def test_tags_refuse_duplicate_keys(sns: Any) -> None:
    arn = sns.create_topic(Name="fid-tags")["TopicArn"]
    tags = [{"Key": "k1", "Value": "v1"}, {"Key": "k2", "Value": "v2"}, {"Key": "k2", "Value": "v2"}]
    assert _error(sns.tag_resource, ResourceArn=arn, Tags=tags) == _invalid("Invalid parameter: Duplicated keys are not allowed.")
    sns.tag_resource(ResourceArn=arn, Tags=tags[:2])
    sns.untag_resource(ResourceArn=arn, TagKeys=["k1"])
    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "k2", "Value": "v2b"}])
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "k2", "Value": "v2b"}]


# ---------------------------------------------------------------------- subscriptions


def test_subscribe_rules(sns: Any, sqs: Any) -> None:
    arn = sns.create_topic(Name="fid-subs")["TopicArn"]
    assert _error(sns.subscribe, TopicArn=arn, Protocol="test-protocol", Endpoint="x") == _invalid(
        "Invalid parameter: Amazon SNS does not support this protocol string: test-protocol"
    )
    url = sqs.create_queue(QueueName="fid-subs-q")["QueueUrl"]
    assert _error(sns.subscribe, TopicArn=arn, Protocol="sqs", Endpoint=url) == _invalid("Invalid parameter: SQS endpoint ARN")
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert _error(
        sns.subscribe, TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "wrongvalue"}
    ) == _invalid("Invalid parameter: Attributes Reason: RawMessageDelivery: Invalid value [wrongvalue]. Must be true or false.")
    sub = sns.subscribe(
        TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}, ReturnSubscriptionArn=True
    )
    sub_arn = sub["SubscriptionArn"]
    for attributes in ({"RawMessageDelivery": "true"}, {}):
        again = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes=attributes, ReturnSubscriptionArn=True)
        assert again["SubscriptionArn"] == sub_arn
    assert _error(sns.subscribe, TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "false"}) == _invalid(
        "Invalid parameter: Attributes Reason: Subscription already exists with different attributes"
    )
    got = sns.get_subscription_attributes(SubscriptionArn=sub_arn)["Attributes"]
    assert got["PendingConfirmation"] == "false" and got["ConfirmationWasAuthenticated"] == "true"
    assert got["RawMessageDelivery"] == "true" and got["Owner"] == "111111111111"


def test_set_subscription_attributes_checks(sns: Any, sqs: Any) -> None:
    arn = sns.create_topic(Name="fid-setsub")["TopicArn"]
    url = sqs.create_queue(QueueName="fid-setsub-q")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sub_arn = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, ReturnSubscriptionArn=True)["SubscriptionArn"]
    assert _error(sns.set_subscription_attributes, SubscriptionArn=sub_arn, AttributeName="FakeAttribute", AttributeValue="x") == _invalid(
        "Invalid parameter: AttributeName"
    )
    for value in ("test-ValUe", ""):
        assert _error(
            sns.set_subscription_attributes, SubscriptionArn=sub_arn, AttributeName="RawMessageDelivery", AttributeValue=value
        ) == _invalid(f"Invalid parameter: RawMessageDelivery: Invalid value [{value}]. Must be true or false.")
    assert _error(
        sns.set_subscription_attributes,
        SubscriptionArn=sub_arn,
        AttributeName="RedrivePolicy",
        AttributeValue=json.dumps({"deadLetterTargetArn": "fake-arn"}),
    ) == _invalid("Invalid parameter: RedrivePolicy: deadLetterTargetArn is an invalid arn")
    gone = f"{arn}:00000000-0000-0000-0000-000000000000"
    assert _error(sns.get_subscription_attributes, SubscriptionArn=gone) == ("NotFound", "Subscription does not exist", 404)


# --------------------------------------------------------------------------- publish


def test_publish_rules(sns: Any) -> None:
    arn = sns.create_topic(Name="fid-pub")["TopicArn"]
    assert _error(sns.publish, TopicArn=arn, Message="") == _invalid("Invalid parameter: Empty message")
    assert _error(sns.publish, TopicArn=arn, Message="m", Subject="") == _invalid("Invalid parameter: Subject")
    assert _error(sns.publish, TopicArn=arn, Message="This is a test message" * 12000) == _invalid("Invalid parameter: Message too long")
    attributes = {"attr1": {"DataType": "Number", "StringValue": "1"}}
    counted = len("attr1") + len("Number") + len("1")
    assert _error(sns.publish, TopicArn=arn, Message="a" * (262_144 - counted + 1), MessageAttributes=attributes) == _invalid(
        "Invalid parameter: Message too long"
    )
    assert sns.publish(TopicArn=arn, Message="a" * (262_144 - counted), MessageAttributes=attributes)["MessageId"]


def test_message_structure_json(sns: Any) -> None:
    arn = sns.create_topic(Name="fid-structure")["TopicArn"]
    no_default = _invalid("Invalid parameter: Message Structure - No default entry in JSON message body")
    assert _error(sns.publish, TopicArn=arn, Message=json.dumps({"sqs": "Test message"}), MessageStructure="json") == no_default
    assert _error(sns.publish, TopicArn=arn, Message='{"default": "This is a default message"} }', MessageStructure="json") == _invalid(
        "Invalid parameter: Message Structure - JSON message body failed to parse"
    )
    assert _error(sns.publish, TopicArn=arn, Message=json.dumps({"default": {"object": "test"}}), MessageStructure="json") == no_default
    # Duplicate keys are documented as refused, but SNS takes them.
    assert sns.publish(TopicArn=arn, Message='{"default": "a", "default": "b"}', MessageStructure="json")["MessageId"]


def test_publish_batch_entry_ids(sns: Any) -> None:
    arn = sns.create_topic(Name="fid-batch")["TopicArn"]
    for entry_id in ("message.id", "msg@123#test"):
        assert _error(sns.publish_batch, TopicArn=arn, PublishBatchRequestEntries=[{"Id": entry_id, "Message": "m"}]) == (
            "InvalidBatchEntryId",
            f"The Id of a batch entry in the batch request contains an impermissible character: {entry_id}",
            400,
        )
    for entry_id in ("a" * 81, "myreally" + "really" * 12 + "longid"):
        assert _error(sns.publish_batch, TopicArn=arn, PublishBatchRequestEntries=[{"Id": entry_id, "Message": "m"}]) == (
            "InvalidBatchEntryId",
            f"The Id of a batch entry in the batch request is too long: {entry_id}",
            400,
        )
    ok = sns.publish_batch(
        TopicArn=arn, PublishBatchRequestEntries=[{"Id": "a" * 80, "Message": "m"}, {"Id": "valid-message_123", "Message": "m"}]
    )
    assert [s["Id"] for s in ok["Successful"]] == ["a" * 80, "valid-message_123"] and ok["Failed"] == []
    assert _error(sns.publish_batch, TopicArn=arn, PublishBatchRequestEntries=[{"Id": f"Id_{i}", "Message": "m"} for i in range(11)]) == (
        "TooManyEntriesInBatchRequest",
        "The batch request contains more entries than permissible.",
        400,
    )
    assert _error(sns.publish_batch, TopicArn=arn, PublishBatchRequestEntries=[{"Id": "1", "Message": "m"}] * 2) == (
        "BatchEntryIdsNotDistinct",
        "Two or more batch entries in the request have the same Id.",
        400,
    )
    big = [{"Id": str(i), "Message": "a" * 100_000} for i in range(3)]
    assert _error(sns.publish_batch, TopicArn=arn, PublishBatchRequestEntries=big) == (
        "BatchRequestTooLong",
        "The length of all the messages put together is more than the limit.",
        400,
    )


def test_message_attribute_checks(sns: Any) -> None:
    arn = sns.create_topic(Name="fid-attrs")["TopicArn"]

    def refused(attributes: dict[str, Any]) -> tuple[str, str, int]:
        single = _error(sns.publish, TopicArn=arn, Message="m", MessageAttributes=attributes)
        # In a batch, a bad attribute fails the whole request with the same answer.
        entries = [{"Id": "1", "Message": "m", "MessageAttributes": attributes}, {"Id": "2", "Message": "valid"}]
        assert _error(sns.publish_batch, TopicArn=arn, PublishBatchRequestEntries=entries) == single
        return single

    def bad(message: str) -> tuple[str, str, int]:
        return "ParameterValueInvalid", message, 400

    assert refused({"attr1": {"DataType": "String", "StringValue": ""}}) == bad(
        "The message attribute 'attr1' must contain non-empty message attribute value for message attribute type 'String'."
    )
    assert refused({"attr1": {"DataType": "Binary", "BinaryValue": b""}}) == bad(
        "The message attribute 'attr1' must contain non-empty message attribute value for message attribute type 'Binary'."
    )
    assert refused({"attr1": {"DataType": "Text", "StringValue": "x"}}) == bad(
        "The message attribute 'attr1' has an invalid message attribute type,"
        " the set of supported type prefixes is Binary, Number, and String."
    )
    assert refused({"attr1": {"DataType": "Binary", "StringValue": "x"}}) == bad(
        "The message attribute 'attr1' with type 'Binary' must use field 'Binary'."
    )
    assert refused({"attr1": {"DataType": "String", "BinaryValue": b"x"}}) == bad(
        "The message attribute 'attr1' with type 'String' must use field 'String'."
    )
    assert refused({"attr1": {"DataType": "Number", "BinaryValue": b"1"}}) == bad(
        "The message attribute 'attr1' with type 'Number' must use field 'String'."
    )
    assert refused({".attr": {"DataType": "String", "StringValue": "x"}}) == bad(
        "Invalid message attribute name starting with character '.' was found."
    )
    assert refused({"attr.": {"DataType": "String", "StringValue": "x"}}) == bad(
        "Invalid message attribute name ending with character '.' was found."
    )
    assert refused({"at..tr": {"DataType": "String", "StringValue": "x"}}) == bad(
        "Message attribute name can not have successive '.' character."
    )
    assert refused({"at^tr": {"DataType": "String", "StringValue": "x"}}) == bad(
        "Invalid non-alphanumeric character '#x5E' was found in the message attribute name. Can only include alphanumeric characters,"
        " hyphens, underscores, or dots."
    )
    assert refused({"a" * 257: {"DataType": "String", "StringValue": "x"}}) == bad(
        "Length of message attribute name must be less than 256 bytes."
    )
