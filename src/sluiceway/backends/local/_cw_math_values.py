"""The values metric math computes with: a number, a time series, an array of time series.

CloudWatch's "Metric math syntax and functions" names them S, TS and TS[]. A keyword (``REPEAT``,
``DESC``, ``AVG`` as an argument of ``SORT``) and a string (``METRICS("errors")``) are values only as
arguments. Arithmetic and comparisons pair series by timestamp over the timestamps either has, a
missing value counting as 0 (as the user guide says of both). Values are IEEE doubles throughout: a
division by zero is an infinity (0/0 not a number), ``LOG(0)`` minus infinity, as Java computes them;
such values are dropped from an expression's final result, and noted, so the query's answer can say
so as CloudWatch does (its ``ArithmeticError`` message names "NaN, -Infinite, +Infinite"). Dropping
only at the end lets ``IF(invocations > 0, errors / invocations, 0)`` choose 0 without a message.

Pure.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "Keyword",
    "MathError",
    "Run",
    "Text",
    "TimeSeries",
    "Value",
    "combine",
    "describe",
    "pointwise",
]


class MathError(ValueError):
    """An expression that cannot be computed (the message says why)."""


@dataclass(frozen=True)
class TimeSeries:
    """One series: its label, its values by timestamp (ms), and the period its timestamps step by."""

    label: str
    points: dict[int, float]
    period_s: int
    from_metric: bool = False
    """True for a metric query's own series (``PERIOD`` takes only those)."""

    def with_points(self, points: dict[int, float]) -> TimeSeries:
        return TimeSeries(self.label, points, self.period_s)


@dataclass(frozen=True)
class Keyword:
    """An uppercase word that is an argument, not a function: ``REPEAT``, ``LINEAR``, ``ASC``, ``SUM``..."""

    word: str


@dataclass(frozen=True)
class Text:
    """A quoted string (``METRICS("errors")``)."""

    text: str


Value = float | TimeSeries | tuple[TimeSeries, ...] | Keyword | Text


@dataclass
class Run:
    """What one evaluation needs besides its inputs, and what it noticed."""

    grid: Callable[[int], Sequence[int]]
    """The timestamps of a non-sparse series of a period: the query's range, stepped by the period."""
    period_s: int
    """The period of a series made from nothing (``TIME_SERIES(10)``)."""
    dropped: bool = field(default=False)
    """Whether a value that is not a finite number was dropped from the result."""

    def finite(self, series: TimeSeries) -> TimeSeries:
        """The series without its values that are not finite numbers; noting any as dropped."""
        kept = {ts: value for ts, value in series.points.items() if math.isfinite(value)}
        if len(kept) < len(series.points):
            self.dropped = True
            return TimeSeries(series.label, kept, series.period_s, series.from_metric)
        return series


def describe(value: Value) -> str:
    """How an error message names a value's type (the user guide's S, TS, TS[])."""
    if isinstance(value, TimeSeries):
        return "a time series"
    if isinstance(value, tuple):
        return "an array of time series"
    if isinstance(value, Keyword):
        return f"the keyword {value.word}"
    if isinstance(value, Text):
        return "a string"
    return "a number"


def pointwise(run: Run, name: str, value: Value, function: Callable[[float], float]) -> Value:
    """``function`` applied to each value of a number, a series, or each series of an array."""
    if isinstance(value, float):
        return function(value)
    if isinstance(value, TimeSeries):
        return value.with_points(dict((ts, function(v)) for ts, v in sorted(value.points.items())))
    if isinstance(value, tuple):
        return tuple(s.with_points(dict((ts, function(v)) for ts, v in sorted(s.points.items()))) for s in value)
    raise MathError(f"{name} does not take {describe(value)}")


def combine(run: Run, symbol: str, left: Value, right: Value, function: Callable[[float, float], float]) -> Value:
    """A binary operator over numbers, series and arrays (an array with a number or a series, each of its series)."""
    if isinstance(left, float) and isinstance(right, float):
        return function(left, right)
    if isinstance(left, tuple) and isinstance(right, tuple):
        raise MathError(f"The operator {symbol} does not combine two arrays of time series")
    if isinstance(left, tuple) and isinstance(right, float | TimeSeries):
        return tuple(_series_op(run, s, right, function) for s in left)
    if isinstance(right, tuple) and isinstance(left, float | TimeSeries):
        return tuple(_series_op(run, left, s, function) for s in right)
    if isinstance(left, float | TimeSeries) and isinstance(right, float | TimeSeries):
        return _series_op(run, left, right, function)
    odd = left if isinstance(left, Keyword | Text) else right
    raise MathError(f"The operator {symbol} does not take {describe(odd)}")


def _series_op(run: Run, left: float | TimeSeries, right: float | TimeSeries, function: Callable[[float, float], float]) -> TimeSeries:
    if isinstance(left, TimeSeries) and isinstance(right, TimeSeries):
        stamps = sorted(left.points.keys() | right.points.keys())
        pairs = ((ts, function(left.points.get(ts, 0.0), right.points.get(ts, 0.0))) for ts in stamps)
        return left.with_points(dict(pairs))
    if isinstance(left, TimeSeries):
        number = float(right)  # type: ignore[arg-type]
        return left.with_points(dict((ts, function(v, number)) for ts, v in sorted(left.points.items())))
    assert isinstance(right, TimeSeries)
    return right.with_points(dict((ts, function(left, v)) for ts, v in sorted(right.points.items())))
