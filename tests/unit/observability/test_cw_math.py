"""Metric math computed locally: the operators and functions of CloudWatch's "Metric math syntax and
functions", checked against the user guide's own tables where it gives them."""

from __future__ import annotations

import math
import sys

import pytest

from sluiceway.backends.local._cw_math import MAX_DEPTH, MathError, Run, TimeSeries, Value, parse

MINUTE = 60_000
T0 = 1_700_000_040_000  # a whole minute
STAMPS = [T0 + i * MINUTE for i in range(5)]


def grid(period_s: int) -> range:
    return range(T0, T0 + 5 * MINUTE, period_s * 1000)


def series(label: str, values: list[float | None], *, metric: bool = True) -> TimeSeries:
    """A one-minute series over STAMPS; None is a missing value."""
    points = {ts: float(v) for ts, v in zip(STAMPS, values, strict=False) if v is not None}
    return TimeSeries(label, points, 60, from_metric=metric)


def compute(text: str, **inputs: TimeSeries) -> tuple[TimeSeries | tuple[TimeSeries, ...], Run]:
    run = Run(grid, 60)
    values: dict[str, Value] = dict(inputs)
    return parse(text).evaluate(values, metric_ids=list(inputs), run=run), run


def listed(found: TimeSeries | tuple[TimeSeries, ...]) -> list[float | None]:
    """The values over STAMPS, None where missing."""
    assert isinstance(found, TimeSeries)
    return [found.points.get(ts) for ts in STAMPS]


# The user guide's comparison example: metric1 [30, 20, 0, 0], metric2 [20, -, 20, -].
METRIC1 = series("metric1", [30, 20, 0, 0])
METRIC2 = series("metric2", [20, None, 20, None])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(metric1 < metric2)", [0, 0, 1, 0, None]),
        ("(metric1 >= 30)", [1, 0, 0, 0, None]),
        ("(metric1 > 15 AND metric2 > 15)", [1, 0, 0, 0, None]),
        ("metric1 > 15 && metric2 > 15", [1, 0, 0, 0, None]),
        ("metric1 == 0 OR metric2 == 20", [1, 0, 1, 1, None]),
        ("metric1 != 20 || metric2 <= 0", [1, 0, 1, 1, None]),  # metric2 <= 0 has no value where metric2 has none,
    ],
)
def test_comparisons_and_logic_give_1_or_0_and_count_a_missing_value_as_0(text: str, expected: list[float | None]) -> None:
    found, _ = compute(text, metric1=METRIC1, metric2=METRIC2)
    assert listed(found) == expected


# The user guide's IF tables.
COND = series("c", [1, 1, 0, 0, None])
TRUE_SIDE = series("t", [30, None, 0, 0, 30])
FALSE_SIDE = series("f", [0, 0, 20, None, 20])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("IF(c, t, f)", [30, 0, 20, None, None]),
        ("IF(c, 5, f)", [5, 5, 20, None, None]),
        ("IF(c, t, 5)", [30, 0, 5, 5, None]),
        ("IF(c, t)", [30, 0, None, None, None]),
        ("IF(t < 10, 1, 0)", [0, None, 1, 1, 0]),
        ("IF(1, t, f)", [30, None, 0, 0, 30]),
        ("IF(0, t, f)", [0, 0, 20, None, 20]),
        ("IF(0, t)", [None] * 5),
    ],
)
def test_if_follows_the_user_guides_tables(text: str, expected: list[float | None]) -> None:
    found, _ = compute(text, c=COND, t=TRUE_SIDE, f=FALSE_SIDE)
    assert listed(found) == expected


def test_an_error_rate_with_if() -> None:
    errors, invocations = series("errors", [1, 0, None, 3]), series("invocations", [4, 0, 2, 6])
    found, _ = compute("IF(invocations > 0, 100 * errors / invocations, 0)", errors=errors, invocations=invocations)
    assert listed(found) == [25, 0, 0, 50, None]


