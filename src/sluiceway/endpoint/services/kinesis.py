"""Amazon Kinesis Data Streams (json 1.1 protocol, ``Kinesis_20131202.*``) on the data dir's streams.

This module serves the streams themselves: create, describe, list, delete, shards, retention,
encryption and tags. Records (puts, shard iterators, GetRecords) are in :mod:`._kinesis_records`,
registered on the same :data:`OPERATIONS`. Streams are ACTIVE as soon as they are made: locally
there is nothing to wait for, and AWS's ``stream_exists`` waiter accepts that at once.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Final

from ...backends.local.kinesis import KinesisShard, KinesisStream
from ...backends.local.kinesis.store import ON_DEMAND_SHARDS
from ...errors import ConflictError, NotFoundError
from ..context import Context
from ..errors import AwsError
from . import _kinesis_records as _records
from ._kinesis_common import (
    MAX_RETENTION_HOURS,
    MIN_RETENTION_HOURS,
    OPERATIONS,
    checked,
    invalid,
    kinesis,
    must_stream,
    not_found,
)

__all__ = ["OPERATIONS"]

_ = _records  # its operations register on OPERATIONS when imported

MAX_SHARDS_PER_ACCOUNT: Final = 20_000
"""Not confirmed: AWS's default shard quota is 500 or 200 per Region by Region; locally a high cap
only keeps one CreateStream from filling the disk."""
MAX_TAGS: Final = 50
DEFAULT_LIST_STREAMS: Final = 100
DEFAULT_DESCRIBE_SHARDS: Final = 100
DEFAULT_LIST_SHARDS: Final = 1000


def _mode(stream: KinesisStream) -> dict[str, str]:
    return {"StreamMode": stream.mode}


def _shard(shard: KinesisShard) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ShardId": shard.shard_id,
        "HashKeyRange": {"StartingHashKey": str(shard.start_hash), "EndingHashKey": str(shard.end_hash)},
        "SequenceNumberRange": {"StartingSequenceNumber": shard.starting_sequence_number},
    }
    if shard.ending_sequence_number is not None:
        out["SequenceNumberRange"]["EndingSequenceNumber"] = shard.ending_sequence_number
    if shard.parent is not None:
        out["ParentShardId"] = shard.parent
    if shard.adjacent_parent is not None:
        out["AdjacentParentShardId"] = shard.adjacent_parent
    return out


def _encryption(stream: KinesisStream, out: dict[str, Any]) -> dict[str, Any]:
    out["EncryptionType"] = stream.encryption_type
    if stream.key_id is not None:
        out["KeyId"] = stream.key_id
    return out


# -- streams --------------------------------------------------------------------------------


@OPERATIONS("CreateStream")
def create_stream(ctx: Context, params: dict[str, Any]) -> None:
    checked(ctx, params)
    name = str(params["StreamName"])
    mode = str((params.get("StreamModeDetails") or {}).get("StreamMode") or "PROVISIONED")
    count = params.get("ShardCount")
    if mode == "ON_DEMAND" and count is not None:
        # Not confirmed word for word: AWS refuses a shard count for an on-demand stream.
        raise ctx_validation(f"ShardCount is not supported for stream {name} with ON_DEMAND mode.")
    requested = ON_DEMAND_SHARDS if count is None or mode == "ON_DEMAND" else int(count)
    existing = kinesis(ctx).open_shard_count()
    if existing + requested > MAX_SHARDS_PER_ACCOUNT:
        # Not confirmed word for word. The limit counts the account's open shards, these included.
        raise AwsError(
            "LimitExceededException",
            f"This request would exceed the shard limit for the account {ctx.account_id} in {ctx.region}. "
            f"Current shard count for the account: {existing}. Limit: {MAX_SHARDS_PER_ACCOUNT}. "
            f"Number of additional shards that would have resulted from this request: {requested}.",
        )
    tags = {str(k): str(v) for k, v in (params.get("Tags") or {}).items()}
    if len(tags) > MAX_TAGS:
        raise invalid(f"Failed to create stream {name} under account {ctx.account_id}: too many tags (at most {MAX_TAGS}).")
    # Without ShardCount (and without a mode) Kinesis makes an on-demand-sized stream of 4 shards
    # (LocalStack's snapshot test_create_stream_without_shard_count, recorded against AWS).
    try:
        kinesis(ctx).create_stream(name, shard_count=None if count is None else int(count), mode=mode, tags=tags)
    except ConflictError:
        raise AwsError("ResourceInUseException", f"Stream {name} under account {ctx.account_id} already exists.") from None


def ctx_validation(message: str) -> AwsError:
    return AwsError("ValidationException", message)


@OPERATIONS("DeleteStream")
def delete_stream(ctx: Context, params: dict[str, Any]) -> None:
    stream = must_stream(ctx, params)
    # EnforceConsumerDeletion matters only with enhanced fan-out consumers, which are not served.
    try:
        kinesis(ctx).delete_stream(stream.name)
    except NotFoundError:
        raise not_found(ctx, stream.name) from None


def _shard_page(shards: list[KinesisShard], start_after: str | None, limit: int) -> tuple[list[KinesisShard], bool]:
    if start_after:
        shards = [s for s in shards if s.shard_id > start_after]
    return shards[:limit], len(shards) > limit


@OPERATIONS("DescribeStream")
def describe_stream(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    stream = must_stream(ctx, params)
    shards, more = _shard_page(
        kinesis(ctx).shards(stream.arn),
        params.get("ExclusiveStartShardId"),
        int(params.get("Limit") or DEFAULT_DESCRIBE_SHARDS),
    )
    description: dict[str, Any] = {
        "StreamName": stream.name,
        "StreamARN": stream.arn,
        "StreamStatus": stream.status,
        "StreamModeDetails": _mode(stream),
        "Shards": [_shard(s) for s in shards],
        "HasMoreShards": more,
        "RetentionPeriodHours": stream.retention_hours,
        "StreamCreationTimestamp": stream.created,
        "EnhancedMonitoring": [{"ShardLevelMetrics": []}],
    }
    return {"StreamDescription": _encryption(stream, description)}


@OPERATIONS("DescribeStreamSummary")
def describe_stream_summary(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    stream = must_stream(ctx, params)
    summary: dict[str, Any] = {
        "StreamName": stream.name,
        "StreamARN": stream.arn,
        "StreamStatus": stream.status,
        "StreamModeDetails": _mode(stream),
        "RetentionPeriodHours": stream.retention_hours,
        "StreamCreationTimestamp": stream.created,
        "EnhancedMonitoring": [{"ShardLevelMetrics": []}],
        "OpenShardCount": sum(1 for s in kinesis(ctx).shards(stream.arn) if s.is_open),
        "ConsumerCount": 0,
    }
    return {"StreamDescriptionSummary": _encryption(stream, summary)}


def _token(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def _untoken(token: str, kind: str) -> dict[str, Any]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, UnicodeError):
        payload = None
    if not isinstance(payload, dict) or payload.get("k") != kind:
        raise invalid(f"Invalid NextToken: {token}")  # not confirmed word for word
    return payload


@OPERATIONS("ListStreams")
def list_streams(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    checked(ctx, params)
    # The model: "If you specify a value greater than 100, at most 100 results are returned."
    limit = min(int(params.get("Limit") or DEFAULT_LIST_STREAMS), DEFAULT_LIST_STREAMS)
    start = params.get("ExclusiveStartStreamName")
    if params.get("NextToken"):
        start = str(_untoken(str(params["NextToken"]), "streams")["after"])
    streams = kinesis(ctx).streams()
    if start:
        streams = [s for s in streams if s.name > start]
    page, more = streams[:limit], len(streams) > limit
    out: dict[str, Any] = {
        "StreamNames": [s.name for s in page],
        "HasMoreStreams": more,
        "StreamSummaries": [
            {
                "StreamName": s.name,
                "StreamARN": s.arn,
                "StreamStatus": s.status,
                "StreamModeDetails": _mode(s),
                "StreamCreationTimestamp": s.created,
            }
            for s in page
        ],
    }
    if more:
        out["NextToken"] = _token({"k": "streams", "after": page[-1].name})
    return out


@OPERATIONS("ListShards")
def list_shards(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    checked(ctx, params)
    token = params.get("NextToken")
    if token:
        if params.get("StreamName") or params.get("StreamARN"):
            raise invalid("NextToken and StreamName cannot be provided together.")
        state = _untoken(str(token), "shards")
        stream = must_stream(ctx, {"StreamName": state["stream"]})
        after: str | None = str(state["after"])
        shard_filter: dict[str, Any] = {}
    else:
        stream = must_stream(ctx, params)
        after = params.get("ExclusiveStartShardId")
        shard_filter = params.get("ShardFilter") or {}
    limit = int(params.get("MaxResults") or DEFAULT_LIST_SHARDS)
    shards = _filtered(kinesis(ctx).shards(stream.arn), shard_filter)
    page, more = _shard_page(shards, after, limit)
    out: dict[str, Any] = {"Shards": [_shard(s) for s in page]}
    if more:
        out["NextToken"] = _token({"k": "shards", "stream": stream.name, "after": page[-1].shard_id})
    return out


def _filtered(shards: list[KinesisShard], shard_filter: dict[str, Any]) -> list[KinesisShard]:
    """ListShards' ShardFilter. Shards close only by resharding, which is not served: every shard is
    open, so the trim-horizon and timestamp filters return them all and AT_LATEST the open ones."""
    kind = shard_filter.get("Type")
    if kind is None:
        return shards
    if kind == "AFTER_SHARD_ID":
        if not shard_filter.get("ShardId"):
            raise invalid("ShardId must be provided when ShardFilter type is AFTER_SHARD_ID.")  # not confirmed
        return [s for s in shards if s.shard_id > str(shard_filter["ShardId"])]
    if kind in ("AT_TIMESTAMP", "FROM_TIMESTAMP") and shard_filter.get("Timestamp") is None:
        raise invalid(f"Timestamp must be provided when ShardFilter type is {kind}.")  # not confirmed
    if kind == "AT_LATEST":
        return [s for s in shards if s.is_open]
    return shards


# -- retention and encryption ---------------------------------------------------------------


def _retention(ctx: Context, params: dict[str, Any]) -> tuple[KinesisStream, int]:
    stream = must_stream(ctx, params)
    hours = int(params["RetentionPeriodHours"])
    if hours < MIN_RETENTION_HOURS:
        raise invalid(
            f"Minimum allowed retention period is {MIN_RETENTION_HOURS} hours. Requested retention period ({hours} hours) is too short."
        )
    if hours > MAX_RETENTION_HOURS:
        raise invalid(
            f"Maximum allowed retention period is {MAX_RETENTION_HOURS} hours. Requested retention period ({hours} hours) is too long."
        )
    return stream, hours


@OPERATIONS("IncreaseStreamRetentionPeriod")
def increase_retention(ctx: Context, params: dict[str, Any]) -> None:
    stream, hours = _retention(ctx, params)
    if hours < stream.retention_hours:
        raise invalid(
            f"Requested retention period ({hours} hours) for stream {stream.name} can not be shorter than "
            f"existing retention period ({stream.retention_hours} hours). Use DecreaseRetentionPeriod API."
        )
    kinesis(ctx).set_retention(stream.name, hours)


@OPERATIONS("DecreaseStreamRetentionPeriod")
def decrease_retention(ctx: Context, params: dict[str, Any]) -> None:
    stream, hours = _retention(ctx, params)
    if hours > stream.retention_hours:
        raise invalid(
            f"Requested retention period ({hours} hours) for stream {stream.name} can not be longer than "
            f"existing retention period ({stream.retention_hours} hours). Use IncreaseRetentionPeriod API."
        )
    kinesis(ctx).set_retention(stream.name, hours)


@OPERATIONS("StartStreamEncryption")
def start_encryption(ctx: Context, params: dict[str, Any]) -> None:
    stream = must_stream(ctx, params)
    # Records are kept as given: the data dir is the protection locally. New records say KMS.
    kinesis(ctx).set_encryption(stream.name, str(params["EncryptionType"]), str(params["KeyId"]))


@OPERATIONS("StopStreamEncryption")
def stop_encryption(ctx: Context, params: dict[str, Any]) -> None:
    stream = must_stream(ctx, params)
    kinesis(ctx).set_encryption(stream.name, "NONE", None)


# -- tags -----------------------------------------------------------------------------------


def _check_tag_count(ctx: Context, stream: KinesisStream, adding: dict[str, str]) -> None:
    total = len(kinesis(ctx).tags(stream.name).keys() | adding.keys())
    if total > MAX_TAGS:
        raise invalid(
            f"Failed to add tags to stream {stream.name} under account {ctx.account_id} because a given stream "
            f"cannot have more than {MAX_TAGS} tags."
        )  # not confirmed word for word


@OPERATIONS("AddTagsToStream")
def add_tags(ctx: Context, params: dict[str, Any]) -> None:
    stream = must_stream(ctx, params)
    tags = {str(k): str(v) for k, v in params["Tags"].items()}
    _check_tag_count(ctx, stream, tags)
    kinesis(ctx).tag(stream.name, tags)


@OPERATIONS("RemoveTagsFromStream")
def remove_tags(ctx: Context, params: dict[str, Any]) -> None:
    stream = must_stream(ctx, params)
    kinesis(ctx).untag(stream.name, [str(k) for k in params["TagKeys"]])


@OPERATIONS("ListTagsForStream")
def list_tags(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    stream = must_stream(ctx, params)
    tags = sorted(kinesis(ctx).tags(stream.name).items())
    start = params.get("ExclusiveStartTagKey")
    if start:
        tags = [t for t in tags if t[0] > start]
    limit = int(params.get("Limit") or MAX_TAGS)
    return {"Tags": [{"Key": k, "Value": v} for k, v in tags[:limit]], "HasMoreTags": len(tags) > limit}


def _by_arn(ctx: Context, params: dict[str, Any]) -> KinesisStream:
    checked(ctx, params)
    return must_stream(ctx, {"StreamARN": params["ResourceARN"]})


@OPERATIONS("TagResource")
def tag_resource(ctx: Context, params: dict[str, Any]) -> None:
    stream = _by_arn(ctx, params)
    tags = {str(k): str(v) for k, v in params["Tags"].items()}
    _check_tag_count(ctx, stream, tags)
    kinesis(ctx).tag(stream.name, tags)


@OPERATIONS("UntagResource")
def untag_resource(ctx: Context, params: dict[str, Any]) -> None:
    stream = _by_arn(ctx, params)
    kinesis(ctx).untag(stream.name, [str(k) for k in params["TagKeys"]])


@OPERATIONS("ListTagsForResource")
def list_tags_for_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    stream = _by_arn(ctx, params)
    return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(kinesis(ctx).tags(stream.name).items())]}
