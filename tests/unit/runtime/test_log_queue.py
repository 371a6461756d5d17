"""The best-effort log writer over fakes: one thread, a bounded queue, flush, close, failures kept apart."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from sluiceway.runtime.log_queue import BestEffortLogWriter, Wording

WAIT_S = 10.0
LOGGER = "tests.log_queue"

WORDING = Wording(
    thread="test-log-writer",
    queue_full="queue is full (%d items)",
    dropped="%d items were dropped",
    gave_up="gave up after %.1fs",
    not_started="not started",
    not_released="not released",
    not_written="not written",
)

Item = tuple[str, str, int, str]
"""(group, stream, timestamp ms, message): the fakes' item is one event."""


def by_stream(items: Sequence[Item]) -> dict[tuple[str, str], list[tuple[int, str]]]:
    streams: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for group, stream, ts, message in items:
        streams.setdefault((group, stream), []).append((ts, message))
    return streams


class Store:
    """A log store that keeps what is put; ``gate`` (when given) holds every put until it is set."""

    def __init__(self, gate: threading.Event | None = None, refuses: str | None = None) -> None:
        self.events: list[tuple[str, str, int, str]] = []
        self.threads: set[str] = set()
        self.gate = gate
        self.refuses = refuses
        self.entered = threading.Event()

    def put(self, group: str, stream: str, events: Sequence[tuple[int, str]]) -> None:
        self.threads.add(threading.current_thread().name)
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(WAIT_S)
        if stream == self.refuses:
            raise RuntimeError("disk I/O error")
        self.events.extend((group, stream, ts, message) for ts, message in events)

    def messages(self) -> list[str]:
        return [e[3] for e in self.events]


class Threads:
    """A thread factory that counts the threads it makes and fails the first ``failures`` starts."""

    def __init__(self, failures: int = 0) -> None:
        self.made = 0
        self.failures = failures

    def __call__(self, **kwargs: Any) -> threading.Thread:
        self.made += 1
        factory = self

        class Counted(threading.Thread):
            def start(self) -> None:
                if factory.failures:
                    factory.failures -= 1
                    raise RuntimeError("can't start new thread")
                super().start()

        return Counted(**kwargs)


def writer_over(
    store: Store,
    *,
    compose: Callable[[Sequence[Item]], dict[tuple[str, str], list[tuple[int, str]]]] = by_stream,
    capacity: int = 100,
    threads: Threads | None = None,
    release: Callable[[], None] | None = None,
) -> BestEffortLogWriter[Item]:
    return BestEffortLogWriter[Item](
        compose,
        store.put,
        WORDING,
        logger=logging.getLogger(LOGGER),
        release=release,
        capacity=capacity,
        thread_factory=threads or Threads(),
    )


def test_items_are_written_by_stream_on_one_thread_that_releases_once_it_ends() -> None:
    store, threads = Store(), Threads()
    released: list[str] = []
    writer = writer_over(store, threads=threads, release=lambda: released.append(threading.current_thread().name))
    for i in range(20):
        writer.submit(("g", f"s{i % 2}", i, f"m{i}"))
        assert writer.flush(WAIT_S)
    assert store.messages() == [f"m{i}" for i in range(20)]
    assert store.threads == {"test-log-writer"} and threads.made == 1
    assert not released  # a writer that lives keeps what it opened
    assert writer.close(WAIT_S)
    assert released == ["test-log-writer"]


def test_flush_waits_for_what_was_queued_before_it() -> None:
    gate = threading.Event()
    store = Store(gate=gate)
    writer = writer_over(store)
    writer.submit(("g", "s", 0, "held"))
    assert store.entered.wait(WAIT_S)
    writer.submit(("g", "s", 1, "queued"))
    assert writer.flush(0.05) is False  # the store holds the first put
    gate.set()
    assert writer.flush(WAIT_S)
    assert store.messages() == ["held", "queued"]
    assert writer.close(WAIT_S)


