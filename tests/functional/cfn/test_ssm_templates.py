"""Templates and Parameter Store: AWS::SSM::Parameter resources, SSM-typed template parameters, the
ssm / ssm-secure / secretsmanager dynamic references, and a function reading a parameter with boto3."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.cfn.deployer import Deployment
from sluiceway.cfn.errors import TemplateError

Aws = Callable[..., Any]


RESOURCES = """
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Input:
    Type: String
    Default: first
Resources:
  Unnamed:
    Type: AWS::SSM::Parameter
    Properties:
      Type: String
      Value: !Ref Input
      Tags:
        team: !Ref Input
  Named:
    Type: AWS::SSM::Parameter
    Properties:
      Name: /cfn-test/named
      Type: StringList
      Value: a,b,c
      Description: three letters
Outputs:
  UnnamedName:
    Value: !Ref Unnamed
  UnnamedValue:
    Value: !GetAtt Unnamed.Value
  NamedType:
    Value: !GetAtt Named.Type
"""


def test_parameter_resources_are_made_updated_and_deleted(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    ssm = aws("ssm")
    template = app_dir(RESOURCES)
    outputs = make_stack(template, "ssm-resources").outputs
    name = outputs["UnnamedName"]
    assert name.startswith("CFN-Unnamed-") and len(name) == len("CFN-Unnamed-") + 12
    assert outputs["UnnamedValue"] == "first" and outputs["NamedType"] == "StringList"
    got = ssm.get_parameter(Name=name)["Parameter"]
    assert (got["Value"], got["Version"], got["Type"]) == ("first", 1, "String")
    assert ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"] == [{"Key": "team", "Value": "first"}]
    assert ssm.get_parameter(Name="/cfn-test/named")["Parameter"]["Value"] == "a,b,c"

    # A deploy that changes nothing makes no version; a changed value makes one, and the tags follow.
    make_stack(template, "ssm-resources")
    assert ssm.get_parameter(Name=name)["Parameter"]["Version"] == 1
    make_stack(template, "ssm-resources", {"Input": "second"})
    got = ssm.get_parameter(Name=name)["Parameter"]
    assert (got["Value"], got["Version"]) == ("second", 2)
    assert ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"] == [{"Key": "team", "Value": "second"}]

    app_dir("""
    AWSTemplateFormatVersion: '2010-09-09'
    Resources:
      Named:
        Type: AWS::SSM::Parameter
        Properties:
          Name: /cfn-test/named
          Type: StringList
          Value: a,b,c
          Description: three letters
    """)
    make_stack(template, "ssm-resources")
    with pytest.raises(ClientError) as excinfo:
        ssm.get_parameter(Name=name)
    assert excinfo.value.response["Error"]["Code"] == "ParameterNotFound"


def test_cloudformation_does_not_create_secure_strings(app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]) -> None:
    template = app_dir("""
    Resources:
      Secret:
        Type: AWS::SSM::Parameter
        Properties:
          Type: SecureString
          Value: hush
    """)
    with pytest.raises(TemplateError, match="SecureString is not a valid enum value"):
        make_stack(template, "ssm-secure-resource")


TYPED = """
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Greeting:
    Type: AWS::SSM::Parameter::Value<String>
    Default: /cfn-typed/greeting
  Zones:
    Type: AWS::SSM::Parameter::Value<List<String>>
    Default: /cfn-typed/zones
Resources:
  Copy:
    Type: AWS::SSM::Parameter
    Properties:
      Name: /cfn-typed/copy
      Type: String
      Value: !Sub
        - '${Greeting} from ${Zone}'
        - Zone: !Select [1, !Ref Zones]
Outputs:
  Greeting:
    Value: !Ref Greeting
