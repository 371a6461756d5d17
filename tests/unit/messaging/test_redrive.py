"""Redrive policies: SQS's document, the receive-count rule, queue references."""

from __future__ import annotations

import json

import pytest

from sluiceway.messaging import RedrivePolicy, queue_arn, queue_name
from sluiceway.messaging.redrive import check_same_type


def test_parses_sqs_document_with_an_arn_and_a_string_count() -> None:
    doc = json.dumps(
        {
            "deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:orders-dlq",
            "maxReceiveCount": "5",
        }
    )
    assert RedrivePolicy.from_aws(doc) == RedrivePolicy("orders-dlq", 5)


def test_parses_a_plain_queue_name() -> None:
    assert RedrivePolicy.from_aws(
        {"deadLetterQueue": "dlq", "maxReceiveCount": 1}
    ) == RedrivePolicy("dlq", 1)


@pytest.mark.parametrize(
    ("doc", "match"),
    [
        ({"maxReceiveCount": 3}, "deadLetterTargetArn"),
        ({"deadLetterQueue": "dlq"}, "maxReceiveCount"),
        ({"deadLetterQueue": "dlq", "maxReceiveCount": 0}, "between 1 and 1000"),
        ({"deadLetterQueue": "dlq", "maxReceiveCount": 1001}, "between 1 and 1000"),
        ({"deadLetterQueue": "dlq", "maxReceiveCount": "many"}, "integer"),
        ({"deadLetterQueue": "dlq", "maxReceiveCount": 2, "extra": 1}, "unknown keys: extra"),
        ("{not json", "not valid JSON"),
        ("[1]", "must be an object"),
    ],
)
def test_refuses_bad_documents(doc: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RedrivePolicy.from_aws(doc)  # type: ignore[arg-type]


def test_round_trips_to_sqs_document() -> None:
    policy = RedrivePolicy("dlq", 3)
    doc = policy.to_aws(region="eu-west-1", account_id="111122223333")
    assert doc == {
        "deadLetterTargetArn": "arn:aws:sqs:eu-west-1:111122223333:dlq",
        "maxReceiveCount": 3,
    }
    assert RedrivePolicy.from_aws(doc) == policy


def test_a_message_is_exhausted_once_received_max_receive_count_times() -> None:
    policy = RedrivePolicy("dlq", 2)
    assert [policy.exhausted(count) for count in range(4)] == [False, False, True, True]


def test_queue_references() -> None:
    assert queue_name("orders") == "orders"
    assert queue_name("arn:aws:sqs:us-east-1:123456789012:orders.fifo") == "orders.fifo"
    assert queue_name("https://sqs.us-east-1.amazonaws.com/123456789012/orders") == "orders"
    assert (
        queue_arn("q", region="us-east-1", account_id="000000000000")
        == "arn:aws:sqs:us-east-1:000000000000:q"
    )


def test_dead_letter_queues_are_of_the_same_type() -> None:
    check_same_type("a", False, "b", False)
    with pytest.raises(ValueError, match="a.fifo is a FIFO queue but b is a standard queue"):
        check_same_type("a.fifo", True, "b", False)
