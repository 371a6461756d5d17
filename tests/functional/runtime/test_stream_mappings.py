"""DynamoDB stream -> function mappings on a running local stack: events, checkpoints across restarts, failures."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sluiceway.backends.local.dynamodb import LocalDynamoDb
from sluiceway.clock import FakeClock
from sluiceway.runtime.lambdas.invoker import FunctionSpec
from sluiceway.runtime.messaging.streams import StreamMapping
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

REGION = "us-east-1"

#: (function name, event) of every invocation of the handlers below (thread mode: this process).
RECEIVED: list[tuple[str, dict[str, Any]]] = []
_LOCK = threading.Lock()


def record(event: dict[str, Any], context: Any) -> None:
    with _LOCK:
        RECEIVED.append((context.function_name, event))


def fail(event: dict[str, Any], context: Any) -> None:
    record(event, context)
    raise RuntimeError("cannot handle these")


def report_odd(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Reports every record whose key ``n`` is odd as failed, the first time it sees it."""
    record(event, context)
    seen = sum(1 for name, _ in RECEIVED if name == context.function_name)
    failures = [
        {"itemIdentifier": r["dynamodb"]["SequenceNumber"]}
        for r in event["Records"]
        if int(r["dynamodb"]["Keys"]["n"]["N"]) % 2 and seen == 1
    ]
    return {"batchItemFailures": failures}


def events_of(function: str) -> list[dict[str, Any]]:
    with _LOCK:
        return [event for name, event in RECEIVED if name == function]


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
        for name, handler in (("StreamRecorder", "record"), ("StreamFails", "fail"), ("StreamPartial", "report_odd")):
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


def engine(stack: Stack) -> LocalDynamoDb:
    return LocalDynamoDb(stack.local.db, stack.local.clock, region=REGION, account_id=stack.settings.account_id)


def create_table(db: LocalDynamoDb, name: str, view_type: str = "NEW_AND_OLD_IMAGES") -> str:
    created = db.create_table(
        {
            "TableName": name,
            "KeySchema": [{"AttributeName": "n", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "n", "AttributeType": "N"}],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamEnabled": True, "StreamViewType": view_type},
        }
    )
    arn: str = created["TableDescription"]["LatestStreamArn"]
    return arn


def put(db: LocalDynamoDb, table: str, n: int, **attributes: str) -> None:
    db.put_item({"TableName": table, "Item": {"n": {"N": str(n)}, **{k: {"S": v} for k, v in attributes.items()}}})