def test_arithmetic_counts_a_missing_value_as_0_and_drops_a_division_by_zero() -> None:
    a, b = series("a", [1, 2, None, 4]), series("b", [10, None, 30, 0])
    assert listed(compute("a + b", a=a, b=b)[0]) == [11, 2, 30, 4, None]
    found, run = compute("a / b", a=a, b=b)
    assert listed(found) == [0.1, None, 0, None, None]
    assert run.dropped


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2 + 3 * a", [5, 8, 11, None, None]),
        ("(2 + 3) * a", [5, 10, 15, None, None]),
        ("-a ^ 2", [-1, -4, -9, None, None]),
        ("2 ^ 3 ^ a", [8, 512, 2**27, None, None]),  # right to left: 2 ^ (3 ^ a)
        ("a - a - a", [-1, -2, -3, None, None]),
        ("10 / a / 2", [5, 2.5, 10 / 3 / 2, None, None]),
        ("a * 2 > 3", [0, 1, 1, None, None]),
        ("a - MIN(a)", [0, 1, 2, None, None]),
        ("MAX(a) / a", [3, 1.5, 1, None, None]),
        ("a / PERIOD(a)", [1 / 60, 2 / 60, 3 / 60, None, None]),
        ("a - AVG(a) + SUM(a) * 0 + DATAPOINT_COUNT(a)", [2, 3, 4, None, None]),
        ("a / STDDEV(a)", [1, 2, 3, None, None]),
    ],
)
def test_precedence_and_functions_that_give_a_number(text: str, expected: list[float | None]) -> None:
    found, _ = compute(text, a=series("a", [1, 2, 3]))
    assert listed(found) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ABS(a)", [1.5, 2, 0, None, 9]),
        ("CEIL(a)", [-1, 2, 0, None, 9]),
        ("FLOOR(a)", [-2, 2, 0, None, 9]),
        ("SQRT(a)", [None, math.sqrt(2), 0, None, 3]),
        ("LOG(a)", [None, math.log(2), None, None, math.log(9)]),
        ("LOG10(a)", [None, math.log10(2), None, None, math.log10(9)]),
        ("DIFF(a)", [None, 3.5, -2, None, 9]),
        ("DIFF_TIME(a)", [None, 60, 60, None, 120]),
        ("RATE(a)", [None, 3.5 / 60, -2 / 60, None, 9 / 120]),
        ("RUNNING_SUM(a)", [-1.5, 0.5, 0.5, None, 9.5]),
    ],
)
def test_functions_over_each_value(text: str, expected: list[float | None]) -> None:
    found, _ = compute(text, a=series("a", [-1.5, 2, 0, None, 9]))
    assert listed(found) == pytest.approx(expected)


def test_values_are_ieee_doubles_until_the_result_drops_what_is_not_finite() -> None:
    a = series("a", [2, 0, -3])
    found, run = compute("a / 0", a=a)
    assert listed(found) == [None] * 5 and run.dropped
    # 2/0 is +Infinity, 0/0 NaN, -3/0 -Infinity: compared, then chosen away, nothing is dropped.
    found, run = compute("IF(a / 0 > 5, 1, 0) + (a / 0 < 0) * 10", a=a)
    assert listed(found) == [1, 0, 10, None, None] and not run.dropped


def test_log_of_zero_and_sqrt_of_a_negative_are_dropped_and_noted() -> None:
    found, run = compute("LOG(a) + SQRT(a)", a=series("a", [-1, 0, 4]))
    assert listed(found) == [None, None, math.log(4) + 2, None, None]
    assert run.dropped


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FILL(a, 0)", [0, 5, 0, 11, 0]),
        ("FILL(a, -2.5)", [-2.5, 5, -2.5, 11, -2.5]),
        ("FILL(a, REPEAT)", [None, 5, 5, 11, 11]),
        ("FILL(a, LINEAR)", [None, 5, 8, 11, None]),
        ("FILL(a, b)", [7, 5, None, 11, 7]),
        ("FILL(a, MIN(a))", [5, 5, 5, 11, 5]),
    ],
)
def test_fill_fills_the_missing_periods_of_the_queried_range(text: str, expected: list[float | None]) -> None:
    found, _ = compute(text, a=series("a", [None, 5, None, 11]), b=series("b", [7, 7, None, 7, 7]))
    assert listed(found) == expected


