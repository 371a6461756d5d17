"""SQS through boto3 (JSON protocol) and by hand (query protocol), on the stack's queues."""

from __future__ import annotations

import hashlib
import json
import struct
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.lambdas.invoker import FunctionSpec
from sluiceway.runtime.messaging.triggers import EventSourceMapping
from sluiceway.runtime.stack import Stack

ACCOUNT = "111111111111"
XMLNS = {"q": "http://queue.amazonaws.com/doc/2012-11-05/"}
TRIGGERED: list[Any] = []
"""Events the ``record`` handler got (the thread invoker runs it in this process)."""


def record(event: Any, context: Any) -> Any:
    TRIGGERED.append(event)
    return None


@pytest.fixture(scope="module")
def sqs(aws: Callable[..., Any]) -> Any:
    return aws("sqs")


def _md5_of_attributes(attributes: dict[str, dict[str, Any]]) -> str:
    """The SQS Developer Guide's algorithm, written out independently of the endpoint's."""
    digest = hashlib.md5(usedforsecurity=False)
    for name in sorted(attributes):
        value = attributes[name]
        for part in (name.encode(), value["DataType"].encode()):
            digest.update(struct.pack(">I", len(part)) + part)
        if value["DataType"].startswith("Binary"):
            data = value["BinaryValue"]
            digest.update(b"\x02" + struct.pack(">I", len(data)) + data)
        else:
            data = value["StringValue"].encode()
            digest.update(b"\x01" + struct.pack(">I", len(data)) + data)
    return digest.hexdigest()


