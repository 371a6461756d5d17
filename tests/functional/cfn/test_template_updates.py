"""Stacks across updates and interruptions, and CloudFormation's typing rules for values."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sluiceway.cfn.deployer import Deployment
from sluiceway.cfn.errors import TemplateError
from sluiceway.cfn.resources import PROVISIONERS

Aws = Callable[..., Any]


def test_an_interrupted_update_forgets_no_resource(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment], monkeypatch: pytest.MonkeyPatch
) -> None:
    v1 = "Resources:\n  Old:\n    Type: AWS::SQS::Queue\n  Keep:\n    Type: AWS::SQS::Queue\n"
    first = make_stack(app_dir(v1), "interrupted")
    old_url = next(r["PhysicalResourceId"] for r in first.document["Resources"] if r["LogicalResourceId"] == "Old")
    v2 = "Resources:\n  Keep:\n    Type: AWS::SQS::Queue\n  Topic:\n    Type: AWS::SNS::Topic\n"
    topic = PROVISIONERS["AWS::SNS::Topic"]

    def stopped(*_: Any) -> Any:
        raise KeyboardInterrupt  # a Ctrl-C in the middle of the update

    monkeypatch.setattr(topic, "apply", stopped)
    with pytest.raises(KeyboardInterrupt):
        make_stack(app_dir(v2), "interrupted")
    record = aws("cloudformation").describe_stacks(StackName="interrupted")["Stacks"][0]
    assert record["StackStatus"] == "UPDATE_FAILED" and "interrupted" in record["StackStatusReason"]
    listed = {r["LogicalResourceId"] for r in aws("cloudformation").list_stack_resources(StackName="interrupted")["StackResourceSummaries"]}
    assert listed == {"Old", "Keep"}  # Old still exists, so it is still recorded
    monkeypatch.undo()
    done = make_stack(app_dir(v2), "interrupted")
    assert done.document["StackStatus"] == "UPDATE_COMPLETE"
    assert [r["LogicalResourceId"] for r in done.document["Resources"]] == ["Keep", "Topic"]
    assert old_url.rsplit("/", 1)[-1] not in " ".join(aws("sqs").list_queues(QueueNamePrefix="interrupted-").get("QueueUrls", []))


TYPED = """
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Enabled:
    Type: String
    Default: true
    AllowedValues: [true, false]
  Capacity:
    Type: Number
    Default: 3
Conditions:
  On: !Equals [!Ref Enabled, true]
Resources:
  Provisioned:
    Type: AWS::DynamoDB::Table
    Condition: On
    Properties:
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      ProvisionedThroughput: {ReadCapacityUnits: !Ref Capacity, WriteCapacityUnits: !Ref Capacity}
Outputs:
  Enabled:
    Value: !Ref Enabled
"""


def test_values_are_typed_as_cloudformation_types_them(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    deployment = make_stack(app_dir(TYPED), "typed")
    assert deployment.outputs["Enabled"] == "true"  # YAML's true is the parameter value "true"
    table = next(r["PhysicalResourceId"] for r in deployment.document["Resources"] if r["LogicalResourceId"] == "Provisioned")
    throughput = aws("dynamodb").describe_table(TableName=table)["Table"]["ProvisionedThroughput"]
    assert (throughput["ReadCapacityUnits"], throughput["WriteCapacityUnits"]) == (3, 3)


SUBSCRIBED = """
Resources:
  Topic:
    Type: AWS::SNS::Topic
  Inbox:
    Type: AWS::SQS::Queue
  Sub:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Topic
      Protocol: sqs
      Endpoint: !GetAtt Inbox.Arn
      RawMessageDelivery: true
      FilterPolicy: {kind: [KIND]}
Outputs:
  Topic:
    Value: !Ref Topic
  Inbox:
    Value: !Ref Inbox
  Sub:
    Value: !Ref Sub
"""


def test_a_subscriptions_new_filter_policy_is_applied(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    first = make_stack(app_dir(SUBSCRIBED.replace("KIND", "a")), "subscribed").outputs
    second = make_stack(app_dir(SUBSCRIBED.replace("KIND", "b")), "subscribed").outputs
    assert second["Sub"] == first["Sub"]
    sns, sqs = aws("sns"), aws("sqs")
    for kind in ("a", "b"):
        sns.publish(TopicArn=second["Topic"], Message=kind, MessageAttributes={"kind": {"DataType": "String", "StringValue": kind}})
    deadline, bodies = time.monotonic() + 15, []
    while time.monotonic() < deadline and not bodies:
        bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=second["Inbox"], WaitTimeSeconds=1).get("Messages", [])]
    assert bodies == ["b"]
    policy = sns.get_subscription_attributes(SubscriptionArn=second["Sub"])["Attributes"]["FilterPolicy"]
    assert json.loads(policy) == {"kind": ["b"]}


TABLE = """
Resources:
  Items:
    Type: AWS::DynamoDB::Table
    DeletionPolicy: Retain
    Properties:
      BillingMode: PAY_PER_REQUEST
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
EXTRA
Outputs:
  Table:
    Value: !Ref Items
