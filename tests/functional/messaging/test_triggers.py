"""Queue -> function triggers on the SQLite queue and the thread-mode function runtime."""

from __future__ import annotations

import hashlib
from typing import Any

import messaging_handlers as handlers
import pytest

from sluiceway.backends.local.queues import SqliteQueueService
from sluiceway.clock import FakeClock
from sluiceway.runtime.lambdas.invoker import LocalFunctionInvoker
from sluiceway.runtime.messaging.triggers import (
    EventSourceMapping,
    EventSourceMappings,
    QueuePoller,
    batch_item_failures,
)

QUEUE_ARN = "arn:aws:sqs:us-east-1:111111111111:work"


def poller(
    queues: SqliteQueueService, invoker: LocalFunctionInvoker, clock: FakeClock, **kwargs: Any
) -> QueuePoller:
    function = kwargs.pop("function", "Record")
    return QueuePoller(
        EventSourceMapping("work", function, **kwargs),
        queues,
        invoker,
        clock=clock,
        region="us-east-1",
        account_id="111111111111",
        poll_wait_s=0.05,
        backoff_s=(0.01, 0.02),
    )


def test_a_batch_gets_lambdas_sqs_event_and_is_deleted(
    queues: SqliteQueueService, invoker: LocalFunctionInvoker, clock: FakeClock
) -> None:
    queues.create_queue("work")
    first = queues.send("work", "one", attributes={"kind": "a"})
    queues.send("work", "two")
    outcome = poller(queues, invoker, clock, batch_size=10).poll_once()
    assert outcome is not None and outcome.ok and (outcome.received, outcome.deleted) == (2, 2)
    [event] = handlers.EVENTS
    record = next(r for r in event["Records"] if r["messageId"] == first)
    assert record["body"] == "one"
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == QUEUE_ARN
    assert record["awsRegion"] == "us-east-1"
    assert record["md5OfBody"] == hashlib.md5(b"one").hexdigest()
    assert record["receiptHandle"]
    assert record["messageAttributes"] == {
        "kind": {
            "stringValue": "a",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        }
    }
    attributes = record["attributes"]
    assert attributes["ApproximateReceiveCount"] == "1"
    assert attributes["SentTimestamp"] == str(int(clock.now().timestamp() * 1000))
    assert {"SenderId", "ApproximateFirstReceiveTimestamp"} <= set(attributes)
    assert (
        queues.queue_attributes("work").available + queues.queue_attributes("work").in_flight == 0
    )


def test_batch_size_limits_a_batch(
    queues: SqliteQueueService, invoker: LocalFunctionInvoker, clock: FakeClock
) -> None:
    queues.create_queue("work")
    for n in range(5):
        queues.send("work", str(n))
    outcome = poller(queues, invoker, clock, batch_size=2).poll_once()
    assert outcome is not None and outcome.received == 2
    assert queues.queue_attributes("work").available == 3


def test_an_empty_queue_invokes_nothing(
    queues: SqliteQueueService, invoker: LocalFunctionInvoker, clock: FakeClock
) -> None:
    queues.create_queue("work")
    assert poller(queues, invoker, clock).poll_once() is None
    assert handlers.EVENTS == []


