"""A template's metric filter evaluated locally: a function's JSON log lines at level ERROR are
counted by an AWS::Logs::MetricFilter on its log group, and an alarm on that metric goes to ALARM."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sluiceway.backends.local._cw_metric_filter_feed import MetricFilterFeed
from sluiceway.cfn.deployer import Deployment
from sluiceway.cfn.errors import TemplateError
from sluiceway.runtime.alarms import AlarmEvaluator
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

Aws = Callable[..., Any]

TEMPLATE = """
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: index.handler
      Timeout: 10
      InlineCode: |
        import json
        def handler(event, context):
            print(json.dumps({"level": "ERROR" if event.get("fail") else "INFO", "latency": 120}))
            return {"ok": True}
  WorkerLogs:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Sub /aws/lambda/${Worker}
  WorkerErrors:
    Type: AWS::Logs::MetricFilter
    Properties:
      LogGroupName: !Ref WorkerLogs
      FilterPattern: '{ $.level = "ERROR" }'
      MetricTransformations:
        - MetricNamespace: Worker
          MetricName: Errors
          MetricValue: 1
          DefaultValue: 0
          Unit: Count
  WorkerErrorsAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: Worker
      MetricName: Errors
      Statistic: Sum
      Period: 60
      EvaluationPeriods: 1
      Threshold: 1
      ComparisonOperator: GreaterThanOrEqualToThreshold
      TreatMissingData: notBreaching
Outputs:
  AlarmName:
    Value: !Ref WorkerErrorsAlarm
  Function:
    Value: !Ref Worker
  Filter:
    Value: !Ref WorkerErrors
  Group:
    Value: !Ref WorkerLogs
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The stack without its own alarm evaluator: on the real clock it would move the alarm between
    the test's turns (the minute of the function's lines is not complete to it: no data, OK)."""
    settings = Settings.load(data_dir=tmp_path_factory.mktemp("metric-filter-cfn") / "data", workers=2, endpoint_port=free_port())
    built = build_stack(settings, app=None)
    evaluator, built.alarms = built.alarms, None
    built.start("metric filter template tests")
    try:
        yield built
    finally:
        built.close()
        if evaluator is not None:
            evaluator.close()


class MinuteAhead:
    """The stack's clock a minute on: the minute the function's lines went into is complete."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock

    def now(self) -> datetime:
        moved: datetime = self.clock.now() + timedelta(minutes=1)
        return moved

    def monotonic(self) -> float:
        return float(self.clock.monotonic())


def test_a_functions_error_lines_trip_the_alarm_on_its_metric_filter(
    stack: Stack, aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    outputs = make_stack(app_dir(TEMPLATE), "mf").outputs
    logs, cw, lam = aws("logs"), aws("cloudwatch"), aws("lambda")
    [described] = logs.describe_metric_filters(logGroupName=outputs["Group"])["metricFilters"]
    assert described["filterName"] == outputs["Filter"]
    assert outputs["Filter"].startswith("mf-WorkerErrors-")  # generated, as CloudFormation names it
    assert described["metricTransformations"] == [
        {"metricName": "Errors", "metricNamespace": "Worker", "metricValue": "1", "defaultValue": 0.0, "unit": "Count"}
    ]

    feed = MetricFilterFeed(stack.local.cloudwatch, stack.local.logs.path)
    evaluator = AlarmEvaluator(stack.local.cloudwatch, MinuteAhead(stack.local.clock), [feed])
    try:
        assert "FunctionError" not in lam.invoke(FunctionName=outputs["Function"], Payload=json.dumps({}).encode())
        evaluator.turn()
        # Lines, none at ERROR: no match, and the minute's DefaultValue (0) waits for the minute to
        # close on the store's clock; either way within the threshold.
        assert cw.describe_alarms(AlarmNames=[outputs["AlarmName"]])["MetricAlarms"][0]["StateValue"] == "OK"
        lam.invoke(FunctionName=outputs["Function"], Payload=json.dumps({"fail": True}).encode())
        assert evaluator.turn() == 1
        [alarm] = cw.describe_alarms(AlarmNames=[outputs["AlarmName"]])["MetricAlarms"]
        assert alarm["StateValue"] == "ALARM"
        assert feed.pull() == 0  # fed once
    finally:
        evaluator.close()

    # Out of the template: the filter is deleted with the stack's resource.
    make_stack(
        app_dir(
            TEMPLATE.replace("  WorkerErrors:\n", "  WorkerErrorsRenamed:\n").replace("!Ref WorkerErrors\n", "!Ref WorkerErrorsRenamed\n")
        ),
        "mf",
    )
    names = [f["filterName"] for f in logs.describe_metric_filters(logGroupName=outputs["Group"])["metricFilters"]]
    assert names and outputs["Filter"] not in names
    for client in (logs, cw, lam):
        client.close()


@pytest.mark.parametrize("missing", ["MetricValue", "MetricName", "MetricNamespace"])
def test_a_transformation_without_a_required_member_names_it(
    stack: Stack, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment], missing: str
) -> None:
    members = {"MetricNamespace": "Worker", "MetricName": "Errors", "MetricValue": "1"}
    del members[missing]
    template = (
        "Resources:\n  Logs:\n    Type: AWS::Logs::LogGroup\n  Errors:\n    Type: AWS::Logs::MetricFilter\n    Properties:\n"
        "      LogGroupName: !Ref Logs\n      FilterPattern: ERROR\n      MetricTransformations:\n        - "
        + "\n          ".join(f"{key}: {value}" for key, value in members.items())
        + "\n"
    )
    with pytest.raises(TemplateError, match=rf"Resources\.Errors\.Properties\.MetricTransformations\[0\]\.{missing}: required"):
        make_stack(app_dir(template), f"mf-missing-{missing.lower()}")
