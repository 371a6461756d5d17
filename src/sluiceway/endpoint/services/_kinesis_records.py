"""Kinesis's records: PutRecord, PutRecords, GetShardIterator and GetRecords.

A shard iterator is opaque to clients; ours carries the stream (and when it was made, so that
one of a deleted stream's namesake is refused), the shard, the position read up to and when
the iterator was issued: Kinesis refuses an iterator older than five minutes.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any, Final

from ...backends.local.kinesis import KinesisRecord, KinesisShard, KinesisStream, PutEntry
from ...backends.local.kinesis.shards import MAX_HASH_KEY, shard_id
from ..context import Context
from ..errors import AwsError
from ..protocol.constraints import check_constraints
from ._kinesis_common import OPERATIONS, invalid, kinesis, must_stream

__all__ = ["OPERATIONS"]

MAX_RECORD_BYTES: Final = 1024 * 1024
"""A record's data (before base64) is at most 1 MiB."""
MAX_PUT_RECORDS_BYTES: Final = 5 * 1024 * 1024
"""A PutRecords request's data and partition keys together are at most 5 MiB."""
MAX_GET_RECORDS_BYTES: Final = 10 * 1024 * 1024
"""GetRecords returns at most 10 MiB of data."""
MAX_PUT_RECORDS: Final = 500
DEFAULT_GET_RECORDS: Final = 10_000
ITERATOR_TTL_MS: Final = 300_000
"""A shard iterator expires five minutes after it was issued."""
_MAX_STORED: Final = 2**63 - 1
"""The largest number SQLite keeps (positions) and times in milliseconds stay far below."""
_JAVA_DATE: Final = "%a %b %d %H:%M:%S UTC %Y"
"""How Kinesis (a Java service) prints the times in ExpiredIteratorException's message."""


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _now(ctx: Context) -> datetime:
    return kinesis(ctx).clock.now()


def _check(ctx: Context, params: dict[str, Any], data_paths: list[tuple[str, int]], extra: list[str] | None = None) -> None:
    """The model's constraints, and the data sizes, reported as AWS reports them: all at once.

    The data is left out of the constraint check: AWS names a blob's path without its value.
    """
    problems = [*(extra or [])] + [
        f"Value at '{path}' failed to satisfy constraint: Member must have length less than or equal to {MAX_RECORD_BYTES}"
        for path, size in data_paths
        if size > MAX_RECORD_BYTES
    ]
    try:
        check_constraints("kinesis", ctx.operation, params)
    except AwsError as exc:
        if not problems:
            raise
        head, _, rest = exc.message.partition(": ")
        problems = [*rest.split("; "), *problems]
    if problems:
        count = len(problems)
        raise AwsError(
            "ValidationException",
            f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(problems),
        )


def _nulls(record: dict[str, Any], where: str) -> list[str]:
    """AWS's problems for a record's missing members (the constraint check reads only the members given)."""
    return [
        f"Value null at '{where}{member}' failed to satisfy constraint: Member must not be null"
        for key, member in (("Data", "data"), ("PartitionKey", "partitionKey"))
        if record.get(key) is None
    ]


def _hash_key(text: str | None) -> int | None:
    if text is None:
        return None
    value = int(text) if text.isdigit() else -1
    if not 0 <= value <= MAX_HASH_KEY:
        # Not confirmed word for word; the range is Kinesis's.
        raise invalid(f"Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was {text}")
    return value


def _without_data(params: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in params.items() if k != "Data"}
    if "Records" in params:
        out["Records"] = [{k: v for k, v in r.items() if k != "Data"} for r in params["Records"]]
    return out


# -- puts -----------------------------------------------------------------------------------


