"""A metric math alarm in the local CloudWatch store whose returned query gives no single series:
no data, never an exception (PutMetricAlarm refuses such an alarm; one stored before it did stays)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sluiceway.backends.local._cw_values import Datum, MetricKey
from sluiceway.backends.local.datadir import open_data_dir
from sluiceway.clock import FakeClock
from sluiceway.runtime.alarms import AlarmEvaluator
from sluiceway.settings import Settings

START = datetime(2026, 5, 12, 1, 0, 30, tzinfo=UTC)


def stat(query_id: str, metric: str) -> dict[str, Any]:
    return {
        "Id": query_id,
        "MetricStat": {"Metric": {"Namespace": "Shop", "MetricName": metric}, "Period": 60, "Stat": "Sum"},
        "ReturnData": False,
    }


@pytest.mark.parametrize("expression", ["REMOVE_EMPTY(METRICS())", "METRICS()", "SORT(METRICS(), SUM, DESC)"])
def test_an_alarm_whose_expression_gives_an_array_has_no_data(tmp_path: Path, expression: str) -> None:
    clock = FakeClock(START)
    local = open_data_dir(Settings.load(data_dir=tmp_path / "data"), clock)
    cloudwatch = local.cloudwatch
    cloudwatch.put_alarm(
        {
            "AlarmName": "on-an-array",
            "EvaluationPeriods": 1,
            "Threshold": 1.0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "breaching",
            "Metrics": [stat("ma", "A"), stat("mb", "B"), {"Id": "e1", "Expression": expression, "Period": 60}],
        }
    )
    # Values within the threshold in the minute evaluated: read as the alarm's, they would keep it OK.
    minute_ms = int(START.timestamp() * 1000) // 60_000 * 60_000
    cloudwatch.put([Datum.of_value(MetricKey("Shop", "A"), minute_ms - 30_000, 0.0)])
    definition = cloudwatch.must_alarm("on-an-array").definition
    assert cloudwatch.alarm_datapoints(definition, minute_ms, 1) == []
    # Missing data, treated as breaching: the evaluation goes on and moves the alarm.
    assert AlarmEvaluator(cloudwatch, clock).turn() == 1
    assert cloudwatch.must_alarm("on-an-array").state == "ALARM"
    local.close()
