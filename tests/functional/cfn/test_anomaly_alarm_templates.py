"""A template's anomaly detection alarm (``ThresholdMetricId`` over ``ANOMALY_DETECTION_BAND``) is made
and evaluated locally: it waits in INSUFFICIENT_DATA while its model trains, and created the metric's detector."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sluiceway.cfn.deployer import Deployment
from sluiceway.runtime.alarms import AlarmEvaluator
from sluiceway.runtime.stack import Stack

TEMPLATE = """
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  LatencyAnomaly:
    Type: AWS::CloudWatch::Alarm
    Properties:
      ComparisonOperator: LessThanLowerOrGreaterThanUpperThreshold
      EvaluationPeriods: 1
      ThresholdMetricId: ad1
      Metrics:
        - Id: m1
          MetricStat:
            Metric:
              Namespace: TemplateShop
              MetricName: Latency
            Period: 60
            Stat: Average
        - Id: ad1
          Expression: ANOMALY_DETECTION_BAND(m1, 2)
Outputs:
  AlarmName:
    Value: !Ref LatencyAnomaly
"""


def test_a_template_band_alarm_is_made_and_evaluated(
    stack: Stack, aws: Callable[..., Any], app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    name = make_stack(app_dir(TEMPLATE), "anomaly").outputs["AlarmName"]
    cw = aws("cloudwatch")
    [alarm] = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert alarm["ThresholdMetricId"] == "ad1" and "Threshold" not in alarm
    AlarmEvaluator(stack.local.cloudwatch, stack.local.clock).turn()
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"] == "INSUFFICIENT_DATA"
    [detector] = cw.describe_anomaly_detectors(Namespace="TemplateShop")["AnomalyDetectors"]
    assert (detector["MetricName"], detector["Stat"], detector["StateValue"]) == ("Latency", "Average", "PENDING_TRAINING")
