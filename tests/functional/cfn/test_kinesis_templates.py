"""Templates and Kinesis: AWS::Kinesis::Stream resources made, updated and deleted through the endpoint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.cfn.deployer import Deployment

Aws = Callable[..., Any]


TEMPLATE = """
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Retention:
    Type: Number
    Default: 24
  Team:
    Type: String
    Default: data
Resources:
  Unnamed:
    Type: AWS::Kinesis::Stream
    Properties:
      ShardCount: 2
      RetentionPeriodHours: !Ref Retention
      Tags:
        - Key: team
          Value: !Ref Team
  OnDemand:
    Type: AWS::Kinesis::Stream
    Properties:
      Name: cfn-on-demand
      StreamModeDetails:
        StreamMode: ON_DEMAND
Outputs:
  UnnamedName:
    Value: !Ref Unnamed
  UnnamedArn:
    Value: !GetAtt Unnamed.Arn
  OnDemandArn:
    Value: !GetAtt OnDemand.Arn
"""


def test_streams_are_made_updated_and_deleted(aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]) -> None:
    kinesis = aws("kinesis")
    template = app_dir(TEMPLATE)
    outputs = make_stack(template, "kinesis-streams").outputs
    name = outputs["UnnamedName"]
    assert name.startswith("kinesis-streams-Unnamed-")
    described = kinesis.describe_stream(StreamName=name)["StreamDescription"]
    assert outputs["UnnamedArn"] == described["StreamARN"] and described["StreamARN"].endswith(f":stream/{name}")
    assert len(described["Shards"]) == 2 and described["RetentionPeriodHours"] == 24
    assert kinesis.list_tags_for_stream(StreamName=name)["Tags"] == [{"Key": "team", "Value": "data"}]
    on_demand = kinesis.describe_stream_summary(StreamName="cfn-on-demand")["StreamDescriptionSummary"]
    assert on_demand["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"} and on_demand["OpenShardCount"] == 4
    assert outputs["OnDemandArn"] == on_demand["StreamARN"]

    # An update brings retention and tags to the template, on the same stream.
    make_stack(template, "kinesis-streams", {"Retention": "48", "Team": "ops"})
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["RetentionPeriodHours"] == 48
    assert kinesis.list_tags_for_stream(StreamName=name)["Tags"] == [{"Key": "team", "Value": "ops"}]

    # A template without the resources deletes the streams.
    make_stack(app_dir("AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Other:\n    Type: AWS::SQS::Queue\n"), "kinesis-streams")
    for stream in (name, "cfn-on-demand"):
        with pytest.raises(ClientError) as excinfo:
            kinesis.describe_stream(StreamName=stream)
        assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"