def _wait_for(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


# ------------------------------------------------------------------------------ queues


def test_create_get_list_and_delete_queues(sqs: Any, endpoint: Endpoint) -> None:
    url = sqs.create_queue(QueueName="q-life")["QueueUrl"]
    assert url == f"{endpoint.url}/{ACCOUNT}/q-life"
    assert sqs.get_queue_url(QueueName="q-life")["QueueUrl"] == url
    for n in range(3):
        sqs.create_queue(QueueName=f"q-page-{n}")
    assert sqs.list_queues(QueueNamePrefix="q-page-")["QueueUrls"] == [f"{endpoint.url}/{ACCOUNT}/q-page-{n}" for n in range(3)]
    first = sqs.list_queues(QueueNamePrefix="q-page-", MaxResults=2)
    assert [u.rsplit("/", 1)[1] for u in first["QueueUrls"]] == ["q-page-0", "q-page-1"]
    second = sqs.list_queues(QueueNamePrefix="q-page-", MaxResults=2, NextToken=first["NextToken"])
    assert [u.rsplit("/", 1)[1] for u in second["QueueUrls"]] == ["q-page-2"] and "NextToken" not in second
    assert "QueueUrls" not in sqs.list_queues(QueueNamePrefix="q-none-")
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as info:
        sqs.get_queue_url(QueueName="q-life")
    # What boto3 users see with the JSON protocol: the legacy code, via x-amzn-query-error.
    assert info.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert info.value.response["Error"]["Message"] == "The specified queue does not exist."
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.send_message(QueueUrl=url, MessageBody="x")


def test_a_queue_url_of_another_host_names_the_queue_by_its_last_segment(sqs: Any) -> None:
    sqs.create_queue(QueueName="q-host")
    sqs.send_message(QueueUrl="https://sqs.eu-west-1.amazonaws.com/999999999999/q-host", MessageBody="hi")
    got = sqs.receive_message(QueueUrl="http://localhost:4566/000000000000/q-host")["Messages"]
    assert got[0]["Body"] == "hi"


def test_create_queue_is_idempotent_for_the_attributes_given(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="q-idem", Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    assert sqs.create_queue(QueueName="q-idem", Attributes={"VisibilityTimeout": "60"})["QueueUrl"] == url
    assert sqs.create_queue(QueueName="q-idem")["QueueUrl"] == url  # attributes not given are not compared
    with pytest.raises(sqs.exceptions.QueueNameExists) as info:
        sqs.create_queue(QueueName="q-idem", Attributes={"VisibilityTimeout": "61"})
    assert info.value.response["Error"]["Code"] == "QueueAlreadyExists"
    assert "VisibilityTimeout" in info.value.response["Error"]["Message"]


def test_create_queue_refuses_bad_names_and_attributes(sqs: Any) -> None:
    for name, attributes in (("bad name", {}), ("x" * 81, {}), ("q-fifo-without-suffix", {"FifoQueue": "true"})):
        with pytest.raises(ClientError) as info:
            sqs.create_queue(QueueName=name, Attributes=attributes)
        assert info.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as info:
        sqs.create_queue(QueueName="q-bad-attr", Attributes={"VisibilityTimeout": "43201"})
    assert info.value.response["Error"]["Code"] == "InvalidAttributeValue"
    assert info.value.response["Error"]["Message"] == "Invalid value for the parameter VisibilityTimeout."
    with pytest.raises(ClientError) as info:
        sqs.create_queue(QueueName="q-bad-attr", Attributes={"Colour": "blue"})
    assert info.value.response["Error"]["Code"] == "InvalidAttributeName"
    with pytest.raises(ClientError) as info:
        sqs.create_queue(QueueName="q-bad-attr", Attributes={"ContentBasedDeduplication": "true"})
    assert info.value.response["Error"]["Code"] == "InvalidAttributeName"  # a FIFO-only attribute
    assert sqs.list_queues(QueueNamePrefix="q-bad-attr").get("QueueUrls") is None


def test_queue_attributes_get_all_one_and_set(sqs: Any) -> None:
    url = sqs.create_queue(
        QueueName="q-attrs",
        Attributes={
            "DelaySeconds": "0",
            "MaximumMessageSize": "2048",
            "MessageRetentionPeriod": "600",
            "ReceiveMessageWaitTimeSeconds": "0",
        },
    )["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="one")
    sqs.send_message(QueueUrl=url, MessageBody="two")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=600 // 2)
    sqs.receive_message(QueueUrl=url, VisibilityTimeout=300)
    every = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert every["QueueArn"] == f"arn:aws:sqs:us-east-1:{ACCOUNT}:q-attrs"
    assert (
        every["ApproximateNumberOfMessages"],
        every["ApproximateNumberOfMessagesNotVisible"],
        every["ApproximateNumberOfMessagesDelayed"],
    ) == ("1", "1", "1")
    assert (every["MaximumMessageSize"], every["MessageRetentionPeriod"], every["VisibilityTimeout"]) == ("2048", "600", "30")
    assert abs(int(every["CreatedTimestamp"]) - time.time()) < 60 and "FifoQueue" not in every
    one = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]
    assert one == {"VisibilityTimeout": "30"}
    assert "Attributes" not in sqs.get_queue_attributes(QueueUrl=url)
    sqs.set_queue_attributes(
        QueueUrl=url, Attributes={"VisibilityTimeout": "45", "Policy": json.dumps({"Version": "2012-10-17", "Statement": []})}
    )
    after = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout", "Policy"])["Attributes"]
    assert after["VisibilityTimeout"] == "45" and json.loads(after["Policy"])["Statement"] == []
    with pytest.raises(ClientError) as info:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"FifoQueue": "true"})
    assert info.value.response["Error"]["Code"] == "InvalidAttributeName"
    with pytest.raises(ClientError) as info:
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["NoSuchThing"])
    assert info.value.response["Error"]["Code"] == "InvalidAttributeName"


