"""AWS::StepFunctions::StateMachine across template updates: the machine is brought to the template's
definition, role, logging and tracing, and a template that changes nothing makes no new revision."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sluiceway.cfn.deployer import Deployment

Aws = Callable[..., Any]

TEMPLATE = """
Resources:
  Group:
    Type: AWS::Logs::LogGroup
    Properties: {LogGroupName: /cfn/flow-logs}
  Flow:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      StateMachineName: cfn-logged-flow
      RoleArn: arn:aws:iam::111111111111:role/ROLE
EXTRA      Definition:
        StartAt: P
        States:
          P: {Type: Pass, End: true}
"""
LOGGING = """      LoggingConfiguration:
        Level: ERROR
        IncludeExecutionData: true
        Destinations: [{CloudWatchLogsLogGroup: {LogGroupArn: !GetAtt Group.Arn}}]
"""
OFF = {"level": "OFF", "includeExecutionData": False}


def test_logging_alone_changes_and_is_dropped_with_the_template(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    sfn = aws("stepfunctions")
    plain = TEMPLATE.replace("EXTRA", "").replace("ROLE", "first")
    logged = TEMPLATE.replace("EXTRA", LOGGING).replace("ROLE", "first")

    def described() -> dict[str, Any]:
        machines = sfn.list_state_machines()["stateMachines"]
        arn = next(m["stateMachineArn"] for m in machines if m["name"] == "cfn-logged-flow")
        return dict(sfn.describe_state_machine(stateMachineArn=arn))

    make_stack(app_dir(plain), "cfn-logged")
    assert described()["loggingConfiguration"] == OFF
    assert "revisionId" not in described()

    make_stack(app_dir(logged), "cfn-logged")  # only LoggingConfiguration differs
    after = described()
    group_arn = aws("logs").describe_log_groups(logGroupNamePrefix="/cfn/flow-logs")["logGroups"][0]["arn"]
    assert after["loggingConfiguration"] == {
        "level": "ERROR",
        "includeExecutionData": True,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": group_arn}}],
    }
    revision = after["revisionId"]

    make_stack(app_dir(logged), "cfn-logged")  # the same template: no update, no new revision
    assert described()["revisionId"] == revision

    make_stack(app_dir(plain), "cfn-logged")  # dropped from the template: turned off
    dropped = described()
    assert dropped["loggingConfiguration"] == OFF and dropped["revisionId"] != revision

    # Only the role differs: CreateStateMachine ignores it (idempotent), the update brings it.
    make_stack(app_dir(TEMPLATE.replace("EXTRA", "").replace("ROLE", "second")), "cfn-logged")
    assert described()["roleArn"] == "arn:aws:iam::111111111111:role/second"
