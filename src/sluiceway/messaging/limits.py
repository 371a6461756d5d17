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
    "MIN_RETENTION_S",
    "check_attributes",
    "check_body",
    "check_message_id_field",
    "check_queue_name",
    "check_range",
    "check_size",
    "message_size",
]

MAX_MESSAGE_BYTES = 1_048_576
"""Body plus attributes; SQS raised this from 256 KiB to 1 MiB in August 2025."""
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
DEDUP_WINDOW_S = 300
"""FIFO deduplication interval: five minutes from the first accepted send."""

_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
_FIFO_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,75}\.fifo")
# XML 1.0's Char production: what SQS accepts in bodies and attribute values.
_INVALID_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,256}")
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
            f"invalid queue name {name!r}: {kind}queue names are 1 to 80 alphanumeric"
            " characters, hyphens or underscores"
        )


def check_range(parameter: str, value: float, low: float, high: float) -> None:
    """Raise ``ValueError`` unless ``low <= value <= high`` (SQS's InvalidParameterValue)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(
            f"Value {value!r} for parameter {parameter} is invalid. Reason: must be between {low} "
            f"and {high}."
        )


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
        raise InvalidMessageError(
            "MissingParameter", "The request must contain the parameter MessageBody."
        )
    bad = _INVALID_CHAR.search(body)
    if bad is not None:
        raise InvalidMessageError(
            "InvalidMessageContents",
            f"Invalid binary character '#x{ord(bad.group()):X}' was found in the message body,"
            " the set of allowed characters is"
            " #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
        )


def check_attributes(attributes: Mapping[str, str] | None) -> None:
    """Check message attributes (all of SQS's ``String`` type here).

    Raises:
        InvalidMessageError: more than ten, a name SQS refuses, or an empty or
            non-string value (``InvalidParameterValue``).
    """
    if not attributes:
        return
    if len(attributes) > MAX_MESSAGE_ATTRIBUTES:
        raise InvalidMessageError(
            "InvalidParameterValue",
            f"Number of message attributes [{len(attributes)}] exceeds the allowed maximum [10].",
        )
    for name, value in attributes.items():
        lowered = name.lower() if isinstance(name, str) else ""
        if (
            _ATTRIBUTE_NAME.fullmatch(lowered) is None
            or lowered.startswith(("aws.", "amazon.", "."))
            or lowered.endswith(".")
            or ".." in lowered
        ):
            raise InvalidMessageError(
                "InvalidParameterValue", f"Message attribute name '{name}' is invalid."
            )
        if not isinstance(value, str) or not value:
            raise InvalidMessageError(
                "InvalidParameterValue",
                f"Message attribute '{name}' must contain a non-empty value of type 'String'.",
            )
        if _INVALID_CHAR.search(value) is not None:
            raise InvalidMessageError(
                "InvalidParameterValue",
                f"Message attribute '{name}' holds a character SQS refuses.",
            )


def message_size(body: str, attributes: Mapping[str, str] | None) -> int:
    """Bytes SQS counts against the limit: UTF-8 body, plus each attribute's name, type, value."""
    size = len(body.encode("utf-8"))
    for name, value in (attributes or {}).items():
        # Non-string names or values are check_attributes' to refuse; they add nothing here.
        if isinstance(name, str) and isinstance(value, str):
            size += len(name.encode("utf-8")) + len("String") + len(value.encode("utf-8"))
    return size


def check_size(body: str, attributes: Mapping[str, str] | None) -> int:
    """Return :func:`message_size`, raising ``InvalidParameterValue`` above 1 MiB."""
    # Four UTF-8 bytes per character at most: skip encoding bodies that cannot be too long.
    if len(body) * 4 <= MAX_MESSAGE_BYTES and not attributes:
        return len(body) if body.isascii() else message_size(body, None)
    size = message_size(body, attributes)
    if size > MAX_MESSAGE_BYTES:
        raise InvalidMessageError(
            "InvalidParameterValue",
            "One or more parameters are invalid."
            f" Reason: Message must be shorter than {MAX_MESSAGE_BYTES} bytes.",
        )
    return size


def check_message_id_field(parameter: str, value: str) -> None:
    """Check a ``MessageGroupId`` or ``MessageDeduplicationId``: 1-128 printable ASCII."""
    if not isinstance(value, str) or _MESSAGE_ID_FIELD.fullmatch(value) is None:
        raise InvalidMessageError(
            "InvalidParameterValue",
            f"Value {value!r} for parameter {parameter} is invalid. Reason: 1 to 128 alphanumeric "
            "or punctuation characters.",
        )