def test_tags_on_create_tag_untag_list(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="q-tags", tags={"team": "data"})["QueueUrl"]
    sqs.tag_queue(QueueUrl=url, Tags={"env": "dev", "team": "ml"})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "ml", "env": "dev"}
    sqs.untag_queue(QueueUrl=url, TagKeys=["team", "absent"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "dev"}
    sqs.untag_queue(QueueUrl=url, TagKeys=["env"])
    assert "Tags" not in sqs.list_queue_tags(QueueUrl=url)


def test_add_and_remove_permission_edit_the_queue_policy(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="q-perm")["QueueUrl"]
    sqs.add_permission(QueueUrl=url, Label="send", AWSAccountIds=["222222222222"], Actions=["SendMessage"])
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    [statement] = policy["Statement"]
    # One action, one principal: strings, as AWS writes them.
    assert statement["Sid"] == "send" and statement["Action"] == "SQS:SendMessage"
    assert statement["Principal"] == {"AWS": "arn:aws:iam::222222222222:root"}
    with pytest.raises(ClientError) as info:
        sqs.add_permission(QueueUrl=url, Label="send", AWSAccountIds=["222222222222"], Actions=["SendMessage"])
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"
    sqs.remove_permission(QueueUrl=url, Label="send")
    assert "Policy" not in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {})


# ------------------------------------------------------------------------------ messages


def test_send_and_receive_with_typed_attributes_and_exact_digests(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="q-md5")["QueueUrl"]
    attributes = {
        "ordinal": {"DataType": "Number", "StringValue": "1"},
        "category": {"DataType": "String", "StringValue": "test"},
    }
    sent = sqs.send_message(QueueUrl=url, MessageBody="héllo ✓", MessageAttributes=attributes)
    # A published vector (aws-sdk-go-v2's checksum validation accepts it), and the body's MD5.
    assert sent["MD5OfMessageAttributes"] == "d21ae90c49061e927f57df5f5d72be1f"
    assert sent["MD5OfMessageBody"] == hashlib.md5("héllo ✓".encode(), usedforsecurity=False).hexdigest()
    richer = {
        "foo.a": {"DataType": "String.custom", "StringValue": "x"},
        "foo.b": {"DataType": "Binary.gif", "BinaryValue": b"\x00\xffGIF"},
        "other": {"DataType": "Number.float", "StringValue": "-1.5e3"},
    }
    sent = sqs.send_message(QueueUrl=url, MessageBody="second", MessageAttributes=richer)
    assert sent["MD5OfMessageAttributes"] == _md5_of_attributes(richer)
    first = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"][0]
    assert first["Body"] == "héllo ✓" and first["MessageAttributes"] == attributes
    assert first["MD5OfMessageAttributes"] == "d21ae90c49061e927f57df5f5d72be1f"
    assert first["MD5OfBody"] == hashlib.md5("héllo ✓".encode(), usedforsecurity=False).hexdigest()
    second = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["foo.*"])["Messages"][0]
    selected = {k: v for k, v in richer.items() if k.startswith("foo.")}
    assert second["MessageAttributes"] == selected
    # The digest of a receive covers the attributes it returns.
    assert second["MD5OfMessageAttributes"] == _md5_of_attributes(selected)


def test_receive_returns_the_system_attributes_asked_for(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="q-system")["QueueUrl"]
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    sent = sqs.send_message(
        QueueUrl=url, MessageBody="b", MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": trace}}
    )
    assert sent["MD5OfMessageSystemAttributes"] == _md5_of_attributes({"AWSTraceHeader": {"DataType": "String", "StringValue": trace}})
    got = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["All"], VisibilityTimeout=0)["Messages"][0]
    attributes = got["Attributes"]
    assert attributes["AWSTraceHeader"] == trace and attributes["ApproximateReceiveCount"] == "1"
    assert attributes["SenderId"] == ACCOUNT and abs(int(attributes["SentTimestamp"]) / 1000 - time.time()) < 60
    first_receive = attributes["ApproximateFirstReceiveTimestamp"]
    again = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"])
    assert again["Messages"][0]["Attributes"] == {"ApproximateReceiveCount": "2", "ApproximateFirstReceiveTimestamp": first_receive}
    assert "Attributes" not in sqs.send_message(QueueUrl=url, MessageBody="c") and "MessageAttributes" not in got


