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

- The model is trained at the start of the hour ``t`` is in (its *training end*), on the values of
  the periods that *ended* by then within the :func:`window_ms` before it (two weeks; less for
  periods under 20 seconds, whose two weeks would hold too many values), less the excluded ranges.
  A period is never judged by a model that saw any of its own data: a spike does not widen its
  own band, whatever the period and however the history's periods are aligned. Over a range of
  more than :data:`MAX_TRAININGS` hours (a graph of two weeks) the model is trained every few
  hours or days instead (:func:`training_ends`), so a request trains at most that many models.
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

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

__all__ = [
    "DAILY_SPAN_MS",
    "DEFAULT_WIDTH",
    "MAX_TRAININGS",
    "MAX_TRAINING_VALUES",
    "MIN_RELATIVE_SPREAD",
    "MIN_SEASON_POINTS",
    "MIN_TRAINING_POINTS",
    "TRAINING_MS",
    "TRIMMED",
    "WEEKLY_SPAN_MS",
    "Band",
    "History",
    "Model",
    "Training",
    "bands",
    "time_zone",
    "train",
    "training_ends",
    "window_ms",
]

_HOUR_MS: Final = 3_600_000
_DAY_MS: Final = 24 * _HOUR_MS

TRAINING_MS: Final = 14 * _DAY_MS
"""How far back the model trains: two weeks, as AWS's."""
MAX_TRAINING_VALUES: Final = 60_480
"""The most periods a model trains on (a week of 10-second periods): the window of shorter periods
is cut to as many periods, which bounds the cost of a training and keeps a training's history
within the periods metric math may span (``FILL`` over two weeks of 10-second periods could not)."""
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
"""Trainings one request may need (two days of hours); beyond, the model is retrained less often."""
MIN_RELATIVE_SPREAD: Final = 0.01
"""The least spread, as a share of the expected value's size."""
TRIMMED: Final = 0.05
"""The share of the largest residuals the spread leaves out (as outliers)."""

_STEPS: Final = tuple(h * _HOUR_MS for h in (1, 2, 3, 4, 6, 8, 12))
"""How often a long range retrains, at least: whole divisions of a day, then whole days."""


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

    def key(self) -> tuple[tuple[tuple[int, int], ...], str]:
        """What tells two trainings apart (a cache's key)."""
        return tuple(self.excluded), str(self.zone)


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


def window_ms(period_s: int) -> int:
    """How far back before its training end a model of ``period_s`` periods trains."""
    return min(TRAINING_MS, MAX_TRAINING_VALUES * period_s * 1000)


def training_ends(timestamps: Sequence[int]) -> dict[int, int]:
    """The training end of each period (by its start, oldest first): the start of its hour, or over
    a range of more than :data:`MAX_TRAININGS` hours, of the step of hours (or days) that makes
    at most that many trainings. Always at or before the period's start."""
    if not timestamps:
        return {}
    first, last = timestamps[0], timestamps[-1]

    def count(step: int) -> int:
        return (last - last % step - (first - first % step)) // step + 1

    step = next((s for s in _STEPS if count(s) <= MAX_TRAININGS), 0)
    if not step:
        days = 1
        while count(days * _DAY_MS) > MAX_TRAININGS:
            days *= 2
        step = days * _DAY_MS
    return {ts: ts - ts % step for ts in timestamps}


@functools.lru_cache(maxsize=8192)
def _local_hour(utc_hour: int, zone: tzinfo) -> tuple[int, int]:
    """``(weekday, hour)`` in ``zone`` of the UTC hour (hours since the epoch): offsets change on hours."""
    moment = datetime.fromtimestamp(utc_hour * 3600, zone)
    return moment.weekday(), moment.hour


def _season(kind: str, ts_ms: int, zone: tzinfo) -> int:
    if kind == "flat":
        return 0
    weekday, hour = _local_hour(ts_ms // _HOUR_MS, zone)
    return hour if kind == "daily" else weekday * 24 + hour


@dataclass(frozen=True)
class _Fit:
    """Medians per season, and the robust spread of the values around their season's median."""

    kind: str
    """``flat``, ``daily`` (hour of day) or ``weekly`` (weekday and hour)."""
    medians: Mapping[int, float]
    spread: float


@dataclass(frozen=True)
class Model:
    """A trained model: the expected value and spread of any period."""

    zone: tzinfo
    chain: tuple[_Fit, ...]
    """The seasonal fit chosen, then the flat one for the seasons it has too few values of."""

    def band(self, ts_ms: int, width: float) -> Band:
        """The band of the period starting at ``ts_ms``."""
        for fit in self.chain:
            expected = fit.medians.get(_season(fit.kind, ts_ms, self.zone))
            if expected is not None:
                spread = max(fit.spread, MIN_RELATIVE_SPREAD * abs(expected))
                return Band(expected, expected - width * spread, expected + width * spread)
        raise AssertionError("the flat fit has an expected value for every period")


@dataclass(frozen=True)
class History:
    """A series' ``(period start ms, value)`` as arrays, oldest first: what trainings slice."""

    stamps: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]

    @classmethod
    def of(cls, points: Sequence[tuple[int, float]]) -> History:
        ordered = sorted(points)
        return cls(np.asarray([p[0] for p in ordered], dtype=np.int64), np.asarray([p[1] for p in ordered], dtype=np.float64))


