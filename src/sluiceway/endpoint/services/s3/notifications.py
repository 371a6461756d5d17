"""S3's notification configuration: PutBucketNotificationConfiguration and GetBucketNotificationConfiguration.

A configuration replaces the bucket's whole previous one (an empty one turns everything
off, EventBridge included). S3 checks it before storing it: known event types, prefix
and suffix rules at most once each, no two destinations of one event type whose filters
overlap, and destinations that exist (unless ``SkipDestinationValidation``); then it sends
``s3:TestEvent`` to each queue and topic named.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Final

from ....backends.local.bucket_config import Destination, NotificationConfig
from ....errors import NotFoundError
from ...context import Context
from ...errors import AwsError
from ._common import OPERATIONS, must_bucket

logger = logging.getLogger(__name__)

#: Each kind of configuration: its member in NotificationConfiguration, and the member naming its destination.
_KINDS: Final = (
    ("topic", "TopicConfigurations", "TopicArn"),
    ("queue", "QueueConfigurations", "QueueArn"),
    ("lambda", "LambdaFunctionConfigurations", "LambdaFunctionArn"),
)
_EVENTS: Final = frozenset(
    {
        "s3:ReducedRedundancyLostObject",
        "s3:ObjectCreated:*",
        "s3:ObjectCreated:Put",
        "s3:ObjectCreated:Post",
        "s3:ObjectCreated:Copy",
        "s3:ObjectCreated:CompleteMultipartUpload",
        "s3:ObjectRemoved:*",
        "s3:ObjectRemoved:Delete",
        "s3:ObjectRemoved:DeleteMarkerCreated",
        "s3:ObjectRestore:*",
        "s3:ObjectRestore:Post",
        "s3:ObjectRestore:Completed",
        "s3:ObjectRestore:Delete",
        "s3:Replication:*",
        "s3:Replication:OperationFailedReplication",
        "s3:Replication:OperationNotTracked",
        "s3:Replication:OperationMissedThreshold",
        "s3:Replication:OperationReplicatedAfterThreshold",
        "s3:LifecycleTransition",
        "s3:IntelligentTiering",
        "s3:ObjectAcl:Put",
        "s3:LifecycleExpiration:*",
        "s3:LifecycleExpiration:Delete",
        "s3:LifecycleExpiration:DeleteMarkerCreated",
        "s3:ObjectTagging:*",
        "s3:ObjectTagging:Put",
        "s3:ObjectTagging:Delete",
    }
)


def _invalid(message: str, name: str | None = None, value: str | None = None) -> AwsError:
    fields = {"ArgumentName": name, "ArgumentValue": value} if name is not None and value is not None else None
    return AwsError("InvalidArgument", message, 400, fields={k: v for k, v in (fields or {}).items() if v is not None})


@OPERATIONS("PutBucketNotificationConfiguration")
def put_bucket_notification_configuration(ctx: Context, params: dict[str, Any]) -> None:
    bucket: str = params["Bucket"]
    backend = must_bucket(ctx, bucket)
    given: Mapping[str, Any] = params.get("NotificationConfiguration") or {}
    destinations = tuple(_destinations(given))
    _check_overlaps(destinations)
    if not params.get("SkipDestinationValidation"):
        missing = [d.arn for d in destinations if not _exists(ctx, d)]
        if missing:
            raise AwsError(
                "InvalidArgument",
                "Unable to validate the following destination configurations",
                400,
                fields={"ArgumentName": missing[0], "ArgumentValue": "The destination is not found"},
            )
    config = NotificationConfig(
        eventbridge="EventBridgeConfiguration" in given and given["EventBridgeConfiguration"] is not None, destinations=destinations
    )
    backend.configs.set_notification(bucket, config, region=ctx.stack.settings.region, now=ctx.stack.local.clock.now())
    backend.notifier.send_test_events(bucket, destinations, request_id=ctx.request_id)
    logger.info(
        "bucket notification configuration put",
        extra={"bucket": bucket, "eventbridge": config.eventbridge, "destinations": len(destinations)},
    )


def _destinations(given: Mapping[str, Any]) -> Iterable[Destination]:
    for kind, member, arn_member in _KINDS:
        for item in given.get(member) or []:
            arn = item.get(arn_member)
            if not arn:
                raise _invalid(f"{arn_member} is required", arn_member, "")
            events = list(item.get("Events") or [])
            if not events:
                raise _invalid("At least one event must be specified", "Event", "")
            for event in events:
                if event not in _EVENTS:
                    raise _invalid("The event is not supported for notifications", "Event", str(event))
            prefix, suffix = _filter(item.get("Filter"))
            yield Destination(
                kind=kind,
                id=str(item.get("Id") or _generated_id()),
                arn=str(arn),
                events=tuple(str(e) for e in events),
                prefix=prefix,
                suffix=suffix,
            )


def _generated_id() -> str:
    # S3 names a configuration given without an Id with a random string of its own.
    return uuid.uuid4().hex


def _filter(given: Mapping[str, Any] | None) -> tuple[str, str]:
    rules = ((given or {}).get("Key") or {}).get("FilterRules") or []
    found: dict[str, str] = {}
    for rule in rules:
        name = str(rule.get("Name") or "").lower()
        if name not in ("prefix", "suffix"):
            raise _invalid("FilterRule name must be either prefix or suffix", "FilterRule", str(rule.get("Name")))
        if name in found:
            raise _invalid(f"Cannot specify more than one {name} rule in a filter.", "FilterRule", name)
        found[name] = str(rule.get("Value") or "")
    return found.get("prefix", ""), found.get("suffix", "")


def _check_overlaps(destinations: tuple[Destination, ...]) -> None:
    """S3 refuses two configurations that would both get one event of one object."""
    for i, first in enumerate(destinations):
        for second in destinations[i + 1 :]:
            if not _events_overlap(first.events, second.events):
                continue
            prefixes = first.prefix.startswith(second.prefix) or second.prefix.startswith(first.prefix)
            suffixes = first.suffix.endswith(second.suffix) or second.suffix.endswith(first.suffix)
            if prefixes and suffixes:
                raise _invalid(
                    "Configuration is ambiguously defined. Cannot have overlapping suffixes in two rules if the prefixes"
                    " are overlapping for the same event type.",
                    "Event",
                    first.events[0],
                )


def _events_overlap(first: tuple[str, ...], second: tuple[str, ...]) -> bool:
    def covers(a: str, b: str) -> bool:
        return a == b or (a.endswith(":*") and b.startswith(a[:-1]))

    return any(covers(a, b) or covers(b, a) for a in first for b in second)


def _exists(ctx: Context, destination: Destination) -> bool:
    parts = destination.arn.split(":")
    name = parts[-1]
    if destination.kind == "lambda":
        return ctx.stack.invoker.resolve(destination.arn) is not None
    if len(parts) != 6 or parts[2] != ("sqs" if destination.kind == "queue" else "sns"):
        return False
    if destination.kind == "queue":
        if name.endswith(".fifo"):
            return False  # S3 cannot send to FIFO queues
        try:
            ctx.stack.local.queues.queue_attributes(name)
        except NotFoundError:
            return False
        return True
    return any(t.name == name for t in ctx.stack.local.topics.list_topics())


@OPERATIONS("GetBucketNotificationConfiguration")
def get_bucket_notification_configuration(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bucket: str = params["Bucket"]
    backend = must_bucket(ctx, bucket)
    config = backend.configs.get(bucket)
    answer: dict[str, Any] = {}
    if config is None:
        # A bucket made by a write, not by CreateBucket: EventBridge has always been on for it.
        answer["EventBridgeConfiguration"] = {}
        return answer
    for kind, member, arn_member in _KINDS:
        items = [_item(d, arn_member) for d in config.notification.destinations if d.kind == kind]
        if items:
            answer[member] = items
    if config.notification.eventbridge:
        answer["EventBridgeConfiguration"] = {}
    return answer


def _item(destination: Destination, arn_member: str) -> dict[str, Any]:
    item: dict[str, Any] = {"Id": destination.id, arn_member: destination.arn, "Events": list(destination.events)}
    rules = [{"Name": n, "Value": v} for n, v in (("Prefix", destination.prefix), ("Suffix", destination.suffix)) if v]
    if rules:
        item["Filter"] = {"Key": {"FilterRules": rules}}
    return item
