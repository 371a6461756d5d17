"""DynamoDB Streams' four operations over the stream log: ListStreams, DescribeStream, GetShardIterator, GetRecords.

A shard iterator is a position in one shard (records after a sequence number) and
the time it was issued, in an opaque token; it expires 15 minutes after it was
issued (``ExpiredIteratorException``), as AWS's do. Reading from a position whose next
records were trimmed (older than 24 hours) is ``TrimmedDataAccessException``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from ....dynamodb.errors import DynamoDbError, resource_not_found, validation
from ....ports import Clock
from .stream_records import api_record, parse_sequence, sequence_text
from .streams import StoredRecord, StreamInfo, StreamLog

__all__ = ["StreamReader"]

ITERATOR_TTL_S: Final = 15 * 60
MAX_GET_RECORDS: Final = 1000
MAX_LIST: Final = 100
GET_RECORDS_BYTES: Final = 1024 * 1024
_ITERATOR_TYPES: Final = ("TRIM_HORIZON", "LATEST", "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER", "AT_TIMESTAMP")


class StreamReader:
    """The operations' requests in, their responses out; refusals as :class:`DynamoDbError`."""

    def __init__(self, log: StreamLog, clock: Clock, *, region: str) -> None:
        self.log = log
        self.clock = clock
        self.region = region

    def list_streams(self, request: Mapping[str, Any]) -> dict[str, Any]:
        limit = _limit(request.get("Limit"), MAX_LIST, "limit")
        table = request.get("TableName")
        found = self.log.streams(table, request.get("ExclusiveStartStreamArn"), limit + 1)
        response: dict[str, Any] = {"Streams": [{"StreamArn": s.arn, "TableName": s.table, "StreamLabel": s.label} for s in found[:limit]]}
        if len(found) > limit:
            response["LastEvaluatedStreamArn"] = found[limit - 1].arn
        return response

    def describe_stream(self, request: Mapping[str, Any]) -> dict[str, Any]:
        _limit(request.get("Limit"), MAX_LIST, "limit")
        stream = self._stream(request.get("StreamArn"))
        shards: list[dict[str, Any]] = []
        shard_filter = request.get("ShardFilter") or {}
        # One shard, never split: it has no children, and nothing follows it in a listing.
        if request.get("ExclusiveStartShardId") is None and shard_filter.get("Type") != "CHILD_SHARDS":
            numbers: dict[str, str] = {"StartingSequenceNumber": sequence_text(max(stream.start_seq, stream.trimmed_through + 1))}
            if not stream.enabled:
                numbers["EndingSequenceNumber"] = sequence_text(stream.end_seq if stream.end_seq is not None else stream.start_seq)
            shards.append({"ShardId": stream.shard_id, "SequenceNumberRange": numbers})
        return {
            "StreamDescription": {
                "StreamArn": stream.arn,
                "StreamLabel": stream.label,
                "StreamStatus": stream.status,
                "StreamViewType": stream.view_type,
                "CreationRequestDateTime": datetime.fromtimestamp(stream.created, UTC),
                "TableName": stream.table,
                "KeySchema": stream.key_schema,
                "Shards": shards,
            }
        }

    def get_shard_iterator(self, request: Mapping[str, Any]) -> dict[str, Any]:
        stream = self._stream(request.get("StreamArn"))
        shard = request.get("ShardId")
        kind = request.get("ShardIteratorType")
        if kind not in _ITERATOR_TYPES:
            raise validation(
                f"1 validation error detected: Value '{kind}' at 'shardIteratorType' failed to satisfy constraint:"
                f" Member must satisfy enum value set: [{', '.join(_ITERATOR_TYPES)}]"
            )
        if shard != stream.shard_id:
            raise resource_not_found(f"Requested resource not found: Shard does not exist: {shard}")
        sequence = request.get("SequenceNumber")
        if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            number = parse_sequence(sequence)
            if number is None:
                raise validation(f"Invalid SequenceNumber for ShardIteratorType {kind}: {sequence}")
            position = number - 1 if kind == "AT_SEQUENCE_NUMBER" else number
            if position < stream.trimmed_through:
                raise _trimmed()
        elif sequence is not None:
            raise validation(f"SequenceNumber is only allowed with AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER, not with {kind}")
        elif kind == "TRIM_HORIZON":
            position = stream.trimmed_through
        elif kind == "LATEST":
            last = self.log.last_sequence(stream.arn)
            position = max(last if last is not None else 0, stream.trimmed_through)
        else:
            when = request.get("Timestamp")
            if not isinstance(when, datetime):
                raise validation("Timestamp is required for ShardIteratorType AT_TIMESTAMP")
            if when.timestamp() > self._now():
                raise validation("The timestamp of the AT_TIMESTAMP iterator is in the future")
            first = self.log.first_since(stream.arn, when.timestamp())
            last = self.log.last_sequence(stream.arn)
            position = first - 1 if first is not None else max(last or 0, stream.trimmed_through)
            position = max(position, stream.trimmed_through)
        return {"ShardIterator": self._token(stream, position)}

    def get_records(self, request: Mapping[str, Any]) -> dict[str, Any]:
        limit = request.get("Limit")
        if limit is not None and isinstance(limit, int) and not isinstance(limit, bool) and limit > MAX_GET_RECORDS:
            # The model puts no top on Limit; the service refuses more than 1000 with this code.
            raise DynamoDbError("LimitExceededException", f"Limit must be less than or equal to {MAX_GET_RECORDS}: {limit}")
        wanted = _limit(limit, MAX_GET_RECORDS, "limit")
        arn, shard, position, issued = self._parse(request.get("ShardIterator"))
        now = self._now()
        if now - issued > ITERATOR_TTL_S:
            raise DynamoDbError(
                "ExpiredIteratorException",
                f"Iterator expired. The iterator was created at time {_amz_time(issued)} while right now it is {_amz_time(now)}"
                f" which is further in the future than the tolerated delay of {ITERATOR_TTL_S * 1000} milliseconds.",
            )
        stream = self._stream(arn)
        if shard != stream.shard_id:
            raise resource_not_found(f"Requested resource not found: Shard does not exist: {shard}")
        if position < stream.trimmed_through:
            raise _trimmed()
        found: list[StoredRecord] = self.log.records(stream.arn, position, wanted, max_bytes=GET_RECORDS_BYTES)
        records = [api_record(r.body, sequence=r.sequence, created=r.created, region=self.region) for r in found]
        after = found[-1].sequence if found else position
        response: dict[str, Any] = {"Records": records}
        # A closed shard read to its end has no next iterator: that is how readers learn it ended.
        ended = not stream.enabled and (stream.end_seq is None or after >= stream.end_seq)
        if not ended:
            response["NextShardIterator"] = self._token(stream, after)
        return response

    # -- helpers --------------------------------------------------------------------------

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def _stream(self, arn: Any) -> StreamInfo:
        stream = self.log.get(arn) if isinstance(arn, str) else None
        if stream is None:
            raise resource_not_found(f"Requested resource not found: Stream: {arn} not found")
        return stream

    def _token(self, stream: StreamInfo, position: int) -> str:
        text = json.dumps([stream.arn, stream.shard_id, position, round(self._now(), 3)], separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii")

    @staticmethod
    def _parse(token: Any) -> tuple[str, str, int, float]:
        try:
            arn, shard, position, issued = json.loads(base64.urlsafe_b64decode(str(token).encode("ascii")))
            if not (isinstance(arn, str) and isinstance(shard, str) and isinstance(position, int) and isinstance(issued, int | float)):
                raise ValueError(token)
        except (ValueError, TypeError, UnicodeError, binascii.Error):
            raise validation("Invalid ShardIterator") from None
        return arn, shard, position, float(issued)


def _limit(value: Any, top: int, member: str) -> int:
    if value is None:
        return top
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise validation(
            f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint:"
            " Member must have value greater than or equal to 1"
        )
    if value > top:
        raise validation(
            f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint:"
            f" Member must have value less than or equal to {top}"
        )
    return value


def _trimmed() -> DynamoDbError:
    return DynamoDbError("TrimmedDataAccessException", "The operation attempted to read past the oldest stream record in a shard.")


def _amz_time(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
