"""A template's AWS::Lambda::EventSourceMapping is Lambda's own mapping: listed, updated in place and deleted through the API."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sluiceway.cfn.deployer import Deployment

Aws = Callable[..., Any]

BASE = """
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Enabled:
    Type: String
    Default: 'true'
  Size:
    Type: Number
    Default: 5
Resources:
  Inbox:
    Type: AWS::SQS::Queue
  Seen:
    Type: AWS::SQS::Queue
  Relay:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.11
      Handler: index.handler
      Timeout: 10
      Role: arn:aws:iam::111111111111:role/relay
      Environment:
        Variables:
          SEEN: !Ref Seen
      Code:
        ZipFile: |
          import os
          import boto3
          sqs = boto3.client("sqs")
          def handler(event, context):
              for record in event["Records"]:
                  sqs.send_message(QueueUrl=os.environ["SEEN"], MessageBody=record["body"])
              return {"batchItemFailures": []}
"""

WIRE = """  Wire:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      EventSourceArn: !GetAtt Inbox.Arn
      FunctionName: !GetAtt Relay.Arn
      Enabled: !Ref Enabled
      BatchSize: !Ref Size
      ScalingConfig:
        MaximumConcurrency: 3
      FunctionResponseTypes: [ReportBatchItemFailures]
Outputs:
  InboxUrl:
    Value: !Ref Inbox
  SeenUrl:
    Value: !Ref Seen
  Wire:
    Value: !Ref Wire
"""


def _received(aws: Aws, url: str, timeout_s: float = 20) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        messages = aws("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
        if messages:
            return [m["Body"] for m in messages]
    raise AssertionError("nothing arrived")


def test_a_templates_mapping_is_an_api_mapping(aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]) -> None:
    template = app_dir(BASE + WIRE)
    outputs = make_stack(template, "wired").outputs
    mapping_id = outputs["Wire"]
    lam = aws("lambda")
    mapping = lam.get_event_source_mapping(UUID=mapping_id)
    assert (mapping["State"], mapping["BatchSize"], mapping["ScalingConfig"], mapping["FunctionResponseTypes"]) == (
        "Enabled",
        5,
        {"MaximumConcurrency": 3},
        ["ReportBatchItemFailures"],
    )
    assert ":function:wired-Relay-" in mapping["FunctionArn"]
    aws("sqs").send_message(QueueUrl=outputs["InboxUrl"], MessageBody="via-template")
    assert _received(aws, outputs["SeenUrl"]) == ["via-template"]

    # An update changes the same mapping in place.
    make_stack(template, "wired", {"Enabled": "false", "Size": "7"})
    changed = lam.get_event_source_mapping(UUID=mapping_id)
    assert (changed["State"], changed["BatchSize"]) == ("Disabled", 7)

    # Out of the template, out of Lambda.
    make_stack(app_dir(BASE), "wired")
    assert lam.list_event_source_mappings(EventSourceArn=mapping["EventSourceArn"])["EventSourceMappings"] == []
