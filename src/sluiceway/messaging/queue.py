"""Values describing a queue: its configuration, its attributes, and a stored message."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from .limits import (
    MAX_DELAY_S,
    MAX_MESSAGE_BYTES,
    MAX_RETENTION_S,
    MAX_VISIBILITY_S,
    MAX_WAIT_S,
    MIN_RETENTION_S,
    check_queue_name,
    check_range,
)
from .redrive import RedrivePolicy

__all__ = ["QueueAttributes", "QueueConfig", "StoredMessage"]


@dataclass(frozen=True)
class QueueConfig:
    """A queue's settable attributes (SQS's defaults)."""

    name: str
    fifo: bool = False
    content_based_dedup: bool = False
    visibility_timeout_s: int = 30
    retention_s: int = 345_600
    """Four days; messages older than this are dropped."""
    delay_s: int = 0
    receive_wait_s: int = 0
    """Long-poll time for receives that do not give their own."""
    redrive_policy: RedrivePolicy | None = None

    def check(self) -> None:
        """Check every attribute against SQS's rules.

        Raises:
            InvalidNameError: the name is not valid for the queue type.
            ValueError: an attribute out of SQS's range, content-based deduplication
                on a standard queue, or a queue that is its own dead-letter queue.
        """
        check_queue_name(self.name, fifo=self.fifo)
        ranges = (
            ("VisibilityTimeout", self.visibility_timeout_s, 0, MAX_VISIBILITY_S),
            ("MessageRetentionPeriod", self.retention_s, MIN_RETENTION_S, MAX_RETENTION_S),
            ("DelaySeconds", self.delay_s, 0, MAX_DELAY_S),
            ("ReceiveMessageWaitTimeSeconds", self.receive_wait_s, 0, MAX_WAIT_S),
        )
        for parameter, value, low, high in ranges:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{parameter} must be a whole number of seconds, got {value!r}")
            check_range(parameter, value, low, high)
        if self.content_based_dedup and not self.fifo:
            raise ValueError("ContentBasedDeduplication is only valid for FIFO queues")
        if self.redrive_policy is not None and self.redrive_policy.dead_letter_queue == self.name:
            raise ValueError("a queue cannot be its own dead-letter queue")


@dataclass(frozen=True)
class QueueAttributes:
    """What GetQueueAttributes reports, plus the age of the oldest message."""

    config: QueueConfig
    arn: str
    created_at: datetime
    available: int
    """ApproximateNumberOfMessages: visible now."""
    in_flight: int
    """ApproximateNumberOfMessagesNotVisible: received and not yet deleted or visible again."""
    delayed: int
    """ApproximateNumberOfMessagesDelayed: sent with a delay that has not passed."""
    oldest_age_s: float | None = None
    """CloudWatch's ApproximateAgeOfOldestMessage: seconds since the oldest message arrived here."""

    def to_aws(self, *, region: str, account_id: str) -> dict[str, str]:
        """SQS's ``Attributes`` map (all values strings)."""
        cfg = self.config
        out = {
            "QueueArn": self.arn,
            "ApproximateNumberOfMessages": str(self.available),
            "ApproximateNumberOfMessagesNotVisible": str(self.in_flight),
            "ApproximateNumberOfMessagesDelayed": str(self.delayed),
            "CreatedTimestamp": str(int(self.created_at.timestamp())),
            "VisibilityTimeout": str(cfg.visibility_timeout_s),
            "MaximumMessageSize": str(MAX_MESSAGE_BYTES),
            "MessageRetentionPeriod": str(cfg.retention_s),
            "DelaySeconds": str(cfg.delay_s),
            "ReceiveMessageWaitTimeSeconds": str(cfg.receive_wait_s),
        }
        if cfg.redrive_policy is not None:
            out["RedrivePolicy"] = json.dumps(
                cfg.redrive_policy.to_aws(region=region, account_id=account_id)
            )
        if cfg.fifo:
            out["FifoQueue"] = "true"
            out["ContentBasedDeduplication"] = str(cfg.content_based_dedup).lower()
        return out


@dataclass(frozen=True)
class StoredMessage:
    """A message as the queue holds it, read without receiving it (for people and tests)."""

    message_id: str
    body: str
    state: str
    """``available``, ``in_flight`` or ``delayed``."""
    receive_count: int
    sent_at: datetime
    visible_at: datetime
    attributes: Mapping[str, str] = field(default_factory=dict)
    group_id: str | None = None
    dedup_id: str | None = None
    dead_letter_source: str | None = None
    """For a message a redrive policy moved here: its source queue (DeadLetterQueueSourceArn)."""