def test_delete_change_visibility_and_stale_receipts(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="q-delete")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="m")
    first = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)["Messages"][0]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0)
    second = sqs.receive_message(QueueUrl=url)["Messages"][0]
    # Received again since: "the request will succeed, but the message might not be deleted"
    # (DeleteMessage's documentation); the message stays with its latest receiver.
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "1"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=second["ReceiptHandle"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=second["ReceiptHandle"])  # already deleted: fine, as SQS
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "0"
    with pytest.raises(ClientError) as error:
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=11)
    assert error.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_batches_send_delete_and_change_visibility(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="q-batch")["QueueUrl"]
    result = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "a", "MessageBody": "A", "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
            {"Id": "b", "MessageBody": "B"},
            {"Id": "bad", "MessageBody": "nul \x00 here"},
        ],
    )
    assert sorted(e["Id"] for e in result["Successful"]) == ["a", "b"]
    [failed] = result["Failed"]
    assert (failed["Id"], failed["Code"], failed["SenderFault"]) == ("bad", "InvalidMessageContents", True)
    by_id = {e["Id"]: e for e in result["Successful"]}
    assert by_id["a"]["MD5OfMessageBody"] == hashlib.md5(b"A", usedforsecurity=False).hexdigest()
    assert by_id["a"]["MD5OfMessageAttributes"] == _md5_of_attributes({"k": {"DataType": "String", "StringValue": "v"}})
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in got) == ["A", "B"]
    changed = sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "x", "ReceiptHandle": got[0]["ReceiptHandle"], "VisibilityTimeout": 60},
            {"Id": "y", "ReceiptHandle": "junk", "VisibilityTimeout": 1},
        ],
    )
    assert [e["Id"] for e in changed["Successful"]] == ["x"] and changed["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    deleted = sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
    )
    assert len(deleted["Successful"]) == 2 and deleted.get("Failed", []) == []
    errors = {
        "TooManyEntriesInBatchRequest": (
            [{"Id": str(i), "MessageBody": "x"} for i in range(11)],
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        ),
        "BatchEntryIdsNotDistinct": ([{"Id": "same", "MessageBody": "x"}] * 2, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"),
        "EmptyBatchRequest": ([], "AWS.SimpleQueueService.EmptyBatchRequest"),
    }
    for exception, (entries, code) in errors.items():
        with pytest.raises(getattr(sqs.exceptions, exception)) as info:
            sqs.send_message_batch(QueueUrl=url, Entries=entries)
        assert info.value.response["Error"]["Code"] == code


def test_invalid_contents_size_and_delay(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="q-limits", Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    with pytest.raises(sqs.exceptions.InvalidMessageContents):
        sqs.send_message(QueueUrl=url, MessageBody="bell \x07")
    with pytest.raises(ClientError) as info:
        sqs.send_message(QueueUrl=url, MessageBody="x" * 1025)
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "shorter than 1024 bytes" in info.value.response["Error"]["Message"]
    sqs.send_message(QueueUrl=url, MessageBody="x" * 1024)
    with pytest.raises(ClientError) as info:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes={"n": {"DataType": "Number", "StringValue": "not a number"}})
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"
    big = sqs.create_queue(QueueName="q-limits-default")["QueueUrl"]
    sqs.send_message(QueueUrl=big, MessageBody="x" * (1024 * 1024))  # SQS's limit since August 2025
    with pytest.raises(ClientError):
        sqs.send_message(QueueUrl=big, MessageBody="x" * (1024 * 1024 + 1))
    delayed = sqs.create_queue(QueueName="q-delay")["QueueUrl"]
    sqs.send_message(QueueUrl=delayed, MessageBody="later", DelaySeconds=900)
    assert "Messages" not in sqs.receive_message(QueueUrl=delayed)
    assert sqs.get_queue_attributes(QueueUrl=delayed, AttributeNames=["ApproximateNumberOfMessagesDelayed"])["Attributes"] == {
        "ApproximateNumberOfMessagesDelayed": "1"
    }


def test_purge_queue(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="q-purge")["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(5)])
    sqs.purge_queue(QueueUrl=url)
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)


# -------------------------------------------------------------------------------- FIFO


def test_fifo_order_deduplication_and_sequence_numbers(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="q-order.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    sent = [sqs.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="g", MessageDeduplicationId=f"d{i}") for i in range(3)]
    again = sqs.send_message(QueueUrl=url, MessageBody="m0 again", MessageGroupId="g", MessageDeduplicationId="d0")
    assert again["MessageId"] == sent[0]["MessageId"] and again["SequenceNumber"] == sent[0]["SequenceNumber"]
    numbers = [int(s["SequenceNumber"]) for s in sent]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in got] == ["m0", "m1", "m2"]
    assert got[0]["Attributes"]["MessageGroupId"] == "g" and got[0]["Attributes"]["MessageDeduplicationId"] == "d0"
    assert got[0]["Attributes"]["SequenceNumber"] == sent[0]["SequenceNumber"]
    # The group is in flight: nothing more comes out of it until it is settled.
    sqs.send_message(QueueUrl=url, MessageBody="m3", MessageGroupId="g", MessageDeduplicationId="d3")
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    with pytest.raises(ClientError) as info:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageDeduplicationId="d9")
    assert info.value.response["Error"]["Code"] == "MissingParameter"
    content = sqs.create_queue(QueueName="q-content.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})[
        "QueueUrl"
    ]
    one = sqs.send_message(QueueUrl=content, MessageBody="same", MessageGroupId="g")
    two = sqs.send_message(QueueUrl=content, MessageBody="same", MessageGroupId="g")
    assert one["MessageId"] == two["MessageId"]
    assert sqs.get_queue_attributes(QueueUrl=content, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"] == {
        "ApproximateNumberOfMessages": "1"
    }


