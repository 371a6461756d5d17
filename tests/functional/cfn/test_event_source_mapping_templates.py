"""A template's AWS::Lambda::EventSourceMapping is Lambda's own mapping: listed, updated in place and deleted through the API."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sluiceway.cfn.deployer import Deployment
from sluiceway.cfn.errors import TemplateError

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


def test_a_redeploy_without_changes_leaves_the_mapping_alone(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    template = app_dir(BASE + WIRE)
    mapping_id = make_stack(template, "still").outputs["Wire"]
    lam = aws("lambda")
    before = lam.get_event_source_mapping(UUID=mapping_id)["LastModified"]
    assert make_stack(template, "still").outputs["Wire"] == mapping_id
    assert lam.get_event_source_mapping(UUID=mapping_id)["LastModified"] == before


def test_a_mapping_gone_from_lambda_is_made_again_under_its_uuid(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    # Its stream checkpoint is kept under its UUID: a new one would read the stream again.
    template = app_dir(BASE + WIRE)
    mapping_id = make_stack(template, "regrown").outputs["Wire"]
    lam = aws("lambda")
    lam.delete_event_source_mapping(UUID=mapping_id)
    assert make_stack(template, "regrown").outputs["Wire"] == mapping_id
    assert make_stack(template, "regrown", {"Size": "8"}).outputs["Wire"] == mapping_id
    assert lam.get_event_source_mapping(UUID=mapping_id)["BatchSize"] == 8


def test_a_mapping_made_by_a_deploy_that_died_is_taken_over(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    # The mapping was made, then the process died before the stack recorded it: the next deploy is not refused.
    outputs = make_stack(
        app_dir(BASE + "Outputs:\n  Relay:\n    Value: !GetAtt Relay.Arn\n  InboxArn:\n    Value: !GetAtt Inbox.Arn\n"), "orphan"
    ).outputs
    lam = aws("lambda")
    orphan = lam.create_event_source_mapping(EventSourceArn=outputs["InboxArn"], FunctionName=outputs["Relay"], BatchSize=2)["UUID"]
    assert make_stack(app_dir(BASE + WIRE), "orphan").outputs["Wire"] == orphan
    assert lam.get_event_source_mapping(UUID=orphan)["BatchSize"] == 5


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("BatchSize: abc", "#/BatchSize: expected type: Integer, found: String"),
        ("Enabled: maybe", "#/Enabled: expected type: Boolean, found: String"),
        ("FunctionResponseTypes: ReportBatchItemFailures", "#/FunctionResponseTypes: expected type: JSONArray, found: String"),
    ],
)
def test_properties_of_the_wrong_type_are_refused(
    app_dir: Callable[..., Path], make_stack: Callable[..., Deployment], line: str, message: str
) -> None:
    wire = "  Wire:\n    Type: AWS::Lambda::EventSourceMapping\n    Properties:\n      EventSourceArn: !GetAtt Inbox.Arn\n"
    wire += f"      FunctionName: !GetAtt Relay.Arn\n      {line}\n"
    with pytest.raises(TemplateError) as info:
        make_stack(app_dir(BASE + wire), "typed")
    assert f"Properties validation failed for resource Wire with message: {message}" in str(info.value)
