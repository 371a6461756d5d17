"""SNS's topic attributes and tags, read and reported as SNS does.

CreateTopic and SetTopicAttributes take string attributes; :func:`check_topic_attribute`
checks one, and :func:`topic_attributes` builds GetTopicAttributes' map from the kept ones
and the defaults SNS reports (the default access policy, the effective delivery policy,
subscription counts). ``MaximumMessageSize`` bounds what Publish accepts; the rest is
kept as given (delivery-status logging, tracing and encryption only matter on AWS).

FIFO topics (``FifoTopic`` ``true``, set only at creation, names ending in ``.fifo``) take
``ContentBasedDeduplication`` and ``FifoThroughputScope``; :func:`fifo_publish` checks a
publish's group and deduplication ids against the topic's kind as SNS does. A FIFO topic's
``ArchivePolicy`` (message archiving and replay) is not served locally and is refused, so
a program finds out at creation rather than when it first replays.

Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from .delivery_policy import DeliveryPolicy
from .errors import InvalidParameterError
from .sns import MAX_MESSAGE_BYTES

__all__ = [
    "DEDUP_WINDOW_S",
    "MAX_TAGS",
    "MIN_MESSAGE_BYTES",
    "TOPIC_MAX_MESSAGE_BYTES",
    "check_tags",
    "check_topic_attribute",
    "default_policy",
    "fifo_publish",
    "is_fifo",
    "message_limit",
    "topic_attributes",
    "FifoPublish",
]

MAX_TAGS: Final = 50
MIN_MESSAGE_BYTES: Final = 1_024
TOPIC_MAX_MESSAGE_BYTES: Final = 1_048_576
"""The largest ``MaximumMessageSize`` a topic may have (its default is 256 KiB)."""

_FEEDBACK: Final = re.compile(
    r"(HTTP|Firehose|Lambda|Application|SQS)(SuccessFeedbackRoleArn|SuccessFeedbackSampleRate|FailureFeedbackRoleArn)"
)
_KEPT: Final = frozenset(
    {"DisplayName", "Policy", "DeliveryPolicy", "KmsMasterKeyId", "SignatureVersion", "TracingConfig", "MaximumMessageSize"}
)
_MAX_DISPLAY_NAME: Final = 100
_FIFO_ONLY: Final = frozenset({"ContentBasedDeduplication", "FifoThroughputScope"})
_THROUGHPUT_SCOPES: Final = ("Topic", "MessageGroup")
DEDUP_WINDOW_S: Final = 300.0
"""How long a FIFO topic remembers a deduplication id (SNS's five minutes)."""
_DEFAULT_EFFECTIVE_DELIVERY_POLICY: Final = {
    "http": {
        "defaultHealthyRetryPolicy": {
            "minDelayTarget": 20,
            "maxDelayTarget": 20,
            "numRetries": 3,
            "numMaxDelayRetries": 0,
            "numNoDelayRetries": 0,
            "numMinDelayRetries": 0,
            "backoffFunction": "linear",
        },
        "disableSubscriptionOverrides": False,
        "defaultRequestPolicy": {"headerContentType": "text/plain; charset=UTF-8"},
    }
}


def _invalid(name: str, reason: str) -> InvalidParameterError:
    return InvalidParameterError(f"Invalid parameter: Attributes Reason: {name}: {reason}")


def check_topic_attribute(name: str, value: str, *, create: bool, fifo: bool = False) -> str:
    """Return ``value`` (booleans lower-cased, as SNS keeps them) if SNS accepts it for topic
    attribute ``name``.

    Args:
        create: CreateTopic's attributes (``FifoTopic`` may be given) rather than SetTopicAttributes'.
        fifo: the topic is (or is being made) a FIFO topic.

    Raises:
        InvalidParameterError: an unknown attribute or a value SNS refuses.
    """
    if not isinstance(value, str):
        raise _invalid(name, "must be a string")
    if name == "FifoTopic":
        if not create:  # a topic's kind is fixed when it is made
            raise InvalidParameterError("Invalid parameter: AttributeName")
        return _boolean(name, value)
    if name == "ArchivePolicy":
        raise _invalid(name, "message archiving and replay are not served by the local stack")
    if name in _FIFO_ONLY:
        if not fifo:
            raise _invalid(name, "only valid for FIFO topics")
        if name == "FifoThroughputScope":
            if value not in _THROUGHPUT_SCOPES:
                raise _invalid(name, f"Invalid value [{value}]. Must be Topic or MessageGroup.")
            return value
        return _boolean(name, value)
    if name not in _KEPT and _FEEDBACK.fullmatch(name) is None:
        raise InvalidParameterError("Invalid parameter: AttributeName")
    if name == "DisplayName" and len(value) > _MAX_DISPLAY_NAME:
        raise _invalid(name, f"must be at most {_MAX_DISPLAY_NAME} characters")
    if name == "MaximumMessageSize" and not (value.isdigit() and MIN_MESSAGE_BYTES <= int(value) <= TOPIC_MAX_MESSAGE_BYTES):
        raise _invalid(name, f"must be an integer between {MIN_MESSAGE_BYTES} and {TOPIC_MAX_MESSAGE_BYTES}")
    if name == "TracingConfig" and value not in ("PassThrough", "Active"):
        raise _invalid(name, "must be PassThrough or Active")
    if name == "SignatureVersion" and value not in ("1", "2"):
        raise _invalid(name, "must be 1 or 2")
    if name in ("Policy", "DeliveryPolicy") and value:
        try:
            doc = json.loads(value)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise _invalid(name, "must be a JSON object")
        http = doc.get("http") if name == "DeliveryPolicy" else None
        if isinstance(http, dict) and isinstance(http.get("defaultHealthyRetryPolicy"), dict):
            DeliveryPolicy.from_aws(http["defaultHealthyRetryPolicy"])  # raises InvalidParameterError with SNS's reason
    if name.endswith("SampleRate") and not (value.isdigit() and 0 <= int(value) <= 100):
        raise _invalid(name, "must be an integer between 0 and 100")
    return value


def _boolean(name: str, value: str) -> str:
    if value.lower() not in ("true", "false"):
        raise _invalid(name, f"Invalid value [{value}]. Must be true or false.")
    return value.lower()


def is_fifo(attributes: Mapping[str, str]) -> bool:
    """Whether a topic with these kept (or reported) attributes is a FIFO topic."""
    return attributes.get("FifoTopic") == "true"


@dataclass(frozen=True)
class FifoPublish:
    """What a FIFO topic keeps of a publish to deduplicate and order it."""

    group_id: str
    dedup_id: str
    """The publisher's, or the SHA-256 of the message when the topic deduplicates by content."""
    scope: str
    """What the deduplication id is unique within: ``""`` for the topic, else the group."""


def fifo_publish(attributes: Mapping[str, str], message: str, group_id: str | None, dedup_id: str | None) -> FifoPublish | None:
    """Check a publish's ``MessageGroupId`` and ``MessageDeduplicationId`` against the topic, as SNS does.

    Args:
        attributes: the topic's kept (or reported) attributes.
        message: the message published (content-based deduplication hashes it, not its attributes).

    Returns:
        For a FIFO topic, the ids the message is kept with; None for a standard topic (whose
        ``MessageGroupId`` is only passed on to SQS fair queues).

    Raises:
        InvalidParameterError: a FIFO publish without a group id, or without a deduplication id
            on a topic without content-based deduplication; a deduplication id on a standard topic.
    """
    if not is_fifo(attributes):
        if dedup_id is not None:
            raise InvalidParameterError(
                "Invalid parameter: MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter"
                " that is not valid for this topic type"
            )
        return None
    if group_id is None:
        raise InvalidParameterError("Invalid parameter: The MessageGroupId parameter is required for FIFO topics")
    if dedup_id is None:
        if attributes.get("ContentBasedDeduplication") != "true":
            raise InvalidParameterError(
                "Invalid parameter: The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId"
                " provided explicitly"
            )
        dedup_id = hashlib.sha256(message.encode("utf-8")).hexdigest()
    scope = group_id if attributes.get("FifoThroughputScope") == "MessageGroup" else ""
    return FifoPublish(group_id, dedup_id, scope)


def message_limit(attributes: Mapping[str, str]) -> int:
    """The largest message a topic with these kept attributes accepts."""
    size = attributes.get("MaximumMessageSize")
    return int(size) if size else MAX_MESSAGE_BYTES


def default_policy(arn: str, account_id: str) -> dict[str, Any]:
    """The access policy SNS gives a new topic: its owner may do everything."""
    return {
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [
            {
                "Sid": "__default_statement_ID",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": [
                    "SNS:GetTopicAttributes",
                    "SNS:SetTopicAttributes",
                    "SNS:AddPermission",
                    "SNS:RemovePermission",
                    "SNS:DeleteTopic",
                    "SNS:Subscribe",
                    "SNS:ListSubscriptionsByTopic",
                    "SNS:Publish",
                ],
                "Resource": arn,
                "Condition": {"StringEquals": {"AWS:SourceOwner": account_id}},
            }
        ],
    }


