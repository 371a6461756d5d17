"""A template's anomaly detection alarm (``ThresholdMetricId`` over ``ANOMALY_DETECTION_BAND``) and its
``AWS::CloudWatch::AnomalyDetector``: made, the detector's configuration read back as the API spells
it, and the alarm evaluated on a fixed clock: ALARM on a spike, then OK."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sluiceway.cfn.deployer import Deployment
from sluiceway.cfn.errors import TemplateError
from sluiceway.runtime.alarms import AlarmEvaluator
from sluiceway.runtime.stack import Stack

T = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=30)
"""When the alarm is first evaluated: in the past, so that every data point put is too."""

# The shape CDK and AWS's documentation write: the band query first, with a Label, a period other
# than a minute, and the metric's AnomalyDetector with its Configuration.
TEMPLATE = """
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Detector:
    Type: AWS::CloudWatch::AnomalyDetector
    Properties:
      Namespace: CdkShop
      MetricName: CPUUtilization
      Stat: Average
      Configuration:
        MetricTimeZone: America/New_York
        ExcludedTimeRanges:
          - StartTime: "2026-01-01T00:00:00"
            EndTime: "2026-01-02T00:00:00"
  CpuAnomaly:
    Type: AWS::CloudWatch::Alarm
    Properties:
      ComparisonOperator: LessThanLowerOrGreaterThanUpperThreshold
      DatapointsToAlarm: 2
      EvaluationPeriods: 3
      ThresholdMetricId: expr_1
      Metrics:
        - Expression: ANOMALY_DETECTION_BAND(m0, 2)
          Id: expr_1
          Label: Anomaly Detection Band
          ReturnData: true
        - Id: m0
          MetricStat:
            Metric:
              MetricName: CPUUtilization
              Namespace: CdkShop
            Period: 300
            Stat: Average
          ReturnData: true
Outputs:
  AlarmName:
    Value: !Ref CpuAnomaly
  DetectorId:
    Value: !Ref Detector
"""


class At:
    """The stack's clock moved to a given time."""

    def __init__(self, clock: Any, at: datetime) -> None:
        self.clock, self.at = clock, at

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return float(self.clock.monotonic())


def cpu(values: list[tuple[datetime, float]]) -> list[dict[str, Any]]:
    return [{"MetricName": "CPUUtilization", "Value": value, "Timestamp": when} for when, value in values]


def test_a_template_band_alarm_alarms_on_a_spike_and_returns_to_ok(
    stack: Stack, aws: Callable[..., Any], app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    cw = aws("cloudwatch")
    history = [(T - timedelta(hours=6) + timedelta(minutes=5 * i, seconds=5), 10.0 + i % 2) for i in range(6 * 12 - 3)]
    cw.put_metric_data(Namespace="CdkShop", MetricData=cpu(history))
    outputs = make_stack(app_dir(TEMPLATE), "cdkband").outputs
    [detector] = cw.describe_anomaly_detectors(Namespace="CdkShop")["AnomalyDetectors"]
    assert detector["AnomalyDetectorId"] == outputs["DetectorId"]
    assert detector["Configuration"]["MetricTimezone"] == "America/New_York"
    [excluded] = detector["Configuration"]["ExcludedTimeRanges"]
    assert excluded["StartTime"] == datetime(2026, 1, 1, tzinfo=UTC)
    assert detector["StateValue"] == "TRAINED"
    name = outputs["AlarmName"]
    # The last three periods (of five minutes) spike.
    cw.put_metric_data(Namespace="CdkShop", MetricData=cpu([(T - timedelta(minutes=5 * k - 1), 100.0) for k in (3, 2, 1)]))
    AlarmEvaluator(stack.local.cloudwatch, At(stack.local.clock, T)).turn()
    [alarm] = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert alarm["StateValue"] == "ALARM"
    assert alarm["StateReason"].startswith("Thresholds Crossed: 3 out of the last 3 datapoints [100.0 (")
    # Fifteen minutes on, three calm periods.
    cw.put_metric_data(Namespace="CdkShop", MetricData=cpu([(T + timedelta(minutes=5 * k + 1), 10.5) for k in (0, 1, 2)]))
    AlarmEvaluator(stack.local.cloudwatch, At(stack.local.clock, T + timedelta(minutes=15))).turn()
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"] == "OK"


BAD = """
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Detector:
    Type: AWS::CloudWatch::AnomalyDetector
    Properties:
      Namespace: BadShop
      MetricName: Latency
      Stat: Average
      Configuration:
        ExcludedTimeRanges: %s
"""


@pytest.mark.parametrize(
    ("ranges", "message"),
    [
        (
            '[{StartTime: "2026-01-01T00:00:00"}]',
            "MissingParameter: The parameter Configuration.ExcludedTimeRanges.member.1.EndTime is required.",
        ),
        ('["x"]', "InvalidParameterValue: The value x for parameter Configuration.ExcludedTimeRanges.member.1 is invalid."),
        ('[{StartTime: "yesterday", EndTime: "today"}]', "InvalidParameterValue: The value yesterday for parameter"),
        ('{StartTime: "2026-01-01T00:00:00"}', "InvalidParameterValue: The value {"),
    ],
)
def test_a_template_detector_with_bad_excluded_ranges_fails_in_cloudwatch_words(
    stack: Stack, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment], ranges: str, message: str
) -> None:
    with pytest.raises(TemplateError) as failed:
        make_stack(app_dir(BAD % ranges), "badband")
    assert message in str(failed.value)
    assert "Error:" not in str(failed.value).replace("TemplateError", "")  # no Python exception's name
