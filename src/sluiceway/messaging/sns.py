"""SNS's rules and shapes, shared by every backend: names and ARNs, message checks,
subscriptions, delivery policies, and what a subscriber receives.

A message published to a topic reaches each subscriber in the subscriber's shape:

* ``sqs`` and ``http``/``https`` get the JSON notification envelope
  (:func:`notification`: ``Type``, ``MessageId``, ``TopicArn``, ``Subject``,
  ``Message``, ``Timestamp``, ``SignatureVersion``, ``Signature``,
  ``SigningCertURL``, ``UnsubscribeURL``, ``MessageAttributes``), or with
  ``RawMessageDelivery`` the message itself (:func:`delivery_body`);
* ``lambda`` gets SNS's Lambda event (:func:`lambda_event`: ``Records`` with
  ``EventSource`` ``aws:sns`` and the envelope under ``Sns``, where the URL keys
  are spelled ``SigningCertUrl`` and ``UnsubscribeUrl``);
* ``email`` gets the message as the mail body, ``email-json`` the envelope;
* ``outbox`` (Sluiceway's own) writes the message to the local outbox.

The signature of an envelope cannot be one AWS's certificates verify; callers
pass the signature they make (the webhook sender signs with the subscription's
secret, see :mod:`sluiceway.runtime.messaging.delivery`).

The module is pure: ids, times and random numbers come from callers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal, TypeAlias

from ..types import JSON

__all__ = [
    "AWS_MANAGED_POLICY",
    "CUSTOMER_MANAGED_POLICY",
    "DEFAULT_SUBJECT",
    "HTTP_DEFAULT_POLICY",
    "LAMBDA_ASYNC_POLICY",
    "MAX_MESSAGE_ATTRIBUTES",
    "MAX_MESSAGE_BYTES",
    "PROTOCOLS",
    "RAW_PROTOCOLS",
    "SCOPES",
    "DeliveryPolicy",
    "DeliveryRecord",
    "DeliveryStatus",
    "InvalidParameterError",
    "MessageAttribute",
    "Protocol",
    "PublishedMessage",
    "Subscription",
    "TopicInfo",
    "check_message",
    "check_topic_name",
    "default_policy",
    "delivery_body",
    "format_timestamp",
    "http_headers",
    "lambda_event",
    "message_attributes",
    "notification",
    "string_to_sign",
    "subscription_arn",
    "topic_arn",
    "topic_name",
]

Protocol: TypeAlias = Literal["sqs", "lambda", "email", "email-json", "http", "https", "outbox"]
DeliveryStatus: TypeAlias = Literal[
    "pending", "delivered", "rejected", "failed", "dead-lettered", "cancelled"
]
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
DEFAULT_SUBJECT: Final = "AWS Notification Message"
"""The subject SNS gives an email when the message has none."""
SIGNATURE_VERSION: Final = "1"

_TOPIC_NAME: Final = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_TOPIC_ARN: Final = re.compile(
    r"^arn:aws[a-z-]*:sns:(?P<region>[^:]*):(?P<account>[^:]*):(?P<name>[^:]+)$"
)
_ATTRIBUTE_NAME: Final = re.compile(r"^[A-Za-z0-9_.-]{1,256}$")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
_DATA_TYPES: Final = ("String", "Number", "Binary")


class InvalidParameterError(ValueError):
    """A request SNS would refuse with ``InvalidParameter`` (a caller's mistake).

    The message is SNS's own text where we know it, e.g.
    ``Invalid parameter: Attributes Reason: FilterPolicy: Filter policy is too complex``.
    """

    code = "InvalidParameter"


# ---------------------------------------------------------------------- topics


def check_topic_name(name: str) -> str:
    """Return ``name`` if SNS accepts it for a standard topic (1-256 letters, digits, ``-``, ``_``).

    Raises:
        InvalidParameterError: an invalid name, or a FIFO topic name (not supported locally).
    """
    if isinstance(name, str) and name.endswith(".fifo"):
        raise InvalidParameterError(
            "Invalid parameter: Topic Name (FIFO topics are not supported locally)"
        )
    if not isinstance(name, str) or not _TOPIC_NAME.match(name):
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
        if (
            not isinstance(name, str)
            or not _ATTRIBUTE_NAME.match(name)
            or ".." in name
            or name.startswith(".")
            or name.endswith(".")
        ):
            raise InvalidParameterError(
                f"Invalid parameter: MessageAttributes: invalid attribute name {name!r}"
            )
        if name.lower().startswith(("aws.", "amazon.")):
            raise InvalidParameterError(
                f"Invalid parameter: MessageAttributes: attribute name {name!r} uses a reserved prefix (AWS. or Amazon.)"
            )
        attribute = _typed(name, raw)
        if attribute.value == "":
            raise InvalidParameterError(
                f"Invalid parameter: The message attribute '{name}' must contain non-empty message attribute value"
                f" for message attribute type '{attribute.data_type}'."
            )
        base = attribute.base_type
        if base not in (*_DATA_TYPES, "String.Array"):
            raise InvalidParameterError(
                f"Invalid parameter: The message attribute '{name}' has an invalid message attribute type, the set"
                " of supported type prefixes is Binary, Number, and String."
            )
        if base == "Number":
            try:
                Decimal(attribute.value)
            except InvalidOperation:
                raise InvalidParameterError(
                    f"Invalid parameter: Could not cast message attribute '{name}' value to number."
                ) from None
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
        raise InvalidParameterError(
            f"Invalid parameter: MessageAttributes: a message can have at most {MAX_MESSAGE_ATTRIBUTES} attributes"
        )
    return out


def _typed(name: str, raw: Any) -> MessageAttribute:
    if isinstance(raw, MessageAttribute):
        return raw
    if isinstance(raw, bool):
        raise InvalidParameterError(
            f"Invalid parameter: MessageAttributes: {name!r} must be a string, number or list"
        )
    if isinstance(raw, str):
        return MessageAttribute("String", raw)
    if isinstance(raw, int | float):
        return MessageAttribute("Number", str(raw))
    if isinstance(raw, list):
        return MessageAttribute("String.Array", json.dumps(raw))
    raise InvalidParameterError(
        f"Invalid parameter: MessageAttributes: {name!r} must be a string, number or list"
    )


def check_message(
    message: str, subject: str | None, attributes: Mapping[str, MessageAttribute]
) -> None:
    """Check a message as SNS's Publish does.

    Raises:
        TypeError: ``message`` is not a string.
        InvalidParameterError: an empty message, a subject SNS refuses (empty, longer
            than 100 characters, line breaks or control characters), or more than 256 KiB
            in all.
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
    size += sum(
        len(k.encode()) + len(a.data_type.encode()) + len(a.value.encode())
        for k, a in attributes.items()
    )
    if size > MAX_MESSAGE_BYTES:
        raise InvalidParameterError("Invalid parameter: Message too long")


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


# -------------------------------------------------------------- subscriptions


@dataclass(frozen=True)
class DeliveryPolicy:
    """When SNS tries a delivery again: its ``healthyRetryPolicy``, in four phases.

    After the first attempt come ``num_no_delay_retries`` immediate retries, then
    ``num_min_delay_retries`` retries ``min_delay_target_s`` apart, then the backoff
    phase (from the smallest to the largest delay, shaped by ``backoff_function``),
    then ``num_max_delay_retries`` retries ``max_delay_target_s`` apart.
    ``num_retries`` counts them all.
    """

    num_retries: int = 3
    min_delay_target_s: float = 20
    max_delay_target_s: float = 20
    num_no_delay_retries: int = 0
    num_min_delay_retries: int = 0
    num_max_delay_retries: int = 0
    backoff_function: Literal["linear", "arithmetic", "geometric", "exponential"] = "linear"

    def __post_init__(self) -> None:
        counts = (
            self.num_retries,
            self.num_no_delay_retries,
            self.num_min_delay_retries,
            self.num_max_delay_retries,
        )
        if any(isinstance(c, bool) or not isinstance(c, int) or c < 0 for c in counts):
            raise InvalidParameterError(
                "Invalid parameter: DeliveryPolicy: retry counts must be whole numbers >= 0"
            )
        if sum(counts[1:]) > self.num_retries:
            raise InvalidParameterError(
                "Invalid parameter: DeliveryPolicy: numNoDelayRetries + numMinDelayRetries + numMaxDelayRetries"
                " must not exceed numRetries"
            )
        if not 0 < self.min_delay_target_s <= self.max_delay_target_s:
            raise InvalidParameterError(
                "Invalid parameter: DeliveryPolicy: minDelayTarget must be positive and at most maxDelayTarget"
            )
        if self.backoff_function not in ("linear", "arithmetic", "geometric", "exponential"):
            raise InvalidParameterError(
                f"Invalid parameter: DeliveryPolicy: backoffFunction must be linear, arithmetic, geometric or"
                f" exponential, not {self.backoff_function!r}"
            )

    @property
    def backoff_retries(self) -> int:
        return (
            self.num_retries
            - self.num_no_delay_retries
            - self.num_min_delay_retries
            - self.num_max_delay_retries
        )

    def delay_s(self, retry: int) -> float | None:
        """Seconds to wait before retry number ``retry`` (1 = the first retry); None when none is left."""
        if retry < 1 or retry > self.num_retries:
            return None
        if retry <= self.num_no_delay_retries:
            return 0.0
        retry -= self.num_no_delay_retries
        if retry <= self.num_min_delay_retries:
            return float(self.min_delay_target_s)
        retry -= self.num_min_delay_retries
        steps = self.backoff_retries
        if retry <= steps:
            return self._backoff(retry, steps)
        return float(self.max_delay_target_s)

    def _backoff(self, step: int, steps: int) -> float:
        low, high = float(self.min_delay_target_s), float(self.max_delay_target_s)
        if steps <= 1 or low == high:
            return high if steps == 1 else low
        # SNS publishes the shapes (curves from the smallest to the largest delay), not
        # their formulas; these keep both ends and rise the way SNS's diagrams do.
        fraction = (step - 1) / (steps - 1)
        if self.backoff_function == "exponential":
            return float(low * (high / low) ** fraction)
        if self.backoff_function == "geometric":
            return low + (high - low) * fraction**3
        if self.backoff_function == "arithmetic":
            return low + (high - low) * fraction**2
        return low + (high - low) * fraction

    @classmethod
    def from_aws(cls, doc: Mapping[str, Any] | str) -> DeliveryPolicy:
        """Read SNS's ``DeliveryPolicy`` (``{"healthyRetryPolicy": {...}}``, or its JSON text).

        Raises:
            InvalidParameterError: not JSON, unknown keys, or values SNS refuses; the total
                retry time above 3,600 seconds (SNS's hard limit for HTTP/S).
        """
        if isinstance(doc, str):
            try:
                doc = json.loads(doc)
            except ValueError:
                raise InvalidParameterError(
                    "Invalid parameter: DeliveryPolicy: failed to parse JSON"
                ) from None
        if not isinstance(doc, Mapping):
            raise InvalidParameterError("Invalid parameter: DeliveryPolicy: failed to parse JSON")
        healthy = doc.get("healthyRetryPolicy", doc)
        if not isinstance(healthy, Mapping):
            raise InvalidParameterError(
                "Invalid parameter: DeliveryPolicy: healthyRetryPolicy must be an object"
            )
        names = {
            "numRetries": "num_retries",
            "minDelayTarget": "min_delay_target_s",
            "maxDelayTarget": "max_delay_target_s",
            "numNoDelayRetries": "num_no_delay_retries",
            "numMinDelayRetries": "num_min_delay_retries",
            "numMaxDelayRetries": "num_max_delay_retries",
            "backoffFunction": "backoff_function",
        }
        unknown = set(healthy) - set(names)
        if unknown:
            raise InvalidParameterError(
                f"Invalid parameter: DeliveryPolicy: unknown keys {', '.join(sorted(unknown))}"
            )
        policy = cls(**{names[k]: v for k, v in healthy.items()})
        if policy.max_delay_target_s > 3600 or policy.total_retry_s() > 3600:
            raise InvalidParameterError(
                "Invalid parameter: DeliveryPolicy: the total retry time must not exceed 3600 seconds"
            )
        return policy

    def to_aws(self) -> dict[str, Any]:
        """SNS's ``DeliveryPolicy`` document."""
        return {
            "healthyRetryPolicy": {
                "numRetries": self.num_retries,
                "minDelayTarget": self.min_delay_target_s,
                "maxDelayTarget": self.max_delay_target_s,
                "numNoDelayRetries": self.num_no_delay_retries,
                "numMinDelayRetries": self.num_min_delay_retries,
                "numMaxDelayRetries": self.num_max_delay_retries,
                "backoffFunction": self.backoff_function,
            }
        }

    def total_retry_s(self) -> float:
        """Seconds from the first failure to the last retry, without jitter."""
        return sum(self.delay_s(n) or 0.0 for n in range(1, self.num_retries + 1))


AWS_MANAGED_POLICY: Final = DeliveryPolicy(
    num_retries=100_015,
    min_delay_target_s=1,
    max_delay_target_s=20,
    num_no_delay_retries=3,
    num_min_delay_retries=2,
    num_max_delay_retries=100_000,
    backoff_function="exponential",
)
"""SNS's policy for SQS and Lambda: 3 at once, 2 a second apart, 10 backing off from 1 to 20 s,
100,000 twenty seconds apart (23 days). Sluiceway's outbox uses it too."""
CUSTOMER_MANAGED_POLICY: Final = DeliveryPolicy(
    num_retries=50,
    min_delay_target_s=10,
    max_delay_target_s=600,
    num_no_delay_retries=0,
    num_min_delay_retries=2,
    num_max_delay_retries=38,
    backoff_function="exponential",
)
"""SNS's policy for SMTP (email): 2 ten seconds apart, 10 backing off from 10 to 600 s, 38 ten
minutes apart (about 6 hours)."""
HTTP_DEFAULT_POLICY: Final = DeliveryPolicy()
"""SNS's default for HTTP/S: three retries, 20 seconds apart; a subscription may set its own."""
LAMBDA_ASYNC_POLICY: Final = DeliveryPolicy(
    num_retries=2, min_delay_target_s=60, max_delay_target_s=120, backoff_function="linear"
)
"""SNS hands events to Lambda's asynchronous invocation, which runs a failing function twice
more (after about one and two minutes) before it gives up."""


def default_policy(protocol: str) -> DeliveryPolicy:
    """The delivery policy SNS applies to ``protocol`` unless the subscription sets one."""
    if protocol in ("http", "https"):
        return HTTP_DEFAULT_POLICY
    if protocol in ("email", "email-json"):
        return CUSTOMER_MANAGED_POLICY
    if protocol == "lambda":
        return LAMBDA_ASYNC_POLICY
    return AWS_MANAGED_POLICY


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


# ------------------------------------------------------------------ envelopes


def format_timestamp(when: datetime) -> str:
    """SNS's timestamp format: UTC with milliseconds, ``2012-05-02T00:54:06.655Z``."""
    utc = when.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def unsubscribe_url(subscription: Subscription, region: str) -> str:
    """SNS's unsubscribe link for ``subscription`` (the shape subscribers' parsers expect)."""
    return (
        f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription.arn}"
    )


