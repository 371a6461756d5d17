"""SQS's queue attribute maps (CreateQueue, SetQueueAttributes, GetQueueAttributes), read as SQS reads them.

SQS takes every attribute as a string. :func:`parse_queue_attributes` checks names and
values and splits them into :class:`QueueConfig` fields (what the local queue acts on)
and settings kept as given (``Policy``, ``RedriveAllowPolicy``, encryption and FIFO
throughput settings, which only matter to AWS's access and billing). Errors carry SQS's
codes: ``InvalidAttributeName`` for a name SQS does not know (or not for this queue type
or this call), ``InvalidAttributeValue`` for a value out of range, and
``InvalidParameterValue`` for a redrive policy SQS refuses.

Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .errors import InvalidMessageError
from .limits import (
    MAX_DELAY_S,
    MAX_MESSAGE_BYTES,
    MAX_RETENTION_S,
    MAX_VISIBILITY_S,
    MAX_WAIT_S,
    MIN_MESSAGE_BYTES,
    MIN_RETENTION_S,
)
from .redrive import RedrivePolicy

__all__ = [
    "ATTRIBUTE_OF_FIELD",
    "DEDUP_BY_GROUP",
    "GETTABLE",
    "QueueAttributeChanges",
    "check_redrive_allow_policy",
    "parse_queue_attributes",
    "redrive_allowed",
    "select_queue_attributes",
]

_SECONDS: Final = {
    "VisibilityTimeout": ("visibility_timeout_s", 0, MAX_VISIBILITY_S),
    "MessageRetentionPeriod": ("retention_s", MIN_RETENTION_S, MAX_RETENTION_S),
    "DelaySeconds": ("delay_s", 0, MAX_DELAY_S),
    "ReceiveMessageWaitTimeSeconds": ("receive_wait_s", 0, MAX_WAIT_S),
    "MaximumMessageSize": ("max_message_bytes", MIN_MESSAGE_BYTES, MAX_MESSAGE_BYTES),
}
ATTRIBUTE_OF_FIELD: Final = {
    **{target: name for name, (target, _, _) in _SECONDS.items()},
    "redrive_policy": "RedrivePolicy",
    "content_based_dedup": "ContentBasedDeduplication",
}
"""The SQS attribute each :class:`~sluiceway.messaging.queue.QueueConfig` field stands for."""
_KEPT: Final = ("Policy", "RedriveAllowPolicy", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled")
_FIFO_KEPT: Final = ("DeduplicationScope", "FifoThroughputLimit")
_READ_ONLY: Final = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
)
GETTABLE: Final = frozenset({*_SECONDS, *_KEPT, *_FIFO_KEPT, *_READ_ONLY, "RedrivePolicy", "FifoQueue", "ContentBasedDeduplication"})
"""The names GetQueueAttributes takes besides ``All``."""
_MAX_SOURCE_QUEUES: Final = 10
DEDUP_BY_GROUP: Final = "sluiceway:DeduplicatesByMessageGroup"
"""A kept setting GetQueueAttributes does not show: ``true`` when the FIFO queue was created with
``DeduplicationScope`` ``messageGroup``. SQS deduplicates per message group only then: a scope set
later is reported but does not change how the queue deduplicates."""


@dataclass(frozen=True)
class QueueAttributeChanges:
    """What an attribute map says, split by where it goes."""

    fields: Mapping[str, Any] = field(default_factory=dict)
    """:class:`~sluiceway.messaging.queue.QueueConfig` fields and their new values
    (``redrive_policy`` None removes the policy)."""
    settings: Mapping[str, str] = field(default_factory=dict)
    """Attributes kept as given; an empty value removes one."""


def parse_queue_attributes(attributes: Mapping[str, str] | None, *, fifo: bool, create: bool) -> QueueAttributeChanges:
    """Check an attribute map for a queue of this type and split it.

    Args:
        fifo: the queue is (or is being created as) a FIFO queue.
        create: CreateQueue's map rather than SetQueueAttributes' (both take the same names).

    Raises:
        InvalidMessageError: ``InvalidAttributeName``, ``InvalidAttributeValue`` or
            ``InvalidParameterValue``, with SQS's message.
    """
    fields: dict[str, Any] = {}
    settings: dict[str, str] = {}
    for name, value in (attributes or {}).items():
        if not isinstance(value, str):
            raise _bad_value(name)
        if name in _SECONDS:
            target, low, high = _SECONDS[name]
            fields[target] = _integer(name, value, low, high)
        elif name == "RedrivePolicy":
            fields["redrive_policy"] = _redrive_policy(value) if value else None
        elif name == "FifoQueue" and fifo:
            # SQS knows FifoQueue only on FIFO queues, and there only as "true": a standard queue's
            # CreateQueue or SetQueueAttributes does not know the name at all.
            if value.lower() != "true":
                raise InvalidMessageError(
                    "InvalidAttributeValue", "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported."
                )
        elif name == "ContentBasedDeduplication" and fifo:
            fields["content_based_dedup"] = _boolean(name, value)
        elif name in _FIFO_KEPT:
            if not fifo:
                raise InvalidMessageError("InvalidAttributeName", f"You can specify the {name} only when FifoQueue is set to true.")
            settings[name] = _choice(
                name, value, ("messageGroup", "queue") if name == "DeduplicationScope" else ("perQueue", "perMessageGroupId")
            )
        elif name in _KEPT:
            settings[name] = _kept(name, value)
        else:
            raise InvalidMessageError("InvalidAttributeName", f"Unknown Attribute {name}.")
    if settings.get("KmsMasterKeyId") and settings.get("SqsManagedSseEnabled") == "true":
        raise InvalidMessageError(
            "InvalidAttributeName",
            "You can use one type of server-side encryption (SSE) at one time. You can either enable KMS SSE or SQS SSE.",
        )
    if settings.get("KmsMasterKeyId") and "SqsManagedSseEnabled" not in settings:
        # A KMS key turns SQS-managed encryption off, and it stays off when the key is removed.
        settings["SqsManagedSseEnabled"] = "false"
    if settings.get("DeduplicationScope") == "queue" and settings.get("FifoThroughputLimit") == "perMessageGroupId":
        # High-throughput FIFO needs both at their per-group values.
        raise InvalidMessageError(
            "InvalidAttributeValue",
            "Invalid value for the parameter FifoThroughputLimit. Reason: To enable high throughput for FIFO"
            " queues, do the following: Set DeduplicationScope to messageGroup. Set FifoThroughputLimit to"
            " perMessageGroupId.",
        )
    return QueueAttributeChanges(fields, settings)


def _bad_value(name: str) -> InvalidMessageError:
    return InvalidMessageError("InvalidAttributeValue", f"Invalid value for the parameter {name}.")


def _integer(name: str, value: str, low: int, high: int) -> int:
    text = value.strip()
    if not text.lstrip("-").isdigit() or not low <= int(text) <= high:
        raise _bad_value(name)
    return int(text)


def _boolean(name: str, value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise _bad_value(name)
    return value.lower() == "true"


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise _bad_value(name)
    return value


def _kept(name: str, value: str) -> str:
    if name == "SqsManagedSseEnabled":
        return str(_boolean(name, value)).lower()
    if name == "KmsDataKeyReusePeriodSeconds":
        return str(_integer(name, value, 60, 86_400))
    if name == "RedriveAllowPolicy" and value:
        check_redrive_allow_policy(value)
    if name == "Policy" and value:
        try:
            doc = json.loads(value)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise _bad_value(name)
    return value


def _redrive_policy(value: str) -> RedrivePolicy:
    try:
        return RedrivePolicy.from_aws(value)
    except ValueError as exc:
        reason = str(exc)
        if reason.startswith("Value "):
            raise InvalidMessageError("InvalidParameterValue", reason) from None
        raise InvalidMessageError(
            "InvalidParameterValue", f"Value {value} for parameter RedrivePolicy is invalid. Reason: {reason}."
        ) from None


def check_redrive_allow_policy(value: str) -> dict[str, Any]:
    """Parse a ``RedriveAllowPolicy``: ``redrivePermission`` allowAll, denyAll or byQueue (with 1-10
    ``sourceQueueArns``).

    Raises:
        InvalidMessageError: ``InvalidParameterValue`` with SQS's reason.
    """

    def invalid(reason: str) -> InvalidMessageError:
        return InvalidMessageError("InvalidParameterValue", f"Value {value} for parameter RedriveAllowPolicy is invalid. Reason: {reason}")

    try:
        doc = json.loads(value)
    except ValueError:
        raise invalid("Redrive allow policy is not a valid JSON map.") from None
    if not isinstance(doc, dict):
        raise invalid("Redrive allow policy is not a valid JSON map.")
    permission = doc.get("redrivePermission")
    if permission not in ("allowAll", "denyAll", "byQueue"):
        raise invalid("Invalid value for redrivePermission.")
    sources = doc.get("sourceQueueArns")
    if permission == "byQueue":
        if not isinstance(sources, list) or not sources or not all(isinstance(s, str) for s in sources):
            raise invalid("At least one source queue ARN is required when redrivePermission is byQueue.")
        if len(sources) > _MAX_SOURCE_QUEUES:
            raise invalid(f"Only {_MAX_SOURCE_QUEUES} source queues can be specified.")
    elif sources is not None:
        raise invalid("sourceQueueArns can only be specified when redrivePermission is byQueue.")
    unknown = set(doc) - {"redrivePermission", "sourceQueueArns"}
    if unknown:
        raise invalid(f"Unknown keys: {', '.join(sorted(unknown))}.")
    return doc


def redrive_allowed(allow_policy: str | None, source_arn: str) -> bool:
    """Whether a dead-letter queue with ``allow_policy`` accepts ``source_arn`` as a source queue."""
    if not allow_policy:
        return True
    doc = json.loads(allow_policy)
    permission = doc.get("redrivePermission")
    if permission == "denyAll":
        return False
    if permission == "byQueue":
        return source_arn in doc.get("sourceQueueArns", [])
    return True


def select_queue_attributes(attributes: Mapping[str, str], names: Iterable[str] | None) -> dict[str, str]:
    """GetQueueAttributes' answer: ``All`` gives every attribute, otherwise the named ones the queue has.

    Raises:
        InvalidMessageError: ``InvalidAttributeName`` for a name SQS does not know.
    """
    wanted = list(names or ())
    for name in wanted:
        if name != "All" and name not in GETTABLE:
            raise InvalidMessageError("InvalidAttributeName", f"Unknown Attribute {name}.")
    if "All" in wanted:
        return dict(attributes)
    return {name: attributes[name] for name in wanted if name in attributes}
