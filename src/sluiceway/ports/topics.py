"""The topic port: publish a message to subscribers (SNS semantics)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ..messaging.sns import DeliveryRecord

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
TopicDeadLetterSender = Callable[[str, str, Mapping[str, str]], None]
"""Sends (queue ARN or name, body, message attributes) to a subscription's dead-letter queue; raises on failure."""
