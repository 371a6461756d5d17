"""The anomaly detection band, computed locally: an expected value and a band around it for each period.

What AWS does (CloudWatch User Guide, "Using CloudWatch anomaly detection"): a proprietary
machine-learning model, trained on up to two weeks of the metric's history and retrained
continually, accounts for the metric's trend and its hourly, daily and weekly seasonality; the
``ExcludedTimeRanges`` of the detector's configuration are left out of training, and its
``MetricTimezone`` places the seasons (daylight saving time included). ``ANOMALY_DETECTION_BAND(m1, k)``
is the model's expected value plus and minus ``k`` standard deviations (``k`` is 2 by default). A
model that has not trained yet has no band, and an alarm on it has no data to evaluate.

What this module does: an honest statistical model with the same inputs and the same shape of
output. **Its values differ from AWS's, as they must: AWS's model is not public.** For a period
starting at ``t``:

- The training data are the metric's values (one per period) in the 14 days before the hour ``t``
  is in, less the excluded ranges. The model is retrained each hour (the hour's own points are
  judged against the model trained before it, so a spike does not widen its own band).
- With fewer than :data:`MIN_TRAINING_POINTS` values there is no band: the model is still training.
- The expected value is the median of the training values of ``t``'s *season*: the same weekday
  and hour (in ``MetricTimezone``) when the history spans :data:`WEEKLY_SPAN_MS`, the same hour of
  day when it spans :data:`DAILY_SPAN_MS`, or all of them. A season is used only when it holds
  :data:`MIN_SEASON_POINTS` values and the seasonal model fits the history better than the flat
  one (its residuals are spread less); otherwise the flat model is used. Hourly seasonality
  (a pattern within each hour) is not modelled.
- The spread is the standard deviation of the residuals (the values less their season's median)
  with the largest :data:`TRIMMED` of them left out, so that a past spike does not widen every
  later band (AWS's model also filters outliers: ``OutlierFilteringStrength``). It is at least
  :data:`MIN_RELATIVE_SPREAD` of the expected value, so that a flat metric gets a narrow band
  rather than none.
- The band is ``expected - k * spread`` to ``expected + k * spread``.

Pure: the history, the periods and the configuration are passed in.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "DAILY_SPAN_MS",
    "DEFAULT_WIDTH",
    "MIN_RELATIVE_SPREAD",
    "MAX_TRAININGS",
    "MIN_SEASON_POINTS",
    "MIN_TRAINING_POINTS",
    "TRAINING_MS",
    "TRIMMED",
    "WEEKLY_SPAN_MS",
    "Band",
    "Training",
    "bands",
    "cutoff",
    "is_trained",
    "time_zone",
]

_HOUR_MS: Final = 3_600_000
_DAY_MS: Final = 24 * _HOUR_MS

TRAINING_MS: Final = 14 * _DAY_MS
"""How far back the model trains: two weeks, as AWS's."""
DEFAULT_WIDTH: Final = 2.0
"""``ANOMALY_DETECTION_BAND(m1)``: two standard deviations, as AWS's default."""
MIN_TRAINING_POINTS: Final = 10
"""Values the model needs before it has a band: fewer give a spread that is mostly noise."""
MIN_SEASON_POINTS: Final = 3
"""Values a season (an hour of day, or a weekday's hour) needs before its median is used."""
DAILY_SPAN_MS: Final = 2 * _DAY_MS
"""History that daily seasonality needs: each hour of day seen on two days."""
WEEKLY_SPAN_MS: Final = 13 * _DAY_MS
"""History that weekly seasonality needs: each weekday's hour seen in two weeks."""
MAX_TRAININGS: Final = 48
"""Trainings one request may need (two days of hours); beyond, the model is retrained daily."""
MIN_RELATIVE_SPREAD: Final = 0.01
"""The least spread, as a share of the expected value's size."""
TRIMMED: Final = 0.05
"""The share of the largest residuals the spread leaves out (as outliers)."""


@dataclass(frozen=True)
class Band:
    expected: float
    lower: float
    upper: float


@dataclass(frozen=True)
class Training:
    """What the model trains on besides the values."""

    excluded: Sequence[tuple[int, int]] = ()
    """``(start ms, end ms)`` ranges left out of training (the detector's ExcludedTimeRanges)."""
    zone: tzinfo = ZoneInfo("UTC")
    """Where the seasons are (the detector's MetricTimezone)."""


