"""Event filtering on queue -> function triggers: the SQLite queue, a real trigger, thread-mode functions."""

from __future__ import annotations

import json
import time
from typing import Any

import messaging_handlers as handlers
import pytest

from sluiceway.backends.local.queues import SqliteQueueService
from sluiceway.clock import FakeClock
from sluiceway.events.lambda_filters import FilterCriteriaError
from sluiceway.runtime.lambdas.invoker import LocalFunctionInvoker
from sluiceway.runtime.messaging.triggers import EventSourceMapping, EventSourceMappings, QueuePoller

BBBB_ONLY = {"Filters": [{"Pattern": json.dumps({"body": {"RequestCode": ["BBBB"]}})}]}


def poller(queues: SqliteQueueService, invoker: LocalFunctionInvoker, clock: FakeClock, **kwargs: Any) -> QueuePoller:
    return QueuePoller(
        EventSourceMapping("work", kwargs.pop("function", "Record"), **kwargs),
        queues,
        invoker,
        clock=clock,
        region="us-east-1",
        account_id="111111111111",
        poll_wait_s=0.05,
        backoff_s=(0.01, 0.02),
    )


def bodies(events: list[dict[str, Any]]) -> list[str]:
    return [r["body"] for event in events for r in event["Records"]]


def test_messages_matching_no_filter_are_deleted_without_invoking_the_function(
    queues: SqliteQueueService, invoker: LocalFunctionInvoker, clock: FakeClock
) -> None:
    queues.create_queue("work", visibility_timeout_s=30)
    queues.send("work", json.dumps({"RequestCode": "AAAA"}))
    kept = queues.send("work", json.dumps({"RequestCode": "BBBB"}))
    queues.send("work", "plain text")
    outcome = poller(queues, invoker, clock, filter_criteria=BBBB_ONLY).poll_once()
    assert outcome is not None and outcome.ok and (outcome.received, outcome.deleted) == (1, 1)
    [event] = handlers.EVENTS
    assert [r["messageId"] for r in event["Records"]] == [kept]
    # The function gets the body as sent, not as the filter read it.
    assert event["Records"][0]["body"] == json.dumps({"RequestCode": "BBBB"})
    # Nothing comes back after the visibility timeout: the filtered messages are gone, not hidden.
    clock.advance(31)
    counts = queues.queue_attributes("work")
    assert (counts.available, counts.in_flight) == (0, 0)


def test_when_nothing_passes_the_function_is_not_invoked_at_all(
    queues: SqliteQueueService, invoker: LocalFunctionInvoker, clock: FakeClock
) -> None:
    queues.create_queue("work")
    for code in ("AAAA", "CCCC"):
        queues.send("work", json.dumps({"RequestCode": code}))
    run = poller(queues, invoker, clock, filter_criteria=BBBB_ONLY)
    assert run.poll_once() is None
    assert handlers.EVENTS == []
    assert run.stats()["filtered"] == 2 and run.stats()["batches"] == 0
    assert queues.queue_attributes("work").available == 0


def test_filters_are_ored_and_plain_bodies_match_string_rules(
    queues: SqliteQueueService, invoker: LocalFunctionInvoker, clock: FakeClock
) -> None:
    queues.create_queue("work")
    for body in ("Result: ok", json.dumps({"RequestCode": "BBBB"}), "Error: no", json.dumps({"RequestCode": "AAAA"})):
        queues.send("work", body)
    either = {"Filters": [*BBBB_ONLY["Filters"], {"Pattern": json.dumps({"body": [{"prefix": "Result: "}]})}]}
    outcome = poller(queues, invoker, clock, filter_criteria=either).poll_once()
    assert outcome is not None and outcome.received == 2
    assert sorted(bodies(handlers.EVENTS)) == sorted(["Result: ok", json.dumps({"RequestCode": "BBBB"})])


def test_a_failed_batch_of_matching_messages_returns_to_the_queue_as_usual(
    queues: SqliteQueueService, invoker: LocalFunctionInvoker, clock: FakeClock
) -> None:
    queues.create_queue("work", visibility_timeout_s=30)
    queues.send("work", json.dumps({"RequestCode": "BBBB"}))
    queues.send("work", json.dumps({"RequestCode": "AAAA"}))
    run = poller(queues, invoker, clock, function="Fail", filter_criteria=BBBB_ONLY)
    outcome = run.poll_once()
    assert outcome is not None and outcome.error is not None and outcome.received == 1
    clock.advance(30)
    again = run.poll_once()
    assert again is not None and again.received == 1
    assert bodies(handlers.EVENTS) == [json.dumps({"RequestCode": "BBBB"})] * 2


def test_a_batching_window_fills_with_matching_messages_only(
    queues: SqliteQueueService, invoker: LocalFunctionInvoker, clock: FakeClock
) -> None:
    queues.create_queue("work")
    for n in range(12):
        queues.send("work", json.dumps({"RequestCode": "BBBB" if n % 3 == 0 else "AAAA", "n": n}))
    run = poller(queues, invoker, clock, batch_size=20, max_batching_window_s=1, filter_criteria=BBBB_ONLY)
    outcome = run.poll_once()
    assert outcome is not None and outcome.received == 4
    assert [json.loads(b)["n"] for b in bodies(handlers.EVENTS)] == [0, 3, 6, 9]
    assert run.stats()["filtered"] == 8


def test_a_running_trigger_filters_what_arrives(queues: SqliteQueueService, invoker: LocalFunctionInvoker, clock: FakeClock) -> None:
    queues.create_queue("work")
    mappings = EventSourceMappings(queues, invoker, clock=clock, poll_wait_s=0.05, backoff_s=(0.01, 0.02))
    run = mappings.add(EventSourceMapping("work", "Record", filter_criteria=BBBB_ONLY))
    with mappings:
        queues.send("work", json.dumps({"RequestCode": "AAAA"}))
        queues.send("work", json.dumps({"RequestCode": "BBBB", "n": 1}))
        assert handlers.wait_for_events(1, timeout=5)
        deadline = time.monotonic() + 5
        while run.stats()["filtered"] < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert bodies(handlers.EVENTS) == [json.dumps({"RequestCode": "BBBB", "n": 1})]
    assert run.stats()["filtered"] == 1
    assert queues.queue_attributes("work").available == 0


@pytest.mark.parametrize(
    ("criteria", "code"),
    [
        ({"Filters": [{"Pattern": "{not json"}]}, "InvalidParameterValueException"),
        ({"Filters": [{"Pattern": json.dumps({"n": [n]})} for n in range(6)]}, "InvalidParameterValueException"),
        ({"Filters": [{"Pattern": '{"body": ["x"]}' + " " * 4096}]}, "ValidationException"),
    ],
)
def test_a_mapping_with_criteria_lambda_refuses_is_not_made(criteria: dict[str, Any], code: str) -> None:
    with pytest.raises(FilterCriteriaError) as info:
        EventSourceMapping("work", "Record", filter_criteria=criteria)
    assert info.value.code == code
