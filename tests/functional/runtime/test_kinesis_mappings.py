"""Kinesis stream -> function mappings on a running local stack: a poller per shard, each in order with its own
checkpoint, Lambda's Kinesis event, starting positions, on-failure records, and a restart that resumes."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sluiceway.backends.local.kinesis.store import PutEntry, SqliteKinesis
from sluiceway.runtime.lambdas.invoker import FunctionSpec
from sluiceway.runtime.messaging.streams import MAX_CONCURRENT_SHARDS, StreamMapping
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

REGION = "us-east-1"
SHARD_1_HASH = 2**127  # the second of two shards' hash key ranges starts at 2**127

#: (function name, event) of every invocation of the handlers below (thread mode: this process).
RECEIVED: list[tuple[str, dict[str, Any]]] = []
_LOCK = threading.Lock()


def record(event: dict[str, Any], context: Any) -> None:
    with _LOCK:
        RECEIVED.append((context.function_name, event))


def fail(event: dict[str, Any], context: Any) -> None:
    record(event, context)
    raise RuntimeError("cannot handle these")


def report_second(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Reports the batch's second record as failed the first time it sees a batch."""
    record(event, context)
    first_time = sum(1 for name, _ in RECEIVED if name == context.function_name) == 1
    records = event["Records"]
    failed = [{"itemIdentifier": records[1]["kinesis"]["sequenceNumber"]}] if first_time and len(records) > 1 else []
    return {"batchItemFailures": failed}


def events_of(function: str) -> list[dict[str, Any]]:
    with _LOCK:
        return [event for name, event in RECEIVED if name == function]


def data_of(function: str) -> list[str]:
    return [base64.b64decode(r["kinesis"]["data"]).decode() for e in events_of(function) for r in e["Records"]]


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def make_stack(tmp_path: Path) -> Iterator[Callable[[], Stack]]:
    built: list[Stack] = []
    settings = Settings.load(data_dir=tmp_path / "data", workers=2)

    def make() -> Stack:
        stack = build_stack(settings, invoker_mode="thread")
        stack.streams.backoff_s = (0.01, 0.05)
        for name, handler in (("KinesisRecorder", "record"), ("KinesisFails", "fail"), ("KinesisPartial", "report_second")):
            stack.invoker.register(FunctionSpec(name, f"{__name__}.{handler}", timeout_s=10))
        built.append(stack)
        return stack

    yield make
    for stack in built:
        if stack.lock.fd is not None:
            stack.close()
        else:  # never started: its function runner still restores the environment it wrote
            stack.invoker.close()
            stack.local.close()


def kinesis(stack: Stack) -> SqliteKinesis:
    assert stack.kinesis is not None
    return stack.kinesis


def put(stack: Stack, arn: str, *items: tuple[str, int]) -> None:
    """Put (data, shard) records: shard 0 or 1 of a two-shard stream."""
    entries = [PutEntry(f"key-{data}", data.encode(), 0 if shard == 0 else SHARD_1_HASH) for data, shard in items]
    kinesis(stack).put(arn, entries)


