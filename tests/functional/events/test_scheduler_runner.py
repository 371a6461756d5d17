"""The schedule runner on the local SQLite store, driven by a fake clock: fires, retries, DLQs, restarts."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.events import SqliteEventBus
from sluiceway.backends.local.schedules import SqliteSchedules
from sluiceway.clock import FakeClock
from sluiceway.errors import NotFoundError
from sluiceway.events.patterns import compile_pattern
from sluiceway.events.rules import NO_PATTERN, Delivery, Rule, Target
from sluiceway.events.scheduler import ScheduleRecord
from sluiceway.ports.events import DeadLetterSender, Deliver
from sluiceway.runtime.bus.router import EventRouter
from sluiceway.runtime.bus.scheduler import ScheduleRunner

REGION, ACCOUNT = "us-east-1", "123456789012"
T0 = datetime(2026, 3, 2, 9, 0, 30, tzinfo=UTC)
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:work"
DLQ = f"arn:aws:sqs:{REGION}:{ACCOUNT}:dead"


@dataclass
class Targets:
    """A target resolver that records what it is given, and fails while told to."""

    delivered: list[Delivery] = field(default_factory=list)
    dead: list[tuple[str, str, Mapping[str, str]]] = field(default_factory=list)
    failing: bool = False

    def resolve(self, arn: str) -> Deliver:
        if ":missing" in arn:
            raise NotFoundError(f"no local queue {arn}")

        def deliver(delivery: Delivery) -> None:
            if self.failing:
                raise ConnectionError("target unavailable")
            self.delivered.append(delivery)

        return deliver

    def dead_letter(self, arn: str) -> DeadLetterSender:
        return lambda body, attributes: self.dead.append((arn, body, attributes))


@dataclass
class World:
    clock: FakeClock
    schedules: SqliteSchedules
    bus: SqliteEventBus
    targets: Targets
    db: Database

    def runner(self) -> ScheduleRunner:
        return ScheduleRunner(
            self.schedules, self.bus, resolver=self.targets, clock=self.clock, region=REGION, account=ACCOUNT, rng=lambda: 0.0
        )

    def schedule(self, name: str, expression: str, **changes: Any) -> ScheduleRecord:
        now = self.clock.now()
        record = ScheduleRecord(
            group="default",
            name=name,
            expression=expression,
            timezone="UTC",
            target={"Arn": QUEUE, "RoleArn": "arn:aws:iam::123456789012:role/r", "Input": '{"n": "<aws.scheduler.scheduled-time>"}',
                    "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 3600}},
            flexible_window={"Mode": "OFF"},
            state="ENABLED",
            created_at=now,
            updated_at=now,
        )  # fmt: skip
        record = replace(record, **changes)
        record = replace(record, next_fire_at=record.first_occurrence(now - timedelta(microseconds=1)))
        self.schedules.create_schedule(record)
        return record


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    clock = FakeClock(T0)
    db = Database(tmp_path / "db.sqlite")
    yield World(clock, SqliteSchedules(db, clock, region=REGION, account_id=ACCOUNT), SqliteEventBus(db, clock), Targets(), db)
    db.close()


def test_a_rate_fires_at_once_then_every_period(world: World) -> None:
    runner = world.runner()
    world.schedule("every-minute", "rate(1 minute)")
    assert runner.run_pending() == 1
    assert runner.run_pending() == 0  # not due again yet
    world.clock.advance(59)
    assert runner.run_pending() == 0
    world.clock.advance(1)
    assert runner.run_pending() == 1
    first, second = world.targets.delivered
    assert first.input == {"n": "2026-03-02T09:00:30Z"} and second.input == {"n": "2026-03-02T09:01:30Z"}
    assert first.target_arn == QUEUE and first.rule_arn.endswith(":schedule/default/every-minute")


def test_an_occurrence_fires_once_however_many_runners(world: World) -> None:
    world.schedule("shared", "rate(5 minutes)")
    one, two = world.runner(), world.runner()
    assert one.run_pending() + two.run_pending() == 1
    assert [f.status for f in world.schedules.fires()] == ["delivered"]


def test_a_fire_in_flight_survives_a_restart(world: World) -> None:
    world.schedule("restart", "rate(1 hour)")
    world.targets.failing = True
    world.runner().run_pending()  # fired, attempted once, failed: pending with its backoff
    [fire] = world.schedules.fires()
    assert (fire.status, fire.attempts) == ("pending", 1)
    world.targets.failing = False
    world.clock.advance(5)
    assert world.runner().run_pending() == 1  # a new runner carries on; the occurrence is not fired again
    assert len(world.schedules.fires()) == 1 and len(world.targets.delivered) == 1


def test_occurrences_missed_while_down_fire_once_within_the_window(world: World) -> None:
    world.schedule("catch-up", "rate(10 minutes)")
    world.runner().run_pending()
    world.clock.advance(45 * 60)  # four occurrences came while no runner ran; the age window is an hour
    world.runner().run_pending()
    assert [d.input for d in world.targets.delivered] == [{"n": "2026-03-02T09:00:30Z"}, {"n": "2026-03-02T09:40:30Z"}]
    world.clock.advance(3 * 3600)  # past the window: the missed ones are skipped, the schedule moves on
    world.runner().run_pending()
    assert len(world.targets.delivered) == 3 and world.targets.delivered[-1].input == {"n": "2026-03-02T12:40:30Z"}
    world.clock.advance(20 * 60)
    world.runner().run_pending()
    assert world.targets.delivered[-1].input == {"n": "2026-03-02T13:00:30Z"}


def test_a_one_time_schedule_with_delete_fires_once_and_goes(world: World) -> None:
    world.schedule("once", "at(2026-03-02T09:05:00)", action_after_completion="DELETE")
    runner = world.runner()
    assert runner.run_pending() == 0
    world.clock.advance(270)
    assert runner.run_pending() == 1
    with pytest.raises(NotFoundError):
        world.schedules.get_schedule("default", "once")
    world.clock.advance(3600)
    assert runner.run_pending() == 0


def test_an_end_date_ends_a_schedule(world: World) -> None:
    world.schedule("ending", "rate(1 minute)", end=T0 + timedelta(seconds=90))
    runner = world.runner()
    for _ in range(4):
        runner.run_pending()
        world.clock.advance(60)
    assert len(world.targets.delivered) == 2
    assert world.schedules.get_schedule("default", "ending").next_fire_at is None


def test_retries_run_out_into_the_dead_letter_queue(world: World) -> None:
    target = {"Arn": QUEUE, "RoleArn": "r", "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
              "DeadLetterConfig": {"Arn": DLQ}, "Input": "plain text"}  # fmt: skip
    record = world.schedule("doomed", "rate(1 day)", target=target)
    world.targets.failing = True
    runner = world.runner()
    for _ in range(5):
        runner.run_pending()
        world.clock.advance(10)
    [(arn, body, attributes)] = world.targets.dead
    assert (arn, body) == (DLQ, "plain text")
    assert attributes["RETRY_ATTEMPTS"] == "2" and attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert attributes["SCHEDULE_ARN"] == record.arn(region=REGION, account=ACCOUNT)
    assert [f.status for f in world.schedules.fires()] == ["dead-lettered"]


def test_a_missing_target_goes_to_the_dead_letter_queue_at_once(world: World) -> None:
    target = {"Arn": f"{QUEUE}:missing", "RoleArn": "r", "DeadLetterConfig": {"Arn": DLQ}}
    world.schedule("nowhere", "rate(1 day)", target=target)
    world.runner().run_pending()
    [(_, body, attributes)] = world.targets.dead
    assert body == "{}" and attributes["ERROR_CODE"] == "ResourceNotFoundException"


def test_a_disabled_schedule_does_not_fire(world: World) -> None:
    world.schedule("off", "rate(1 minute)", state="DISABLED")
    world.clock.advance(600)
    assert world.runner().run_pending() == 0 and world.schedules.fires() == []


def test_a_scheduled_rule_sends_its_targets_a_scheduled_event(world: World) -> None:
    router = EventRouter(world.bus, resolver=world.targets, clock=world.clock, region=REGION, account=ACCOUNT)
    world.bus.put_rule(Rule("tick", NO_PATTERN, (Target("q", QUEUE),), schedule="rate(5 minutes)"))
    # a rule that matches every aws.events event must not see another rule's scheduled event
    world.bus.put_rule(Rule("spy", compile_pattern({"source": ["aws.events"]}), (Target("s", DLQ),)))
    runner = world.runner()
    runner.run_pending()
    router.deliver_pending()
    assert world.targets.delivered == []  # a rate rule first runs one period after it is made
    world.clock.advance(300)
    runner.run_pending()
    runner.run_pending()  # the occurrence is committed once
    router.deliver_pending()
    [delivery] = world.targets.delivered
    event = dict(delivery.event)
    assert (delivery.target_arn, event["source"], event["detail-type"], event["detail"]) == (QUEUE, "aws.events", "Scheduled Event", {})
    assert event["resources"] == [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/tick"]
    assert event["time"] == "2026-03-02T09:05:30Z"
    world.bus.put_rule(replace(world.bus.get_rule("tick"), state="DISABLED"))
    world.clock.advance(3600)
    runner.run_pending()
    router.deliver_pending()
    assert len(world.targets.delivered) == 1
    assert json.loads(json.dumps(event))["id"]
