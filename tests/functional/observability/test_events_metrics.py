"""EventBridge's ``AWS/Events`` metrics fed from the local bus into CloudWatch, each routing and invocation once.

Through a running endpoint with boto3 (what a user's dashboard and alarms read), and over the data
dir with a FakeClock (exact latencies, retries, two feeders and a restart).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sluiceway.backends.local._cw_values import Dimensions, MetricKey
from sluiceway.backends.local.cloudwatch_feeds import EventInvocationFeed, EventRoutingFeed, metric_feeds
from sluiceway.backends.local.datadir import LocalDataDir, open_data_dir
from sluiceway.backends.local.events import SqliteEventBus
from sluiceway.clock import FakeClock
from sluiceway.endpoint.server import Endpoint
from sluiceway.errors import NotFoundError
from sluiceway.events.patterns import compile_pattern
from sluiceway.events.rules import NewDelivery, Rule
from sluiceway.runtime.alarms import MetricFeed
from sluiceway.runtime.bus.router import DEFAULT_LEASE, EventRouter
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

REGION = "us-east-1"
START = datetime(2026, 5, 12, 1, 0, 30, tzinfo=UTC)
DEADLINE_S = 20.0

Client = Callable[..., Any]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- through the endpoint -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    settings = Settings.load(data_dir=tmp_path_factory.mktemp("events-metrics") / "data", workers=1, endpoint_port=free_port())
    built = build_stack(settings, invoker_mode="thread")
    built.start("events metrics tests")
    try:
        yield built
    finally:
        built.close()


@pytest.fixture(scope="module")
def aws(stack: Stack) -> Iterator[Client]:
    import boto3
    from botocore.config import Config

    served = Endpoint(stack, host="127.0.0.1", port=stack.settings.endpoint_port)
    served.start()
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)
    try:
        yield lambda service: session.client(service, endpoint_url=served.url, config=Config(retries={"max_attempts": 1}))
    finally:
        served.close()


def _queue(aws: Client, name: str) -> tuple[str, str]:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _receive(aws: Client, url: str) -> dict[str, Any]:
    sqs = aws("sqs")
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
        if messages:
            return dict(messages[0])
    raise AssertionError(f"nothing arrived on {url}")


def _statistics(aws: Client, name: str, dimensions: Dimensions, since: datetime) -> list[dict[str, Any]]:
    """The 1-minute datapoints of an AWS/Events metric from ``since`` to a minute from now."""
    start = since.replace(second=0, microsecond=0) - timedelta(minutes=1)
    points = aws("cloudwatch").get_metric_statistics(
        Namespace="AWS/Events",
        MetricName=name,
        Dimensions=[{"Name": n, "Value": v} for n, v in dimensions],
        StartTime=start,
        EndTime=datetime.now(UTC) + timedelta(minutes=1),
        Period=60,
        Statistics=["SampleCount", "Sum", "Average", "Minimum", "Maximum"],
    )["Datapoints"]
    return list(points)


def _sum(points: list[dict[str, Any]]) -> float:
    return float(sum(p["Sum"] for p in points))


def _fed(stack: Stack, aws: Client, name: str, dimensions: Dimensions, since: datetime, expected: float) -> list[dict[str, Any]]:
    """Turn the stack's feeds (beside its own thread: two feeders) until the metric sums to ``expected``."""
    assert stack.alarms is not None
    deadline = time.monotonic() + DEADLINE_S
    while True:
        stack.alarms.turn()
        points = _statistics(aws, name, dimensions, since)
        if _sum(points) >= expected or time.monotonic() > deadline:
            return points
        time.sleep(0.05)  # polling a deadline: the delivery runs on the stack's router thread


def _second_feeder(stack: Stack) -> list[MetricFeed]:
    return list(
        metric_feeds(
            stack.local.cloudwatch, logs_path=stack.local.logs.path, executions=stack.local.executions, queues=stack.local.queues,
            clock=stack.local.clock, region=REGION, account_id=stack.settings.account_id,
        )
    )  # fmt: skip


