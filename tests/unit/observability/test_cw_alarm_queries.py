"""What an alarm's Metrics return: a single series, or an array of series (which no alarm can watch)."""

from __future__ import annotations

from typing import Any

import pytest

from sluiceway.backends.local._cw_queries import returned_series, returns_array
from sluiceway.backends.local._cw_values import Bucket, MetricKey


def stat(query_id: str, metric: str) -> dict[str, Any]:
    return {
        "Id": query_id,
        "MetricStat": {"Metric": {"Namespace": "N", "MetricName": metric}, "Period": 60, "Stat": "Sum"},
        "ReturnData": False,
    }


def metrics(*expressions: str) -> list[dict[str, Any]]:
    """Two metric queries, then the expressions, the last returning data."""
    queries = [stat("ma", "A"), stat("mb", "B")]
    queries += [{"Id": f"e{i}", "Expression": e, "ReturnData": i == len(expressions)} for i, e in enumerate(expressions, start=1)]
    return queries


@pytest.mark.parametrize(
    "expressions",
    [
        ("METRICS()",),
        ("[ma, mb]",),
        ("REMOVE_EMPTY(METRICS())",),
        ("SORT(METRICS(), AVG, ASC, 1)",),
        ("SLICE(METRICS(), 0, 1)",),
        ("FILL(METRICS(), REPEAT)",),
        ("METRICS() * 2",),
        ("RATE(METRICS())",),
        ("METRICS()", "e1 + ma"),  # an expression reading an array is an array
    ],
)
def test_an_array_is_told_from_a_series_whatever_the_data(expressions: tuple[str, ...]) -> None:
    assert returns_array(metrics(*expressions))


@pytest.mark.parametrize(
    "expressions",
    [
        ("ma + mb",),
        ("SUM(METRICS())",),
        ("FIRST(REMOVE_EMPTY(METRICS()))",),
        ("IF(ma > 0, mb / ma, 0)",),
        ("TIME_SERIES(1)",),
        ("METRICS()", "AVG(e1)"),
        ('SUM(METRICS("nothing"))',),  # does not compute: its error shows when it runs, not here
    ],
)
def test_a_series_is_not_an_array(expressions: tuple[str, ...]) -> None:
    assert not returns_array(metrics(*expressions))


class Store:
    def buckets(self, key: MetricKey, start_ms: int, end_ms: int, period_s: int, *, unit: str | None = None) -> list[Bucket]:
        return []


def test_the_returned_series_is_none_for_an_array_even_an_empty_one() -> None:
    now = 1_700_000_040_000
    assert returned_series(Store(), metrics("REMOVE_EMPTY(METRICS())"), now - 60_000, now, now_ms=now) is None
    found = returned_series(Store(), metrics("FILL(ma, 0)"), now - 120_000, now, now_ms=now)
    assert found is not None and list(found.points.values()) == [0.0, 0.0]
