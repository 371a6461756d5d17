"""SQS's and SNS's rules, shared by every backend: queue limits, batches, FIFO deduplication,
redrive (this package's names); topic and subscription names, message attributes, filter
policies, delivery policies and the notifications SNS delivers (``sns``, ``filter_policy``,
``delivery_policy``, ``notifications``).

Pure values and functions below the ``Queue`` and ``Topic`` ports; no I/O, no clock, no ids.
Backends (``backends/local/queues.py`` and ``topics.py``, the AWS adapters) call them so
that what the local backend accepts is what SQS and SNS accept too.
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
