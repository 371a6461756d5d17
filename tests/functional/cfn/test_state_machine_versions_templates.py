"""AWS::StepFunctions::StateMachineVersion and StateMachineAlias, as SAM's AutoPublishAlias makes them:
a template's machine is published and its alias routes to the newest version after an update."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sluiceway.cfn.deployer import Deployment

Aws = Callable[..., Any]

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Flow:
    Type: AWS::Serverless::StateMachine
    Properties:
      Name: versioned-flow
      AutoPublishAlias: live
      Definition:
        StartAt: P
        States:
          P: {Type: Pass, Result: {v: RESULT}, End: true}
Outputs:
  Alias:
    Value: !Ref FlowAliaslive
"""


def _ended(sfn: Any, arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        assert time.monotonic() < deadline, "execution never ended"
        time.sleep(0.02)


def test_auto_publish_alias_follows_the_newest_version(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    sfn = aws("stepfunctions")
    first = make_stack(app_dir(TEMPLATE.replace("RESULT", "one")), "versioned")
    alias = first.outputs["Alias"]
    machine = alias.rsplit(":", 1)[0]
    assert machine.endswith(":stateMachine:versioned-flow") and alias == f"{machine}:live"
    routing = sfn.describe_state_machine_alias(stateMachineAliasArn=alias)["routingConfiguration"]
    assert routing == [{"stateMachineVersionArn": f"{machine}:1", "weight": 100}]
    run = _ended(sfn, sfn.start_execution(stateMachineArn=alias)["executionArn"])
    assert json.loads(run["output"]) == {"v": "one"} and run["stateMachineVersionArn"] == f"{machine}:1"
    # The same template again publishes nothing new; a changed definition publishes version 2.
    make_stack(app_dir(TEMPLATE.replace("RESULT", "one")), "versioned")
    assert len(sfn.list_state_machine_versions(stateMachineArn=machine)["stateMachineVersions"]) == 1
    make_stack(app_dir(TEMPLATE.replace("RESULT", "two")), "versioned")
    routing = sfn.describe_state_machine_alias(stateMachineAliasArn=alias)["routingConfiguration"]
    assert routing == [{"stateMachineVersionArn": f"{machine}:2", "weight": 100}]
    run = _ended(sfn, sfn.start_execution(stateMachineArn=alias)["executionArn"])
    assert json.loads(run["output"]) == {"v": "two"} and run["stateMachineVersionArn"] == f"{machine}:2"
