"""The local event bus end to end: SQLite on tmp_path, a FakeClock, recording targets.

The router is driven by hand (``deliver_pending`` and the clock); nothing sleeps.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.events import SqliteEventBus
from sluiceway.clock import FakeClock
from sluiceway.errors import ConflictError, InvalidNameError, NotFoundError
from sluiceway.events.envelope import execution_name_for, object_created
from sluiceway.events.patterns import compile_pattern
from sluiceway.events.rules import (
    Delivery,
    InputTransformer,
    RetryPolicy,
    Rule,
    RuleValidationError,
    Target,
)
from sluiceway.ports.events import DeadLetterSender, Deliver
from sluiceway.runtime.bus.router import EventRouter, Undelivered

ACCOUNT, REGION = "111111111111", "us-east-1"
MACHINE = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:DataProcessingWorkflow"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:work"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:Flaky"
DLQ = f"arn:aws:sqs:{REGION}:{ACCOUNT}:dead-letters"
APP = compile_pattern({"source": ["app"]})


@dataclass
class Targets:
    """A TargetResolver whose targets record what they get; some can be told to fail."""

    got: dict[str, list[Delivery]] = field(default_factory=lambda: defaultdict(list))
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    failing: dict[str, int] = field(default_factory=dict)
    """ARN -> how many more calls fail (a large number: always)."""
    missing: set[str] = field(default_factory=set)
    dead: dict[str, list[tuple[Any, dict[str, str]]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def resolve(self, arn: str) -> Deliver:
        if arn in self.missing:
            raise NotFoundError(f"State machine does not exist: {arn}")

        def deliver(delivery: Delivery) -> None:
            self.calls[arn] += 1
            if self.failing.get(arn, 0) > 0:
                self.failing[arn] -= 1
                raise RuntimeError(f"{arn.rsplit(':', 1)[-1]} is down")
            self.got[arn].append(delivery)

        return deliver

    def dead_letter(self, arn: str) -> DeadLetterSender:
        def send(body: str, attributes: Mapping[str, str]) -> None:
            self.dead[arn].append((json.loads(body), dict(attributes)))

        return send


@dataclass
class World:
    tmp_path: Path
    clock: FakeClock
    db: Database
    bus: SqliteEventBus
    targets: Targets
    router: EventRouter

    def new_router(self, **kwargs: Any) -> EventRouter:
        """A router in what could be another process: its own connection to the same file."""
        db = Database(self.tmp_path / "sluiceway.db")
        bus = SqliteEventBus(db, self.clock)
        kwargs.setdefault("resolver", self.targets)
        return EventRouter(bus, region=REGION, account=ACCOUNT, rng=lambda: 0.0, **kwargs)

    def put(self, *events: dict[str, Any], bus: str = "default") -> list[str]:
        return self.bus.put_events(list(events), bus=bus)

    def settle(self, limit: int = 500) -> None:
        """Run passes, moving the clock to each next attempt, until nothing is pending."""
        for _ in range(limit):
            self.router.deliver_pending()
            pending = [d for d in self.bus.deliveries() if d.status == "pending"]
            if not pending:
                return
            self.clock.set(min(d.next_attempt_at for d in pending))
        raise AssertionError("deliveries never settled")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    clock = FakeClock()
    db = Database(tmp_path / "sluiceway.db")
    bus = SqliteEventBus(db, clock)
    targets = Targets()
    router = EventRouter(bus, resolver=targets, region=REGION, account=ACCOUNT, rng=lambda: 0.0)
    yield World(tmp_path, clock, db, bus, targets, router)
    router.close()
    db.close()


def event(n: int = 1, source: str = "app", **detail: Any) -> dict[str, Any]:
    return {
        "version": "0",
        "id": f"event-{n}",
        "source": source,
        "detail-type": "Order Placed",
        "account": ACCOUNT,
        "time": "2026-01-01T00:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": {"n": n, **detail},
    }


def statuses(world: World) -> list[tuple[str, str, str]]:
    return [(d.rule, d.target, d.status) for d in world.bus.deliveries()]


# -- delivery to several targets -------------------------------------------------------------


def test_an_event_reaches_every_target_of_the_rules_it_matches(world: World) -> None:
    world.bus.put_rule(
        Rule(
            "orders",
            APP,
            (
                Target("run", MACHINE),
                Target("queue", QUEUE, input_path="$.detail"),
                Target(
                    "alert",
                    TOPIC,
                    input_transformer=InputTransformer(
                        '"order <n> via <aws.events.rule-name>"', {"n": "$.detail.n"}
                    ),
                ),
            ),
        )
    )
    world.bus.put_rule(
        Rule("others", compile_pattern({"source": ["elsewhere"]}), (Target("q", QUEUE),))
    )
    [event_id] = world.put(event(7))

    assert world.router.deliver_pending() == 3

    [run] = world.targets.got[MACHINE]
    assert run.input["id"] == event_id and run.input["detail"] == {"n": 7}
    assert (run.rule, run.target_id, run.attempt) == ("orders", "run", 1)
    assert run.rule_arn == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/orders"
    assert run.execution_name.startswith(execution_name_for(run.event) + "-")
    assert [d.input for d in world.targets.got[QUEUE]] == [{"n": 7}]
    assert [d.input for d in world.targets.got[TOPIC]] == ["order 7 via orders"]
    assert statuses(world) == [
        ("orders", "run", "delivered"),
        ("orders", "queue", "delivered"),
        ("orders", "alert", "delivered"),
    ]
    # Nothing is delivered twice, however often the router runs.
    world.clock.advance(3600)
    assert world.router.deliver_pending() == 0
    assert sum(world.targets.calls.values()) == 3


def test_an_event_matching_no_rule_goes_nowhere(world: World) -> None:
    world.bus.put_rule(Rule("orders", APP, (Target("q", QUEUE),)))
    world.put(event(source="other"))
    assert world.router.deliver_pending() == 0
    assert world.bus.deliveries() == [] and world.bus.pending() == []


# -- retries and dead letters ----------------------------------------------------------------


def test_a_failing_target_is_retried_with_backoff_then_dead_lettered(world: World) -> None:
    flaky = Target("flaky", FUNCTION, retry_policy=RetryPolicy(2, 3600), dead_letter_arn=DLQ)
    world.bus.put_rule(Rule("orders", APP, (Target("ok", QUEUE), flaky, Target("also-ok", TOPIC))))
    world.targets.failing[FUNCTION] = 1_000
    [event_id] = world.put(event(1))

    assert world.router.deliver_pending() == 2
    assert world.targets.calls[FUNCTION] == 1
    [row] = [d for d in world.bus.deliveries() if d.target == "flaky"]
    assert (row.status, row.attempts, row.last_error) == (
        "pending",
        1,
        "RuntimeError: Flaky is down",
    )
    # Backoff with the jitter at 0: half a second, then one second.
    assert row.next_attempt_at == world.clock.now() + timedelta(seconds=0.5)

    world.clock.advance(0.4)
    world.router.deliver_pending()
    assert world.targets.calls[FUNCTION] == 1  # not due yet
    world.clock.advance(0.1)
    world.router.deliver_pending()
    assert world.targets.calls[FUNCTION] == 2
    world.clock.advance(0.9)
    world.router.deliver_pending()
    assert world.targets.calls[FUNCTION] == 2
    world.clock.advance(0.1)
    world.router.deliver_pending()
    assert world.targets.calls[FUNCTION] == 3  # the second retry, the last one

    [(body, attributes)] = world.targets.dead[DLQ]
    assert body == world.bus.event(1).event and body["id"] == event_id
    assert attributes == {
        "ERROR_CODE": "SDK_CLIENT_ERROR",
        "ERROR_MESSAGE": "RuntimeError: Flaky is down",
        "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts",
        "RETRY_ATTEMPTS": "2",
        "RULE_ARN": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/orders",
        "TARGET_ARN": FUNCTION,
    }
    # The other targets got the event exactly once.
    assert world.targets.calls[QUEUE] == 1 and world.targets.calls[TOPIC] == 1
    assert statuses(world) == [
        ("orders", "ok", "delivered"),
        ("orders", "flaky", "dead-lettered"),
        ("orders", "also-ok", "delivered"),
    ]
    world.clock.advance(86_400)
    world.router.deliver_pending()
    assert world.targets.calls[FUNCTION] == 3 and len(world.targets.dead[DLQ]) == 1


def test_a_target_that_recovers_gets_the_event_once(world: World) -> None:
    world.bus.put_rule(Rule("orders", APP, (Target("ok", QUEUE), Target("flaky", FUNCTION))))
    world.targets.failing[FUNCTION] = 2
    world.put(event(1))
    world.settle()
    [delivery] = world.targets.got[FUNCTION]
    assert delivery.attempt == 3
    assert world.targets.calls == {QUEUE: 1, FUNCTION: 3}
    [row] = [d for d in world.bus.deliveries() if d.target == "flaky"]
    assert (row.status, row.attempts) == ("delivered", 2)


def test_the_events_age_limit_ends_retries(world: World) -> None:
    flaky = Target("flaky", FUNCTION, retry_policy=RetryPolicy(185, 60), dead_letter_arn=DLQ)
    world.bus.put_rule(Rule("orders", APP, (flaky,)))
    world.targets.failing[FUNCTION] = 1_000
    world.put(event(1))
    world.settle()
    # Delays 0.5, 1, 2 ... 16 s: the seventh failure (at 31.5 s) would wait until 63.5 s.
    assert world.targets.calls[FUNCTION] == 7
    [(_, attributes)] = world.targets.dead[DLQ]
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumEventAgeInSeconds"
    assert attributes["RETRY_ATTEMPTS"] == "6"


def test_an_event_too_old_when_due_is_not_attempted(world: World) -> None:
    flaky = Target("flaky", FUNCTION, retry_policy=RetryPolicy(185, 60), dead_letter_arn=DLQ)
    world.bus.put_rule(Rule("orders", APP, (flaky,)))
    world.targets.failing[FUNCTION] = 1
    world.put(event(1))
    world.router.deliver_pending()
    world.clock.advance(3600)  # the router was down for an hour
    world.router.deliver_pending()
    assert world.targets.calls[FUNCTION] == 1
    [(_, attributes)] = world.targets.dead[DLQ]
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumEventAgeInSeconds"


def test_without_a_dead_letter_queue_the_event_is_dropped_with_a_warning(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.bus.put_rule(
        Rule("orders", APP, (Target("flaky", FUNCTION, retry_policy=RetryPolicy(0)),))
    )
    world.targets.failing[FUNCTION] = 1
    world.put(event(1))
    with caplog.at_level(logging.WARNING, logger="sluiceway.runtime.bus.router"):
        world.router.deliver_pending()
    assert statuses(world) == [("orders", "flaky", "dropped")]
    assert any(
        r.message.startswith("event dropped") and r.levelno == logging.WARNING
        for r in caplog.records
    )
    assert world.targets.dead == {}


def test_a_target_that_does_not_exist_goes_to_the_dlq_without_retries(world: World) -> None:
    world.bus.put_rule(Rule("orders", APP, (Target("run", MACHINE, dead_letter_arn=DLQ),)))
    world.targets.missing.add(MACHINE)
    world.put(event(1))
    world.router.deliver_pending()
    [(_, attributes)] = world.targets.dead[DLQ]
    assert attributes["ERROR_CODE"] == "RESOURCE_NOT_FOUND"
    assert attributes["RETRY_ATTEMPTS"] == "0"
    assert "EXHAUSTED_RETRY_CONDITION" not in attributes
    assert statuses(world) == [("orders", "run", "dead-lettered")]


def test_a_target_that_refuses_the_request_goes_to_the_dlq_without_retries_and_is_reported(world: World) -> None:
    class Refusing(Targets):
        def resolve(self, arn: str) -> Deliver:
            def deliver(delivery: Delivery) -> None:
                raise InvalidNameError(f"invalid execution name {delivery.execution_name!r}")

            return deliver

    router = world.new_router(resolver=Refusing())
    reported: list[Undelivered] = []
    router.on_undelivered(reported.append)
    world.bus.put_rule(Rule("orders", APP, (Target("run", MACHINE, dead_letter_arn=DLQ),)))
    world.put(event(1))
    router.deliver_pending()
    assert statuses(world) == [("orders", "run", "dead-lettered")]  # at once: no retry changes a 4xx
    [undelivered] = reported
    assert undelivered.dead_letter == DLQ and "invalid execution name" in undelivered.error
    assert undelivered.delivery.rule == "orders"


def test_listeners_hear_of_a_delivery_given_up_on_once_it_is_recorded(world: World) -> None:
    world.bus.put_rule(Rule("orders", APP, (Target("run", MACHINE, dead_letter_arn=DLQ),)))
    world.targets.missing.add(MACHINE)
    seen: list[str] = []
    world.router.on_undelivered(lambda u: seen.extend(d.status for d in world.bus.deliveries()))
    world.put(event(1))
    world.router.deliver_pending()
    assert seen == ["dead-lettered"]  # a listener reading the delivery back finds it settled


def test_a_failed_attempt_counts_though_its_rule_went_away_during_it(world: World) -> None:
    def target(_: Any) -> None:
        world.router.remove_rule("swapped")  # a rule of this process changed while one of its deliveries is in flight
        raise RuntimeError("target down")

    world.router.add_rule(Rule("swapped", APP, (target,)))
    world.put(event(1))
    world.router.deliver_pending()
    [delivery] = world.bus.deliveries()
    assert (delivery.status, delivery.attempts) == ("cancelled", 1)  # settled: no pass would ever take it again


def test_a_stored_rule_deleted_during_a_failed_attempt_is_cancelled_at_the_next_pass(world: World) -> None:
    class Deleting(Targets):
        def resolve(self, arn: str) -> Deliver:
            def deliver(delivery: Delivery) -> None:
                world.bus.delete_rule("orders", force=True)
                raise RuntimeError("target down")

            return deliver

    router = world.new_router(resolver=Deleting())
    world.bus.put_rule(Rule("orders", APP, (Target("run", MACHINE),)))
    world.put(event(1))
    router.deliver_pending()
    [delivery] = world.bus.deliveries()
    assert (delivery.status, delivery.attempts) == ("pending", 1)  # the failure counts against the rule attempted
    world.clock.set(delivery.next_attempt_at)
    router.deliver_pending()
    [delivery] = world.bus.deliveries()
    assert (delivery.status, delivery.attempts) == ("cancelled", 1)
    router.close()


def test_a_dead_letter_queue_that_fails_drops_the_event(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    class NoQueue(Targets):
        def dead_letter(self, arn: str) -> DeadLetterSender:
            raise NotFoundError(f"no queue {arn}")

    router = world.new_router(resolver=NoQueue(failing={FUNCTION: 1}))
    world.bus.put_rule(
        Rule(
            "orders",
            APP,
            (Target("f", FUNCTION, retry_policy=RetryPolicy(0), dead_letter_arn=DLQ),),
        )
    )
    world.put(event(1))
    with caplog.at_level(logging.ERROR, logger="sluiceway.runtime.bus.router"):
        router.deliver_pending()
    assert statuses(world) == [("orders", "f", "dropped")]
    assert any(
        "dead-letter queue" in r.message for r in caplog.records if r.levelno == logging.ERROR
    )


def test_a_restarted_router_carries_on_with_the_retries(world: World) -> None:
    world.bus.put_rule(Rule("orders", APP, (Target("ok", QUEUE), Target("flaky", FUNCTION))))
    world.targets.failing[FUNCTION] = 3
    world.put(event(1))
    world.router.deliver_pending()
    world.clock.advance(0.5)
    world.router.deliver_pending()
    world.router.close()
    assert world.targets.calls == {QUEUE: 1, FUNCTION: 2}

    restarted = world.new_router()
    restarted.deliver_pending()
    assert (
        world.targets.calls[FUNCTION] == 2
    )  # the next attempt is not due yet: one second after the 2nd
    world.clock.advance(1.0)
    restarted.deliver_pending()
    world.clock.advance(2.0)
    restarted.deliver_pending()
    [delivery] = world.targets.got[FUNCTION]
    assert delivery.attempt == 4
    assert world.targets.calls == {QUEUE: 1, FUNCTION: 4}


def test_an_attempt_cut_short_by_a_crash_is_repeated_after_its_lease(world: World) -> None:
    world.bus.put_rule(Rule("orders", APP, (Target("q", QUEUE),)))
    world.put(event(1))
    world.new_router(resolver=None).deliver_pending()  # routes, but cannot deliver
    [row] = world.bus.deliveries()
    # A router took the delivery and died before recording the outcome.
    assert world.bus.claim(row.id, world.clock.now(), world.clock.now() + timedelta(minutes=5))
    assert not world.bus.claim(row.id, world.clock.now(), world.clock.now() + timedelta(minutes=5))
    other = world.new_router()
    assert other.deliver_pending() == 0
    world.clock.advance(300)
    assert other.deliver_pending() == 1
    assert len(world.targets.got[QUEUE]) == 1


# -- rules: state, storage, buses ------------------------------------------------------------


def test_a_disabled_rule_gets_nothing(world: World) -> None:
    world.bus.put_rule(Rule("orders", APP, (Target("q", QUEUE),), state="DISABLED"))
    world.put(event(1))
    world.router.deliver_pending()
    assert world.targets.calls == {}
    world.bus.put_rule(Rule("orders", APP, (Target("q", QUEUE),), state="ENABLED"))
    world.put(event(2))
    world.router.deliver_pending()
    assert [d.input["detail"]["n"] for d in world.targets.got[QUEUE]] == [2]


def test_rules_are_stored_for_every_process(world: World) -> None:
    world.router.deliver_pending()  # the router has loaded the (no) rules
    other = SqliteEventBus(Database(world.tmp_path / "sluiceway.db"), world.clock)
    transformer = InputTransformer('{"n": <n>}', {"n": "$.detail.n"})
    other.put_rule(
        Rule.from_definition(
            "orders",
            '{"source": ["app"]}',
            description="all orders",
            targets=(
                Target("q", QUEUE, input_transformer=transformer, retry_policy=RetryPolicy(5, 600)),
            ),
        )
    )
    [rule] = world.bus.list_rules()
    assert (rule.name, rule.bus, rule.state, rule.description) == (
        "orders",
        "default",
        "ENABLED",
        "all orders",
    )
    assert rule.pattern.source == '{"source": ["app"]}'
    assert rule.targets == (
        Target("q", QUEUE, input_transformer=transformer, retry_policy=RetryPolicy(5, 600)),
    )
    # The running router sees the new rule without a restart.
    world.put(event(3))
    world.router.deliver_pending()
    assert [d.input for d in world.targets.got[QUEUE]] == [{"n": 3}]


def test_rule_targets_can_be_put_and_removed(world: World) -> None:
    world.bus.put_rule(Rule("orders", APP, (Target("a", QUEUE),)))
    world.bus.put_targets("orders", [Target("b", TOPIC), Target("a", FUNCTION)])
    assert [(t.id, t.arn) for t in world.bus.get_rule("orders").targets] == [
        ("b", TOPIC),
        ("a", FUNCTION),
    ]  # type: ignore[union-attr]
    with pytest.raises(RuleValidationError, match="at most 5"):
        world.bus.put_targets("orders", [Target(f"x{i}", QUEUE) for i in range(4)])
    world.bus.remove_targets("orders", ["a", "unknown"])
    assert world.bus.get_rule("orders").target_ids == ("b",)
    with pytest.raises(ConflictError, match="has targets"):
        world.bus.delete_rule("orders")
    world.bus.delete_rule("orders", force=True)
    with pytest.raises(NotFoundError, match="Rule orders does not exist on EventBus default"):
        world.bus.get_rule("orders")


def test_deleting_a_rule_cancels_its_pending_deliveries(world: World) -> None:
    world.bus.put_rule(Rule("orders", APP, (Target("f", FUNCTION),)))
    world.targets.failing[FUNCTION] = 1_000
    world.put(event(1))
    world.router.deliver_pending()
    world.bus.delete_rule("orders", force=True)
    world.clock.advance(60)
    world.router.deliver_pending()
    assert world.targets.calls[FUNCTION] == 1
    assert statuses(world) == [("orders", "f", "cancelled")]


def test_named_buses(world: World) -> None:
    world.bus.create_bus("orders")
    assert [b.name for b in world.bus.list_buses()] == ["default", "orders"]
    world.bus.put_rule(Rule("on-orders", APP, (Target("q", QUEUE),), bus="orders"))
    world.bus.put_rule(Rule("on-default", APP, (Target("t", TOPIC),)))
    world.put(event(1))
    world.put(event(2), bus="orders")
    world.router.deliver_pending()
    assert [d.input["detail"]["n"] for d in world.targets.got[QUEUE]] == [2]
    assert [d.input["detail"]["n"] for d in world.targets.got[TOPIC]] == [1]
    [on_orders] = world.targets.got[QUEUE]
    assert on_orders.rule_arn == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/orders/on-orders"


def test_bus_lifecycle_errors(world: World) -> None:
    world.bus.create_bus("orders")
    with pytest.raises(ConflictError, match="already exists"):
        world.bus.create_bus("orders")
    with pytest.raises(RuleValidationError):
        world.bus.create_bus("default")
    with pytest.raises(RuleValidationError, match="Cannot delete event bus default"):
        world.bus.delete_bus("default")
    with pytest.raises(NotFoundError, match="Event bus nope does not exist"):
        world.put(event(1), bus="nope")
    with pytest.raises(NotFoundError):
        world.bus.put_rule(Rule("r", APP, bus="nope"))
    world.bus.put_rule(Rule("r", APP, bus="orders"))
    with pytest.raises(ConflictError, match="rule"):
        world.bus.delete_bus("orders")
    world.bus.delete_rule("r", "orders")
    world.bus.delete_bus("orders")
    assert [b.name for b in world.bus.list_buses()] == ["default"]


# -- in-process rules (the composition root's) -----------------------------------------------


def test_process_rules_with_callable_targets(world: World) -> None:
    router = world.new_router(resolver=None)
    got: list[Mapping[str, Any]] = []
    fails = [2]

    def flaky(e: Mapping[str, Any]) -> None:
        if fails[0]:
            fails[0] -= 1
            raise RuntimeError("busy")
        got.append(e)

    seen: list[Mapping[str, Any]] = []
    router.add_rule(Rule("pipeline-trigger", APP, (seen.append, flaky)))
    assert set(router.rules) == {"pipeline-trigger"}
    world.put(event(1))
    world.router = router
    world.settle()
    assert [e["id"] for e in seen] == ["event-1"]
    assert [e["id"] for e in got] == ["event-1"]
    assert statuses(world) == [
        ("pipeline-trigger", "0", "delivered"),
        ("pipeline-trigger", "1", "delivered"),
    ]


def test_a_router_without_the_process_rule_leaves_its_deliveries(world: World) -> None:
    owner = world.new_router(resolver=None)
    got: list[Mapping[str, Any]] = []
    busy = [True]

    def start(e: Mapping[str, Any]) -> None:
        if busy.pop() if busy else False:
            raise RuntimeError("busy")
        got.append(e)

    owner.add_rule(Rule("pipeline-trigger", APP, (start,)))
    world.put(event(1))
    assert owner.deliver_pending() == 0  # routed; the first attempt failed
    world.clock.advance(60)
    assert world.router.deliver_pending() == 0  # not this process's rule
    assert [(d.status, d.attempts) for d in world.bus.deliveries()] == [("pending", 1)]
    assert owner.deliver_pending() == 1
    assert len(got) == 1


def test_stored_targets_wait_for_a_router_with_a_resolver(world: World) -> None:
    world.bus.put_rule(Rule("orders", APP, (Target("q", QUEUE),)))
    world.put(event(1))
    assert world.new_router(resolver=None).deliver_pending() == 0
    assert statuses(world) == [("orders", "q", "pending")]
    assert world.router.deliver_pending() == 1


def test_the_router_thread_delivers_when_notified(world: World) -> None:
    done = threading.Event()
    router = world.new_router(resolver=None, poll_s=60)
    router.add_rule(Rule("pipeline-trigger", APP, (lambda e: done.set(),)))
    router.start()
    try:
        world.put(event(1))
        router.notify()
        assert done.wait(timeout=10)
    finally:
        router.close()


# -- archive and replay ----------------------------------------------------------------------


def test_events_are_kept_for_seven_days_then_pruned(world: World) -> None:
    world.bus.put_rule(Rule("orders", APP, (Target("q", QUEUE),)))
    start = world.clock.now()
    world.put(event(1))
    world.clock.advance(600)
    world.put(event(2))
    world.router.deliver_pending()
    assert [e.seq for e in world.bus.archived(start)] == [1, 2]

    world.clock.set(start + timedelta(days=7, seconds=1))
    world.router.deliver_pending()  # prunes
    assert [e.seq for e in world.bus.archived(start)] == [2]
    assert {d.seq for d in world.bus.deliveries()} == {2}
    world.clock.set(start + timedelta(days=7, minutes=30))
    world.router.deliver_pending()  # event 2 expired, but the router prunes at most once an hour
    assert [e.seq for e in world.bus.archived(start)] == [2]
    world.clock.set(start + timedelta(days=7, hours=1, seconds=1))
    world.router.deliver_pending()
    assert world.bus.archived(start) == []


def test_the_retention_is_configurable_and_spares_undelivered_events(world: World) -> None:
    short = SqliteEventBus(world.db, world.clock, retention=timedelta(hours=1))
    router = EventRouter(short, resolver=world.targets, rng=lambda: 0.0)
    short.put_rule(Rule("orders", APP, (Target("f", FUNCTION),)))
    world.targets.failing[FUNCTION] = 1_000
    start = world.clock.now()
    short.put_events([event(1), event(2, source="other")])
    router.deliver_pending()
    world.clock.advance(3599)
    assert short.prune() == 0
    world.clock.advance(2)
    # Event 2 (no rule) goes; event 1 stays while its delivery is still being retried.
    assert short.prune() == 1
    assert [e.seq for e in short.archived(start)] == [1]
    world.targets.failing[FUNCTION] = 0
    world.settle()
    assert short.prune() == 1
    assert short.archived(start) == []


def test_replay_sends_archived_events_again_with_the_replay_name(world: World) -> None:
    world.bus.put_rule(Rule("orders", APP, (Target("q", QUEUE),)))
    world.bus.put_rule(Rule("audit", APP, (Target("t", TOPIC),)))
    start = world.clock.now()
    for n in range(1, 4):
        world.put(event(n))
        world.clock.advance(60)
    world.router.deliver_pending()
    assert len(world.targets.got[QUEUE]) == 3

    name = world.router.replay(start + timedelta(seconds=30), start + timedelta(seconds=150))
    world.router.deliver_pending()

    replayed = world.targets.got[QUEUE][3:]
    assert [d.event["detail"]["n"] for d in replayed] == [2, 3]
    assert all(d.event["replay-name"] == name for d in replayed)
    assert all(d.input["replay-name"] == name for d in replayed)
    assert [d.event["detail"]["n"] for d in world.targets.got[TOPIC][3:]] == [2, 3]
    [record] = world.bus.replays()
    assert (record.name, record.state) == (name, "COMPLETED")
    # Replayed state machine runs get their own execution names.
    first, again = world.targets.got[QUEUE][1], replayed[0]
    assert first.execution_name != again.execution_name
    world.router.deliver_pending()
    assert len(world.targets.got[QUEUE]) == 5  # a completed replay sends nothing more


def test_replay_to_one_rule(world: World) -> None:
    world.bus.put_rule(Rule("orders", APP, (Target("q", QUEUE),)))
    world.bus.put_rule(Rule("audit", APP, (Target("t", TOPIC),)))
    start = world.clock.now()
    world.put(event(1))
    world.router.deliver_pending()
    world.clock.advance(1)
    world.router.replay(start, rule="audit")
    world.router.deliver_pending()
    assert len(world.targets.got[QUEUE]) == 1
    assert [d.event.get("replay-name") is not None for d in world.targets.got[TOPIC]] == [
        False,
        True,
    ]


def test_a_replay_without_an_end_covers_events_that_arrived_the_same_instant(world: World) -> None:
    # With a clock that does not move (--skip-waits), "now" is also the last event's time.
    world.bus.put_rule(Rule("orders", APP, (Target("q", QUEUE),)))
    world.put(event(1))
    world.router.deliver_pending()
    world.router.replay(world.clock.now() - timedelta(minutes=1))
    world.router.deliver_pending()
    assert ["replay-name" in d.event for d in world.targets.got[QUEUE]] == [False, True]


def test_replay_covers_only_the_events_of_its_bus_that_arrived_before_it(world: World) -> None:
    world.bus.create_bus("orders")
    world.bus.put_rule(Rule("r", APP, (Target("q", QUEUE),), bus="orders"))
    start = world.clock.now()
    world.put(event(1), bus="orders")
    world.put(event(2))
    world.clock.advance(10)
    replay = world.bus.start_replay(since=start, bus="orders")
    world.put(event(3), bus="orders")  # after the replay started
    world.router.deliver_pending()
    replayed = [d for d in world.targets.got[QUEUE] if "replay-name" in d.event]
    assert [(d.event["detail"]["n"], d.event["replay-name"]) for d in replayed] == [
        (1, replay.name)
    ]


def test_replay_errors(world: World) -> None:
    now = world.clock.now()
    with pytest.raises(NotFoundError, match="Rule ghost does not exist"):
        world.router.replay(now - timedelta(hours=1), rule="ghost")
    with pytest.raises(RuleValidationError, match="before its end"):
        world.router.replay(now, now)
    with pytest.raises(RuleValidationError, match="future"):
        world.router.replay(now - timedelta(hours=1), now + timedelta(hours=1))
    world.router.replay(now - timedelta(hours=1), name="again")
    with pytest.raises(ConflictError, match="Replay again already exists"):
        world.router.replay(now - timedelta(hours=1), name="again")
    # Names made up for replays started at the same moment do not clash.
    assert world.router.replay(now - timedelta(hours=1)) != world.router.replay(
        now - timedelta(hours=1)
    )


# -- publishing ------------------------------------------------------------------------------


def s3_created(event_id: str, etag: str = "abc") -> dict[str, Any]:
    return object_created(
        bucket="in", key="d/sales.csv", size=10, etag=etag, sequencer="0001", event_id=event_id,
        request_id="R", time=FakeClock().now(), region=REGION, account=ACCOUNT,
    )  # fmt: skip


def test_a_duplicate_object_event_is_stored_and_delivered_once(world: World) -> None:
    world.bus.put_rule(
        Rule("objects", compile_pattern({"source": ["aws.s3"]}), (Target("run", MACHINE),))
    )
    first = world.put(s3_created("from-writer"))
    again = world.put(s3_created("from-watcher"))
    assert first == again == ["from-writer"]
    assert world.bus.seen(s3_created("third"))
    assert not world.bus.seen(s3_created("x", etag="other"))
    world.put(s3_created("next-write", etag="other"))
    world.router.deliver_pending()
    assert [d.event["id"] for d in world.targets.got[MACHINE]] == ["from-writer", "next-write"]


def test_an_object_event_is_stored_once_per_bus(world: World) -> None:
    world.bus.create_bus("copies")
    world.put(s3_created("a"))
    assert world.put(s3_created("b"), bus="copies") == ["b"]
    assert world.put(s3_created("c"), bus="copies") == ["b"]
    assert world.bus.seen(s3_created("d"), bus="copies")


def test_an_event_put_again_with_its_id_is_stored_once(world: World) -> None:
    assert world.put(event(1), event(1)) == ["event-1", "event-1"]
    assert len(world.bus.pending()) == 1


def test_events_without_ids_get_one(world: World) -> None:
    [event_id] = world.bus.put_events([{"source": "app", "detail-type": "x", "detail": {}}])
    assert event_id and world.bus.pending() == [
        (1, {"source": "app", "detail-type": "x", "detail": {}, "id": event_id})
    ]


def test_an_event_waiting_for_a_router_keeps_its_retries_and_an_expired_one_says_why(world: World) -> None:
    world.bus.put_rule(Rule("orders", APP, (Target("run", MACHINE, retry_policy=RetryPolicy(185, 60), dead_letter_arn=DLQ),)))
    world.put(event(1))
    world.clock.advance(25 * 3600)  # committed while no stack ran (`sluiceway upload`), a day before the next `up`
    world.router.deliver_pending()
    assert statuses(world) == [("orders", "run", "delivered")]

    world.targets.failing[MACHINE] = 1
    world.put(event(2))
    world.router.deliver_pending()  # fails once
    world.clock.advance(3600)
    world.targets.failing.clear()
    world.router.deliver_pending()  # too old to try again
    [(_, attributes)] = world.targets.dead[DLQ]
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumEventAgeInSeconds" and attributes["ERROR_MESSAGE"]
