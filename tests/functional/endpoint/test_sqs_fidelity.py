"""SQS's exact answers through boto3: error codes, messages and statuses as AWS records them.

The expected texts are SQS's own (as recorded against AWS), so a client that matches on a
message or a code sees the same thing here as there.
"""

from __future__ import annotations

import hashlib
import json
import struct
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.endpoint.server import Endpoint

XMLNS = {"q": "http://queue.amazonaws.com/doc/2012-11-05/"}


@pytest.fixture(scope="module")
def sqs(aws: Callable[..., Any]) -> Any:
    return aws("sqs")


def _error(call: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response: dict[str, Any] = caught.value.response
    return {
        "Code": response["Error"]["Code"],
        "Message": response["Error"]["Message"],
        "Status": response["ResponseMetadata"]["HTTPStatusCode"],
    }


def _query(endpoint: Endpoint, form: dict[str, str]) -> tuple[int, ET.Element]:
    body = urllib.parse.urlencode({"Version": "2012-11-05", **form}).encode()
    request = urllib.request.Request(endpoint.url + "/", data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, ET.fromstring(response.read())
    except urllib.error.HTTPError as error:
        return error.code, ET.fromstring(error.read())


def _md5_of_string_attribute(name: str, value: str) -> str:
    """The SQS Developer Guide's digest of one String attribute, written out by hand."""
    parts = [
        struct.pack(">I", len(name)) + name.encode(),
        struct.pack(">I", 6) + b"String",
        b"\x01" + struct.pack(">I", len(value)) + value.encode(),
    ]
    return hashlib.md5(b"".join(parts), usedforsecurity=False).hexdigest()


def _invalid(message: str) -> dict[str, Any]:
    return {"Code": "InvalidParameterValue", "Message": message, "Status": 400}


# ------------------------------------------------------------------------------ queues


def test_a_missing_queue_answers_each_protocol_in_its_words(sqs: Any, endpoint: Endpoint) -> None:
    url = sqs.create_queue(QueueName="fid-gone")["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(ClientError) as caught:
        sqs.get_queue_attributes(QueueUrl=url)
    error = caught.value.response["Error"]
    assert error["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert error["QueryErrorCode"] == "QueueDoesNotExist" and error["Type"] == "Sender"
    assert error["Message"] == "The specified queue does not exist."
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName="fid-gone")
    status, xml = _query(endpoint, {"Action": "GetQueueAttributes", "QueueUrl": url})
    assert status == 400
    assert xml.findtext("q:Error/q:Code", namespaces=XMLNS) == "AWS.SimpleQueueService.NonExistentQueue"
    assert xml.findtext("q:Error/q:Message", namespaces=XMLNS) == "The specified queue does not exist for this wsdl version."


def test_fifo_attributes_on_a_standard_queue_are_unknown(sqs: Any) -> None:
    for attributes, message in [
        ({"FifoQueue": "false"}, "Unknown Attribute FifoQueue."),
        ({"ContentBasedDeduplication": "false"}, "Unknown Attribute ContentBasedDeduplication."),
        ({"DeduplicationScope": "queue"}, "You can specify the DeduplicationScope only when FifoQueue is set to true."),
        ({"FifoThroughputLimit": "perQueue"}, "You can specify the FifoThroughputLimit only when FifoQueue is set to true."),
    ]:
        assert _error(sqs.create_queue, QueueName="fid-standard", Attributes=attributes) == {
            "Code": "InvalidAttributeName",
            "Message": message,
            "Status": 400,
        }


def test_set_queue_attributes_cannot_change_the_queue_type(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="fid-type")["QueueUrl"]
    for value in ("true", "false"):
        assert _error(sqs.set_queue_attributes, QueueUrl=url, Attributes={"FifoQueue": value})["Message"] == "Unknown Attribute FifoQueue."
    fifo = sqs.create_queue(QueueName="fid-type.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=fifo, Attributes={"FifoQueue": "true"})
    assert _error(sqs.set_queue_attributes, QueueUrl=fifo, Attributes={"FifoQueue": "false"}) == {
        "Code": "InvalidAttributeValue",
        "Message": "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.",
        "Status": 400,
    }


def test_create_queue_again_with_another_value_names_the_attribute(sqs: Any) -> None:
    sqs.create_queue(QueueName="fid-again", Attributes={"DelaySeconds": "1"})
    assert _error(sqs.create_queue, QueueName="fid-again", Attributes={"DelaySeconds": "2"}) == {
        "Code": "QueueAlreadyExists",
        "Message": "A queue already exists with the same name and a different value for attribute DelaySeconds",
        "Status": 400,
    }
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "false"}
    sqs.create_queue(QueueName="fid-again.fifo", Attributes=attributes)
    assert _error(sqs.create_queue, QueueName="fid-again.fifo", Attributes={**attributes, "ContentBasedDeduplication": "true"})[
        "Message"
    ] == ("A queue already exists with the same name and a different value for attribute ContentBasedDeduplication")


def test_kms_settings_set_and_back_to_defaults(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="fid-kms")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"KmsMasterKeyId": "testKeyId", "KmsDataKeyReusePeriodSeconds": "6000"})
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (got["KmsMasterKeyId"], got["KmsDataKeyReusePeriodSeconds"], got["SqsManagedSseEnabled"]) == ("testKeyId", "6000", "false")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"KmsMasterKeyId": "", "KmsDataKeyReusePeriodSeconds": "300"})
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    # SQS drops the key and the reuse period at their defaults, and keeps SQS-managed SSE off.
    assert "KmsMasterKeyId" not in got and "KmsDataKeyReusePeriodSeconds" not in got
    assert got["SqsManagedSseEnabled"] == "false"
    assert _error(sqs.set_queue_attributes, QueueUrl=url, Attributes={"KmsMasterKeyId": "k", "SqsManagedSseEnabled": "true"}) == {
        "Code": "InvalidAttributeName",
        "Message": "You can use one type of server-side encryption (SSE) at one time. You can either enable KMS SSE or SQS SSE.",
        "Status": 400,
    }