def test_an_event_delivered_to_a_queue_gives_one_latency_datum_and_its_counts(stack: Stack, aws: Client) -> None:
    url, arn = _queue(aws, "orders-in")
    events = aws("events")
    events.put_rule(Name="orders-to-queue", EventPattern=json.dumps({"source": ["test.shop"]}))
    events.put_targets(Rule="orders-to-queue", Targets=[{"Id": "q", "Arn": arn}])
    since = datetime.now(UTC)
    before = time.monotonic()
    put = events.put_events(Entries=[{"Source": "test.shop", "DetailType": "Order", "Detail": json.dumps({"n": 1})}])
    assert put["FailedEntryCount"] == 0
    assert json.loads(_receive(aws, url)["Body"])["detail"] == {"n": 1}
    elapsed_ms = (time.monotonic() - before) * 1000

    (latency,) = _fed(stack, aws, "IngestionToInvocationStartLatency", (), since, 0.0)
    assert latency["SampleCount"] == 1.0 and latency["Unit"] == "Milliseconds"
    assert 0.0 <= latency["Average"] == latency["Maximum"] <= elapsed_ms
    by_rule = _statistics(aws, "IngestiontoInvocationStartLatency", (("EventBusName", "default"), ("RuleName", "orders-to-queue")), since)
    assert [(p["SampleCount"], p["Average"]) for p in by_rule] == [(1.0, latency["Average"])]

    rule = (("RuleName", "orders-to-queue"),)
    assert _sum(_fed(stack, aws, "Invocations", rule, since, 1.0)) == 1.0
    assert _sum(_statistics(aws, "Invocations", (), since)) == 1.0
    assert _sum(_fed(stack, aws, "TriggeredRules", rule, since, 1.0)) == 1.0
    assert _sum(_statistics(aws, "MatchedEvents", (), since)) == 1.0
    assert _sum(_statistics(aws, "MatchedEvents", (("EventBusName", "default"),), since)) == 1.0
    assert _statistics(aws, "FailedInvocations", rule, since) == []  # sent only when not zero, as on AWS

    # Another feeder over the same data dir (a second stack), and more turns, count nothing again.
    for feed in _second_feeder(stack):
        feed.pull()
    assert stack.alarms is not None
    stack.alarms.turn()
    assert [p["SampleCount"] for p in _statistics(aws, "IngestionToInvocationStartLatency", (), since)] == [1.0]
    assert _sum(_statistics(aws, "Invocations", rule, since)) == 1.0
    assert _sum(_statistics(aws, "TriggeredRules", rule, since)) == 1.0

    listed = aws("cloudwatch").list_metrics(Namespace="AWS/Events")["Metrics"]
    names = {(m["MetricName"], tuple((d["Name"], d["Value"]) for d in m["Dimensions"])) for m in listed}
    assert ("IngestionToInvocationStartLatency", ()) in names
    assert ("Invocations", rule) in names and ("TriggeredRules", rule) in names


def test_a_target_that_does_not_exist_on_a_custom_bus_fails_into_its_dead_letter_queue(stack: Stack, aws: Client) -> None:
    dlq_url, dlq_arn = _queue(aws, "orders-dlq")
    events = aws("events")
    events.create_event_bus(Name="orders-bus")
    events.put_rule(Name="orders-to-nowhere", EventBusName="orders-bus", EventPattern=json.dumps({"source": ["test.shop"]}))
    missing = f"arn:aws:lambda:{REGION}:{stack.settings.account_id}:function:no-such-function"
    events.put_targets(
        Rule="orders-to-nowhere", EventBusName="orders-bus", Targets=[{"Id": "f", "Arn": missing, "DeadLetterConfig": {"Arn": dlq_arn}}]
    )
    since = datetime.now(UTC)
    events.put_events(Entries=[{"Source": "test.shop", "DetailType": "Order", "Detail": "{}", "EventBusName": "orders-bus"}])
    dead = _receive(aws, dlq_url)
    assert json.loads(dead["Body"])["source"] == "test.shop"

    rule = (("EventBusName", "orders-bus"), ("RuleName", "orders-to-nowhere"))
    assert _sum(_fed(stack, aws, "InvocationsSentToDlq", rule, since, 1.0)) == 1.0
    assert _sum(_statistics(aws, "FailedInvocations", rule, since)) == 1.0
    assert _sum(_statistics(aws, "Invocations", rule, since)) == 1.0  # it was invoked once, and failed for good
    assert _sum(_statistics(aws, "TriggeredRules", rule, since)) == 1.0
    assert _sum(_statistics(aws, "MatchedEvents", (("EventBusName", "orders-bus"),), since)) == 1.0
    # A custom bus's rule is never published by RuleName alone (that names a rule of the default bus).
    assert _statistics(aws, "Invocations", (("RuleName", "orders-to-nowhere"),), since) == []
    (latency,) = _statistics(aws, "IngestiontoInvocationStartLatency", rule, since)
    assert latency["SampleCount"] == 1.0 and latency["Minimum"] >= 0.0


