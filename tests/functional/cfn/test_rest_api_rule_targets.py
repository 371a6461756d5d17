"""An EventBridge rule whose target is a REST API of the template: the event reaches the API's function."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sluiceway.cfn.deployer import Deployment

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Orders:
    Type: AWS::Serverless::Api
    Properties:
      StageName: prod
  Seen:
    Type: AWS::SQS::Queue
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: index.handler
      Environment:
        Variables:
          QUEUE: !Ref Seen
      InlineCode: |
        import boto3, json, os
        def handler(event, context):
            boto3.client("sqs").send_message(QueueUrl=os.environ["QUEUE"], MessageBody=json.dumps(
                {"path": event["path"], "query": event["queryStringParameters"], "body": json.loads(event["body"])}))
            return {"statusCode": 200, "body": "ok"}
      Events:
        Post: {Type: Api, Properties: {RestApiId: !Ref Orders, Path: '/orders/{id}', Method: post}}
  ToApi:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: {source: [shop.orders]}
      Targets:
        - Id: api
          Arn: !Sub arn:aws:execute-api:${AWS::Region}:${AWS::AccountId}:${Orders}/prod/POST/orders/*
          HttpParameters:
            PathParameterValues: [o-7]
            QueryStringParameters: {via: events}
Outputs:
  Queue: {Value: !Ref Seen}
"""


def test_a_rule_targets_a_rest_api_of_the_template(
    app_dir: Callable[..., Path], make_stack: Callable[..., Deployment], aws: Callable[..., Any]
) -> None:
    queue = make_stack(app_dir(TEMPLATE), "rest-targets").outputs["Queue"]
    aws("events").put_events(Entries=[{"Source": "shop.orders", "DetailType": "placed", "Detail": json.dumps({"n": 7})}])
    sqs = aws("sqs")
    deadline = time.monotonic() + 30
    messages: list[Any] = []
    while not messages and time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])
    assert messages, "the API's function never ran"
    seen = json.loads(messages[0]["Body"])
    assert seen["path"] == "/orders/o-7" and seen["query"] == {"via": "events"}
    assert seen["body"]["source"] == "shop.orders" and seen["body"]["detail"] == {"n": 7}
