"""The queue port: send, receive and delete messages (SQS semantics)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..messaging.sqs_attributes import AttributeInput

__all__ = ["Queue", "QueueMessage"]


@dataclass(frozen=True)
class QueueMessage:
    """A received message (SQS shape)."""

    message_id: str
    receipt_handle: str
    body: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    """Message attributes set by the sender."""
    receive_count: int = 1
    """ApproximateReceiveCount, including this receive."""
    sent_at: datetime | None = None
    group_id: str | None = None
    trace_header: str | None = None
    """The ``AWSTraceHeader`` system attribute (an SQS-triggered function continues its trace)."""


class Queue(Protocol):
    """A message queue (SQS semantics): at-least-once delivery with visibility timeouts."""

    def send(
        self,
        queue: str,
        body: str,
        *,
        delay_s: int = 0,
        attributes: Mapping[str, AttributeInput] | None = None,
        group_id: str | None = None,
        dedup_id: str | None = None,
    ) -> str:
        """Send a message; return its id. Durable once this returns.

        Args:
            attributes: SQS message attributes; a plain string is a ``String`` attribute, a
                :class:`~sluiceway.messaging.sqs_attributes.MessageAttributeValue` keeps its
                type (``Number``, ``Binary``, custom labels), as SNS's raw delivery needs.

        Raises:
            NotFoundError: no such queue.
        """
        ...

    def receive(self, queue: str, *, max_messages: int = 1, visibility_s: int | None = None, wait_s: float = 0) -> list[QueueMessage]:
        """Receive up to ``max_messages`` visible messages, hiding them for the visibility timeout."""
        ...

    def delete(self, queue: str, receipt_handle: str) -> None:
        """Delete a received message. Raises NotFoundError for an unknown or stale receipt."""
        ...

    def change_visibility(self, queue: str, receipt_handle: str, visibility_s: int) -> None:
        """Change how long a received message stays hidden."""
        ...