def test_purge_twice_within_a_minute_is_refused(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="fid-purge")["QueueUrl"]
    sqs.purge_queue(QueueUrl=url)
    with pytest.raises(ClientError) as caught:
        sqs.purge_queue(QueueUrl=url)
    error = caught.value.response["Error"]
    assert error["Code"] == "AWS.SimpleQueueService.PurgeQueueInProgress" and error["QueryErrorCode"] == "PurgeQueueInProgress"
    assert error["Message"] == "Only one PurgeQueue operation on fid-purge is allowed every 60 seconds."
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_tags_may_have_empty_values_and_untag_removes_them(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="fid-tags")["QueueUrl"]
    sqs.tag_queue(QueueUrl=url, Tags={"tag1": "value1", "tag2": "value2", "tag3": ""})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"tag1": "value1", "tag2": "value2", "tag3": ""}
    sqs.untag_queue(QueueUrl=url, TagKeys=["tag1", "tag3", "tag4"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"tag2": "value2"}
    sqs.untag_queue(QueueUrl=url, TagKeys=["tag2"])
    assert "Tags" not in sqs.list_queue_tags(QueueUrl=url)


def test_get_queue_url_of_our_account_and_of_another(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="fid-owner")["QueueUrl"]
    owner = url.rstrip("/").split("/")[-2]
    assert sqs.get_queue_url(QueueName="fid-owner", QueueOwnerAWSAccountId=owner)["QueueUrl"] == url
    assert _error(sqs.get_queue_url, QueueName="fid-owner", QueueOwnerAWSAccountId="999999999999")["Code"] == (
        "AWS.SimpleQueueService.NonExistentQueue"
    )


def test_remove_permission_of_an_unknown_label(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="fid-perm")["QueueUrl"]
    sqs.add_permission(QueueUrl=url, AWSAccountIds=["668614515564"], Actions=["ReceiveMessage"], Label="crossaccountpermission")
    assert _error(
        sqs.add_permission, QueueUrl=url, AWSAccountIds=["668614515564"], Actions=["ReceiveMessage"], Label="crossaccountpermission"
    ) == _invalid("Value crossaccountpermission for parameter Label is invalid. Reason: Already exists.")
    assert _error(sqs.remove_permission, QueueUrl=url, Label="crossaccountpermission2") == _invalid(
        "Value crossaccountpermission2 for parameter Label is invalid. Reason: can't find label."
    )


# ------------------------------------------------------------------------------ sends


def test_message_size_limits_of_sends_and_batches(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="fid-size")["QueueUrl"]
    assert _error(sqs.send_message, QueueUrl=url, MessageBody="a" * (1_048_576 + 1)) == _invalid(
        "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes."
    )
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"MaximumMessageSize": "1024"})
    sqs.send_message(QueueUrl=url, MessageBody="a" * 1024)
    attributes = {"k": {"DataType": "String", "StringValue": "x"}}
    assert _error(sqs.send_message, QueueUrl=url, MessageBody="a" * (1024 - 8 + 1), MessageAttributes=attributes) == _invalid(
        "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes."
    )
    batch = sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": "ok", "MessageBody": "a" * 1024}, {"Id": "big", "MessageBody": "a" * 1025}]
    )
    assert [s["Id"] for s in batch["Successful"]] == ["ok"]
    assert batch["Failed"] == [
        {
            "Id": "big",
            "SenderFault": True,
            "Code": "InvalidParameterValue",
            "Message": "One or more parameters cannot be validated. Reason: Message must be shorter than 1024 bytes.",
        }
    ]


