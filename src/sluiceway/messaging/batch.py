"""Batch requests and their per-entry results (SendMessageBatch, DeleteMessageBatch, ...).

A batch holds 1 to 10 entries with distinct ids; a request that breaks those
rules fails whole. Otherwise each entry succeeds or fails on its own, and the
result lists both, like SQS's ``Successful``/``Failed``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import InvalidMessageError
from .limits import MAX_BATCH_ENTRIES
from .sqs_attributes import AttributeInput

__all__ = [
    "BatchFailure",
    "BatchResult",
    "BatchSuccess",
    "ReceiptEntry",
    "SendEntry",
    "VisibilityEntry",
    "check_batch",
]

_ENTRY_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")


@dataclass(frozen=True)
class SendEntry:
    """One message of a send batch."""

    id: str
    """The caller's id for this entry, unique within the batch."""
    body: str
    delay_s: int | None = None
    """Per-message delay; None takes the queue's ``DelaySeconds`` (standard queues only)."""
    attributes: Mapping[str, AttributeInput] | None = None
    """Message attributes: plain strings are ``String`` attributes."""
    group_id: str | None = None
    dedup_id: str | None = None
    trace_header: str | None = None
    """The ``AWSTraceHeader`` message system attribute."""


@dataclass(frozen=True)
class ReceiptEntry:
    """One receipt handle of a delete batch."""

    id: str
    receipt_handle: str


@dataclass(frozen=True)
class VisibilityEntry:
    """One receipt handle of a change-visibility batch, and its new timeout."""

    id: str
    receipt_handle: str
    visibility_s: int


@dataclass(frozen=True)
class BatchSuccess:
    """An entry that succeeded."""

    id: str
    message_id: str | None = None
    """Send batches: the message's id (the first message's, for a FIFO duplicate)."""
    sequence_number: str | None = None
    """Send batches on FIFO queues: SQS's ``SequenceNumber``."""


@dataclass(frozen=True)
class BatchFailure:
    """An entry that failed, with SQS's error code."""

    id: str
    code: str
    message: str
    sender_fault: bool = True


@dataclass(frozen=True)
class BatchResult:
    """Every entry of a batch, as succeeded or failed."""

    successful: tuple[BatchSuccess, ...] = ()
    failed: tuple[BatchFailure, ...] = ()

    def to_aws(self) -> dict[str, Any]:
        """SQS's response shape: ``{"Successful": [...], "Failed": [...]}``."""
        successful: list[dict[str, Any]] = []
        for ok in self.successful:
            item: dict[str, Any] = {"Id": ok.id}
            if ok.message_id is not None:
                item["MessageId"] = ok.message_id
            if ok.sequence_number is not None:
                item["SequenceNumber"] = ok.sequence_number
            successful.append(item)
        failed = [{"Id": f.id, "SenderFault": f.sender_fault, "Code": f.code, "Message": f.message} for f in self.failed]
        return {"Successful": successful, "Failed": failed}


def check_batch(ids: Iterable[str], *, entry: str = "SendMessageBatchRequestEntry") -> None:
    """Check a batch request's entry ids: 1 to 10, distinct, 1-80 alphanumerics, ``-`` or ``_``.

    Args:
        entry: the request's entry shape, which SQS names when a batch has no entries
            (``SendMessageBatchRequestEntry``, ``DeleteMessageBatchRequestEntry``,
            ``ChangeMessageVisibilityBatchRequestEntry``).

    Raises:
        InvalidMessageError: ``EmptyBatchRequest``, ``TooManyEntriesInBatchRequest``,
            ``InvalidBatchEntryId`` or ``BatchEntryIdsNotDistinct``; the whole request fails.
    """
    ids = list(ids)
    if not ids:
        raise InvalidMessageError("EmptyBatchRequest", f"There should be at least one {entry} in the request.")
    if len(ids) > MAX_BATCH_ENTRIES:
        raise InvalidMessageError(
            "TooManyEntriesInBatchRequest",
            f"Maximum number of entries per request are {MAX_BATCH_ENTRIES}. You have sent {len(ids)}.",
        )
    seen: set[str] = set()
    for entry_id in ids:
        if not isinstance(entry_id, str) or _ENTRY_ID.fullmatch(entry_id) is None:
            raise InvalidMessageError(
                "InvalidBatchEntryId",
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
            )
        if entry_id in seen:
            raise InvalidMessageError("BatchEntryIdsNotDistinct", f"Id {entry_id} repeated.")
        seen.add(entry_id)
