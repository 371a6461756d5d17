"""What the log filter feeds share: reading log events after a cursor, the filters compiled by
definition, pairing events with the filters that read them, and the warning for a skipped event."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sluiceway.backends.local._cw_log_events import CompiledFilters, LogEvents, SkippedEvents, applying
from sluiceway.backends.local.logs import SqliteLogStore


@dataclass(frozen=True)
class _Filter:
    log_group: str
    name: str
    pattern: str
    applies_after: int = 0
    destination: str = "d"


@dataclass(frozen=True)
class _Applied:
    filter: _Filter
    compiled: str


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteLogStore]:
    made = SqliteLogStore(tmp_path / "logs.db", lambda: 0)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def events(store: SqliteLogStore) -> Iterator[LogEvents]:
    made = LogEvents(store.path)
    try:
        yield made
    finally:
        made.close()


def _put(store: SqliteLogStore, group: str, *messages: str) -> None:
    store.put(group, "s", [(1_000 + i, m) for i, m in enumerate(messages)], create=True)


def _messages(rows: list[sqlite3.Row]) -> list[str]:
    return [str(row["message"]) for row in rows]


def test_the_end_is_zero_without_a_log_store_then_the_last_events_position(tmp_path: Path) -> None:
    missing = LogEvents(tmp_path / "none" / "logs.db")
    try:
        assert missing.end() == 0
    finally:
        missing.close()
    store = SqliteLogStore(tmp_path / "logs.db", lambda: 0)
    found = LogEvents(store.path)
    try:
        assert found.end() == 0
        _put(store, "/a", "one", "two")
        assert found.end() == store.last_event_id() == 2
    finally:
        found.close()
        store.close()


def test_a_read_returns_only_the_given_groups_events_after_the_start_up_to_the_end(store: SqliteLogStore, events: LogEvents) -> None:
    _put(store, "/a", "a1")
    _put(store, "/b", "b1")
    _put(store, "/a", "a2", "a3")
    _put(store, "/c", "c1")
    _put(store, "/a", "a4")
    read = events.after(1, 5, ["/a", "/c"], batch=10)
    assert _messages(read.rows) == ["a2", "a3", "c1"]  # a1 is the start's; a4 is past the end
    assert [set(row.keys()) for row in read.rows][0] == {"id", "log_group", "stream", "ts_ms", "message"}
    assert (read.position, read.last) == (5, True)


def test_a_full_batch_moves_the_cursor_to_its_last_event_and_a_short_one_to_the_end(store: SqliteLogStore, events: LogEvents) -> None:
    _put(store, "/a", "a1", "a2", "a3")
    _put(store, "/b", "b1", "b2")  # no filter on /b: never read, yet the cursor goes past them
    first = events.after(0, 5, ["/a"], batch=2)
    assert (_messages(first.rows), first.position, first.last) == (["a1", "a2"], 2, False)
    second = events.after(first.position, 5, ["/a"], batch=2)
    assert (_messages(second.rows), second.position, second.last) == (["a3"], 5, True)


def test_a_read_without_groups_or_range_reads_nothing_and_moves_to_the_end(store: SqliteLogStore, events: LogEvents) -> None:
    _put(store, "/a", "a1", "a2")
    empty = events.after(0, 2, [], batch=2)
    assert (empty.rows, empty.position, empty.last) == ([], 2, True)
    past = events.after(2, 2, ["/a"], batch=2)
    assert (past.rows, past.position, past.last) == ([], 2, True)


def test_the_window_reads_the_end_before_the_filters(store: SqliteLogStore, events: LogEvents) -> None:
    _put(store, "/a", "a1")

    def filters_while_an_event_is_put() -> str:
        _put(store, "/a", "a2")  # put between the two reads: after the end read
        return "filters"

    end, filters = events.window(filters_while_an_event_is_put)
    assert (end, filters) == (1, "filters")
    assert events.end() == 2


def _compiling(calls: list[str]) -> CompiledFilters[_Filter, str]:
    def compile_(record: _Filter) -> str:
        calls.append(record.pattern)
        if record.pattern == "bad":
            raise ValueError(record.pattern)
        return record.pattern.upper()

    return CompiledFilters(
        compile_, lambda r: (r.log_group, r.name, r.pattern), errors=(ValueError,), warning="a test filter cannot be applied; skipped"
    )


def test_a_filter_is_compiled_once_while_its_definition_stays_and_again_when_it_changes() -> None:
    calls: list[str] = []
    cache = _compiling(calls)
    first = _Filter("/a", "f", "x")
    assert cache.applied([first]) == [(first, "X")]
    moved = _Filter("/a", "f", "x", destination="elsewhere")  # outside the definition
    assert cache.applied([moved]) == [(moved, "X")]  # the record as given, compiled once
    assert calls == ["x"]
    assert cache.applied([_Filter("/a", "f", "y")]) == [(_Filter("/a", "f", "y"), "Y")]
    assert cache.applied([_Filter("/a", "f", "x")]) == [(_Filter("/a", "f", "x"), "X")]
    assert calls == ["x", "y", "x"]  # "x" was dropped while not given: compiled again


def test_a_filter_that_does_not_compile_is_warned_about_once_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []
    cache = _compiling(calls)
    good, bad = _Filter("/a", "good", "x"), _Filter("/a", "bad", "bad")
    with caplog.at_level(logging.WARNING, logger="sluiceway.backends.local._cw_log_events"):
        assert cache.applied([bad, good]) == [(good, "X")]
        assert cache.applied([bad, good]) == [(good, "X")]
    assert calls == ["bad", "x"]
    warnings = [r for r in caplog.records if r.message == "a test filter cannot be applied; skipped"]
    assert [(r.levelno, getattr(r, "filter", None)) for r in warnings] == [(logging.WARNING, "bad")]


def test_a_compile_error_outside_the_expected_ones_propagates() -> None:
    def broken(record: _Filter) -> str:
        raise RuntimeError(record.name)

    cache: CompiledFilters[_Filter, str] = CompiledFilters(broken, lambda r: r.name, errors=(ValueError,), warning="w")
    with pytest.raises(RuntimeError):
        cache.applied([_Filter("/a", "f", "x")])


def test_each_event_pairs_with_the_filters_of_its_group_put_before_it(store: SqliteLogStore, events: LogEvents) -> None:
    _put(store, "/a", "a1")
    _put(store, "/b", "b1")
    _put(store, "/a", "a2")
    rows = events.after(0, 3, ["/a", "/b"], batch=10).rows
    early, late, other = (
        _Applied(_Filter("/a", "early", ""), "e"),
        _Applied(_Filter("/a", "late", "", applies_after=2), "l"),
        _Applied(_Filter("/b", "b", ""), "b"),
    )
    paired = [(str(row["message"]), item.compiled) for row, item in applying(rows, [early, late, other])]
    assert paired == [("a1", "e"), ("b1", "b"), ("a2", "e"), ("a2", "l")]


def test_a_skipped_event_warns_once_then_logs_at_debug(store: SqliteLogStore, events: LogEvents, caplog: pytest.LogCaptureFixture) -> None:
    _put(store, "/a", "a1", "a2")
    rows = events.after(0, 2, ["/a"], batch=10).rows
    skipped = SkippedEvents("a-feed", "a log event could not be read for a test filter; skipped")
    with caplog.at_level(logging.DEBUG, logger="sluiceway.backends.local._cw_log_events"):
        for row in rows:
            try:
                raise ValueError(row["message"])
            except ValueError:
                skipped.skip(row, _Filter("/a", "f", "x"))
    records = [r for r in caplog.records if r.message == "a log event could not be read for a test filter; skipped"]
    assert [r.levelno for r in records] == [logging.WARNING, logging.DEBUG]
    assert [(getattr(r, "feed", None), getattr(r, "log_event", None), getattr(r, "filter", None)) for r in records] == [
        ("a-feed", 1, "f"),
        ("a-feed", 2, "f"),
    ]
    assert all(r.exc_info is not None for r in records)


def test_an_empty_batch_is_refused(events: LogEvents) -> None:
    with pytest.raises(ValueError, match="one event at least"):
        events.after(0, 1, ["/a"], batch=0)
