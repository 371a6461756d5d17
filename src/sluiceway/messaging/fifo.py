"""FIFO queues' send rules: which ids a message needs, and its deduplication id.

SQS deduplicates FIFO sends within a five-minute window (``DEDUP_WINDOW_S``) by
``MessageDeduplicationId``; with content-based deduplication the id defaults to
the SHA-256 of the body (attributes are not part of it). A duplicate send
succeeds and returns the first message's id, but nothing new is enqueued.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .errors import InvalidMessageError
from .limits import DEDUP_WINDOW_S, check_message_id_field

__all__ = ["SendIds", "content_dedup_id", "dedup_expires_at", "resolve_send_ids"]


@dataclass(frozen=True)
class SendIds:
    """The ids a send resolved to."""

    group_id: str | None
    dedup_id: str | None
    """FIFO queues only: explicit, or the body's SHA-256 with content-based deduplication."""


def content_dedup_id(body: str) -> str:
    """The deduplication id content-based deduplication gives ``body``: its SHA-256, in hex."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def dedup_expires_at(sent_at: float) -> float:
    """When a deduplication id first accepted at ``sent_at`` (epoch seconds) stops deduplicating."""
    return sent_at + DEDUP_WINDOW_S


def resolve_send_ids(
    *,
    fifo: bool,
    content_based_dedup: bool,
    body: str,
    group_id: str | None,
    dedup_id: str | None,
    delay_s: int | None,
) -> SendIds:
    """Check a send's group and deduplication ids against the queue type and resolve them.

    A standard queue takes an optional group id (SQS's fair queues) but no
    deduplication id. A FIFO queue needs a group id, and a deduplication id unless
    content-based deduplication is on; it refuses a per-message delay (only the
    queue's ``DelaySeconds`` applies).

    Raises:
        InvalidMessageError: ``MissingParameter`` or ``InvalidParameterValue``, as SQS.
    """
    if group_id is not None:
        check_message_id_field("MessageGroupId", group_id)
    if dedup_id is not None:
        check_message_id_field("MessageDeduplicationId", dedup_id)
    if not fifo:
        if dedup_id is not None:
            raise InvalidMessageError(
                "InvalidParameterValue",
                "The request include parameter MessageDeduplicationId that is not valid for"
                " this queue type",
            )
        return SendIds(group_id=group_id, dedup_id=None)
    if group_id is None:
        raise InvalidMessageError(
            "MissingParameter", "The request must contain the parameter MessageGroupId."
        )
    if delay_s:
        raise InvalidMessageError(
            "InvalidParameterValue",
            f"Value {delay_s} for parameter DelaySeconds is invalid. Reason: The request"
            " include parameter that is not valid for this queue type.",
        )
    if dedup_id is None:
        if not content_based_dedup:
            raise InvalidMessageError(
                "InvalidParameterValue",
                "The queue should either have ContentBasedDeduplication enabled or"
                " MessageDeduplicationId provided explicitly",
            )
        dedup_id = content_dedup_id(body)
    return SendIds(group_id=group_id, dedup_id=dedup_id)
