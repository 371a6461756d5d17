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
    MIN_MESSAGE_BYTES,
    MIN_RETENTION_S,
    check_queue_name,
    check_range,
)
from .redrive import RedrivePolicy, queue_arn
from .sqs_attributes import MessageAttributeValue

__all__ = ["MoveTask", "QueueAttributes", "QueueConfig", "ReceivedMessage", "StoredMessage"]


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
    max_message_bytes: int = MAX_MESSAGE_BYTES
    """MaximumMessageSize: the largest message (body and attributes) a send may carry."""

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
            ("MaximumMessageSize", self.max_message_bytes, MIN_MESSAGE_BYTES, MAX_MESSAGE_BYTES),
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
    modified_at: datetime | None = None
    """LastModifiedTimestamp: the last CreateQueue or SetQueueAttributes (None: the creation)."""
    settings: Mapping[str, str] = field(default_factory=dict)
    """Attributes SQS keeps as given and the local queue does not act on (``Policy``,
    ``RedriveAllowPolicy``, encryption, FIFO throughput settings)."""

    def to_aws(self, *, region: str, account_id: str) -> dict[str, str]:
        """SQS's ``Attributes`` map (all values strings)."""
        cfg = self.config
        modified = self.modified_at or self.created_at
        out = {
            "QueueArn": self.arn,
            "ApproximateNumberOfMessages": str(self.available),
            "ApproximateNumberOfMessagesNotVisible": str(self.in_flight),
            "ApproximateNumberOfMessagesDelayed": str(self.delayed),
            "CreatedTimestamp": str(int(self.created_at.timestamp())),
            "LastModifiedTimestamp": str(int(modified.timestamp())),
            "VisibilityTimeout": str(cfg.visibility_timeout_s),
            "MaximumMessageSize": str(cfg.max_message_bytes),
            "MessageRetentionPeriod": str(cfg.retention_s),
            "DelaySeconds": str(cfg.delay_s),
            "ReceiveMessageWaitTimeSeconds": str(cfg.receive_wait_s),
        }
        if cfg.redrive_policy is not None:
            # Compact, as SQS writes it.
            out["RedrivePolicy"] = json.dumps(cfg.redrive_policy.to_aws(region=region, account_id=account_id), separators=(",", ":"))
        if cfg.fifo:
            out["FifoQueue"] = "true"
            out["ContentBasedDeduplication"] = str(cfg.content_based_dedup).lower()
            # SQS reports the FIFO throughput settings of every FIFO queue, defaults included.
            out["DeduplicationScope"] = "queue"
            out["FifoThroughputLimit"] = "perQueue"
        # New queues are encrypted with SQS-owned keys unless a KMS key is given (SQS's
        # default since 2022), and GetQueueAttributes says so.
        out["SqsManagedSseEnabled"] = "false" if "KmsMasterKeyId" in self.settings else "true"
        out.update((name, value) for name, value in self.settings.items() if not name.startswith("sluiceway:"))
        if "KmsMasterKeyId" not in self.settings:
            # The data key reuse period belongs to a KMS key: SQS shows it only while the queue has one.
            out.pop("KmsDataKeyReusePeriodSeconds", None)
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


@dataclass(frozen=True)
class ReceivedMessage:
    """A message as SQS's ReceiveMessage answers it: body, typed attributes and system attributes."""

    message_id: str
    receipt_handle: str
    body: str
    attributes: Mapping[str, MessageAttributeValue]
    """The message attributes the sender set, all of them (the caller selects)."""
    receive_count: int
    """ApproximateReceiveCount, including this receive."""
    sent_at: datetime
    first_received_at: datetime
    """ApproximateFirstReceiveTimestamp."""
    trace_header: str | None = None
    """The ``AWSTraceHeader`` system attribute."""
    group_id: str | None = None
    dedup_id: str | None = None
    sequence_number: str | None = None
    """FIFO queues: SQS's SequenceNumber."""
    dead_letter_source: str | None = None
    """For a message a redrive policy moved here: its source queue's name."""

    def system_attributes(self, *, region: str, account_id: str) -> dict[str, str]:
        """Every system attribute SQS can return for this message (ReceiveMessage's ``Attributes``)."""
        out = {
            # Every local request acts as the account's root user, whose SenderId is the account id.
            "SenderId": account_id,
            "SentTimestamp": str(_ms(self.sent_at)),
            "ApproximateReceiveCount": str(self.receive_count),
            "ApproximateFirstReceiveTimestamp": str(_ms(self.first_received_at)),
        }
        if self.trace_header is not None:
            out["AWSTraceHeader"] = self.trace_header
        if self.group_id is not None:
            out["MessageGroupId"] = self.group_id
        if self.dedup_id is not None:
            out["MessageDeduplicationId"] = self.dedup_id
        if self.sequence_number is not None:
            out["SequenceNumber"] = self.sequence_number
        if self.dead_letter_source is not None:
            out["DeadLetterQueueSourceArn"] = queue_arn(self.dead_letter_source, region=region, account_id=account_id)
        return out


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


@dataclass(frozen=True)
class MoveTask:
    """A message move task (StartMessageMoveTask), as ListMessageMoveTasks reports it."""

    handle: str
    source: str
    """The dead-letter queue's name."""
    destination: str | None
    """The destination queue's name; None sends each message back to its source."""
    status: str
    """``RUNNING``, ``COMPLETED``, ``CANCELLED`` or ``FAILED``."""
    started_at: datetime
    moved: int
    to_move: int
    max_per_second: int | None = None
    failure_reason: str | None = None