# --------------------------------------------------------------------------- long polls


def test_a_long_poll_returns_when_a_message_arrives(sqs: Any, stack: Stack) -> None:
    url = sqs.create_queue(QueueName="q-long-poll")["QueueUrl"]
    answers: list[Any] = []

    def poll() -> None:
        started = time.monotonic()
        answers.append((sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10), time.monotonic() - started))

    receiver = threading.Thread(target=poll)
    receiver.start()
    assert stack.local.queues.wait_for_receivers("q-long-poll", 1, timeout=10)
    sqs.send_message(QueueUrl=url, MessageBody="wake up")
    receiver.join(timeout=10)
    [(answer, waited)] = answers
    assert answer["Messages"][0]["Body"] == "wake up" and waited < 5
    started = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
    assert 0.9 <= time.monotonic() - started < 5


# ------------------------------------------------------------------------ DLQ and redrive


def test_dead_letter_queue_and_a_message_move_task_back(sqs: Any) -> None:
    dlq = sqs.create_queue(QueueName="q-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = sqs.create_queue(
        QueueName="q-source", Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})}
    )["QueueUrl"]
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"])
    assert policy == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [source]
    sqs.send_message(QueueUrl=source, MessageBody="poison")
    for _ in range(2):
        assert sqs.receive_message(QueueUrl=source, VisibilityTimeout=0)["Messages"][0]["Body"] == "poison"
    assert "Messages" not in sqs.receive_message(QueueUrl=source)  # the third receive moved it
    dead = sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"], VisibilityTimeout=0)["Messages"][0]
    assert dead["Body"] == "poison" and dead["Attributes"]["DeadLetterQueueSourceArn"].endswith(":q-source")
    task = sqs.start_message_move_task(SourceArn=dlq_arn)
    [listed] = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
    assert listed["Status"] == "COMPLETED" and listed["ApproximateNumberOfMessagesMoved"] == 1
    assert listed["SourceArn"] == dlq_arn and "TaskHandle" not in listed and task["TaskHandle"]
    with pytest.raises(sqs.exceptions.ResourceNotFoundException):
        sqs.cancel_message_move_task(TaskHandle=task["TaskHandle"])  # it has ended
    back = sqs.receive_message(QueueUrl=source, AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
    assert back["Body"] == "poison" and back["Attributes"]["ApproximateReceiveCount"] == "1"
    with pytest.raises(ClientError) as info:
        sqs.start_message_move_task(SourceArn=f"arn:aws:sqs:us-east-1:{ACCOUNT}:q-source")  # not a DLQ
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as info:
        sqs.create_queue(
            QueueName="q-orphan", Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn + "-gone", "maxReceiveCount": 1})}
        )
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_a_redrive_allow_policy_refuses_other_sources(sqs: Any) -> None:
    dlq = sqs.create_queue(QueueName="q-closed-dlq", Attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "denyAll"})})[
        "QueueUrl"
    ]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    with pytest.raises(ClientError) as info:
        sqs.create_queue(
            QueueName="q-refused", Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 3})}
        )
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"


