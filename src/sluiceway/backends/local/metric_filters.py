"""CloudWatch Logs metric filters on SQLite: each filter's pattern and metric transformation.

They live in the state database (not ``logs.db`` beside the events): the metric filter feed
commits the data points it derives, its cursor and the minutes it published a DefaultValue in
one transaction of the state database, and reads the filters from there too. A log group's
filters go with it (the Logs endpoint deletes them before the group, so a crash between the two
leaves a group without filters, never filters that come back with a group made again).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ...errors import ConflictError, NotFoundError
from ...ports import Clock
from ._sqlite import Database

__all__ = ["MAX_FILTERS_PER_GROUP", "MetricFilter", "SqliteMetricFilters", "TooManyMetricFiltersError"]

MAX_FILTERS_PER_GROUP: Final = 100
"""CloudWatch Logs' quota of metric filters per log group."""

_COLUMNS: Final = "log_group, name, pattern, transformation, created_ms, applies_after"


class TooManyMetricFiltersError(ConflictError):
    """The log group has :data:`MAX_FILTERS_PER_GROUP` metric filters already."""


@dataclass(frozen=True)
class MetricFilter:
    log_group: str
    name: str
    pattern: str
    transformation: Mapping[str, Any]
    """The one MetricTransformation, as PutMetricFilter took it (AWS's member names)."""
    created_ms: int
    applies_after: int
    """The log store's last event when it was created: it reads the events after that one (an
    update keeps it, so the events put before an update and not fed yet are read with the new
    definition rather than by neither)."""


class SqliteMetricFilters:
    """The data dir's metric filters, in the state database."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def put(self, group: str, name: str, pattern: str, transformation: Mapping[str, Any], *, after_event: int) -> MetricFilter:
        """Create the filter, or replace its pattern and transformation (its creation time and the
        events it reads from are kept).

        Args:
            after_event: the log store's last event now (:meth:`~.logs.SqliteLogStore.last_event_id`):
                a new filter reads the events after it.

        Raises:
            TooManyMetricFiltersError: a new filter over the group's quota.
        """
        now = int(self.clock.now().timestamp() * 1000)
        body = json.dumps(dict(transformation), separators=(",", ":"))
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT created_ms, applies_after FROM logs_metric_filters WHERE log_group=? AND name=?", (group, name)
            ).fetchone()
            if row is None:
                count = conn.execute("SELECT count(*) FROM logs_metric_filters WHERE log_group=?", (group,)).fetchone()[0]
                if count >= MAX_FILTERS_PER_GROUP:
                    raise TooManyMetricFiltersError(f"log group {group} has {count} metric filters")
                created, applies_after = now, after_event
            else:
                created, applies_after = int(row[0]), int(row[1])
            # The minutes noted for its DefaultValue stay: a minute that had a match under the old
            # definition must not publish the new DefaultValue when it closes.
            conn.execute(
                "INSERT INTO logs_metric_filters (log_group, name, pattern, transformation, created_ms, applies_after)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (log_group, name) DO UPDATE SET"
                " pattern=excluded.pattern, transformation=excluded.transformation",
                (group, name, pattern, body, created, applies_after),
            )
        return MetricFilter(group, name, pattern, dict(transformation), created, applies_after)

    def delete(self, group: str, name: str) -> None:
        """Raises NotFoundError when the group has no such filter."""
        with self.db.transaction() as conn:
            if conn.execute("DELETE FROM logs_metric_filters WHERE log_group=? AND name=?", (group, name)).rowcount == 0:
                raise NotFoundError(f"metric filter {name} of {group} does not exist")
            conn.execute("DELETE FROM logs_metric_filter_defaults WHERE log_group=? AND name=?", (group, name))

    def delete_group(self, group: str) -> int:
        """Delete the group's filters (the group was deleted); how many there were."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM logs_metric_filter_defaults WHERE log_group=?", (group,))
            return int(conn.execute("DELETE FROM logs_metric_filters WHERE log_group=?", (group,)).rowcount)

    def count(self, group: str) -> int:
        row = self.db.connection().execute("SELECT count(*) FROM logs_metric_filters WHERE log_group=?", (group,)).fetchone()
        return int(row[0])

    def describe(
        self,
        *,
        group: str | None = None,
        prefix: str = "",
        metric: tuple[str, str] | None = None,
        after: tuple[str, str] | None = None,
        limit: int = 50,
    ) -> list[MetricFilter]:
        """Filters by name (ASCII order, then group), after ``(name, group)``.

        Args:
            metric: ``(namespace, name)``: only the filters that publish that metric.
        """
        where = ["substr(name, 1, ?) = ?"]
        args: list[object] = [len(prefix), prefix]
        if group is not None:
            where.append("log_group = ?")
            args.append(group)
        if metric is not None:
            where.append("json_extract(transformation, '$.metricNamespace') = ? AND json_extract(transformation, '$.metricName') = ?")
            args.extend(metric)
        if after is not None:
            where.append("(name > ? OR (name = ? AND log_group > ?))")
            args.extend([after[0], after[0], after[1]])
        rows = self.db.connection().execute(
            f"SELECT {_COLUMNS} FROM logs_metric_filters WHERE {' AND '.join(where)}"  # noqa: S608 - fixed fragments
            " ORDER BY name, log_group LIMIT ?",
            (*args, limit),
        )
        return [_filter(row) for row in rows]

    def all(self) -> list[MetricFilter]:
        """Every filter (what the feed applies)."""
        rows = self.db.connection().execute(f"SELECT {_COLUMNS} FROM logs_metric_filters ORDER BY log_group, name")  # noqa: S608
        return [_filter(row) for row in rows]


def _filter(row: sqlite3.Row | tuple[Any, ...]) -> MetricFilter:
    return MetricFilter(row[0], row[1], row[2], json.loads(row[3]), int(row[4]), int(row[5]))