def test_metrics_and_functions_over_arrays() -> None:
    inputs = {
        "errors4xx": series("4xx", [1, 2]),
        "errors5xx": series("5xx", [10, None, 30]),
        "requests": series("requests", [100, 100, 100]),
    }
    found, _ = compute("SUM(METRICS())", **inputs)
    assert listed(found) == [111, 102, 130, None, None]
    found, _ = compute('SUM(METRICS("errors")) / SUM(METRICS("requests")) * 100', **inputs)
    assert listed(found) == pytest.approx([11, 2, 30, None, None])
    found, _ = compute('SUM([METRICS("4xx"), METRICS("5xx")])', **inputs)
    assert listed(found) == [11, 2, 30, None, None]
    # AVG of an array counts a missing value as 0: an average over every series.
    assert listed(compute("AVG([errors4xx, errors5xx])", **inputs)[0]) == [5.5, 1, 15, None, None]
    assert listed(compute("MAX([errors4xx, errors5xx])", **inputs)[0]) == [10, 2, 30, None, None]
    assert listed(compute("MIN(METRICS())", **inputs)[0]) == [1, 2, 30, None, None]
    assert listed(compute("DATAPOINT_COUNT(METRICS())", **inputs)[0]) == [3, 2, 2, None, None]
    assert listed(compute("requests / METRIC_COUNT(METRICS())", **inputs)[0]) == pytest.approx([100 / 3] * 3 + [None, None])

    array, _ = compute("METRICS() / 100", **inputs)
    assert isinstance(array, tuple)
    assert [s.label for s in array] == ["4xx", "5xx", "requests"]
    assert [s.points[STAMPS[0]] for s in array] == [0.01, 0.1, 1]
    negated, _ = compute("SUM(-[errors4xx, requests])", **inputs)
    assert listed(negated) == [-101, -102, -100, None, None]
    filled, _ = compute("FILL(METRICS(), 0)", **inputs)
    assert isinstance(filled, tuple) and all(len(s.points) == 5 for s in filled)


def test_sort_slice_first_last_remove_empty() -> None:
    inputs = {"low": series("low", [1, 1]), "high": series("high", [9, 9]), "mid": series("mid", [5]), "none": series("none", [])}

    def labels(text: str) -> list[str]:
        found, _ = compute(text, **inputs)
        assert isinstance(found, tuple)
        return [s.label for s in found]

    assert labels("SORT(METRICS(), AVG, DESC)") == ["high", "mid", "low", "none"]
    assert labels("SORT(METRICS(), SUM, ASC)") == ["low", "mid", "high", "none"]
    assert labels("SORT(METRICS(), MAX, DESC, 2)") == ["high", "mid"]
    assert labels("SLICE(SORT(METRICS(), AVG, ASC), 1)") == ["mid", "high", "none"]
    assert labels("SLICE(SORT(METRICS(), AVG, ASC), 0, 2)") == ["low", "mid"]
    assert labels("REMOVE_EMPTY(METRICS())") == ["low", "high", "mid"]
    first, _ = compute("IF(FIRST(SORT(METRICS(), AVG, DESC)) > 5, 1, 0)", **inputs)
    assert listed(first) == [1, 1, None, None, None]
    assert listed(compute("LAST(REMOVE_EMPTY(METRICS()))", **inputs)[0]) == [5, None, None, None, None]


def test_series_made_from_the_time_range() -> None:
    found, _ = compute("TIME_SERIES(10)", a=series("a", []))
    assert listed(found) == [10] * 5
    found, _ = compute("TIME_SERIES(MAX(a)) - a", a=series("a", [1, 4]))
    assert listed(found) == [3, 0, 4, 4, 4]
    # T0 is 2023-11-14T22:14:00Z, a Tuesday.
    a = series("a", [1])
    assert listed(compute("MINUTE(a)", a=a)[0]) == [14, 15, 16, 17, 18]
    assert listed(compute("HOUR(a) + DAY(a) * 100", a=a)[0]) == [222] * 5
    assert listed(compute("DATE(a) + MONTH(a) * 100 + YEAR(a) * 10000", a=a)[0]) == [20231114] * 5
    assert listed(compute("EPOCH(a)", a=a)[0]) == [ts // 1000 for ts in STAMPS]


@pytest.mark.parametrize("function", ["SEARCH", "INSIGHT_RULE_METRIC", "SERVICE_QUOTA", "LAMBDA", "DB_PERF_INSIGHTS"])
def test_functions_that_need_aws_are_refused_by_name(function: str) -> None:
    with pytest.raises(MathError, match=f"The function {function} is not computed locally"):
        parse(f'{function}(m1, "x")')


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('SELECT AVG(CPUUtilization) FROM "AWS/EC2"', "Metrics Insights"),
        ("FOO(m1)", "Unrecognized function FOO"),
        ("m1 + ASCENDING", "Unrecognized keyword ASCENDING"),
        ("sum(m1)", "is not a function"),
        ("Errors + 1", "neither a query id"),
        ("m1 +", "ends too soon"),
        ("(m1 + 1", "ends too soon"),
        ("m1 = 2", "Unexpected character '='"),
        ("m1 m2", "Unexpected token 'm2'"),
        ("METRICS(m1)", "METRICS takes no argument or one string"),
        ("   ", "empty"),
    ],
)
def test_what_is_not_metric_math_is_refused_when_parsed(text: str, message: str) -> None:
    with pytest.raises(MathError, match=message):
        parse(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("AVG(m1)", "computes a number"),
        ("FILL(m1, ASC)", "FILL fills with"),
        ("SORT(METRICS(), COUNT, ASC)", "Unrecognized keyword COUNT"),
        ("SORT(METRICS(), AVG, UP)", "Unrecognized keyword UP"),
        ("SORT(m1, AVG, ASC)", "SORT takes an array of time series, not a time series"),
        ("METRICS() + METRICS()", "does not combine two arrays"),
        ("IF(METRICS(), 1, 0)", "IF takes numbers and time series"),
        ("FIRST(m1)", "FIRST takes an array"),
        ("ABS(1, 2)", "ABS takes 1 argument, not 2"),
        ('m1 + "x"', "does not take a string"),
        ("PERIOD(m1 * 2)", "PERIOD takes a metric"),
        ('SUM(METRICS("nothing"))', "SUM of an array with no time series"),
        ("SLICE(METRICS(), 1/0)", "SLICE takes a finite number here, not inf"),
        ("SLICE(METRICS(), 0, 0/0)", "SLICE takes a finite number here, not nan"),
        ("SLICE(METRICS(), 1e400)", "SLICE takes a finite number here, not inf"),
        ("SORT(METRICS(), SUM, DESC, -1/0)", "SORT takes a finite number here, not -inf"),
        ("SORT(METRICS(), SUM, DESC, 0/0)", "SORT takes a finite number here, not nan"),
    ],
)
def test_what_does_not_compute_is_a_math_error(text: str, message: str) -> None:
    with pytest.raises(MathError, match=message):
        compute(text, m1=series("m1", [1, 2]))