def train(history: History, end_ms: int, period_s: int, training: Training) -> Model | None:
    """The model trained at ``end_ms``; None while there are too few values.

    ``history`` holds the metric's values in periods of ``period_s`` on any grid: only the periods
    that ended by ``end_ms`` are trained on.
    """
    period_ms = period_s * 1000
    low = int(np.searchsorted(history.stamps, end_ms - window_ms(period_s), side="left"))
    high = int(np.searchsorted(history.stamps, end_ms - period_ms, side="right"))
    when, vals = history.stamps[low:high], history.values[low:high]
    keep = np.isfinite(vals)
    for excluded_start, excluded_end in training.excluded:
        keep &= ~((when <= excluded_end) & (when + period_ms > excluded_start))
    when, vals = when[keep], vals[keep]
    if len(vals) < MIN_TRAINING_POINTS:
        return None
    span = int(when[-1] - when[0])
    kinds = ["flat"] + (["daily"] if span >= DAILY_SPAN_MS else []) + (["weekly"] if span >= WEEKLY_SPAN_MS else [])
    hours, at = np.unique(when // _HOUR_MS, return_inverse=True)
    local = [_local_hour(int(hour), training.zone) for hour in hours]
    fits = []
    for kind in kinds:
        season = np.asarray([0 if kind == "flat" else _season_of(kind, h) for h in local], dtype=np.int64)
        fits.append(_fit(kind, season[at], vals))
    # A seasonal fit only where it explains the history better than the flat one (and a finer
    # season than a coarser one); a period whose season has too few values falls back to flat.
    best = min(fits, key=lambda f: f.spread)
    chain = (best,) if best is fits[0] else (best, fits[0])
    return Model(training.zone, chain)


def _season_of(kind: str, local: tuple[int, int]) -> int:
    weekday, hour = local
    return hour if kind == "daily" else weekday * 24 + hour


def _fit(kind: str, keys: npt.NDArray[np.int64], vals: npt.NDArray[np.float64]) -> _Fit:
    order = np.lexsort((vals, keys))
    keys, vals = keys[order], vals[order]
    seasons, starts, counts = np.unique(keys, return_index=True, return_counts=True)
    medians = (vals[starts + (counts - 1) // 2] + vals[starts + counts // 2]) / 2
    kept = counts >= MIN_SEASON_POINTS
    found = {int(s): float(m) for s, m, k in zip(seasons, medians, kept, strict=True) if k}
    group = np.repeat(np.arange(len(seasons)), counts)
    in_kept = kept[group]
    residuals = vals[in_kept] - medians[group[in_kept]]
    return _Fit(kind, found, _trimmed_deviation(residuals) if len(residuals) else math.inf)


def _trimmed_deviation(residuals: npt.NDArray[np.float64]) -> float:
    smallest = np.argsort(np.abs(residuals), kind="stable")[: max(1, math.ceil(len(residuals) * (1 - TRIMMED)))]
    return float(np.std(residuals[smallest]))


def bands(
    history: Sequence[tuple[int, float]], timestamps: Iterable[int], period_s: int, width: float, training: Training
) -> dict[int, Band]:
    """The band of each period (by its start) that the model can band; the others are absent.

    ``history`` holds the metric's ``(period start ms, value)`` from the window before the
    earliest period's training end, oldest first. Trains each model of :func:`training_ends` once.
    """
    stamps = sorted(timestamps)
    ends = training_ends(stamps)
    series = History.of(history)
    models: dict[int, Model | None] = {}
    found: dict[int, Band] = {}
    for ts in stamps:
        end = ends[ts]
        if end not in models:
            models[end] = train(series, end, period_s, training)
        fitted = models[end]
        if fitted is not None:
            found[ts] = fitted.band(ts, width)
    return found
