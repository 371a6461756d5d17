"""Templates made into stacks on a running local stack: resources, intrinsics, updates, custom resources, the CloudFormation API."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sluiceway.cfn.deployer import Deployment
from sluiceway.cfn.errors import TemplateError

Aws = Callable[..., Any]


def wait_for(fn: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


MESSAGING = """
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Env:
    Type: String
    Default: dev
    AllowedValues: [dev, prod]
  Retries:
    Type: Number
    Default: 4
Mappings:
  Sizes:
    dev: {Batch: '5'}
    prod: {Batch: '10'}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  NotProd: !Not [!Condition IsProd]
Resources:
  DeadLetters:
    Type: AWS::SQS::Queue
    Properties:
      MessageRetentionPeriod: 1209600
  Work:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub '${AWS::StackName}-work-${Env}'
      VisibilityTimeout: 45
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt DeadLetters.Arn
        maxReceiveCount: !Ref Retries
  ProdOnly:
    Type: AWS::SQS::Queue
    Condition: IsProd
  Alerts:
    Type: AWS::SNS::Topic
  AlertsToWork:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Alerts
      Protocol: sqs
      Endpoint: !GetAtt Work.Arn
      RawMessageDelivery: true
      FilterPolicy:
        severity: [high]
  Items:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: kind, AttributeType: S}
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      GlobalSecondaryIndexes:
        - IndexName: by-kind
          KeySchema: [{AttributeName: kind, KeyType: HASH}]
          Projection: {ProjectionType: ALL}
  Vpc:
    Type: AWS::EC2::VPC
    Properties:
      CidrBlock: 10.0.0.0/16
Outputs:
  WorkUrl:
    Value: !Ref Work
  WorkName:
    Value: !GetAtt Work.QueueName
    Export:
      Name: !Sub '${AWS::StackName}-work'
  Batch:
    Value: !FindInMap [Sizes, !Ref Env, Batch]
  Mode:
    Value: !If [IsProd, production, !Join ['-', [not, !Select [1, !Split [',', 'a,prod,c']]]]]
  NotProdFlag:
    Condition: NotProd
    Value: !Sub '${AWS::Region}/${AWS::AccountId}/${AWS::URLSuffix}'
  ProdQueue:
    Condition: IsProd
    Value: !Ref ProdOnly
"""


def test_resources_parameters_conditions_and_outputs(aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]) -> None:
    deployment = make_stack(app_dir(MESSAGING), "messaging")
    outputs = deployment.outputs
    assert outputs["WorkName"] == "messaging-work-dev"
    assert outputs["WorkUrl"].endswith("/messaging-work-dev")
    assert outputs["Batch"] == "5"
    assert outputs["Mode"] == "not-prod"
    assert outputs["NotProdFlag"].startswith("us-east-1/") and outputs["NotProdFlag"].endswith("/amazonaws.com")
    assert "ProdQueue" not in outputs
    assert any("AWS::EC2::VPC" in w for w in deployment.warnings)

    stack = aws("cloudformation").describe_stacks(StackName="messaging")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]} == outputs
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]} == {"Env": "dev", "Retries": "4"}
    resources = aws("cloudformation").describe_stack_resources(StackName="messaging")["StackResources"]
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}
    assert "ProdOnly" not in physical
    # Unnamed resources get CloudFormation's names: <stack>-<logical id>-<13 characters>.
    assert physical["DeadLetters"].rsplit("/", 1)[-1].startswith("messaging-DeadLetters-")
    assert physical["Items"].startswith("messaging-Items-")
    listed = aws("cloudformation").list_stack_resources(StackName="messaging")["StackResourceSummaries"]
    assert {r["LogicalResourceId"] for r in listed} == set(physical)

    sqs = aws("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=outputs["WorkUrl"], AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "45"
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["maxReceiveCount"] == 4 and redrive["deadLetterTargetArn"].endswith(":" + physical["DeadLetters"].rsplit("/", 1)[-1])

    # The subscription's filter policy and raw delivery hold: only the high-severity message arrives, as sent.
    topic = physical["Alerts"]
    sns = aws("sns")
    sns.publish(TopicArn=topic, Message="low", MessageAttributes={"severity": {"DataType": "String", "StringValue": "low"}})
    sns.publish(TopicArn=topic, Message="high", MessageAttributes={"severity": {"DataType": "String", "StringValue": "high"}})
    received = wait_for(lambda: sqs.receive_message(QueueUrl=outputs["WorkUrl"], WaitTimeSeconds=1).get("Messages"), what="message")
    assert [m["Body"] for m in received] == ["high"]

    table = aws("dynamodb").describe_table(TableName=physical["Items"])["Table"]
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["by-kind"]
    exports = aws("cloudformation").list_exports()["Exports"]
    assert {"Name": "messaging-work", "Value": "messaging-work-dev"}.items() <= {e["Name"]: e for e in exports}["messaging-work"].items()


def test_parameter_overrides_and_their_checks(app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]) -> None:
    template = app_dir(MESSAGING)
    with pytest.raises(TemplateError, match=r"Parameters.Env: 'staging' is not one of the AllowedValues"):
        make_stack(template, "overrides", {"Env": "staging"})
    with pytest.raises(TemplateError, match="names no parameter of the template: Nope"):
        make_stack(template, "overrides", {"Nope": "1"})
    deployment = make_stack(template, "overrides", {"Env": "prod"})
    assert deployment.outputs["Mode"] == "production" and "ProdQueue" in deployment.outputs


FUNCTIONS = """
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Inbox:
    Type: AWS::SQS::Queue
  Records:
    Type: AWS::Serverless::SimpleTable
  Recorder:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: recorder.handler
      Runtime: python3.11
      Timeout: 10
      Environment:
        Variables:
          TABLE: !Ref Records
      Events:
        FromInbox:
          Type: SQS
          Properties:
            Queue: !GetAtt Inbox.Arn
            BatchSize: 5
  Bus:
    Type: AWS::Events::EventBus
    Properties:
      Name: orders-bus
  Shaped:
    Type: AWS::SQS::Queue
  ToShaped:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: !Ref Bus
      EventPattern:
        source: [shop]
      Targets:
        - Id: shaped
          Arn: !GetAtt Shaped.Arn
          InputTransformer:
            InputPathsMap: {order: $.detail.order}
            InputTemplate: '"order <order>"'
