"""Bucket configurations and S3 notifications on the local backends: filters, one transaction, Lambda's asynchronous queue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.async_invocations import AsyncInvocation, SqliteAsyncInvocations
from sluiceway.backends.local.bucket_config import Destination, NotificationConfig, SqliteBucketConfigs
from sluiceway.backends.local.bucket_notifications import PendingWrite, S3Notifier, s3_record
from sluiceway.backends.local.events import SqliteEventBus
from sluiceway.backends.local.notifying import EventingObjectStore
from sluiceway.backends.local.objects import FileObjectStore, WriteCondition, WriteConditionError
from sluiceway.backends.local.queues import SqliteQueueService
from sluiceway.backends.local.topics import SqliteTopic
from sluiceway.clock import FakeClock
from sluiceway.ports import Invocation, InvocationResult
from sluiceway.runtime.lambdas.async_invocations import AsyncInvocationDeliverer


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "sluiceway.db")
    yield database
    database.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def notifier(db: Database, clock: FakeClock, tmp_path: Path) -> S3Notifier:
    queues = SqliteQueueService(db, clock, region="us-east-1", account_id="123456789012")
    topics = SqliteTopic(db, tmp_path / "outbox.jsonl", clock, region="us-east-1", account_id="123456789012")
    return S3Notifier(
        db,
        SqliteBucketConfigs(db),
        queues,
        topics,
        clock,
        invocations=SqliteAsyncInvocations(db, clock),
        region="us-east-1",
        account="123456789012",
    )


@pytest.mark.parametrize(
    ("destination", "event", "key", "wanted"),
    [
        (Destination("queue", "i", "a", ("s3:ObjectCreated:*",)), "ObjectCreated:Put", "k", True),
        (Destination("queue", "i", "a", ("s3:ObjectCreated:*",)), "ObjectRemoved:Delete", "k", False),
        (Destination("queue", "i", "a", ("s3:ObjectCreated:Copy",)), "ObjectCreated:Put", "k", False),
        (Destination("queue", "i", "a", ("s3:ObjectRemoved:*",), prefix="in/"), "ObjectRemoved:Delete", "in/x", True),
        (Destination("queue", "i", "a", ("s3:ObjectCreated:*",), prefix="in/", suffix=".csv"), "ObjectCreated:Put", "in/x.json", False),
        (Destination("queue", "i", "a", ("s3:ObjectCreated:*",), prefix="in/", suffix=".csv"), "ObjectCreated:Put", "out/x.csv", False),
    ],
)
def test_a_destination_wants_its_events_and_keys(destination: Destination, event: str, key: str, wanted: bool) -> None:
    assert destination.wants(event, key) is wanted


def test_a_record_encodes_its_key_as_s3_does(clock: FakeClock) -> None:
    record = s3_record(
        event_name="ObjectCreated:Put",
        bucket="b",
        key="dir/a b+c=é.csv",
        configuration_id="c",
        time=clock.now(),
        region="us-east-1",
        account="1",
        request_id="R",
        sequencer="01",
        size=3,
        etag="e",
    )
    assert record["s3"]["object"] == {"key": "dir/a+b%2Bc%3D%C3%A9.csv", "size": 3, "eTag": "e", "sequencer": "01"}
    assert record["eventTime"] == "2026-01-01T00:00:00.000Z"


def test_a_bucket_without_a_row_keeps_eventbridge_on(db: Database, clock: FakeClock) -> None:
    configs = SqliteBucketConfigs(db)
    assert configs.notification("legacy").eventbridge
    configs.create("made", "us-east-1", clock.now())
    assert not configs.notification("made").eventbridge
    configs.set_notification("made", NotificationConfig(eventbridge=True), region="us-east-1", now=clock.now())
    assert configs.notification("made").eventbridge


def test_a_write_and_its_notifications_commit_together(notifier: S3Notifier, db: Database, clock: FakeClock, tmp_path: Path) -> None:
    notifier.queues.create_queue("notes")
    queue_arn = "arn:aws:sqs:us-east-1:123456789012:notes"
    notifier.configs.create("bkt", "us-east-1", clock.now())
    config = NotificationConfig(
        destinations=(
            Destination("queue", "q", queue_arn, ("s3:ObjectCreated:*",)),
            Destination("queue", "gone", "arn:aws:sqs:us-east-1:123456789012:gone", ("s3:ObjectCreated:*",)),
        )
    )
    notifier.configs.set_notification("bkt", config, region="us-east-1", now=clock.now())
    bus = SqliteEventBus(db, clock)
    files = FileObjectStore(tmp_path / "buckets")
    files.create_bucket("bkt")
    store = EventingObjectStore(files, bus, clock, region="us-east-1", account="123456789012", notifier=notifier)
    store.put("bkt", "x.csv", b"data")
    [message] = notifier.queues.receive("notes")
    assert json.loads(message.body)["Records"][0]["s3"]["object"]["key"] == "x.csv"
    # EventBridge is off for the bucket: nothing on the bus; the missing queue lost only its own.
    assert bus.archived(clock.now() - timedelta(days=1)) == []


FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:fn"


class FakeInvoker:
    """The local Lambda with one function, ``fn``, that fails its first ``failures`` invocations."""

    def __init__(self, failures: int, error: str = "Handled", refused: bool = False) -> None:
        self.calls: list[Invocation] = []
        self.failures = failures
        self.error = error
        self.refused = refused
        """The failures are Invoke's refusals rather than the function's errors."""

    def invoke(self, invocation: Invocation, *, version: str | None = None) -> InvocationResult:
        self.calls.append(invocation)
        if len(self.calls) <= self.failures:
            return InvocationResult(invocation.request_id, error_type=self.error, error_message="boom", refused=self.refused)
        return InvocationResult(invocation.request_id, payload=None)

    def resolve(self, resource: str) -> str | None:
        return "fn" if resource in ("fn", FUNCTION) else None

    def arn_of(self, resource: str) -> str | None:
        return FUNCTION if self.resolve(resource) else None


def _deliverer(notifier: S3Notifier, invoker: FakeInvoker, clock: FakeClock) -> AsyncInvocationDeliverer[AsyncInvocation]:
    """Lambda's asynchronous deliverer over the queue the notifier enqueues to, woken by its commits."""
    queue = notifier.invocations
    deliverer = AsyncInvocationDeliverer(queue, queue.configs, invoker, clock)
    queue.on_enqueue = deliverer.notify
    return deliverer