def test_a_full_queue_drops_counts_and_warns_once_then_reports_the_count(caplog: pytest.LogCaptureFixture) -> None:
    gate = threading.Event()
    store = Store(gate=gate)
    writer = writer_over(store, capacity=2)
    writer.submit(("g", "s", 0, "held"))  # taken by the writer, which waits on the store
    assert store.entered.wait(WAIT_S)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for i in range(1, 6):
            writer.submit(("g", "s", i, f"m{i}"))
        assert writer.dropped == 3
        assert [r.getMessage() for r in caplog.records] == ["queue is full (2 items)"]
        gate.set()
        assert writer.flush(WAIT_S)
        writer.submit(("g", "s", 6, "m6"))  # caught up: room again, nothing more to report
        assert writer.flush(WAIT_S)
    assert store.messages() == ["held", "m1", "m2", "m6"]
    assert [r.getMessage() for r in caplog.records] == ["queue is full (2 items)", "3 items were dropped"]
    assert writer.close(WAIT_S)


def test_close_writes_what_is_queued_then_drops_what_comes_after_without_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    gate = threading.Event()
    store = Store(gate=gate)
    writer = writer_over(store)
    for i in range(5):
        writer.submit(("g", "s", i, f"m{i}"))
    assert store.entered.wait(WAIT_S)
    gate.set()
    assert writer.close(WAIT_S) and writer.closed and not writer.abandoned
    assert store.messages() == [f"m{i}" for i in range(5)]
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        writer.submit(("g", "s", 9, "late"))
    assert writer.dropped == 1 and not caplog.records
    assert writer.flush(WAIT_S) and store.messages() == [f"m{i}" for i in range(5)]


def test_close_before_any_item_starts_no_thread() -> None:
    threads = Threads()
    writer = writer_over(Store(), threads=threads)
    assert writer.close(0.1) and writer.flush(0.1)
    writer.submit(("g", "s", 0, "late"))
    assert threads.made == 0 and writer.dropped == 1


def test_a_close_that_times_out_abandons_what_is_queued_and_still_releases(caplog: pytest.LogCaptureFixture) -> None:
    gate = threading.Event()
    store = Store(gate=gate)
    released = threading.Event()
    writer = writer_over(store, release=released.set)
    writer.submit(("g", "s", 0, "in flight"))
    assert store.entered.wait(WAIT_S)
    writer.submit(("g", "other", 1, "queued"))
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert writer.close(0.05) is False
    assert writer.abandoned and [r.getMessage()[:14] for r in caplog.records] == ["gave up after "]
    assert writer.flush(WAIT_S) is False  # what was queued is lost
    gate.set()
    assert released.wait(WAIT_S)  # the writer ended without writing what was still queued
    assert store.messages() == ["in flight"]
    assert writer.flush(WAIT_S) is False


def test_an_abandoned_writer_puts_no_further_stream_of_the_batch_under_way() -> None:
    gate = threading.Event()
    store = Store(gate=gate)
    released = threading.Event()
    # The first start fails, so both items are queued when the writer starts: they make one batch.
    writer = writer_over(store, threads=Threads(failures=1), release=released.set)
    writer.submit(("g", "a", 0, "first"))
    writer.submit(("g", "b", 1, "second"))
    assert store.entered.wait(WAIT_S)  # in the put of stream a; stream b is next in the same batch
    assert writer.close(0.05) is False
    gate.set()
    assert released.wait(WAIT_S)
    assert store.messages() == ["first"]


def test_a_stream_that_fails_loses_only_its_events(caplog: pytest.LogCaptureFixture) -> None:
    store = Store(refuses="bad")
    writer = writer_over(store)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        writer.submit(("g", "bad", 0, "lost"))
        writer.submit(("g", "good", 1, "kept"))
        assert writer.flush(WAIT_S)
    assert store.messages() == ["kept"]
    failed = [r for r in caplog.records if r.getMessage() == "not written"]
    assert [(r.__dict__["log_group"], r.__dict__["log_stream"]) for r in failed] == [("g", "bad")]
    assert writer.close(WAIT_S)


def test_a_batch_that_cannot_be_composed_is_lost_and_the_writer_lives_on(caplog: pytest.LogCaptureFixture) -> None:
    store = Store()

    def compose(items: Sequence[Item]) -> dict[tuple[str, str], list[tuple[int, str]]]:
        if any(message == "poison" for *_, message in items):
            raise ValueError("cannot format")
        return by_stream(items)

    writer = writer_over(store, compose=compose)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        writer.submit(("g", "s", 0, "poison"))
        assert writer.flush(WAIT_S)
        writer.submit(("g", "s", 1, "after"))
        assert writer.flush(WAIT_S)
    assert store.messages() == ["after"]
    assert [r.getMessage() for r in caplog.records] == ["not written"]
    assert writer.close(WAIT_S)


