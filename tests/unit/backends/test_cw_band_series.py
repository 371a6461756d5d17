"""ANOMALY_DETECTION_BAND over the queries' history: a model is trained once per training end and
data version (not at every read), never on the data of the period it judges, and within the
periods metric math may span."""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from sluiceway.backends.local import _cw_anomaly_model as model
from sluiceway.backends.local._cw_math import MathError, TimeSeries
from sluiceway.backends.local._cw_model_cache import ModelCache
from sluiceway.backends.local._cw_queries import check_band_alarm, compute
from sluiceway.backends.local._cw_values import Bucket, MetricKey

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
NOW = int(datetime(2026, 5, 14, 10, 31, tzinfo=UTC).timestamp() * 1000)
KEY = MetricKey("Shop", "Latency", ())


class Points:
    """Data points in memory, gathered into periods as the SQLite store does; counts its reads."""

    def __init__(self) -> None:
        self.points: list[tuple[int, float, int]] = []
        self.reads = 0

    def put(self, ts: int, value: float) -> None:
        bisect.insort(self.points, (ts, value, len(self.points)))

    def buckets(self, key: MetricKey, start_ms: int, end_ms: int, period_s: int, *, unit: str | None = None) -> list[Bucket]:
        self.reads += 1
        found: dict[int, Bucket] = {}
        low = bisect.bisect_left(self.points, (start_ms, float("-inf"), -1))
        for ts, value, _ in self.points[low:]:
            if ts >= end_ms:
                break
            start = start_ms + (ts - start_ms) // (period_s * 1000) * period_s * 1000
            found.setdefault(start, Bucket(start)).add(1.0, value, value, value, [(value, 1.0)])
        return [found[s] for s in sorted(found)]


class Detectors:
    """The detectors' part a band reads: the default training, a cache, and the data's version."""

    def __init__(self, store: Points) -> None:
        self.store = store
        self.models = ModelCache()

    def training(self, metric: Mapping[str, Any], stat: str) -> model.Training:
        return model.Training()

    def data_version(self, keys: Sequence[MetricKey], start_ms: int, end_ms: int) -> tuple[int, int]:
        inside = [row for ts, _, row in self.store.points if start_ms <= ts < end_ms]
        return len(inside), max(inside, default=0)


def queries(period: int = 60) -> list[dict[str, Any]]:
    return [
        {"Id": "m1", "MetricStat": {"Metric": {"Namespace": "Shop", "MetricName": "Latency"}, "Period": period, "Stat": "Average"}},
        {"Id": "ad1", "Expression": "ANOMALY_DETECTION_BAND(m1, 2)"},
    ]


def seeded(days: float, step_ms: int = MINUTE) -> Points:
    store = Points()
    first = NOW - int(days * DAY)
    for ts in range(first - first % step_ms, NOW - MINUTE, step_ms):
        store.put(ts + 1000, 10.0 + (ts // step_ms) % 3)
    return store


def band(store: Points, detectors: Detectors | None, qs: list[dict[str, Any]], start: int, end: int, now: int) -> dict[int, float]:
    value = compute(store, qs, start, end, now_ms=now, detectors=detectors).values["ad1"]
    assert isinstance(value, tuple)
    lower: TimeSeries = value[0]
    return dict(lower.points)


def test_a_band_alarm_trains_once_an_hour_and_again_when_its_window_gets_data() -> None:
    store = seeded(3)
    detectors = Detectors(store)
    end = NOW - NOW % MINUTE
    first = band(store, detectors, queries(), end - 5 * MINUTE, end, NOW)
    assert first and detectors.models.trainings == 1
    reads = store.reads
    for minutes in range(1, 20):  # the evaluator's turns within the hour: no training, no history read
        later = end + minutes * MINUTE
        band(store, detectors, queries(), later - 5 * MINUTE, later, NOW + minutes * MINUTE)
    assert detectors.models.trainings == 1
    assert store.reads - reads == 19  # the range of each turn, not two weeks of history
    next_hour = end + HOUR
    band(store, detectors, queries(), next_hour - 5 * MINUTE, next_hour, NOW + HOUR)
    assert detectors.models.trainings == 2
    store.put(NOW - 2 * HOUR, 500.0)  # late data in the window: the model trains again
    band(store, detectors, queries(), next_hour - 5 * MINUTE, next_hour, NOW + HOUR)
    assert detectors.models.trainings == 3


def test_a_long_range_trains_a_bounded_number_of_models_on_one_history() -> None:
    store = seeded(15)
    for hours in (24, 47, 48, 49, 14 * 24):
        detectors = Detectors(store)
        store.reads = 0
        found = band(store, detectors, queries(), NOW - hours * HOUR, NOW, NOW)
        assert found
        assert detectors.models.trainings <= model.MAX_TRAININGS
        assert store.reads == 2  # the range, and the history of every training at once


@pytest.mark.parametrize("period", [300, 3600, 86400])
def test_changing_the_data_inside_a_period_never_changes_its_band(period: int) -> None:
    calm = seeded(16)
    spiky = seeded(16)
    judged = NOW - NOW % MINUTE - period * 1000  # the last whole period an alarm evaluated now judges
    for ts in range(judged, judged + period * 1000, MINUTE):
        spiky.put(ts + 2000, 1000.0)
    found = [band(store, None, queries(period), judged, judged + period * 1000, NOW) for store in (calm, spiky)]
    assert judged in found[0]
    assert found[0][judged] == found[1][judged]


def test_the_history_of_a_fill_over_ten_second_periods_stays_within_the_grid() -> None:
    store = seeded(1, step_ms=10_000)
    fill = [
        {**queries(10)[0], "ReturnData": False},
        {"Id": "e1", "Expression": "FILL(m1, 0)", "Period": 10},
        {"Id": "ad1", "Expression": "ANOMALY_DETECTION_BAND(e1, 2)"},
    ]
    assert band(store, None, fill, NOW - HOUR, NOW, NOW)
    check_band_alarm(fill, "ad1")  # PutMetricAlarm takes it: the evaluator can compute it


def test_an_alarm_whose_band_cannot_be_computed_is_refused_before_it_is_made() -> None:
    array = [
        {**queries()[0], "ReturnData": False},
        {"Id": "e1", "Expression": "[m1, m1 * 2]", "Period": 60},
        {"Id": "ad1", "Expression": "ANOMALY_DETECTION_BAND(e1)"},
    ]
    with pytest.raises(MathError, match="single time series"):
        check_band_alarm(array, "ad1")
