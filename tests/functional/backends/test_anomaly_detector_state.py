"""Anomaly detectors over the SQLite store on a FakeClock: the training state read from the data alone
(no write from a read), and a band alarm whose model is trained once an hour, not at every turn."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sluiceway.backends.local._cw_values import Datum, MetricKey
from sluiceway.backends.local.datadir import LocalDataDir, open_data_dir
from sluiceway.clock import FakeClock
from sluiceway.runtime.alarms import AlarmEvaluator
from sluiceway.settings import Settings

NOW = datetime(2026, 5, 14, 12, 30, 30, tzinfo=UTC)
LATENCY = MetricKey("Shop", "Latency", ())


def open_local(tmp_path: Path, clock: FakeClock) -> LocalDataDir:
    return open_data_dir(Settings.load(data_dir=tmp_path / "data"), clock)


def put_minutes(local: LocalDataDir, first: datetime, count: int) -> None:
    start = int(first.timestamp() * 1000)
    local.cloudwatch.put([Datum.of_value(LATENCY, start + i * 60_000, 10.0 + i % 2) for i in range(count)])


def test_the_training_state_is_read_from_the_data_and_writes_nothing(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    local = open_local(tmp_path, clock)
    detectors = local.cloudwatch.detectors
    record = detectors.ensure(LATENCY, "Average")
    assert detectors.state(record) == "PENDING_TRAINING"
    put_minutes(local, NOW - timedelta(days=13, hours=23), 12)
    connection = local.cloudwatch.db.connection()
    changes = connection.total_changes
    assert detectors.state(record) == "TRAINED"
    assert connection.total_changes == changes
    # Two days on, those minutes have left the two weeks: the model trained once, and lacks data now,
    # whether or not its state was read while it was trained.
    clock.advance(2 * 86400)
    assert detectors.state(record) == "TRAINED_INSUFFICIENT_DATA"
    assert detectors.state(detectors.ensure(LATENCY, "p90")) == "TRAINED_INSUFFICIENT_DATA"
    excluded = detectors.put(
        MetricKey("Shop", "Latency", ()), "Maximum", {"ExcludedTimeRanges": [{"StartTime": 0, "EndTime": int(NOW.timestamp() * 1000)}]}
    )
    assert detectors.state(excluded) == "PENDING_TRAINING"  # every value it had is excluded


def test_a_band_alarm_trains_its_model_once_an_hour(tmp_path: Path) -> None:
    clock = FakeClock(NOW)
    local = open_local(tmp_path, clock)
    put_minutes(local, NOW - timedelta(hours=3), 3 * 60 - 1)
    local.cloudwatch.put_alarm(
        {
            "AlarmName": "latency-band",
            "ComparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold",
            "EvaluationPeriods": 1,
            "ThresholdMetricId": "ad1",
            "Metrics": [
                {"Id": "m1", "MetricStat": {"Metric": {"Namespace": "Shop", "MetricName": "Latency"}, "Period": 60, "Stat": "Average"}},
                {"Id": "ad1", "Expression": "ANOMALY_DETECTION_BAND(m1, 2)"},
            ],
        }
    )
    evaluator = AlarmEvaluator(local.cloudwatch, clock)
    models = local.cloudwatch.detectors.models
    evaluator.turn()
    alarm = local.cloudwatch.alarm("latency-band")
    assert alarm is not None and alarm.state == "OK"
    for _ in range(12):  # two minutes of turns: the model trained at 12:00 serves them all
        clock.advance(10)
        evaluator.turn()
    assert models.trainings == 1
    clock.set(NOW.replace(minute=3) + timedelta(hours=1))  # periods of the next hour: its training
    evaluator.turn()
    assert models.trainings == 2
