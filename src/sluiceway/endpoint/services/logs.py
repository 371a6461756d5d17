"""Amazon CloudWatch Logs (json protocol, ``Logs_20140328.*``) on the local log store.

Functions' output lands in ``/aws/lambda/<function name>`` as they run (the invoker writes
it); clients create groups and streams and put events of their own. Reading follows AWS:
GetLogEvents' forward and backward tokens, FilterLogEvents' filter patterns
(:mod:`._logs_filter`) and pagination, DescribeLogStreams' ordering. The metric filter
operations are :mod:`._logs_metric_filters`', the subscription filter operations
:mod:`._logs_subscription_filters`', the account policy operations :mod:`._logs_account_policies`'
(imported here, which registers them).
"""

from __future__ import annotations

import re
from typing import Any

from ...backends.local.logs import LogStream
from ...errors import ConflictError, NotFoundError
from ..context import Context
from ..errors import AwsError
from . import _logs_account_policies, _logs_metric_filters, _logs_subscription_filters  # noqa: F401 - registers them
from ._logs_common import (
    _MAX_NAME,
    _TOO_LONG,
    OPERATIONS,
    _decode,
    _encode,
    _group_name,
    _invalid,
    _limit,
    _no_group,
    _store,
)
from ._logs_filter import FilterPatternError, compile_filter

__all__ = ["OPERATIONS"]

MAX_BATCH_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD_BYTES = 26
"""CloudWatch counts each event's message bytes plus 26 against the batch limit."""
TOO_NEW_MS = 2 * 3600 * 1000
TOO_OLD_MS = 14 * 24 * 3600 * 1000
_SCAN_BUDGET = 10_000
"""FilterLogEvents looks at this many events per call at most, then answers with a nextToken."""
_STREAM_NAME = re.compile(r"^[^:*]+$")


def _no_stream() -> AwsError:
    return AwsError("ResourceNotFoundException", "The specified log stream does not exist.")


def _group(params: dict[str, Any], *, required: bool = True) -> str:
    name = params.get("logGroupName")
    identifier = params.get("logGroupIdentifier")
    if name and identifier:
        raise AwsError("ValidationException", "LogGroup name and LogGroup ARN are mutually exclusive parameters.")
    if identifier:
        name = _identified_group(identifier)
    if not name:
        if required:
            raise _invalid("Should provide either a log group name or a log group ARN.")
        return ""
    return _group_name(name)


def _identified_group(identifier: str) -> str:
    """The group a ``logGroupIdentifier`` names: a name or the ARN DescribeLogGroups calls ``logGroupArn``."""
    if "*" in identifier:
        # The ARN ending in ":*" (DescribeLogGroups' ``arn``) is refused, and AWS's message leaves the value out.
        raise _invalid(
            "1 validation error detected: Value at 'logGroupIdentifier' failed to satisfy constraint:"
            r" Member must satisfy regular expression pattern: [\w#+=/:,.@-]*"
        )
    if not identifier.startswith("arn:"):
        return identifier
    # arn:<partition>:logs:<region>:<account>:log-group:<name>
    parts = identifier.split(":", 5)
    if len(parts) < 6 or parts[2] != "logs" or not parts[5].startswith("log-group:"):
        raise _invalid(f"Invalid log group identifier: {identifier}")
    return parts[5][len("log-group:") :]


def _stream_name(name: str) -> str:
    if len(name) > _MAX_NAME:
        raise _invalid(_TOO_LONG)
    if not _STREAM_NAME.match(name):
        raise _invalid(
            f"1 validation error detected: Value '{name}' at 'logStreamName' failed to satisfy constraint:"
            r" Member must satisfy regular expression pattern: [^:*]*"
        )
    return name


def _group_arn(ctx: Context, name: str) -> str:
    return ctx.stack.settings.arn("logs", f"log-group:{name}")


# -- groups and streams --------------------------------------------------------------------


@OPERATIONS("CreateLogGroup")
def create_log_group(ctx: Context, params: dict[str, Any]) -> None:
    name = _group(params)
    tags = _valid_tags(params.get("tags"))
    try:
        _store(ctx).create_group(name, tags=tags, kms_key_id=params.get("kmsKeyId"))
    except ConflictError:
        raise AwsError("ResourceAlreadyExistsException", "The specified log group already exists") from None


