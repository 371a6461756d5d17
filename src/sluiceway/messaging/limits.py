"""SQS's limits, and the checks that keep the local backend from accepting more than SQS does.

Every number here is SQS's documented quota (Amazon SQS quotas, 2025). Checks
raise :class:`~sluiceway.messaging.errors.InvalidMessageError` for what SQS
rejects per message (so batches can fail one entry), ``ValueError`` for request
parameters out of range, and :class:`~sluiceway.errors.InvalidNameError` for
queue names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..errors import InvalidNameError
from .errors import InvalidMessageError
from .sqs_attributes import AttributeInput, attributes_size, check_message_attributes

__all__ = [
    "DEDUP_WINDOW_S",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_ENTRIES",
    "MAX_DELAY_S",
    "MAX_MESSAGE_ATTRIBUTES",
    "MAX_MESSAGE_BYTES",
    "MAX_RECEIVE_COUNT",
    "MAX_RECEIVE_MESSAGES",
    "MAX_RETENTION_S",
    "MAX_VISIBILITY_S",
    "MAX_WAIT_S",
    "MIN_MESSAGE_BYTES",
    "MIN_RETENTION_S",
    "PURGE_INTERVAL_S",
    "check_attributes",
    "check_body",
    "check_message_id_field",
    "check_queue_name",
    "check_range",
    "check_size",
    "message_size",
]

MAX_MESSAGE_BYTES = 1_048_576
"""Body plus attributes; SQS raised this from 256 KiB to 1 MiB in August 2025 (botocore's
model documents ``MaximumMessageSize`` as 1,024 to 1,048,576, default 1,048,576)."""
MIN_MESSAGE_BYTES = 1_024
"""The smallest ``MaximumMessageSize`` a queue may have."""
MAX_BATCH_BYTES = 1_048_576
"""The sum over a SendMessageBatch request."""
MAX_BATCH_ENTRIES = 10
MAX_RECEIVE_MESSAGES = 10
MAX_DELAY_S = 900
MAX_VISIBILITY_S = 43_200
"""12 hours, counted from the receive for ChangeMessageVisibility too."""
MIN_RETENTION_S = 60
MAX_RETENTION_S = 1_209_600
MAX_WAIT_S = 20
MAX_MESSAGE_ATTRIBUTES = 10
MAX_RECEIVE_COUNT = 1000
"""The largest ``maxReceiveCount`` a redrive policy may hold."""
PURGE_INTERVAL_S = 60
"""A queue may be purged once in this many seconds (PurgeQueueInProgress otherwise)."""
DEDUP_WINDOW_S = 300
"""FIFO deduplication interval: five minutes from the first accepted send."""

_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
_FIFO_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,75}\.fifo")
# XML 1.0's Char production: what SQS accepts in bodies and attribute values.
_INVALID_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Message group and deduplication ids: 1 to 128 alphanumerics or punctuation.
_MESSAGE_ID_FIELD = re.compile(r"[!-~]{1,128}")


def check_queue_name(name: str, *, fifo: bool) -> None:
    """Check a queue name against SQS's rules for its type.

    Raises:
        InvalidNameError: not 1-80 alphanumerics, ``-`` or ``_``; or, for a FIFO
            queue, not ending in ``.fifo`` (a standard queue's name may not).
    """
    pattern = _FIFO_QUEUE_NAME if fifo else _QUEUE_NAME
    if not isinstance(name, str) or pattern.fullmatch(name) is None:
        kind = "FIFO queue names must end with .fifo; " if fifo else ""
        raise InvalidNameError(
            f"invalid queue name {name!r}: {kind}queue names are 1 to 80 alphanumeric characters, hyphens or underscores"
        )


def check_range(parameter: str, value: float, low: float, high: float) -> None:
    """Raise ``ValueError`` unless ``low <= value <= high`` (SQS's InvalidParameterValue)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"Value {value!r} for parameter {parameter} is invalid. Reason: must be between {low} and {high}.")


def check_body(body: str) -> None:
    """Check a message body: a non-empty string of XML characters.

    Raises:
        TypeError: ``body`` is not a string.
        InvalidMessageError: empty (``MissingParameter``) or holding a character
            SQS refuses (``InvalidMessageContents``).
    """
    if not isinstance(body, str):
        raise TypeError("message body must be a string")
    if not body:
        raise InvalidMessageError("MissingParameter", "The request must contain the parameter MessageBody.")
    bad = _INVALID_CHAR.search(body)
    if bad is not None:
        raise InvalidMessageError(
            "InvalidMessageContents",
            f"Invalid binary character '#x{ord(bad.group()):X}' was found in the message body,"
            " the set of allowed characters is"
            " #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
        )


def check_attributes(attributes: Mapping[str, AttributeInput] | None) -> None:
    """Check message attributes (plain strings are SQS's ``String`` type).

    Raises:
        InvalidMessageError: more than ten, a name SQS refuses, or a bad type or value
            (``InvalidParameterValue``); see
            :func:`~sluiceway.messaging.sqs_attributes.check_message_attributes`.
    """
    check_message_attributes(attributes)


def message_size(body: str, attributes: Mapping[str, AttributeInput] | None) -> int:
    """Bytes SQS counts against the limit: UTF-8 body, plus each attribute's name, type, value."""
    return len(body.encode("utf-8")) + attributes_size(attributes)


def check_size(
    body: str,
    attributes: Mapping[str, AttributeInput] | None,
    limit: int = MAX_MESSAGE_BYTES,
    *,
    in_batch: bool = False,
) -> int:
    """Return :func:`message_size`, raising ``InvalidParameterValue`` above ``limit`` (the queue's
    ``MaximumMessageSize``).

    Args:
        in_batch: the message is an entry of SendMessageBatch, whose failure SQS words
            "cannot be validated" where SendMessage's error says "are invalid".
    """
    # Four UTF-8 bytes per character at most: skip encoding bodies that cannot be too long.
    if len(body) * 4 <= limit and not attributes:
        return len(body) if body.isascii() else message_size(body, None)
    size = message_size(body, attributes)
    if size > limit:
        raise InvalidMessageError(
            "InvalidParameterValue",
            f"One or more parameters {'cannot be validated' if in_batch else 'are invalid'}."
            f" Reason: Message must be shorter than {limit} bytes.",
        )
    return size


def check_message_id_field(parameter: str, value: str) -> None:
    """Check a ``MessageGroupId`` or ``MessageDeduplicationId``: 1-128 printable ASCII."""
    if not isinstance(value, str) or _MESSAGE_ID_FIELD.fullmatch(value) is None:
        raise InvalidMessageError(
            "InvalidParameterValue",
            f"Value {value} for parameter {parameter} is invalid. Reason: {parameter} can only include"
            " alphanumeric and punctuation characters. 1 to 128 in length.",
        )
