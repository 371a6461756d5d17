"""What an SNS subscriber receives: envelopes, raw bodies, HTTP headers, Lambda events.

A message published to a topic reaches each subscriber in the subscriber's shape:

* ``sqs`` and ``http``/``https`` get the JSON notification envelope
  (:func:`notification`: ``Type``, ``MessageId``, ``TopicArn``, ``Subject``,
  ``Message``, ``Timestamp``, ``SignatureVersion``, ``Signature``,
  ``SigningCertURL``, ``UnsubscribeURL``, ``MessageAttributes``), or with
  ``RawMessageDelivery`` the message itself (:func:`delivery_body`);
* ``lambda`` gets SNS's Lambda event (:func:`lambda_event`: ``Records`` with
  ``EventSource`` ``aws:sns`` and the envelope under ``Sns``, where the URL keys
  are spelled ``SigningCertUrl`` and ``UnsubscribeUrl``);
* ``email`` gets the message as the mail body (under :data:`DEFAULT_SUBJECT` when
  it has no subject), ``email-json`` the envelope;
* ``outbox`` (Sluiceway's own) writes the message to the local outbox.

The signature of an envelope cannot be one AWS's certificates verify; callers
pass the signature they make (the webhook sender signs :func:`string_to_sign` with
the subscription's secret, see :mod:`sluiceway.runtime.messaging.delivery`).

The module is pure: ids, times and signatures come from callers.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

from ..types import JSON
from .sns import MessageAttribute, PublishedMessage, Subscription
from .sqs_attributes import MessageAttributeValue

__all__ = [
    "DEFAULT_SUBJECT",
    "delivery_body",
    "format_timestamp",
    "http_headers",
    "lambda_event",
    "notification",
    "queue_message_attributes",
    "string_to_sign",
]

DEFAULT_SUBJECT: Final = "AWS Notification Message"
"""The subject SNS gives an email when the message has none."""
SIGNATURE_VERSION: Final = "1"


def format_timestamp(when: datetime) -> str:
    """SNS's timestamp format: UTC with milliseconds, ``2012-05-02T00:54:06.655Z``."""
    utc = when.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def unsubscribe_url(subscription: Subscription, region: str) -> str:
    """SNS's unsubscribe link for ``subscription`` (the shape subscribers' parsers expect)."""
    return f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription.arn}"


def signing_cert_url(region: str) -> str:
    """Where an envelope says its signing certificate is (the shape only: see the module docstring)."""
    return f"https://sns.{region}.amazonaws.com/SimpleNotificationService-sluiceway-local.pem"


def _region(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else "us-east-1"


def notification(message: PublishedMessage, subscription: Subscription, *, signature: str = "") -> dict[str, JSON]:
    """The JSON envelope SNS sends to SQS, HTTP/S and email-json subscribers.

    ``Subject`` is left out when the message has none, and ``MessageAttributes`` when
    it has no attributes, as SNS does. A FIFO topic's envelope carries the message's
    ``SequenceNumber`` and, as SNS's, no signature.
    """
    region = _region(message.topic_arn)
    envelope: dict[str, JSON] = {"Type": "Notification", "MessageId": message.message_id}
    if message.sequence_number is not None:
        envelope["SequenceNumber"] = message.sequence_number
    envelope["TopicArn"] = message.topic_arn
    if message.subject is not None:
        envelope["Subject"] = message.subject
    envelope.update({"Message": message.message, "Timestamp": format_timestamp(message.timestamp)})
    if message.sequence_number is None:
        envelope.update({"SignatureVersion": SIGNATURE_VERSION, "Signature": signature, "SigningCertURL": signing_cert_url(region)})
    envelope["UnsubscribeURL"] = unsubscribe_url(subscription, region)
    if message.attributes:
        envelope["MessageAttributes"] = {k: a.to_json() for k, a in message.attributes.items()}
    return envelope


def string_to_sign(envelope: Mapping[str, JSON]) -> str:
    """SNS's canonical text of a Notification: ``Key\\nvalue\\n`` for the signed keys, in order."""
    keys = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
    return "".join(f"{k}\n{envelope[k]}\n" for k in keys if k in envelope)


def delivery_body(message: PublishedMessage, subscription: Subscription, *, signature: str = "") -> str:
    """What an SQS, HTTP/S or email-json subscriber receives as its body.

    With ``RawMessageDelivery`` the message itself; otherwise the envelope as JSON.
    """
    if subscription.raw_message_delivery:
        return message.message
    return json.dumps(notification(message, subscription, signature=signature), ensure_ascii=False)


def queue_message_attributes(message: PublishedMessage, subscription: Subscription) -> dict[str, MessageAttributeValue]:
    """The SQS message attributes an ``sqs`` subscriber's message carries.

    With ``RawMessageDelivery`` the message's own attributes, each of its own data type (SNS
    piggybacks them on SQS's message attributes: a Number stays a Number, a Binary bytes); the
    envelope carries them otherwise, so the queue's message has none.
    """
    if subscription.protocol != "sqs" or not subscription.raw_message_delivery:
        return {}
    return {name: _sqs_attribute(attribute) for name, attribute in message.attributes.items()}


def _sqs_attribute(attribute: MessageAttribute) -> MessageAttributeValue:
    # SQS takes SNS's data types as they are: ``String.Array`` reads there as a String with the
    # custom label ``Array``; SNS holds a Binary's value in base64, SQS wants its bytes.
    if attribute.base_type == "Binary":
        return MessageAttributeValue(attribute.data_type, binary_value=base64.b64decode(attribute.value))
    return MessageAttributeValue(attribute.data_type, string_value=attribute.value)


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


def lambda_event(message: PublishedMessage, subscription: Subscription, *, signature: str = "") -> dict[str, JSON]:
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
