"""A template's AWS::CloudWatch::CompositeAlarm: made over the template's metric alarms, moved by them,
notifying its topic, and deleted before them when it leaves the template."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from sluiceway.cfn.deployer import Deployment
from sluiceway.cli.main import app as cli
from sluiceway.runtime.stack import Stack

Aws = Callable[..., Any]

# The metric alarms ignore missing data, so the stack's own evaluator (the function has no metrics
# here) keeps the states the test sets.
TEMPLATE = """
Resources:
  Errors:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: Shop
      MetricName: Errors
      Statistic: Sum
      Period: 60
      EvaluationPeriods: 1
      Threshold: 1
      ComparisonOperator: GreaterThanOrEqualToThreshold
      TreatMissingData: ignore
  Deploying:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: Shop
      MetricName: Deploying
      Statistic: Maximum
      Period: 60
      EvaluationPeriods: 1
      Threshold: 1
      ComparisonOperator: GreaterThanOrEqualToThreshold
      TreatMissingData: ignore
  Pager:
    Type: AWS::SNS::Topic
  PagerInbox:
    Type: AWS::SQS::Queue
  PagerToInbox:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Pager
      Protocol: sqs
      Endpoint: !GetAtt PagerInbox.Arn
      RawMessageDelivery: true
  ShopDown:
    Type: AWS::CloudWatch::CompositeAlarm
    Properties:
      AlarmDescription: errors outside a deployment
      AlarmRule: !Sub 'ALARM("${Errors}") AND NOT ALARM("${Deploying}")'
      AlarmActions: [!Ref Pager]
      ActionsSuppressor: !GetAtt Deploying.Arn
      ActionsSuppressorWaitPeriod: 0
      ActionsSuppressorExtensionPeriod: 120
Outputs:
  Name:
    Value: !Ref ShopDown
  Arn:
    Value: !GetAtt ShopDown.Arn
  Errors:
    Value: !Ref Errors
  Inbox:
    Value: !Ref PagerInbox
"""


def test_a_composite_alarm_from_a_template(
    stack: Stack, aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    outputs = make_stack(app_dir(TEMPLATE), "composite").outputs
    name = outputs["Name"]
    assert outputs["Arn"] == f"arn:aws:cloudwatch:{stack.settings.region}:{stack.settings.account_id}:alarm:{name}"
    cw = aws("cloudwatch")
    [alarm] = cw.describe_alarms(AlarmNames=[name], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
    assert alarm["StateValue"] == "OK" and alarm["AlarmDescription"] == "errors outside a deployment"
    assert (alarm["ActionsSuppressorWaitPeriod"], alarm["ActionsSuppressorExtensionPeriod"]) == (0, 120)

    cw.set_alarm_state(AlarmName=outputs["Errors"], StateValue="ALARM", StateReason="errors")
    assert cw.describe_alarms(AlarmNames=[name], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"][0]["StateValue"] == "ALARM"
    messages = aws("sqs").receive_message(QueueUrl=outputs["Inbox"], WaitTimeSeconds=10).get("Messages", [])
    assert messages, "the composite alarm's notification did not reach the queue"
    note = json.loads(messages[0]["Body"])
    assert (note["AlarmName"], note["NewStateValue"]) == (name, "ALARM")

    # ``sluiceway alarms`` lists it with its rule, and its history.
    shown = CliRunner().invoke(cli, ["alarms", "--json", "--data-dir", str(stack.settings.data_dir)])
    assert shown.exit_code == 0, shown.output
    [listed] = [a for a in json.loads(shown.output)["Alarms"] if a["AlarmName"] == name]
    assert (listed["AlarmType"], listed["StateValue"]) == ("CompositeAlarm", "ALARM") and listed["AlarmRule"].startswith('ALARM("')
    history = CliRunner().invoke(cli, ["alarms", "history", name, "--data-dir", str(stack.settings.data_dir)])
    assert history.exit_code == 0 and "Alarm updated from OK to ALARM" in history.output, history.output

    # The alarms leave the template: the composite alarm goes first (CloudWatch refuses the other order).
    second = make_stack(app_dir("Resources:\n  PagerInbox:\n    Type: AWS::SQS::Queue\n"), "composite")
    assert second.document["StackStatus"] == "UPDATE_COMPLETE"
    left = cw.describe_alarms(AlarmNames=[name, outputs["Errors"]], AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    assert (left["MetricAlarms"], left["CompositeAlarms"]) == ([], [])
