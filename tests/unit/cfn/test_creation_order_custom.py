"""Custom resources are made as late as what needs them allows, as in CloudFormation's parallel waves."""

from __future__ import annotations

from sluiceway.cfn.graph import creation_order


def test_a_custom_resource_comes_after_the_resources_it_does_not_need() -> None:
    resources = {
        "Table": {"Type": "AWS::DynamoDB::Table"},
        "Seeder": {"Type": "AWS::Lambda::Function"},
        "Seed": {"Type": "Custom::Seed", "Properties": {"ServiceToken": {"Fn::GetAtt": ["Seeder", "Arn"]}, "T": {"Ref": "Table"}}},
        "Mapping": {"Type": "AWS::Lambda::EventSourceMapping", "Properties": {"EventSourceArn": {"Fn::GetAtt": ["Table", "StreamArn"]}}},
        "Other": {"Type": "AWS::CloudFormation::CustomResource", "Properties": {"ServiceToken": "arn"}},
    }
    order = creation_order(resources)
    assert order == ["Table", "Seeder", "Mapping", "Seed", "Other"]


def test_what_needs_a_custom_resource_still_comes_after_it() -> None:
    resources = {
        "Seed": {"Type": "Custom::Seed", "Properties": {"ServiceToken": "arn"}},
        "Uses": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::GetAtt": ["Seed", "Name"]}}},
        "Plain": {"Type": "AWS::SNS::Topic"},
    }
    assert creation_order(resources) == ["Seed", "Uses", "Plain"]
