"""A topic subscription's attributes: checked as SNS checks them, kept as the ``subscriptions`` table's columns.

:func:`check_new` reads Subscribe's arguments and :func:`column_for` one
SetSubscriptionAttributes value, raising SNS's ``InvalidParameter`` text for what SNS
refuses; :func:`read_row` turns a row back into a
:class:`~sluiceway.messaging.sns.Subscription`. Endpoints and dead-letter queues are
kept as ARNs in the store's region and account, whatever form the caller gave.

No SQL runs here: :class:`~sluiceway.backends.local.topics.SqliteTopic` owns the
transactions.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from ...messaging.delivery_policy import DeliveryPolicy
from ...messaging.errors import InvalidParameterError
from ...messaging.filter_policy import compile_filter_policy
from ...messaging.redrive import queue_arn, queue_name
from ...messaging.sns import PROTOCOLS, RAW_PROTOCOLS, SCOPES, Subscription, subscription_arn
from ._outbox import OUTBOX_ENDPOINT

__all__ = ["COLUMNS", "NewSubscription", "check_fifo_pairing", "check_new", "column_for", "read_row", "stored_delivery_policy"]

COLUMNS = (
    "s.id, s.topic, s.protocol, s.endpoint, s.raw_message_delivery, s.filter_policy,"
    " s.filter_policy_scope, s.delivery_policy, s.dead_letter_queue, s.secret, s.created_at"
)
"""The ``subscriptions`` columns :func:`read_row` reads, in its order (the table is ``s``)."""


@dataclass(frozen=True)
class NewSubscription:
    """Subscribe's arguments once SNS would accept them, as the table keeps them."""

    protocol: str
    endpoint: str
    """An ARN for ``sqs`` and ``lambda``; the address, URL or outbox otherwise."""
    raw_message_delivery: bool
    filter_policy: str | None
    """The FilterPolicy's JSON text, or None."""
    filter_policy_scope: str
    delivery_policy: DeliveryPolicy | None
    dead_letter_queue: str | None
    """The dead-letter queue's ARN, or None."""

    def same_as(self, existing: Subscription, secret: str | None) -> bool:
        """Whether subscribing again with these attributes returns ``existing`` (SNS's Subscribe is
        idempotent only for the same attributes; a secret not given matches any)."""
        wanted = (
            self.raw_message_delivery,
            self.filter_policy,
            self.filter_policy_scope if self.filter_policy else None,
            self.delivery_policy,
            self.dead_letter_queue,
        )
        have = (
            existing.raw_message_delivery,
            existing.filter_policy,
            existing.filter_policy_scope if existing.filter_policy else None,
            existing.delivery_policy,
            existing.dead_letter_queue,
        )
        return wanted == have and (secret is None or secret == existing.secret)


def check_new(
    protocol: str,
    endpoint: str,
    *,
    raw_message_delivery: bool,
    filter_policy: str | Mapping[str, Any] | None,
    filter_policy_scope: str | None,
    delivery_policy: DeliveryPolicy | Mapping[str, Any] | str | None,
    dead_letter_queue: str | None,
    secret: str | None,
    region: str,
    account_id: str,
) -> NewSubscription:
    """Check Subscribe's arguments as SNS does (see :meth:`SqliteTopic.subscribe`).

    Raises:
        InvalidParameterError: what SNS refuses, with SNS's message.
    """
    if protocol not in PROTOCOLS:
        raise InvalidParameterError(f"Invalid parameter: Amazon SNS does not support this protocol string: {protocol}")
    endpoint = _endpoint(protocol, endpoint, region=region, account_id=account_id)
    if raw_message_delivery and protocol not in RAW_PROTOCOLS:
        raise InvalidParameterError(
            f"Invalid parameter: Attributes Reason: Delivery protocol [{protocol}] does not support raw message delivery."
        )
    scope = filter_policy_scope or "MessageAttributes"
    if scope not in SCOPES:
        raise InvalidParameterError(
            f"Invalid parameter: Attributes Reason: FilterPolicyScope: Invalid value [{scope}]."
            " Please use either MessageBody or MessageAttributes"
        )
    policy_text: str | None = None
    if filter_policy is not None and filter_policy != "":
        policy_text = filter_policy if isinstance(filter_policy, str) else json.dumps(filter_policy)
        compile_filter_policy(policy_text, scope)
    delivery = _delivery_policy(protocol, delivery_policy)
    dead_letter = _dead_letter_arn(dead_letter_queue, region=region, account_id=account_id)
    if secret is not None and protocol not in ("http", "https"):
        raise InvalidParameterError("Invalid parameter: a signing secret is for http and https subscriptions")
    return NewSubscription(protocol, endpoint, raw_message_delivery, policy_text, scope, delivery, dead_letter)


