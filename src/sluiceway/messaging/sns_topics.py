"""SNS's topic attributes and tags, read and reported as SNS does.

CreateTopic and SetTopicAttributes take string attributes; :func:`check_topic_attribute`
checks one, and :func:`topic_attributes` builds GetTopicAttributes' map from the kept ones
and the defaults SNS reports (the default access policy, the effective delivery policy,
subscription counts). ``MaximumMessageSize`` bounds what Publish accepts; the rest is
kept as given (delivery-status logging, tracing and encryption only matter on AWS).

FIFO topics are not served locally: ``FifoTopic`` ``true`` is refused with SNS's
``InvalidParameter``, so a program finds out at creation rather than at its first publish.

Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from .delivery_policy import DeliveryPolicy
from .errors import InvalidParameterError
from .sns import MAX_MESSAGE_BYTES

__all__ = [
    "MAX_TAGS",
    "MIN_MESSAGE_BYTES",
    "TOPIC_MAX_MESSAGE_BYTES",
    "check_tags",
    "check_topic_attribute",
    "default_policy",
    "message_limit",
    "topic_attributes",
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


def check_topic_attribute(name: str, value: str, *, create: bool) -> str:
    """Return ``value`` if SNS accepts it for topic attribute ``name``.

    Args:
        create: CreateTopic's attributes (``FifoTopic`` may be given) rather than SetTopicAttributes'.

    Raises:
        InvalidParameterError: an unknown attribute or a value SNS refuses.
    """
    if not isinstance(value, str):
        raise _invalid(name, "must be a string")
    if name in ("FifoTopic", "ContentBasedDeduplication", "ArchivePolicy", "FifoThroughputScope"):
        if name == "FifoTopic" and create and value.lower() == "false":
            return value.lower()
        raise InvalidParameterError(f"Invalid parameter: Attributes Reason: {name}: FIFO topics are not supported by the local stack")
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
