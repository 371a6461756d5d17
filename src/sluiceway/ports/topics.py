"""The topic port: publish a message to subscribers (SNS semantics)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from ..messaging.sns import DeliveryRecord

if TYPE_CHECKING:
    from ..messaging.sqs_attributes import AttributeInput

__all__ = ["Sender", "Topic", "TopicDeadLetterSender", "TopicMessage"]


@dataclass(frozen=True)
class TopicMessage:
    """One message published to a topic (SNS shape)."""

    topic: str
    message: str
    message_id: str
    timestamp: datetime
    subject: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)


class Topic(Protocol):
    """Publish-subscribe notifications (SNS semantics)."""

    def publish(
        self,
        topic: str,
        message: str,
        *,
        subject: str | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> str:
        """Publish and return the message id. The message is durable once this returns."""
        ...


Sender = Callable[[DeliveryRecord], None]
"""Hands one message to one subscriber; returns when the subscriber took it, raises otherwise."""


class TopicDeadLetterSender(Protocol):
    """Sends a message a subscription could not deliver to the subscription's dead-letter queue."""

    def __call__(
        self,
        queue: str,
        body: str,
        attributes: Mapping[str, AttributeInput],
        /,
        *,
        group_id: str | None = None,
        dedup_id: str | None = None,
    ) -> None:
        """Send ``body`` with its message ``attributes`` to ``queue`` (an SQS queue's ARN or name).

        Args:
            group_id: a FIFO dead-letter queue's ``MessageGroupId`` (the FIFO topic's message's);
                given only for a FIFO queue.
            dedup_id: its ``MessageDeduplicationId``, likewise.

        Raises:
            Exception: whatever the queue raises when it refuses the message; the deliverer logs
                it and the delivery ends without the dead-letter queue.
        """
        ...
