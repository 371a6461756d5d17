"""CloudWatch's metric math functions, over the values of ``_cw_math_values``.

Each follows the table of "Metric math syntax and functions" (CloudWatch User Guide): the argument
types it takes (S, TS, TS[]), what it returns, and how it treats a missing value. Where the guide
is silent the choice is said beside the code. :data:`FUNCTIONS` maps a name to its implementation;
:data:`NOT_LOCAL` names the functions that need AWS (search, quotas, other services).

Pure.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Final

from ._cw_math_values import Keyword, MathError, Run, Text, TimeSeries, Value, describe, pointwise

__all__ = ["FUNCTIONS", "NOT_LOCAL", "safe_log", "safe_log10", "safe_sqrt"]

Function = Callable[[Run, list[Value]], Value]

NOT_LOCAL: Final = frozenset({"SEARCH", "INSIGHT_RULE_METRIC", "SERVICE_QUOTA", "LAMBDA", "DB_PERF_INSIGHTS", "SELECT"})
"""Functions that read what only AWS has; an expression using one is refused with its name.
(``ANOMALY_DETECTION_BAND`` is not a function of this table: ``_cw_queries`` computes it, as a whole
expression, from the metric's history.)"""


# As Java's Math computes them: the logarithm of 0 is minus infinity, of a negative number not a number.
def safe_log(x: float) -> float:
    return math.log(x) if x > 0 else -math.inf if x == 0 else math.nan


def safe_log10(x: float) -> float:
    return math.log10(x) if x > 0 else -math.inf if x == 0 else math.nan


def safe_sqrt(x: float) -> float:
    return math.sqrt(x) if x >= 0 else math.nan


def _arity(name: str, args: list[Value], least: int, most: int) -> None:
    if not least <= len(args) <= most:
        wanted = f"{least} argument" + ("" if least == 1 else "s") if least == most else f"{least} to {most} arguments"
        raise MathError(f"{name} takes {wanted}, not {len(args)}")


def _series(name: str, value: Value) -> TimeSeries:
    if not isinstance(value, TimeSeries):
        raise MathError(f"{name} takes a time series, not {describe(value)}")
    return value


def _array(name: str, value: Value) -> tuple[TimeSeries, ...]:
    if not isinstance(value, tuple):
        raise MathError(f"{name} takes an array of time series, not {describe(value)}")
    return value


def _number(name: str, value: Value) -> float:
    if not isinstance(value, float):
        raise MathError(f"{name} takes a number here, not {describe(value)}")
    return value


def _index(name: str, value: Value) -> int:
    """A number that counts or indexes series (SLICE's bounds, SORT's limit): an infinity or NaN
    (``1/0`` computes one) indexes nothing."""
    number = _number(name, value)
    if not math.isfinite(number):
        raise MathError(f"{name} takes a finite number here, not {number}")
    return int(number)


def _each(name: str, function: Callable[[float], float]) -> Function:
    def apply(run: Run, args: list[Value]) -> Value:
        _arity(name, args, 1, 1)
        return pointwise(run, name, args[0], function)

    return apply


def _ceil(x: float) -> float:
    return float(math.ceil(x)) if math.isfinite(x) else x


def _floor(x: float) -> float:
    return float(math.floor(x)) if math.isfinite(x) else x


# -- aggregates: of a series, a number; of an array, a series ---------------------------------------


def _stddev(values: Sequence[float]) -> float:
    # The guide does not say which: the sample standard deviation (n - 1), 0 for a single value.
    if len(values) < 2:
        return 0.0
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


# Plain sums (not math.fsum): an infinity among the values gives an infinity or NaN, never an exception.
_REDUCERS: Final[dict[str, Callable[[Sequence[float]], float]]] = {
    "AVG": lambda values: sum(values) / len(values),
    "MAX": max,
    "MIN": min,
    "SUM": sum,
    "STDDEV": _stddev,
}


def _over(name: str, series: TimeSeries) -> float:
    """The statistic of one series' values; not a number when it has none (a later step drops it)."""
    values = [series.points[ts] for ts in sorted(series.points)]
    return _REDUCERS[name](values) if values else math.nan


def _aggregate(name: str) -> Function:
    def apply(run: Run, args: list[Value]) -> Value:
        _arity(name, args, 1, 1)
        value = args[0]
        if isinstance(value, TimeSeries):
            return _over(name, value)
        array = _array(name, value)
        if not array:
            raise MathError(f"{name} of an array with no time series")
        stamps = sorted(set().union(*(s.points.keys() for s in array)))
        points: list[tuple[int, float]] = []
        for ts in stamps:
            # "Missing values are treated as 0" (the user guide, of AVG): an average over every series.
            zero_filled = name in ("AVG", "SUM")
            values = [s.points.get(ts, 0.0) for s in array] if zero_filled else [s.points[ts] for s in array if ts in s.points]
            points.append((ts, _REDUCERS[name](values)))
        return TimeSeries(array[0].label, dict(points), array[0].period_s)

    return apply


def _datapoint_count(run: Run, args: list[Value]) -> Value:
    _arity("DATAPOINT_COUNT", args, 1, 1)
    value = args[0]
    if isinstance(value, TimeSeries):
        return float(len(value.points))
    array = _array("DATAPOINT_COUNT", value)
    if not array:
        raise MathError("DATAPOINT_COUNT of an array with no time series")
    stamps = sorted(set().union(*(s.points.keys() for s in array)))
    counts = {ts: float(sum(1 for s in array if ts in s.points)) for ts in stamps}
    return TimeSeries(array[0].label, counts, array[0].period_s)


def _metric_count(run: Run, args: list[Value]) -> Value:
    _arity("METRIC_COUNT", args, 1, 1)
    return float(len(_array("METRIC_COUNT", args[0])))


# -- along a series ---------------------------------------------------------------------------------


def _along(name: str, step: Callable[[int, float, int, float], float]) -> Function:
    """A series of ``step(previous ts, previous value, ts, value)`` from each value after the first."""

    def one(run: Run, series: TimeSeries) -> TimeSeries:
        ordered = sorted(series.points.items())
        pairs = ((ts, step(pts, pv, ts, v)) for (pts, pv), (ts, v) in zip(ordered, ordered[1:], strict=False))
        return series.with_points(dict(pairs))

    def apply(run: Run, args: list[Value]) -> Value:
        _arity(name, args, 1, 1)
        value = args[0]
        if isinstance(value, tuple):
            return tuple(one(run, s) for s in value)
        return one(run, _series(name, value))

    return apply


def _rate(pts: int, pv: float, ts: int, v: float) -> float:
    return (v - pv) / ((ts - pts) / 1000)


def _running_sum(run: Run, args: list[Value]) -> Value:
    _arity("RUNNING_SUM", args, 1, 1)

    def one(series: TimeSeries) -> TimeSeries:
        total, points = 0.0, []
        for ts, value in sorted(series.points.items()):
            total += value
            points.append((ts, total))
        return series.with_points(dict(points))

    value = args[0]
    if isinstance(value, tuple):
        return tuple(one(s) for s in value)
    return one(_series("RUNNING_SUM", value))


# -- FILL -------------------------------------------------------------------------------------------


def _fill(run: Run, args: list[Value]) -> Value:
    _arity("FILL", args, 2, 2)
    target, filler = args
    if isinstance(filler, tuple | Text) or (isinstance(filler, Keyword) and filler.word not in ("REPEAT", "LINEAR")):
        raise MathError(f"FILL fills with a number, a time series, REPEAT or LINEAR, not {describe(filler)}")
    if isinstance(target, tuple):
        return tuple(_fill_one(run, s, filler) for s in target)
    return _fill_one(run, _series("FILL", target), filler)


def _fill_one(run: Run, series: TimeSeries, filler: Value) -> TimeSeries:
    points = dict(series.points)
    stamps = sorted(points)
    for ts in run.grid(series.period_s):
        if ts in points:
            continue
        if isinstance(filler, float):
            points[ts] = filler
        elif isinstance(filler, TimeSeries):
            if ts in filler.points:
                points[ts] = filler.points[ts]
        elif isinstance(filler, Keyword):
            after = bisect.bisect_right(stamps, ts)
            # A gap before the first value or (for LINEAR) after the last has nothing to fill from.
            if after == 0:
                continue
            before_ts = stamps[after - 1]
            if filler.word == "REPEAT":
                points[ts] = series.points[before_ts]
            elif after < len(stamps):
                after_ts = stamps[after]
                low, high = series.points[before_ts], series.points[after_ts]
                points[ts] = low + (high - low) * (ts - before_ts) / (after_ts - before_ts)
    return series.with_points(dict(sorted(points.items())))


# -- IF ---------------------------------------------------------------------------------------------


def _if(run: Run, args: list[Value]) -> Value:
    _arity("IF", args, 2, 3)
    condition, when_true = args[0], args[1]
    when_false: Value | None = args[2] if len(args) == 3 else None
    for value in args:
        if not isinstance(value, float | TimeSeries):
            raise MathError(f"IF takes numbers and time series, not {describe(value)}")
    if isinstance(condition, float):
        chosen = when_true if condition != 0 else when_false
        if chosen is None:
            # IF(scalar, metric2) with a false scalar: an empty time series.
            template = when_true if isinstance(when_true, TimeSeries) else None
            return TimeSeries(template.label if template else "", {}, template.period_s if template else run.period_s)
        return chosen
    assert isinstance(condition, TimeSeries)
    points: list[tuple[int, float]] = []
    for ts, flag in sorted(condition.points.items()):
        if flag != 0:
            # A true condition where the series has no value gives 0 (the user guide's table).
            points.append((ts, when_true if isinstance(when_true, float) else when_true.points.get(ts, 0.0)))  # type: ignore[union-attr]
        elif isinstance(when_false, float):
            points.append((ts, when_false))
        elif isinstance(when_false, TimeSeries) and ts in when_false.points:
            points.append((ts, when_false.points[ts]))
    return condition.with_points(dict(points))


# -- arrays -----------------------------------------------------------------------------------------


def _first_last(name: str, index: int) -> Function:
    def apply(run: Run, args: list[Value]) -> Value:
        _arity(name, args, 1, 1)
        array = _array(name, args[0])
        if not array:
            raise MathError(f"{name} of an array with no time series")
        return array[index]

    return apply


def _remove_empty(run: Run, args: list[Value]) -> Value:
    _arity("REMOVE_EMPTY", args, 1, 1)
    return tuple(s for s in _array("REMOVE_EMPTY", args[0]) if s.points)


def _slice(run: Run, args: list[Value]) -> Value:
    _arity("SLICE", args, 2, 3)
    array = _array("SLICE", args[0])
    start = _index("SLICE", args[1])
    end = _index("SLICE", args[2]) if len(args) == 3 else len(array)
    return array[start:end]


def _sort(run: Run, args: list[Value]) -> Value:
    _arity("SORT", args, 3, 4)
    array = _array("SORT", args[0])
    by, order = args[1], args[2]
    if not isinstance(by, Keyword) or by.word not in ("AVG", "MIN", "MAX", "SUM"):
        raise MathError(f"SORT sorts by AVG, MIN, MAX or SUM, not {describe(by)}")
    if not isinstance(order, Keyword) or order.word not in ("ASC", "DESC"):
        raise MathError(f"SORT's order is ASC or DESC, not {describe(order)}")
    keyed = [(_over(by.word, s), index, s) for index, s in enumerate(array)]
    # A series without values has no statistic: it goes last either way.
    present = sorted((k for k in keyed if not math.isnan(k[0])), key=lambda k: k[0], reverse=order.word == "DESC")
    ordered = tuple(s for _, _, s in present) + tuple(s for value, _, s in keyed if math.isnan(value))
    if len(args) == 4:
        ordered = ordered[: max(0, _index("SORT", args[3]))]
    return ordered


# -- made from the time range ------------------------------------------------------------------------


def _time_series(run: Run, args: list[Value]) -> Value:
    _arity("TIME_SERIES", args, 1, 1)
    number = _number("TIME_SERIES", args[0])
    return TimeSeries("", dict((ts, number) for ts in run.grid(run.period_s)), run.period_s)


def _period(run: Run, args: list[Value]) -> Value:
    _arity("PERIOD", args, 1, 1)
    series = _series("PERIOD", args[0])
    if not series.from_metric:
        raise MathError("PERIOD takes a metric, not the result of an expression")
    return float(series.period_s)


def _calendar(name: str, part: Callable[[datetime], float]) -> Function:
    """A non-sparse series over the series' period and range whose values come from each timestamp (UTC)."""

    def apply(run: Run, args: list[Value]) -> Value:
        _arity(name, args, 1, 1)
        series = _series(name, args[0])
        stamps = run.grid(series.period_s)
        return series.with_points({ts: part(datetime.fromtimestamp(ts / 1000, UTC)) for ts in stamps})

    return apply


FUNCTIONS: Final[dict[str, Function]] = {
    "ABS": _each("ABS", abs),
    "CEIL": _each("CEIL", _ceil),
    "FLOOR": _each("FLOOR", _floor),
    "LOG": _each("LOG", safe_log),
    "LOG10": _each("LOG10", safe_log10),
    "SQRT": _each("SQRT", safe_sqrt),
    **{name: _aggregate(name) for name in _REDUCERS},
    "DATAPOINT_COUNT": _datapoint_count,
    "METRIC_COUNT": _metric_count,
    "DIFF": _along("DIFF", lambda pts, pv, ts, v: v - pv),
    "DIFF_TIME": _along("DIFF_TIME", lambda pts, pv, ts, v: (ts - pts) / 1000),
    "RATE": _along("RATE", _rate),
    "RUNNING_SUM": _running_sum,
    "FILL": _fill,
    "IF": _if,
    "FIRST": _first_last("FIRST", 0),
    "LAST": _first_last("LAST", -1),
    "REMOVE_EMPTY": _remove_empty,
    "SLICE": _slice,
    "SORT": _sort,
    "TIME_SERIES": _time_series,
    "PERIOD": _period,
    "MINUTE": _calendar("MINUTE", lambda t: float(t.minute)),
    "HOUR": _calendar("HOUR", lambda t: float(t.hour)),
    # Monday is 1, Sunday 7 (the user guide).
    "DAY": _calendar("DAY", lambda t: float(t.isoweekday())),
    "DATE": _calendar("DATE", lambda t: float(t.day)),
    "MONTH": _calendar("MONTH", lambda t: float(t.month)),
    "YEAR": _calendar("YEAR", lambda t: float(t.year)),
    "EPOCH": _calendar("EPOCH", lambda t: float(int(t.timestamp()))),
}
"""Every function computed locally, by name. ``METRICS`` is the parser's: it reads the request."""
