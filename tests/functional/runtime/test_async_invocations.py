"""Lambda's asynchronous invocations: durable before acknowledged, Lambda's retries, age limit and destinations, restarts and kills."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sluiceway.backends.local._sqlite import Database, migrate
from sluiceway.backends.local.async_invocations import AsyncInvocation, EventInvokeConfig, SqliteAsyncInvocations
from sluiceway.backends.local.events import SqliteEventBus
from sluiceway.backends.local.queues import SqliteQueueService
from sluiceway.backends.local.topics import SqliteTopic
from sluiceway.clock import FakeClock
from sluiceway.ports import Invocation, InvocationResult
from sluiceway.runtime.lambdas.async_invocations import AsyncInvocationDeliverer
from sluiceway.runtime.lambdas.destinations import LocalDestinations

ACCOUNT = "123456789012"
ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:"


class FakeFunctions:
    """The local Lambda as the deliverer sees it: known names, and a script of outcomes per call."""

    def __init__(self, *names: str, fail: int = 0, error: str = "ValueError", raises: int = 0, refused: bool = False) -> None:
        self.names = set(names)
        self.calls: list[Invocation] = []
        self.versions: list[str | None] = []
        self.fail = fail
        self.error = error
        self.refused = refused
        """The scripted failures are Invoke's refusals rather than the function's errors."""
        self.raises = raises
        self._lock = threading.Lock()

    def invoke(self, invocation: Invocation, *, version: str | None = None) -> InvocationResult:
        with self._lock:
            if self.raises:
                self.raises -= 1
                raise RuntimeError("the function invoker is closed")
            self.calls.append(invocation)
            self.versions.append(version)
            name = self.resolve(invocation.function_name)
            if name is None:
                return InvocationResult(
                    invocation.request_id, error_type="ResourceNotFoundException", error_message="Function not found", refused=True
                )
            if self.fail:
                self.fail -= 1
                if self.refused:
                    return InvocationResult(invocation.request_id, error_type=self.error, error_message="boom", refused=True)
                return InvocationResult(invocation.request_id, error_type=self.error, error_message="boom", stack_trace=("  File x",))
            return InvocationResult(invocation.request_id, payload={"ran": invocation.payload})

    def resolve(self, resource: str) -> str | None:
        name = resource.removeprefix(ARN).split(":")[0]
        return name if name in self.names else None

    def arn_of(self, resource: str) -> str | None:
        return ARN + resource.removeprefix(ARN)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "sluiceway.db")
    yield database
    database.close()


@pytest.fixture
def queue(db: Database, clock: FakeClock) -> SqliteAsyncInvocations:
    return SqliteAsyncInvocations(db, clock)


def deliverer(
    queue: SqliteAsyncInvocations, functions: FakeFunctions, clock: FakeClock, **options: Any
) -> AsyncInvocationDeliverer[AsyncInvocation]:
    return AsyncInvocationDeliverer(queue, queue.configs, functions, clock, **options)


class Recorder:
    """Destinations that keep what they were sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send(self, arn: str, record: dict[str, Any]) -> bool:
        self.sent.append((arn, record))
        return True


def test_an_invocation_is_committed_before_enqueue_returns_and_only_then_wakes_the_deliverer(
    db: Database, clock: FakeClock, tmp_path: Path
) -> None:
    woken: list[int] = []
    queue = SqliteAsyncInvocations(db, clock, on_enqueue=lambda: woken.append(len(other.pending())))
    other = SqliteAsyncInvocations(Database(tmp_path / "sluiceway.db"), clock)  # another connection sees only commits
    request_id = queue.enqueue("fn", {"a": 1})
    assert woken == [1]
    [pending] = other.pending()
    assert (pending.function, pending.payload, pending.request_id, pending.attempts) == ("fn", {"a": 1}, request_id, 0)
    # Inside a caller's transaction it commits with it: a rollback takes it back, and nobody is woken.
    with pytest.raises(RuntimeError), db.transaction():
        queue.enqueue("fn", {"b": 2}, request_id="kept-out")
        raise RuntimeError("the write that caused it failed")
    assert [p.request_id for p in other.pending()] == [request_id] and woken == [1]
    other.db.close()


