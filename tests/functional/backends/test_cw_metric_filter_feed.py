"""The metric filter feed over a data dir with a FakeClock: which events a filter counts, when a
minute's DefaultValue is published, and that matching never holds the state database's write lock."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sluiceway.backends.local._cw_metric_filter_feed import GRACE_MS, MetricFilterFeed, _Applied
from sluiceway.backends.local._cw_values import Datum
from sluiceway.backends.local.datadir import LocalDataDir, open_data_dir
from sluiceway.backends.local.metric_filters import MetricFilter, SqliteMetricFilters
from sluiceway.clock import FakeClock
from sluiceway.settings import Settings

START = datetime(2026, 3, 2, 10, 0, 5, tzinfo=UTC)
MINUTE_MS = int(datetime(2026, 3, 2, 10, 0, tzinfo=UTC).timestamp() * 1000)
COUNT = {"metricNamespace": "F", "metricName": "Errors", "metricValue": "1"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def local(tmp_path: Path, clock: FakeClock) -> LocalDataDir:
    made = open_data_dir(Settings.load(data_dir=tmp_path / "data"), clock)
    made.logs.put("/g", "s", [(MINUTE_MS, "before any filter")], create=True)
    return made


@pytest.fixture
def filters(local: LocalDataDir, clock: FakeClock) -> SqliteMetricFilters:
    return SqliteMetricFilters(local.db, clock)


@pytest.fixture
def feed(local: LocalDataDir) -> Iterator[MetricFilterFeed]:
    made = MetricFilterFeed(local.cloudwatch, local.logs.path)
    try:
        yield made
    finally:
        made.close()


def _put(local: LocalDataDir, *messages: str, at: int = MINUTE_MS) -> None:
    local.logs.put("/g", "s", [(at, message) for message in messages])


def _filter(filters: SqliteMetricFilters, local: LocalDataDir, pattern: str, **transformation: object) -> MetricFilter:
    return filters.put("/g", "f", pattern, {**COUNT, **transformation}, after_event=local.logs.last_event_id())


def _points(local: LocalDataDir) -> list[tuple[int, float, float]]:
    rows = local.db.connection().execute(
        "SELECT d.ts_ms, d.samples, d.total FROM cw_datapoints d JOIN cw_metrics m ON m.id = d.metric"
        " WHERE m.namespace = 'F' AND m.name = 'Errors' ORDER BY d.ts_ms, d.total"
    )
    return [(int(ts), float(samples), float(total)) for ts, samples, total in rows]


def test_a_minutes_default_value_waits_until_the_minute_closes_and_is_published_once(
    local: LocalDataDir, filters: SqliteMetricFilters, feed: MetricFilterFeed, clock: FakeClock
) -> None:
    _filter(filters, local, "ERROR", defaultValue=0)
    _put(local, "fine")
    assert feed.pull() == 0  # the minute is open: a later pull may still bring it a match
    _put(local, "ERROR boom", at=MINUTE_MS + 20_000)
    assert feed.pull() == 1
    _put(local, "fine again", at=MINUTE_MS + 60_000)  # the next minute: no match in it
    clock.set(datetime.fromtimestamp((MINUTE_MS + 120_000 + GRACE_MS - 1) / 1000, UTC))
    assert feed.pull() == 0  # the first minute had a match; the second is not closed yet
    clock.advance(0.001)
    assert feed.pull() == 1  # the second minute closed: its DefaultValue, once
    assert feed.pull() == 0
    assert _points(local) == [(MINUTE_MS + 20_000, 1.0, 1.0), (MINUTE_MS + 60_000, 1.0, 0.0)]


def test_a_filter_put_again_is_applied_with_its_new_definition_by_a_running_feed(
    local: LocalDataDir, filters: SqliteMetricFilters, feed: MetricFilterFeed
) -> None:
    created = _filter(filters, local, "ERRROR")  # a typo
    assert feed.pull() == 0
    _put(local, "ERROR 1")  # logged before the fix, not fed yet
    fixed = _filter(filters, local, "ERROR")
    assert fixed.applies_after == created.applies_after  # it reads on from where it was created
    _put(local, "ERROR 2")
    assert feed.pull() == 2  # both, by the new pattern: neither lost between the two definitions


class _FilterPutMeanwhile(MetricFilterFeed):
    """A feed during whose first read of the filters another writer puts a filter and logs to it."""

    def __init__(self, local: LocalDataDir, filters: SqliteMetricFilters) -> None:
        super().__init__(local.cloudwatch, local.logs.path)
        self.local, self.other = local, filters
        self.done = False

    def _applied(self) -> tuple[list[MetricFilter], list[_Applied]]:
        found = super()._applied()
        if not self.done:
            self.done = True
            self.other.put("/g", "late", "ERROR", {**COUNT, "metricName": "Late"}, after_event=self.local.logs.last_event_id())
            _put(self.local, "ERROR late")
        return found


def test_a_filter_put_while_the_feed_reads_loses_no_event(local: LocalDataDir, filters: SqliteMetricFilters) -> None:
    _filter(filters, local, "ERROR")
    feed = _FilterPutMeanwhile(local, filters)
    try:
        _put(local, "ERROR early")
        feed.pull()
        feed.pull()
    finally:
        feed.close()
    late = (
        local.db.connection()
        .execute("SELECT count(*) FROM cw_datapoints d JOIN cw_metrics m ON m.id = d.metric WHERE m.name = 'Late'")
        .fetchone()[0]
    )
    assert feed.done and late == 1


class _Probe(MetricFilterFeed):
    """A feed that, while it matches, checks that another process could write the state database."""

    def __init__(self, local: LocalDataDir, db_path: Path) -> None:
        super().__init__(local.cloudwatch, local.logs.path)
        self.db_path = db_path
        self.writable: list[bool] = []

    def _match(self, rows: list[sqlite3.Row], applied: list[_Applied]) -> tuple[list[Datum], dict[tuple[str, str], dict[int, bool]]]:
        other = sqlite3.connect(self.db_path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            self.writable.append(True)
        except sqlite3.OperationalError:
            self.writable.append(False)
        finally:
            other.close()
        return super()._match(rows, applied)


def test_matching_runs_outside_the_write_transaction(local: LocalDataDir, filters: SqliteMetricFilters, tmp_path: Path) -> None:
    _filter(filters, local, "ERROR")
    feed = _Probe(local, Settings.load(data_dir=tmp_path / "data").db_path)
    try:
        _put(local, "ERROR 1", "ERROR 2")
        assert feed.pull() == 2
    finally:
        feed.close()
    assert feed.writable and all(feed.writable)


def test_a_filter_whose_regex_is_outside_awss_subset_is_skipped_not_run(
    local: LocalDataDir, filters: SqliteMetricFilters, feed: MetricFilterFeed
) -> None:
    filters.put("/g", "f", "%(a+)+$%", COUNT, after_event=local.logs.last_event_id())  # only a hand-edited row gets here
    _put(local, "a" * 27 + "!")
    assert feed.pull() == 0
