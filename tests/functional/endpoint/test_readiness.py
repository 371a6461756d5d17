"""``/_sluiceway/health/ready``: ready only when the stack has started, its database takes writes, its
worker pool is open and nothing it must deliver has waited too long; otherwise 503 naming the check."""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sluiceway.clock import FakeClock
from sluiceway.endpoint.health import CHECKS, liveness, readiness
from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings


def get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[Stack]:
    """A started stack of the test's own (these tests stop parts of it)."""
    settings = Settings.load(data_dir=tmp_path / "data", workers=1, endpoint_port=0, health_check_timeout_s=0.3)
    built = build_stack(settings, app=None, invoker_mode="thread")
    built.start("readiness tests")
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def served(own_stack: Stack) -> Iterator[Endpoint]:
    endpoint = Endpoint(own_stack, host="127.0.0.1", port=0)
    endpoint.start()
    try:
        yield endpoint
    finally:
        endpoint.close()


def test_a_running_stack_is_ready_and_says_so_check_by_check(served: Endpoint) -> None:
    status, body = get(f"{served.url}/_sluiceway/health/ready")

    assert status == 200
    assert body["status"] == "ready"
    assert "failing" not in body
    assert list(body["checks"]) == list(CHECKS)
    assert all(check["status"] == "ok" and check["detail"] for check in body["checks"].values())
    assert body["checks"]["workers"]["size"] == 1
    assert body["checks"]["event_lag"]["seconds"] < served.stack.settings.health_max_event_lag_s


def test_liveness_keeps_its_body(served: Endpoint) -> None:
    status, body = get(f"{served.url}/_sluiceway/health")

    assert (status, body) == liveness(served)
    assert body["status"] == "running" and "sqs" in body["services"]


def test_a_stack_still_starting_is_not_ready(served: Endpoint) -> None:
    served.starting = "making the template's resources"

    status, body = readiness(served)

    assert status == 503
    assert body["failing"] == ["started"]
    assert body["checks"]["started"]["detail"] == "starting: making the template's resources"


def test_a_stopped_worker_pool_is_named(served: Endpoint) -> None:
    served.stack.invoker.close()

    status, body = get(f"{served.url}/_sluiceway/health/ready")

    assert status == 503
    assert body["status"] == "not ready"
    assert body["failing"] == ["workers"]
    assert "stopped" in body["checks"]["workers"]["detail"]


def test_a_database_another_process_holds_locked_is_named_within_the_bound(served: Endpoint) -> None:
    blocker = sqlite3.connect(served.stack.settings.db_path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # the write lock, held: nobody else can write

        status, body = readiness(served, timeout_s=0.2)

        assert status == 503
        assert body["failing"] == ["database"]  # reads go on in WAL mode: the lag is still measured
        assert "locked" in body["checks"]["database"]["detail"]
        assert body["checks"]["database"]["ms"] < 2000
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert readiness(served)[0] == 200


def test_a_missing_database_fails_closed(tmp_path: Path, served: Endpoint) -> None:
    moved = served.stack.settings.model_copy(update={"data_dir": tmp_path / "nowhere"})
    served.stack.settings = moved

    status, body = readiness(served)

    assert status == 503
    assert set(body["failing"]) == {"database", "event_lag"}
    assert not (tmp_path / "nowhere" / "sluiceway.db").exists()  # a probe creates nothing


@pytest.fixture
def idle_stack(tmp_path: Path) -> Iterator[tuple[Stack, FakeClock, Endpoint]]:
    """A stack that is built but not started: nothing routes or delivers, and time moves by hand."""
    clock = FakeClock()
    settings = Settings.load(data_dir=tmp_path / "data", workers=1, endpoint_port=0)
    built = build_stack(settings, app=None, invoker_mode="thread", clock=clock)
    endpoint = Endpoint(built, host="127.0.0.1", port=0)
    try:
        yield built, clock, endpoint
    finally:
        built.invoker.close()
        built.local.close()


def test_an_event_the_bus_has_not_routed_for_too_long_is_lag(idle_stack: tuple[Stack, FakeClock, Endpoint]) -> None:
    stack, clock, endpoint = idle_stack
    stack.local.bus.put_events([{"source": "test", "detail-type": "Tick", "detail": {}}])
    clock.advance(30)
    assert readiness(endpoint)[0] == 200  # within the 60 s allowed

    clock.advance(61)
    status, body = readiness(endpoint)

    assert status == 503
    assert body["failing"] == ["event_lag"]
    assert body["checks"]["event_lag"]["oldest"] == "unrouted events"
    assert body["checks"]["event_lag"]["seconds"] == pytest.approx(91, abs=0.01)
    assert "unrouted events have waited 91.0 s" in body["checks"]["event_lag"]["detail"]

    stack.router.deliver_pending()  # routed (no rule matches it): nothing waits any more
    assert readiness(endpoint)[0] == 200


def test_an_overdue_asynchronous_invocation_is_lag(idle_stack: tuple[Stack, FakeClock, Endpoint]) -> None:
    stack, clock, endpoint = idle_stack
    stack.local.async_invocations.enqueue("some-function", {"n": 1})
    clock.advance(120)

    status, body = readiness(endpoint)

    assert status == 503
    assert body["failing"] == ["event_lag"]
    assert body["checks"]["event_lag"]["oldest"] == "async invocations"
    assert body["checks"]["event_lag"]["seconds"] == pytest.approx(120, abs=0.01)