@OPERATIONS("DeleteLogGroup")
def delete_log_group(ctx: Context, params: dict[str, Any]) -> None:
    name = _group(params)
    store = _store(ctx)
    if not store.has_group(name):
        raise _no_group()
    # The group's metric and subscription filters go with it, first: a crash between the two deletes leaves a
    # group without filters, never filters that come back with a group made again under its name.
    _logs_metric_filters.metric_filters(ctx).delete_group(name)
    _logs_subscription_filters.subscription_filters(ctx).delete_group(name)
    try:
        store.delete_group(name)
    except NotFoundError:
        raise _no_group() from None


@OPERATIONS("CreateLogStream")
def create_log_stream(ctx: Context, params: dict[str, Any]) -> None:
    group, stream = _group(params), _stream_name(params["logStreamName"])
    try:
        _store(ctx).create_stream(group, stream)
    except NotFoundError:
        raise _no_group() from None
    except ConflictError:
        raise AwsError("ResourceAlreadyExistsException", "The specified log stream already exists") from None


@OPERATIONS("DeleteLogStream")
def delete_log_stream(ctx: Context, params: dict[str, Any]) -> None:
    group, stream = _group(params), _stream_name(params["logStreamName"])
    store = _store(ctx)
    if not store.has_group(group):
        raise _no_group()
    try:
        store.delete_stream(group, stream)
    except NotFoundError:
        raise _no_stream() from None