def test_a_failing_function_is_retried_after_one_then_two_minutes_then_given_up_with_a_record(
    queue: SqliteAsyncInvocations, clock: FakeClock
) -> None:
    functions = FakeFunctions("fn", fail=10)
    sent = Recorder()
    queue.configs.put(EventInvokeConfig("fn", "$LATEST", clock.now(), on_failure=f"arn:aws:sqs:us-east-1:{ACCOUNT}:dlq"))
    loop = deliverer(queue, functions, clock, destinations=sent)
    request_id = queue.enqueue("fn", {"order": 7})
    assert loop.deliver_pending() == 0 and len(functions.calls) == 1
    clock.advance(59)
    assert loop.deliver_pending() == 0 and len(functions.calls) == 1
    clock.advance(1)
    loop.deliver_pending()
    assert len(functions.calls) == 2
    clock.advance(119)
    loop.deliver_pending()
    assert len(functions.calls) == 2
    clock.advance(1)
    loop.deliver_pending()
    assert len(functions.calls) == 3
    clock.advance(3600)
    loop.deliver_pending()
    assert len(functions.calls) == 3  # two retries, no more
    assert {c.request_id for c in functions.calls} == {request_id}  # one request id on every attempt
    assert queue.pending() == []
    [(given_up, status, error)] = queue.given_up()
    assert (given_up.attempts, status) == (3, "failed") and error == "ValueError: boom"
    [(arn, record)] = sent.sent
    assert arn == f"arn:aws:sqs:us-east-1:{ACCOUNT}:dlq"
    assert record["requestContext"] == {
        "requestId": request_id,
        "functionArn": f"{ARN}fn:$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,
    }
    assert record["requestPayload"] == {"order": 7} and record["version"] == "1.0"
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"]["errorType"] == "ValueError" and record["responsePayload"]["requestId"] == request_id


def test_a_function_error_named_as_an_invoke_refusal_is_retried_then_sent_to_on_failure(
    queue: SqliteAsyncInvocations, clock: FakeClock
) -> None:
    # The handler's own uncaught botocore InvalidParameterValueException: a function error like any
    # other (only Invoke's refusal, marked refused, drops the event).
    functions = FakeFunctions("fn", fail=10, error="InvalidParameterValueException")
    sent = Recorder()
    queue.configs.put(EventInvokeConfig("fn", "$LATEST", clock.now(), on_failure=f"arn:aws:sqs:us-east-1:{ACCOUNT}:dlq"))
    loop = deliverer(queue, functions, clock, destinations=sent)
    queue.enqueue("fn", {"k": 1})
    for _ in range(4):
        loop.deliver_pending()
        clock.advance(120)
    assert len(functions.calls) == 3
    [(_, status, error)] = queue.given_up()
    assert status == "failed" and error is not None and error.startswith("InvalidParameterValueException")
    [(arn, record)] = sent.sent
    assert arn == f"arn:aws:sqs:us-east-1:{ACCOUNT}:dlq"
    assert record["requestContext"]["condition"] == "RetriesExhausted" and record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responsePayload"]["errorType"] == "InvalidParameterValueException"


def test_a_qualified_invocation_runs_the_version_its_qualifier_names_when_delivered(
    queue: SqliteAsyncInvocations, clock: FakeClock
) -> None:
    functions = FakeFunctions("fn")
    sent = Recorder()
    queue.configs.put(EventInvokeConfig("fn", "$LATEST", clock.now(), on_success=f"arn:aws:sqs:us-east-1:{ACCOUNT}:ok"))
    routes = {"live": "1"}
    asked: list[tuple[str, str | None]] = []

    def versions(name: str, qualifier: str | None) -> str:
        asked.append((name, qualifier))
        return routes.get(qualifier or "", qualifier or "$LATEST")

    loop = deliverer(queue, functions, clock, destinations=sent)
    queue.enqueue("fn:live", {})
    queue.enqueue(f"{ARN}fn:4", {})
    queue.enqueue("fn", {})
    loop.deliver_pending()
    # Without the hook: a version number runs as itself, an alias as $LATEST.
    assert functions.versions == ["$LATEST", "4", "$LATEST"]
    loop.route_versions(versions)
    routes["live"] = "2"  # the alias moved after the event was queued: delivery follows it
    queue.enqueue("fn:live", {})
    loop.deliver_pending()
    assert asked == [("fn", "live")] and functions.versions[-1] == "2"
    assert functions.calls[-1].function_name == "fn:live"  # as queued: the handler's invoked ARN names the alias
    assert [record["requestContext"]["functionArn"] for _, record in sent.sent] == [
        f"{ARN}fn:$LATEST",
        f"{ARN}fn:4",
        f"{ARN}fn:$LATEST",
        f"{ARN}fn:2",
    ]


