"""Templates and Kinesis: AWS::Kinesis::Stream resources made, updated and deleted through the endpoint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.cfn.deployer import Deployment
from sluiceway.cfn.errors import TemplateError
from sluiceway.cfn.resources.base import physical_name

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


UNNAMED = """
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Retention:
    Type: Number
    Default: 24
  Shards:
    Type: Number
    Default: 2
Resources:
  Events:
    Type: AWS::Kinesis::Stream
    Properties:
      ShardCount: !Ref Shards
      RetentionPeriodHours: !Ref Retention
Outputs:
  EventsName:
    Value: !Ref Events
"""


def test_a_bad_retention_is_refused_before_the_stream_is_made(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    kinesis = aws("kinesis")
    template = app_dir(UNNAMED)
    with pytest.raises(TemplateError, match="Minimum allowed retention period is 24 hours") as failed:
        make_stack(template, "unnamed-retention", {"Retention": "10"})
    assert "Resources.Events.Properties.RetentionPeriodHours" in str(failed.value)
    generated = physical_name("unnamed-retention", "Events", 128)
    assert generated not in kinesis.list_streams()["StreamNames"]
    with pytest.raises(TemplateError, match="Maximum allowed retention period is 8760 hours"):
        make_stack(template, "unnamed-retention", {"Retention": "8761"})
    assert generated not in kinesis.list_streams()["StreamNames"]

    # The failed creation left nothing in the way: the stack is made once the template is right.
    name = make_stack(template, "unnamed-retention", {"Retention": "48"}).outputs["EventsName"]
    summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert summary["RetentionPeriodHours"] == 48 and summary["OpenShardCount"] == 2


def test_bad_stream_encryption_is_refused_before_the_stream_is_made(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    kinesis = aws("kinesis")
    encrypted = (
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Events:\n    Type: AWS::Kinesis::Stream\n    Properties:\n"
        "      ShardCount: 1\n      StreamEncryption:\n{}"
    )
    with pytest.raises(TemplateError, match=r"StreamEncryption: required key \[KeyId\] not found"):
        make_stack(app_dir(encrypted.format("        EncryptionType: KMS\n")), "unnamed-encryption")
    with pytest.raises(TemplateError, match="StreamEncryption.EncryptionType: AES is not a valid enum value"):
        make_stack(app_dir(encrypted.format("        EncryptionType: AES\n        KeyId: alias/aws/kinesis\n")), "unnamed-encryption")
    name = physical_name("unnamed-encryption", "Events", 128)
    assert name not in kinesis.list_streams()["StreamNames"]

    make_stack(app_dir(encrypted.format("        EncryptionType: KMS\n        KeyId: alias/aws/kinesis\n")), "unnamed-encryption")
    summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert (summary["EncryptionType"], summary["KeyId"]) == ("KMS", "alias/aws/kinesis")


def test_an_unrecorded_stream_under_the_generated_name_is_taken_over(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    # What a first deploy killed (or failed) between CreateStream and recording the stream leaves:
    # the stream under the name the next run generates again.
    kinesis = aws("kinesis")
    left = physical_name("leftover", "Events", 128)
    kinesis.create_stream(StreamName=left, ShardCount=2)
    kinesis.put_record(StreamName=left, Data=b"early", PartitionKey="p")
    template = app_dir(UNNAMED)
    deployed = make_stack(template, "leftover", {"Retention": "36"})
    assert deployed.outputs["EventsName"] == left
    summary = kinesis.describe_stream_summary(StreamName=left)["StreamDescriptionSummary"]
    assert summary["RetentionPeriodHours"] == 36 and summary["OpenShardCount"] == 2
    records = []
    for shard in kinesis.list_shards(StreamName=left)["Shards"]:
        iterator = kinesis.get_shard_iterator(StreamName=left, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
        records += kinesis.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    assert [r["Data"] for r in records] == [b"early"]

    # One left with another shape (the template changed since) is made again to the template's.
    other = physical_name("reshaped", "Events", 128)
    kinesis.create_stream(StreamName=other, ShardCount=1)
    assert make_stack(template, "reshaped", {"Shards": "3"}).outputs["EventsName"] == other
    assert kinesis.describe_stream_summary(StreamName=other)["StreamDescriptionSummary"]["OpenShardCount"] == 3

    # A named stream is still never taken: only a generated name is the stack's own.
    named = (
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Events:\n    Type: AWS::Kinesis::Stream\n    Properties:\n      Name: {}\n"
    )
    with pytest.raises(TemplateError, match=f"'{left}' already exists"):
        make_stack(app_dir(named.format(left)), "someone-else")
