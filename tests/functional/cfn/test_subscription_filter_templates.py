"""A template's log subscription run locally: an AWS::Logs::SubscriptionFilter on one function's log
group sends its ERROR lines to another function, as CloudWatch Logs does (``awslogs.data``)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sluiceway.backends.local._cw_subscription_feed import SubscriptionFeed
from sluiceway.cfn.deployer import Deployment
from sluiceway.cfn.errors import TemplateError
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
        def handler(event, context):
            print("ERROR boom" if event.get("fail") else "INFO fine")
            return {"ok": True}
  WorkerLogs:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Sub /aws/lambda/${Worker}
  Shipper:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: index.handler
      Timeout: 10
      InlineCode: |
        import base64, gzip, json
        def handler(event, context):
            data = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
            print("got " + json.dumps(data))
  ShipperPermission:
    Type: AWS::Lambda::Permission
    Properties:
      FunctionName: !GetAtt Shipper.Arn
      Action: lambda:InvokeFunction
      Principal: !Sub logs.${AWS::Region}.amazonaws.com
      SourceArn: !GetAtt WorkerLogs.Arn
  WorkerErrors:
    Type: AWS::Logs::SubscriptionFilter
    DependsOn: ShipperPermission
    Properties:
      LogGroupName: !Ref WorkerLogs
      FilterPattern: ERROR
      DestinationArn: !GetAtt Shipper.Arn
Outputs:
  Function:
    Value: !Ref Worker
  Shipper:
    Value: !Ref Shipper
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
    """The stack without its own alarm evaluator (whose turns pull the subscription feed): the test pulls it."""
    settings = Settings.load(data_dir=tmp_path_factory.mktemp("subscription-cfn") / "data", workers=2, endpoint_port=free_port())
    built = build_stack(settings, app=None)
    evaluator, built.alarms = built.alarms, None
    built.start("subscription filter template tests")
    try:
        yield built
    finally:
        built.close()
        if evaluator is not None:
            evaluator.close()


def _shipped(aws: Aws, function: str, count: int, timeout_s: float = 30) -> list[dict[str, Any]]:
    logs = aws("logs")
    deadline = time.monotonic() + timeout_s
    got: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}")["events"] if _exists(logs, function) else []
        got = [json.loads(e["message"].strip()[len("got ") :]) for e in events if e["message"].startswith("got ")]
        if len(got) >= count:
            return got
        time.sleep(0.05)
    pytest.fail(f"{function} shipped {got}, not {count} deliveries")


def _exists(logs: Any, function: str) -> bool:
    return bool(logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{function}")["logGroups"])


def test_a_functions_error_lines_go_to_the_subscribed_function(
    stack: Stack, aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    outputs = make_stack(app_dir(TEMPLATE), "sf").outputs
    logs, lam = aws("logs"), aws("lambda")
    [described] = logs.describe_subscription_filters(logGroupName=outputs["Group"])["subscriptionFilters"]
    assert described["filterName"] == outputs["Filter"]
    assert outputs["Filter"].startswith("sf-WorkerErrors-")  # generated, as CloudFormation names it
    assert described["filterPattern"] == "ERROR"
    assert described["destinationArn"].endswith(f":function:{outputs['Shipper']}")

    kinesis = stack.kinesis
    assert kinesis is not None
    feed = SubscriptionFeed(
        stack.local.cloudwatch, stack.local.logs.path, stack.local.async_invocations, kinesis, account_id=stack.settings.account_id
    )
    try:
        lam.invoke(FunctionName=outputs["Function"], Payload=json.dumps({}).encode())
        lam.invoke(FunctionName=outputs["Function"], Payload=json.dumps({"fail": True}).encode())
        assert feed.pull() == 1  # the ERROR line's stream; the INFO run's lines match nothing
        assert feed.pull() == 0
    finally:
        feed.close()
    [shipped] = _shipped(aws, outputs["Shipper"], 1)
    assert shipped["logGroup"] == outputs["Group"] and shipped["subscriptionFilters"] == [outputs["Filter"]]
    assert [e["message"].strip() for e in shipped["logEvents"]] == ["ERROR boom"]

    # A new logical id replaces the filter: the old one is deleted first (a group holds two at most).
    make_stack(
        app_dir(
            TEMPLATE.replace("  WorkerErrors:\n", "  WorkerErrorsRenamed:\n").replace("!Ref WorkerErrors\n", "!Ref WorkerErrorsRenamed\n")
        ),
        "sf",
    )
    names = [f["filterName"] for f in logs.describe_subscription_filters(logGroupName=outputs["Group"])["subscriptionFilters"]]
    assert len(names) == 1 and names[0].startswith("sf-WorkerErrorsRenamed-")
    for client in (logs, lam):
        client.close()


def test_a_filter_without_a_destination_names_it(stack: Stack, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]) -> None:
    template = (
        "Resources:\n  Logs:\n    Type: AWS::Logs::LogGroup\n  Errors:\n    Type: AWS::Logs::SubscriptionFilter\n    Properties:\n"
        "      LogGroupName: !Ref Logs\n      FilterPattern: ERROR\n"
    )
    with pytest.raises(TemplateError, match=r"Resources\.Errors\.Properties\.DestinationArn"):
        make_stack(app_dir(template), "sf-missing")
