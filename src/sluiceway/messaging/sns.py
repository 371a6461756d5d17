"""SNS's rules and shapes, shared by every backend: names and ARNs, message checks,
attributes, and subscriptions.

What a subscriber receives lives in :mod:`sluiceway.messaging.notifications`, when a
delivery is tried again in :mod:`sluiceway.messaging.delivery_policy`, and which
messages a subscription takes in :mod:`sluiceway.messaging.filter_policy`.

The module is pure: ids and times come from callers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal, TypeAlias

from .delivery_policy import DeliveryPolicy, default_policy
from .errors import InvalidParameterError, ParameterValueInvalidError

__all__ = [
    "MAX_MESSAGE_ATTRIBUTES",
    "MAX_MESSAGE_BYTES",
    "PROTOCOLS",
    "RAW_PROTOCOLS",
    "SCOPES",
    "DeliveryRecord",
    "DeliveryStatus",
    "MessageAttribute",
    "Protocol",
    "PublishResult",
    "PublishedMessage",
    "Subscription",
    "TopicInfo",
    "check_message",
    "check_topic_name",
    "message_attributes",
    "message_structure",
    "subscription_arn",
    "topic_arn",
    "topic_name",
]

Protocol: TypeAlias = Literal["sqs", "lambda", "email", "email-json", "http", "https", "outbox"]
DeliveryStatus: TypeAlias = Literal["pending", "delivered", "rejected", "failed", "dead-lettered", "cancelled"]
"""``pending`` until the subscriber took the message (``delivered``); ``rejected`` when it
refused it for good (an HTTP 4xx, a queue or function that does not exist: SNS does not
retry these); ``failed`` when the delivery policy ran out; ``dead-lettered`` when the
message went to the subscription's dead-letter queue instead; ``cancelled`` when the
subscription was deleted first."""

PROTOCOLS: Final[tuple[str, ...]] = (
    "sqs",
    "lambda",
    "email",
    "email-json",
    "http",
    "https",
    "outbox",
)
RAW_PROTOCOLS: Final = frozenset({"sqs", "http", "https"})
"""Protocols that may have ``RawMessageDelivery`` (SNS also allows ``firehose``)."""
SCOPES: Final = ("MessageAttributes", "MessageBody")

MAX_MESSAGE_BYTES: Final = 262_144
"""SNS's limit for a message: body, subject and attributes together (256 KiB)."""
MAX_MESSAGE_ATTRIBUTES: Final = 10
MAX_SUBJECT_CHARS: Final = 100

_TOPIC_NAME: Final = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_MAX_TOPIC_NAME: Final = 256
_TOPIC_ARN: Final = re.compile(r"^arn:aws[a-z-]*:sns:(?P<region>[^:]*):(?P<account>[^:]*):(?P<name>[^:]+)$")
_ATTRIBUTE_NAME_CHAR: Final = re.compile(r"[^A-Za-z0-9_.-]")
_MAX_ATTRIBUTE_NAME_BYTES: Final = 256
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
_DATA_TYPES: Final = ("String", "Number", "Binary")


# ---------------------------------------------------------------------- topics


def check_topic_name(name: str, *, fifo: bool = False) -> str:
    """Return ``name`` if SNS accepts it: 1-256 letters, digits, ``-``, ``_``, ending in ``.fifo``
    exactly when the topic is a FIFO topic.

    Raises:
        InvalidParameterError: an invalid name for the topic type (SNS says only "Topic Name").
    """
    if not isinstance(name, str) or len(name) > _MAX_TOPIC_NAME:
        raise InvalidParameterError("Invalid parameter: Topic Name")
    base = name.removesuffix(".fifo") if fifo else name
    if fifo == (base == name) or not _TOPIC_NAME.match(base):
        raise InvalidParameterError("Invalid parameter: Topic Name")
    return name


def topic_arn(name: str, *, region: str, account_id: str) -> str:
    """The ARN SNS gives topic ``name`` in ``region`` and ``account_id``."""
    return f"arn:aws:sns:{region}:{account_id}:{name}"


def topic_name(ref: str) -> str:
    """The topic name in ``ref``, a name or an ARN (``arn:aws:sns:region:account:name``).

    Raises:
        InvalidParameterError: an ARN that is not an SNS topic ARN.
    """
    if ref.startswith("arn:"):
        match = _TOPIC_ARN.match(ref)
        if match is None:
            raise InvalidParameterError("Invalid parameter: TopicArn")
        return match["name"]
    return ref


def subscription_arn(topic: str, subscription_id: str) -> str:
    """A subscription's ARN: its topic's ARN, a colon, and the subscription's id."""
    return f"{topic}:{subscription_id}"


@dataclass(frozen=True)
class TopicInfo:
    """A topic and how many subscriptions it has."""

    name: str
    arn: str
    created_at: datetime
    subscriptions: int = 0


# -------------------------------------------------------------------- messages