@OPERATIONS("DescribeLogGroups")
def describe_log_groups(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    prefix = params.get("logGroupNamePrefix") or ""
    pattern = params.get("logGroupNamePattern")
    if prefix and pattern:
        raise _invalid("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
    limit = _limit(params.get("limit"), 50, 50)
    after = _decode(params.get("nextToken"))
    store = _store(ctx)
    found: list[Any] = []
    cursor = after
    # A pattern is a case-insensitive substring of the name: fetch pages until one is full.
    while len(found) <= limit:
        batch = store.groups(prefix=prefix, after=cursor, limit=limit + 1)
        if not batch:
            break
        for group in batch:
            if pattern is None or pattern.lower() in group.name.lower():
                found.append(group)
        cursor = batch[-1].name
        if len(batch) <= limit:
            break
    page = found[:limit]
    filters = _logs_metric_filters.metric_filters(ctx)
    out: dict[str, Any] = {
        "logGroups": [
            {
                "logGroupName": g.name,
                "creationTime": g.created_ms,
                "metricFilterCount": filters.count(g.name),
                "arn": _group_arn(ctx, g.name) + ":*",
                "storedBytes": g.stored_bytes,
                "logGroupClass": "STANDARD",
                "logGroupArn": _group_arn(ctx, g.name),
                "deletionProtectionEnabled": False,
                **({"retentionInDays": g.retention_days} if g.retention_days else {}),
                **({"kmsKeyId": g.kms_key_id} if g.kms_key_id else {}),
            }
            for g in page
        ]
    }
    if len(found) > limit:
        out["nextToken"] = _encode(page[-1].name)
    return out


@OPERATIONS("DescribeLogStreams")
def describe_log_streams(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    group = _group(params)
    order = params.get("orderBy")
    if order is None:
        order = "LogStreamName"
    if order not in ("LogStreamName", "LastEventTime"):
        raise _invalid(
            f"1 validation error detected: Value '{order}' at 'orderBy' failed to satisfy constraint:"
            " Member must satisfy enum value set: [LogStreamName, LastEventTime]"
        )
    prefix = params.get("logStreamNamePrefix") or ""
    if prefix and order == "LastEventTime":
        raise _invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
    limit = _limit(params.get("limit"), 50, 50)
    token = _decode(params.get("nextToken"))
    offset = int(token) if token and token.isdigit() else 0
    try:
        streams = _store(ctx).streams(
            group,
            prefix=prefix,
            by_last_event=order == "LastEventTime",
            descending=bool(params.get("descending")),
            offset=offset,
            limit=limit + 1,
        )
    except NotFoundError:
        raise _no_group() from None
    page = streams[:limit]
    out: dict[str, Any] = {"logStreams": [_describe_stream(ctx, s) for s in page]}
    if len(streams) > limit:
        out["nextToken"] = _encode(str(offset + limit))
    return out


def _describe_stream(ctx: Context, stream: LogStream) -> dict[str, Any]:
    out: dict[str, Any] = {
        "logStreamName": stream.name,
        "creationTime": stream.created_ms,
        "arn": _group_arn(ctx, stream.group) + f":log-stream:{stream.name}",
        "storedBytes": 0,  # AWS has reported 0 for streams since 2019
    }
    if stream.first_event_ms is not None:
        out["firstEventTimestamp"] = stream.first_event_ms
        out["lastEventTimestamp"] = stream.last_event_ms
        out["lastIngestionTime"] = stream.last_ingestion_ms
    return out


# -- events ------------------------------------------------------------------------------


@OPERATIONS("PutLogEvents")
def put_log_events(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    group, stream = _group(params), _stream_name(params["logStreamName"])
    events = params["logEvents"]
    if not 1 <= len(events) <= MAX_BATCH_EVENTS:
        raise _invalid(
            f"1 validation error detected: Value at 'logEvents' failed to satisfy constraint:"
            f" Member must have length less than or equal to {MAX_BATCH_EVENTS}"
        )
    size = sum(len(str(e["message"]).encode()) + EVENT_OVERHEAD_BYTES for e in events)
    if size > MAX_BATCH_BYTES:
        raise _invalid(f"Upload too large: {size} bytes exceeds limit of {MAX_BATCH_BYTES}")
    stamps = [int(e["timestamp"]) for e in events]
    if stamps != sorted(stamps):
        raise _invalid("Log events in a single PutLogEvents request must be in chronological order.")
    store = _store(ctx)
    if store.stream(group, stream) is None:
        # Checked first: a batch whose events are all rejected still names a stream that must exist.
        raise _no_group() if not store.has_group(group) else _no_stream()
    now = store.clock_ms()
    retention = store.retention(group)
    expired_before = now - retention * 86_400_000 if retention else None
    accepted: list[tuple[int, str]] = []
    rejected: dict[str, int] = {}
    for index, (stamp, event) in enumerate(zip(stamps, events, strict=True)):
        # The End indexes are exclusive, the Start index inclusive (RejectedLogEventsInfo's contract).
        if stamp < now - TOO_OLD_MS:
            rejected["tooOldLogEventEndIndex"] = index + 1
        elif expired_before is not None and stamp < expired_before:
            rejected["expiredLogEventEndIndex"] = index + 1
        elif stamp > now + TOO_NEW_MS:
            rejected.setdefault("tooNewLogEventStartIndex", index)
        else:
            accepted.append((stamp, str(event["message"])))
    # Only the events kept count towards the 24 hours a batch may span.
    if accepted and accepted[-1][0] - accepted[0][0] > 24 * 3600 * 1000:
        raise _invalid("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
    try:
        store.put(group, stream, accepted)
    except NotFoundError:
        raise _no_group() if not store.has_group(group) else _no_stream() from None
    # Sequence tokens are ignored since 2023, but AWS still answers one: 56 digits.
    out: dict[str, Any] = {"nextSequenceToken": f"{now:056d}"}
    if rejected:
        out["rejectedLogEventsInfo"] = rejected
    return out


# -- retention, tags and keys ------------------------------------------------------------

RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
_TAG = re.compile(r"^[\w\s.:/=+\-@]*$")
_MAX_TAGS = 50


@OPERATIONS("PutRetentionPolicy")
def put_retention_policy(ctx: Context, params: dict[str, Any]) -> None:
    group = _group(params)
    days = params.get("retentionInDays")
    if days not in RETENTION_DAYS:
        raise _invalid(
            f"1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy constraint:"
            f" Member must satisfy enum value set: [{', '.join(map(str, RETENTION_DAYS))}]"
        )
    try:
        _store(ctx).set_retention(group, days)
    except NotFoundError:
        raise _no_group() from None


@OPERATIONS("DeleteRetentionPolicy")
def delete_retention_policy(ctx: Context, params: dict[str, Any]) -> None:
    try:
        _store(ctx).set_retention(_group(params), None)
    except NotFoundError:
        raise _no_group() from None


@OPERATIONS("AssociateKmsKey")
def associate_kms_key(ctx: Context, params: dict[str, Any]) -> None:
    # Events are stored unencrypted locally: the key is recorded so DescribeLogGroups answers it.
    try:
        _store(ctx).set_kms_key(_group(params), params["kmsKeyId"])
    except NotFoundError:
        raise _no_group() from None


@OPERATIONS("DisassociateKmsKey")
def disassociate_kms_key(ctx: Context, params: dict[str, Any]) -> None:
    try:
        _store(ctx).set_kms_key(_group(params), None)
    except NotFoundError:
        raise _no_group() from None


def _valid_tags(tags: dict[str, str] | None) -> dict[str, str]:
    if not tags:
        return {}
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or not _TAG.match(key) or len(value) > 256 or not _TAG.match(value):
            raise _invalid(f"Invalid tag: {key}")
    if len(tags) > _MAX_TAGS:
        raise AwsError("TooManyTagsException", f"A resource can have no more than {_MAX_TAGS} tags.")
    return dict(tags)


def _change_tags(ctx: Context, group: str, add: dict[str, str] | None = None, remove: list[str] | None = None) -> None:
    store = _store(ctx)
    try:
        current = store.tags(group)
        added = _valid_tags(add)
        if len({**current, **added}) > _MAX_TAGS:
            raise AwsError("TooManyTagsException", f"A resource can have no more than {_MAX_TAGS} tags.")
        store.change_tags(group, add=added, remove=remove or [])
    except NotFoundError:
        raise _no_group() from None


def _tagged_group(ctx: Context, arn: str) -> str:
    """The log group a tagging ARN names (``arn:...:log-group:<name>``); other resources are not kept locally."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or parts[2] != "logs":
        raise _invalid(f"Invalid resource ARN: {arn}")
    if not parts[5].startswith("log-group:"):
        raise AwsError("ResourceNotFoundException", f"The specified resource does not exist: {arn}")
    return _group_name(parts[5][len("log-group:") :].removesuffix(":*"))


@OPERATIONS("TagLogGroup")
def tag_log_group(ctx: Context, params: dict[str, Any]) -> None:
    _change_tags(ctx, _group(params), add=params["tags"])


@OPERATIONS("UntagLogGroup")
def untag_log_group(ctx: Context, params: dict[str, Any]) -> None:
    _change_tags(ctx, _group(params), remove=params["tags"])


@OPERATIONS("ListTagsLogGroup")
def list_tags_log_group(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    try:
        return {"tags": _store(ctx).tags(_group(params))}
    except NotFoundError:
        raise _no_group() from None


@OPERATIONS("TagResource")
def tag_resource(ctx: Context, params: dict[str, Any]) -> None:
    _change_tags(ctx, _tagged_group(ctx, params["resourceArn"]), add=params["tags"])


@OPERATIONS("UntagResource")
def untag_resource(ctx: Context, params: dict[str, Any]) -> None:
    _change_tags(ctx, _tagged_group(ctx, params["resourceArn"]), remove=params["tagKeys"])


@OPERATIONS("ListTagsForResource")
def list_tags_for_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    try:
        return {"tags": _store(ctx).tags(_tagged_group(ctx, params["resourceArn"]))}
    except NotFoundError:
        raise _no_group() from None


def _token_id(token: str, kind: str) -> int:
    # AWS's shape: "f/<56 digits>/s" (forward) and "b/<56 digits>/s" (backward).
    parts = token.split("/")
    if len(parts) != 3 or parts[0] != kind or not parts[1].isdigit():
        raise _invalid("The specified nextToken is invalid.")
    return int(parts[1])


def _token(kind: str, position: int) -> str:
    return f"{kind}/{position:056d}/s"


@OPERATIONS("GetLogEvents")
def get_log_events(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    group, stream = _group(params), _stream_name(params["logStreamName"])
    limit = _limit(params.get("limit"), 10_000, 10_000)
    token = params.get("nextToken")
    start, end = params.get("startTime"), params.get("endTime")
    store = _store(ctx)
    after = before = None
    if token:
        if token.startswith("f/"):
            after = _token_id(token, "f")
            from_head = True
        else:
            before = _token_id(token, "b")
            from_head = False
    else:
        from_head = bool(params.get("startFromHead"))
    try:
        events = store.stream_events(
            group, stream, start_ms=start, end_ms=end, after_id=after, before_id=before, from_head=from_head, limit=limit
        )
    except NotFoundError:
        if not store.has_group(group):
            raise _no_group() from None
        raise _no_stream() from None
    events = _within_bytes(events, from_head)
    if events:
        forward, backward = _token("f", events[-1].id), _token("b", events[0].id)
    elif after is not None:
        # At the end: the same forward token comes back, as AWS's does (clients stop on it).
        forward, backward = str(token), _token("b", after + 1)
    elif before is not None:
        forward, backward = _token("f", max(0, before - 1)), str(token)
    else:
        forward, backward = _token("f", 0), _token("b", 0)
    return {
        "events": [{"timestamp": e.timestamp_ms, "message": e.message, "ingestionTime": e.ingestion_ms} for e in events],
        "nextForwardToken": forward,
        "nextBackwardToken": backward,
    }


def _within_bytes(events: list[Any], from_head: bool) -> list[Any]:
    """At most 1 MB of events (GetLogEvents' response limit), kept from the side being read."""
    total = 0
    kept: list[Any] = []
    for event in events if from_head else reversed(events):
        total += len(event.message.encode()) + EVENT_OVERHEAD_BYTES
        if total > MAX_BATCH_BYTES:
            break
        kept.append(event)
    return kept if from_head else kept[::-1]


@OPERATIONS("FilterLogEvents")
def filter_log_events(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    group = _group(params)
    names = params.get("logStreamNames")
    prefix = params.get("logStreamNamePrefix") or ""
    if names and prefix:
        raise _invalid("You cannot specify both logStreamNames and logStreamNamePrefix")
    limit = _limit(params.get("limit"), 10_000, 10_000)
    try:
        matches = compile_filter(params.get("filterPattern"))
    except FilterPatternError as exc:
        raise _invalid(str(exc)) from None
    cursor: tuple[int, int] | None = None
    token = _decode(params.get("nextToken"))
    if token:
        try:
            stamp, _, position = token.partition(":")
            cursor = (int(stamp), int(position))
        except ValueError:
            raise _invalid("The specified nextToken is invalid.") from None
    store = _store(ctx)
    found: list[Any] = []
    scanned = 0
    batch_size = 1000
    while True:
        try:
            batch = store.scan(
                group,
                streams=names,
                stream_prefix=prefix,
                start_ms=params.get("startTime"),
                end_ms=params.get("endTime"),
                after=cursor,
                limit=batch_size,
            )
        except NotFoundError:
            raise _no_group() from None
        exhausted = len(batch) < batch_size
        full = False
        for index, event in enumerate(batch):
            cursor = (event.timestamp_ms, event.id)
            scanned += 1
            if matches(event.message):
                found.append(event)
                if len(found) == limit:
                    full = True
                    exhausted = exhausted and index == len(batch) - 1
                    break
        if full or exhausted:
            more = not exhausted
            break
        if scanned >= _SCAN_BUDGET:
            # Like AWS, a call searches a bounded slice: fewer events and a nextToken to go on.
            more = True
            break
    out: dict[str, Any] = {
        "events": [
            {
                "logStreamName": e.stream,
                "timestamp": e.timestamp_ms,
                "message": e.message,
                "ingestionTime": e.ingestion_ms,
                "eventId": f"{e.timestamp_ms:020d}{e.id:036d}",
            }
            for e in found
        ],
        "searchedLogStreams": [],
    }
    if more and cursor is not None:
        out["nextToken"] = _encode(f"{cursor[0]}:{cursor[1]}")
    return out