def test_each_shard_has_its_poller_in_order_with_lambdas_kinesis_event(make_stack: Callable[[], Stack]) -> None:
    RECEIVED.clear()
    stack = make_stack()
    arn = kinesis(stack).create_stream("clicks", shard_count=2).arn
    put(stack, arn, ("a1", 0), ("b1", 1), ("a2", 0), ("b2", 1))
    uuid = stack.streams.add(StreamMapping(table=arn, function="KinesisRecorder", starting_position="TRIM_HORIZON"))
    assert [p.shard_id for p in stack.streams.shard_pollers(uuid)] == ["shardId-000000000000", "shardId-000000000001"]
    stack.start("kinesis tests")
    wait_for(lambda: sorted(data_of("KinesisRecorder")) == ["a1", "a2", "b1", "b2"])
    # One batch per shard: a batch never mixes shards, and each keeps its shard's order.
    batches = sorted([base64.b64decode(r["kinesis"]["data"]).decode() for r in e["Records"]] for e in events_of("KinesisRecorder"))
    assert batches == [["a1", "a2"], ["b1", "b2"]]
    first = events_of("KinesisRecorder")[0]["Records"][0]
    assert set(first) == {
        "kinesis",
        "eventSource",
        "eventVersion",
        "eventID",
        "eventName",
        "invokeIdentityArn",
        "awsRegion",
        "eventSourceARN",
    }
    assert (first["eventSource"], first["eventName"], first["eventVersion"]) == ("aws:kinesis", "aws:kinesis:record", "1.0")
    assert first["eventSourceARN"] == arn and first["awsRegion"] == REGION
    # A function registered without a role (a template's) reports Sluiceway's, in GetFunctionConfiguration too;
    # an API-made function's own role is tested through the endpoint.
    assert first["invokeIdentityArn"] == f"arn:aws:iam::{stack.settings.account_id}:role/sluiceway"
    inner = first["kinesis"]
    assert inner["kinesisSchemaVersion"] == "1.0" and isinstance(inner["approximateArrivalTimestamp"], float)
    assert first["eventID"] == f"{first['eventID'].split(':')[0]}:{inner['sequenceNumber']}" and inner["sequenceNumber"].isdigit()
    # Each shard's checkpoint is its own, past its last record.
    for poller in stack.streams.shard_pollers(uuid):
        wait_for(lambda poller=poller: len(poller.outcomes) == 1)
        last = kinesis(stack).read(arn, poller.shard_id, 0, 10, 1 << 20)[-1]
        assert stack.streams.checkpoints.get(f"{uuid}/{poller.shard_id}") == last.position
    # A later put wakes the shard's poller: that record only.
    put(stack, arn, ("b3", 1))
    wait_for(lambda: len(events_of("KinesisRecorder")) == 3)
    assert [base64.b64decode(r["kinesis"]["data"]) for r in events_of("KinesisRecorder")[-1]["Records"]] == [b"b3"]
    stack.streams.remove(uuid)
    assert all(stack.streams.checkpoints.get(f"{uuid}/shardId-00000000000{i}") is None for i in (0, 1))


def test_latest_and_at_timestamp_start_where_lambda_starts(make_stack: Callable[[], Stack]) -> None:
    RECEIVED.clear()
    stack = make_stack()
    arn = kinesis(stack).create_stream("positions", shard_count=1).arn
    [old] = kinesis(stack).put(arn, [PutEntry("k", b"old")])
    time.sleep(0.002)  # arrivals are stamped to the millisecond: the next record must arrive later than this one
    [newer] = kinesis(stack).put(arn, [PutEntry("k", b"newer")])
    assert newer.arrival > old.arrival
    stack.streams.add(StreamMapping(table=arn, function="KinesisRecorder", starting_position="LATEST"))
    stack.streams.add(
        StreamMapping(table=arn, function="KinesisPartial", starting_position="AT_TIMESTAMP", starting_position_timestamp=newer.arrival)
    )
    stack.start("kinesis tests")
    kinesis(stack).put(arn, [PutEntry("k", b"latest")])
    wait_for(lambda: data_of("KinesisRecorder") == ["latest"])
    wait_for(lambda: "latest" in data_of("KinesisPartial"))
    assert "old" not in data_of("KinesisPartial") and data_of("KinesisPartial")[0] == "newer"


def test_a_reported_record_is_retried_from_it(make_stack: Callable[[], Stack]) -> None:
    RECEIVED.clear()
    stack = make_stack()
    arn = kinesis(stack).create_stream("partial", shard_count=1).arn
    kinesis(stack).put(arn, [PutEntry("k", f"r{i}".encode()) for i in range(3)])
    stack.streams.add(
        StreamMapping(table=arn, function="KinesisPartial", starting_position="TRIM_HORIZON", report_batch_item_failures=True)
    )
    stack.start("kinesis tests")
    wait_for(lambda: len(events_of("KinesisPartial")) == 2)
    assert [len(e["Records"]) for e in events_of("KinesisPartial")] == [3, 2]
    assert data_of("KinesisPartial")[3:] == ["r1", "r2"]