def test_a_failed_batch_returns_after_the_visibility_timeout(
    queues: SqliteQueueService, invoker: LocalFunctionInvoker, clock: FakeClock
) -> None:
    queues.create_queue("work", visibility_timeout_s=30)
    queues.send("work", "x")
    run = poller(queues, invoker, clock, function="Fail")
    outcome = run.poll_once()
    assert outcome is not None and outcome.error is not None and "RuntimeError" in outcome.error
    assert run.poll_once() is None  # hidden while the visibility timeout runs
    clock.advance(30)
    again = run.poll_once()
    assert (
        again is not None
        and handlers.EVENTS[-1]["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"
    )
    assert run.stats()["failed_batches"] == 2


def test_reported_item_failures_return_only_those_messages(
    queues: SqliteQueueService, invoker: LocalFunctionInvoker, clock: FakeClock
) -> None:
    queues.create_queue("work", visibility_timeout_s=10)
    queues.send("work", "good")
    bad = queues.send("work", "bad")
    queues.send("work", "good")
    outcome = poller(
        queues, invoker, clock, function="Partial", report_batch_item_failures=True
    ).poll_once()
    assert outcome is not None and (outcome.deleted, outcome.failed_ids, outcome.error) == (
        2,
        (bad,),
        None,
    )
    clock.advance(10)
    [back] = queues.receive("work")
    assert (back.message_id, back.receive_count) == (bad, 2)


def test_without_report_batch_item_failures_the_response_is_ignored(
    queues: SqliteQueueService, invoker: LocalFunctionInvoker, clock: FakeClock
) -> None:
    queues.create_queue("work")
    queues.send("work", "bad")
    outcome = poller(queues, invoker, clock, function="Partial").poll_once()
    assert outcome is not None and outcome.deleted == 1


def test_a_malformed_batch_response_fails_the_whole_batch(
    queues: SqliteQueueService, invoker: LocalFunctionInvoker, clock: FakeClock
) -> None:
    queues.create_queue("work", visibility_timeout_s=10)
    queues.send("work", "a")
    queues.send("work", "b")
    outcome = poller(
        queues, invoker, clock, function="Malformed", report_batch_item_failures=True
    ).poll_once()
    assert outcome is not None and outcome.deleted == 0 and outcome.error is not None
    assert "malformed" in outcome.error
    clock.advance(10)
    assert len(queues.receive("work", max_messages=10)) == 2


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "m1"}]}, {"m1"}),
        ("done", None),
        ([], None),
        ({"batchItemFailures": {"itemIdentifier": "m1"}}, None),
        ({"batchItemFailures": ["m1"]}, None),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, None),
        ({"batchItemFailures": [{"id": "m1"}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": "m9"}]}, None),
    ],
)
def test_batch_item_failure_responses_follow_lambdas_rules(
    response: Any, expected: set[str] | None
) -> None:
    assert batch_item_failures(response, ["m1", "m2"]) == expected


def test_a_poison_message_ends_in_the_dead_letter_queue_with_its_receive_count(
    queues: SqliteQueueService, invoker: LocalFunctionInvoker, clock: FakeClock
) -> None:
    queues.create_queue("work-dlq")
    queues.create_queue(
        "work",
        visibility_timeout_s=30,
        redrive_policy={"deadLetterTargetArn": "work-dlq", "maxReceiveCount": 3},
    )
    poison = queues.send("work", "poison")
    run = poller(queues, invoker, clock, function="Fail")
    for _ in range(3):
        outcome = run.poll_once()
        assert outcome is not None and outcome.error is not None
        clock.advance(30)
    assert run.poll_once() is None  # the fourth receive moved it
    [dead] = queues.peek("work-dlq")
    assert (dead.message_id, dead.body, dead.receive_count, dead.dead_letter_source) == (
        poison,
        "poison",
        3,
        "work",
    )
    assert queues.peek("work") == []
    assert len(handlers.EVENTS) == 3


def test_a_poison_message_reaches_the_dead_letter_queue_with_the_poller_thread(
    queues: SqliteQueueService, invoker: LocalFunctionInvoker, clock: FakeClock
) -> None:
    queues.create_queue("work-dlq")
    queues.create_queue(
        "work",
        visibility_timeout_s=0,
        redrive_policy={"deadLetterTargetArn": "work-dlq", "maxReceiveCount": 3},
    )
    queues.send("work", "poison")
    queues.send("work", "fine")
    mappings = EventSourceMappings(
        queues, invoker, clock=clock, poll_wait_s=0.05, backoff_s=(0.01, 0.02)
    )
    run = mappings.add(EventSourceMapping("work", "Fail", batch_size=1))
    with mappings:
        assert run.wait_for_batches(6, timeout=10)
        assert queues.wait_for_receivers("work", timeout=10)  # polling again: nothing left to fail
    dead = queues.peek("work-dlq")
    assert sorted((m.body, m.receive_count) for m in dead) == [("fine", 3), ("poison", 3)]
    assert run.stats()["failed_batches"] == 6


def test_a_mapping_runs_at_most_max_concurrency_batches(
    queues: SqliteQueueService, invoker: LocalFunctionInvoker, clock: FakeClock
) -> None:
    queues.create_queue("work")
    for n in range(6):
        queues.send("work", str(n))
    mappings = EventSourceMappings(queues, invoker, clock=clock, poll_wait_s=0.05)
    run = mappings.add(EventSourceMapping("work", "Slow", batch_size=1, max_concurrency=2))
    try:
        mappings.start()
        assert handlers.wait_for_active(2)
        assert run.stats()["in_flight"] == 2
        assert queues.queue_attributes("work").available == 4  # no third batch taken
        handlers.RELEASE.set()
        assert run.wait_for_batches(6, timeout=10)
    finally:
        handlers.RELEASE.set()
        mappings.close()
    assert handlers.PEAK[0] == 2
    assert run.stats()["peak_in_flight"] == 2


def test_a_function_limit_holds_across_mappings(
    queues: SqliteQueueService, invoker: LocalFunctionInvoker, clock: FakeClock
) -> None:
    queues.create_queue("work")
    queues.create_queue("more")
    for n in range(3):
        queues.send("work", str(n))
        queues.send("more", str(n))
    mappings = EventSourceMappings(
        queues, invoker, clock=clock, poll_wait_s=0.05, function_concurrency={"Slow": 1}
    )
    first = mappings.add(EventSourceMapping("work", "Slow", batch_size=1))
    second = mappings.add(EventSourceMapping("more", "Slow", batch_size=1))
    try:
        mappings.start()
        assert handlers.wait_for_active(1)
        assert first.stats()["in_flight"] + second.stats()["in_flight"] == 1
        handlers.RELEASE.set()
        assert first.wait_for_batches(3, timeout=10) and second.wait_for_batches(3, timeout=10)
    finally:
        handlers.RELEASE.set()
        mappings.close()
    assert handlers.PEAK[0] == 1


def test_one_queue_triggers_a_function_once() -> None:
    mappings = EventSourceMappings(None, None, clock=FakeClock())  # type: ignore[arg-type]
    mappings.add(EventSourceMapping("work", "Record"))
    with pytest.raises(ValueError, match="already exists"):
        mappings.add(EventSourceMapping("arn:aws:sqs:us-east-1:111111111111:work", "Record"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "BatchSize must be between 1 and 10000"),
        (
            {"batch_size": 10_001, "max_batching_window_s": 1},
            "BatchSize must be between 1 and 10000",
        ),
        ({"batch_size": 11}, "greater than 0 if maximum batch size is greater than 10"),
        ({"max_batching_window_s": 301}, "MaximumBatchingWindowInSeconds"),
        ({"max_concurrency": 1}, "MaximumConcurrency must be between 2 and 1000"),
        (
            {"queue": "jobs.fifo", "batch_size": 11, "max_batching_window_s": 1},
            "between 1 and 10 for FIFO",
        ),
    ],
)
def test_mappings_lambda_refuses(kwargs: dict[str, Any], message: str) -> None:
    settings: dict[str, Any] = {"queue": "work", "function": "Record", **kwargs}
    with pytest.raises(ValueError, match=message):
        EventSourceMapping(**settings)


