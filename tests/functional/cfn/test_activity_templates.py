"""AWS::StepFunctions::Activity: made through the endpoint, run by a state machine of the template, renamed and retagged."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sluiceway.cfn.deployer import Deployment
from sluiceway.cfn.errors import TemplateError

TEMPLATE = """
Resources:
  Worker:
    Type: AWS::StepFunctions::Activity
    Properties:
      Name: {name}
      Tags:
        - {{Key: team, Value: {team}}}
  Machine:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      RoleArn: arn:aws:iam::123456789012:role/sfn
      DefinitionString: !Sub |
        {{"StartAt": "Work", "States": {{"Work": {{"Type": "Task", "Resource": "${{Worker}}", "End": true}}}}}}
Outputs:
  WorkerArn: {{Value: !Ref Worker}}
  WorkerName: {{Value: !GetAtt Worker.Name}}
  Machine: {{Value: !Ref Machine}}
"""


def test_a_template_activity_is_worked_by_a_poller_and_follows_the_template(
    app_dir: Callable[..., Path], make_stack: Callable[..., Deployment], aws: Callable[..., Any]
) -> None:
    sfn = aws("stepfunctions")
    first = make_stack(app_dir(TEMPLATE.format(name="resize-images", team="media")), "activities")
    arn = first.outputs["WorkerArn"]
    assert arn.endswith(":activity:resize-images") and first.outputs["WorkerName"] == "resize-images"
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "team", "value": "media"}]

    execution = sfn.start_execution(stateMachineArn=first.outputs["Machine"], input=json.dumps({"image": "a.png"}))["executionArn"]
    task = sfn.get_activity_task(activityArn=arn, workerName="w1")
    assert json.loads(task["input"]) == {"image": "a.png"}
    sfn.send_task_success(taskToken=task["taskToken"], output=json.dumps({"done": True}))
    deadline = time.monotonic() + 30
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert described["status"] == "SUCCEEDED" and json.loads(described["output"]) == {"done": True}

    retagged = make_stack(app_dir(TEMPLATE.format(name="resize-images", team="video")), "activities")
    assert retagged.outputs["WorkerArn"] == arn
    assert sfn.list_tags_for_resource(resourceArn=arn)["tags"] == [{"key": "team", "value": "video"}]

    renamed = make_stack(app_dir(TEMPLATE.format(name="resize-photos", team="video")), "activities")
    assert renamed.outputs["WorkerArn"].endswith(":activity:resize-photos")
    with pytest.raises(sfn.exceptions.ActivityDoesNotExist):
        sfn.describe_activity(activityArn=arn)


def test_an_activitys_encryption_cannot_change_under_its_name_and_a_tag_needs_a_value(
    app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    plain = "Resources:\n  Worker:\n    Type: AWS::StepFunctions::Activity\n    Properties:\n      Name: sealed-work\n"
    make_stack(app_dir(plain), "activities-sealed")
    with pytest.raises(TemplateError, match="custom-named resource requires replacing"):
        make_stack(app_dir(plain + "      EncryptionConfiguration: {Type: AWS_OWNED_KEY}\n"), "activities-sealed")
    with pytest.raises(TemplateError, match=r"Tags\[0\]: a tag is \{Key: string, Value: string\}"):
        make_stack(app_dir(plain + "      Tags: [{Key: team}]\n"), "activities-sealed")