def test_a_failing_batch_is_skipped_to_the_on_failure_queue_with_kinesis_batch_info(make_stack: Callable[[], Stack]) -> None:
    RECEIVED.clear()
    stack = make_stack()
    stack.local.queues.create_queue("kinesis-failures")
    queue_arn = f"arn:aws:sqs:{REGION}:{stack.settings.account_id}:kinesis-failures"
    arn = kinesis(stack).create_stream("failing", shard_count=2).arn
    put(stack, arn, ("x1", 1), ("x2", 1))
    uuid = stack.streams.add(
        StreamMapping(table=arn, function="KinesisFails", starting_position="TRIM_HORIZON", max_retry_attempts=1, on_failure=queue_arn)
    )
    stack.start("kinesis tests")
    reports: list[dict[str, Any]] = []
    wait_for(lambda: reports.extend(json.loads(m.body) for m in stack.local.queues.receive("kinesis-failures")) or len(reports) == 1)
    [report] = reports
    info = report["KinesisBatchInfo"]
    records = events_of("KinesisFails")[0]["Records"]
    assert info["shardId"] == "shardId-000000000001" and info["streamArn"] == arn and info["batchSize"] == 2
    assert (info["startSequenceNumber"], info["endSequenceNumber"]) == (
        records[0]["kinesis"]["sequenceNumber"],
        records[1]["kinesis"]["sequenceNumber"],
    )
    assert info["approximateArrivalOfFirstRecord"].endswith("Z") and len(info["approximateArrivalOfFirstRecord"]) == len(
        "2024-01-01T00:00:00.000Z"
    )
    assert report["requestContext"]["condition"] == "RetryAttemptsExhausted" and report["requestContext"]["approximateInvokeCount"] == 2
    assert "DDBStreamBatchInfo" not in report
    # The skipped batch moved the shard's checkpoint past it.
    poller = stack.streams.shard_pollers(uuid)[1]
    wait_for(lambda: any(o.status == "skipped" for o in poller.outcomes))
    last = kinesis(stack).latest_position(arn, "shardId-000000000001")
    assert stack.streams.checkpoints.get(f"{uuid}/shardId-000000000001") == last


def test_a_restarted_stack_resumes_each_shard_after_its_checkpoint(make_stack: Callable[[], Stack]) -> None:
    RECEIVED.clear()
    stack = make_stack()
    arn = kinesis(stack).create_stream("resumed", shard_count=2).arn
    put(stack, arn, ("p1", 0), ("q1", 1))
    mapping = StreamMapping(table=arn, function="KinesisRecorder", starting_position="TRIM_HORIZON")
    stack.streams.add(mapping)
    stack.start("kinesis tests")
    wait_for(lambda: sorted(data_of("KinesisRecorder")) == ["p1", "q1"])
    wait_for(lambda: all(p.outcomes for p in stack.streams.pollers))
    stack.close()
    RECEIVED.clear()
    again = make_stack()
    put(again, arn, ("p2", 0))
    again.streams.add(mapping)
    again.start("kinesis tests")
    wait_for(lambda: data_of("KinesisRecorder") == ["p2"])
    assert len(again.streams.pollers) == 2


GATE = threading.Event()


def blocked(event: dict[str, Any], context: Any) -> None:
    record(event, context)
    GATE.wait(10)


def test_a_mapping_takes_its_shards_in_turn_on_a_bounded_number_of_threads(make_stack: Callable[[], Stack]) -> None:
    RECEIVED.clear()
    stack = make_stack()
    shards = 20
    arn = kinesis(stack).create_stream("wide", shard_count=shards).arn
    step = 2**128 // shards
    kinesis(stack).put(arn, [PutEntry(f"k{i}", f"r{i}".encode(), i * step) for i in range(shards)])
    uuid = stack.streams.add(StreamMapping(table=arn, function="KinesisRecorder", starting_position="TRIM_HORIZON"))
    stack.start("kinesis tests")
    wait_for(lambda: sorted(data_of("KinesisRecorder")) == sorted(f"r{i}" for i in range(shards)))
    # One scheduling thread, and a few workers for the invocations however many shards there are.
    threads = [t.name for t in threading.enumerate() if t.name.startswith("sluiceway-stream-KinesisRecorder")]
    assert threads.count("sluiceway-stream-KinesisRecorder") == 1
    assert 1 <= len(threads) - 1 <= MAX_CONCURRENT_SHARDS
    # Each shard still has its batch of its own, settled at its own checkpoint.
    assert sorted(len(e["Records"]) for e in events_of("KinesisRecorder")) == [1] * shards
    for poller in stack.streams.shard_pollers(uuid):
        [only] = kinesis(stack).read(arn, poller.shard_id, 0, 10, 1 << 20)
        wait_for(lambda poller=poller, only=only: stack.streams.checkpoints.get(f"{uuid}/{poller.shard_id}") == only.position)