def _queue_one(notifier: S3Notifier, clock: FakeClock) -> None:
    function = FUNCTION
    config = NotificationConfig(destinations=(Destination("lambda", "f", function, ("s3:ObjectCreated:*",)),))
    with notifier.transaction():
        assert notifier.notify(config, event_name="ObjectCreated:Put", bucket="b", key="k", sequencer="01", size=1, etag="e") == 1


def test_a_failing_function_is_retried_twice_a_minute_then_two_apart(notifier: S3Notifier, clock: FakeClock) -> None:
    invoker = FakeInvoker(failures=2)
    deliverer = _deliverer(notifier, invoker, clock)
    _queue_one(notifier, clock)
    assert deliverer.wakeup.is_set()  # the commit woke the deliverer
    [queued] = notifier.invocations.pending(FUNCTION)  # S3 hands its event to Lambda's one queue
    assert deliverer.deliver_pending() == 0
    clock.advance(59)
    assert deliverer.deliver_pending() == 0 and len(invoker.calls) == 1
    clock.advance(1)
    assert deliverer.deliver_pending() == 0 and len(invoker.calls) == 2
    clock.advance(119)
    assert deliverer.deliver_pending() == 0 and len(invoker.calls) == 2
    clock.advance(1)
    assert deliverer.deliver_pending() == 1 and len(invoker.calls) == 3
    assert invoker.calls[0].payload["Records"][0]["eventName"] == "ObjectCreated:Put"  # type: ignore[index,call-overload]
    # One invocation, retried: the same request id on every attempt, as on Lambda.
    assert {c.request_id for c in invoker.calls} == {queued.request_id}
    assert notifier.invocations.pending() == [] and notifier.invocations.given_up() == []


def test_a_missing_function_is_given_up_on_at_once(notifier: S3Notifier, clock: FakeClock) -> None:
    invoker = FakeInvoker(failures=5, error="ResourceNotFoundException", refused=True)
    deliverer = _deliverer(notifier, invoker, clock)
    _queue_one(notifier, clock)
    deliverer.deliver_pending()
    assert len(invoker.calls) == 1 and notifier.invocations.pending() == []
    [(_, status, error)] = notifier.invocations.given_up()
    assert status == "failed" and error == "ResourceNotFoundException: boom"


def test_a_function_notification_is_rolled_back_with_its_write(notifier: S3Notifier, clock: FakeClock) -> None:
    class WriteFailed(Exception):
        pass

    with pytest.raises(WriteFailed), notifier.transaction():
        config = NotificationConfig(destinations=(Destination("lambda", "f", FUNCTION, ("s3:ObjectCreated:*",)),))
        assert notifier.notify(config, event_name="ObjectCreated:Put", bucket="b", key="k", sequencer="01") == 1
        raise WriteFailed
    assert notifier.invocations.pending() == []