Outputs:
  InboxUrl:
    Value: !Ref Inbox
  Table:
    Value: !Ref Records
  ShapedUrl:
    Value: !Ref Shaped
  RuleRef:
    Value: !Ref ToShaped
"""

RECORDER = """
import os
import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE"])

def handler(event, context):
    for record in event["Records"]:
        table.put_item(Item={"id": record["messageId"], "body": record["body"], "fn": context.function_name})
    print(f"recorded {len(event['Records'])}")
"""


def test_functions_event_sources_and_rules(aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]) -> None:
    deployment = make_stack(app_dir(FUNCTIONS, {"src/recorder.py": RECORDER}), "functions")
    outputs = deployment.outputs
    assert outputs["RuleRef"].startswith("orders-bus|functions-ToShaped-")  # a rule on a custom bus: "bus|rule"
    aws("sqs").send_message(QueueUrl=outputs["InboxUrl"], MessageBody="hello")
    items = wait_for(lambda: aws("dynamodb").scan(TableName=outputs["Table"])["Items"], what="the function's item")
    assert items[0]["body"] == {"S": "hello"}
    assert items[0]["fn"]["S"].startswith("functions-Recorder-")

    aws("events").put_events(Entries=[{"Source": "shop", "DetailType": "order", "Detail": '{"order": 42}', "EventBusName": "orders-bus"}])
    messages = wait_for(lambda: aws("sqs").receive_message(QueueUrl=outputs["ShapedUrl"], WaitTimeSeconds=1).get("Messages"), what="event")
    assert messages[0]["Body"] == '"order 42"'


CUSTOM = """
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Who:
    Type: String
    Default: world
Resources:
  Journal:
    Type: AWS::S3::Bucket
  Greeter:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: index.handler
      Timeout: 10
      Environment:
        Variables:
          JOURNAL: !Ref Journal
      InlineCode: |
        import os
        import boto3
        import cfnresponse

        def handler(event, context):
            kind = event["RequestType"]
            boto3.client("s3").put_object(Bucket=os.environ["JOURNAL"], Key=f"events/{kind}", Body=event.get("PhysicalResourceId", "-"))
            if kind == "Delete":
                cfnresponse.send(event, context, cfnresponse.SUCCESS, {})
                return
            who = event["ResourceProperties"]["Who"]
            if who == "nobody":
                cfnresponse.send(event, context, cfnresponse.FAILED, {}, reason="nobody to greet")
                return
            data = {"Greeting": f"hello {who}", "CountType": type(event["ResourceProperties"]["Count"]).__name__}
            cfnresponse.send(event, context, cfnresponse.SUCCESS, data, physicalResourceId="greeting-1")
  Greeting:
    Type: Custom::Greeting
    Properties:
      ServiceToken: !GetAtt Greeter.Arn
      Who: !Ref Who
      Count: 5
