"""The access log writer over a fake log store: one thread, a bounded queue, a stop that writes what is queued."""

from __future__ import annotations

import logging
import threading

import pytest

from sluiceway.endpoint.apigateway.access_logs import AccessLogWriter
from sluiceway.errors import NotFoundError

WAIT_S = 10.0


class FakeSink:
    """A log store of known groups; ``gate`` (when given) holds every put until it is set."""

    def __init__(self, groups: tuple[str, ...] = ("g",), gate: threading.Event | None = None) -> None:
        self.groups = set(groups)
        self.streams: set[tuple[str, str]] = set()
        self.events: list[tuple[str, str, int, str]] = []
        self.threads: set[int] = set()
        self.gate = gate
        self.entered = threading.Event()

    def put(self, group: str, stream: str, events: list[tuple[int, str]], *, create: bool = False) -> None:
        self.threads.add(threading.get_ident())
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(WAIT_S)
        if (group, stream) not in self.streams:
            raise NotFoundError(f"no stream {stream}")
        self.events.extend((group, stream, ts, message) for ts, message in events)

    def create_stream(self, group: str, name: str) -> None:
        if group not in self.groups:
            raise NotFoundError(f"no group {group}")
        self.streams.add((group, name))


class Released:
    """The writer's release hook: which threads gave back their connections."""

    def __init__(self) -> None:
        self.threads: list[int] = []
        self.done = threading.Event()

    def __call__(self) -> None:
        self.threads.append(threading.get_ident())
        self.done.set()


def test_spaced_lines_are_written_by_one_thread_that_gives_back_its_connections_once() -> None:
    sink, released = FakeSink(), Released()
    writer = AccessLogWriter(lambda: sink, release=released)
    for i in range(30):
        writer.submit("g", "s", i, f"line {i}")
        assert writer.flush(WAIT_S)  # the queue empties between lines: the same writer carries on
    assert [e[3] for e in sink.events] == [f"line {i}" for i in range(30)]
    assert len(sink.threads) == 1 and threading.get_ident() not in sink.threads
    assert not released.threads  # a writer that lives keeps its one connection
    assert writer.close(WAIT_S)
    assert released.threads == list(sink.threads)


def test_close_writes_what_is_queued_then_takes_no_more() -> None:
    gate = threading.Event()
    sink = FakeSink(gate=gate)
    writer = AccessLogWriter(lambda: sink)
    for i in range(5):
        writer.submit("g", "s", i, f"line {i}")
    assert sink.entered.wait(WAIT_S)
    gate.set()
    assert writer.close(WAIT_S)
    assert len(sink.events) == 5
    writer.submit("g", "s", 9, "late")
    assert writer.flush(WAIT_S) and len(sink.events) == 5 and writer.dropped == 1


def test_close_before_any_line_starts_nothing() -> None:
    writer = AccessLogWriter(lambda: FakeSink())
    assert writer.close(0.1) and writer.flush(0.1)


def test_a_full_queue_drops_lines_and_counts_them(caplog: pytest.LogCaptureFixture) -> None:
    gate = threading.Event()
    sink = FakeSink(gate=gate)
    writer = AccessLogWriter(lambda: sink, capacity=2)
    writer.submit("g", "s", 0, "held")  # taken by the writer, which waits on the store
    assert sink.entered.wait(WAIT_S)
    with caplog.at_level(logging.WARNING, logger="sluiceway.endpoint.apigateway.access_logs"):
        for i in range(1, 6):
            writer.submit("g", "s", i, f"line {i}")
        assert writer.dropped == 3
        gate.set()
        assert writer.flush(WAIT_S)
    assert [e[3] for e in sink.events] == ["held", "line 1", "line 2"]
    messages = [r.getMessage() for r in caplog.records]
    assert sum("queue is full" in m for m in messages) == 1
    assert "api gateway: 3 access log lines were dropped (the queue was full)" in messages
    assert writer.close(WAIT_S)


def test_a_missing_group_drops_its_lines_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    sink = FakeSink(groups=("g",))
    writer = AccessLogWriter(lambda: sink)
    with caplog.at_level(logging.WARNING, logger="sluiceway.endpoint.apigateway.access_logs"):
        for i in range(3):
            writer.submit("gone", "s", i, f"lost {i}")
            writer.submit("g", "s", i, f"kept {i}")
            assert writer.flush(WAIT_S)
    assert [e[3] for e in sink.events] == ["kept 0", "kept 1", "kept 2"]
    warnings = [r.getMessage() for r in caplog.records if "does not exist" in r.getMessage()]
    assert warnings == ["api gateway: access log group gone does not exist; access log lines are dropped"]
    assert writer.close(WAIT_S)


def test_a_thread_that_fails_to_start_is_tried_again_with_the_next_line() -> None:
    sink = FakeSink()
    attempts: list[int] = []

    class FailsFirst(threading.Thread):
        def start(self) -> None:
            attempts.append(1)
            if len(attempts) == 1:
                raise RuntimeError("can't start new thread")
            super().start()

    writer = AccessLogWriter(lambda: sink, thread_factory=FailsFirst)
    writer.submit("g", "s", 0, "first")
    assert not writer.flush(0.05)  # queued, no writer yet
    writer.submit("g", "s", 1, "second")
    assert writer.flush(WAIT_S)
    assert [e[3] for e in sink.events] == ["first", "second"] and len(attempts) == 2
    assert writer.close(WAIT_S)


def test_a_close_that_times_out_leaves_the_store_alone() -> None:
    gate = threading.Event()
    sink, released = FakeSink(gate=gate), Released()
    writer = AccessLogWriter(lambda: sink, release=released)
    writer.submit("g", "s", 0, "in flight")
    assert sink.entered.wait(WAIT_S)
    writer.submit("g", "s", 1, "queued")
    assert writer.close(0.05) is False
    gate.set()
    assert released.done.wait(WAIT_S)  # the writer ended without writing what was still queued
    assert [e[3] for e in sink.events] == ["in flight"]


def test_without_a_store_lines_are_dropped_quietly() -> None:
    calls: list[int] = []

    def no_store() -> FakeSink | None:
        calls.append(1)
        return None

    writer = AccessLogWriter(no_store)
    writer.submit("g", "s", 0, "x")
    assert writer.flush(WAIT_S) and calls == [1]
    assert writer.close(WAIT_S)
