"""Event bus and log group targets end to end: SQLite on tmp_path, a FakeClock, the router by hand."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.event_forwarding import SqliteEventForwarding
from sluiceway.backends.local.events import SqliteEventBus
from sluiceway.backends.local.logs import SqliteLogStore
from sluiceway.clock import FakeClock
from sluiceway.events.forwarding import bus_event, forward_key
from sluiceway.events.patterns import compile_pattern
from sluiceway.events.rules import ArchiveRecord, Delivery, InputTransformer, Rule, Target, bus_arn, rule_arn
from sluiceway.ports.events import DeadLetterSender, Deliver
from sluiceway.runtime.bus.bus_and_log_targets import BusAndLogTargets
from sluiceway.runtime.bus.router import EventRouter

REGION, ACCOUNT = "us-east-1", "111111111111"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:work"
DLQ = f"arn:aws:sqs:{REGION}:{ACCOUNT}:dead"
GROUP = "/aws/events/repro"
GROUP_ARN = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{GROUP}:*"
SHOP = compile_pattern({"source": ["shop"]})


@dataclass
class Recorder:
    """Queues that record what they get."""

    got: dict[str, list[Delivery]] = field(default_factory=lambda: defaultdict(list))
    dead: list[tuple[dict[str, Any], dict[str, str]]] = field(default_factory=list)

    def resolve(self, arn: str) -> Deliver:
        return self.got[arn].append

    def dead_letter(self, arn: str) -> DeadLetterSender:
        def send(body: str, attributes: Mapping[str, str]) -> None:
            self.dead.append((json.loads(body), dict(attributes)))

        return send


@dataclass
class World:
    clock: FakeClock
    bus: SqliteEventBus
    logs: SqliteLogStore
    forwarding: SqliteEventForwarding
    recorder: Recorder
    router: EventRouter

    def settle(self) -> None:
        for _ in range(50):
            self.router.deliver_pending()
            if not self.bus.unrouted() and all(d.status != "pending" for d in self.bus.deliveries()):
                return
        raise AssertionError("deliveries never settled")

    def rule(self, name: str, bus: str, *targets: Target) -> None:
        self.bus.put_rule(Rule(name, SHOP, targets, bus=bus))

    def put(self, bus: str = "default") -> str:
        [event_id] = self.bus.put_events(
            [
                {
                    "version": "0",
                    "detail-type": "Order Placed",
                    "source": "shop",
                    "account": ACCOUNT,
                    "time": "2024-03-01T12:30:00Z",
                    "region": REGION,
                    "resources": [],
                    "detail": {"order": 7},
                }
            ],
            bus=bus,
        )
        return event_id


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    clock = FakeClock()
    db = Database(tmp_path / "sluiceway.db")
    bus = SqliteEventBus(db, clock)
    logs = SqliteLogStore(tmp_path / "logs.db", lambda: int(clock.now().timestamp() * 1000))
    forwarding = SqliteEventForwarding(db, clock)
    recorder = Recorder()
    targets = BusAndLogTargets(recorder, forwarding, logs, clock=clock, region=REGION, account=ACCOUNT)
    router = EventRouter(bus, resolver=targets, region=REGION, account=ACCOUNT, rng=lambda: 0.0)
    yield World(clock, bus, logs, forwarding, recorder, router)
    router.close()
    logs.close()
    db.close()


def bus(name: str) -> str:
    return bus_arn(name, region=REGION, account=ACCOUNT)


def test_an_event_sent_to_another_bus_keeps_its_id_and_meets_that_buses_rules(world: World) -> None:
    world.bus.create_bus("orders")
    world.rule("forward", "default", Target("to-orders", bus("orders")))
    world.rule("work", "orders", Target("q", QUEUE))
    event_id = world.put()
    world.settle()
    [got] = world.recorder.got[QUEUE]
    assert got.input["id"] == event_id  # type: ignore[index]
    assert got.input["detail"] == {"order": 7}  # type: ignore[index]
    assert got.rule_arn == rule_arn("work", bus="orders", region=REGION, account=ACCOUNT)
    assert {d.status for d in world.bus.deliveries()} == {"delivered"}


def test_a_delivery_made_again_forwards_nothing_new(world: World) -> None:
    world.bus.create_bus("orders")
    world.rule("work", "orders", Target("q", QUEUE))
    event = {"version": "0", "id": "e1", "source": "shop", "detail-type": "x", "detail": {}}
    delivery = Delivery(dict(event), event, "forward", rule_arn("forward", region=REGION, account=ACCOUNT), "t", bus("orders"))
    assert world.forwarding.forward(bus_event(delivery), bus="orders", key=forward_key(delivery))
    assert not world.forwarding.forward(bus_event(delivery), bus="orders", key=forward_key(delivery))
    world.settle()
    assert len(world.recorder.got[QUEUE]) == 1


def test_an_event_from_another_bus_is_not_sent_on(world: World) -> None:
    world.bus.create_bus("a")
    world.bus.create_bus("b")
    world.rule("to-b", "a", Target("t", bus("b")))
    world.rule("back-to-a", "b", Target("t", bus("a")), Target("q", QUEUE))
    world.put("a")
    world.settle()
    assert len(world.recorder.got[QUEUE]) == 1
    assert [d.bus for d in world.bus.deliveries()].count("a") == 1  # nothing came back to a


def test_a_missing_bus_dead_letters_at_once(world: World) -> None:
    world.rule("forward", "default", Target("t", bus("nowhere"), dead_letter_arn=DLQ))
    world.rule("elsewhere", "default", Target("t", f"arn:aws:events:eu-west-1:{ACCOUNT}:event-bus/default", dead_letter_arn=DLQ))
    world.put()
    world.settle()
    assert sorted(a["ERROR_CODE"] for _, a in world.recorder.dead) == ["RESOURCE_NOT_FOUND"] * 2


def test_a_log_group_gets_the_event_in_its_stream_at_its_time(world: World) -> None:
    world.logs.create_group(GROUP)
    world.rule("log", "default", Target("t", GROUP_ARN))
    event_id = world.put()
    world.settle()
    [stream] = world.logs.streams(GROUP)
    [line] = world.logs.stream_events(GROUP, stream.name)
    assert line.timestamp_ms == 1709296200000
    assert json.loads(line.message)["id"] == event_id


def test_two_targets_writing_one_event_to_one_group_use_a_stream_each(world: World) -> None:
    world.logs.create_group(GROUP)
    world.rule("log", "default", Target("1", GROUP_ARN), Target("2", GROUP_ARN))
    event_id = world.put()
    world.settle()
    streams = world.logs.streams(GROUP)
    assert len(streams) == 2
    for stream in streams:
        [line] = world.logs.stream_events(GROUP, stream.name)
        assert json.loads(line.message)["id"] == event_id


def test_a_timestamp_out_of_range_dead_letters_at_once(world: World) -> None:
    world.logs.create_group(GROUP)
    template = InputTransformer('{"timestamp": <t>, "message": "x"}', {"t": "$.detail.order"})
    world.rule("log", "default", Target("t", GROUP_ARN, input_transformer=template, dead_letter_arn=DLQ))
    world.bus.put_events([{"source": "shop", "detail-type": "x", "detail": {"order": 99999999999999999999}}])
    world.settle()
    [(_, attributes)] = world.recorder.dead
    assert (attributes["ERROR_CODE"], attributes["RETRY_ATTEMPTS"]) == ("INVALID_PARAMETER", "0")
    assert world.logs.streams(GROUP) == []


def test_a_log_group_template_sets_the_message(world: World) -> None:
    world.logs.create_group(GROUP)
    template = InputTransformer('{"timestamp": <t>, "message": <m>}', {"t": "$.time", "m": "$.detail-type"})
    world.rule("log", "default", Target("t", GROUP_ARN, input_transformer=template))
    world.put()
    world.settle()
    [stream] = world.logs.streams(GROUP)
    [line] = world.logs.stream_events(GROUP, stream.name)
    assert (line.timestamp_ms, line.message) == (1709296200000, "Order Placed")


def test_a_missing_log_group_dead_letters_and_is_not_created(world: World) -> None:
    world.rule("log", "default", Target("t", GROUP_ARN, dead_letter_arn=DLQ))
    world.put()
    world.settle()
    [(_, attributes)] = world.recorder.dead
    assert attributes["ERROR_CODE"] == "RESOURCE_NOT_FOUND"
    assert not world.logs.has_group(GROUP)


def test_a_replay_sent_on_to_another_bus_stays_a_replay_and_is_not_archived_again(world: World) -> None:
    world.bus.create_bus("a")
    world.bus.create_bus("b")
    t0 = world.clock.now()
    world.bus.create_archive(ArchiveRecord("arch-b", "b", t0 - timedelta(seconds=1)))
    world.rule("to-b", "a", Target("t", bus("b")))
    world.rule("work", "b", Target("q", QUEUE))
    event_id = world.put("a")
    world.settle()
    archive = world.bus.get_archive("arch-b")
    held = world.bus.archive_size(archive)
    world.clock.advance(60)
    world.router.replay(t0 - timedelta(seconds=1), bus="a", name="r1")
    world.settle()
    got = [(d.input["id"], d.input.get("replay-name")) for d in world.recorder.got[QUEUE]]  # type: ignore[union-attr]
    assert got == [(event_id, None), (event_id, "r1")]
    assert world.bus.archive_size(archive) == held
    assert held[0] == 1


def test_the_same_event_on_two_buses_starts_a_run_per_rule_target(world: World) -> None:
    machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:process"
    world.bus.create_bus("audit")
    world.rule("fwd", "default", Target("to-audit", bus("audit")), Target("sm", machine))
    world.rule("audit-sm", "audit", Target("sm", machine))
    world.put()
    world.settle()
    runs = world.recorder.got[machine]
    assert sorted(d.rule for d in runs) == ["audit-sm", "fwd"]
    assert len({d.execution_name for d in runs}) == 2


def test_an_attempt_that_dies_after_forwarding_forwards_once_when_retried(world: World) -> None:
    calls: list[int] = []

    def dies_once() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("died after the commit")

    world.router.resolver.on_event = dies_once  # type: ignore[attr-defined]
    world.bus.create_bus("orders")
    world.rule("forward", "default", Target("to-orders", bus("orders")))
    world.rule("work", "orders", Target("q", QUEUE))
    world.put()
    world.router.deliver_pending()
    assert [(d.bus, d.status, d.attempts) for d in world.bus.deliveries()] == [("default", "pending", 1)]
    world.clock.advance(120)
    world.settle()
    assert sorted((d.bus, d.status) for d in world.bus.deliveries()) == [("default", "delivered"), ("orders", "delivered")]
    assert len(world.recorder.got[QUEUE]) == 1
    assert len(calls) == 1  # the retry found its copy stored: nothing new to wake the router for