@dataclass(frozen=True)
class MessageAttribute:
    """One SNS message attribute: its data type and its value as text."""

    data_type: str
    """``String``, ``String.Array``, ``Number`` or ``Binary`` (a custom ``.suffix`` is allowed)."""
    value: str
    """The value as SNS carries it in envelopes: text, a JSON array, a number, or base64."""

    @property
    def base_type(self) -> str:
        """``String``, ``String.Array``, ``Number`` or ``Binary`` without a custom suffix."""
        if self.data_type == "String.Array":
            return "String.Array"
        return self.data_type.split(".", 1)[0]

    def to_json(self) -> dict[str, str]:
        """The envelope's ``{"Type": ..., "Value": ...}``."""
        return {"Type": self.data_type, "Value": self.value}


AttributeValue: TypeAlias = "str | int | float | list[Any] | MessageAttribute"


def message_attributes(
    attributes: Mapping[str, AttributeValue] | None,
) -> dict[str, MessageAttribute]:
    """Check attributes as SNS's Publish does and return them typed.

    A plain string is a ``String`` attribute, an int or float a ``Number``, a list a
    ``String.Array`` (its JSON text); :class:`MessageAttribute` values are kept.

    Raises:
        InvalidParameterError: more than ten attributes, a bad name, an unknown data
            type, an empty value, a Number that is no number, a String.Array that is no
            JSON array of strings, numbers, booleans and nulls.
    """
    out: dict[str, MessageAttribute] = {}
    for name, raw in (attributes or {}).items():
        _check_attribute_name(name)
        if name.lower().startswith(("aws.", "amazon.")):
            raise InvalidParameterError(
                f"Invalid parameter: MessageAttributes: attribute name {name!r} uses a reserved prefix (AWS. or Amazon.)"
            )
        attribute = _typed(name, raw)
        base = attribute.base_type
        if base not in (*_DATA_TYPES, "String.Array"):
            raise ParameterValueInvalidError(
                f"The message attribute '{name}' has an invalid message attribute type, the set"
                " of supported type prefixes is Binary, Number, and String."
            )
        if attribute.value == "":
            raise ParameterValueInvalidError(
                f"The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{base}'."
            )
        if base == "Number":
            try:
                Decimal(attribute.value)
            except InvalidOperation:
                raise InvalidParameterError(f"Invalid parameter: Could not cast message attribute '{name}' value to number.") from None
        if base == "String.Array":
            try:
                parsed = json.loads(attribute.value)
            except ValueError:
                parsed = None
            if not isinstance(parsed, list) or any(isinstance(v, dict | list) for v in parsed):
                raise InvalidParameterError(
                    f"Invalid parameter: Invalid value for message attribute '{name}' of type String.Array:"
                    " it must be a JSON array of strings, numbers, true, false or null."
                )
        out[name] = attribute
    if len(out) > MAX_MESSAGE_ATTRIBUTES:
        raise InvalidParameterError(f"Invalid parameter: MessageAttributes: a message can have at most {MAX_MESSAGE_ATTRIBUTES} attributes")
    return out


def _check_attribute_name(name: Any) -> None:
    """SNS's checks of a message attribute name, in SNS's order and words (``ParameterValueInvalid``)."""
    if not isinstance(name, str) or not name:
        raise ParameterValueInvalidError("The message attribute name must not be empty.")
    if len(name.encode("utf-8")) > _MAX_ATTRIBUTE_NAME_BYTES:
        raise ParameterValueInvalidError(f"Length of message attribute name must be less than {_MAX_ATTRIBUTE_NAME_BYTES} bytes.")
    bad = _ATTRIBUTE_NAME_CHAR.search(name)
    if bad is not None:
        raise ParameterValueInvalidError(
            f"Invalid non-alphanumeric character '#x{ord(bad.group()):X}' was found in the message attribute name."
            " Can only include alphanumeric characters, hyphens, underscores, or dots."
        )
    if name.startswith("."):
        raise ParameterValueInvalidError("Invalid message attribute name starting with character '.' was found.")
    if name.endswith("."):
        raise ParameterValueInvalidError("Invalid message attribute name ending with character '.' was found.")
    if ".." in name:
        raise ParameterValueInvalidError("Message attribute name can not have successive '.' character.")


def _typed(name: str, raw: Any) -> MessageAttribute:
    if isinstance(raw, MessageAttribute):
        return raw
    if isinstance(raw, bool):
        raise InvalidParameterError(f"Invalid parameter: MessageAttributes: {name!r} must be a string, number or list")
    if isinstance(raw, str):
        return MessageAttribute("String", raw)
    if isinstance(raw, int | float):
        return MessageAttribute("Number", str(raw))
    if isinstance(raw, list):
        return MessageAttribute("String.Array", json.dumps(raw))
    raise InvalidParameterError(f"Invalid parameter: MessageAttributes: {name!r} must be a string, number or list")


