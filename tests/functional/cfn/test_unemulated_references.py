"""Ref and Fn::GetAtt of resources that are not emulated give CloudFormation's shapes, so the rest of a template runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sluiceway.cfn.deployer import Deployment
from sluiceway.cfn.errors import TemplateError

TEMPLATE = """
Resources:
  Key:
    Type: AWS::KMS::Key
    Properties:
      KeyPolicy: {Version: '2012-10-17', Statement: []}
  Clicks:
    Type: AWS::Kinesis::Stream
    Properties:
      Name: clicks
      ShardCount: 1
  Unnamed:
    Type: AWS::Kinesis::Stream
    Properties:
      ShardCount: 1
  Network:
    Type: AWS::EC2::VPC
    Properties:
      CidrBlock: 10.0.0.0/16
  Guard:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: functions
      VpcId: !Ref Network
  Cluster:
    Type: AWS::RDS::DBCluster
    Properties:
      Engine: aurora-postgresql
  Encrypted:
    Type: AWS::SQS::Queue
    Properties:
      KmsMasterKeyId: !Ref Key
Outputs:
  KeyRef: {Value: !Ref Key}
  KeyArn: {Value: !GetAtt Key.Arn}
  KeyId: {Value: !GetAtt Key.KeyId}
  ClicksRef: {Value: !Ref Clicks}
  ClicksArn: {Value: !GetAtt Clicks.Arn}
  UnnamedArn: {Value: !GetAtt Unnamed.Arn}
  VpcRef: {Value: !Ref Network}
  VpcCidr: {Value: !GetAtt Network.CidrBlock}
  GuardRef: {Value: !Ref Guard}
  GuardId: {Value: !GetAtt Guard.GroupId}
  GuardVpc: {Value: !GetAtt Guard.VpcId}
  ClusterArn: {Value: !GetAtt Cluster.DBClusterArn}
  ClusterPort: {Value: !GetAtt Cluster.Endpoint.Port}
  Queue: {Value: !GetAtt Encrypted.QueueName}
"""


def test_references_to_resources_that_are_not_emulated_resolve_in_their_aws_shapes(
    app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    template = app_dir(TEMPLATE)
    deployment = make_stack(template, "placeholders")
    assert deployment.document["StackStatus"] == "CREATE_COMPLETE"
    out = deployment.outputs
    account = out["KeyArn"].split(":")[4]
    assert out["KeyArn"] == f"arn:aws:kms:us-east-1:{account}:key/{out['KeyRef']}"
    assert out["KeyId"] == out["KeyRef"]
    # A name the template gives is the identifier, as CloudFormation makes it.
    assert out["ClicksRef"] == "clicks"
    assert out["ClicksArn"] == f"arn:aws:kinesis:us-east-1:{account}:stream/clicks"
    assert out["UnnamedArn"].startswith(f"arn:aws:kinesis:us-east-1:{account}:stream/placeholders-Unnamed-")
    assert out["VpcCidr"] == "10.0.0.0/16"  # an attribute that is a property gives the template's value
    assert out["GuardId"] == out["GuardRef"]
    assert out["GuardVpc"] == out["VpcRef"] and out["VpcRef"].startswith("placeholders-Network-")
    assert out["ClusterArn"].startswith(f"arn:aws:rds:us-east-1:{account}:cluster:placeholders-Cluster-")
    assert out["ClusterPort"]
    assert any("AWS::KMS::Key" in w and "AWS::Kinesis::Stream" in w for w in deployment.warnings)

    again = make_stack(template, "placeholders")  # a restart deploys again: the same identities
    assert again.outputs == out


def test_an_attribute_the_type_does_not_have_fails_the_deploy_naming_it(
    app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    template = app_dir(
        """
        Resources:
          Key:
            Type: AWS::KMS::Key
        Outputs:
          Nope: {Value: !GetAtt Key.StreamName}
        """
    )
    with pytest.raises(TemplateError, match=r"Key has no attribute 'StreamName'.*Arn, KeyId"):
        make_stack(template, "placeholders-bad")
