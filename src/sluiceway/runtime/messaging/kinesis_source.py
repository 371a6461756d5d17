"""Kinesis data streams as a stream mapping reads them: each shard's records in Lambda's Kinesis event shape.

A function a Kinesis stream triggers gets ``{"Records": [...]}``, each record::

    {"kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey", "sequenceNumber", "data": base64,
                 "approximateArrivalTimestamp": epoch seconds},
     "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": "<shard id>:<sequence number>",
     "eventName": "aws:kinesis:record", "invokeIdentityArn": the function's role, "awsRegion",
     "eventSourceARN": the stream's ARN}

(as AWS's "Using Lambda with Kinesis" shows it, and as recorded against Lambda).
:class:`KinesisSource` gives the mapping's pollers these records over the stack's Kinesis
store (``backends/local/kinesis/store.py``, seen here through :class:`KinesisShardStore`).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final, Protocol

from ...errors import NotFoundError
from .stream_shards import ShardRecord

logger = logging.getLogger(__name__)

__all__ = ["KinesisShardStore", "KinesisSource", "StoredKinesisRecord", "kinesis_event"]

_PAYLOAD_BUDGET: Final = 6_291_456 - 65_536
"""Lambda's 6 MB synchronous payload, less room for the event's own keys."""
_RECORD_OVERHEAD: Final = 600
"""The keys of one record around its data (ARNs, ids, sequence numbers), in bytes, generously."""


class StoredKinesisRecord(Protocol):
    """A record of a shard as the Kinesis store keeps it."""

    @property
    def position(self) -> int: ...
    @property
    def sequence_number(self) -> str: ...
    @property
    def partition_key(self) -> str: ...
    @property
    def data(self) -> bytes: ...
    @property
    def arrival(self) -> datetime: ...
    @property
    def shard_id(self) -> str: ...


class KinesisShardStore(Protocol):
    """What a mapping needs of the Kinesis store (``SqliteKinesis``)."""

    def stream_arn(self, name_or_arn: str) -> str | None: ...

    def shard_ids(self, stream_arn: str) -> list[str]: ...

    def read(self, stream_arn: str, shard_id: str, after: int, limit: int, max_bytes: int) -> Sequence[StoredKinesisRecord]: ...

    def latest_position(self, stream_arn: str, shard_id: str) -> int: ...

    def trim_horizon(self, stream_arn: str, shard_id: str) -> int: ...

    def position_at(self, stream_arn: str, shard_id: str, when: datetime) -> int: ...

    def generation(self, stream_arn: str) -> int: ...

    def wait(self, stream_arn: str, since: int, timeout: float) -> int: ...

    def wake(self, stream_arn: str | None = None) -> None: ...


def kinesis_event(record: StoredKinesisRecord, *, stream_arn: str, region: str, identity: str) -> dict[str, Any]:
    """``record`` as Lambda hands it to a function (one element of the event's ``Records``)."""
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": record.partition_key,
            "sequenceNumber": record.sequence_number,
            "data": base64.b64encode(record.data).decode("ascii"),
            # Seconds with milliseconds, as Kinesis stamps a record's arrival.
            "approximateArrivalTimestamp": round(record.arrival.timestamp(), 3),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{record.shard_id}:{record.sequence_number}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": identity,
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }


class KinesisSource:
    """The Kinesis streams of a stack, shard by shard, as its mappings' pollers read them."""

    kind = "kinesis"

    def __init__(self, store: KinesisShardStore, *, region: str) -> None:
        self.store = store
        self.region = region
        self._missing: set[str] = set()
        """Streams found deleted (warned about once)."""

    def stream_arn(self, source: str) -> str | None:
        return self.store.stream_arn(source)

    def shard_ids(self, stream_arn: str) -> list[str]:
        return self.store.shard_ids(stream_arn)

    def read(self, stream_arn: str, shard_id: str, after: int, limit: int, *, identity: str) -> list[ShardRecord]:
        # The store stops at a budget of raw data; the event carries it base64 (4 bytes per 3), each
        # record with its keys around it: the batch ends before the event would pass Lambda's payload.
        try:
            found = self.store.read(stream_arn, shard_id, after, limit, _PAYLOAD_BUDGET * 3 // 4)
        except NotFoundError:
            # The stream was deleted under the mapping: Lambda's poller finds no records (the
            # mapping stays until deleted). Said once, not at every poll.
            if stream_arn not in self._missing:
                self._missing.add(stream_arn)
                logger.warning("mapped Kinesis stream not found; no records read", extra={"stream": stream_arn})
            return []
        self._missing.discard(stream_arn)
        batch: list[ShardRecord] = []
        size = 0
        for r in found:
            event = kinesis_event(r, stream_arn=stream_arn, region=self.region, identity=identity)
            size += len(event["kinesis"]["data"]) + _RECORD_OVERHEAD
            if batch and size > _PAYLOAD_BUDGET:
                break
            batch.append(ShardRecord(r.position, r.sequence_number, r.arrival.timestamp(), event))
        return batch

    def latest_position(self, stream_arn: str, shard_id: str) -> int:
        return self.store.latest_position(stream_arn, shard_id)

    def trim_horizon(self, stream_arn: str, shard_id: str) -> int:
        return self.store.trim_horizon(stream_arn, shard_id)

    def position_at(self, stream_arn: str, shard_id: str, when: datetime) -> int:
        return self.store.position_at(stream_arn, shard_id, when)

    def generation(self, stream_arn: str) -> int:
        return self.store.generation(stream_arn)

    def wait(self, stream_arn: str, since: int, timeout: float) -> int:
        return self.store.wait(stream_arn, since, timeout)

    def wake(self, stream_arn: str | None = None) -> None:
        self.store.wake(stream_arn)