def topic_attributes(arn: str, account_id: str, kept: Mapping[str, str], *, subscriptions: int) -> dict[str, str]:
    """GetTopicAttributes' map: SNS's defaults, overridden by the kept attributes."""
    out = {
        "TopicArn": arn,
        "Owner": account_id,
        "Policy": json.dumps(default_policy(arn, account_id), separators=(",", ":")),
        "DisplayName": "",
        "SubscriptionsConfirmed": str(subscriptions),
        "SubscriptionsPending": "0",
        "SubscriptionsDeleted": "0",
        "EffectiveDeliveryPolicy": json.dumps(_DEFAULT_EFFECTIVE_DELIVERY_POLICY, separators=(",", ":")),
    }
    if is_fifo(kept):
        out["ContentBasedDeduplication"] = "false"
    out.update({k: v for k, v in kept.items() if v != "" or k == "DisplayName"})
    if "DeliveryPolicy" in kept and kept["DeliveryPolicy"]:
        out["EffectiveDeliveryPolicy"] = kept["DeliveryPolicy"]
    return out


def check_tags(tags: Mapping[str, str]) -> None:
    """Check a topic's tags as SNS does: at most 50; keys 1-128 characters not starting with ``aws:``;
    values at most 256 characters.

    Raises:
        InvalidParameterError: a key or value SNS refuses.
        ValueError: more than 50 tags (SNS's ``TagLimitExceeded``, raised as a plain ValueError
            with SNS's message so that callers can tell it apart).
    """
    for key, value in tags.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
            raise InvalidParameterError(f"Invalid parameter: Tags Reason: invalid tag key {key!r}")
        if not isinstance(value, str) or len(value) > 256:
            raise InvalidParameterError(f"Invalid parameter: Tags Reason: invalid tag value for key {key!r}")
    if len(tags) > MAX_TAGS:
        raise ValueError("Could not complete request: tag quota of per resource exceeded")
