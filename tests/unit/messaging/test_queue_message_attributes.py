"""The SQS message attributes SNS gives an SQS subscriber's message (raw delivery keeps each type)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sluiceway.messaging.notifications import queue_message_attributes
from sluiceway.messaging.sns import MessageAttribute, PublishedMessage, Subscription
from sluiceway.messaging.sqs_attributes import MessageAttributeValue

ARN = "arn:aws:sns:eu-west-1:123456789012:alerts"
WHEN = datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC)
ATTRIBUTES = {
    "text": MessageAttribute("String", "an-attribute-value"),
    "count": MessageAttribute("Number", "123456.789"),
    "price": MessageAttribute("Number.eur", "12.34"),
    "blob": MessageAttribute("Binary", "AgME"),
    "list": MessageAttribute("String.Array", '["a", 1]'),
}


def published() -> PublishedMessage:
    return PublishedMessage(message_id="m-1", topic="alerts", topic_arn=ARN, message="text", timestamp=WHEN, attributes=ATTRIBUTES)


def subscription(protocol: str, raw: bool) -> Subscription:
    return Subscription(
        arn=f"{ARN}:9d2c",
        topic="alerts",
        topic_arn=ARN,
        protocol=protocol,
        endpoint="arn:aws:sqs:eu-west-1:123456789012:q",
        created_at=WHEN,
        raw_message_delivery=raw,
    )


def test_raw_delivery_gives_each_attribute_its_own_type() -> None:
    assert queue_message_attributes(published(), subscription("sqs", raw=True)) == {
        "text": MessageAttributeValue("String", "an-attribute-value"),
        "count": MessageAttributeValue("Number", "123456.789"),
        "price": MessageAttributeValue("Number.eur", "12.34"),
        "blob": MessageAttributeValue("Binary", binary_value=b"\x02\x03\x04"),
        "list": MessageAttributeValue("String.Array", '["a", 1]'),
    }


@pytest.mark.parametrize(("protocol", "raw"), [("sqs", False), ("http", True), ("lambda", False)])
def test_other_subscribers_give_the_queue_message_none(protocol: str, raw: bool) -> None:
    # The envelope carries them; raw HTTP/S delivery sends no attributes at all.
    assert queue_message_attributes(published(), subscription(protocol, raw)) == {}