# ----------------------------------------------------------------------------- triggers


@pytest.fixture(scope="module")
def triggered(stack: Stack) -> Iterator[list[Any]]:
    handler = (__name__.rpartition(".")[0] + "." if "." in __name__ else "") + __name__.rpartition(".")[2] + ".record"
    stack.invoker.register(FunctionSpec("SqsRecorder", handler, timeout_s=10, memory_mb=128))
    yield TRIGGERED


def test_a_send_through_the_endpoint_triggers_the_stacks_event_source_mapping(sqs: Any, stack: Stack, triggered: list[Any]) -> None:
    url = sqs.create_queue(QueueName="q-trigger")["QueueUrl"]
    stack.triggers.add(EventSourceMapping(queue="q-trigger", function="SqsRecorder"))
    sqs.send_message(QueueUrl=url, MessageBody='{"order": 7}', MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"}})
    event = _wait_for(lambda: next((e for e in triggered if e["Records"][0]["body"] == '{"order": 7}'), None))
    record = event["Records"][0]
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == f"arn:aws:sqs:us-east-1:{ACCOUNT}:q-trigger"
    assert record["messageAttributes"]["kind"]["stringValue"] == "order"
    # The mapping deleted the message after the function returned.
    _wait_for(
        lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "0"
    )


# ----------------------------------------------------------------------- query protocol


def _query(endpoint: Endpoint, form: dict[str, str]) -> tuple[int, ET.Element]:
    body = urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(endpoint.url + "/", data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, ET.fromstring(response.read())
    except urllib.error.HTTPError as error:
        return error.code, ET.fromstring(error.read())


def test_query_protocol_send_message_answers_xml(sqs: Any, endpoint: Endpoint) -> None:
    url = sqs.create_queue(QueueName="q-query")["QueueUrl"]
    status, xml = _query(
        endpoint,
        {
            "Action": "SendMessage",
            "Version": "2012-11-05",
            "QueueUrl": url,
            "MessageBody": "from an old SDK",
            "MessageAttribute.1.Name": "colour",
            "MessageAttribute.1.Value.DataType": "String",
            "MessageAttribute.1.Value.StringValue": "blue",
        },
    )
    assert status == 200 and xml.tag == f"{{{XMLNS['q']}}}SendMessageResponse"
    result = xml.find("q:SendMessageResult", XMLNS)
    assert result is not None
    assert result.findtext("q:MD5OfMessageBody", namespaces=XMLNS) == hashlib.md5(b"from an old SDK", usedforsecurity=False).hexdigest()
    assert result.findtext("q:MD5OfMessageAttributes", namespaces=XMLNS) == _md5_of_attributes(
        {"colour": {"DataType": "String", "StringValue": "blue"}}
    )
    message_id = result.findtext("q:MessageId", namespaces=XMLNS)
    assert xml.findtext("q:ResponseMetadata/q:RequestId", namespaces=XMLNS)
    got = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"][0]
    assert got["MessageId"] == message_id and got["MessageAttributes"]["colour"]["StringValue"] == "blue"
    status, xml = _query(endpoint, {"Action": "GetQueueUrl", "Version": "2012-11-05", "QueueName": "q-query-none"})
    assert status == 400 and xml.findtext("q:Error/q:Code", namespaces=XMLNS) == "AWS.SimpleQueueService.NonExistentQueue"
