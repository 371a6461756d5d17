"""SNS on the endpoint (query protocol): topics, subscriptions and publishing over ``ctx.stack.local.topics``.

A publish here is the same durable publish the CLI and functions make: the message and
one delivery row per matching subscription commit together, and the stack's deliverer
hands them to queues (the envelope or, with raw delivery, the message), functions (SNS's
Lambda event), mail and webhooks, retrying as SNS does.

Differences from SNS, each because the local stack has no one to confirm with or no
such service:

* every subscription is confirmed at once, so Subscribe answers its ARN whatever the
  protocol (SNS answers ``pending confirmation`` for email and HTTP/S until the
  subscriber confirms) and ConfirmSubscription has no token to accept;
* SMS is refused with SNS's ``InvalidParameter``;
* each topic has Sluiceway's ``outbox`` subscription (it feeds ``sluiceway outbox`` and
  the dashboard); it is not an SNS protocol, so listings and counts leave it out.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from ...errors import NotFoundError
from ...messaging import limits
from ...messaging.errors import InvalidMessageError, InvalidParameterError, ParameterValueInvalidError
from ...messaging.sns import MessageAttribute, Subscription, check_message, message_attributes, message_structure, topic_name
from ...messaging.sns_topics import fifo_publish, message_limit
from ..context import Context, Handler, Operations
from ..errors import AwsError

if TYPE_CHECKING:
    from ...backends.local.topics import SqliteTopic

__all__ = ["OPERATIONS"]

OPERATIONS = Operations("sns")

_PAGE: Final = 100
"""ListTopics and ListSubscriptions give 100 per page."""
_MAX_BATCH_BYTES: Final = 262_144
"""PublishBatch: all messages together (256 KiB)."""
_SUBSCRIBE_ATTRIBUTES: Final = frozenset({"DeliveryPolicy", "FilterPolicy", "FilterPolicyScope", "RawMessageDelivery", "RedrivePolicy"})
_OUTBOX: Final = "outbox"
_ARN_PARTS: Final = 6
_MAX_BATCH_ID: Final = 80
_BATCH_ID_CHAR: Final = re.compile(r"[^A-Za-z0-9_-]")


def _not_found(what: str) -> AwsError:
    return AwsError("NotFound", f"{what} does not exist", 404)


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidParameter", message, 400)


@contextmanager
def _sns_errors(missing: str = "Topic") -> Iterator[None]:
    try:
        yield
    except NotFoundError:
        raise _not_found(missing) from None
    except InvalidParameterError as exc:
        raise AwsError(exc.code, str(exc), 400) from None
    except InvalidMessageError as exc:
        raise _invalid(str(exc)) from None
    except ValueError as exc:
        raise _invalid(f"Invalid parameter: {exc}") from None


def _operation(name: str, missing: str = "Topic") -> Callable[[Handler], Handler]:
    """Register an operation whose backend errors answer as SNS's (``missing`` names what NotFound is about)."""

    def register(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def run(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
            with _sns_errors(missing):
                return handler(ctx, params)

        return OPERATIONS(name)(run)

    return register


def _topics(ctx: Context) -> SqliteTopic:
    return ctx.stack.local.topics


def _arn(params: Mapping[str, Any], member: str) -> list[str]:
    """The colon-separated parts of an ARN parameter, checked as SNS checks them before any lookup."""
    arn = params.get(member)
    if arn is None:
        raise _invalid(f"Invalid parameter: {member} Reason: no value for required parameter")
    parts = str(arn).split(":")
    if len(parts) < _ARN_PARTS:
        raise _invalid(f"Invalid parameter: {member} Reason: An ARN must have at least {_ARN_PARTS} elements, not {len(parts)}")
    return parts


def _topic(params: Mapping[str, Any], member: str = "TopicArn") -> str:
    """The topic a request's ARN names (SNS takes ARNs only, never bare names)."""
    parts = _arn(params, member)
    if parts[0] != "arn" or parts[2] != "sns" or len(parts) != _ARN_PARTS:
        raise _invalid(f"Invalid parameter: {member}")
    return topic_name(":".join(parts))


def _subscription(params: Mapping[str, Any]) -> str:
    """The subscription ARN a request names: its topic's ARN and an id (SNS says which part is wrong)."""
    parts = _arn(params, "SubscriptionArn")
    if len(parts) == _ARN_PARTS:  # a topic's ARN: the subscription id is missing
        raise _invalid("Invalid parameter: SubscriptionId")
    if parts[0] != "arn" or parts[2] != "sns" or len(parts) != _ARN_PARTS + 1:
        raise _invalid("Invalid parameter: SubscriptionArn")
    return ":".join(parts)


def _exists(topics: SqliteTopic, name: str) -> None:
    topics.topic_attributes(name)  # NotFoundError for a topic that does not exist


def _token(after: str) -> str:
    return base64.b64encode(json.dumps({"after": after}).encode()).decode()


def _after(token: Any) -> str:
    if not token:
        return ""
    try:
        after = json.loads(base64.b64decode(token, validate=True))["after"]
    except (ValueError, KeyError, TypeError):
        raise _invalid("Invalid parameter: NextToken") from None
    if not isinstance(after, str):
        raise _invalid("Invalid parameter: NextToken")
    return after


# ----------------------------------------------------------------------------- topics


@_operation("CreateTopic")
def create_topic(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    tags = _tags(params.get("Tags"))
    info = _topics(ctx).create_topic(params["Name"], attributes=params.get("Attributes") or {}, tags=tags)
    return {"TopicArn": info.arn}


def _tags(raw: Sequence[Mapping[str, str]] | None) -> dict[str, str]:
    tags = {t["Key"]: t.get("Value", "") for t in raw or ()}
    if len(tags) != len(raw or ()):
        raise _invalid("Invalid parameter: Duplicated keys are not allowed.")
    return tags


@_operation("DeleteTopic")
def delete_topic(ctx: Context, params: dict[str, Any]) -> None:
    _topics(ctx).delete_topic(_topic(params))


@_operation("ListTopics")
def list_topics(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    after = _after(params.get("NextToken"))
    names = [t for t in _topics(ctx).list_topics() if t.name > after]
    out: dict[str, Any] = {"Topics": [{"TopicArn": t.arn} for t in names[:_PAGE]]}
    if len(names) > _PAGE:
        out["NextToken"] = _token(names[_PAGE - 1].name)
    return out


@_operation("GetTopicAttributes")
def get_topic_attributes(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"Attributes": _topics(ctx).topic_attributes(_topic(params))}


@_operation("SetTopicAttributes")
def set_topic_attributes(ctx: Context, params: dict[str, Any]) -> None:
    _topics(ctx).set_topic_attribute(_topic(params), params["AttributeName"], params.get("AttributeValue") or "")


@_operation("AddPermission")
def add_permission(ctx: Context, params: dict[str, Any]) -> None:
    """A statement named ``Label`` in the topic's ``Policy`` (kept and reported; the local stack has no IAM)."""
    topics = _topics(ctx)
    name = _topic(params)
    policy = json.loads(topics.topic_attributes(name)["Policy"])
    label = params["Label"]
    if any(s.get("Sid") == label for s in policy.get("Statement", [])):
        raise _invalid("Invalid parameter: Statement already exists")
    accounts = params.get("AWSAccountId") or []
    actions = params.get("ActionName") or []
    policy.setdefault("Statement", []).append(
        {
            "Sid": label,
            "Effect": "Allow",
            # As in SNS's policies, a single principal or action is a string, not a list.
            "Principal": {"AWS": _one_or_list([f"arn:aws:iam::{a}:root" for a in accounts])},
            "Action": _one_or_list([f"SNS:{a}" for a in actions]),
            "Resource": topics.topic_arn(name),
        }
    )
    topics.set_topic_attribute(name, "Policy", json.dumps(policy))


def _one_or_list(values: list[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else values


@_operation("RemovePermission")
def remove_permission(ctx: Context, params: dict[str, Any]) -> None:
    topics = _topics(ctx)
    name = _topic(params)
    policy = json.loads(topics.topic_attributes(name)["Policy"])
    # A label the policy does not have removes nothing and succeeds, as in SNS.
    policy["Statement"] = [s for s in policy.get("Statement", []) if s.get("Sid") != params["Label"]]
    topics.set_topic_attribute(name, "Policy", json.dumps(policy))


# ---------------------------------------------------------------------- subscriptions


@_operation("Subscribe")
def subscribe(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    protocol = params["Protocol"]
    if protocol == _OUTBOX or protocol not in ("sqs", "lambda", "email", "email-json", "http", "https"):
        raise _invalid(f"Invalid parameter: Amazon SNS does not support this protocol string: {protocol}")
    topic = _topic(params)
    topics = _topics(ctx)
    _exists(topics, topic)  # SNS answers NotFound for a missing topic before it looks at the endpoint
    if protocol == "sqs" and not str(params.get("Endpoint") or "").startswith("arn:"):
        # SNS names queues by ARN only (the port also takes names and URLs).
        raise _invalid("Invalid parameter: SQS endpoint ARN")
    attributes = dict(params.get("Attributes") or {})
    unknown = sorted(set(attributes) - _SUBSCRIBE_ATTRIBUTES)
    if unknown:
        raise _invalid(f"Invalid parameter: Attributes Reason: Unknown attribute {unknown[0]}")
    raw = attributes.get("RawMessageDelivery", "false")
    if raw.lower() not in ("true", "false"):
        raise _invalid(f"Invalid parameter: Attributes Reason: RawMessageDelivery: Invalid value [{raw}]. Must be true or false.")
    endpoint = params.get("Endpoint") or ""
    existing = next((s for s in topics.list_subscriptions(topic) if s.protocol == protocol and s.endpoint == endpoint), None)
    options: dict[str, Any] = {}
    if existing is not None:
        # Subscribing again compares only the attributes given: the others keep the subscription's values.
        options = {
            "raw_message_delivery": existing.raw_message_delivery,
            "filter_policy": existing.filter_policy,
            "filter_policy_scope": existing.filter_policy_scope,
            "delivery_policy": existing.delivery_policy,
            "dead_letter_queue": existing.dead_letter_queue,
        }
    given = {
        "RawMessageDelivery": ("raw_message_delivery", raw.lower() == "true"),
        "FilterPolicy": ("filter_policy", attributes.get("FilterPolicy")),
        "FilterPolicyScope": ("filter_policy_scope", attributes.get("FilterPolicyScope")),
        "DeliveryPolicy": ("delivery_policy", attributes.get("DeliveryPolicy")),
        "RedrivePolicy": ("dead_letter_queue", attributes.get("RedrivePolicy")),
    }
    for attribute, (option, value) in given.items():
        if attribute in attributes or existing is None:
            options[option] = value
    sub = topics.subscribe(topic, protocol, endpoint, **options)
    return {"SubscriptionArn": sub.arn}


@_operation("ConfirmSubscription")
def confirm_subscription(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    # Local subscriptions are confirmed when made, so no confirmation token is ever issued.
    _exists(_topics(ctx), _topic(params))
    raise _invalid("Invalid token")


@_operation("Unsubscribe", missing="Subscription")
def unsubscribe(ctx: Context, params: dict[str, Any]) -> None:
    topics = _topics(ctx)
    sub = topics.get_subscription(_subscription(params))
    if sub.protocol == _OUTBOX:
        raise _not_found("Subscription")
    topics.unsubscribe(sub.arn)


def _listing(subs: list[Subscription], account_id: str, token: Any) -> dict[str, Any]:
    after = _after(token)
    visible = [s for s in subs if s.protocol != _OUTBOX and s.arn > after]
    visible.sort(key=lambda s: s.arn)
    out: dict[str, Any] = {
        "Subscriptions": [
            {
                "SubscriptionArn": s.arn,
                "Owner": account_id,
                "Protocol": s.protocol,
                "Endpoint": s.endpoint,
                "TopicArn": s.topic_arn,
            }
            for s in visible[:_PAGE]
        ]
    }
    if len(visible) > _PAGE:
        out["NextToken"] = _token(visible[_PAGE - 1].arn)
    return out


@_operation("ListSubscriptions")
def list_subscriptions(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    topics = _topics(ctx)
    return _listing(topics.list_subscriptions(), topics.account_id, params.get("NextToken"))


@_operation("ListSubscriptionsByTopic")
def list_subscriptions_by_topic(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    topics = _topics(ctx)
    name = _topic(params)
    _exists(topics, name)
    return _listing(topics.list_subscriptions(name), topics.account_id, params.get("NextToken"))


@_operation("GetSubscriptionAttributes", missing="Subscription")
def get_subscription_attributes(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    topics = _topics(ctx)
    sub = topics.get_subscription(_subscription(params))
    if sub.protocol == _OUTBOX:
        raise _not_found("Subscription")
    attributes = sub.attributes()
    attributes["Owner"] = topics.account_id
    # Who subscribed: the local stack's one caller (STS's GetCallerIdentity answers the same ARN).
    attributes["SubscriptionPrincipal"] = f"arn:aws:iam::{topics.account_id}:root"
    if sub.protocol in ("http", "https"):
        # SNS reports an effective delivery policy for HTTP/S subscriptions only (it fixes the
        # others' retries), with the policy parts that do not apply locally as null.
        effective = {**sub.effective_delivery_policy.to_aws(), "sicklyRetryPolicy": None, "throttlePolicy": None, "guaranteed": False}
        attributes["EffectiveDeliveryPolicy"] = json.dumps(effective)
    return {"Attributes": attributes}


@_operation("SetSubscriptionAttributes", missing="Subscription")
def set_subscription_attributes(ctx: Context, params: dict[str, Any]) -> None:
    topics = _topics(ctx)
    sub = topics.get_subscription(_subscription(params))
    if sub.protocol == _OUTBOX:
        raise _not_found("Subscription")
    topics.set_subscription_attribute(sub.arn, params["AttributeName"], params.get("AttributeValue") or "")


# --------------------------------------------------------------------------- publish


def _attributes(raw: Mapping[str, Mapping[str, Any]] | None, path: str) -> dict[str, MessageAttribute]:
    """SNS's MessageAttributeValue shapes as typed attributes (binary values carried in base64).

    Args:
        path: where the attributes are in the request, as SNS's validation errors name it.

    Raises:
        AwsError: ``ValidationError`` for an attribute without a data type.
        ParameterValueInvalidError: a value in the wrong field for its type, or an empty one.
    """
    out: dict[str, MessageAttribute] = {}
    for name, value in (raw or {}).items():
        data_type = value.get("DataType")
        if data_type is None:
            raise AwsError(
                "ValidationError",
                f"1 validation error detected: Value null at '{path}.{name}.member.dataType' failed to satisfy"
                " constraint: Member must not be null",
                400,
            )
        base = str(data_type).split(".", 1)[0]
        string, binary = value.get("StringValue"), value.get("BinaryValue")
        if base == "Binary":
            if binary is None and string is not None:
                raise ParameterValueInvalidError(f"The message attribute '{name}' with type 'Binary' must use field 'Binary'.")
            data = bytes(binary) if isinstance(binary, bytes | bytearray) else b""
            out[name] = MessageAttribute(data_type, base64.b64encode(data).decode("ascii"))
        else:
            if base in ("String", "Number") and string is None and binary is not None:
                raise ParameterValueInvalidError(f"The message attribute '{name}' with type '{base}' must use field 'String'.")
            out[name] = MessageAttribute(data_type, string if isinstance(string, str) else "")
    return out


@dataclass(frozen=True)
class _Publication:
    """One message of a Publish or PublishBatch, checked and ready for the topic."""

    message: str
    subject: str | None
    attributes: dict[str, MessageAttribute]
    structure: dict[str, str] | None
    group_id: str | None
    dedup_id: str | None


def _prepare(entry: Mapping[str, Any], topic: Mapping[str, str], path: str) -> _Publication:
    """Check one message as SNS does before anything is published.

    Args:
        topic: the topic's attributes (its kind and limit).

    Raises:
        AwsError, InvalidParameterError: what SNS refuses, with its codes and texts.
    """
    message = entry.get("Message")
    if not isinstance(message, str):
        raise _invalid("Invalid parameter: Message")
    attributes = message_attributes(_attributes(entry.get("MessageAttributes"), path))
    structure = None
    kind = entry.get("MessageStructure")
    if kind is not None:
        if kind != "json":
            raise _invalid("Invalid parameter: MessageStructure")
        structure = message_structure(message)
    group, dedup = entry.get("MessageGroupId"), entry.get("MessageDeduplicationId")
    published = structure["default"] if structure else message
    fifo_publish(topic, published, group, dedup)  # the topic's kind decides which ids it takes
    # Standard topics take a group id for SQS fair queues (same rules as FIFO topics').
    for parameter, value in (("MessageGroupId", group), ("MessageDeduplicationId", dedup)):
        if value is not None:
            limits.check_message_id_field(parameter, value)
    subject = entry.get("Subject")
    check_message(message, subject, attributes, limit=message_limit(topic))
    return _Publication(published, subject, attributes, structure, group, dedup)


def _publish(topics: SqliteTopic, name: str, publication: _Publication) -> dict[str, Any]:
    """Publish's answer: ``MessageId`` and, on a FIFO topic, ``SequenceNumber``."""
    result = topics.publish_message(
        name,
        publication.message,
        subject=publication.subject,
        attributes=publication.attributes,
        structure=publication.structure,
        group_id=publication.group_id,
        dedup_id=publication.dedup_id,
        auto_create=False,
    )
    out = {"MessageId": result.message_id}
    if result.sequence_number is not None:
        out["SequenceNumber"] = result.sequence_number
    return out


@_operation("Publish")
def publish(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    if params.get("PhoneNumber") is not None:
        raise _invalid("Invalid parameter: PhoneNumber Reason: SMS is not served by the local stack")
    target = "TopicArn" if params.get("TopicArn") is not None else "TargetArn"
    if params.get(target) is None:
        raise _invalid("Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter")
    topics = _topics(ctx)
    name = _topic(params, target)
    publication = _prepare(params, topics.topic_attributes(name), "messageAttributes")
    return _publish(topics, name, publication)


@_operation("PublishBatch")
def publish_batch(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    topics = _topics(ctx)
    name = _topic(params)
    entries = params.get("PublishBatchRequestEntries") or []
    _check_batch(entries)
    topic = topics.topic_attributes(name)  # NotFound for a topic that does not exist
    # SNS refuses the whole request for the first entry it would refuse, before publishing any.
    prepared = [
        _prepare(entry, topic, f"publishBatchRequestEntries.{n}.member.messageAttributes") for n, entry in enumerate(entries, start=1)
    ]
    successful: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for entry, publication in zip(entries, prepared, strict=True):
        try:
            with _sns_errors():
                successful.append({"Id": entry["Id"], **_publish(topics, name, publication)})
        except AwsError as error:
            if error.code == "NotFound":  # the topic went away meanwhile: the whole request fails
                raise
            failed.append({"Id": entry["Id"], "Code": error.code, "Message": error.message, "SenderFault": error.sender_fault})
    return {"Successful": successful, "Failed": failed}


def _check_batch(entries: Sequence[Mapping[str, Any]]) -> None:
    """SNS's batch rules, with SNS's codes and messages."""
    if not entries:
        raise AwsError("EmptyBatchRequest", "The batch request doesn't contain any entries.", 400)
    if len(entries) > limits.MAX_BATCH_ENTRIES:
        raise AwsError("TooManyEntriesInBatchRequest", "The batch request contains more entries than permissible.", 400)
    ids = [str(e.get("Id", "")) for e in entries]
    if len(set(ids)) != len(ids):
        raise AwsError("BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the same Id.", 400)
    for entry_id in ids:
        if len(entry_id) > _MAX_BATCH_ID:
            raise AwsError("InvalidBatchEntryId", f"The Id of a batch entry in the batch request is too long: {entry_id}", 400)
        if not entry_id or _BATCH_ID_CHAR.search(entry_id):
            raise AwsError(
                "InvalidBatchEntryId", f"The Id of a batch entry in the batch request contains an impermissible character: {entry_id}", 400
            )
    # Attributes count as in Publish: each name, data type and value.
    total = sum(_entry_size(e) for e in entries)
    if total > _MAX_BATCH_BYTES:
        raise AwsError("BatchRequestTooLong", "The length of all the messages put together is more than the limit.", 400)


def _entry_size(entry: Mapping[str, Any]) -> int:
    size = len(str(entry.get("Message", "")).encode("utf-8"))
    for name, value in (entry.get("MessageAttributes") or {}).items():
        size += len(str(name).encode("utf-8")) + len(str(value.get("DataType", "")).encode("utf-8"))
        binary = value.get("BinaryValue")
        size += len(binary) if isinstance(binary, bytes | bytearray) else len(str(value.get("StringValue", "")).encode("utf-8"))
    return size


# ------------------------------------------------------------------------------- tags


def _resource(params: Mapping[str, Any]) -> str:
    arn = params.get("ResourceArn")
    if not isinstance(arn, str) or not arn.startswith("arn:") or ":sns:" not in arn:
        raise AwsError("ResourceNotFound", "Resource does not exist", 404)
    return topic_name(arn)


@contextmanager
def _resource_errors() -> Iterator[None]:
    try:
        yield
    except NotFoundError:
        raise AwsError("ResourceNotFound", "Resource does not exist", 404) from None
    except InvalidParameterError as exc:
        raise _invalid(str(exc)) from None
    except ValueError as exc:  # more than 50 tags
        raise AwsError("TagLimitExceeded", str(exc), 400) from None


@OPERATIONS("TagResource")
def tag_resource(ctx: Context, params: dict[str, Any]) -> None:
    with _resource_errors():
        _topics(ctx).tag_topic(_resource(params), _tags(params.get("Tags")))


@OPERATIONS("UntagResource")
def untag_resource(ctx: Context, params: dict[str, Any]) -> None:
    with _resource_errors():
        _topics(ctx).untag_topic(_resource(params), list(params.get("TagKeys") or []))


@OPERATIONS("ListTagsForResource")
def list_tags_for_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    with _resource_errors():
        tags = _topics(ctx).topic_tags(_resource(params))
    return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}