def test_maximum_retry_attempts_bounds_the_retries(queue: SqliteAsyncInvocations, clock: FakeClock) -> None:
    functions = FakeFunctions("fn", fail=10)
    queue.configs.put(EventInvokeConfig("fn", "$LATEST", clock.now(), maximum_retry_attempts=0))
    loop = deliverer(queue, functions, clock)
    queue.enqueue("fn", {})
    loop.deliver_pending()
    clock.advance(600)
    loop.deliver_pending()
    assert len(functions.calls) == 1 and queue.pending() == []
    queue.configs.put(EventInvokeConfig("fn", "$LATEST", clock.now(), maximum_retry_attempts=1))
    queue.enqueue("fn", {})
    loop.deliver_pending()
    clock.advance(60)
    loop.deliver_pending()
    clock.advance(600)
    loop.deliver_pending()
    assert len(functions.calls) == 3 and [s for _, s, _ in queue.given_up()] == ["failed", "failed"]


def test_a_retry_that_comes_after_the_maximum_age_is_not_made(queue: SqliteAsyncInvocations, clock: FakeClock) -> None:
    functions = FakeFunctions("fn", fail=1)
    sent = Recorder()
    queue.configs.put(
        EventInvokeConfig("fn", "$LATEST", clock.now(), maximum_event_age_s=60, on_failure=f"arn:aws:sns:us-east-1:{ACCOUNT}:t")
    )
    loop = deliverer(queue, functions, clock, destinations=sent)
    queue.enqueue("fn", {})
    loop.deliver_pending()
    clock.advance(61)  # the retry is due a minute after the failure: the event is older than 60 s by then
    loop.deliver_pending()
    assert len(functions.calls) == 1
    [(_, status, error)] = queue.given_up()
    assert status == "expired" and error is not None and error.startswith("EventAgeExceeded")
    [(_, record)] = sent.sent
    assert record["requestContext"]["condition"] == "EventAgeExceeded" and record["requestContext"]["approximateInvokeCount"] == 1


def test_an_invocation_waits_six_hours_at_most_by_default(queue: SqliteAsyncInvocations, clock: FakeClock) -> None:
    functions = FakeFunctions("fn")
    queue.enqueue("fn", {"early": True})
    clock.advance(6 * 3600)
    queue.enqueue("fn", {"late": True})
    clock.advance(1)  # the stack was down for six hours and a second
    loop = deliverer(queue, functions, clock)
    assert loop.deliver_pending() == 1
    assert [c.payload for c in functions.calls] == [{"late": True}]
    assert [(i.payload, s) for i, s, _ in queue.given_up()] == [({"early": True}, "expired")]


def test_a_success_goes_to_the_on_success_destination_and_leaves_nothing_queued(queue: SqliteAsyncInvocations, clock: FakeClock) -> None:
    functions = FakeFunctions("fn")
    sent = Recorder()
    queue.configs.put(EventInvokeConfig("fn", "$LATEST", clock.now(), on_success=f"{ARN}audit"))
    loop = deliverer(queue, functions, clock, destinations=sent)
    request_id = queue.enqueue(f"{ARN}fn", {"k": "v"})
    assert loop.deliver_pending() == 1
    assert queue.pending() == [] and queue.given_up() == []
    [(arn, record)] = sent.sent
    assert arn == f"{ARN}audit"
    assert record["requestContext"]["condition"] == "Success" and record["requestContext"]["requestId"] == request_id
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"ran": {"k": "v"}}


def test_a_function_that_is_gone_is_not_retried(queue: SqliteAsyncInvocations, clock: FakeClock) -> None:
    functions = FakeFunctions()
    loop = deliverer(queue, functions, clock)
    queue.enqueue("gone", {})
    loop.deliver_pending()
    clock.advance(3600)
    loop.deliver_pending()
    assert len(functions.calls) == 1
    [(_, status, error)] = queue.given_up()
    assert status == "failed" and error is not None and error.startswith("ResourceNotFoundException")


