"""A template's CloudWatch alarm evaluated locally: a failing function trips its AWS/Lambda Errors alarm,
whose action is a topic with an SQS subscription; ``sluiceway alarms`` shows it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from sluiceway.backends.local.cloudwatch_feeds import metric_feeds
from sluiceway.cfn.deployer import Deployment
from sluiceway.cli.main import app as cli
from sluiceway.runtime.alarms import AlarmEvaluator, parse_emf
from sluiceway.runtime.stack import Stack

Aws = Callable[..., Any]

TEMPLATE = """
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Flaky:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: index.handler
      Timeout: 10
      InlineCode: |
        import json
        def handler(event, context):
            # An EMF line, as Powertools Metrics prints it: CloudWatch extracts the metric.
            print(json.dumps({"_aws": {"Timestamp": event["now_ms"], "CloudWatchMetrics": [
                {"Namespace": "Shop", "Dimensions": [["service"]], "Metrics": [{"Name": "Attempts", "Unit": "Count"}]}]},
                "service": "flaky", "Attempts": 1}))
            if event.get("fail"):
                raise ValueError("the flaky function failed")
            return {"ok": True}
  Alerts:
    Type: AWS::SNS::Topic
  AlertsInbox:
    Type: AWS::SQS::Queue
  AlertsToInbox:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Alerts
      Protocol: sqs
      Endpoint: !GetAtt AlertsInbox.Arn
      RawMessageDelivery: true
  FlakyErrors:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmDescription: The flaky function fails
      Namespace: AWS/Lambda
      MetricName: Errors
      Dimensions:
        - Name: FunctionName
          Value: !Ref Flaky
      Statistic: Sum
      Period: 60
      EvaluationPeriods: 1
      Threshold: 1
      ComparisonOperator: GreaterThanOrEqualToThreshold
      TreatMissingData: notBreaching
      AlarmActions: [!Ref Alerts]
  Board:
    Type: AWS::CloudWatch::Dashboard
    Properties:
      DashboardBody: '{"widgets": []}'
Outputs:
  AlarmName:
    Value: !Ref FlakyErrors
  AlarmArn:
    Value: !GetAtt FlakyErrors.Arn
  InboxUrl:
    Value: !Ref AlertsInbox
  Function:
    Value: !Ref Flaky
"""


class MinuteAhead:
    """The stack's clock a minute on: only complete periods are evaluated, and the minute the test's
    data went into is complete a minute later."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock

    def now(self) -> datetime:
        return self.clock.now() + timedelta(minutes=1)

    def monotonic(self) -> float:
        return float(self.clock.monotonic())


def test_a_failing_function_trips_its_errors_alarm(
    stack: Stack, aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    made = make_stack(app_dir(TEMPLATE), "alarms")
    outputs = made.outputs
    assert outputs["AlarmArn"] == f"arn:aws:cloudwatch:{stack.settings.region}:{stack.settings.account_id}:alarm:{outputs['AlarmName']}"
    cw = aws("cloudwatch")
    assert cw.list_dashboards(DashboardNamePrefix="alarms-Board-")["DashboardEntries"]
    [alarm] = cw.describe_alarms(AlarmNames=[outputs["AlarmName"]])["MetricAlarms"]
    # New, or already evaluated by the stack's own evaluator (missing data: not breaching): never ALARM yet.
    assert alarm["StateValue"] in ("INSUFFICIENT_DATA", "OK")

    local = stack.local
    feeds = metric_feeds(
        local.cloudwatch,
        logs_path=local.logs.path,
        executions=local.executions,
        queues=local.queues,
        clock=local.clock,
        region=stack.settings.region,
        account_id=stack.settings.account_id,
        parse_emf=parse_emf,
    )
    evaluator = AlarmEvaluator(local.cloudwatch, MinuteAhead(local.clock), feeds)
    now_ms = int(local.clock.now().timestamp() * 1000)
    lam = aws("lambda")
    ok = lam.invoke(FunctionName=outputs["Function"], Payload=json.dumps({"now_ms": now_ms}).encode())
    assert "FunctionError" not in ok and json.loads(ok["Payload"].read()) == {"ok": True}
    evaluator.turn()
    # One good invocation: Errors has a 0 data point, within the threshold.
    assert cw.describe_alarms(AlarmNames=[outputs["AlarmName"]])["MetricAlarms"][0]["StateValue"] == "OK"

    failed = lam.invoke(FunctionName=outputs["Function"], Payload=json.dumps({"now_ms": now_ms, "fail": True}).encode())
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read())["errorMessage"] == "the flaky function failed"
    assert evaluator.turn() == 1
    [alarm] = cw.describe_alarms(AlarmNames=[outputs["AlarmName"]])["MetricAlarms"]
    assert alarm["StateValue"] == "ALARM"
    assert alarm["StateReason"].startswith("Threshold Crossed: 1 datapoint [1.0 (")

    sqs = aws("sqs")
    messages = sqs.receive_message(QueueUrl=outputs["InboxUrl"], WaitTimeSeconds=10).get("Messages", [])
    assert messages, "the alarm's notification did not reach the queue"
    note = json.loads(messages[0]["Body"])
    assert (note["AlarmName"], note["OldStateValue"], note["NewStateValue"]) == (outputs["AlarmName"], "OK", "ALARM")
    assert note["AlarmDescription"] == "The flaky function fails"
    assert note["Trigger"]["Dimensions"] == [{"value": outputs["Function"], "name": "FunctionName"}]

    # AWS's own metrics and the function's EMF metric are there for GetMetricStatistics too.
    listed = {(m["Namespace"], m["MetricName"]) for m in cw.list_metrics()["Metrics"]}
    assert {("AWS/Lambda", "Invocations"), ("AWS/Lambda", "Errors"), ("AWS/Lambda", "Duration"), ("Shop", "Attempts")} <= listed
    # Fed once: a second pull adds nothing.
    assert all(feed.pull() == 0 for feed in feeds[:2])

    for client in (cw, lam, sqs):
        client.close()

    shown = CliRunner().invoke(cli, ["alarms", "--json", "--data-dir", str(stack.settings.data_dir)])
    assert shown.exit_code == 0, shown.output
    [listed_alarm] = [a for a in json.loads(shown.output)["Alarms"] if a["AlarmName"] == outputs["AlarmName"]]
    assert listed_alarm["StateValue"] == "ALARM" and listed_alarm["Metric"].startswith("AWS/Lambda Errors")
    history = CliRunner().invoke(cli, ["alarms", "history", outputs["AlarmName"], "--data-dir", str(stack.settings.data_dir)])
    assert history.exit_code == 0, history.output
    assert "Alarm updated from OK to ALARM" in history.output