def test_a_write_invokes_the_function_once_per_batch_with_lambdas_dynamodb_event(make_stack: Callable[[], Stack]) -> None:
    RECEIVED.clear()
    stack = make_stack()
    db = engine(stack)
    arn = create_table(db, "orders")
    db.transact_write_items(
        {"TransactItems": [{"Put": {"TableName": "orders", "Item": {"n": {"N": str(i)}, "v": {"S": "one"}}}} for i in (1, 2)]}
    )
    db.update_item(
        {
            "TableName": "orders",
            "Key": {"n": {"N": "1"}},
            "UpdateExpression": "SET v = :v",
            "ExpressionAttributeValues": {":v": {"S": "two"}},
        }
    )
    uuid = stack.streams.add(StreamMapping(table=arn, function="StreamRecorder", starting_position="TRIM_HORIZON"))
    stack.start("stream tests")
    wait_for(lambda: len(events_of("StreamRecorder")) == 1)
    [event] = events_of("StreamRecorder")
    assert [r["eventName"] for r in event["Records"]] == ["INSERT", "INSERT", "MODIFY"]
    first, _, modify = event["Records"]
    assert set(first) == {"eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb", "eventSourceARN"}
    assert first["eventVersion"] == "1.1" and first["eventSource"] == "aws:dynamodb" and first["awsRegion"] == REGION
    assert first["eventSourceARN"] == arn
    assert set(first["dynamodb"]) == {"ApproximateCreationDateTime", "Keys", "NewImage", "SequenceNumber", "SizeBytes", "StreamViewType"}
    assert first["dynamodb"]["Keys"] == {"n": {"N": "1"}} and first["dynamodb"]["NewImage"] == {"n": {"N": "1"}, "v": {"S": "one"}}
    assert isinstance(first["dynamodb"]["ApproximateCreationDateTime"], int)
    assert first["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert modify["dynamodb"]["OldImage"]["v"] == {"S": "one"} and modify["dynamodb"]["NewImage"]["v"] == {"S": "two"}

    # A later write wakes the poller at once (no slow poll): one more invocation, that record only.
    started = time.monotonic()
    db.delete_item({"TableName": "orders", "Key": {"n": {"N": "2"}}})
    wait_for(lambda: len(events_of("StreamRecorder")) == 2)
    assert time.monotonic() - started < 0.5
    [removal] = events_of("StreamRecorder")[1]["Records"]
    assert removal["eventName"] == "REMOVE" and "NewImage" not in removal["dynamodb"]
    assert removal["dynamodb"]["OldImage"] == {"n": {"N": "2"}, "v": {"S": "one"}}
    stack.streams.remove(uuid)
    put(db, "orders", 3)
    time.sleep(0.05)  # nothing may arrive: the mapping is gone
    assert len(events_of("StreamRecorder")) == 2


def test_a_restarted_stack_resumes_after_its_checkpoint(make_stack: Callable[[], Stack]) -> None:
    RECEIVED.clear()
    stack = make_stack()
    db = engine(stack)
    arn = create_table(db, "resumed")
    stack.streams.add(StreamMapping(table="resumed", function="StreamRecorder", starting_position="LATEST", batch_size=1))
    stack.start("stream tests")
    put(db, "resumed", 1)
    put(db, "resumed", 2)
    wait_for(lambda: len(events_of("StreamRecorder")) == 2)
    stack.close()

    again = make_stack()
    db = engine(again)
    put(db, "resumed", 3)  # written while no mapping runs
    # The same stream and function: the same mapping, which finds its checkpoint.
    again.streams.add(StreamMapping(table=arn, function="StreamRecorder", starting_position="LATEST", batch_size=1))
    again.start("stream tests")
    put(db, "resumed", 4)
    wait_for(lambda: len(events_of("StreamRecorder")) == 4)
    keys = [e["Records"][0]["dynamodb"]["Keys"]["n"]["N"] for e in events_of("StreamRecorder")]
    assert keys == ["1", "2", "3", "4"]


def test_a_failing_batch_is_retried_then_reported_to_the_on_failure_queue(make_stack: Callable[[], Stack]) -> None:
    RECEIVED.clear()
    stack = make_stack()
    stack.local.queues.create_queue("stream-failures")
    db = engine(stack)
    arn = create_table(db, "failing")
    stack.streams.add(
        StreamMapping(
            table=arn,
            function="StreamFails",
            starting_position="TRIM_HORIZON",
            max_retry_attempts=1,
            on_failure=stack.local.queues.queue_arn("stream-failures"),
        )
    )
    put(db, "failing", 1)
    put(db, "failing", 2)
    stack.start("stream tests")
    messages = stack.local.queues.receive("stream-failures", wait_s=10)
    assert len(events_of("StreamFails")) == 2  # the first try and one retry
    document = json.loads(messages[0].body)
    sequences = [r["dynamodb"]["SequenceNumber"] for r in events_of("StreamFails")[0]["Records"]]
    assert document["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert document["requestContext"]["approximateInvokeCount"] == 2
    assert document["requestContext"]["functionArn"] == f"arn:aws:lambda:{REGION}:{stack.settings.account_id}:function:StreamFails"
    assert document["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert document["version"] == "1.0" and document["timestamp"].endswith("Z")
    info = document["DDBStreamBatchInfo"]
    assert info["startSequenceNumber"] == sequences[0] and info["endSequenceNumber"] == sequences[-1]
    assert info["batchSize"] == 2 and info["streamArn"] == arn and info["shardId"].startswith("shardId-")
    assert info["approximateArrivalOfFirstRecord"].endswith("Z")
    # The batch was skipped: the next write is a batch of its own.
    put(db, "failing", 3)
    wait_for(lambda: len(events_of("StreamFails")) == 3)
    assert [r["dynamodb"]["Keys"]["n"]["N"] for r in events_of("StreamFails")[2]["Records"]] == ["3"]


def test_reported_item_failures_retry_from_the_lowest_failed_record(make_stack: Callable[[], Stack]) -> None:
    RECEIVED.clear()
    stack = make_stack()
    db = engine(stack)
    arn = create_table(db, "partial", "KEYS_ONLY")
    for n in (2, 3, 4, 5):
        put(db, "partial", n)
    stack.streams.add(StreamMapping(table=arn, function="StreamPartial", starting_position="TRIM_HORIZON", report_batch_item_failures=True))
    stack.start("stream tests")
    wait_for(lambda: len(events_of("StreamPartial")) == 2)
    batches = [[r["dynamodb"]["Keys"]["n"]["N"] for r in e["Records"]] for e in events_of("StreamPartial")]
    assert batches == [["2", "3", "4", "5"], ["3", "4", "5"]]


def test_bisection_isolates_the_failing_record(make_stack: Callable[[], Stack]) -> None:
    RECEIVED.clear()
    stack = make_stack()
    stack.local.queues.create_queue("bisect-failures")
    db = engine(stack)
    arn = create_table(db, "bisected")
    for n in (1, 2, 3, 4):
        put(db, "bisected", n)
    stack.streams.add(
        StreamMapping(
            table=arn,
            function="StreamFails",
            starting_position="TRIM_HORIZON",
            bisect_batch_on_function_error=True,
            max_retry_attempts=0,
            on_failure=stack.local.queues.queue_arn("bisect-failures"),
        )
    )
    stack.start("stream tests")
    wait_for(lambda: len(events_of("StreamFails")) >= 7)
    batches = [[r["dynamodb"]["Keys"]["n"]["N"] for r in e["Records"]] for e in events_of("StreamFails")]
    # 4 fail, split (no retry spent); 2 fail, split; each single record fails once (no retries
    # allowed) and is skipped; then the other half likewise.
    assert batches == [["1", "2", "3", "4"], ["1", "2"], ["1"], ["2"], ["3", "4"], ["3"], ["4"]]
    reports: list[dict[str, Any]] = []
    wait_for(
        lambda: (
            reports.extend(json.loads(m.body) for m in stack.local.queues.receive("bisect-failures", max_messages=10)) or len(reports) == 4
        )
    )
    assert sorted(r["DDBStreamBatchInfo"]["batchSize"] for r in reports) == [1, 1, 1, 1]
    assert len({r["DDBStreamBatchInfo"]["startSequenceNumber"] for r in reports}) == 4


def test_mappings_are_checked_as_lambda_checks_them(make_stack: Callable[[], Stack]) -> None:
    stack = make_stack()
    db = engine(stack)
    arn = create_table(db, "checked")
    with pytest.raises(ValueError, match="BatchSize"):
        StreamMapping(table=arn, function="StreamRecorder", batch_size=10_001)
    with pytest.raises(ValueError, match="MaximumRecordAgeInSeconds"):
        StreamMapping(table=arn, function="StreamRecorder", max_record_age_s=59)
    with pytest.raises(ValueError, match="StartingPosition"):
        StreamMapping(table=arn, function="StreamRecorder", starting_position="AT_TIMESTAMP")
    with pytest.raises(ValueError, match="Stream not found"):
        stack.streams.add(StreamMapping(table="no-such-table", function="StreamRecorder"))
    stack.streams.add(StreamMapping(table=arn, function="StreamRecorder"))
    with pytest.raises(ValueError, match="already exists"):
        stack.streams.add(StreamMapping(table="checked", function="StreamRecorder"))


def test_records_matching_no_filter_are_stepped_over(make_stack: Callable[[], Stack]) -> None:
    RECEIVED.clear()
    stack = make_stack()
    db = engine(stack)
    arn = create_table(db, "filtered")
    put(db, "filtered", 1, kind="skip")
    put(db, "filtered", 2, kind="keep")
    put(db, "filtered", 3, kind="skip")
    pattern = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"kind": {"S": ["keep"]}}}}
    uuid = stack.streams.add(
        StreamMapping(
            table=arn,
            function="StreamRecorder",
            starting_position="TRIM_HORIZON",
            filter_criteria={"Filters": [{"Pattern": json.dumps(pattern)}]},
        )
    )
    stack.start("stream tests")
    wait_for(lambda: len(events_of("StreamRecorder")) == 1)
    [event] = events_of("StreamRecorder")
    assert [r["dynamodb"]["Keys"]["n"]["N"] for r in event["Records"]] == ["2"]
    # A batch of records that all match no filter costs no invocation, and the checkpoint moves past it.
    put(db, "filtered", 4, kind="skip")
    poller = stack.streams.get(uuid)
    wait_for(lambda: any(o.status == "filtered" for o in poller.outcomes))
    assert len(events_of("StreamRecorder")) == 1
    assert stack.streams.checkpoints.get(uuid) == int(poller.outcomes[-1].last_sequence)
    with pytest.raises(ValueError, match="InvalidParameterValueException"):
        StreamMapping(table=arn, function="StreamFails", filter_criteria={"Filters": [{"Pattern": "not json"}]})


def test_records_older_than_the_maximum_age_are_reported_not_invoked(make_stack: Callable[[], Stack]) -> None:
    RECEIVED.clear()
    stack = make_stack()
    stack.local.queues.create_queue("aged-failures")
    db = engine(stack)
    arn = create_table(db, "aged")
    put(db, "aged", 1)
    # The record is written now; the mapping's clock reads a minute and a half later.
    stack.streams.clock = FakeClock(stack.local.clock.now() + timedelta(seconds=90))
    stack.streams.add(
        StreamMapping(
            table=arn,
            function="StreamRecorder",
            starting_position="TRIM_HORIZON",
            max_record_age_s=60,
            on_failure=stack.local.queues.queue_arn("aged-failures"),
        )
    )
    stack.start("stream tests")
    [message] = stack.local.queues.receive("aged-failures", wait_s=10)
    document = json.loads(message.body)
    assert document["requestContext"]["condition"] == "RecordAgeExceeded"
    assert document["requestContext"]["approximateInvokeCount"] == 0 and "responseContext" not in document
    assert events_of("StreamRecorder") == []