def test_a_tenant_refusal_is_not_retried_and_reaches_no_destination(queue: SqliteAsyncInvocations, clock: FakeClock) -> None:
    # A service's event names no tenant: a tenant-isolated function refuses it (Invoke's refusal, not a
    # function error), which no retry changes; Lambda never queued such an event, so no record is sent.
    functions = FakeFunctions("iso", fail=10, error="InvalidParameterValueException", refused=True)
    sent = Recorder()
    queue.configs.put(EventInvokeConfig("iso", "$LATEST", clock.now(), on_failure=f"arn:aws:sqs:us-east-1:{ACCOUNT}:dlq"))
    loop = deliverer(queue, functions, clock, destinations=sent)
    queue.enqueue("iso", {"from": "s3"})
    loop.deliver_pending()
    clock.advance(3600)
    loop.deliver_pending()
    assert len(functions.calls) == 1
    assert queue.pending() == []
    [(_, status, error)] = queue.given_up()
    assert status == "failed" and error is not None and error.startswith("InvalidParameterValueException")
    assert sent.sent == []


def test_a_lambda_that_cannot_run_keeps_the_invocation_with_a_growing_back_off(queue: SqliteAsyncInvocations, clock: FakeClock) -> None:
    functions = FakeFunctions("fn", raises=3)
    loop = deliverer(queue, functions, clock)
    queue.enqueue("fn", {})
    loop.deliver_pending()  # age 0: back in a second
    [waiting] = queue.pending()
    assert waiting.attempts == 0  # not one of the function's attempts
    clock.advance(1)
    loop.deliver_pending()  # age 1 s: back in a second
    clock.advance(1)
    loop.deliver_pending()  # age 2 s: back in two
    clock.advance(1)
    loop.deliver_pending()
    assert functions.calls == []
    clock.advance(1)
    assert loop.deliver_pending() == 1 and len(functions.calls) == 1 and queue.pending() == []


def test_a_restart_between_attempts_delivers_once(tmp_path: Path, clock: FakeClock) -> None:
    first_db = Database(tmp_path / "sluiceway.db")
    first = SqliteAsyncInvocations(first_db, clock)
    failing = FakeFunctions("fn", fail=1)
    request_id = first.enqueue("fn", {"n": 1})
    deliverer(first, failing, clock).deliver_pending()
    first_db.close()  # the stack stops with the retry pending

    second_db = Database(tmp_path / "sluiceway.db")
    second = SqliteAsyncInvocations(second_db, clock)
    working = FakeFunctions("fn")
    loop = deliverer(second, working, clock)
    assert loop.deliver_pending() == 0  # the retry keeps its time across the restart
    clock.advance(60)
    assert loop.deliver_pending() == 1
    clock.advance(3600)
    assert loop.deliver_pending() == 0
    assert [c.request_id for c in working.calls] == [request_id] and second.pending() == []
    second_db.close()


CHILD = textwrap.dedent(
    """
    import os, sys
    from datetime import timedelta
    from sluiceway.backends.local._sqlite import Database
    from sluiceway.backends.local.async_invocations import SqliteAsyncInvocations
    from sluiceway.clock import FakeClock

    clock = FakeClock()
    queue = SqliteAsyncInvocations(Database(sys.argv[1]), clock)
    request_id = queue.enqueue("fn", {"from": "child"})
    if sys.argv[2] == "claim":  # killed while the function runs
        [row] = queue.due(clock.now())
        assert queue.claim(row.id, clock.now(), clock.now() + timedelta(minutes=16))
    print(request_id, flush=True)
    os._exit(9)  # as a kill -9 would: nothing after the commit runs, no close, no cleanup
    """
)


@pytest.mark.parametrize("when", ["accepted", "claim"])
def test_a_kill_after_the_acknowledgement_loses_nothing_and_runs_it_once(tmp_path: Path, clock: FakeClock, when: str) -> None:
    path = tmp_path / "sluiceway.db"
    child = subprocess.run([sys.executable, "-c", CHILD, str(path), when], capture_output=True, text=True, timeout=60, check=False)
    assert child.returncode == 9, child.stderr
    request_id = child.stdout.strip()
    db = Database(path)
    try:
        queue = SqliteAsyncInvocations(db, clock)
        functions = FakeFunctions("fn")
        loop = deliverer(queue, functions, clock)
        if when == "claim":
            assert loop.deliver_pending() == 0  # claimed by the killed process, until its claim is released
            assert queue.release_orphans() == 1
        assert loop.deliver_pending() == 1
        assert loop.deliver_pending() == 0
        assert [(c.request_id, c.payload) for c in functions.calls] == [(request_id, {"from": "child"})]
    finally:
        db.close()


