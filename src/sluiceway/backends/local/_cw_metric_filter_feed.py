"""The metrics of CloudWatch Logs metric filters, from the log events of every log group, each event once.

For each log event put into a group after a filter on that group was put, the filter's
pattern is tried: a match publishes the filter's ``metricValue`` (a number, or the number a
``$.field``/``$name`` reference finds in the event) to its metric, with the dimensions its
references find, at the event's own timestamp. ``defaultValue`` is what AWS describes: published
once for a minute (of the events' time) in which the group had events and none matched, never
for a minute without events. A reference that finds nothing, or no number, publishes nothing
for that event.

Exactly once, as the other feeds (:mod:`._cw_cursor`): the log events after the feed's cursor
are read from ``logs.db``, and their data points, the minutes whose DefaultValue was published
and the cursor moved past them commit in one transaction of the state database, only if the
cursor is still where the batch was read from.

The one approximation: a minute whose events are split across two batches (a batch is a few
thousand events) whose first part matched nothing and whose second part matched publishes both
the DefaultValue and the matches; AWS publishes only the matches.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ...observability.log_patterns import FilterPatternError, LogPattern, Matched, compile_pattern
from ._cw_values import Datum, MetricKey, canonical_dimensions
from ._sqlite import ThreadConnections
from .cloudwatch import DATA_RETENTION_MS, SqliteCloudWatch
from .metric_filters import MetricFilter, SqliteMetricFilters

logger = logging.getLogger(__name__)

__all__ = ["MetricFilterFeed", "Transformation"]

_MINUTE_MS: Final = 60_000


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
        self._logs = ThreadConnections(logs_path)
        self._compiled: dict[tuple[str, str, int], _Applied | None] = {}
        self._warned = False
        store.start_cursor(self.name, self._end())

    def close(self) -> None:
        self._logs.close()

    def _end(self) -> int:
        try:
            return int(self._logs.get().execute("SELECT coalesce(max(id), 0) FROM log_events").fetchone()[0])
        except sqlite3.OperationalError:  # no log store yet: nothing before the feed
            return 0

    def pull(self) -> int:
        """Feed every log event after the cursor; how many data points were stored."""
        fed = 0
        while True:
            applied = self._applied()
            after = self.store.cursor(self.name)
            end = self._end()
            if end <= after:
                return fed
            groups = sorted({a.filter.log_group for a in applied})
            rows = self._rows(after, end, groups) if groups else []
            # Short of a full batch, every event up to ``end`` was seen: the cursor goes there
            # (past the events of groups without filters, which are never read).
            position = int(rows[-1]["id"]) if len(rows) == self.batch else end
            with self.store.db.transaction() as conn:
                if self.store.cursor(self.name) != after:
                    continue  # another feeder stored this range first: read on from where it got to
                data = self._data(rows, applied, conn)
                self.store.put(data, feed=(self.name, position), expected=after)
            fed += len(data)
            if len(rows) < self.batch:
                return fed

    def _applied(self) -> list[_Applied]:
        found: list[_Applied] = []
        seen: set[tuple[str, str, int]] = set()
        for record in self.filters.all():
            key = (record.log_group, record.name, record.applies_after)
            seen.add(key)
            if key not in self._compiled:
                try:
                    self._compiled[key] = _Applied(record, Transformation.of(record.pattern, record.transformation))
                except (FilterPatternError, KeyError, TypeError, ValueError):
                    # Put through PutMetricFilter, which checks them: only a hand-edited row gets here.
                    logger.warning(
                        "a metric filter cannot be applied; skipped", extra={"log_group": record.log_group, "filter": record.name}
                    )
                    self._compiled[key] = None
            compiled = self._compiled[key]
            if compiled is not None:
                found.append(compiled)
        for stale in set(self._compiled) - seen:
            del self._compiled[stale]
        return found

    def _rows(self, after: int, end: int, groups: list[str]) -> list[sqlite3.Row]:
        marks = ",".join("?" * len(groups))
        rows: list[sqlite3.Row] = (
            self._logs.get()
            .execute(
                f"SELECT id, log_group, ts_ms, message FROM log_events WHERE id > ? AND id <= ?"  # noqa: S608 - placeholders only
                f" AND log_group IN ({marks}) ORDER BY id LIMIT ?",
                (after, end, *groups, self.batch),
            )
            .fetchall()
        )
        return rows

    def _data(self, rows: list[sqlite3.Row], applied: list[_Applied], conn: sqlite3.Connection) -> list[Datum]:
        by_group: dict[str, list[_Applied]] = {}
        for item in applied:
            by_group.setdefault(item.filter.log_group, []).append(item)
        data: list[Datum] = []
        seen_minutes: dict[tuple[str, str], set[int]] = {}
        matched_minutes: dict[tuple[str, str], set[int]] = {}
        for row in rows:
            for item in by_group.get(row["log_group"], ()):
                if row["id"] <= item.filter.applies_after:
                    continue  # put before the filter was
                key = (item.filter.log_group, item.filter.name)
                minute = int(row["ts_ms"]) // _MINUTE_MS
                seen_minutes.setdefault(key, set()).add(minute)
                try:
                    matched = item.transformation.pattern.match(row["message"])
                    if matched is None:
                        continue
                    matched_minutes.setdefault(key, set()).add(minute)
                    observed = item.transformation.observe(matched)
                except Exception:
                    # Skipped, not retried: the cursor moves past it with the rest of the batch.
                    logger.log(
                        logging.DEBUG if self._warned else logging.WARNING,
                        "a log event could not be read for a metric filter; skipped",
                        extra={"feed": self.name, "log_event": row["id"], "filter": item.filter.name},
                        exc_info=True,
                    )
                    self._warned = True
                    continue
                if observed is not None:
                    metric, value = observed
                    data.append(Datum.of_value(metric, int(row["ts_ms"]), value, unit=item.transformation.unit))
        for item in applied:
            transformation = item.transformation
            key = (item.filter.log_group, item.filter.name)
            if transformation.default is None or transformation.dimensions:
                continue
            for minute in sorted(seen_minutes.get(key, set()) - matched_minutes.get(key, set())):
                inserted = conn.execute(
                    "INSERT OR IGNORE INTO logs_metric_filter_defaults (log_group, name, minute) VALUES (?, ?, ?)", (*key, minute)
                ).rowcount
                if inserted:
                    data.append(Datum.of_value(transformation.key, minute * _MINUTE_MS, transformation.default, unit=transformation.unit))
        if seen_minutes:
            oldest = (int(self.store.clock.now().timestamp() * 1000) - DATA_RETENTION_MS) // _MINUTE_MS
            conn.execute("DELETE FROM logs_metric_filter_defaults WHERE minute < ?", (oldest,))
        return data