# -- once per write; the writes' outbox ------------------------------------------------------------


def _notifying(db: Database, clock: FakeClock, tmp_path: Path) -> tuple[EventingObjectStore, SqliteEventBus]:
    """A bucket ``bkt`` notifying queue ``notes`` of created and removed objects, with EventBridge on, on ``db``."""
    queues = SqliteQueueService(db, clock, region="us-east-1", account_id="123456789012")
    topics = SqliteTopic(db, tmp_path / "outbox.jsonl", clock, region="us-east-1", account_id="123456789012")
    notifier = S3Notifier(
        db,
        SqliteBucketConfigs(db),
        queues,
        topics,
        clock,
        invocations=SqliteAsyncInvocations(db, clock),
        region="us-east-1",
        account="123456789012",
    )
    if "notes" not in queues.list_queues():
        queues.create_queue("notes")
        notifier.configs.create("bkt", "us-east-1", clock.now())
        destination = Destination("queue", "q", "arn:aws:sqs:us-east-1:123456789012:notes", ("s3:ObjectCreated:*", "s3:ObjectRemoved:*"))
        config = NotificationConfig(eventbridge=True, destinations=(destination,))
        notifier.configs.set_notification("bkt", config, region="us-east-1", now=clock.now())
    files = FileObjectStore(tmp_path / "buckets")
    files.ensure_bucket("bkt")
    bus = SqliteEventBus(db, clock)
    return EventingObjectStore(files, bus, clock, region="us-east-1", account="123456789012", notifier=notifier), bus


def _received(store: EventingObjectStore) -> list[tuple[str, str]]:
    assert store.notifier is not None
    found: list[tuple[str, str]] = []
    while messages := store.notifier.queues.receive("notes", max_messages=10):
        for message in messages:
            record = json.loads(message.body)["Records"][0]
            found.append((record["eventName"], record["s3"]["object"]["key"]))
            store.notifier.queues.delete("notes", message.receipt_handle)
    return found


def test_a_write_announced_again_is_notified_once(db: Database, clock: FakeClock, tmp_path: Path) -> None:
    store, bus = _notifying(db, clock, tmp_path)
    store.put("bkt", "a.csv", b"data")
    # The folder watcher saw the file, then a restart's reconciliation saw it again: the same write.
    store.emit_created(store.inner.observe("bkt", "a.csv"))
    store.emit_created(store.inner.observe("bkt", "a.csv"), "CopyObject")
    assert _received(store) == [("ObjectCreated:Put", "a.csv")]
    assert len(bus.archived(clock.now() - timedelta(days=1))) == 1
    store.put("bkt", "a.csv", b"data")  # the same bytes again: a new write
    store.delete("bkt", "a.csv")
    assert _received(store) == [("ObjectCreated:Put", "a.csv"), ("ObjectRemoved:Delete", "a.csv")]


class Killed(BaseException):
    """The writer's process ends here (nothing of it runs after: no handler sees this)."""


class DiesBeforeAnnouncing(S3Notifier):
    def first_announcement(self, bucket: str, key: str, sequencer: str, kind: str) -> bool:
        raise Killed


def _dies_before_announcing(store: EventingObjectStore) -> EventingObjectStore:
    """``store``'s writes, by a writer that dies after the rename and before announcing."""
    n = store.notifier
    assert n is not None
    dying = DiesBeforeAnnouncing(
        n.db, n.configs, n.queues, n.topics, n.clock, invocations=n.invocations, region=n.region, account=n.account
    )
    return EventingObjectStore(store.inner, store.publisher, store.clock, region="us-east-1", account="123456789012", notifier=dying)


def test_a_dead_writers_landed_write_is_announced_once_and_an_unlanded_one_forgotten(tmp_path: Path, clock: FakeClock) -> None:
    writer_db = Database(tmp_path / "sluiceway.db")  # the writer's process: its own owner
    writer, _ = _notifying(writer_db, clock, tmp_path)
    assert writer.notifier is not None
    with pytest.raises(Killed):
        _dies_before_announcing(writer).put("bkt", "landed.csv", b"stored")
    writer.notifier.intend("never-landed", "bkt", "ghost.csv", kind="created", reason="PutObject", request_id="R")
    db = Database(tmp_path / "sluiceway.db")  # the stack's process
    try:
        store, bus = _notifying(db, clock, tmp_path)
        assert store.notifier is not None
        assert store.recover() == 0  # its writer still runs: its write is its own
        assert len(store.notifier.pending_writes()) == 2
        writer_db.close()  # the writer's process is gone
        assert store.recover() == 1  # the stack's periodic recovery, now that the writer is gone
        assert _received(store) == [("ObjectCreated:Put", "landed.csv")]
        [event] = bus.archived(clock.now() - timedelta(days=1))
        assert event.event["detail"]["object"]["key"] == "landed.csv"
        assert store.notifier.pending_writes() == []  # the write that never landed is forgotten
        assert store.recover() == 0
        assert _received(store) == []
    finally:
        db.close()