@OPERATIONS("PutRecord")
def put_record(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    data = bytes(params.get("Data") or b"")
    _check(ctx, _without_data(params), [("data", len(data))], _nulls(params, ""))
    stream = must_stream(ctx, _without_data(params))
    entry = PutEntry(str(params["PartitionKey"]), data, _hash_key(params.get("ExplicitHashKey")))
    # SequenceNumberForOrdering needs no handling: one stream's puts are already strictly ordered.
    (record,) = kinesis(ctx).put(stream.arn, [entry])
    return {"ShardId": record.shard_id, "SequenceNumber": record.sequence_number, "EncryptionType": record.encryption_type}


@OPERATIONS("PutRecords")
def put_records(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    records = list(params.get("Records") or [])
    datas = [bytes(r.get("Data") or b"") for r in records]
    # A record's data and partition key together count toward its 1 MiB (moto's test, after AWS).
    keys = [len(str(r.get("PartitionKey", "")).encode()) for r in records]
    sizes = [(f"records.{i}.member.data", len(d) + k) for i, (d, k) in enumerate(zip(datas, keys, strict=True), 1)]
    extra = [problem for i, r in enumerate(records, 1) for problem in _nulls(r, f"records.{i}.member.")]
    if len(records) > MAX_PUT_RECORDS:
        # AWS names the list without its value; the constraint checker would print it.
        extra.append(f"Value at 'records' failed to satisfy constraint: Member must have length less than or equal to {MAX_PUT_RECORDS}")
        params = {**params, "Records": records[:MAX_PUT_RECORDS]}
    _check(ctx, _without_data(params), sizes, extra)
    stream = must_stream(ctx, _without_data(params))
    total = sum(len(d) + len(str(r["PartitionKey"]).encode()) for d, r in zip(datas, records, strict=True))
    if total > MAX_PUT_RECORDS_BYTES:
        raise invalid("Records size exceeds 5 MB limit")
    entries = [PutEntry(str(r["PartitionKey"]), d, _hash_key(r.get("ExplicitHashKey"))) for d, r in zip(datas, records, strict=True)]
    # Kinesis fails single records only for throughput (ProvisionedThroughputExceededException)
    # or KMS; locally neither happens, so every record is put and FailedRecordCount is 0.
    written = kinesis(ctx).put(stream.arn, entries)
    return {
        "FailedRecordCount": 0,
        "Records": [{"SequenceNumber": r.sequence_number, "ShardId": r.shard_id} for r in written],
        "EncryptionType": stream.encryption_type,
    }


# -- shard iterators ------------------------------------------------------------------------


def _must_shard(ctx: Context, stream: KinesisStream, shard: str) -> KinesisShard:
    found = kinesis(ctx).shard(stream.arn, shard)
    if found is None:
        raise AwsError(
            "ResourceNotFoundException",
            f"Shard {shard} in stream {stream.name} under account {ctx.account_id} does not exist",
        )
    return found


def _iterator(stream: KinesisStream, shard: str, after: int, issued: datetime) -> str:
    payload = {"s": stream.name, "c": _ms(stream.created), "h": shard, "p": after, "t": _ms(issued)}
    return base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def _sequence_position(ctx: Context, stream: KinesisStream, shard: KinesisShard, sequence: str) -> int:
    decoded = kinesis(ctx).decode(sequence)
    if decoded is None:
        raise invalid(
            f"StartingSequenceNumber {sequence} used in GetShardIterator on shard {shard.shard_id} in stream "
            f"{stream.name} under account {ctx.account_id} is invalid."
        )  # not confirmed word for word
    position, ordinal = decoded
    if position > kinesis(ctx).last_position():
        # Well formed, but past every record put so far: no record ever had it.
        raise invalid(
            f"StartingSequenceNumber {sequence} used in GetShardIterator on shard {shard.shard_id} in stream "
            f"{stream.name} under account {ctx.account_id} is invalid because it did not come from this stream."
        )  # not confirmed word for word
    if ordinal != shard.ordinal:
        raise invalid(
            f"Invalid StartingSequenceNumber. It encodes {shard_id(ordinal)}, while it was used in a call to a shard with {shard.shard_id}"
        )
    return position


@OPERATIONS("GetShardIterator")
def get_shard_iterator(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    stream = must_stream(ctx, params)
    shard = _must_shard(ctx, stream, str(params["ShardId"]))
    store, kind, now = kinesis(ctx), str(params["ShardIteratorType"]), _now(ctx)
    sequence = params.get("StartingSequenceNumber")
    if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
        if not sequence:
            raise invalid(f"The StartingSequenceNumber parameter is required for ShardIteratorType {kind}.")  # not confirmed
        position = _sequence_position(ctx, stream, shard, str(sequence))
        after = position - 1 if kind == "AT_SEQUENCE_NUMBER" else position
    elif kind == "AT_TIMESTAMP":
        when = params.get("Timestamp")
        if when is None:
            raise invalid("The Timestamp parameter is required for ShardIteratorType AT_TIMESTAMP.")  # not confirmed
        if _ms(when) > _ms(now):
            raise invalid(
                "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. "
                f"timestampInMillis: {_ms(when)}, currentTimestampInMillis: {_ms(now)}"
            )
        after = store.position_at(stream.arn, shard.shard_id, when)
    elif kind == "TRIM_HORIZON":
        after = store.trim_horizon(stream.arn, shard.shard_id)
    else:  # LATEST (the model's enum leaves nothing else)
        after = store.latest_position(stream.arn, shard.shard_id)
    return {"ShardIterator": _iterator(stream, shard.shard_id, after, now)}


def _parse_iterator(ctx: Context, text: str) -> tuple[KinesisStream, str, int]:
    try:
        payload = json.loads(base64.b64decode(text.encode(), validate=True))
        name, created, shard, after, issued = (
            str(payload["s"]), int(payload["c"]), str(payload["h"]), int(payload["p"]), int(payload["t"]),
        )  # fmt: skip
    except (binascii.Error, ValueError, UnicodeError, KeyError, TypeError):
        raise invalid(f"Invalid ShardIterator: {text}") from None  # not confirmed word for word
    if not all(0 <= value <= _MAX_STORED for value in (created, after, issued)):
        raise invalid(f"Invalid ShardIterator: {text}")  # forged: no iterator we issue holds such numbers
    now = _now(ctx)
    if _ms(now) - issued > ITERATOR_TTL_MS:
        issued_at = datetime.fromtimestamp(issued / 1000, tz=now.tzinfo)
        raise AwsError(
            "ExpiredIteratorException",
            f"Iterator expired. The iterator was created at time {issued_at.strftime(_JAVA_DATE)} while right now "
            f"it is {now.strftime(_JAVA_DATE)} which is further in the future than the tolerated delay of "
            f"{ITERATOR_TTL_MS} milliseconds.",
        )
    stream = must_stream(ctx, {"StreamName": name})
    if _ms(stream.created) != created:
        raise invalid(f"Invalid ShardIterator: {text}")  # a namesake of the stream it was issued for
    return stream, shard, after


def _wire(record: KinesisRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "SequenceNumber": record.sequence_number,
        "ApproximateArrivalTimestamp": record.arrival,
        "Data": record.data,
        "PartitionKey": record.partition_key,
    }
    if record.encryption_type != "NONE":
        out["EncryptionType"] = record.encryption_type
    return out


@OPERATIONS("GetRecords")
def get_records(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    check_constraints("kinesis", ctx.operation, params)
    stream, shard, after = _parse_iterator(ctx, str(params["ShardIterator"]))
    _must_shard(ctx, stream, shard)
    store, now = kinesis(ctx), _now(ctx)
    limit = int(params.get("Limit") or DEFAULT_GET_RECORDS)
    records = store.read(stream.arn, shard, after, limit, MAX_GET_RECORDS_BYTES)
    upto = records[-1].position if records else after
    behind = store.first_arrival_after(stream.arn, shard, upto)
    return {
        "Records": [_wire(r) for r in records],
        "NextShardIterator": _iterator(stream, shard, upto, now),
        # How far the reader is from the shard's tip: 0 once it has read everything.
        "MillisBehindLatest": 0 if behind is None else max(0, _ms(now) - _ms(behind)),
    }