"""
PLAIN = """      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]"""
EXTRA = """      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}, {AttributeName: kind, AttributeType: S}]
      StreamSpecification: {StreamViewType: NEW_IMAGE}
      GlobalSecondaryIndexes:
        - IndexName: by-kind
          KeySchema: [{AttributeName: kind, KeyType: HASH}]
          Projection: {ProjectionType: KEYS_ONLY}"""


def test_a_table_takes_a_new_stream_and_index_and_is_retained(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    name = make_stack(app_dir(TABLE.replace("EXTRA", PLAIN)), "tables").outputs["Table"]
    make_stack(app_dir(TABLE.replace("EXTRA", EXTRA)), "tables")
    table = aws("dynamodb").describe_table(TableName=name)["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["by-kind"]
    changed_keys = (
        TABLE.replace("EXTRA", PLAIN)
        .replace("KeySchema: [{AttributeName: pk", "KeySchema: [{AttributeName: pk2")
        .replace("AttributeName: pk, AttributeType", "AttributeName: pk2, AttributeType")
    )
    # A key change replaces an unnamed table under a new name (the old one goes), as CloudFormation does...
    replaced = make_stack(app_dir(changed_keys), "tables").outputs["Table"]
    assert replaced != name
    assert aws("dynamodb").describe_table(TableName=replaced)["Table"]["KeySchema"] == [{"AttributeName": "pk2", "KeyType": "HASH"}]
    with pytest.raises(aws("dynamodb").exceptions.ResourceNotFoundException):
        aws("dynamodb").describe_table(TableName=name)
    # ...and cannot replace a named one, whose new table would need the name the old one holds.
    named = TABLE.replace("EXTRA", PLAIN).replace("    Properties:\n", "    Properties:\n      TableName: fixed-name\n", 1)
    make_stack(app_dir(named), "named-table")
    renamed_keys = named.replace("KeySchema: [{AttributeName: pk", "KeySchema: [{AttributeName: pk2").replace(
        "AttributeName: pk, AttributeType", "AttributeName: pk2, AttributeType"
    )
    with pytest.raises(TemplateError, match="KeySchema: changing a table's keys replaces it"):
        make_stack(app_dir(renamed_keys), "named-table")
    name = replaced
    # DeletionPolicy: Retain keeps the table when it leaves the template.
    gone = make_stack(app_dir("Resources:\n  Other:\n    Type: AWS::SQS::Queue\n"), "tables")
    assert any("DeletionPolicy Retain" in w for w in gone.warnings)
    assert aws("dynamodb").describe_table(TableName=name)["Table"]["TableName"] == name


LAYERED = """
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Shared:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layer/
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
      AutoPublishAlias: live
      Layers: [!Ref Shared]
Outputs:
  Name:
    Value: !Ref Fn
"""


def test_layers_and_aliases(aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]) -> None:
    files = {
        "layer/python/shared_words.py": "WORD = 'from the layer'\n",
        "src/app.py": (
            "from shared_words import WORD\n\ndef handler(event, context):\n"
            "    return {'word': WORD, 'arn': context.invoked_function_arn}\n"
        ),
    }
    name = make_stack(app_dir(LAYERED, files), "layered").outputs["Name"]
    result = aws("lambda").invoke(FunctionName=name, Qualifier="live")
    payload = json.loads(result["Payload"].read())
    assert "FunctionError" not in result, payload
    assert payload["word"] == "from the layer" and payload["arn"].endswith(f":{name}:live")


MACHINE = """
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Counters:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: id, AttributeType: N}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
  Machine:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: Put
        States:
          Put:
            Type: Task
            Resource: arn:aws:states:::dynamodb:putItem
            Parameters:
              TableName: ${Table}
              Item: {id: {N: '7'}, Status: {N: '1'}, blob: {B: aGk=}, tags: {SS: [a, b]}}
              ConditionExpression: 'attribute_not_exists(id) OR #s = :one'
              ExpressionAttributeNames: {'#s': Status}
              ExpressionAttributeValues: {':one': {N: '2'}}
            ResultPath: null
            Catch: [{ErrorEquals: [DynamoDB.ConditionalCheckFailedException], Next: Duplicate}]
            Next: Get
          Get:
            Type: Task
            Resource: arn:aws:states:::dynamodb:getItem
            Parameters:
              TableName: ${Table}
              Key: {id: {N: '7'}}
            OutputPath: $.Item
            End: true
          Duplicate:
            Type: Pass
            Result: duplicate
            End: true
      DefinitionSubstitutions:
        Table: !Ref Counters
      Policies:
        - DynamoDBCrudPolicy: {TableName: !Ref Counters}
Outputs:
  Machine:
    Value: !Ref Machine
"""


def test_state_machine_tasks_reach_a_templates_table_as_dynamodb(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    machine = make_stack(app_dir(MACHINE), "machine").outputs["Machine"]
    sfn = aws("stepfunctions")

    def run() -> Any:
        arn = sfn.start_execution(stateMachineArn=machine)["executionArn"]
        deadline = time.monotonic() + 20
        while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert described["status"] == "SUCCEEDED", (described.get("error"), described.get("cause"))
        return json.loads(described["output"])

    # A number key, a binary and a string set, and an OR condition: DynamoDB's JSON as DynamoDB takes it.
    assert run() == {"id": {"N": "7"}, "Status": {"N": "1"}, "blob": {"B": "aGk="}, "tags": {"SS": ["a", "b"]}}
    assert run() == "duplicate"  # the item exists and Status is not 2: ConditionalCheckFailedException