def test_a_live_writers_write_whose_announcement_failed_is_announced_after_a_while(db: Database, clock: FakeClock, tmp_path: Path) -> None:
    store, _ = _notifying(db, clock, tmp_path)
    with pytest.raises(Killed):
        _dies_before_announcing(store).put("bkt", "late.csv", b"stored")
    assert store.recover() == 0
    clock.advance(61)
    assert store.recover() == 1
    assert _received(store) == [("ObjectCreated:Put", "late.csv")]


def test_a_removal_its_writer_announced_after_the_recoverys_snapshot_is_not_announced_again(tmp_path: Path, clock: FakeClock) -> None:
    writer_db = Database(tmp_path / "sluiceway.db")  # the writer's process
    writer, _ = _notifying(writer_db, clock, tmp_path)
    writer.put("bkt", "k", b"x")
    db = Database(tmp_path / "sluiceway.db")  # the stack's process, recovering
    try:
        store, bus = _notifying(db, clock, tmp_path)
        n = store.notifier
        assert n is not None and writer.notifier is not None
        snapshot: list[PendingWrite] = []

        class LooksWhileRemoving(FileObjectStore):
            def delete(self, bucket: str, key: str, *, condition: WriteCondition | None = None) -> str:
                snapshot.extend(n.pending_writes())  # the recovery reads the outbox while the removal is under way
                return super().delete(bucket, key, condition=condition)

        class RecoversFromThatSnapshot(S3Notifier):
            def pending_writes(self) -> list[PendingWrite]:
                removing = EventingObjectStore(
                    LooksWhileRemoving(tmp_path / "buckets"),
                    writer.publisher,
                    clock,
                    region="us-east-1",
                    account="123456789012",
                    notifier=writer.notifier,
                )
                removing.delete("bkt", "k")  # removed and announced by its writer, which then exits
                writer_db.close()
                return snapshot

        recovering = EventingObjectStore(
            store.inner,
            store.publisher,
            clock,
            region="us-east-1",
            account="123456789012",
            notifier=RecoversFromThatSnapshot(
                db, n.configs, n.queues, n.topics, clock, invocations=n.invocations, region=n.region, account=n.account
            ),
        )
        assert recovering.recover() == 0
        assert [(w.key, w.kind) for w in snapshot] == [("k", "removed")]
        assert _received(store) == [("ObjectCreated:Put", "k"), ("ObjectRemoved:Delete", "k")]
        deleted = [e for e in bus.archived(clock.now() - timedelta(days=1)) if e.event["detail-type"] == "Object Deleted"]
        assert len(deleted) == 1
    finally:
        db.close()


def test_announced_writes_that_cannot_come_again_are_pruned(db: Database, clock: FakeClock, tmp_path: Path) -> None:
    store, _ = _notifying(db, clock, tmp_path)
    assert store.notifier is not None
    store.put("bkt", "k", b"1")
    store.put("bkt", "k", b"2")
    store.put("bkt", "gone", b"1")
    store.delete("bkt", "gone")
    clock.advance(2 * 3600)
    assert store.notifier.prune_announced() == 3  # k's first write, gone's write and its removal
    current = store.inner.head("bkt", "k")
    store.emit_created(current)  # k's current write is still known: not notified again
    assert [name for name, _ in _received(store)] == ["ObjectCreated:Put"] * 3 + ["ObjectRemoved:Delete"]


def test_a_refused_conditional_write_announces_nothing_and_leaves_no_record(db: Database, clock: FakeClock, tmp_path: Path) -> None:
    store, _ = _notifying(db, clock, tmp_path)
    assert store.notifier is not None
    store.put("bkt", "a", b"1")
    assert _received(store) == [("ObjectCreated:Put", "a")]
    with pytest.raises(WriteConditionError):
        store.put("bkt", "a", b"2", condition=WriteCondition(absent=True))
    with pytest.raises(WriteConditionError):
        store.delete("bkt", "missing", condition=WriteCondition(etag="0" * 32))
    assert _received(store) == []
    assert store.notifier.pending_writes() == []
