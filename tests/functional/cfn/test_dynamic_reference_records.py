"""Dynamic references across deploys: what is made gets the values, the record keeps the references,
an unchanged reference is no change, resources that are not emulated are never read for, and
DescribeStacks shows SSM-typed parameters as CloudFormation does."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sluiceway.cfn.deployer import Deployment
from sluiceway.cfn.errors import TemplateError

Aws = Callable[..., Any]


def _recorded(deployment: Deployment) -> dict[str, dict[str, Any]]:
    return {r["LogicalResourceId"]: r for r in deployment.document["Resources"]}


NOT_EMULATED = """
Resources:
  Box:
    Type: AWS::EC2::Instance
    Properties:
      ImageId: '{{resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64}}'
  Database:
    Type: AWS::RDS::DBInstance
    Properties:
      Engine: postgres
      MasterUsername: admin
      MasterUserPassword: '{{resolve:secretsmanager:prod/db:SecretString:password}}'
  Queue:
    Type: AWS::SQS::Queue
"""


def test_resources_that_are_not_emulated_are_never_resolved(app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]) -> None:
    # Neither the public AMI parameter nor the secret exists locally; nothing reads them.
    deployment = make_stack(app_dir(NOT_EMULATED), "refs-not-emulated")
    assert deployment.document["StackStatus"] == "CREATE_COMPLETE"
    recorded = _recorded(deployment)
    assert recorded["Box"]["Properties"]["ImageId"].startswith("{{resolve:ssm:/aws/service/")
    assert recorded["Database"]["Properties"]["MasterUserPassword"] == "{{resolve:secretsmanager:prod/db:SecretString:password}}"
    assert any("AWS::EC2::Instance" in w and "AWS::RDS::DBInstance" in w for w in deployment.warnings)


PARAMETER = """
Resources:
  Copy:
    Type: AWS::SSM::Parameter
    Properties:
      Name: /refs-again/copy
      Type: String
      Value: '{{resolve:ssm:/refs-again/source}}'
"""


def test_an_unchanged_reference_makes_no_new_parameter_version(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    ssm = aws("ssm")
    ssm.put_parameter(Name="/refs-again/source", Value="blue", Type="String")
    template = app_dir(PARAMETER)
    make_stack(template, "refs-again")
    second = make_stack(template, "refs-again")
    make_stack(template, "refs-again")
    got = ssm.get_parameter(Name="/refs-again/copy")["Parameter"]
    assert (got["Value"], got["Version"]) == ("blue", 1)
    assert _recorded(second)["Copy"]["ResourceStatus"] == "CREATE_COMPLETE"


CUSTOM = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Colour:
    Type: String
    Default: red
Resources:
  Recorder:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: index.handler
      Timeout: 10
      InlineCode: |
        import json, urllib.request

        def handler(event, context):
            with open(LOG, "a") as log:
                log.write(json.dumps({k: event.get(k) for k in ("RequestType", "ResourceProperties", "OldResourceProperties")}) + "\\n")
            body = {"Status": "SUCCESS", "PhysicalResourceId": "thing-1", "StackId": event["StackId"],
                    "RequestId": event["RequestId"], "LogicalResourceId": event["LogicalResourceId"], "Data": {}}
            request = urllib.request.Request(event["ResponseURL"], data=json.dumps(body).encode(), method="PUT")
            urllib.request.urlopen(request).close()
  Thing:
    Type: Custom::Thing
    Properties:
      ServiceToken: !GetAtt Recorder.Arn
      Bucket: '{{resolve:ssm:/refs-custom/bucket}}'
      Colour: !Ref Colour
"""


def _events(log: Path) -> list[dict[str, Any]]:
    events = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    for event in events:
        for key in ("ResourceProperties", "OldResourceProperties"):
            if event.get(key):
                event[key].pop("ServiceToken", None)
    return events


def test_custom_resources_get_resolved_properties_and_no_update_for_an_unchanged_reference(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment], tmp_path: Path
) -> None:
    aws("ssm").put_parameter(Name="/refs-custom/bucket", Value="my-bucket", Type="String")
    log = tmp_path / "events.jsonl"
    text = CUSTOM.replace("open(LOG", f"open({str(log)!r}")
    template = app_dir(text)
    make_stack(template, "refs-custom")
    make_stack(template, "refs-custom")
    assert _events(log) == [
        {"RequestType": "Create", "ResourceProperties": {"Bucket": "my-bucket", "Colour": "red"}, "OldResourceProperties": None}
    ]
    make_stack(template, "refs-custom", {"Colour": "green"})
    assert _events(log)[1] == {
        "RequestType": "Update",
        "ResourceProperties": {"Bucket": "my-bucket", "Colour": "green"},
        "OldResourceProperties": {"Bucket": "my-bucket", "Colour": "red"},
    }
    app_dir(text.split("  Thing:")[0])
    make_stack(template, "refs-custom")
    assert _events(log)[2] == {
        "RequestType": "Delete",
        "ResourceProperties": {"Bucket": "my-bucket", "Colour": "green"},
        "OldResourceProperties": None,
    }