def fail_bad(event: dict[str, Any], context: Any) -> None:
    record(event, context)
    if any(base64.b64decode(r["kinesis"]["data"]) == b"bad" for r in event["Records"]):
        raise RuntimeError("bad record")


def test_a_failing_shard_does_not_hold_up_the_mappings_other_shards(make_stack: Callable[[], Stack]) -> None:
    RECEIVED.clear()
    stack = make_stack()
    stack.invoker.register(FunctionSpec("KinesisFailsBad", f"{__name__}.fail_bad", timeout_s=10))
    stack.streams.backoff_s = (5.0, 5.0)  # the failed batch waits long: the other shard goes on meanwhile
    arn = kinesis(stack).create_stream("halves", shard_count=2).arn
    put(stack, arn, ("bad", 0))
    stack.streams.add(StreamMapping(table=arn, function="KinesisFailsBad", starting_position="TRIM_HORIZON"))
    stack.start("kinesis tests")
    wait_for(lambda: data_of("KinesisFailsBad") == ["bad"])
    put(stack, arn, ("x1", 0), ("y1", 1), ("y2", 1))  # shard 0's batch is in its backoff now
    wait_for(lambda: data_of("KinesisFailsBad")[1:] == ["y1", "y2"], timeout=4)


def test_a_put_wakes_the_readers_of_its_stream_only(make_stack: Callable[[], Stack]) -> None:
    stack = make_stack()
    store = kinesis(stack)
    one, two = store.create_stream("one", shard_count=1).arn, store.create_stream("two", shard_count=1).arn
    before = (store.generation(one), store.generation(two))
    store.put(two, [PutEntry("k", b"x")])
    assert (store.generation(one), store.generation(two)) == (before[0], before[1] + 1)
    assert store.wait(one, before[0], 0.05) == before[0]


def test_closing_waits_for_all_mappings_within_one_deadline(make_stack: Callable[[], Stack]) -> None:
    RECEIVED.clear()
    GATE.clear()
    stack = make_stack()
    stack.streams.stop_s = 1.0
    for name in ("BlockedA", "BlockedB"):
        stack.invoker.register(FunctionSpec(name, f"{__name__}.blocked", timeout_s=30))
        arn = kinesis(stack).create_stream(f"busy-{name}", shard_count=1).arn
        put(stack, arn, ("w", 0))
        stack.streams.add(StreamMapping(table=arn, function=name, starting_position="TRIM_HORIZON"))
    stack.streams.start()
    try:
        wait_for(lambda: bool(events_of("BlockedA")) and bool(events_of("BlockedB")))
        started = time.monotonic()
        stack.streams.close()
        # Each mapping's invocation is still running: two waits of a second each would take two.
        assert time.monotonic() - started < 1.8
    finally:
        GATE.set()


def test_a_mapped_stream_deleted_reads_as_no_records(make_stack: Callable[[], Stack], caplog: pytest.LogCaptureFixture) -> None:
    RECEIVED.clear()
    stack = make_stack()
    stack.streams.poll_s = 0.02
    arn = kinesis(stack).create_stream("gone", shard_count=2).arn
    stack.streams.add(StreamMapping(table=arn, function="KinesisRecorder", starting_position="TRIM_HORIZON"))
    stack.start("kinesis tests")
    kinesis(stack).delete_stream(arn)
    wait_for(lambda: any(r.getMessage() == "mapped Kinesis stream not found; no records read" for r in caplog.records))
    deadline = time.monotonic() + 0.3  # some more polls of both shards
    while time.monotonic() < deadline:
        time.sleep(0.02)
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("mapped Kinesis stream not found; no records read") == 1
    assert "stream poll failed" not in messages and not any(r.exc_info for r in caplog.records)