def test_a_batching_window_gathers_up_to_batch_size(
    queues: SqliteQueueService, invoker: LocalFunctionInvoker, clock: FakeClock
) -> None:
    queues.create_queue("work")
    for n in range(25):
        queues.send("work", str(n))
    outcome = poller(queues, invoker, clock, batch_size=20, max_batching_window_s=1).poll_once()
    assert outcome is not None and outcome.received == 20
    assert len(handlers.EVENTS[0]["Records"]) == 20


def test_a_fifo_batch_that_outlived_its_visibility_timeout_is_received_again_not_crashed(
    queues: SqliteQueueService, invoker: LocalFunctionInvoker, clock: FakeClock
) -> None:
    # SQS refuses a FIFO receipt once its message is visible again ("The receipt handle has
    # expired."): the batch is not deleted and comes back, as Lambda retries it on AWS.
    queues.create_queue("work.fifo", fifo=True, content_based_dedup=True, visibility_timeout_s=30)
    queues.send("work.fifo", "one", group_id="g")
    queues.send("work.fifo", "two", group_id="g")
    run = QueuePoller(
        EventSourceMapping("work.fifo", "Outlive", batch_size=10),
        queues,
        invoker,
        clock=clock,
        region="us-east-1",
        account_id="111111111111",
        poll_wait_s=0.05,
        backoff_s=(0.01, 0.02),
    )
    handlers.DURING[0] = lambda: clock.advance(31)
    late = run.poll_once()
    assert late is not None and late.error is None and (late.received, late.deleted) == (2, 0)
    handlers.DURING[0] = None
    again = run.poll_once()
    assert again is not None and (again.received, again.deleted) == (2, 2)
    assert [r["attributes"]["ApproximateReceiveCount"] for r in handlers.EVENTS[-1]["Records"]] == ["2", "2"]
    assert queues.queue_attributes("work.fifo").available + queues.queue_attributes("work.fifo").in_flight == 0