# -- over the data dir, with a FakeClock ----------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


def _open(data_dir: Path, clock: FakeClock) -> LocalDataDir:
    return open_data_dir(Settings.load(data_dir=data_dir), clock)


def _feeds(local: LocalDataDir, clock: FakeClock) -> list[MetricFeed]:
    return list(
        metric_feeds(
            local.cloudwatch, logs_path=local.logs.path, executions=local.executions, queues=local.queues, clock=clock,
            region=REGION, account_id="111111111111",
        )
    )  # fmt: skip


def _pull(feeds: list[MetricFeed]) -> None:
    for feed in feeds:
        feed.pull()


def _points(local: LocalDataDir, name: str, dimensions: Dimensions = ()) -> list[tuple[float, float, float]]:
    """``(SampleCount, Sum, Maximum)`` of everything an hour either side of the test's start."""
    key = MetricKey("AWS/Events", name, dimensions)
    start = int(START.timestamp() * 1000) - 3_600_000
    buckets = local.cloudwatch.buckets(key, start, start + 2 * 3_600_000 + 86_400_000, 2 * 3600 + 86_400)
    return [(b.samples, b.total, b.maximum) for b in buckets if b.samples]


class Flaky:
    """A process rule's target that fails its first ``failures`` calls."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self, event: Any) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError("target unavailable")


def _router(local: LocalDataDir, clock: FakeClock, target: Callable[[Any], None], *, rule: str = "orders") -> EventRouter:
    router = EventRouter(local.bus, clock=clock, rng=lambda: 0.0)
    router.add_rule(Rule(rule, compile_pattern({"source": ["test.shop"]}), targets=(target,)))
    return router


def _put(local: LocalDataDir) -> None:
    local.bus.put_events([{"source": "test.shop", "detail-type": "Order", "detail": {}}])


@pytest.fixture
def local(tmp_path: Path, clock: FakeClock) -> Iterator[LocalDataDir]:
    opened = _open(tmp_path / "data", clock)
    try:
        yield opened
    finally:
        opened.close()


def test_latency_runs_from_ingestion_to_the_first_attempt_and_retries_do_not_add_to_it(local: LocalDataDir, clock: FakeClock) -> None:
    feeds = _feeds(local, clock)
    target = Flaky(failures=1)
    router = _router(local, clock, target)
    _put(local)
    clock.advance(2.5)
    router.deliver_pending()  # the first attempt, 2.5 s after ingestion, fails
    _pull(feeds)
    assert _points(local, "IngestionToInvocationStartLatency") == [(1.0, 2500.0, 2500.0)]
    assert _points(local, "Invocations", (("RuleName", "orders"),)) == []  # not yet: it is retried

    clock.advance(600)
    assert router.deliver_pending() == 1 and target.calls == 2
    _pull(feeds)
    assert _points(local, "IngestionToInvocationStartLatency") == [(1.0, 2500.0, 2500.0)]
    assert _points(local, "IngestiontoInvocationStartLatency", (("EventBusName", "default"), ("RuleName", "orders"))) == [
        (1.0, 2500.0, 2500.0)
    ]
    assert _points(local, "Invocations", (("RuleName", "orders"),)) == [(1.0, 1.0, 1.0)]
    assert _points(local, "FailedInvocations", (("RuleName", "orders"),)) == []  # it succeeded after a retry


def test_a_delivery_too_old_before_its_first_attempt_is_no_invocation(local: LocalDataDir, clock: FakeClock) -> None:
    feeds = _feeds(local, clock)
    target = Flaky(failures=0)
    router = _router(local, clock, target)
    _put(local)
    # Matched as the router would match it, then no router ran for longer than the event may wait
    # (24 hours by default): it is given up on without an attempt.
    (event,) = local.bus.unrouted()
    local.bus.route(event.seq, [NewDelivery("orders", "0", "process")])
    clock.advance(25 * 3600)
    router.deliver_pending()
    assert target.calls == 0 and [d.status for d in local.bus.deliveries()] == ["dropped"]
    _pull(feeds)
    assert _points(local, "TriggeredRules", (("RuleName", "orders"),)) == [(1.0, 1.0, 1.0)]
    assert _points(local, "IngestionToInvocationStartLatency") == []
    assert _points(local, "Invocations") == []
    assert _points(local, "FailedInvocations", (("RuleName", "orders"),)) == []


def test_a_target_failing_for_good_without_a_dead_letter_queue_is_one_failed_invocation(local: LocalDataDir, clock: FakeClock) -> None:
    feeds = _feeds(local, clock)

    def gone(event: Any) -> None:
        raise NotFoundError("no such target")

    router = _router(local, clock, gone)
    _put(local)
    router.deliver_pending()
    assert [d.status for d in local.bus.deliveries()] == ["dropped"]
    _pull(feeds)
    rule = (("RuleName", "orders"),)
    assert _points(local, "Invocations", rule) == [(1.0, 1.0, 1.0)]
    assert _points(local, "FailedInvocations", rule) == [(1.0, 1.0, 1.0)]
    assert _points(local, "InvocationsSentToDlq", rule) == []
    assert _points(local, "IngestionToInvocationStartLatency") == [(1.0, 0.0, 0.0)]


def test_two_feeders_and_a_restart_count_each_routing_and_invocation_once(tmp_path: Path, clock: FakeClock) -> None:
    data_dir = tmp_path / "data"
    one, two = _open(data_dir, clock), _open(data_dir, clock)
    try:
        feeds_one, feeds_two = _feeds(one, clock), _feeds(two, clock)
        router = _router(one, clock, Flaky(failures=0))
        for _ in range(3):
            _put(one)
        clock.advance(1.0)
        assert router.deliver_pending() == 3
        for feed_one, feed_two in zip(feeds_one, feeds_two, strict=True):
            feed_two.pull()
            feed_one.pull()
    finally:
        one.close()
        two.close()
    reopened = _open(data_dir, clock)
    try:
        _pull(_feeds(reopened, clock))
        assert _points(reopened, "IngestionToInvocationStartLatency") == [(3.0, 3000.0, 1000.0)]
        assert _points(reopened, "Invocations") == [(3.0, 3.0, 1.0)]
        assert _points(reopened, "TriggeredRules", (("RuleName", "orders"),)) == [(3.0, 3.0, 1.0)]
        assert _points(reopened, "MatchedEvents") == [(3.0, 3.0, 1.0)]
        # Read, but kept with their deliveries: a second claim or outcome of one is not noted again.
        assert reopened.db.connection().execute("SELECT count(*) FROM event_invocations").fetchone()[0] == 6
    finally:
        reopened.close()


def test_a_feed_made_on_an_existing_data_dir_starts_after_what_happened_before_it(local: LocalDataDir, clock: FakeClock) -> None:
    router = _router(local, clock, Flaky(failures=0))
    _put(local)
    clock.advance(1.0)
    router.deliver_pending()
    feeds = _feeds(local, clock)  # made after the delivery: the history before it is not AWS's data
    _pull(feeds)
    assert _points(local, "IngestionToInvocationStartLatency") == []
    assert _points(local, "TriggeredRules", (("RuleName", "orders"),)) == []
    _put(local)
    clock.advance(0.25)
    router.deliver_pending()
    _pull(feeds)
    assert _points(local, "IngestionToInvocationStartLatency") == [(1.0, 250.0, 250.0)]
    assert _points(local, "TriggeredRules", (("RuleName", "orders"),)) == [(1.0, 1.0, 1.0)]


class Racing:
    """The CloudWatch store as a feeder sees it when another feeder stores the same range just before it does."""

    def __init__(self, store: Any, rival: Callable[[], object]) -> None:
        self.store = store
        self.bus = store.bus
        self.clock = store.clock
        self.rival: Callable[[], object] | None = rival

    def cursor(self, feed: str) -> int:
        return int(self.store.cursor(feed))

    def start_cursor(self, feed: str, position: int) -> int:
        return int(self.store.start_cursor(feed, position))

    def put(self, data: Any, *, feed: tuple[str, int] | None = None, expected: int | None = None) -> bool:
        if self.rival is not None:
            rival, self.rival = self.rival, None
            rival()
        return bool(self.store.put(data, feed=feed, expected=expected))


@pytest.mark.parametrize("feed_class", [EventRoutingFeed, EventInvocationFeed])
def test_a_feeder_beaten_to_a_range_stores_nothing_of_it(local: LocalDataDir, clock: FakeClock, feed_class: Any) -> None:
    rival = feed_class(local.cloudwatch)
    racing = feed_class(Racing(local.cloudwatch, rival.pull))
    router = _router(local, clock, Flaky(failures=0))
    _put(local)
    clock.advance(0.5)
    router.deliver_pending()
    assert racing.pull() == 0  # the rival stored the range between its read and its write
    assert rival.pull() == 0
    if feed_class is EventRoutingFeed:
        assert _points(local, "TriggeredRules", (("RuleName", "orders"),)) == [(1.0, 1.0, 1.0)]
    else:
        assert _points(local, "IngestionToInvocationStartLatency") == [(1.0, 500.0, 500.0)]
        assert _points(local, "Invocations") == [(1.0, 1.0, 1.0)]


def test_a_deliverys_notes_go_with_it_when_its_event_is_pruned(local: LocalDataDir, clock: FakeClock) -> None:
    feeds = _feeds(local, clock)
    router = _router(local, clock, Flaky(failures=0))
    _put(local)
    router.deliver_pending()
    _pull(feeds)
    count = "SELECT count(*) FROM event_invocations"
    assert local.db.connection().execute(count).fetchone()[0] == 2  # its first start and its end, read and kept
    clock.advance(local.bus.retention.total_seconds() + 1)
    assert local.bus.prune() == 1
    assert local.bus.deliveries() == []
    assert local.db.connection().execute(count).fetchone()[0] == 0


def test_a_pending_deliverys_notes_outlive_the_retention(local: LocalDataDir, clock: FakeClock) -> None:
    # Past the archive's retention an event stays while a delivery of it is pending, and so do that
    # delivery's notes: a claim after the prune must still find its first start there.
    short = SqliteEventBus(local.db, clock, retention=timedelta(minutes=1))
    feeds = _feeds(local, clock)
    target = Flaky(failures=0)
    router = EventRouter(short, clock=clock, rng=lambda: 0.0)
    router.add_rule(Rule("orders", compile_pattern({"source": ["test.shop"]}), targets=(target,)))
    _claim_and_die(short, clock)
    _pull(feeds)
    clock.advance(DEFAULT_LEASE.total_seconds() + 100)
    assert short.prune() == 0
    assert router.deliver_pending() == 1 and target.calls == 1
    _pull(feeds)
    assert _points(local, "IngestionToInvocationStartLatency") == [(1.0, 1000.0, 1000.0)]


# -- a delivery claimed or ended twice (its first router died, or outlived its lease) -------------


def _claim_and_die(bus: SqliteEventBus, clock: FakeClock) -> int:
    """Put and route an event, then claim its delivery a second later as a router that records no outcome (it died)."""
    bus.put_events([{"source": "test.shop", "detail-type": "Order", "detail": {}}])
    (event,) = bus.unrouted()
    bus.route(event.seq, [NewDelivery("orders", "0", "process")])  # as the router matches it
    (row,) = bus.deliveries()
    clock.advance(1.0)
    assert bus.claim(row.id, clock.now(), clock.now() + DEFAULT_LEASE)
    return row.id


def test_a_delivery_claimed_again_after_its_lease_ran_out_starts_once(local: LocalDataDir, clock: FakeClock) -> None:
    feeds = _feeds(local, clock)
    target = Flaky(failures=0)
    router = _router(local, clock, target)
    _claim_and_die(local.bus, clock)
    _pull(feeds)  # the stack's feed runs between the two claims (every 10 s, and on any metric read)
    assert _points(local, "IngestionToInvocationStartLatency") == [(1.0, 1000.0, 1000.0)]

    clock.advance(DEFAULT_LEASE.total_seconds() + 100)
    assert router.deliver_pending() == 1 and target.calls == 1  # another router takes it over
    _pull(feeds)
    # Still the first attempt's start: the second claim is no new first invocation.
    assert _points(local, "IngestionToInvocationStartLatency") == [(1.0, 1000.0, 1000.0)]
    assert _points(local, "IngestiontoInvocationStartLatency", (("EventBusName", "default"), ("RuleName", "orders"))) == [
        (1.0, 1000.0, 1000.0)
    ]
    assert _points(local, "Invocations", (("RuleName", "orders"),)) == [(1.0, 1.0, 1.0)]


def test_a_delivery_released_at_a_restart_starts_once(tmp_path: Path, clock: FakeClock) -> None:
    data_dir = tmp_path / "data"
    before = _open(data_dir, clock)
    try:
        feeds = _feeds(before, clock)
        _claim_and_die(before.bus, clock)
        _pull(feeds)
    finally:
        before.close()  # the claimant's process is gone
    clock.advance(2.0)
    after = _open(data_dir, clock)
    try:
        feeds = _feeds(after, clock)
        target = Flaky(failures=0)
        router = _router(after, clock, target)
        assert after.bus.release_orphans() == 1  # due at once, not at the end of the dead claim's lease
        assert router.deliver_pending() == 1 and target.calls == 1
        _pull(feeds)
        assert _points(after, "IngestionToInvocationStartLatency") == [(1.0, 1000.0, 1000.0)]
        assert _points(after, "Invocations") == [(1.0, 1.0, 1.0)]
    finally:
        after.close()


def test_a_delivery_ended_by_two_routers_is_counted_as_the_first_ended_it(local: LocalDataDir, clock: FakeClock) -> None:
    feeds = _feeds(local, clock)
    target = Flaky(failures=0)
    router = _router(local, clock, target)
    delivery = _claim_and_die(local.bus, clock)  # a slow router: its lease runs out mid-attempt
    clock.advance(DEFAULT_LEASE.total_seconds() + 100)
    assert router.deliver_pending() == 1 and target.calls == 1  # another router delivers it
    _pull(feeds)
    rule = (("RuleName", "orders"),)
    assert _points(local, "Invocations", rule) == [(1.0, 1.0, 1.0)]

    # The slow router's attempt fails for good at last: the delivery has ended already.
    local.bus.record(delivery, status="dead-lettered", attempts=1, error="target unavailable")
    _pull(feeds)
    assert _points(local, "Invocations", rule) == [(1.0, 1.0, 1.0)]
    assert _points(local, "Invocations") == [(1.0, 1.0, 1.0)]
    assert _points(local, "FailedInvocations", rule) == []
    assert _points(local, "InvocationsSentToDlq", rule) == []
    assert [d.status for d in local.bus.deliveries()] == ["delivered"]


def test_a_late_retry_does_not_reopen_a_delivery_another_router_finished(local: LocalDataDir, clock: FakeClock) -> None:
    target = Flaky(failures=0)
    router = _router(local, clock, target)
    delivery = _claim_and_die(local.bus, clock)
    clock.advance(DEFAULT_LEASE.total_seconds() + 100)
    assert router.deliver_pending() == 1
    local.bus.record(delivery, status="pending", attempts=1, next_attempt_at=clock.now(), error="target unavailable")
    (row,) = local.bus.deliveries()
    assert (row.status, row.attempts) == ("delivered", 0)
    assert router.deliver_pending() == 0 and target.calls == 1  # not sent again
