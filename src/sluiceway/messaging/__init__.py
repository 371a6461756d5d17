"""Queue rules shared by every backend: SQS's limits, FIFO deduplication, redrive.

Pure values and functions above the ``Queue`` port; no I/O, no clock, no ids.
Backends (``backends/local/queues.py``, the AWS adapter) call them so that a
message the local backend accepts is one SQS accepts too.
"""

from __future__ import annotations

from .batch import (
    BatchFailure,
    BatchResult,
    BatchSuccess,
    ReceiptEntry,
    SendEntry,
    VisibilityEntry,
    check_batch,
)
from .errors import InvalidMessageError
from .queue import QueueAttributes, QueueConfig, StoredMessage
from .redrive import RedrivePolicy, queue_arn, queue_name

__all__ = [
    "BatchFailure",
    "BatchResult",
    "BatchSuccess",
    "InvalidMessageError",
    "QueueAttributes",
    "QueueConfig",
    "ReceiptEntry",
    "RedrivePolicy",
    "SendEntry",
    "StoredMessage",
    "VisibilityEntry",
    "check_batch",
    "queue_arn",
    "queue_name",
]