def check_message(message: str, subject: str | None, attributes: Mapping[str, MessageAttribute], *, limit: int = MAX_MESSAGE_BYTES) -> None:
    """Check a message as SNS's Publish does.

    Raises:
        TypeError: ``message`` is not a string.
        InvalidParameterError: an empty message, a subject SNS refuses (empty, longer
            than 100 characters, line breaks or control characters), or more than ``limit``
            bytes in all (256 KiB, or the topic's MaximumMessageSize).
    """
    if not isinstance(message, str):
        raise TypeError("message must be a string")
    if message == "":
        raise InvalidParameterError("Invalid parameter: Empty message")
    if subject is not None:
        if not isinstance(subject, str):
            raise TypeError("subject must be a string")
        if subject == "" or len(subject) > MAX_SUBJECT_CHARS or _CONTROL.search(subject):
            raise InvalidParameterError("Invalid parameter: Subject")
    size = len(message.encode("utf-8")) + len((subject or "").encode("utf-8"))
    size += sum(len(k.encode()) + len(a.data_type.encode()) + len(a.value.encode()) for k, a in attributes.items())
    if size > limit:
        raise InvalidParameterError("Invalid parameter: Message too long")


def message_structure(message: str) -> dict[str, str]:
    """Read a message published with ``MessageStructure=json``: a message per protocol and a ``default``.

    Raises:
        InvalidParameterError: not a JSON object of strings, or no ``default`` entry (SNS's texts).
    """
    try:
        doc = json.loads(message)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise InvalidParameterError("Invalid parameter: Message Structure - JSON message body failed to parse")
    # SNS looks for a string "default" first: an object there is "no default entry", not a parse failure.
    if not isinstance(doc.get("default"), str):
        raise InvalidParameterError("Invalid parameter: Message Structure - No default entry in JSON message body")
    if not all(isinstance(v, str) for v in doc.values()):
        raise InvalidParameterError("Invalid parameter: Message Structure - JSON message body failed to parse")
    return doc


@dataclass(frozen=True)
class PublishedMessage:
    """A message as a topic committed it, before it reaches each subscriber."""

    message_id: str
    topic: str
    """The topic's name."""
    topic_arn: str
    message: str
    timestamp: datetime
    subject: str | None = None
    attributes: Mapping[str, MessageAttribute] = field(default_factory=dict)
    published_as: str | None = None
    """The topic reference the publisher used (a name or an ARN); the outbox keeps it."""
    group_id: str | None = None
    """FIFO topics: the message group (FIFO queues get it as their message's group)."""
    dedup_id: str | None = None
    """FIFO topics: the deduplication id (FIFO queues get it as their message's)."""
    sequence_number: str | None = None
    """FIFO topics: SNS's sequence number, in the envelope."""


@dataclass(frozen=True)
class PublishResult:
    """What a publish answers: Publish's ``MessageId`` and, on a FIFO topic, ``SequenceNumber``
    (a duplicate's are the first message's)."""

    message_id: str
    sequence_number: str | None = None


# -------------------------------------------------------------- subscriptions


@dataclass(frozen=True)
class Subscription:
    """A topic's subscriber and how it wants messages."""

    arn: str
    topic: str
    """The topic's name."""
    topic_arn: str
    protocol: str
    endpoint: str
    """A queue's ARN, a function's ARN, an email address, a URL, or the outbox file."""
    created_at: datetime
    raw_message_delivery: bool = False
    filter_policy: str | None = None
    """The FilterPolicy JSON text, or None to take every message."""
    filter_policy_scope: str = "MessageAttributes"
    delivery_policy: DeliveryPolicy | None = None
    """None takes :func:`default_policy` for the protocol."""
    dead_letter_queue: str | None = None
    """Where messages go when the delivery policy runs out (an SQS queue name)."""
    secret: str | None = field(default=None, repr=False)
    """The key that signs webhook deliveries (HMAC-SHA256); http/https only."""

    @property
    def id(self) -> str:
        return self.arn.rsplit(":", 1)[-1]

    @property
    def effective_delivery_policy(self) -> DeliveryPolicy:
        return self.delivery_policy or default_policy(self.protocol)

    def attributes(self) -> dict[str, str]:
        """GetSubscriptionAttributes' map (all values strings; the secret is not shown)."""
        out = {
            "SubscriptionArn": self.arn,
            "TopicArn": self.topic_arn,
            "Protocol": self.protocol,
            "Endpoint": self.endpoint,
            "RawMessageDelivery": str(self.raw_message_delivery).lower(),
            "PendingConfirmation": "false",
            "ConfirmationWasAuthenticated": "true",
        }
        if self.filter_policy is not None:
            out["FilterPolicy"] = self.filter_policy
            out["FilterPolicyScope"] = self.filter_policy_scope
        if self.delivery_policy is not None:
            out["DeliveryPolicy"] = json.dumps(self.delivery_policy.to_aws())
        if self.dead_letter_queue is not None:
            out["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": self.dead_letter_queue})
        return out


@dataclass(frozen=True)
class DeliveryRecord:
    """One message's delivery to one subscription, as the topic store keeps it."""

    id: int
    message: PublishedMessage
    subscription: Subscription
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None = None
    updated_at: datetime | None = None