def signing_cert_url(region: str) -> str:
    """Where an envelope says its signing certificate is (the shape only: see the module docstring)."""
    return f"https://sns.{region}.amazonaws.com/SimpleNotificationService-sluiceway-local.pem"


def _region(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else "us-east-1"


def notification(
    message: PublishedMessage, subscription: Subscription, *, signature: str = ""
) -> dict[str, JSON]:
    """The JSON envelope SNS sends to SQS, HTTP/S and email-json subscribers.

    ``Subject`` is left out when the message has none, and ``MessageAttributes`` when
    it has no attributes, as SNS does.
    """
    region = _region(message.topic_arn)
    envelope: dict[str, JSON] = {
        "Type": "Notification",
        "MessageId": message.message_id,
        "TopicArn": message.topic_arn,
    }
    if message.subject is not None:
        envelope["Subject"] = message.subject
    envelope.update(
        {
            "Message": message.message,
            "Timestamp": format_timestamp(message.timestamp),
            "SignatureVersion": SIGNATURE_VERSION,
            "Signature": signature,
            "SigningCertURL": signing_cert_url(region),
            "UnsubscribeURL": unsubscribe_url(subscription, region),
        }
    )
    if message.attributes:
        envelope["MessageAttributes"] = {k: a.to_json() for k, a in message.attributes.items()}
    return envelope


def string_to_sign(envelope: Mapping[str, JSON]) -> str:
    """SNS's canonical text of a Notification: ``Key\\nvalue\\n`` for the signed keys, in order."""
    keys = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
    return "".join(f"{k}\n{envelope[k]}\n" for k in keys if k in envelope)


def delivery_body(
    message: PublishedMessage, subscription: Subscription, *, signature: str = ""
) -> str:
    """What an SQS, HTTP/S or email-json subscriber receives as its body.

    With ``RawMessageDelivery`` the message itself; otherwise the envelope as JSON.
    """
    if subscription.raw_message_delivery:
        return message.message
    return json.dumps(notification(message, subscription, signature=signature), ensure_ascii=False)


def http_headers(message: PublishedMessage, subscription: Subscription) -> dict[str, str]:
    """The headers SNS sends with an HTTP/S notification."""
    headers = {
        "x-amz-sns-message-type": "Notification",
        "x-amz-sns-message-id": message.message_id,
        "x-amz-sns-topic-arn": message.topic_arn,
        "x-amz-sns-subscription-arn": subscription.arn,
        "Content-Type": "text/plain; charset=UTF-8",
        "User-Agent": "Amazon Simple Notification Service Agent",
    }
    if subscription.raw_message_delivery:
        headers["x-amz-sns-rawdelivery"] = "true"
    return headers


def lambda_event(
    message: PublishedMessage, subscription: Subscription, *, signature: str = ""
) -> dict[str, JSON]:
    """The event SNS invokes a subscribed function with (one record per message)."""
    region = _region(message.topic_arn)
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription.arn,
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message.message_id,
                    "TopicArn": message.topic_arn,
                    "Subject": message.subject,
                    "Message": message.message,
                    "Timestamp": format_timestamp(message.timestamp),
                    "SignatureVersion": SIGNATURE_VERSION,
                    "Signature": signature,
                    "SigningCertUrl": signing_cert_url(region),
                    "UnsubscribeUrl": unsubscribe_url(subscription, region),
                    "MessageAttributes": {k: a.to_json() for k, a in message.attributes.items()},
                },
            }
        ]
    }
