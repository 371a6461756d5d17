"""A template's account-level subscription run locally: an AWS::Logs::AccountPolicy of type
SUBSCRIPTION_FILTER_POLICY sends every log group's matching lines (but those of the groups its
selection criteria exclude) to a function, marked ``ACCOUNT_LEVEL_POLICY``, as CloudWatch Logs does."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sluiceway.backends.local._cw_subscription_feed import SubscriptionFeed
from sluiceway.cfn.deployer import Deployment
from sluiceway.cfn.errors import TemplateError
from sluiceway.runtime.stack import Stack

Aws = Callable[..., Any]

# The shape of a published SAM app's policy: a JSON document built with !Sub, and its
# destination function's own log group excluded against the loop.
TEMPLATE = """
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  NotifierName:
    Type: String
    Default: account-notifier
Resources:
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: index.handler
      Timeout: 10
      InlineCode: |
        def handler(event, context):
            print("Exception: boom" if event.get("fail") else "INFO fine")
            return {"ok": True}
  Notifier:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Ref NotifierName
      Runtime: python3.11
      Handler: index.handler
      Timeout: 10
      InlineCode: |
        import base64, gzip, json
        def handler(event, context):
            data = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
            print("got " + json.dumps(data))
  NotifierPermission:
    Type: AWS::Lambda::Permission
    Properties:
      FunctionName: !GetAtt Notifier.Arn
      Principal: logs.amazonaws.com
      Action: lambda:InvokeFunction
      SourceArn: !Sub arn:aws:logs:${AWS::Region}:${AWS::AccountId}:log-group:*
      SourceAccount: !Ref AWS::AccountId
  Policy:
    Type: AWS::Logs::AccountPolicy
    DependsOn: NotifierPermission
    Properties:
      PolicyName: AccountExceptions
      PolicyDocument: !Sub >-
        {"DestinationArn":"arn:aws:lambda:${AWS::Region}:${AWS::AccountId}:function:${NotifierName}",
        "FilterPattern": "Exception", "Distribution": "Random"}
      SelectionCriteria: !Sub 'LogGroupName NOT IN ["/aws/lambda/${NotifierName}", "/custom/excluded"]'
      PolicyType: SUBSCRIPTION_FILTER_POLICY
      Scope: ALL
Outputs:
  Worker:
    Value: !Ref Worker
  Notifier:
    Value: !Ref Notifier
  Policy:
    Value: !Ref Policy
"""


def _shipped(aws: Aws, function: str, count: int, timeout_s: float = 30) -> list[dict[str, Any]]:
    logs = aws("logs")
    deadline = time.monotonic() + timeout_s
    got: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        exists = bool(logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{function}")["logGroups"])
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}")["events"] if exists else []
        got = [json.loads(e["message"].strip()[len("got ") :]) for e in events if e["message"].startswith("got ")]
        if len(got) >= count:
            return got
        time.sleep(0.05)
    pytest.fail(f"{function} shipped {got}, not {count} deliveries")


def test_an_account_policy_sends_every_groups_matching_lines(
    stack: Stack, aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    account = stack.settings.account_id
    outputs = make_stack(app_dir(TEMPLATE), "ap").outputs
    assert outputs["Policy"] == account  # Ref is the account id
    logs, lam, cfn = aws("logs"), aws("lambda"), aws("cloudformation")
    [policy] = logs.describe_account_policies(policyType="SUBSCRIPTION_FILTER_POLICY")["accountPolicies"]
    assert (policy["policyName"], policy["scope"], policy["accountId"]) == ("AccountExceptions", "ALL", account)
    assert policy["selectionCriteria"] == 'LogGroupName NOT IN ["/aws/lambda/account-notifier", "/custom/excluded"]'
    assert json.loads(policy["policyDocument"])["FilterPattern"] == "Exception"
    [resource] = [r for r in cfn.describe_stack_resources(StackName="ap")["StackResources"] if r["LogicalResourceId"] == "Policy"]
    assert resource["PhysicalResourceId"] == f"{account}|SUBSCRIPTION_FILTER_POLICY|AccountExceptions"

    kinesis = stack.kinesis
    assert kinesis is not None
    feed = SubscriptionFeed(stack.local.cloudwatch, stack.local.logs.path, stack.local.async_invocations, kinesis, account_id=account)
    try:
        lam.invoke(FunctionName=outputs["Worker"], Payload=json.dumps({}).encode())
        lam.invoke(FunctionName=outputs["Worker"], Payload=json.dumps({"fail": True}).encode())
        logs.create_log_group(logGroupName="/custom/excluded")
        logs.create_log_stream(logGroupName="/custom/excluded", logStreamName="s")
        logs.put_log_events(
            logGroupName="/custom/excluded", logStreamName="s", logEvents=[{"timestamp": int(time.time() * 1000), "message": "Exception"}]
        )
        assert feed.pull() == 1  # the failing run's stream; the excluded group sends nothing
        [shipped] = _shipped(aws, outputs["Notifier"], 1)
        # The notifier's own lines (which hold "Exception") are in an excluded group: no loop.
        assert feed.pull() == 0
    finally:
        feed.close()
    assert shipped["logGroup"] == f"/aws/lambda/{outputs['Worker']}"
    assert (shipped["subscriptionFilters"], shipped["policyLevel"]) == (["AccountExceptions"], "ACCOUNT_LEVEL_POLICY")
    assert [e["message"].strip() for e in shipped["logEvents"]] == ["Exception: boom"]

    # A new PolicyName replaces the policy: the old one is deleted first (an account holds one).
    make_stack(app_dir(TEMPLATE.replace("PolicyName: AccountExceptions", "PolicyName: AccountErrors")), "ap")
    names = [p["policyName"] for p in logs.describe_account_policies(policyType="SUBSCRIPTION_FILTER_POLICY")["accountPolicies"]]
    assert names == ["AccountErrors"]
    for client in (logs, lam, cfn):
        client.close()


def test_a_policy_without_a_document_names_it(stack: Stack, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]) -> None:
    template = (
        "Resources:\n  Policy:\n    Type: AWS::Logs::AccountPolicy\n    Properties:\n"
        "      PolicyName: p\n      PolicyType: SUBSCRIPTION_FILTER_POLICY\n"
    )
    with pytest.raises(TemplateError, match=r"Resources\.Policy\.Properties\.PolicyDocument"):
        make_stack(app_dir(template), "ap-missing")
