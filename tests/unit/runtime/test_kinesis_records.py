"""Kinesis records as Lambda hands them to a function, and the on-failure record of a skipped Kinesis batch."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime

from sluiceway.ports import InvocationResult
from sluiceway.runtime.messaging.kinesis_source import KinesisSource, kinesis_event
from sluiceway.runtime.messaging.streams import StreamMapping, checkpoint_key, failure_record

STREAM = "arn:aws:kinesis:us-east-1:111111111111:stream/clicks"
ROLE = "arn:aws:iam::111111111111:role/reader"


@dataclass(frozen=True)
class Stored:
    position: int
    sequence_number: str
    partition_key: str
    data: bytes
    arrival: datetime
    shard_id: str = "shardId-000000000000"


class FakeStore:
    """The Kinesis store's contract, over a list."""

    def __init__(self, records: list[Stored]) -> None:
        self.records = records
        self.asked: list[int] = []

    def stream_arn(self, name_or_arn: str) -> str | None:
        return STREAM if name_or_arn in (STREAM, "clicks") else None

    def shard_ids(self, stream_arn: str) -> list[str]:
        return ["shardId-000000000000"]

    def read(self, stream_arn: str, shard_id: str, after: int, limit: int, max_bytes: int) -> list[Stored]:
        self.asked.append(max_bytes)
        return [r for r in self.records if r.position > after][:limit]

    def latest_position(self, stream_arn: str, shard_id: str) -> int:
        return max((r.position for r in self.records), default=0)

    def trim_horizon(self, stream_arn: str, shard_id: str) -> int:
        return 0

    def position_at(self, stream_arn: str, shard_id: str, when: datetime) -> int:
        return next((r.position - 1 for r in self.records if r.arrival >= when), self.latest_position(stream_arn, shard_id))

    @property
    def generation(self) -> int:
        return 0

    def wait(self, since: int, timeout: float) -> int:
        return since

    def wake(self) -> None:
        pass


ARRIVAL = datetime(2024, 5, 1, 12, 30, 15, 123000, tzinfo=UTC)
SEQ = "49590338271490256608559692538361571095921575989136588898"


def test_a_record_has_lambdas_kinesis_shape() -> None:
    record = Stored(7, SEQ, "user-1", b'{"n": 1}', ARRIVAL)
    event = kinesis_event(record, stream_arn=STREAM, region="us-east-1", identity=ROLE)
    assert event == {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": "user-1",
            "sequenceNumber": SEQ,
            "data": base64.b64encode(b'{"n": 1}').decode(),
            "approximateArrivalTimestamp": 1714566615.123,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"shardId-000000000000:{SEQ}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": ROLE,
        "awsRegion": "us-east-1",
        "eventSourceARN": STREAM,
    }


def test_the_source_keeps_positions_apart_from_sequence_numbers() -> None:
    store = FakeStore([Stored(3, "100", "a", b"x", ARRIVAL), Stored(9, "200", "b", b"y", ARRIVAL)])
    source = KinesisSource(store, region="eu-west-1")
    batch = source.read(STREAM, "shardId-000000000000", 3, 10, identity=ROLE)
    assert [(r.position, r.sequence_number) for r in batch] == [(9, "200")]
    assert batch[0].arrival == ARRIVAL.timestamp()
    assert batch[0].event["awsRegion"] == "eu-west-1"
    # Data travels base64: the store is asked for at most 3/4 of Lambda's payload in raw bytes.
    assert store.asked == [(6_291_456 - 65_536) * 3 // 4]


def test_a_batch_stops_before_lambdas_payload() -> None:
    big = b"z" * 2_000_000  # 2.67 MB once base64
    store = FakeStore([Stored(i, str(100 + i), "k", big, ARRIVAL) for i in range(1, 5)])
    batch = KinesisSource(store, region="us-east-1").read(STREAM, "shardId-000000000000", 0, 10, identity=ROLE)
    assert [r.position for r in batch] == [1, 2]
    alone = FakeStore([Stored(1, "101", "k", b"z" * 7_000_000, ARRIVAL)])
    assert len(KinesisSource(alone, region="us-east-1").read(STREAM, "shardId-000000000000", 0, 10, identity=ROLE)) == 1


def test_a_skipped_batch_names_its_records_in_kinesis_batch_info() -> None:
    first = kinesis_event(Stored(1, "101", "a", b"1", ARRIVAL), stream_arn=STREAM, region="us-east-1", identity=ROLE)
    last = kinesis_event(
        Stored(2, "102", "b", b"2", datetime(2024, 5, 1, 12, 30, 16, 999000, tzinfo=UTC)),
        stream_arn=STREAM,
        region="us-east-1",
        identity=ROLE,
    )
    record = failure_record(
        records=[first, last],
        condition="RetryAttemptsExhausted",
        function_arn="arn:aws:lambda:us-east-1:111111111111:function:f",
        request_id="r-1",
        invoke_count=2,
        shard_id="shardId-000000000000",
        stream_arn=STREAM,
        result=InvocationResult("r-1", error_type="Exception", error_message="boom"),
        now=datetime(2024, 5, 1, 12, 31, 0, 5000, tzinfo=UTC),
    )
    assert record == {
        "requestContext": {
            "requestId": "r-1",
            "functionArn": "arn:aws:lambda:us-east-1:111111111111:function:f",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 2,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2024-05-01T12:31:00.005Z",
        "KinesisBatchInfo": {
            "shardId": "shardId-000000000000",
            "startSequenceNumber": "101",
            "endSequenceNumber": "102",
            "approximateArrivalOfFirstRecord": "2024-05-01T12:30:15.123Z",
            "approximateArrivalOfLastRecord": "2024-05-01T12:30:16.999Z",
            "batchSize": 2,
            "streamArn": STREAM,
        },
    }


def test_kinesis_mappings_take_at_timestamp_and_refuse_tumbling_windows() -> None:
    mapping = StreamMapping(STREAM, "f", starting_position="AT_TIMESTAMP", starting_position_timestamp=ARRIVAL)
    assert mapping.kind == "kinesis"
    assert mapping.filters.source == "kinesis"
    for kwargs, reason in (
        ({"starting_position": "AT_TIMESTAMP"}, "StartingPositionTimestamp"),
        ({"tumbling_window_s": 60}, "TumblingWindowInSeconds"),
    ):
        try:
            StreamMapping(STREAM, "f", **kwargs)  # type: ignore[arg-type]
        except ValueError as exc:
            assert reason in str(exc)
        else:
            raise AssertionError(f"{kwargs} was accepted")
    table_stream = "arn:aws:dynamodb:us-east-1:111111111111:table/t/stream/2024-01-01T00:00:00.000"
    assert StreamMapping(table_stream, "f").kind == "dynamodb"


def test_checkpoints_are_kept_per_shard_for_kinesis_only() -> None:
    assert checkpoint_key("u-1", "shardId-000000000001", "kinesis") == "u-1/shardId-000000000001"
    # A DynamoDB stream's one shard keeps its checkpoint where it always was.
    assert checkpoint_key("u-1", "shardId-00000001", "dynamodb") == "u-1"
