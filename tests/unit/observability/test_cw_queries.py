"""Metric data queries over a store of buckets: expressions reading metrics and other expressions,
arrays answered one result per series, labels, the ArithmeticError message, and what is refused."""

from __future__ import annotations

from typing import Any

import pytest

from sluiceway.backends.local._cw_math import MathError
from sluiceway.backends.local._cw_queries import ARITHMETIC_ERROR, run_queries
from sluiceway.backends.local._cw_values import Bucket, MetricKey

MINUTE = 60_000
T0 = 1_700_000_040_000  # a whole minute
END = T0 + 4 * MINUTE


class FakeStore:
    """Sums by metric name: ``{name: {minute index: value}}``, one sample each."""

    def __init__(self, data: dict[str, dict[int, float]]) -> None:
        self.data = data

    def buckets(self, key: MetricKey, start_ms: int, end_ms: int, period_s: int, *, unit: str | None = None) -> list[Bucket]:
        found = []
        for index, value in sorted(self.data.get(key.name, {}).items()):
            ts = T0 + index * MINUTE
            if start_ms <= ts < end_ms:
                bucket = Bucket(ts)
                bucket.add(1, value, value, value, [(value, 1)])
                found.append(bucket)
        return found


def metric(query_id: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"Id": query_id, "MetricStat": {"Metric": {"Namespace": "Shop", "MetricName": name}, "Period": 60, "Stat": "Sum"}, **extra}


STORE = FakeStore({"Errors": {0: 1, 1: 0, 3: 2}, "Invocations": {0: 4, 1: 0, 2: 5, 3: 8}})


def run(queries: list[dict[str, Any]], store: FakeStore = STORE) -> list[tuple[str, str, list[float], tuple[tuple[str, str], ...]]]:
    results = run_queries(store, queries, T0, END, now_ms=END)
    return [(r.id, r.label, [v for _, v in r.points], r.messages) for r in results if r.return_data]


def test_an_error_rate_reads_two_metrics() -> None:
    queries = [
        metric("errors", "Errors", ReturnData=False),
        metric("invocations", "Invocations", ReturnData=False),
        {"Id": "rate", "Expression": "IF(invocations > 0, 100 * errors / invocations, 0)"},
    ]
    # The Label of an expression without one is its Id.
    assert run(queries) == [("rate", "rate", [25, 0, 0, 25], ())]


def test_an_array_answers_one_result_per_series_with_the_expressions_id() -> None:
    queries = [
        metric("errors", "Errors", Label="Errors"),
        metric("invocations", "Invocations", ReturnData=False),
        {"Id": "filled", "Expression": "FILL(METRICS(), 0)", "Label": "Filled With 0:"},
        {"Id": "bare", "Expression": "METRICS() * 2"},
    ]
    assert run(queries) == [
        ("errors", "Errors", [1, 0, 2], ()),
        ("filled", "Filled With 0: Errors", [1, 0, 0, 2], ()),
        ("filled", "Filled With 0: Invocations", [4, 0, 5, 8], ()),
        ("bare", "Errors", [2, 0, 4], ()),
        ("bare", "Invocations", [8, 0, 10, 16], ()),
    ]


def test_expressions_read_expressions_in_any_order() -> None:
    queries = [
        {"Id": "total", "Expression": "SUM(doubled)"},
        {"Id": "doubled", "Expression": "METRICS() * 2", "ReturnData": False},
        metric("errors", "Errors", ReturnData=False),
        metric("invocations", "Invocations", ReturnData=False),
    ]
    assert run(queries) == [("total", "total", [10, 0, 10, 20], ())]


def test_a_division_by_zero_is_dropped_with_cloudwatchs_message() -> None:
    queries = [
        metric("errors", "Errors", ReturnData=False),
        metric("invocations", "Invocations", ReturnData=False),
        {"Id": "ratio", "Expression": "errors / invocations"},
        {"Id": "clean", "Expression": "errors + invocations"},
    ]
    assert ARITHMETIC_ERROR == (
        "ArithmeticError",
        "One or more data-points have been dropped due to non-numeric values (NaN, -Infinite, +Infinite)",
    )
    assert run(queries) == [("ratio", "ratio", [0.25, 0, 0.25], (ARITHMETIC_ERROR,)), ("clean", "clean", [5, 0, 5, 10], ())]


def test_time_series_spans_the_range_by_the_expressions_period() -> None:
    queries = [{"Id": "flat", "Expression": "TIME_SERIES(3)", "Period": 120}]
    results = run_queries(STORE, queries, T0, END, now_ms=END)
    assert [ts for ts, _ in results[0].points] == [T0, T0 + 2 * MINUTE]


@pytest.mark.parametrize(
    ("queries", "message"),
    [
        ([{"Id": "e", "Expression": "m9 * 2"}], "Unrecognized id 'm9'"),
        ([{"Id": "a", "Expression": "b + 1"}, {"Id": "b", "Expression": "a + 1"}], "Circular reference"),
        ([metric("m1", "Errors"), {"Id": "e", "Expression": "AVG(m1)"}], "computes a number"),
        ([metric("m1", "Errors"), {"Id": "e", "Expression": "SEARCH('{Shop} Errors', 'Sum', 60)"}], "SEARCH is not computed locally"),
    ],
)
def test_what_does_not_compute_raises(queries: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(MathError, match=message):
        run_queries(STORE, queries, T0, END, now_ms=END)