def test_ids_are_the_queries_an_expression_names() -> None:
    assert parse("IF(invocations > 0, 100 * errors / invocations, 0)").ids == {"invocations", "errors"}
    assert parse('SUM(METRICS("x")) + e1').ids == {"e1"}


@pytest.mark.parametrize(
    "text",
    [
        "(" * (MAX_DEPTH + 1) + "m1" + ")" * (MAX_DEPTH + 1),
        "-" * 1000 + "m1",
        "ABS(" * 500 + "m1" + ")" * 500,
        "[" * 500 + "m1" + "]" * 500,
        "(m1 + " * (MAX_DEPTH + 1) + "m1" + ")" * (MAX_DEPTH + 1),
    ],
)
def test_deep_nesting_is_refused_without_exhausting_the_stack(text: str) -> None:
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(800)  # parsing MAX_DEPTH levels must fit well inside a small stack
    try:
        with pytest.raises(MathError, match="nests more than"):
            parse(text)
    finally:
        sys.setrecursionlimit(limit)


def test_an_expression_at_the_depth_limit_computes() -> None:
    depth = MAX_DEPTH // 2
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(800)
    try:
        text = "(" * depth + "m1" + ")" * depth + " + " + "ABS(" * (MAX_DEPTH - 2) + "m1" + ")" * (MAX_DEPTH - 2)
        found, _ = compute(text, m1=series("m1", [1]))
    finally:
        sys.setrecursionlimit(limit)
    assert listed(found) == [2, None, None, None, None]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+".join(f"m{i % 3}" for i in range(300)), 300),  # a hundred metrics each, summed
        (" AND ".join(["m1"] * 300), 1),
        ("m1 * 2 + " * 300 + "0", 600),
        ("m1 - m1 - " * 200 + "m1", -399),  # left to right: ((m1 - m1) - m1) ...
        ("TIME_SERIES(2) ^ 1 ^ " * 150 + "0", 2),  # right to left: 2 ^ (1 ^ (2 ^ ... (1 ^ 0))) = 2 ^ 1
        ("m1 ^ -" * 300 + "m1", 1),
        ("-m1 ^ 2 * 3 - 2 ^ -m1 ^ 0", -3 - 0.5),  # -(1 ^ 2) * 3 - 2 ^ -(1 ^ 0)
    ],
)
def test_a_long_chain_of_operators_is_no_nesting(text: str, expected: float) -> None:
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(800)
    try:
        found, _ = compute(text, m0=series("m0", [1]), m1=series("m1", [1]), m2=series("m2", [1]))
    finally:
        sys.setrecursionlimit(limit)
    assert listed(found)[0] == pytest.approx(expected)