def column_for(current: Subscription, name: str, value: str, *, region: str, account_id: str) -> tuple[str, Any]:
    """The column SetSubscriptionAttributes' ``name`` sets and the value it stores.

    Raises:
        InvalidParameterError: an unknown attribute or a value SNS refuses.
    """
    if name == "RawMessageDelivery":
        if value not in ("true", "false"):
            # SetSubscriptionAttributes names the attribute itself, where Subscribe says "Attributes Reason:".
            raise InvalidParameterError(f"Invalid parameter: RawMessageDelivery: Invalid value [{value}]. Must be true or false.")
        if value == "true" and current.protocol not in RAW_PROTOCOLS:
            raise InvalidParameterError(
                f"Invalid parameter: Attributes Reason: Delivery protocol [{current.protocol}] does not support raw message delivery."
            )
        return "raw_message_delivery", int(value == "true")
    if name == "FilterPolicy":
        if value:
            compile_filter_policy(value, current.filter_policy_scope, subscribe=False)
        return "filter_policy", value or None
    if name == "FilterPolicyScope":
        if value not in SCOPES:
            raise InvalidParameterError(
                f"Invalid parameter: Attributes Reason: FilterPolicyScope: Invalid value [{value}]."
                " Please use either MessageBody or MessageAttributes"
            )
        if current.filter_policy:
            compile_filter_policy(current.filter_policy, value, subscribe=False)
        return "filter_policy_scope", value
    if name == "DeliveryPolicy":
        return "delivery_policy", stored_delivery_policy(_delivery_policy(current.protocol, value))
    if name == "RedrivePolicy":
        return "dead_letter_queue", _dead_letter_arn(value, region=region, account_id=account_id)
    raise InvalidParameterError("Invalid parameter: AttributeName")


def check_fifo_pairing(topic_fifo: bool, protocol: str, endpoint: str, dead_letter_queue: str | None) -> None:
    """Check a subscription against its topic's kind as SNS does: a standard topic cannot feed a
    FIFO queue, and a FIFO queue subscribed to a FIFO topic needs a FIFO dead-letter queue.

    Raises:
        InvalidParameterError: SNS's texts (the first one repeats its prefix, as SNS's does).
    """
    if protocol != "sqs" or not endpoint.endswith(".fifo"):
        return
    if not topic_fifo:
        raise InvalidParameterError(
            "Invalid parameter: Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be subscribed to standard SNS topics"
        )
    if dead_letter_queue is not None and not dead_letter_queue.endswith(".fifo"):
        raise InvalidParameterError(
            "Invalid parameter: RedrivePolicy: must use a FIFO queue as DLQ for a FIFO Subscription to a FIFO Topic."
        )


def stored_delivery_policy(policy: DeliveryPolicy | None) -> str | None:
    """The ``delivery_policy`` column: SNS's DeliveryPolicy JSON, or None for the protocol's default."""
    return json.dumps(policy.to_aws()) if policy else None


def read_row(row: sqlite3.Row | tuple[Any, ...], arn_of: Callable[[str], str]) -> Subscription:
    """The subscription in a row of :data:`COLUMNS`; ``arn_of`` gives its topic's ARN."""
    (
        sub_id,
        topic,
        protocol,
        endpoint,
        raw,
        policy,
        scope,
        delivery,
        dead_letter,
        secret,
        created_at,
    ) = tuple(row)
    arn = arn_of(topic)
    return Subscription(
        arn=subscription_arn(arn, sub_id),
        topic=topic,
        topic_arn=arn,
        protocol=protocol,
        endpoint=endpoint,
        created_at=datetime.fromisoformat(created_at),
        raw_message_delivery=bool(raw),
        filter_policy=policy,
        filter_policy_scope=scope,
        delivery_policy=DeliveryPolicy.from_aws(delivery) if delivery else None,
        dead_letter_queue=dead_letter,
        secret=secret,
    )


def _endpoint(protocol: str, endpoint: str, *, region: str, account_id: str) -> str:
    if protocol == "outbox":
        return OUTBOX_ENDPOINT
    if not isinstance(endpoint, str) or not endpoint:
        raise InvalidParameterError("Invalid parameter: Endpoint")
    if protocol == "sqs":
        if endpoint.startswith("arn:") and ":sqs:" not in endpoint:
            raise InvalidParameterError("Invalid parameter: SQS endpoint ARN")
        return queue_arn(queue_name(endpoint), region=region, account_id=account_id)
    if protocol == "lambda":
        function = endpoint
        if ":function:" in endpoint:
            function = endpoint.split(":function:", 1)[1].split(":", 1)[0]
        elif endpoint.startswith("arn:"):
            raise InvalidParameterError("Invalid parameter: Lambda endpoint ARN")
        return f"arn:aws:lambda:{region}:{account_id}:function:{function}"
    if protocol in ("email", "email-json"):
        at = endpoint.find("@")
        if at < 1 or at == len(endpoint) - 1 or any(c.isspace() for c in endpoint):
            raise InvalidParameterError("Invalid parameter: Email address")
        return endpoint
    parts = urlsplit(endpoint)
    if parts.scheme != protocol or not parts.hostname:
        raise InvalidParameterError("Invalid parameter: Endpoint must match the specified protocol")
    return endpoint


def _delivery_policy(protocol: str, value: DeliveryPolicy | Mapping[str, Any] | str | None) -> DeliveryPolicy | None:
    if value is None or value == "":
        return None
    if protocol not in ("http", "https"):
        raise InvalidParameterError(
            "Invalid parameter: Attributes Reason: DeliveryPolicy: only HTTP/S subscriptions support custom delivery policies"
        )
    return value if isinstance(value, DeliveryPolicy) else DeliveryPolicy.from_aws(value)


def _dead_letter_arn(value: str | None, *, region: str, account_id: str) -> str | None:
    if value is None or value == "":
        return None
    from_json = isinstance(value, str) and value.startswith("{")
    if from_json:
        try:
            value = json.loads(value).get("deadLetterTargetArn")
        except (ValueError, AttributeError):
            value = None
    # SNS's RedrivePolicy (JSON) names its queue by ARN only; a bare name is the port's shorthand.
    if not isinstance(value, str) or (value.startswith("arn:") and ":sqs:" not in value) or (from_json and not value.startswith("arn:")):
        raise InvalidParameterError("Invalid parameter: RedrivePolicy: deadLetterTargetArn is an invalid arn")
    return queue_arn(queue_name(value), region=region, account_id=account_id)
