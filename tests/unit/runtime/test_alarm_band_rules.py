"""Anomaly detection alarms: each point compared with its period's band, reasons in CloudWatch's words."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sluiceway.runtime._alarm_rules import Point, Rule, evaluate

T0 = int(datetime(2026, 5, 12, 1, 2, tzinfo=UTC).timestamp() * 1000)


def rule(comparison: str, **extra: object) -> Rule:
    definition = {"ComparisonOperator": comparison, "EvaluationPeriods": 1, "ThresholdMetricId": "ad1", "Period": 60, **extra}
    return Rule.from_definition(definition)


@pytest.mark.parametrize(
    ("comparison", "value", "state"),
    [
        ("LessThanLowerOrGreaterThanUpperThreshold", 10.0, "OK"),
        ("LessThanLowerOrGreaterThanUpperThreshold", 100.0, "ALARM"),
        ("LessThanLowerOrGreaterThanUpperThreshold", 0.0, "ALARM"),
        ("LessThanLowerOrGreaterThanUpperThreshold", 12.0, "OK"),  # on the bound: not outside it
        ("GreaterThanUpperThreshold", 100.0, "ALARM"),
        ("GreaterThanUpperThreshold", 0.0, "OK"),
        ("LessThanLowerThreshold", 0.0, "ALARM"),
        ("LessThanLowerThreshold", 100.0, "OK"),
    ],
)
def test_each_band_comparison(comparison: str, value: float, state: str) -> None:
    verdict = evaluate(rule(comparison), [Point(T0, value, None, 8.0, 12.0)], end_ms=T0 + 60_000, now_ms=T0 + 90_000)
    assert verdict.state == state


def test_the_reasons_name_the_bounds_as_cloudwatch_does() -> None:
    outside = rule("LessThanLowerOrGreaterThanUpperThreshold")
    alarm = evaluate(outside, [Point(T0, 0.0, None, 8.0, 12.0)], end_ms=T0 + 60_000, now_ms=T0 + 90_000)
    assert alarm.reason == (
        "Thresholds Crossed: 1 out of the last 1 datapoints [0.0 (12/05/26 01:02:00)] was less than the lower thresholds [8.0]"
        " or greater than the upper thresholds [12.0] (minimum 1 datapoint for OK -> ALARM transition)."
    )
    ok = evaluate(outside, [Point(T0, 10.0, None, 8.0, 12.0)], end_ms=T0 + 60_000, now_ms=T0 + 90_000)
    assert ok.reason == (
        "Thresholds Crossed: 1 out of the last 1 datapoints [10.0 (12/05/26 01:02:00)] was not less than the lower thresholds [8.0]"
        " or not greater than the upper thresholds [12.0] (minimum 1 datapoint for ALARM -> OK transition)."
    )
    above = evaluate(rule("GreaterThanUpperThreshold"), [Point(T0, 239.0, None, 8.0, 225.5)], end_ms=T0 + 60_000, now_ms=T0 + 90_000)
    assert above.reason.endswith("was greater than the upper thresholds [225.5] (minimum 1 datapoint for OK -> ALARM transition).")
    assert above.reason_data is not None
    data = json.loads(above.reason_data)
    assert "threshold" not in data and "recentLowerThresholds" not in data
    assert data["recentDatapoints"] == [239.0] and data["recentUpperThresholds"] == [225.5]
    assert data["evaluatedDatapoints"] == [{"timestamp": "2026-05-12T01:02:00.000+0000", "value": 239.0, "threshold": 225.5}]


def test_m_out_of_n_and_missing_data_apply_as_to_static_alarms() -> None:
    two_of_three = rule("GreaterThanUpperThreshold", EvaluationPeriods=3, DatapointsToAlarm=2)
    points = [Point(T0 + i * 60_000, v, None, 0.0, 5.0) for i, v in enumerate([9.0, 1.0, 9.0])]
    assert evaluate(two_of_three, points, end_ms=T0 + 180_000, now_ms=T0 + 200_000).state == "ALARM"
    assert evaluate(two_of_three, points[:2], end_ms=T0 + 180_000, now_ms=T0 + 200_000).state == "OK"
    breaching = rule("GreaterThanUpperThreshold", TreatMissingData="breaching")
    assert evaluate(breaching, [], end_ms=T0, now_ms=T0).state == "ALARM"
    assert evaluate(rule("GreaterThanUpperThreshold"), [], end_ms=T0, now_ms=T0).state == "INSUFFICIENT_DATA"


@pytest.mark.parametrize("treatment", ["missing", "breaching", "notBreaching", "ignore"])
def test_periods_with_data_but_no_band_keep_the_alarm_in_insufficient_data(treatment: str) -> None:
    # The model has not trained: the data is there, so it is not missing data (breaching or not).
    three = rule("GreaterThanUpperThreshold", EvaluationPeriods=3, TreatMissingData=treatment)
    verdict = evaluate(three, [], end_ms=T0 + 180_000, now_ms=T0 + 200_000, untrained=3)
    assert verdict.state == "INSUFFICIENT_DATA"
    assert verdict.reason == "Insufficient Data: 3 datapoints were unknown."
    # Once as many periods have their band as the alarm evaluates, the untrained ones play no part.
    banded = [Point(T0 + i * 60_000, 9.0, None, 0.0, 5.0) for i in range(3)]
    assert evaluate(three, banded, end_ms=T0 + 180_000, now_ms=T0 + 200_000, untrained=1).state == "ALARM"
