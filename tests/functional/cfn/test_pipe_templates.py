"""A template's AWS::Pipes::Pipe is a running pipe: SQS -> filter -> Step Functions, as the template says,
changed in place by a new template and gone with the resource."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.cfn.deployer import Deployment

Aws = Callable[..., Any]
DEADLINE_S = 15.0


def template(kind: str = "order", description: str = "orders to the workflow") -> str:
    return f"""
Resources:
  Orders:
    Type: AWS::SQS::Queue
  Workflow:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      RoleArn: arn:aws:iam::111111111111:role/sfn
      Definition:
        StartAt: Done
        States:
          Done:
            Type: Pass
            End: true
  OrdersPipe:
    Type: AWS::Pipes::Pipe
    Properties:
      Description: {description}
      RoleArn: arn:aws:iam::111111111111:role/pipes
      Source: !GetAtt Orders.Arn
      SourceParameters:
        SqsQueueParameters:
          BatchSize: "5"
        FilterCriteria:
          Filters:
            - Pattern: '{{"body": {{"kind": ["{kind}"]}}}}'
      Target: !Ref Workflow
      TargetParameters:
        InputTemplate: '{{"id": <$.body.id>, "pipe": "<aws.pipes.pipe-name>"}}'
        StepFunctionStateMachineParameters:
          InvocationType: FIRE_AND_FORGET
      Tags:
        team: data
Outputs:
  Pipe:
    Value: !Ref OrdersPipe
  PipeArn:
    Value: !GetAtt OrdersPipe.Arn
  State:
    Value: !GetAtt OrdersPipe.CurrentState
  Queue:
    Value: !Ref Orders
  Workflow:
    Value: !Ref Workflow
"""


def _until(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _inputs(sfn: Any, machine: str) -> list[Any]:
    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    return [json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"]) for e in executions]


def test_a_template_pipe_runs_filters_and_goes_with_the_template(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    sqs, sfn, pipes = aws("sqs"), aws("stepfunctions"), aws("pipes")
    outputs = make_stack(app_dir(template()), "piped").outputs
    name, queue, machine = outputs["Pipe"], outputs["Queue"], outputs["Workflow"]
    assert name.startswith("piped-OrdersPipe-") and outputs["PipeArn"].endswith(f":pipe/{name}") and outputs["State"] == "RUNNING"
    described = pipes.describe_pipe(Name=name)
    assert described["SourceParameters"]["SqsQueueParameters"]["BatchSize"] == 5 and described["Tags"] == {"team": "data"}

    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"kind": "order", "id": 7}))
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"kind": "refund", "id": 8}))
    assert _until(lambda: _inputs(sfn, machine), "an execution") == [[{"id": 7, "pipe": name}]]

    # The same template with another filter changes the pipe in place.
    make_stack(app_dir(template(kind="refund", description="refunds")), "piped")
    assert pipes.describe_pipe(Name=name)["Description"] == "refunds"
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"kind": "refund", "id": 9}))
    _until(lambda: len(_inputs(sfn, machine)) == 2, "a second execution")
    assert [{"id": 9, "pipe": name}] in _inputs(sfn, machine)

    make_stack(app_dir("Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n"), "piped")
    with pytest.raises(ClientError) as gone:
        pipes.describe_pipe(Name=name)
    assert gone.value.response["Error"]["Code"] == "NotFoundException"


def _pipe_template(properties: str) -> str:
    return f"""
Resources:
  Orders:
    Type: AWS::SQS::Queue
  Out:
    Type: AWS::SQS::Queue
  OrdersPipe:
    Type: AWS::Pipes::Pipe
    Properties:
      RoleArn: arn:aws:iam::111111111111:role/pipes
      Source: !GetAtt Orders.Arn
      Target: !GetAtt Out.Arn
{properties}
Outputs:
  Pipe:
    Value: !Ref OrdersPipe
"""


def test_properties_a_new_template_leaves_out_are_cleared_on_the_pipe(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    pipes = aws("pipes")
    full = """      Description: orders
      DesiredState: STOPPED
      SourceParameters:
        SqsQueueParameters:
          BatchSize: 5
        FilterCriteria:
          Filters:
            - Pattern: '{"body": {"kind": ["order"]}}'
      TargetParameters:
        InputTemplate: '{"id": <$.body.id>}'"""
    name = make_stack(app_dir(_pipe_template(full)), "dropping").outputs["Pipe"]
    before = pipes.describe_pipe(Name=name)
    assert (before["DesiredState"], before["Description"]) == ("STOPPED", "orders") and before["SourceParameters"]["FilterCriteria"]

    # The same pipe without them: UpdatePipe keeps what it is not sent, so they are sent cleared.
    make_stack(app_dir(_pipe_template("")), "dropping")
    after = pipes.describe_pipe(Name=name)
    assert "Description" not in after and "FilterCriteria" not in after["SourceParameters"]
    assert "InputTemplate" not in after.get("TargetParameters", {})
    assert after["SourceParameters"]["SqsQueueParameters"]["BatchSize"] == 10  # back to Pipes' default
    assert (after["DesiredState"], after["CurrentState"]) == ("RUNNING", "RUNNING")
