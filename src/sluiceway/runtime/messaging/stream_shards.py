"""What a stream mapping's pollers read: the shards of a stream, one poller per shard.

Lambda reads a stream shard by shard: each shard of the mapping's stream has a poller of its
own, which keeps the shard's records in order and its own checkpoint. :class:`ShardSource`
is that view of one kind of stream (a table's DynamoDB stream, a Kinesis data stream);
:class:`DynamoDBShards` gives it over the DynamoDB streams (:class:`StreamSource`), whose
streams have one shard locally, and ``kinesis_source.py`` over the Kinesis streams.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

__all__ = ["DynamoDBShards", "ShardRecord", "ShardSource", "StreamSource", "sequence_number"]


class StreamSource(Protocol):
    """The DynamoDB streams a mapping reads (``backends/local/dynamodb/stream_source.py`` locally)."""

    def stream_arn(self, source: str) -> str | None:
        """The stream ARN a mapping's source names (a stream ARN, a table name or ARN); None if there is none."""
        ...

    def shard_id(self, stream_arn: str) -> str | None: ...

    def exists(self, stream_arn: str) -> bool: ...

    def read(self, stream_arn: str, after: int, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` records after position ``after``, oldest first, in Lambda's event shape."""
        ...

    def latest_position(self, stream_arn: str) -> int: ...

    def trim_horizon(self, stream_arn: str) -> int: ...

    @property
    def generation(self) -> int: ...

    def wait(self, since: int, timeout: float) -> int:
        """Block until records are committed after ``since`` or ``timeout`` seconds pass."""
        ...

    def wake(self) -> None: ...


@dataclass(frozen=True)
class ShardRecord:
    """One record of a shard: where it stands in the shard, and the record the function is given."""

    position: int
    """Its place in the shard (a checkpoint at it means it was handled)."""
    sequence_number: str
    """Its sequence number, as the function sees it and names it in ``batchItemFailures``."""
    arrival: float
    """When it entered the stream (epoch seconds): its age counts from there."""
    event: dict[str, Any]
    """The record in Lambda's event shape."""


class ShardSource(Protocol):
    """The shards of one kind of stream, read as Lambda's pollers read them."""

    kind: str
    """``dynamodb`` or ``kinesis``: the event source a mapping's ARN names."""

    def stream_arn(self, source: str) -> str | None:
        """The stream ARN a mapping's source names; None if there is no such stream."""
        ...

    def shard_ids(self, stream_arn: str) -> list[str]:
        """The stream's shards, oldest first (a poller each)."""
        ...

    def read(self, stream_arn: str, shard_id: str, after: int, limit: int, *, identity: str) -> list[ShardRecord]:
        """Up to ``limit`` records of the shard after position ``after``, oldest first (fewer when they would
        pass Lambda's 6 MB payload, but at least one when there is one).

        ``identity`` is the function's role ARN, which Kinesis records name (``invokeIdentityArn``).
        """
        ...

    def latest_position(self, stream_arn: str, shard_id: str) -> int:
        """The position just after the shard's newest record (``LATEST``)."""
        ...

    def trim_horizon(self, stream_arn: str, shard_id: str) -> int:
        """The position just before the shard's oldest record kept (``TRIM_HORIZON``)."""
        ...

    def position_at(self, stream_arn: str, shard_id: str, when: datetime) -> int:
        """The position just before the shard's first record that arrived at or after ``when`` (``AT_TIMESTAMP``).

        Raises:
            ValueError: the stream has no such starting position.
        """
        ...

    def generation(self, stream_arn: str) -> int:
        """A number that grows when records are committed to the stream (in this process)."""
        ...

    def wait(self, stream_arn: str, since: int, timeout: float) -> int:
        """Block until records are committed to the stream after ``since`` or ``timeout`` seconds pass."""
        ...

    def wake(self, stream_arn: str | None = None) -> None:
        """Wake the stream's waiting readers (every stream's without one)."""
        ...


def sequence_number(event: Mapping[str, Any]) -> str:
    """A stream record's sequence number, whichever stream it came from."""
    if "kinesis" in event:
        return str(event["kinesis"]["sequenceNumber"])
    return str(event["dynamodb"]["SequenceNumber"])


class DynamoDBShards:
    """The DynamoDB streams as shards: a table's stream has one shard locally, its positions are its sequence numbers."""

    kind = "dynamodb"

    def __init__(self, source: StreamSource) -> None:
        self.source = source

    def stream_arn(self, source: str) -> str | None:
        return self.source.stream_arn(source)

    def shard_ids(self, stream_arn: str) -> list[str]:
        shard = self.source.shard_id(stream_arn)
        return [shard] if shard is not None else []

    def read(self, stream_arn: str, shard_id: str, after: int, limit: int, *, identity: str) -> list[ShardRecord]:
        return [
            ShardRecord(
                int(event["dynamodb"]["SequenceNumber"]),
                event["dynamodb"]["SequenceNumber"],
                float(event["dynamodb"]["ApproximateCreationDateTime"]),
                event,
            )
            for event in self.source.read(stream_arn, after, limit)
        ]

    def latest_position(self, stream_arn: str, shard_id: str) -> int:
        return self.source.latest_position(stream_arn)

    def trim_horizon(self, stream_arn: str, shard_id: str) -> int:
        return self.source.trim_horizon(stream_arn)

    def position_at(self, stream_arn: str, shard_id: str, when: datetime) -> int:
        # Lambda refuses AT_TIMESTAMP for DynamoDB streams before a mapping is made.
        raise ValueError(f"Unsupported starting position for arn type: {stream_arn}")

    # The tables' streams share one signal per database file: a write wakes every table's readers.
    def generation(self, stream_arn: str) -> int:
        return self.source.generation

    def wait(self, stream_arn: str, since: int, timeout: float) -> int:
        return self.source.wait(since, timeout)

    def wake(self, stream_arn: str | None = None) -> None:
        self.source.wake()
