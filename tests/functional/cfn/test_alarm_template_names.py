"""An AWS::CloudWatch::Alarm's AlarmName as CloudFormation reads it: a number is the name of its digits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sluiceway.cfn.deployer import Deployment
from sluiceway.cfn.errors import TemplateError

TEMPLATE = """
Resources:
  Alarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: NAME
      Namespace: Sluiceway/Test
      MetricName: Lag
      Statistic: Maximum
      Period: 60
      EvaluationPeriods: 1
      Threshold: 10
      ComparisonOperator: GreaterThanThreshold
Outputs:
  Name:
    Value: !Ref Alarm
"""


def test_a_numeric_alarm_name_is_the_name_of_its_digits(
    aws: Callable[..., Any], app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    cw = aws("cloudwatch")
    assert make_stack(app_dir(TEMPLATE.replace("NAME", "67890")), "numeric-alarm").outputs["Name"] == "67890"
    assert [a["AlarmName"] for a in cw.describe_alarms(AlarmNames=["67890"])["MetricAlarms"]] == ["67890"]
    cw.close()


def test_an_alarm_name_that_is_not_text_fails_the_resource(app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]) -> None:
    with pytest.raises(TemplateError, match=r"Resources\.Alarm\.Properties\.AlarmName: must be a string, not list"):
        make_stack(app_dir(TEMPLATE.replace("NAME", "[a]")), "listed-alarm")
