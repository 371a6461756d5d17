"""CloudWatch's ``AWS/Lambda`` ``Throttles``: one data point per invocation request the local Lambda
refuses for its reserved concurrency, durable in the data dir, counted once with two stacks on it."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sluiceway.backends.local._cw_values import MetricKey
from sluiceway.backends.local.cloudwatch_feeds import LambdaThrottles, metric_feeds
from sluiceway.backends.local.datadir import LocalDataDir, open_data_dir
from sluiceway.clock import FakeClock
from sluiceway.observability.metrics import Metrics
from sluiceway.ports import Invocation, InvocationResult
from sluiceway.runtime.lambdas.async_invocations import AsyncInvocationDeliverer
from sluiceway.runtime.lambdas.invoker import FunctionSpec, LocalFunctionInvoker
from sluiceway.runtime.messaging.triggers import EventSourceMapping, QueuePoller
from sluiceway.settings import Settings

START = datetime(2026, 5, 12, 1, 0, 30, tzinfo=UTC)
FUNCTION = "Throttled"
THROTTLES = MetricKey("AWS/Lambda", "Throttles", (("FunctionName", FUNCTION),))
INVOCATIONS = MetricKey("AWS/Lambda", "Invocations", (("FunctionName", FUNCTION),))

_entered = threading.Event()
_release = threading.Event()


def hold(event: Any, context: Any) -> str:
    """A handler that stays in flight until the test lets it go (thread mode: this module)."""
    _entered.set()
    _release.wait(20)
    return "done"


def quick(event: Any, context: Any) -> str:
    return "done"


def open_local(data_dir: Path, clock: FakeClock) -> LocalDataDir:
    return open_data_dir(Settings.load(data_dir=data_dir), clock)


def invoker_for(local: LocalDataDir, handler: str, reserved: int, metrics: Metrics | None = None) -> LocalFunctionInvoker:
    spec = FunctionSpec(FUNCTION, f"{__name__}.{handler}", reserved_concurrency=reserved)
    return LocalFunctionInvoker(
        [spec], workers=2, mode="thread", logs=local.logs, metrics=metrics, throttles=LambdaThrottles(local.cloudwatch).record
    )


def call(invoker: LocalFunctionInvoker) -> InvocationResult:
    return invoker.invoke(Invocation(FUNCTION, {}, str(uuid.uuid4())))


def statistics(local: LocalDataDir, key: MetricKey, clock: FakeClock) -> list[tuple[float, float, float, str]]:
    """``(SampleCount, Sum, Maximum, unit)`` of everything from the test's start to now, if any."""
    start = int(START.timestamp() * 1000) - 60_000
    end = int(clock.now().timestamp() * 1000) + 60_000
    buckets = local.cloudwatch.buckets(key, start, end, (end - start) // 1000)
    return [(b.samples, b.total, b.maximum, b.unit) for b in buckets if b.samples]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def local(tmp_path: Path, clock: FakeClock) -> Iterator[LocalDataDir]:
    opened = open_local(tmp_path / "data", clock)
    try:
        yield opened
    finally:
        opened.close()


def test_each_refused_request_is_one_throttle_and_no_invocation(local: LocalDataDir, clock: FakeClock) -> None:
    metrics = Metrics()
    feeds = metric_feeds(
        local.cloudwatch, logs_path=local.logs.path, executions=local.executions, queues=local.queues, clock=clock,
        region="us-east-1", account_id="111111111111",
    )  # fmt: skip
    with invoker_for(local, "quick", 0, metrics) as invoker:
        results = [call(invoker) for _ in range(3)]

    assert {r.error_type for r in results} == {"TooManyRequestsException"}
    for feed in feeds:  # the feeds find nothing of a refusal to count again
        feed.pull()
    assert statistics(local, THROTTLES, clock) == [(3.0, 3.0, 1.0, "Count")]
    assert statistics(local, INVOCATIONS, clock) == []  # a throttled request is no invocation
    assert metrics.registry.get_sample_value("sluiceway_function_throttles_total", {"function": FUNCTION}) == 3.0


def test_two_requests_at_once_with_reserved_concurrency_one_make_one_throttle(local: LocalDataDir, clock: FakeClock) -> None:
    _entered.clear()
    _release.clear()
    with invoker_for(local, "hold", 1) as invoker:
        first: list[InvocationResult] = []
        running = threading.Thread(target=lambda: first.append(call(invoker)))
        running.start()
        try:
            assert _entered.wait(20), "the first invocation never started"
            second = call(invoker)
        finally:
            _release.set()
            running.join(20)
        third = call(invoker)  # the first one is over: room again

    assert [r.payload for r in first] == ["done"] and third.payload == "done"
    assert second.error_type == "TooManyRequestsException"
    assert statistics(local, THROTTLES, clock) == [(1.0, 1.0, 1.0, "Count")]


def test_throttles_outlive_a_restart_and_two_stacks_count_only_their_own(tmp_path: Path, clock: FakeClock) -> None:
    data_dir = tmp_path / "data"
    one, two = open_local(data_dir, clock), open_local(data_dir, clock)
    try:
        with invoker_for(one, "quick", 0) as first, invoker_for(two, "quick", 0) as second:
            assert call(first).error_type == call(second).error_type == "TooManyRequestsException"
            assert call(first).error_type == "TooManyRequestsException"
    finally:
        one.close()
        two.close()

    reopened = open_local(data_dir, clock)
    try:
        assert statistics(reopened, THROTTLES, clock) == [(3.0, 3.0, 1.0, "Count")]
    finally:
        reopened.close()


def test_the_data_point_is_stamped_with_the_refusal(local: LocalDataDir, clock: FakeClock) -> None:
    with invoker_for(local, "quick", 0) as invoker:
        call(invoker)
        clock.advance(120)
        call(invoker)

    start = int(START.timestamp() * 1000) // 60_000 * 60_000
    buckets = local.cloudwatch.buckets(THROTTLES, start, start + 180_000, 60)
    assert [(b.timestamp_ms - start, b.total) for b in buckets if b.samples] == [(0, 1.0), (120_000, 1.0)]


def test_a_throttle_that_cannot_be_stored_leaves_the_refusal_as_it_is(local: LocalDataDir) -> None:
    def broken(function: str) -> None:
        raise OSError("disk full")

    spec = FunctionSpec(FUNCTION, f"{__name__}.quick", reserved_concurrency=0)
    with LocalFunctionInvoker([spec], workers=1, mode="thread", throttles=broken) as invoker:
        result = call(invoker)

    assert (result.error_type, result.error_message) == ("TooManyRequestsException", "Rate Exceeded.")


def test_a_function_without_reserved_concurrency_is_never_throttled(local: LocalDataDir, clock: FakeClock) -> None:
    spec = FunctionSpec(FUNCTION, f"{__name__}.quick")
    with LocalFunctionInvoker([spec], workers=1, mode="thread", throttles=LambdaThrottles(local.cloudwatch).record) as invoker:
        assert [call(invoker).payload for _ in range(3)] == ["done"] * 3

    assert statistics(local, THROTTLES, clock) == []


def test_an_asynchronous_invocation_counts_a_throttle_each_time_it_is_throttled(local: LocalDataDir, clock: FakeClock) -> None:
    local.async_invocations.enqueue(FUNCTION, {"n": 1}, request_id=str(uuid.uuid4()))
    with invoker_for(local, "quick", 0) as invoker:
        deliverer = AsyncInvocationDeliverer(local.async_invocations, local.async_invocations.configs, invoker, clock)
        deliverer.deliver_pending()
        clock.advance(3600)  # past any back-off: Lambda tries the kept event again
        deliverer.deliver_pending()
        assert statistics(local, THROTTLES, clock) == [(2.0, 2.0, 1.0, "Count")]

        invoker.register(FunctionSpec(FUNCTION, f"{__name__}.quick"))  # room at last: it runs, no throttle
        clock.advance(3600)
        assert deliverer.deliver_pending() == 1
    assert statistics(local, THROTTLES, clock) == [(2.0, 2.0, 1.0, "Count")]


def test_each_throttled_batch_of_a_queue_mapping_counts_once(local: LocalDataDir, clock: FakeClock) -> None:
    local.queues.create_queue("work")
    local.queues.send("work", "one")
    with invoker_for(local, "quick", 0) as invoker:
        poller = QueuePoller(
            EventSourceMapping("work", FUNCTION), local.queues, invoker, clock=clock, poll_wait_s=0.05, backoff_s=(0.01, 0.02)
        )
        for _ in range(2):
            outcome = poller.poll_once()
            assert outcome is not None and outcome.error is not None and "TooManyRequestsException" in outcome.error
            clock.advance(31)  # the batch is back on the queue after its visibility timeout
        assert statistics(local, THROTTLES, clock) == [(2.0, 2.0, 1.0, "Count")]