def test_a_batch_longer_than_a_mebibyte_fails_whole(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="fid-batch-long")["QueueUrl"]
    entries = [{"Id": "1", "MessageBody": "a" * 1_048_575}, {"Id": "2", "MessageBody": "aa"}]
    with pytest.raises(ClientError) as caught:
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    error = caught.value.response["Error"]
    assert (error["Code"], error["QueryErrorCode"]) == ("AWS.SimpleQueueService.BatchRequestTooLong", "BatchRequestTooLong")
    assert error["Message"] == "Batch requests cannot be longer than 1048576 bytes. You have sent 1048577 bytes."


def test_batch_request_rules(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="fid-batch-rules")["QueueUrl"]
    too_many = [{"Id": f"m{n}", "MessageBody": "x"} for n in range(20)]
    assert _error(sqs.send_message_batch, QueueUrl=url, Entries=too_many) == {
        "Code": "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        "Message": "Maximum number of entries per request are 10. You have sent 20.",
        "Status": 400,
    }
    visibility = [{"Id": f"m{n}", "ReceiptHandle": "r", "VisibilityTimeout": 1} for n in range(20)]
    assert _error(sqs.change_message_visibility_batch, QueueUrl=url, Entries=visibility)["Code"] == (
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    )
    bad_id = "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long."
    for entry_id in ("", "invalid:id", "testLongId" * 10):
        assert _error(sqs.delete_message_batch, QueueUrl=url, Entries=[{"Id": entry_id, "ReceiptHandle": "r"}]) == {
            "Code": "AWS.SimpleQueueService.InvalidBatchEntryId",
            "Message": bad_id,
            "Status": 400,
        }
    assert _error(sqs.send_message_batch, QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "x"}, {"Id": "a", "MessageBody": "y"}]) == {
        "Code": "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        "Message": "Id a repeated.",
        "Status": 400,
    }
    assert _error(sqs.send_message_batch, QueueUrl=url, Entries=[])["Code"] == "AWS.SimpleQueueService.EmptyBatchRequest"


def test_empty_bodies_and_attribute_values(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="fid-empty")["QueueUrl"]
    assert _error(sqs.send_message, QueueUrl=url, MessageBody="") == {
        "Code": "MissingParameter",
        "Message": "The request must contain the parameter MessageBody.",
        "Status": 400,
    }
    attributes = {"ErrorDetails": {"DataType": "String", "StringValue": ""}}
    assert _error(sqs.send_message, QueueUrl=url, MessageBody="x", MessageAttributes=attributes) == _invalid(
        "Message (user) attribute 'ErrorDetails' must contain a non-empty value of type 'String'."
    )


