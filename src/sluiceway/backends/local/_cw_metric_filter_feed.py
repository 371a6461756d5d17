"""The metrics of CloudWatch Logs metric filters, from the log events of every log group, each event once.

For each log event put into a group after a filter on that group was put, the filter's
pattern is tried: a match publishes the filter's ``metricValue`` (a number, or the number a
``$.field``/``$name`` reference finds in the event) to its metric, with the dimensions its
references find, at the event's own timestamp. A reference that finds nothing, or no number,
publishes nothing for that event. A filter put again keeps reading from where it was created:
the events not fed yet are read with its new definition.

``defaultValue`` is what AWS describes: published once for a minute (of the events' time) in
which the group had events for the filter and none matched, never for a minute without events.
The feed notes each such minute (``logs_metric_filter_defaults``: had events, had a match) and
publishes the DefaultValue only when the minute has closed: :data:`GRACE_MS` after it ended, by
the store's clock, so the events of one minute fed in several pulls count as one minute. An
event that comes later still, into a closed minute, publishes its match (if it has one) beside
that minute's DefaultValue: the one approximation.

Exactly once, as the other feeds (:mod:`._cw_cursor`): the log events after the feed's cursor
are read from ``logs.db`` and matched outside any transaction; their data points, the minutes
they fell in, the closed minutes' DefaultValues and the cursor moved past them commit in one
transaction of the state database, only if the cursor and the filters are still what the batch
was read with (otherwise it is read and matched again).
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ...observability.log_patterns import FilterPatternError, LogPattern, Matched, compile_pattern
from ._cw_log_events import CompiledFilters, LogEvents, SkippedEvents, applying
from ._cw_values import Datum, MetricKey, canonical_dimensions
from .cloudwatch import DATA_RETENTION_MS, SqliteCloudWatch
from .metric_filters import MetricFilter, SqliteMetricFilters

logger = logging.getLogger(__name__)

__all__ = ["GRACE_MS", "MetricFilterFeed", "Transformation"]

_MINUTE_MS: Final = 60_000
GRACE_MS: Final = 60_000
"""How long after a minute ends its DefaultValue waits for late events (by the store's clock)."""


@dataclass(frozen=True)
class Transformation:
    """A filter's compiled pattern and metric transformation: what one matching event publishes."""

    pattern: LogPattern
    namespace: str
    metric: str
    value: str
    """``metricValue``: a number, or a ``$.field``/``$name`` reference."""
    default: float | None
    dimensions: tuple[tuple[str, str], ...]
    """``(dimension name, reference)`` pairs."""
    unit: str

    @classmethod
    def of(cls, pattern: str, transformation: Mapping[str, Any]) -> Transformation:
        """Raises FilterPatternError for a pattern that does not compile."""
        default = transformation.get("defaultValue")
        return cls(
            compile_pattern(pattern),
            str(transformation["metricNamespace"]),
            str(transformation["metricName"]),
            str(transformation["metricValue"]).strip(),
            None if default is None else float(default),
            tuple(sorted((str(k), str(v)) for k, v in (transformation.get("dimensions") or {}).items())),
            str(transformation.get("unit") or "None"),
        )

    def observe(self, matched: Matched) -> tuple[MetricKey, float] | None:
        """The metric and value a match publishes; None when a reference finds nothing usable."""
        value = _number(self.value) if not self.value.startswith("$") else _number(matched.value(self.value))
        if value is None:
            return None
        dims: list[tuple[str, str]] = []
        for name, reference in self.dimensions:
            found = matched.value(reference)
            if found is None or found == "":
                return None
            dims.append((name, found if isinstance(found, str) else json.dumps(found)))
        return MetricKey(self.namespace, self.metric, canonical_dimensions(dims)), value

    @property
    def publishes_default(self) -> bool:
        """Whether minutes without a match publish a DefaultValue (a filter with dimensions never does)."""
        return self.default is not None and not self.dimensions

    @property
    def key(self) -> MetricKey:
        """The metric a DefaultValue goes to (a filter with dimensions has none)."""
        return MetricKey(self.namespace, self.metric, ())


def _number(found: object) -> float | None:
    if isinstance(found, bool) or found is None:
        return None
    if isinstance(found, int | float):
        number = float(found)
    else:
        try:
            number = float(str(found).strip())
        except ValueError:
            return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class _Applied:
    filter: MetricFilter
    transformation: Transformation


class MetricFilterFeed:
    """Metric filters' data points, from the log store's file (read-only here) into the CloudWatch store.

    Args:
        logs_path: the log store's database (``logs.db``).
        batch: log events read per transaction.
    """

    name = "logs-metric-filters"

    def __init__(self, store: SqliteCloudWatch, logs_path: Path, *, batch: int = 5000) -> None:
        self.store = store
        self.filters = SqliteMetricFilters(store.db, store.clock)
        self.batch = batch
        self._events = LogEvents(logs_path)
        self._compiled: CompiledFilters[MetricFilter, Transformation] = CompiledFilters(
            lambda record: Transformation.of(record.pattern, record.transformation),
            _definition,
            # Put through PutMetricFilter, which checks them: only a hand-edited row fails.
            errors=(FilterPatternError, KeyError, TypeError, ValueError),
            warning="a metric filter cannot be applied; skipped",
            log=logger,
        )
        self._skipped = SkippedEvents(self.name, "a log event could not be read for a metric filter; skipped", logger)
        store.start_cursor(self.name, self._events.end())

    def close(self) -> None:
        self._events.close()

    def pull(self) -> int:
        """Feed every log event after the cursor, and the DefaultValues of the minutes that closed; how many data points were stored."""
        fed = 0
        while True:
            end, (records, applied) = self._events.window(self._applied)
            after = self.store.cursor(self.name)
            if end <= after:
                return fed + self._close(applied, records)
            read = self._events.after(after, end, (a.filter.log_group for a in applied), batch=self.batch)
            # Matching runs outside the write transaction: however long a pattern takes, the
            # state database stays writable meanwhile.
            data, minutes = self._match(read.rows, applied)
            with self.store.db.transaction() as conn:
                if self.store.cursor(self.name) != after or self.filters.all() != records:
                    continue  # another feeder stored this range first, or a filter changed: read again
                _note_minutes(conn, minutes)
                data += self._closed_defaults(conn, applied)
                self.store.put(data, feed=(self.name, read.position), expected=after)
            fed += len(data)
            if read.last:
                return fed

    def _applied(self) -> tuple[list[MetricFilter], list[_Applied]]:
        """Every filter as stored, and those that compile."""
        records = self.filters.all()
        return records, [_Applied(record, transformation) for record, transformation in self._compiled.applied(records)]

    def _match(self, rows: list[sqlite3.Row], applied: list[_Applied]) -> tuple[list[Datum], dict[tuple[str, str], dict[int, bool]]]:
        """The data points the matches publish, and per filter with a DefaultValue the minutes its
        events fell in (True: one matched)."""
        data: list[Datum] = []
        minutes: dict[tuple[str, str], dict[int, bool]] = {}
        for row, item in applying(rows, applied):
            transformation = item.transformation
            seen = minutes.setdefault(_key(item), {}) if transformation.publishes_default else None
            minute = int(row["ts_ms"]) // _MINUTE_MS
            try:
                matched = transformation.pattern.match(row["message"])
                if seen is not None:
                    seen[minute] = seen.get(minute, False) or matched is not None
                if matched is None:
                    continue
                observed = transformation.observe(matched)
            except Exception:
                self._skipped.skip(row, item.filter)
                continue
            if observed is not None:
                metric, value = observed
                data.append(Datum.of_value(metric, int(row["ts_ms"]), value, unit=transformation.unit))
        return data, minutes

    def _close(self, applied: list[_Applied], records: list[MetricFilter]) -> int:
        """Publish the DefaultValues of the minutes that closed since (no new events to feed)."""
        cutoff = self._open_minute()
        pending = (
            self.store.db.connection()
            .execute("SELECT 1 FROM logs_metric_filter_defaults WHERE closed = 0 AND minute < ? LIMIT 1", (cutoff,))
            .fetchone()
        )
        if pending is None:
            return 0
        with self.store.db.transaction() as conn:
            if self.filters.all() != records:
                return 0  # a filter changed: the next pull closes them with it
            data = self._closed_defaults(conn, applied)
            self.store.put(data)
        return len(data)

    def _open_minute(self) -> int:
        """The oldest minute that is not closed yet: it ended less than :data:`GRACE_MS` ago, or has not ended."""
        return (int(self.store.clock.now().timestamp() * 1000) - GRACE_MS) // _MINUTE_MS

    def _closed_defaults(self, conn: sqlite3.Connection, applied: list[_Applied]) -> list[Datum]:
        """The DefaultValues of the closed minutes without a match, which are marked closed."""
        cutoff = self._open_minute()
        by_key = {_key(item): item.transformation for item in applied}
        data: list[Datum] = []
        closing = conn.execute(
            "SELECT log_group, name, minute, matched FROM logs_metric_filter_defaults WHERE closed = 0 AND minute < ?", (cutoff,)
        ).fetchall()
        for group, name, minute, matched in closing:
            transformation = by_key.get((group, name))
            if not matched and transformation is not None and transformation.default is not None:
                data.append(Datum.of_value(transformation.key, int(minute) * _MINUTE_MS, transformation.default, unit=transformation.unit))
        if closing:
            conn.execute("UPDATE logs_metric_filter_defaults SET closed = 1 WHERE closed = 0 AND minute < ?", (cutoff,))
        oldest = (int(self.store.clock.now().timestamp() * 1000) - DATA_RETENTION_MS) // _MINUTE_MS
        conn.execute("DELETE FROM logs_metric_filter_defaults WHERE closed = 1 AND minute < ?", (oldest,))
        return data


def _definition(record: MetricFilter) -> Hashable:
    """What a filter's compiled form depends on: a filter put again with a new definition is compiled again."""
    return (record.log_group, record.name, record.pattern, json.dumps(record.transformation, sort_keys=True), record.applies_after)


def _key(item: _Applied) -> tuple[str, str]:
    return item.filter.log_group, item.filter.name


def _note_minutes(conn: sqlite3.Connection, minutes: Mapping[tuple[str, str], Mapping[int, bool]]) -> None:
    """Record that these minutes had events (and whether one matched); a closed minute stays closed."""
    for (group, name), seen in minutes.items():
        for minute, matched in seen.items():
            conn.execute(
                "INSERT INTO logs_metric_filter_defaults (log_group, name, minute, matched, closed) VALUES (?, ?, ?, ?, 0)"
                " ON CONFLICT (log_group, name, minute) DO UPDATE SET matched = max(matched, excluded.matched)",
                (group, name, minute, int(matched)),
            )