Outputs:
  Greeting:
    Value: !GetAtt Greeting.Greeting
  Id:
    Value: !Ref Greeting
  CountType:
    Value: !GetAtt Greeting.CountType
  Journal:
    Value: !Ref Journal
"""


def test_custom_resource_create_update_and_delete(aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]) -> None:
    template = app_dir(CUSTOM)
    created = make_stack(template, "custom")
    assert created.outputs["Greeting"] == "hello world" and created.outputs["Id"] == "greeting-1"
    assert created.outputs["CountType"] == "str"  # CloudFormation sends every property value as text
    journal = created.outputs["Journal"]
    s3 = aws("s3")
    assert s3.get_object(Bucket=journal, Key="events/Create")["Body"].read() == b"-"

    unchanged = make_stack(template, "custom")  # the same properties: no request is sent
    assert unchanged.document["StackStatus"] == "UPDATE_COMPLETE" and unchanged.outputs["Greeting"] == "hello world"
    assert "events/Update" not in {o["Key"] for o in s3.list_objects_v2(Bucket=journal).get("Contents", [])}

    updated = make_stack(template, "custom", {"Who": "sluiceway"})
    assert updated.outputs["Greeting"] == "hello sluiceway"
    assert s3.get_object(Bucket=journal, Key="events/Update")["Body"].read() == b"greeting-1"

    with pytest.raises(TemplateError, match="nobody to greet"):
        make_stack(template, "custom", {"Who": "nobody"})
    failed = aws("cloudformation").describe_stacks(StackName="custom")["Stacks"][0]
    assert failed["StackStatus"] == "UPDATE_FAILED" and "nobody to greet" in failed["StackStatusReason"]

    # The resource leaves the template: its function is sent Delete with its physical id.
    without = CUSTOM.replace(
        "  Greeting:\n    Type: Custom::Greeting",
        "  Unused:\n    Type: AWS::SQS::Queue\n  Was:\n    Type: Custom::Gone\n    Condition: Never",
    )
    without = without.replace(
        "Outputs:\n  Greeting:\n    Value: !GetAtt Greeting.Greeting\n  Id:\n    Value: !Ref Greeting\n"
        "  CountType:\n    Value: !GetAtt Greeting.CountType\n",
        "Outputs:\n",
    )
    without = without.replace("Resources:", "Conditions:\n  Never: !Equals [a, b]\nResources:", 1)
    make_stack(app_dir(without), "custom")
    assert s3.get_object(Bucket=journal, Key="events/Delete")["Body"].read() == b"greeting-1"


def test_an_update_deletes_what_left_the_template(aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]) -> None:
    two = "Resources:\n  Kept:\n    Type: AWS::SQS::Queue\n  Dropped:\n    Type: AWS::SQS::Queue\n"
    first = make_stack(app_dir(two), "shrinking")
    dropped = next(r["PhysicalResourceId"] for r in first.document["Resources"] if r["LogicalResourceId"] == "Dropped")
    second = make_stack(app_dir("Resources:\n  Kept:\n    Type: AWS::SQS::Queue\n"), "shrinking")
    assert second.document["StackStatus"] == "UPDATE_COMPLETE"
    assert [r["LogicalResourceId"] for r in second.document["Resources"]] == ["Kept"]
    urls = aws("sqs").list_queues(QueueNamePrefix="shrinking-").get("QueueUrls", [])
    assert dropped not in urls and len(urls) == 1


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (
            "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !Ref Missing\n",
            r"Resources.Q.Properties.QueueName.Ref: Ref to 'Missing'",
        ),
        (
            "Resources:\n  A:\n    Type: AWS::SQS::Queue\n    DependsOn: B\n  B:\n    Type: AWS::SQS::Queue\n    DependsOn: A\n",
            "circular dependency",
        ),
        (
            "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !GetAtt T.Nope\n"
            "  T:\n    Type: AWS::SNS::Topic\n",
            "T has no attribute 'Nope'",
        ),
        ("Resources: [\n", "not valid YAML"),
        (
            "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: 'bad name!'\n",
            r"Resources.Q \(AWS::SQS::Queue\): InvalidParameterValue",
        ),
    ],
)
def test_a_bad_template_fails_with_where_and_why(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment], template: str, message: str
) -> None:
    with pytest.raises(TemplateError, match=message):
        make_stack(app_dir(template), "broken")


STREAMS = """
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Orders:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}
  Changes:
    Type: AWS::SQS::Queue
  Watcher:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: index.handler
      Environment:
        Variables:
          QUEUE: !Ref Changes
      InlineCode: |
        import json, os
        import boto3
        sqs = boto3.client("sqs")
        def handler(event, context):
            for record in event["Records"]:
                sqs.send_message(QueueUrl=os.environ["QUEUE"], MessageBody=json.dumps([record["eventName"], record["dynamodb"]["Keys"]]))
      Events:
        Stream:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Orders.StreamArn
            StartingPosition: TRIM_HORIZON
            BatchSize: 10
