"""Ref and Fn::GetAtt of resources that are not emulated give CloudFormation's shapes, so the rest of a template runs."""

from __future__ import annotations

import re
import uuid
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
    Type: AWS::KinesisFirehose::DeliveryStream
    Properties:
      DeliveryStreamName: clicks
  Unnamed:
    Type: AWS::KinesisFirehose::DeliveryStream
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
  Database:
    Type: AWS::RDS::DBInstance
    Properties:
      Engine: mysql
      Port: '3307'
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
  ClusterRef: {Value: !Ref Cluster}
  ClusterArn: {Value: !GetAtt Cluster.DBClusterArn}
  ClusterPort: {Value: !GetAtt Cluster.Endpoint.Port}
  ClusterSecret: {Value: !GetAtt Cluster.MasterUserSecret.SecretArn}
  DatabaseRef: {Value: !Ref Database}
  DatabaseArn: {Value: !GetAtt Database.DBInstanceArn}
  DatabasePort: {Value: !GetAtt Database.Endpoint.Port}
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
    assert uuid.UUID(out["KeyRef"])  # a key id is a UUID
    assert out["KeyArn"] == f"arn:aws:kms:us-east-1:{account}:key/{out['KeyRef']}"
    assert out["KeyId"] == out["KeyRef"]
    # A name the template gives is the identifier, as CloudFormation makes it.
    assert out["ClicksRef"] == "clicks"
    assert out["ClicksArn"] == f"arn:aws:firehose:us-east-1:{account}:deliverystream/clicks"
    assert out["UnnamedArn"].startswith(f"arn:aws:firehose:us-east-1:{account}:deliverystream/placeholders-Unnamed-")
    assert re.fullmatch(r"vpc-[0-9a-f]{17}", out["VpcRef"]) and re.fullmatch(r"sg-[0-9a-f]{17}", out["GuardRef"])
    assert out["VpcCidr"] == "10.0.0.0/16"  # an attribute that is a property gives the template's value
    assert out["GuardId"] == out["GuardRef"]
    assert out["GuardVpc"] == out["VpcRef"]
    assert out["ClusterArn"] == f"arn:aws:rds:us-east-1:{account}:cluster:{out['ClusterRef']}"
    assert out["ClusterPort"] == "5432"  # the engine's default
    assert out["ClusterSecret"].startswith(f"arn:aws:secretsmanager:us-east-1:{account}:secret:{out['ClusterRef']}-")
    assert out["DatabaseArn"] == f"arn:aws:rds:us-east-1:{account}:db:{out['DatabaseRef']}"
    assert out["DatabasePort"] == "3307"  # the template's Port
    assert any("AWS::KMS::Key" in w and "AWS::KinesisFirehose::DeliveryStream" in w for w in deployment.warnings)

    again = make_stack(template, "placeholders")  # a restart deploys again: the same identities
    assert again.outputs == out


def test_a_dynamic_reference_of_what_is_not_made_is_never_read_through_its_attributes(
    app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    # The parameter does not exist locally: neither the firehose nor what uses its name may read it.
    template = app_dir(
        """
        Resources:
          Firehose:
            Type: AWS::KinesisFirehose::DeliveryStream
            Properties:
              DeliveryStreamName: '{{resolve:ssm:/names/firehose}}'
          Copy:
            Type: AWS::SSM::Parameter
            Properties:
              Type: String
              Value: !Ref Firehose
        Outputs:
          Name: {Value: !Ref Firehose}
        """
    )
    deployment = make_stack(template, "placeholders-dynamic")
    assert deployment.document["StackStatus"] == "CREATE_COMPLETE"
    assert deployment.outputs["Name"].startswith("placeholders-dynamic-Firehose-")


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