API_KEY = """
Resources:
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties:
      Name: keyed
  Key:
    Type: AWS::ApiGateway::ApiKey
    Properties:
      Enabled: true
      Value: '{{resolve:ssm:/refs-api/key}}'
Outputs:
  Key:
    Value: !Ref Key
"""


def test_an_api_key_is_served_its_value_and_the_record_keeps_the_reference(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    secret = "SomeApiKeyValue0123456789"
    aws("ssm").put_parameter(Name="/refs-api/key", Value=secret, Type="String")
    deployment = make_stack(app_dir(API_KEY), "refs-api")
    assert _recorded(deployment)["Key"]["Properties"]["Value"] == "{{resolve:ssm:/refs-api/key}}"
    assert secret not in json.dumps(deployment.document)
    served = aws("apigateway").get_api_key(apiKey=deployment.outputs["Key"], includeValue=True)
    assert served["value"] == secret


TYPED = """
Parameters:
  Colour:
    Type: AWS::SSM::Parameter::Value<String>
    Default: /refs-typed/colour
  Zones:
    Type: AWS::SSM::Parameter::Value<List<String>>
    Default: /refs-typed/zones
  Hidden:
    Type: AWS::SSM::Parameter::Value<String>
    Default: /refs-typed/colour
    NoEcho: true
  Plain:
    Type: String
    Default: as-is
Resources:
  Queue:
    Type: AWS::SQS::Queue
"""


def test_describe_stacks_shows_an_ssm_typed_parameter_by_name_and_resolved_value(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    ssm = aws("ssm")
    ssm.put_parameter(Name="/refs-typed/colour", Value="teal", Type="String")
    ssm.put_parameter(Name="/refs-typed/zones", Value="a,b", Type="StringList")
    make_stack(app_dir(TYPED), "refs-typed")
    shown = aws("cloudformation").describe_stacks(StackName="refs-typed")["Stacks"][0]["Parameters"]
    assert shown == [
        {"ParameterKey": "Colour", "ParameterValue": "/refs-typed/colour", "ResolvedValue": "teal"},
        {"ParameterKey": "Zones", "ParameterValue": "/refs-typed/zones", "ResolvedValue": "a,b"},
        {"ParameterKey": "Hidden", "ParameterValue": "****", "ResolvedValue": "****"},
        {"ParameterKey": "Plain", "ParameterValue": "as-is"},
    ]


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        (
            "{{resolve:ssm:/refs-bad/src:99999999999999999999999}}",
            r"Parameters: \[ssm:/refs-bad/src:99999999999999999999999\] cannot be found.",
        ),
        ("{{resolve:ssm:/refs-bad/src:²}}", r"Incorrect format is used in the following SSM reference"),
        ("{{resolve:ssm:/refs-bad/src:٣}}", r"Incorrect format is used in the following SSM reference"),
    ],
)
def test_references_to_versions_no_store_can_hold_fail_the_deploy_with_a_reason(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment], reference: str, message: str
) -> None:
    aws("ssm").put_parameter(Name="/refs-bad/src", Value="v", Type="String", Overwrite=True)
    template = app_dir(PARAMETER.replace("{{resolve:ssm:/refs-again/source}}", reference).replace("/refs-again/copy", "/refs-bad/copy"))
    with pytest.raises(TemplateError, match=message):
        make_stack(template, "refs-bad")
    status = aws("cloudformation").describe_stacks(StackName="refs-bad")["Stacks"][0]
    assert status["StackStatus"] == "CREATE_FAILED" and "/refs-bad/src:" in status["StackStatusReason"]


@pytest.mark.parametrize("name", ["/refs-bad/src:99999999999999999999999", "/refs-bad/src:²"])
def test_ssm_typed_parameters_naming_no_version_fail_with_a_reason(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment], name: str
) -> None:
    aws("ssm").put_parameter(Name="/refs-bad/src", Value="v", Type="String", Overwrite=True)
    template = app_dir(TYPED.split("  Zones:")[0] + "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n")
    with pytest.raises(TemplateError, match=r"Unable to fetch parameters \[" + name.replace("/", r"\/") + r"\]"):
        make_stack(template, "refs-bad-typed", {"Colour": name})