def time_zone(name: str | None) -> tzinfo:
    """The zone a MetricTimezone names (tz database names); UTC when none is given.

    Raises:
        ValueError: not a zone of the tz database.
    """
    if not name:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def cutoff(timestamp_ms: int, period_s: int) -> int:
    """Where the training data of the period starting at ``timestamp_ms`` ends: the hour it is in
    (the period's start, for periods of an hour or more)."""
    if period_s >= 3600:
        return timestamp_ms
    return timestamp_ms - timestamp_ms % _HOUR_MS


def is_trained(history: Sequence[tuple[int, float]], training: Training, now_ms: int) -> bool:
    """Whether a model trained now would have a band."""
    return len(_training_values(history, now_ms, training)) >= MIN_TRAINING_POINTS


def bands(
    history: Sequence[tuple[int, float]], timestamps: Iterable[int], period_s: int, width: float, training: Training
) -> dict[int, Band]:
    """The band of each period (by its start) that the model can band; the others are absent.

    ``history`` holds the metric's ``(period start ms, value)`` from 14 days before the earliest
    period's hour, oldest first. Periods sharing an hour share one training; over a range of
    more than :data:`MAX_TRAININGS` hours (a graph of two weeks), periods sharing a day do.
    """
    stamps = list(timestamps)
    ends = {ts: cutoff(ts, period_s) for ts in stamps}
    if len(set(ends.values())) > MAX_TRAININGS:
        ends = {ts: ts - ts % _DAY_MS for ts in stamps}
    found: dict[int, Band] = {}
    models: dict[int, Callable[[int], tuple[float, float]] | None] = {}
    for ts in stamps:
        end = ends[ts]
        if end not in models:
            models[end] = _train(_training_values(history, end, training), training.zone)
        model = models[end]
        if model is None:
            continue
        expected, spread = model(ts)
        found[ts] = Band(expected, expected - width * spread, expected + width * spread)
    return found


def _training_values(history: Sequence[tuple[int, float]], end_ms: int, training: Training) -> list[tuple[int, float]]:
    """The values in the two weeks before ``end_ms`` (``history`` is oldest first), less the excluded ranges."""
    first = bisect.bisect_left(history, (end_ms - TRAINING_MS, -math.inf))
    last = bisect.bisect_left(history, (end_ms, -math.inf))
    return [
        (ts, value)
        for ts, value in history[first:last]
        if math.isfinite(value) and not any(low <= ts <= high for low, high in training.excluded)
    ]


def _train(values: Sequence[tuple[int, float]], zone: tzinfo) -> Callable[[int], tuple[float, float]] | None:
    """A model ``period start -> (expected, spread)``; None while there are too few values."""
    if len(values) < MIN_TRAINING_POINTS:
        return None
    span = values[-1][0] - values[0][0]
    flat = _Seasonal(values, lambda ts: 0)
    candidates = [flat]
    if span >= DAILY_SPAN_MS:
        candidates.append(_Seasonal(values, lambda ts: _local(ts, zone).hour))
    if span >= WEEKLY_SPAN_MS:
        candidates.append(_Seasonal(values, lambda ts: _local(ts, zone).weekday() * 24 + _local(ts, zone).hour))
    # A seasonal model only where it explains the history better than the flat one (and a finer
    # season than a coarser one); a period whose season has too few values falls back to flat.
    best = min(candidates, key=lambda c: c.spread)
    chain = [best] if best is flat else [best, flat]

    def predict(ts: int) -> tuple[float, float]:
        for model in chain:
            expected = model.expected(ts)
            if expected is not None:
                return expected, max(model.spread, MIN_RELATIVE_SPREAD * abs(expected))
        raise AssertionError("the flat model has an expected value for every period")

    return predict


class _Seasonal:
    """Medians per season, and the robust spread of the values around their season's median."""

    def __init__(self, values: Sequence[tuple[int, float]], season: Callable[[int], int]) -> None:
        self.season = season
        groups: dict[int, list[float]] = {}
        for ts, value in values:
            groups.setdefault(season(ts), []).append(value)
        self.medians: Mapping[int, float] = {
            key: statistics.median(group) for key, group in groups.items() if len(group) >= MIN_SEASON_POINTS
        }
        residuals = [value - self.medians[key] for key, group in groups.items() if key in self.medians for value in group]
        self.spread = _trimmed_deviation(residuals) if residuals else math.inf

    def expected(self, ts: int) -> float | None:
        return self.medians.get(self.season(ts))


def _trimmed_deviation(residuals: Sequence[float]) -> float:
    kept = sorted(residuals, key=abs)[: max(1, math.ceil(len(residuals) * (1 - TRIMMED)))]
    mean = statistics.fmean(kept)
    return math.sqrt(statistics.fmean((r - mean) ** 2 for r in kept))


def _local(ts_ms: int, zone: tzinfo) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, zone)
