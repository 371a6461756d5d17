"""HTTP API routes integrating Step Functions (``StepFunctions-*`` subtypes), deployed from a SAM template.

The subtype reference spells every parameter in PascalCase (``StateMachineArn``, ``Input``,
``ExecutionArn``) while Step Functions' members are camelCase: each parameter must reach the
operation. StartSyncExecution answers the execution's result as Step Functions does; StartExecution
starts an execution the service then describes; StopExecution stops one with its ``Error`` and ``Cause``.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sluiceway.cfn.deployer import Deployment, deploy
from sluiceway.endpoint.apigateway.service_integrations import SUBTYPES
from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Express:
    Type: AWS::Serverless::StateMachine
    Properties:
      Type: EXPRESS
      Definition:
        StartAt: Greet
        States:
          Greet: {Type: Pass, Parameters: {"greeting.$": "States.Format('hello {}', $.who)"}, End: true}
  Standard:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: Hold
        States:
          Hold: {Type: Wait, Seconds: 3600, End: true}
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement: [{Effect: Allow, Principal: {Service: apigateway.amazonaws.com}, Action: sts:AssumeRole}]
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      DefinitionBody:
        openapi: 3.0.1
        info: {title: sfn, version: '1'}
        paths:
          /sync:
            post:
              x-amazon-apigateway-integration:
                integrationSubtype: StepFunctions-StartSyncExecution
                credentials: !GetAtt Role.Arn
                requestParameters:
                  Input: $request.body
                  StateMachineArn: !Ref Express
                  Name: $request.header.x-execution-name
                payloadFormatVersion: '1.0'
                type: aws_proxy
                connectionType: INTERNET
          /start:
            post:
              x-amazon-apigateway-integration:
                integrationSubtype: StepFunctions-StartExecution
                credentials: !GetAtt Role.Arn
                requestParameters:
                  Input: $request.body
                  StateMachineArn: !Ref Standard
                  Name: $request.querystring.name
                payloadFormatVersion: '1.0'
                type: aws_proxy
                connectionType: INTERNET
          /stop:
            post:
              x-amazon-apigateway-integration:
                integrationSubtype: StepFunctions-StopExecution
                credentials: !GetAtt Role.Arn
                requestParameters:
                  ExecutionArn: $request.querystring.arn
                  Error: Stopped.ByApi
                  Cause: $request.body
                payloadFormatVersion: '1.0'
                type: aws_proxy
                connectionType: INTERNET
Outputs:
  Url:
    Value: !Sub https://${Api}.execute-api.${AWS::Region}.amazonaws.com/
  Express:
    Value: !Ref Express
  Standard:
    Value: !Ref Standard
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack without a built-in app: the template brings the state machines and the API."""
    settings = Settings.load(data_dir=tmp_path_factory.mktemp("sfn-api") / "data", workers=2, endpoint_port=free_port())
    built = build_stack(settings, app=None, invoker_mode="thread")
    built.start("http api step functions tests")
    try:
        yield built
    finally:
        built.close()


@pytest.fixture(scope="module")
def deployed(endpoint: Endpoint, tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    root = tmp_path_factory.mktemp("sfn-api-app")
    (root / "template.yaml").write_text(TEMPLATE, encoding="utf-8")
    return deploy(endpoint, root / "template.yaml", "httpapi-sfn", {}, cache_dir=root / "cache")


def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def local(endpoint: Endpoint, outputs: dict[str, str]) -> str:
    """The API's base URL (a stack's outputs name its local stand-in for the execute-api host)."""
    return outputs["Url"].rstrip("/")


def test_every_documented_parameter_names_a_member_of_its_operation() -> None:
    from sluiceway.endpoint import protocol

    for name, subtype in SUBTYPES.items():
        shape: Any = protocol.service_model(subtype.service).operation_model(subtype.operation).input_shape
        if subtype.operation == "PutEvents":
            shape = shape.members["Entries"].member
        members = {member.lower() for member in shape.members}
        for parameter in (*subtype.required, *subtype.optional):
            if parameter != "Region":  # where the call goes, not a member
                assert parameter.lower() in members, (name, parameter)


def test_start_sync_execution_answers_the_execution_s_result(endpoint: Endpoint, deployed: Deployment) -> None:
    outputs = deployed.outputs
    status, headers, body = post(local(endpoint, outputs) + "/sync", b'{"who": "api"}', {"x-execution-name": "sync-run-1"})
    assert status == 200, body
    assert headers["apigw-requestid"]
    assert body["status"] == "SUCCEEDED"
    assert body["stateMachineArn"] == outputs["Express"]
    assert body["name"] == "sync-run-1"
    assert body["executionArn"].split(":")[6:8] == [outputs["Express"].rsplit(":", 1)[1], "sync-run-1"]
    assert json.loads(body["input"]) == {"who": "api"}
    assert json.loads(body["output"]) == {"greeting": "hello api"}
    assert isinstance(body["startDate"], (int, float)) and body["stopDate"] >= body["startDate"]


def test_start_execution_then_stop_execution(endpoint: Endpoint, deployed: Deployment, aws: Callable[..., Any]) -> None:
    outputs = deployed.outputs
    base = local(endpoint, outputs)
    status, _, started = post(base + "/start?name=held-1", b'{"n": 1}')
    assert status == 200, started
    assert set(started) == {"executionArn", "startDate"}
    arn = started["executionArn"]
    assert arn == outputs["Standard"].replace(":stateMachine:", ":execution:") + ":held-1"
    sfn = aws("stepfunctions")
    described = sfn.describe_execution(executionArn=arn)
    assert described["status"] == "RUNNING" and json.loads(described["input"]) == {"n": 1}

    status, _, stopped = post(base + "/stop?arn=" + urllib.request.quote(arn, safe=""), b"no longer wanted")
    assert status == 200, stopped
    assert set(stopped) == {"stopDate"}
    deadline = time.monotonic() + 10
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert described["status"] == "ABORTED"
    assert (described["error"], described["cause"]) == ("Stopped.ByApi", "no longer wanted")


def test_a_refusal_of_the_service_is_relayed(endpoint: Endpoint, deployed: Deployment) -> None:
    base = local(endpoint, deployed.outputs)
    status, _, first = post(base + "/start?name=twice", b"{}")
    assert status == 200, first
    status, _, again = post(base + "/start?name=twice", b'{"other": true}')
    assert status == 400
    assert again["__type"] == "ExecutionAlreadyExists"
    status, _, missing = post(base + "/stop", b"")  # ExecutionArn maps to nothing
    assert (status, missing) == (400, {"message": "Bad Request"})