def test_a_thread_that_fails_to_start_is_tried_again_with_the_next_item(caplog: pytest.LogCaptureFixture) -> None:
    store, threads = Store(), Threads(failures=1)
    writer = writer_over(store, threads=threads)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        writer.submit(("g", "s", 0, "first"))
    assert [r.getMessage() for r in caplog.records] == ["not started"]
    assert writer.flush(0.05) is False  # queued, no writer yet
    writer.submit(("g", "s", 1, "second"))
    assert writer.flush(WAIT_S)
    assert store.messages() == ["first", "second"] and threads.made == 2
    assert writer.close(WAIT_S)


def test_a_release_that_fails_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    store = Store()

    def release() -> None:
        raise OSError("database is locked")

    writer = writer_over(store, release=release)
    writer.submit(("g", "s", 0, "m"))
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        assert writer.close(WAIT_S)
    assert [r.getMessage() for r in caplog.records] == ["not released"]
    assert store.messages() == ["m"]


class WatchedLock:
    """A lock that tells when someone waits for it: a forced interleaving can hold a thread there."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.waited = threading.Event()

    def __enter__(self) -> WatchedLock:
        if not self._lock.acquire(blocking=False):
            self.waited.set()
            self._lock.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def _close_during_submit(writer: BestEffortLogWriter[Item], *, put_first: bool) -> list[bool]:
    """Make a close() start while a submit is queueing its item (just after the put, or just before).

    The close runs on a thread of its own; the submit goes on once that close has ended, or is
    seen waiting for the writer's lock.
    """
    lock = WatchedLock()
    writer._lock = lock  # type: ignore[assignment]
    queue_ = writer._queue
    put = queue_.put_nowait
    results: list[bool] = []

    def racing_put(item: Any) -> None:
        if put_first:
            put(item)
        closer = threading.Thread(target=lambda: results.append(writer.close(WAIT_S)))
        closer.start()
        deadline = time.monotonic() + WAIT_S
        while closer.is_alive() and not lock.waited.wait(0.01) and time.monotonic() < deadline:
            pass
        if not put_first:
            put(item)
        writer._closer = closer  # type: ignore[attr-defined]

    queue_.put_nowait = racing_put  # type: ignore[method-assign]
    writer.submit(("g", "s", 0, "raced"))
    queue_.put_nowait = put  # type: ignore[method-assign]
    writer._closer.join(WAIT_S)  # type: ignore[attr-defined]
    return results


@pytest.mark.parametrize("put_first", [True, False])
@pytest.mark.parametrize("started", [False, True])
def test_an_item_queued_as_a_close_begins_is_written_before_close_reports_success(started: bool, put_first: bool) -> None:
    store = Store()
    writer = writer_over(store)
    if started:  # the writer's thread runs already
        writer.submit(("g", "s", 0, "before"))
        assert writer.flush(WAIT_S)
    results = _close_during_submit(writer, put_first=put_first)
    assert results == [True]
    # Queued before the close, the item is written; it is never queued and lost uncounted.
    assert store.messages()[-1:] == ["raced"] and writer.dropped == 0


def test_a_close_starts_a_writer_for_items_queued_without_one() -> None:
    store, threads = Store(), Threads(failures=1)
    writer = writer_over(store, threads=threads)
    writer.submit(("g", "s", 0, "queued"))  # its thread could not start
    assert writer.close(WAIT_S)
    assert store.messages() == ["queued"] and threads.made == 2


def test_a_close_that_cannot_start_a_writer_counts_the_queued_items_as_dropped(caplog: pytest.LogCaptureFixture) -> None:
    store, threads = Store(), Threads(failures=2)
    writer = writer_over(store, threads=threads)
    writer.submit(("g", "s", 0, "queued"))
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert writer.close(WAIT_S) is False
    assert store.messages() == [] and writer.dropped == 1
    assert "1 items were dropped" in [r.getMessage() for r in caplog.records]