Outputs:
  Table:
    Value: !Ref Orders
  StreamArn:
    Value: !GetAtt Orders.StreamArn
  ChangesUrl:
    Value: !Ref Changes
"""


def test_dynamodb_stream_invokes_its_function(aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]) -> None:
    outputs = make_stack(app_dir(STREAMS), "streams").outputs
    assert ":table/" in outputs["StreamArn"] and "/stream/" in outputs["StreamArn"]
    dynamodb = aws("dynamodb")
    dynamodb.put_item(TableName=outputs["Table"], Item={"id": {"S": "o-1"}, "n": {"N": "1"}})
    dynamodb.delete_item(TableName=outputs["Table"], Key={"id": {"S": "o-1"}})
    seen: list[Any] = []

    def two() -> bool:
        for message in (
            aws("sqs").receive_message(QueueUrl=outputs["ChangesUrl"], MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        ):
            seen.append(json.loads(message["Body"]))
        return len(seen) >= 2

    wait_for(two, what="two stream records")
    assert seen == [["INSERT", {"id": {"S": "o-1"}}], ["REMOVE", {"id": {"S": "o-1"}}]]


EVENTS = """
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  FireAt:
    Type: String
Globals:
  Function:
    Runtime: python3.11
    Timeout: 10
    CodeUri: src/
    Environment:
      Variables:
        OUT: !Ref Out
Resources:
  Out:
    Type: AWS::SQS::Queue
  Uploads:
    Type: AWS::S3::Bucket
  OnUpload:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.upload
      Events:
        Images:
          Type: S3
          Properties:
            Bucket: !Ref Uploads
            Events: s3:ObjectCreated:*
            Filter:
              S3Key:
                Rules: [{Name: prefix, Value: images/}, {Name: suffix, Value: .png}]
  OnRule:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.rule
      Events:
        Orders:
          Type: EventBridgeRule
          Properties:
            Pattern: {source: [shop], detail-type: [order]}
            InputPath: $.detail
  OnSchedule:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.scheduled
      Events:
        Once:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: !Sub 'at(${FireAt})'
            Input: '{"from": "scheduler"}'
Outputs:
  Out:
    Value: !Ref Out
  Uploads:
    Value: !Ref Uploads
"""

EVENT_HANDLERS = """
import json, os
import boto3

sqs = boto3.client("sqs")

def _out(kind, body):
    sqs.send_message(QueueUrl=os.environ["OUT"], MessageBody=json.dumps([kind, body]))

def upload(event, context):
    for record in event["Records"]:
        _out("s3", record["s3"]["object"]["key"])

def rule(event, context):
    _out("rule", event)

def scheduled(event, context):
    _out("schedule", event)
"""


def test_sam_event_sources_fire(aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]) -> None:
    from datetime import UTC, datetime, timedelta

    fire_at = (datetime.now(UTC) + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S")
    outputs = make_stack(app_dir(EVENTS, {"src/app.py": EVENT_HANDLERS}), "events", {"FireAt": fire_at}).outputs
    s3 = aws("s3")
    for key in ("images/a.png", "images/b.jpg", "other/c.png"):
        s3.put_object(Bucket=outputs["Uploads"], Key=key, Body=b"x")
    aws("events").put_events(Entries=[{"Source": "shop", "DetailType": "order", "Detail": '{"order": 7}'}])
    seen: list[Any] = []

    def three() -> bool:
        messages = aws("sqs").receive_message(QueueUrl=outputs["Out"], MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        seen.extend(json.loads(m["Body"]) for m in messages)
        return len(seen) >= 3

    wait_for(three, timeout=30, what="an upload, a rule and a schedule")
    time.sleep(0.5)  # nothing more may come: the .jpg and the other prefix are filtered out
    seen.extend(json.loads(m["Body"]) for m in aws("sqs").receive_message(QueueUrl=outputs["Out"], WaitTimeSeconds=0).get("Messages", []))
    assert sorted(seen, key=str) == sorted([["s3", "images/a.png"], ["rule", {"order": 7}], ["schedule", {"from": "scheduler"}]], key=str)
