"""A Kinesis mapping invokes its shards at once, as Lambda does: a slow shard holds neither another
shard's invocation nor its own order, and a wide stream costs a bounded number of threads."""

from __future__ import annotations

import base64
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

SHARD_1_HASH = 2**127  # the second of two shards' hash key ranges starts at 2**127

GATE = threading.Event()
"""Held closed, it keeps the invocations of records whose data starts with ``slow`` running."""
_LOCK = threading.Lock()
STARTED: list[str] = []
"""The data of each invocation's records, in the order the invocations started."""
RUNNING = 0
MOST_RUNNING = 0


def held(event: dict[str, Any], context: Any) -> None:
    global RUNNING, MOST_RUNNING
    data = ",".join(base64.b64decode(r["kinesis"]["data"]).decode() for r in event["Records"])
    with _LOCK:
        STARTED.append(data)
        RUNNING += 1
        MOST_RUNNING = max(MOST_RUNNING, RUNNING)
    try:
        if data.startswith("slow"):
            assert GATE.wait(20), "the test never opened the gate"
    finally:
        with _LOCK:
            RUNNING -= 1


def started() -> list[str]:
    with _LOCK:
        return list(STARTED)


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    global RUNNING, MOST_RUNNING
    STARTED.clear()
    RUNNING = MOST_RUNNING = 0
    GATE.clear()
    # Function workers enough for every shard the mapping may invoke at once, and one more.
    settings = Settings.load(data_dir=tmp_path / "data", workers=MAX_CONCURRENT_SHARDS + 1)
    built = build_stack(settings, invoker_mode="thread")
    built.invoker.register(FunctionSpec("Held", f"{__name__}.held", timeout_s=30))
    try:
        yield built
    finally:
        GATE.set()  # a failed test still lets the held invocations end, so the stack closes at once
        if built.lock.fd is not None:
            built.close()
        else:
            built.invoker.close()
            built.local.close()


def kinesis(stack: Stack) -> SqliteKinesis:
    assert stack.kinesis is not None
    return stack.kinesis


def put(stack: Stack, arn: str, data: str, shard: int) -> None:
    kinesis(stack).put(arn, [PutEntry(f"key-{data}", data.encode(), 0 if shard == 0 else SHARD_1_HASH)])


def last_position(stack: Stack, arn: str, shard_id: str) -> int:
    return kinesis(stack).read(arn, shard_id, 0, 10, 1 << 20)[-1].position


def test_a_slow_shard_holds_neither_another_shards_invocation_nor_its_own_order(stack: Stack) -> None:
    arn = kinesis(stack).create_stream("two", shard_count=2).arn
    mapping = StreamMapping(table=arn, function="Held", starting_position="TRIM_HORIZON", batch_size=1)
    uuid = stack.streams.add(mapping)
    put(stack, arn, "slow-a1", 0)
    stack.start("kinesis tests")
    wait_for(lambda: started() == ["slow-a1"])

    # Shard 0's invocation runs on: shard 1's records are invoked meanwhile, one batch after another.
    put(stack, arn, "slow-a2", 0)
    put(stack, arn, "b1", 1)
    wait_for(lambda: started()[1:] == ["b1"])
    put(stack, arn, "b2", 1)
    wait_for(lambda: started()[2:] == ["b2"])
    # Shard 0 has one invocation at a time: its second record waits for the first.
    assert "slow-a2" not in started() and not GATE.is_set()
    shard_0, shard_1 = stack.streams.shard_pollers(uuid)
    wait_for(lambda: [o.status for o in shard_1.outcomes] == ["ok", "ok"])
    assert shard_0.outcomes == []

    GATE.set()
    wait_for(lambda: [o.status for o in shard_0.outcomes] == ["ok", "ok"])
    assert [d for d in started() if d.startswith("slow")] == ["slow-a1", "slow-a2"]
    assert stack.streams.checkpoints.get(f"{uuid}/{shard_0.shard_id}") == last_position(stack, arn, shard_0.shard_id)


def test_a_stopped_mapping_ends_once_its_invocation_in_progress_settled(stack: Stack) -> None:
    arn = kinesis(stack).create_stream("stopping", shard_count=2).arn
    mapping = StreamMapping(table=arn, function="Held", starting_position="TRIM_HORIZON", batch_size=1)
    uuid = stack.streams.add(mapping)
    put(stack, arn, "slow-a1", 0)
    stack.start("kinesis tests")
    wait_for(lambda: started() == ["slow-a1"])
    shard_0, _ = stack.streams.shard_pollers(uuid)
    stack.streams.remove(uuid, keep_checkpoint=True)  # disabled: the batch in flight still settles
    put(stack, arn, "b1", 1)  # stopped: not invoked
    assert shard_0.alive
    GATE.set()
    assert shard_0.join(10)
    assert [o.status for o in shard_0.outcomes] == ["ok"]
    assert stack.streams.checkpoints.get(f"{uuid}/{shard_0.shard_id}") == last_position(stack, arn, shard_0.shard_id)
    assert started() == ["slow-a1"]

    # Enabled again, it resumes after the settled batch: shard 1's record only.
    assert stack.streams.add(mapping) == uuid
    wait_for(lambda: started()[1:] == ["b1"])


def test_a_wide_streams_invocations_run_on_a_bounded_number_of_threads(stack: Stack) -> None:
    shards = 3 * MAX_CONCURRENT_SHARDS
    arn = kinesis(stack).create_stream("wide", shard_count=shards).arn
    step = 2**128 // shards
    kinesis(stack).put(arn, [PutEntry(f"k{i}", f"slow-{i}".encode(), i * step) for i in range(shards)])
    uuid = stack.streams.add(StreamMapping(table=arn, function="Held", starting_position="TRIM_HORIZON"))
    stack.start("kinesis tests")
    # As many shards as there are workers are invoked at once; the others wait for a worker.
    wait_for(lambda: len(started()) == MAX_CONCURRENT_SHARDS)
    mapping_threads = [t.name for t in threading.enumerate() if t.name.startswith("sluiceway-stream-Held")]
    assert mapping_threads.count("sluiceway-stream-Held") == 1 and len(mapping_threads) == 1 + MAX_CONCURRENT_SHARDS
    GATE.set()
    wait_for(lambda: all(p.outcomes for p in stack.streams.shard_pollers(uuid)))
    assert sorted(started()) == sorted(f"slow-{i}" for i in range(shards))
    assert MOST_RUNNING == MAX_CONCURRENT_SHARDS
