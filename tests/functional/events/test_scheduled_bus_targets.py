"""Scheduler schedules targeting an event bus or a log group, through the stack's own wiring (build_stack)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sluiceway.clock import FakeClock
from sluiceway.events.patterns import compile_pattern
from sluiceway.events.rules import Rule, Target, bus_arn
from sluiceway.events.scheduler import ScheduleRecord
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

T0 = datetime(2026, 3, 2, 9, 0, 30, tzinfo=UTC)
ROLE = "arn:aws:iam::123456789012:role/scheduler"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    built = build_stack(Settings.load(data_dir=tmp_path / "data"), app=None, clock=FakeClock(T0), invoker_mode="thread")
    yield built
    built.close()


def schedule(stack: Stack, name: str, target: dict[str, Any]) -> None:
    now = stack.scheduler.clock.now()
    record = ScheduleRecord(
        group="default",
        name=name,
        expression="rate(1 minute)",
        timezone="UTC",
        target={"RoleArn": ROLE, **target},
        flexible_window={"Mode": "OFF"},
        state="ENABLED",
        created_at=now,
        updated_at=now,
    )
    stack.local.schedules.create_schedule(replace(record, next_fire_at=record.first_occurrence(now - timedelta(microseconds=1))))


def received(stack: Stack, queue: str) -> list[tuple[dict[str, Any], dict[str, str]]]:
    return [(json.loads(m.body), dict(m.attributes)) for m in stack.local.queues.receive(queue, max_messages=10)]


def settle(stack: Stack) -> None:
    for _ in range(20):
        stack.scheduler.run_pending()
        stack.router.deliver_pending()
        if not stack.local.bus.unrouted() and all(d.status != "pending" for d in stack.local.bus.deliveries()):
            return
    raise AssertionError("deliveries never settled")


def test_a_schedule_puts_its_event_on_a_bus_whose_rules_route_it(stack: Stack) -> None:
    settings = stack.settings
    for queue in ("got", "dead"):
        stack.local.queues.create_queue(queue)
    stack.local.bus.create_bus("orders")
    stack.local.bus.put_rule(
        Rule("work", compile_pattern({"source": ["my.app"]}), (Target("q", stack.local.queues.queue_arn("got")),), bus="orders")
    )
    orders = bus_arn("orders", region=settings.region, account=settings.account_id)
    schedule(stack, "to-bus", {"Arn": orders, "Input": '{"n": 1}', "EventBridgeParameters": {"DetailType": "Tick", "Source": "my.app"}})
    settle(stack)
    [(event, _)] = received(stack, "got")
    assert (event["source"], event["detail-type"], event["detail"]) == ("my.app", "Tick", {"n": 1})
    assert event["resources"] == [f"arn:aws:scheduler:{settings.region}:{settings.account_id}:schedule/default/to-bus"]
    assert [f.status for f in stack.local.schedules.fires()] == ["delivered"]
    # Put there directly, the event may be sent on by that bus's rules like any event put on it.
    assert stack.local.bus.find(event) is not None


def test_a_schedule_without_parameters_or_to_a_log_group_is_refused_to_its_dead_letter_queue(stack: Stack) -> None:
    settings = stack.settings
    stack.local.queues.create_queue("dead")
    stack.local.logs.create_group("/aws/events/ticks")
    dead = {"DeadLetterConfig": {"Arn": stack.local.queues.queue_arn("dead")}}
    orders = bus_arn("default", region=settings.region, account=settings.account_id)
    group = f"arn:aws:logs:{settings.region}:{settings.account_id}:log-group:/aws/events/ticks"
    schedule(stack, "no-params", {"Arn": orders, **dead})
    schedule(stack, "to-logs", {"Arn": group, **dead})
    settle(stack)
    codes = sorted((a["SCHEDULE_ARN"].rsplit("/", 1)[-1], a["ERROR_CODE"]) for _, a in received(stack, "dead"))
    assert codes == [("no-params", "ValidationException"), ("to-logs", "ValidationException")]
    assert sorted(f.status for f in stack.local.schedules.fires()) == ["dead-lettered", "dead-lettered"]
    assert stack.local.logs.streams("/aws/events/ticks") == []
    assert stack.local.bus.unrouted() == [] and stack.local.bus.deliveries() == []


def test_a_schedule_sends_to_a_fifo_queue_in_its_targets_message_group(stack: Stack) -> None:
    stack.local.queues.create_queue("ticks.fifo", fifo=True, content_based_dedup=True)  # Scheduler needs it
    schedule(
        stack,
        "to-fifo",
        {"Arn": stack.local.queues.queue_arn("ticks.fifo"), "Input": '{"n": 1}', "SqsParameters": {"MessageGroupId": "g1"}},
    )
    settle(stack)
    [message] = stack.local.queues.receive("ticks.fifo", max_messages=10)
    assert json.loads(message.body) == {"n": 1} and message.group_id == "g1"
    assert [f.status for f in stack.local.schedules.fires()] == ["delivered"]


def test_a_schedule_to_a_fifo_queue_without_content_based_deduplication_fails_its_fires(stack: Stack) -> None:
    # Scheduler sends no deduplication id: such a queue refuses the message, as on AWS.
    stack.local.queues.create_queue("plain.fifo", fifo=True)
    stack.local.queues.create_queue("dead")
    dead = {"DeadLetterConfig": {"Arn": stack.local.queues.queue_arn("dead")}, "RetryPolicy": {"MaximumRetryAttempts": 0}}
    target = {"Arn": stack.local.queues.queue_arn("plain.fifo"), "Input": "{}", "SqsParameters": {"MessageGroupId": "g1"}, **dead}
    schedule(stack, "to-plain-fifo", target)
    settle(stack)
    assert stack.local.queues.receive("plain.fifo", max_messages=10) == []
    assert [f.status for f in stack.local.schedules.fires()] == ["dead-lettered"]