"""


def test_ssm_typed_parameters_resolve_from_the_store(aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]) -> None:
    ssm = aws("ssm")
    template = app_dir(TYPED)
    with pytest.raises(TemplateError, match=r"Unable to fetch parameters \[/cfn-typed/greeting,/cfn-typed/zones\] from parameter store"):
        make_stack(template, "ssm-typed")
    ssm.put_parameter(Name="/cfn-typed/greeting", Value="hello", Type="String")
    ssm.put_parameter(Name="/cfn-typed/zones", Value="a, b", Type="StringList")
    deployment = make_stack(template, "ssm-typed")
    assert deployment.outputs["Greeting"] == "hello"
    assert ssm.get_parameter(Name="/cfn-typed/copy")["Parameter"]["Value"] == "hello from b"
    ssm.put_parameter(Name="/cfn-typed/secret", Value="x", Type="SecureString")
    with pytest.raises(TemplateError, match=r"Parameters \[/cfn-typed/secret\] referenced by template have types not supported"):
        make_stack(template, "ssm-typed", {"Greeting": "/cfn-typed/secret"})


REFERENCES = """
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Env:
    Type: String
    Default: dev
Resources:
  Latest:
    Type: AWS::SSM::Parameter
    Properties:
      Name: /cfn-refs/latest
      Type: String
      Value: !Sub 'url={{resolve:ssm:/cfn-refs/${Env}/url}}'
  Pinned:
    Type: AWS::SSM::Parameter
    Properties:
      Name: /cfn-refs/pinned
      Type: String
      Value: '{{resolve:ssm:/cfn-refs/dev/url:1}}'
"""


def test_ssm_dynamic_references_resolve_latest_and_pinned_versions(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    ssm = aws("ssm")
    template = app_dir(REFERENCES)
    with pytest.raises(TemplateError, match=r"Parameters: \[ssm:/cfn-refs/dev/url\] cannot be found."):
        make_stack(template, "ssm-refs")
    ssm.put_parameter(Name="/cfn-refs/dev/url", Value="one", Type="String")
    ssm.put_parameter(Name="/cfn-refs/dev/url", Value="two", Type="String", Overwrite=True)
    deployment = make_stack(template, "ssm-refs")
    assert ssm.get_parameter(Name="/cfn-refs/latest")["Parameter"]["Value"] == "url=two"
    assert ssm.get_parameter(Name="/cfn-refs/pinned")["Parameter"]["Value"] == "one"
    # The stack's record keeps the reference, never the value.
    recorded = {r["LogicalResourceId"]: r["Properties"] for r in deployment.document["Resources"]}
    assert recorded["Pinned"]["Value"] == "{{resolve:ssm:/cfn-refs/dev/url:1}}"


SECURE_IN_FUNCTION = """
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Reader:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: index.handler
      InlineCode: "def handler(event, context):\\n    return None\\n"
      Environment:
        Variables:
          API_KEY: '{{resolve:ssm-secure:/cfn-secure/key}}'
"""


def test_ssm_secure_references_are_refused_where_cloudformation_refuses_them(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    aws("ssm").put_parameter(Name="/cfn-secure/key", Value="k", Type="SecureString")
    with pytest.raises(
        TemplateError, match=r"SSM Secure reference is not supported in: \[AWS::Lambda::Function/Properties/Environment/Variables/API_KEY\]"
    ):
        make_stack(app_dir(SECURE_IN_FUNCTION), "ssm-secure-fn")


FUNCTION = """
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Setting:
    Type: AWS::SSM::Parameter
    Properties:
      Type: String
      Value: blue
  Reader:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: index.handler
      Timeout: 10
      Environment:
        Variables:
          SETTING: !Ref Setting
          PINNED: '{{resolve:ssm:/cfn-fn/colour:1}}'
      InlineCode: |
        import os
        import boto3

        def handler(event, context):
            value = boto3.client("ssm").get_parameter(Name=os.environ["SETTING"], WithDecryption=True)["Parameter"]["Value"]
            return {"setting": value, "pinned": os.environ["PINNED"]}
Outputs:
  Reader:
    Value: !Ref Reader
"""


def test_a_function_reads_its_parameter_with_boto3(aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]) -> None:
    aws("ssm").put_parameter(Name="/cfn-fn/colour", Value="red", Type="String")
    outputs = make_stack(app_dir(FUNCTION), "ssm-function").outputs
    answer = aws("lambda").invoke(FunctionName=outputs["Reader"])
    assert json.loads(answer["Payload"].read()) == {"setting": "blue", "pinned": "red"}