@pytest.mark.parametrize("value", ["", "a" * 129, "group 123"])
def test_group_and_deduplication_ids_are_checked(sqs: Any, value: str) -> None:
    url = sqs.create_queue(QueueName="fid-ids")["QueueUrl"]
    assert _error(sqs.send_message, QueueUrl=url, MessageBody="m", MessageGroupId=value) == _invalid(
        f"Value {value} for parameter MessageGroupId is invalid. Reason: MessageGroupId can only include alphanumeric and"
        " punctuation characters. 1 to 128 in length."
    )
    fifo = sqs.create_queue(QueueName="fid-ids.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    assert _error(sqs.send_message, QueueUrl=fifo, MessageBody="m", MessageGroupId="g", MessageDeduplicationId=value) == _invalid(
        f"Value {value} for parameter MessageDeduplicationId is invalid. Reason: MessageDeduplicationId can only include"
        " alphanumeric and punctuation characters. 1 to 128 in length."
    )


def test_fifo_send_rules(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="fid-rules.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    no_dedup = "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly"
    assert _error(sqs.send_message, QueueUrl=url, MessageBody="m", MessageGroupId="g") == _invalid(no_dedup)
    assert _error(sqs.send_message, QueueUrl=url, MessageBody="m", MessageDeduplicationId="d") == {
        "Code": "MissingParameter",
        "Message": "The request must contain the parameter MessageGroupId.",
        "Status": 400,
    }
    assert _error(
        sqs.send_message, QueueUrl=url, MessageBody="m", MessageGroupId="g", MessageDeduplicationId="d", DelaySeconds=2
    ) == _invalid(
        "Value 2 for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type."
    )
    # In a batch, an entry without a group or deduplication id fails the whole request.
    entries = [
        {"Id": "a", "MessageBody": "m", "MessageGroupId": "g", "MessageDeduplicationId": "d1"},
        {"Id": "b", "MessageBody": "m", "MessageDeduplicationId": "d2"},
    ]
    assert _error(sqs.send_message_batch, QueueUrl=url, Entries=entries) == _invalid(
        "The request must contain the parameter MessageGroupId."
    )
    entries = [
        {"Id": "a", "MessageBody": "m", "MessageGroupId": "g", "MessageDeduplicationId": "d1"},
        {"Id": "b", "MessageBody": "m", "MessageGroupId": "g"},
    ]
    assert _error(sqs.send_message_batch, QueueUrl=url, Entries=entries) == _invalid(no_dedup)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_a_fifo_delay_of_zero_takes_the_queues_delay(sqs: Any) -> None:
    url = sqs.create_queue(
        QueueName="fid-delay.fifo", Attributes={"FifoQueue": "true", "DelaySeconds": "1", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="m", MessageGroupId="g", DelaySeconds=0)
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesDelayed"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"


def test_the_trace_header_and_its_digest(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="fid-trace")["QueueUrl"]
    header = "Root=1-3152b799-8954dae64eda91bc9a23a7e8;Parent=7fa8c0f79203be72;Sampled=1"
    sent = sqs.send_message(
        QueueUrl=url, MessageBody="test", MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": header}}
    )
    assert sent["MD5OfMessageSystemAttributes"] == _md5_of_string_attribute("AWSTraceHeader", header)
    got = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["AWSTraceHeader", "SentTimestamp"])["Messages"][0]
    assert set(got["Attributes"]) == {"AWSTraceHeader", "SentTimestamp"} and got["Attributes"]["AWSTraceHeader"] == header


# --------------------------------------------------------------------------- receives


def test_receive_parameter_ranges(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="fid-ranges")["QueueUrl"]
    assert _error(sqs.receive_message, QueueUrl=url, MaxNumberOfMessages=11) == _invalid(
        "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."
    )
    for wait in (-1, 21):
        assert _error(sqs.receive_message, QueueUrl=url, WaitTimeSeconds=wait) == _invalid(
            f"Value {wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."
        )


def test_receive_attribute_names(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="fid-names", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="msg", MessageAttributes={"Foo": {"DataType": "String", "StringValue": "Bar"}})
    every = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"][0]
    assert set(every["Attributes"]) == {"ApproximateFirstReceiveTimestamp", "ApproximateReceiveCount", "SenderId", "SentTimestamp"}
    assert "MessageAttributes" not in every and "MD5OfMessageAttributes" not in every
    both = sqs.receive_message(QueueUrl=url, AttributeNames=["All"], MessageAttributeNames=["All"])["Messages"][0]
    assert both["MD5OfMessageAttributes"] == "ae7155c6026991b6d54b11589678bf9c"
    assert both["Attributes"]["ApproximateReceiveCount"] == "2"
    one = sqs.receive_message(QueueUrl=url, AttributeNames=["SenderId", "SequenceNumber"])["Messages"][0]
    assert set(one["Attributes"]) == {"SenderId"}
    mixed = sqs.receive_message(QueueUrl=url, AttributeNames=["SenderId"], MessageSystemAttributeNames=["SentTimestamp"])["Messages"][0]
    assert set(mixed["Attributes"]) == {"SenderId", "SentTimestamp"}


def test_a_fifo_receipt_of_a_visible_message_has_expired(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="fid-expired.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="foobar", MessageGroupId="1")
    receipt = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=receipt, VisibilityTimeout=0)
    assert _error(sqs.delete_message, QueueUrl=url, ReceiptHandle=receipt) == _invalid(
        f"Value {receipt} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired."
    )


def test_a_standard_receipt_of_a_visible_message_still_deletes(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="fid-visible")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="m")
    receipt = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=receipt, VisibilityTimeout=0)
    # The visibility timeout ran out; changing it again still succeeds on a standard queue.
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=receipt, VisibilityTimeout=0)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=receipt)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_a_malformed_receipt_handle(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="fid-receipt")["QueueUrl"]
    assert _error(sqs.delete_message, QueueUrl=url, ReceiptHandle="garbage") == {
        "Code": "ReceiptHandleIsInvalid",
        "Message": 'The input receipt handle "garbage" is not a valid receipt handle.',
        "Status": 404,
    }


