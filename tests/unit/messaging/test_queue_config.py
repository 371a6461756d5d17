"""Queue configuration checks and the GetQueueAttributes map."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sluiceway.errors import InvalidNameError
from sluiceway.messaging import QueueAttributes, QueueConfig, RedrivePolicy


def test_defaults_are_sqs_defaults_and_valid() -> None:
    config = QueueConfig("orders")
    config.check()
    assert (
        config.visibility_timeout_s,
        config.retention_s,
        config.delay_s,
        config.receive_wait_s,
    ) == (30, 345_600, 0, 0)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"visibility_timeout_s": 43_201}, "VisibilityTimeout"),
        ({"retention_s": 59}, "MessageRetentionPeriod"),
        ({"retention_s": 1_209_601}, "MessageRetentionPeriod"),
        ({"delay_s": 901}, "DelaySeconds"),
        ({"receive_wait_s": 21}, "ReceiveMessageWaitTimeSeconds"),
        ({"delay_s": 1.5}, "whole number"),
        ({"content_based_dedup": True}, "only valid for FIFO"),
        ({"redrive_policy": RedrivePolicy("orders", 3)}, "its own dead-letter queue"),
    ],
)
def test_refuses_attributes_out_of_range(changes: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        QueueConfig("orders", **changes).check()  # type: ignore[arg-type]


def test_checks_the_name_for_the_queue_type() -> None:
    with pytest.raises(InvalidNameError):
        QueueConfig("orders", fifo=True).check()
    QueueConfig("orders.fifo", fifo=True, content_based_dedup=True).check()


def test_attributes_in_sqs_shape() -> None:
    config = QueueConfig(
        "jobs.fifo",
        fifo=True,
        content_based_dedup=True,
        redrive_policy=RedrivePolicy("dlq.fifo", 4),
    )
    attributes = QueueAttributes(
        config=config,
        arn="arn:aws:sqs:us-east-1:000000000000:jobs.fifo",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        available=3,
        in_flight=2,
        delayed=1,
        oldest_age_s=12.5,
    )
    aws = attributes.to_aws(region="us-east-1", account_id="000000000000")
    assert aws["ApproximateNumberOfMessages"] == "3"
    assert aws["ApproximateNumberOfMessagesNotVisible"] == "2"
    assert aws["ApproximateNumberOfMessagesDelayed"] == "1"
    assert aws["CreatedTimestamp"] == "1767225600"
    assert aws["FifoQueue"] == "true"
    assert aws["ContentBasedDeduplication"] == "true"
    assert aws["MaximumMessageSize"] == "1048576"
    assert json.loads(aws["RedrivePolicy"]) == {
        "deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:dlq.fifo",
        "maxReceiveCount": 4,
    }
    assert all(isinstance(v, str) for v in aws.values())
    standard = QueueAttributes(QueueConfig("q"), "arn", datetime(2026, 1, 1, tzinfo=UTC), 0, 0, 0)
    assert "FifoQueue" not in standard.to_aws(
        region="us-east-1", account_id="0"
    ) and "RedrivePolicy" not in standard.to_aws(region="us-east-1", account_id="0")
