"""The topic port: publish a message to subscribers (SNS semantics)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

__all__ = ["Topic", "TopicMessage"]


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
