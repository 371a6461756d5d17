"""AWS variables in an API definition pulled in by ``AWS::Include``, without ``Fn::Sub``.

CloudFormation inserts the included file as written; API Gateway resolves ``${AWS::Region}``,
``${AWS::AccountId}`` and ``${AWS::Partition}`` when it imports the definition. Published SAM apps
(serverless-patterns step-function-sync-rest-api) name the service action and the state machine that way.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sluiceway.cfn.deployer import deploy
from sluiceway.endpoint.apigateway.import_variables import resolve_import_variables
from sluiceway.endpoint.server import Endpoint

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Greeter:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: IncludedGreeter
      Type: EXPRESS
      Definition:
        StartAt: Greet
        States:
          Greet: {Type: Pass, Parameters: {"greeting.$": "States.Format('hello {}', $.who)"}, End: true}
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement: [{Effect: Allow, Principal: {Service: apigateway.amazonaws.com}, Action: sts:AssumeRole}]
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
      DefinitionBody:
        Fn::Transform:
          Name: AWS::Include
          Parameters:
            Location: ./api.yaml
Outputs:
  Url:
    Value: !Sub https://${Api}.execute-api.${AWS::Region}.amazonaws.com/dev
"""

API = """\
openapi: 3.0.1
info: {title: included, version: '1'}
paths:
  /:
    post:
      responses:
        '200': {description: ok}
      x-amazon-apigateway-integration:
        type: aws
        httpMethod: POST
        credentials:
          Fn::GetAtt: [Role, Arn]
        uri: arn:aws:apigateway:${AWS::Region}:states:action/StartSyncExecution
        passthroughBehavior: when_no_templates
        requestTemplates:
          application/json: |-
            #set($data = $util.escapeJavaScript($input.json('$')))
            {"input": "$data",
             "stateMachineArn": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:IncludedGreeter"}
        responses:
          default:
            statusCode: '200'
            responseTemplates:
              application/json: $input.json('$.output')
"""


def test_an_included_definition_s_aws_variables_resolve_on_import(
    endpoint: Endpoint, app_dir: Callable[..., Path], aws: Callable[..., Any]
) -> None:
    template = app_dir(TEMPLATE, files={"api.yaml": API})
    deployment = deploy(endpoint, template, "include-variables", {}, cache_dir=template.parent / "cache")
    request = urllib.request.Request(
        deployment.outputs["Url"] + "/", data=b'{"who": "include"}', method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        status, body = response.status, response.read()
    assert status == 200, body
    # $input.json('$.output') renders the execution's output (a JSON string) as a JSON string.
    assert json.loads(json.loads(body)) == {"greeting": "hello include"}
    executions = aws("stepfunctions").list_state_machines()["stateMachines"]
    assert [m["stateMachineArn"].split(":")[3] for m in executions if m["name"] == "IncludedGreeter"] == ["us-east-1"]


def test_only_api_gateway_s_variables_are_resolved() -> None:
    body = {
        "paths": {"/${AWS::Region}": {"uri": "arn:${AWS::Partition}:apigateway:${AWS::Region}:states:action/X"}},
        "templates": ["${AWS::AccountId}/${AWS::StackName}/${stageVariables.env}/${AWS::URLSuffix}", 3, None],
    }
    assert resolve_import_variables(body, region="eu-west-1", account_id="123456789012") == {
        "paths": {"/${AWS::Region}": {"uri": "arn:aws:apigateway:eu-west-1:states:action/X"}},
        "templates": ["123456789012/${AWS::StackName}/${stageVariables.env}/${AWS::URLSuffix}", 3, None],
    }
