"""DeleteMessage and ChangeMessageVisibility for every kind of receipt handle, as SQS answers them.

The answers are those LocalStack's AWS-validated tests record against SQS
(tests/aws/services/sqs/test_sqs.py and its snapshot): a deleted message's receipt,
a malformed one, one whose visibility timeout ran out; and DeleteMessage's documentation
for a receipt of an earlier receive ("the request will succeed, but the message might not
be deleted").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError


@pytest.fixture(scope="module")
def sqs(aws: Callable[..., Any]) -> Any:
    return aws("sqs")


def _received(sqs: Any, url: str, body: str = "foo", **receive: Any) -> str:
    """Send ``body`` and receive it; its receipt handle."""
    sqs.send_message(QueueUrl=url, MessageBody=body, **({"MessageGroupId": "1"} if url.endswith(".fifo") else {}))
    [message] = sqs.receive_message(QueueUrl=url, **receive)["Messages"]
    return str(message["ReceiptHandle"])


def _counts(sqs: Any, url: str) -> tuple[int, int]:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def _error(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = info.value.response["Error"]
    return error["Code"], error["Message"]


def test_a_deleted_messages_receipt(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="r-deleted")["QueueUrl"]
    handle = _received(sqs, url)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=42)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    # Deleting again does not mind (test_delete_message_with_deleted_receipt_handle) ...
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    # ... changing its visibility does (test_change_visibility_on_deleted_message_raises_invalid_parameter_value).
    with pytest.raises(ClientError) as info:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=42)
    assert _error(info) == (
        "InvalidParameterValue",
        f"Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not"
        " available for visibility timeout change.",
    )


@pytest.mark.parametrize("handle", ["garbage", "INVALID", "1.2.3", "1.²2.0123456789abcdef"])
def test_a_malformed_receipt(sqs: Any, handle: str) -> None:
    url = sqs.create_queue(QueueName="r-malformed")["QueueUrl"]
    expected = ("ReceiptHandleIsInvalid", f'The input receipt handle "{handle}" is not a valid receipt handle.')
    # test_delete_message_with_illegal_receipt_handle, test_invalid_receipt_handle_should_return_error_message
    with pytest.raises(ClientError) as deleting:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    with pytest.raises(ClientError) as changing:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=60)
    assert _error(deleting) == _error(changing) == expected


def test_another_queues_receipt_is_not_this_queues(sqs: Any) -> None:
    mine = sqs.create_queue(QueueName="r-mine")["QueueUrl"]
    other = sqs.create_queue(QueueName="r-other")["QueueUrl"]
    handle = _received(sqs, other)
    expected = ("ReceiptHandleIsInvalid", f'The input receipt handle "{handle}" is not a valid receipt handle.')
    with pytest.raises(ClientError) as deleting:
        sqs.delete_message(QueueUrl=mine, ReceiptHandle=handle)
    with pytest.raises(ClientError) as changing:
        sqs.change_message_visibility(QueueUrl=mine, ReceiptHandle=handle, VisibilityTimeout=0)
    assert _error(deleting) == _error(changing) == expected
    assert _counts(sqs, other) == (0, 1)


def test_a_receipt_whose_visibility_ran_out_still_works_on_a_standard_queue(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="r-ran-out")["QueueUrl"]
    handle = _received(sqs, url, VisibilityTimeout=0)  # visible again at once, nobody received it since
    # test_change_message_visibility_after_visibility_timeout_expiration: 200.
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    # test_remove_message_with_old_receipt_handle, test_delete_after_visibility_timeout: deleted.
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    assert _counts(sqs, url) == (0, 0)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_a_fifo_queue_refuses_to_delete_with_an_expired_receipt(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="r-expired.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    handle = _received(sqs, url, body="foobar", VisibilityTimeout=0)
    # test_fifo_delete_after_visibility_timeout.
    with pytest.raises(ClientError) as info:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    assert _error(info) == (
        "InvalidParameterValue",
        f"Value {handle} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.",
    )
    # Received again since, the old receipt is just as expired.
    [again] = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)["Messages"]
    with pytest.raises(ClientError) as stale:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    assert _error(stale)[1].endswith("Reason: The receipt handle has expired.")
    sqs.delete_message(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"])
    assert _counts(sqs, url) == (0, 0)


def test_an_earlier_receives_receipt_succeeds_and_leaves_the_message_to_its_latest_receiver(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="r-stale")["QueueUrl"]
    old = _received(sqs, url, VisibilityTimeout=0)
    [latest] = sqs.receive_message(QueueUrl=url, VisibilityTimeout=300)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=old)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=old, VisibilityTimeout=0)
    assert _counts(sqs, url) == (0, 1)  # neither deleted nor made visible under its receiver
    batch = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[{"Id": "old", "ReceiptHandle": old}, {"Id": "garbage", "ReceiptHandle": "garbage"}],
    )
    assert [e["Id"] for e in batch["Successful"]] == ["old"]
    assert [(e["Id"], e["Code"], e["SenderFault"]) for e in batch["Failed"]] == [("garbage", "ReceiptHandleIsInvalid", True)]
    assert _counts(sqs, url) == (0, 1)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=latest["ReceiptHandle"])
    assert _counts(sqs, url) == (0, 0)


def test_visibility_batch_entries_answer_as_the_single_calls(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="r-batch")["QueueUrl"]
    gone = _received(sqs, url)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=gone)
    old = _received(sqs, url, body="again", VisibilityTimeout=0)
    sqs.receive_message(QueueUrl=url, VisibilityTimeout=300)
    answer = sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "gone", "ReceiptHandle": gone, "VisibilityTimeout": 10},
            {"Id": "old", "ReceiptHandle": old, "VisibilityTimeout": 0},
            {"Id": "garbage", "ReceiptHandle": "garbage", "VisibilityTimeout": 10},
        ],
    )
    assert [e["Id"] for e in answer["Successful"]] == ["old"]
    assert {e["Id"]: (e["Code"], e["Message"]) for e in answer["Failed"]} == {
        "gone": (
            "InvalidParameterValue",
            f"Value {gone} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not"
            " available for visibility timeout change.",
        ),
        "garbage": ("ReceiptHandleIsInvalid", 'The input receipt handle "garbage" is not a valid receipt handle.'),
    }
    assert _counts(sqs, url) == (0, 1)