def test_concurrent_loops_run_each_invocation_once(queue: SqliteAsyncInvocations, clock: FakeClock) -> None:
    functions = FakeFunctions("fn")
    loop = deliverer(queue, functions, clock, concurrency=3, poll_s=0.05)
    ids = {queue.enqueue("fn", {"i": i}) for i in range(30)}
    queue.on_enqueue = loop.notify
    loop.start()
    try:
        queue.enqueue("fn", {"i": "last"})
        deadline = time.monotonic() + 20
        while queue.pending() and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        loop.close()
    assert queue.pending() == []
    called = [c.request_id for c in functions.calls]
    assert len(called) == len(set(called)) == 31 and ids <= set(called)


def test_local_destinations_reach_queues_topics_buses_and_functions(db: Database, clock: FakeClock, tmp_path: Path) -> None:
    queues = SqliteQueueService(db, clock, region="us-east-1", account_id=ACCOUNT)
    topics = SqliteTopic(db, tmp_path / "outbox.jsonl", clock, region="us-east-1", account_id=ACCOUNT)
    bus = SqliteEventBus(db, clock)
    invocations = SqliteAsyncInvocations(db, clock)
    queues.create_queue("failures")
    topics.create_topic("results")
    destinations = LocalDestinations(queues, topics, bus, invocations)
    functions = FakeFunctions("fn", fail=1)
    invocations.configs.put(
        EventInvokeConfig(
            "fn",
            "$LATEST",
            clock.now(),
            maximum_retry_attempts=0,
            on_failure=f"arn:aws:sqs:us-east-1:{ACCOUNT}:failures",
            on_success=f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/default",
        )
    )
    loop = deliverer(invocations, functions, clock, destinations=destinations)
    invocations.enqueue("fn", {"first": 1})
    invocations.enqueue("fn", {"second": 2})
    loop.deliver_pending()
    [message] = queues.receive("failures")
    assert json.loads(message.body)["requestPayload"] == {"first": 1}
    [event] = [e.event for e in bus.unrouted()]
    assert (event["source"], event["detail-type"]) == ("lambda", "Lambda Function Invocation Result - Success")
    assert event["resources"] == [f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/default", f"{ARN}fn:$LATEST"]
    assert event["detail"]["requestPayload"] == {"second": 2}
    record = {"requestContext": {"condition": "Success"}}
    assert destinations.send(f"arn:aws:sns:us-east-1:{ACCOUNT}:results", record)
    assert json.loads(topics.published("results")[0].message) == record
    assert destinations.send(f"{ARN}other", record)
    assert [(p.function, p.payload) for p in invocations.pending()] == [(f"{ARN}other", record)]
    # A destination that is gone loses the record (logged), as on Lambda.
    assert not destinations.send(f"arn:aws:sqs:us-east-1:{ACCOUNT}:nowhere", record)


_OLD_S3_NOTIFICATIONS = """CREATE TABLE s3_lambda_notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT, function TEXT NOT NULL, payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL,
    claimed_by TEXT, last_error TEXT, created_at TEXT NOT NULL)"""
"""S3's own queue of notifications to functions, as migration 0021 made it (0052 drops it)."""


@pytest.mark.parametrize("upgraded_from", [50, 51])
def test_s3_notifications_left_in_their_old_table_move_into_the_queue_on_upgrade(
    db: Database, clock: FakeClock, upgraded_from: int
) -> None:
    conn = db.connection()
    if upgraded_from < 51:
        conn.execute("DROP TABLE lambda_async_invocations")
        conn.execute("DROP TABLE lambda_event_invoke_configs")
    conn.execute("DELETE FROM schema_version WHERE version > ?", (upgraded_from,))
    conn.execute(_OLD_S3_NOTIFICATIONS)
    for status, claimed in (("pending", None), ("pending", "4242-dead"), ("failed", None)):
        conn.execute(
            "INSERT INTO s3_lambda_notifications"
            " (function, payload, status, attempts, next_attempt_at, claimed_by, last_error, created_at)"
            " VALUES (?, ?, ?, 1, ?, ?, 'Handled: boom', ?)",
            (
                f"{ARN}fn",
                json.dumps({"Records": [status]}),
                status,
                (clock.now() + timedelta(minutes=2)).timestamp(),
                claimed,
                "2026-01-01T00:00:00+00:00",
            ),
        )
    migrate(conn)
    queue = SqliteAsyncInvocations(db, clock)
    moved = queue.pending()
    assert [(m.function, m.payload, m.attempts) for m in moved] == [(f"{ARN}fn", {"Records": ["pending"]}, 1)] * 2
    assert moved[0].enqueued_at == clock.now() and len({m.request_id for m in moved}) == 2
    # The unclaimed one keeps its retry's time; the dead deliverer's claim is released: due at once.
    due = conn.execute("SELECT next_attempt_at, claimed_by FROM lambda_async_invocations WHERE status = 'pending' ORDER BY id")
    [(retry_at, unclaimed), (released_at, released)] = [tuple(r) for r in due]
    assert (retry_at, unclaimed, released) == ((clock.now() + timedelta(minutes=2)).timestamp(), None, None)
    assert released_at <= time.time()
    # One given up on keeps its record, as the queue keeps its own.
    [(failed, status, error)] = queue.given_up()
    assert (failed.payload, failed.attempts, status, error) == ({"Records": ["failed"]}, 1, "failed", "Handled: boom")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')")}
    assert not {"s3_lambda_notifications", "s3_lambda_notifications_due"} & tables


class Interleaved(FakeFunctions):
    """Functions whose first call first lets ``meanwhile`` run (another loop's pass, the clock moving):
    what other loops do while one waits on its call. ``meanwhile`` may raise: the call's error."""

    def __init__(self, *names: str, meanwhile: Callable[[], None], **script: Any) -> None:
        super().__init__(*names, **script)
        self.meanwhile: Callable[[], None] | None = meanwhile

    def invoke(self, invocation: Invocation, *, version: str | None = None) -> InvocationResult:
        meanwhile, self.meanwhile = self.meanwhile, None
        if meanwhile is not None:
            meanwhile()
        return super().invoke(invocation, version=version)


def test_a_loop_reaching_a_row_another_loop_has_retried_since_does_not_run_it_again(
    queue: SqliteAsyncInvocations, clock: FakeClock
) -> None:
    # Two loops over one queue (as with concurrency > 1). The first reads [slow, flaky]; while it
    # runs "slow", the other runs "flaky" (which fails: retried a minute later) and a minute passes:
    # "flaky" is due again, and the first loop's list still says it never ran.
    queue.enqueue("slow", {})
    queue.enqueue("flaky", {})
    elsewhere = FakeFunctions("flaky", fail=99)
    other = deliverer(queue, elsewhere, clock)

    def meanwhile() -> None:
        assert other.deliver_pending() == 0
        clock.advance(61)

    here = Interleaved("slow", "flaky", meanwhile=meanwhile, fail=99)
    deliverer(queue, here, clock).deliver_pending()
    assert [c.function_name for c in here.calls] == ["slow"]
    [flaky] = queue.pending("flaky")
    assert flaky.attempts == 1
    # From a fresh list the retries go on, and stop where MaximumRetryAttempts (2) says.
    for _ in range(4):
        clock.advance(130)
        deliverer(queue, here, clock).deliver_pending()
    assert len(elsewhere.calls) + sum(c.function_name == "flaky" for c in here.calls) == 3
    [(given_up, status, _)] = [g for g in queue.given_up() if g[0].function == "flaky"]
    assert (given_up.attempts, status) == (3, "failed")


def test_a_late_outcome_of_a_lapsed_claim_does_not_overwrite_the_next_claims(queue: SqliteAsyncInvocations, clock: FakeClock) -> None:
    # The last attempt allowed: the first loop's call waits past its lease (for a free worker, say),
    # the other loop claims the invocation, runs it, and gives it up; then the first call ends in an
    # error of the invoking, which would put the invocation back in the queue for a fourth run.
    request_id = queue.enqueue("fn", {})
    [row] = queue.pending()
    queue.record(row.id, status="pending", attempts=2, next_attempt_at=clock.now())
    other = deliverer(queue, FakeFunctions("fn", fail=1), clock)

    def meanwhile() -> None:
        clock.advance(17 * 60)
        other.deliver_pending()
        raise RuntimeError("the function invoker is closed")

    deliverer(queue, Interleaved("fn", meanwhile=meanwhile), clock).deliver_pending()
    assert queue.pending() == []
    [(given_up, status, _)] = queue.given_up()
    assert (given_up.request_id, given_up.attempts, status) == (request_id, 3, "failed")


def test_a_claim_matches_the_attempts_seen_and_an_outcome_only_its_own_claim(queue: SqliteAsyncInvocations, clock: FakeClock) -> None:
    queue.enqueue("fn", {})
    [seen] = queue.due(clock.now())
    now, lease = clock.now(), timedelta(minutes=16)
    assert queue.claim(seen.id, now, now + lease, attempts=0)
    queue.record(seen.id, status="pending", attempts=1, next_attempt_at=now + timedelta(minutes=1), claimed_until=now + lease)
    clock.advance(61)
    now = clock.now()
    assert not queue.claim(seen.id, now, now + lease, attempts=seen.attempts)
    assert queue.claim(seen.id, now, now + lease, attempts=1)
    first_until = now + lease
    clock.advance(lease.total_seconds() + 1)
    now = clock.now()
    assert queue.claim(seen.id, now, now + lease, attempts=1)
    queue.record(seen.id, status="delivered", attempts=2, claimed_until=first_until)
    assert [p.attempts for p in queue.pending()] == [1]
    queue.record(seen.id, status="pending", attempts=2, claimed_until=first_until)
    assert [p.attempts for p in queue.pending()] == [1]
    queue.record(seen.id, status="delivered", attempts=2, claimed_until=now + lease)
    assert queue.pending() == []


def test_an_enqueue_of_a_request_id_already_queued_queues_nothing_more(db: Database, clock: FakeClock) -> None:
    woken: list[int] = []
    queue = SqliteAsyncInvocations(db, clock, on_enqueue=lambda: woken.append(1))
    request_id = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
    assert queue.enqueue("fn", {"n": 1}, request_id=request_id) == request_id
    assert queue.enqueue("fn", {"n": 2}, request_id=request_id) == request_id
    assert [(p.request_id, p.payload) for p in queue.pending()] == [(request_id, {"n": 1})]
    assert woken == [1]


def test_an_eventbridge_delivery_made_again_after_a_crash_queues_its_invocation_once(queue: SqliteAsyncInvocations) -> None:
    from sluiceway.events.rules import Delivery
    from sluiceway.runtime.wiring import LocalTargets

    class Functions(FakeFunctions):
        def knows(self, name: str) -> bool:
            return self.resolve(name) is not None

    targets = LocalTargets(None, None, Functions("fn"), None, queue)  # type: ignore[arg-type]
    deliver = targets.resolve(f"{ARN}fn")
    rule = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/r"
    event = {"id": "5b1f0c9e-0000-4000-8000-000000000001", "detail": {}}
    first = Delivery({"n": 1}, event, "r", rule, "t", f"{ARN}fn")
    deliver(first)
    deliver(Delivery({"n": 1}, event, "r", rule, "t", f"{ARN}fn", attempt=2))  # redelivered at the next start
    [queued] = queue.pending()
    # Another target, another event or a replay is another invocation.
    deliver(Delivery({"n": 1}, event, "r", rule, "t2", f"{ARN}fn"))
    deliver(Delivery({"n": 1}, {**event, "id": "5b1f0c9e-0000-4000-8000-000000000002"}, "r", rule, "t", f"{ARN}fn"))
    deliver(Delivery({"n": 1}, {**event, "replay-name": "again"}, "r", rule, "t", f"{ARN}fn"))
    assert len({p.request_id for p in queue.pending()}) == 4 and queue.pending()[0] == queued


def test_request_ids_shared_before_they_were_unique_get_fresh_ones_on_upgrade(db: Database, clock: FakeClock) -> None:
    conn = db.connection()
    conn.execute("DROP INDEX lambda_async_invocations_request_id")
    conn.execute("DELETE FROM schema_version WHERE version >= 53")
    for n in range(2):
        conn.execute(
            "INSERT INTO lambda_async_invocations (function, payload, request_id, next_attempt_at, enqueued_at, updated_at)"
            " VALUES ('fn', ?, 'same', 0, 0, '')",
            (json.dumps({"n": n}),),
        )
    migrate(conn)
    rows = [tuple(r) for r in conn.execute("SELECT payload, request_id FROM lambda_async_invocations ORDER BY id")]
    assert rows[0] == ('{"n": 0}', "same") and rows[1][1] not in ("same", "") and len(rows[1][1]) == 36
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        conn.execute(
            "INSERT INTO lambda_async_invocations (function, payload, request_id, next_attempt_at, enqueued_at, updated_at)"
            " VALUES ('fn', '{}', 'same', 0, 0, '')"
        )
