"""Templates and Kinesis: AWS::Kinesis::Stream resources made, updated and deleted through the endpoint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.cfn.deployer import Deployment
from sluiceway.cfn.errors import TemplateError

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


def test_a_name_taken_by_a_stream_the_stack_did_not_make_fails_the_resource(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    kinesis = aws("kinesis")
    kinesis.create_stream(StreamName="shared-stream", ShardCount=3)
    kinesis.put_record(StreamName="shared-stream", Data=b"precious", PartitionKey="p")
    named = (
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Named:\n    Type: AWS::Kinesis::Stream\n    Properties:\n      Name: {}\n"
    )
    with pytest.raises(TemplateError) as failed:
        make_stack(app_dir(named.format("shared-stream")), "adopter")
    assert "Resources.Named" in str(failed.value)
    assert "Resource of type 'AWS::Kinesis::Stream' with identifier 'shared-stream' already exists." in str(failed.value)

    # Nor may a rename take it; the stack's own stream is its own to update.
    make_stack(app_dir(named.format("mine")), "adopter")
    make_stack(app_dir(named.format("mine")), "adopter")
    with pytest.raises(TemplateError, match="'shared-stream' already exists"):
        make_stack(app_dir(named.format("shared-stream")), "adopter")

    # The stream the stack did not make is as it was: its shards and its record.
    shards = kinesis.list_shards(StreamName="shared-stream")["Shards"]
    assert len(shards) == 3
    records = []
    for shard in shards:
        iterator = kinesis.get_shard_iterator(StreamName="shared-stream", ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
        records += kinesis.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    assert [r["Data"] for r in records] == [b"precious"]
