"""Metric data queries (GetMetricData's ``MetricDataQueries``, an alarm's ``Metrics``) over the stored data points.

A ``MetricStat`` query gathers its metric into periods and takes the statistic of each; an
``Expression`` query computes metric math (``_cw_math``) over the other queries' series.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ._cw_math import MathError, Series, parse
from ._cw_values import Bucket, MetricKey, canonical_dimensions, statistic

__all__ = ["BucketSource", "QueryResult", "aligned_start", "metric_key", "run_queries", "stat_series"]

_MINUTE_MS = 60_000
_DAY_MS = 24 * 3600 * 1000


class BucketSource(Protocol):
    """Where the data points are (``SqliteCloudWatch``)."""

    def buckets(self, key: MetricKey, start_ms: int, end_ms: int, period_s: int, *, unit: str | None = None) -> list[Bucket]:
        """The metric's data points in ``[start_ms, end_ms)`` gathered into periods from ``start_ms``."""
        ...


@dataclass(frozen=True)
class QueryResult:
    id: str
    label: str
    points: list[tuple[int, float]]
    """``(timestamp ms, value)``, oldest first."""
    return_data: bool


def aligned_start(start_ms: int, now_ms: int, period_s: int) -> int:
    """The start CloudWatch rounds a query's StartTime down to: the minute (the period, for a
    high-resolution period) within 15 days, 5 minutes within 63 days, the hour beyond."""
    age = now_ms - start_ms
    if age > 63 * _DAY_MS:
        step = 3600_000
    elif age > 15 * _DAY_MS:
        step = 5 * _MINUTE_MS
    elif period_s < 60:
        step = period_s * 1000
    else:
        step = _MINUTE_MS
    return start_ms - start_ms % step


def metric_key(metric: Mapping[str, Any]) -> MetricKey:
    """The stored identity of a ``Metric`` structure (Namespace, MetricName, Dimensions)."""
    pairs = canonical_dimensions((str(d["Name"]), str(d["Value"])) for d in metric.get("Dimensions", []))
    return MetricKey(str(metric["Namespace"]), str(metric["MetricName"]), pairs)


def stat_series(
    store: BucketSource,
    key: MetricKey,
    stat: str,
    start_ms: int,
    end_ms: int,
    period_s: int,
    *,
    unit: str | None = None,
) -> list[tuple[int, float, float]]:
    """``(period start, value, sample count)`` of each period with data, oldest first."""
    found: list[tuple[int, float, float]] = []
    for bucket in store.buckets(key, start_ms, end_ms, period_s, unit=unit):
        value = statistic(bucket, stat)
        if value is not None:
            found.append((bucket.timestamp_ms, value, bucket.samples))
    return found


def run_queries(store: BucketSource, queries: Sequence[Mapping[str, Any]], start_ms: int, end_ms: int, *, now_ms: int) -> list[QueryResult]:
    """Every query's series, in the queries' order.

    Raises:
        MathError: an expression this stack does not compute, or one naming an unknown id.
    """
    ids = {str(q["Id"]) for q in queries}
    series: dict[str, Series] = {}
    labels: dict[str, str] = {}
    for query in queries:
        if "MetricStat" in query:
            stat = query["MetricStat"]
            period = int(stat["Period"])
            start = aligned_start(start_ms, now_ms, period)
            points = stat_series(store, metric_key(stat["Metric"]), str(stat["Stat"]), start, end_ms, period, unit=stat.get("Unit"))
            series[str(query["Id"])] = {ts: value for ts, value, _ in points}
            labels[str(query["Id"])] = str(query.get("Label") or stat["Metric"]["MetricName"])
    pending = [q for q in queries if "MetricStat" not in q]
    parsed = {str(q["Id"]): parse(str(q["Expression"])) for q in pending}
    for expression in parsed.values():
        unknown = sorted(expression.ids - ids)
        if unknown:
            raise MathError(f"Unrecognized id {unknown[0]!r} in expression {expression.text!r}")
    # Expressions may read other expressions: compute them in an order that has their inputs first.
    while parsed:
        ready = [i for i, e in parsed.items() if not (e.ids & parsed.keys())]
        if not ready:
            raise MathError(f"Circular reference among expressions {sorted(parsed)}")
        for query_id in ready:
            series[query_id] = parsed.pop(query_id).evaluate(series)
    for query in pending:
        labels[str(query["Id"])] = str(query.get("Label") or query["Id"])
    return [
        QueryResult(
            str(q["Id"]),
            labels[str(q["Id"])],
            sorted(series.get(str(q["Id"]), {}).items()),
            bool(q.get("ReturnData", True)),
        )
        for q in queries
    ]
