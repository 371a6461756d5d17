"""A SAM function's Kinesis event is Lambda's event source mapping of the stream: made, run and removed with the template."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sluiceway.cfn.deployer import Deployment
from sluiceway.cfn.resources import PROVISIONERS
from sluiceway.cfn.resources.kinesis import KinesisStream
from sluiceway.endpoint import routing
from sluiceway.endpoint import services as served

Aws = Callable[..., Any]


@pytest.fixture(scope="module", autouse=True)
def kinesis_provisioned() -> None:
    """The registrations Kinesis has in the routing and provisioner tables (the same entries: harmless later)."""
    routing.SIGNING_NAMES.setdefault("kinesis", "kinesis")
    routing.TARGET_PREFIXES.setdefault("Kinesis_20131202", "kinesis")
    served.SERVICES.setdefault("kinesis", "sluiceway.endpoint.services.kinesis")
    PROVISIONERS.setdefault("AWS::Kinesis::Stream", KinesisStream())


APP = """
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Wired:
    Type: String
    Default: 'yes'
Conditions:
  IsWired: !Equals [!Ref Wired, 'yes']
Resources:
  Clicks:
    Type: AWS::Kinesis::Stream
    Properties:
      ShardCount: 2
  Seen:
    Type: AWS::SQS::Queue
  Reader:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Timeout: 10
      Environment:
        Variables:
          SEEN: !Ref Seen
      InlineCode: |
        import base64, json, os
        import boto3
        sqs = boto3.client("sqs")
        def handler(event, context):
            for record in event["Records"]:
                body = {"data": base64.b64decode(record["kinesis"]["data"]).decode(), "source": record["eventSource"],
                        "shard": record["eventID"].split(":")[0]}
                sqs.send_message(QueueUrl=os.environ["SEEN"], MessageBody=json.dumps(body))
      Events:
        Stream:
          Type: Kinesis
          Properties:
            Stream: !GetAtt Clicks.Arn
            StartingPosition: TRIM_HORIZON
            BatchSize: 10
            Enabled: !If [IsWired, true, false]
Outputs:
  StreamName:
    Value: !Ref Clicks
  StreamArn:
    Value: !GetAtt Clicks.Arn
  SeenUrl:
    Value: !Ref Seen
"""


def _received(aws: Aws, url: str, count: int, timeout_s: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    got: list[dict[str, Any]] = []
    while time.monotonic() < deadline and len(got) < count:
        for m in aws("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages", []):
            got.append(json.loads(m["Body"]))
            aws("sqs").delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert len(got) >= count, f"only {got} arrived"
    return got


def test_a_kinesis_event_maps_the_stream_to_the_function(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    template = app_dir(APP)
    outputs = make_stack(template, "clicks").outputs
    lam, kinesis = aws("lambda"), aws("kinesis")
    [mapping] = lam.list_event_source_mappings(EventSourceArn=outputs["StreamArn"])["EventSourceMappings"]
    assert (mapping["State"], mapping["BatchSize"], mapping["StartingPosition"]) == ("Enabled", 10, "TRIM_HORIZON")
    kinesis.put_record(StreamName=outputs["StreamName"], Data=b"one", PartitionKey="a", ExplicitHashKey="0")
    kinesis.put_record(StreamName=outputs["StreamName"], Data=b"two", PartitionKey="b", ExplicitHashKey=str(2**127 + 1))
    got = _received(aws, outputs["SeenUrl"], 2)
    assert sorted((g["data"], g["shard"], g["source"]) for g in got) == [
        ("one", "shardId-000000000000", "aws:kinesis"),
        ("two", "shardId-000000000001", "aws:kinesis"),
    ]
    # Disabled by an update, the same mapping stays.
    make_stack(template, "clicks", {"Wired": "no"})
    [disabled] = lam.list_event_source_mappings(EventSourceArn=outputs["StreamArn"])["EventSourceMappings"]
    assert (disabled["UUID"], disabled["State"]) == (mapping["UUID"], "Disabled")
