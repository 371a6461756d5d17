"""Stopping a DynamoDB stream mapping while its batch runs: disabled or changed, it resumes after that batch; deleted,
its checkpoint never comes back. And a skipped batch's record in an S3 on-failure destination."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sluiceway.backends.local.dynamodb import LocalDynamoDb
from sluiceway.runtime.lambdas.invoker import FunctionSpec
from sluiceway.runtime.messaging.streams import StreamMapping
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

REGION = "us-east-1"

#: The keys each invocation of ``held`` was given, in order.
SEEN: list[str] = []
RELEASE = threading.Event()
"""``held`` returns once this is set (or after 5 s, so that a failing test still ends)."""


def held(event: dict[str, Any], context: Any) -> None:
    SEEN.extend(r["dynamodb"]["Keys"]["n"]["N"] for r in event["Records"])
    RELEASE.wait(5)


def fail(event: dict[str, Any], context: Any) -> None:
    raise RuntimeError("cannot handle these")


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    SEEN.clear()
    RELEASE.clear()
    made = build_stack(Settings.load(data_dir=tmp_path / "data", workers=2), invoker_mode="thread")
    made.streams.backoff_s = (0.01, 0.05)
    made.streams.poll_s = 0.05
    made.invoker.register(FunctionSpec("Held", f"{__name__}.held", timeout_s=10))
    made.invoker.register(FunctionSpec("Fails", f"{__name__}.fail", timeout_s=10))
    made.start("stream stop tests")
    try:
        yield made
    finally:
        RELEASE.set()
        made.close()


def table(stack: Stack, name: str) -> tuple[LocalDynamoDb, str]:
    db = LocalDynamoDb(stack.local.db, stack.local.clock, region=REGION, account_id=stack.settings.account_id)
    created = db.create_table(
        {
            "TableName": name,
            "KeySchema": [{"AttributeName": "n", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "n", "AttributeType": "N"}],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
        }
    )
    return db, str(created["TableDescription"]["LatestStreamArn"])


def put(db: LocalDynamoDb, name: str, n: int) -> None:
    db.put_item({"TableName": name, "Item": {"n": {"N": str(n)}}})


def mapping(arn: str, uuid: str) -> StreamMapping:
    return StreamMapping(table=arn, function="Held", starting_position="TRIM_HORIZON", batch_size=1, uuid=uuid)


UUID = "6f1c0d7e-3d52-4d1e-9a59-0d3c5e2b8a11"


def test_a_mapping_stopped_mid_batch_keeps_its_checkpoint_and_resumes_after_that_batch(stack: Stack) -> None:
    db, arn = table(stack, "kept")
    stack.streams.add(mapping(arn, UUID))
    put(db, "kept", 1)
    wait_for(lambda: SEEN == ["1"])
    poller = stack.streams.get(UUID)
    stack.streams.remove(UUID, keep_checkpoint=True)
    assert poller.alive, "remove waited for the batch in flight"
    # Added again (a changed mapping) while the old poller still runs: the new one waits for it.
    stack.streams.add(mapping(arn, UUID))
    put(db, "kept", 2)
    RELEASE.set()
    wait_for(lambda: SEEN == ["1", "2"])
    wait_for(lambda: stack.streams.checkpoints.get(UUID) == int(stack.streams.get(UUID).outcomes[-1].last_sequence))
    assert SEEN == ["1", "2"], "the batch in flight was sent again"


def test_a_deleted_mappings_batch_in_flight_never_brings_its_checkpoint_back(stack: Stack) -> None:
    db, arn = table(stack, "deleted")
    stack.streams.add(mapping(arn, UUID))
    put(db, "deleted", 1)
    wait_for(lambda: SEEN == ["1"])
    poller = stack.streams.get(UUID)
    stack.streams.remove(UUID)
    assert poller.alive, "remove waited for the batch in flight"
    assert stack.streams.checkpoints.get(UUID) is None
    RELEASE.set()
    assert poller.join(5)
    assert stack.streams.checkpoints.get(UUID) is None


def test_a_poller_that_outlives_its_drain_time_is_retired(stack: Stack) -> None:
    stack.streams.drain_s = 0  # the new poller gives up on the old one at once
    db, arn = table(stack, "drained")
    stack.streams.add(mapping(arn, UUID))
    put(db, "drained", 1)
    wait_for(lambda: SEEN == ["1"])
    old = stack.streams.get(UUID)
    stack.streams.remove(UUID, keep_checkpoint=True)
    stack.streams.add(mapping(arn, UUID))
    # The old batch never settled: the new poller reads it again (at least once), and only it moves the checkpoint.
    wait_for(lambda: SEEN == ["1", "1"])
    RELEASE.set()
    assert old.join(5)
    wait_for(lambda: bool(stack.streams.get(UUID).outcomes))
    assert [o.status for o in old.outcomes] == ["ok"]  # it ended, but wrote nothing
    assert stack.streams.checkpoints.get(UUID) == int(stack.streams.get(UUID).outcomes[-1].last_sequence)


def test_a_skipped_batch_goes_to_an_s3_destination_with_its_records(stack: Stack) -> None:
    stack.streams.objects = stack.local.objects
    stack.local.objects.inner.create_bucket("stream-failures")
    db, arn = table(stack, "failing")
    stack.streams.add(
        StreamMapping(
            table=arn,
            function="Fails",
            starting_position="TRIM_HORIZON",
            max_retry_attempts=0,
            on_failure="arn:aws:s3:::stream-failures",
            uuid=UUID,
        )
    )
    put(db, "failing", 7)
    wait_for(lambda: bool(list(stack.local.objects.list("stream-failures"))))
    [info] = list(stack.local.objects.list("stream-failures"))
    parts = info.key.split("/")
    assert parts[:3] == ["aws", "lambda", UUID] and parts[3].startswith("shardId-")
    assert len(parts) == 8 and len(parts[4]) == 4 and parts[7].startswith(f"{parts[4]}-{parts[5]}-{parts[6]}T")
    document = json.loads(stack.local.objects.get("stream-failures", info.key))
    assert document["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert document["DDBStreamBatchInfo"]["batchSize"] == 1
    records = json.loads(document["payload"])["Records"]
    assert [r["dynamodb"]["Keys"] for r in records] == [{"n": {"N": "7"}}]
