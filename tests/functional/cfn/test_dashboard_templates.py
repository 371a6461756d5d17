"""A template's AWS::CloudWatch::Dashboard is put on the endpoint: GetDashboard reads it back,
a new name replaces it, removing it from the template deletes it, a bad body fails the resource."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

# Registers the dashboard operations (the service module imports it too).
import sluiceway.endpoint.services._cloudwatch_dashboards  # noqa: F401
from sluiceway.cfn.deployer import Deployment
from sluiceway.cfn.errors import TemplateError

Aws = Callable[..., Any]

BODY = {"widgets": [{"type": "text", "x": 0, "y": 0, "width": 6, "height": 3, "properties": {"markdown": "Made by a template"}}]}

TEMPLATE = """
Resources:
  Queue:
    Type: AWS::SQS::Queue
  Named:
    Type: AWS::CloudWatch::Dashboard
    Properties:
      DashboardName: NAME
      DashboardBody: !Sub '{"widgets": [{"type": "text", "width": 6, "height": 3, "properties": {"markdown": "${Queue.QueueName}"}}]}'
  Unnamed:
    Type: AWS::CloudWatch::Dashboard
    Properties:
      DashboardBody: 'BODY'
Outputs:
  Named:
    Value: !Ref Named
  Unnamed:
    Value: !Ref Unnamed
  Queue:
    Value: !GetAtt Queue.QueueName
"""


def template(name: str, body: str = json.dumps(BODY)) -> str:
    return TEMPLATE.replace("NAME", name).replace("BODY", body)


def test_a_templates_dashboards_are_read_back_renamed_and_deleted(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    cw = aws("cloudwatch")
    outputs = make_stack(app_dir(template("Ops-Board")), "boards").outputs
    assert outputs["Named"] == "Ops-Board"
    named = cw.get_dashboard(DashboardName="Ops-Board")
    assert named["DashboardArn"].endswith(":dashboard/Ops-Board") and named["DashboardArn"].startswith("arn:aws:cloudwatch::")
    assert json.loads(named["DashboardBody"])["widgets"][0]["properties"]["markdown"] == outputs["Queue"]
    unnamed = outputs["Unnamed"]
    assert unnamed.startswith("boards-Unnamed-")
    assert json.loads(cw.get_dashboard(DashboardName=unnamed)["DashboardBody"]) == BODY

    # A new name replaces the dashboard: the old one is gone.
    assert make_stack(app_dir(template("Ops-Board-2")), "boards").outputs["Named"] == "Ops-Board-2"
    assert cw.get_dashboard(DashboardName="Ops-Board-2")["DashboardName"] == "Ops-Board-2"
    with pytest.raises(ClientError) as gone:
        cw.get_dashboard(DashboardName="Ops-Board")
    assert gone.value.response["Error"]["Code"] == "ResourceNotFound"

    # Out of the template, out of CloudWatch.
    make_stack(app_dir("Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n"), "boards")
    listed = {e["DashboardName"] for e in cw.list_dashboards()["DashboardEntries"]}
    assert not listed & {"Ops-Board-2", unnamed}
    cw.close()


def test_a_body_cloudwatch_refuses_fails_the_resource(app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]) -> None:
    with pytest.raises(TemplateError) as failed:
        make_stack(app_dir(template("Refused", body='{"start": "-PT3H"}')), "refused")
    assert "InvalidParameterInput" in str(failed.value) and "Should have required property 'widgets'" in str(failed.value)


def test_a_name_taken_by_a_dashboard_the_stack_did_not_make_fails_the_resource(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    cw = aws("cloudwatch")
    theirs = json.dumps({"widgets": [], "start": "-PT1H"})
    cw.put_dashboard(DashboardName="Theirs", DashboardBody=theirs)
    with pytest.raises(TemplateError) as failed:
        make_stack(app_dir(template("Theirs")), "taken")
    assert "Resources.Named" in str(failed.value) and "Dashboard 'Theirs' already exists" in str(failed.value)

    # Nor may a rename take it; the stack's own name is its own to put again.
    assert make_stack(app_dir(template("Mine")), "taken").outputs["Named"] == "Mine"
    assert make_stack(app_dir(template("Mine")), "taken").outputs["Named"] == "Mine"
    with pytest.raises(TemplateError, match="Dashboard 'Theirs' already exists"):
        make_stack(app_dir(template("Theirs")), "taken")
    assert cw.get_dashboard(DashboardName="Theirs")["DashboardBody"] == theirs
    cw.close()


def test_a_numeric_name_is_the_name_of_its_digits(aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]) -> None:
    cw = aws("cloudwatch")
    assert make_stack(app_dir(template("12345")), "numeric").outputs["Named"] == "12345"
    assert cw.get_dashboard(DashboardName="12345")["DashboardName"] == "12345"
    cw.close()


@pytest.mark.parametrize("name", ["1.5", "true", "[a, b]"])
def test_a_name_that_is_not_text_or_a_whole_number_fails_the_resource(
    name: str, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    with pytest.raises(TemplateError, match=r"Resources\.Named\.Properties\.DashboardName: must be a string"):
        make_stack(app_dir(template(name)), "not-text")