def test_list_queues_pages(sqs: Any, endpoint: Endpoint) -> None:
    names = [f"fid-page-{n}" for n in range(5)]
    for name in names:
        sqs.create_queue(QueueName=name)
    first = sqs.list_queues(QueueNamePrefix="fid-page-", MaxResults=2)
    assert [u.rsplit("/", 1)[1] for u in first["QueueUrls"]] == names[:2]
    rest = sqs.list_queues(QueueNamePrefix="fid-page-", MaxResults=10, NextToken=first["NextToken"])
    assert [u.rsplit("/", 1)[1] for u in rest["QueueUrls"]] == names[2:] and "NextToken" not in rest
    assert "QueueUrls" not in sqs.list_queues(QueueNamePrefix="fid-page-none")


def test_queue_attributes_as_json(sqs: Any) -> None:
    dlq = sqs.create_queue(QueueName="fid-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName="fid-src", Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "2"})}
    )["QueueUrl"]
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]
    assert json.loads(got["RedrivePolicy"]) == {"deadLetterTargetArn": arn, "maxReceiveCount": 2}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": ""})
    assert "RedrivePolicy" not in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def _send_in_two_groups(sqs: Any, url: str) -> list[str]:
    """Send one body in group1 (received and deleted), then in group2; the bodies group2 got."""
    sqs.send_message(QueueUrl=url, MessageBody="Test", MessageGroupId="group1", MessageDeduplicationId="same-dedup")
    first = sqs.receive_message(QueueUrl=url)["Messages"][0]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    sqs.send_message(QueueUrl=url, MessageBody="Test", MessageGroupId="group2", MessageDeduplicationId="same-dedup")
    return [m["Body"] for m in sqs.receive_message(QueueUrl=url).get("Messages", [])]


def test_deduplication_scope_of_a_fifo_queue(sqs: Any) -> None:
    by_queue = sqs.create_queue(QueueName="fid-scope-q.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    assert _send_in_two_groups(sqs, by_queue) == []
    by_group = sqs.create_queue(QueueName="fid-scope-g.fifo", Attributes={"FifoQueue": "true", "DeduplicationScope": "messageGroup"})[
        "QueueUrl"
    ]
    assert _send_in_two_groups(sqs, by_group) == ["Test"]
    # SQS keeps deduplicating as the queue was created, whatever scope is set later (and reported).
    later = sqs.create_queue(QueueName="fid-scope-later.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=later, Attributes={"DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"})
    got = sqs.get_queue_attributes(QueueUrl=later, AttributeNames=["All"])["Attributes"]
    assert (got["DeduplicationScope"], got["FifoThroughputLimit"]) == ("messageGroup", "perMessageGroupId")
    assert not any(name.startswith("sluiceway:") for name in got)
    assert _send_in_two_groups(sqs, later) == []
