"""A template's versions and aliases (SAM's AutoPublishAlias) answer Lambda's reads, and Invoke reports the version it ran."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.cfn.deployer import Deployment
from sluiceway.endpoint.services import _lambda_template_versions

Aws = Callable[[str], Any]

PUBLISHED = """
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: NAME
      Runtime: python3.11
      Handler: index.handler
      MemorySize: MEMORY
      AutoPublishAlias: dev
      InlineCode: |
        def handler(event, context):
            return {"arn": context.invoked_function_arn}
"""


def _template(memory: int, name: str = "aliased") -> str:
    return PUBLISHED.replace("MEMORY", str(memory)).replace("NAME", name)


def test_reads_of_a_template_alias(aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]) -> None:
    make_stack(app_dir(_template(128)), "aliased")
    lam = aws("lambda")
    arn = "arn:aws:lambda:us-east-1:111111111111:function:aliased"

    alias = lam.get_alias(FunctionName="aliased", Name="dev")
    assert {k: alias[k] for k in ("AliasArn", "Name", "FunctionVersion", "Description")} == {
        "AliasArn": f"{arn}:dev",
        "Name": "dev",
        "FunctionVersion": "1",
        "Description": "",
    }
    assert "RoutingConfig" not in alias
    assert lam.get_alias(FunctionName=arn, Name="dev")["RevisionId"] == alias["RevisionId"]  # stable across reads
    assert [a["Name"] for a in lam.list_aliases(FunctionName="aliased")["Aliases"]] == ["dev"]
    assert lam.list_aliases(FunctionName="aliased", FunctionVersion="2")["Aliases"] == []
    with pytest.raises(ClientError) as missing:
        lam.get_alias(FunctionName="aliased", Name="prod")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert missing.value.response["Error"]["Message"] == f"Cannot find alias arn: {arn}:prod"

    versions = lam.list_versions_by_function(FunctionName="aliased")["Versions"]
    assert [(v["Version"], v["FunctionArn"]) for v in versions] == [("$LATEST", f"{arn}:$LATEST"), ("1", f"{arn}:1")]

    through_alias = lam.get_function(FunctionName="aliased", Qualifier="dev")["Configuration"]
    assert (through_alias["FunctionArn"], through_alias["Version"]) == (f"{arn}:dev", "1")
    numbered = lam.get_function_configuration(FunctionName="aliased:1")
    assert (numbered["FunctionArn"], numbered["Version"]) == (f"{arn}:1", "1")
    assert lam.get_function_configuration(FunctionName="aliased")["Version"] == "$LATEST"

    for qualifier, executed in (("dev", "1"), ("1", "1"), ("$LATEST", "$LATEST"), (None, "$LATEST")):
        extra = {} if qualifier is None else {"Qualifier": qualifier}
        result = lam.invoke(FunctionName="aliased", **extra)
        assert "FunctionError" not in result, result["Payload"].read()
        assert result["ExecutedVersion"] == executed, qualifier
    # The handler is told the ARN it was invoked by (the alias's).
    assert json.loads(lam.invoke(FunctionName=f"{arn}:dev")["Payload"].read())["arn"] == f"{arn}:dev"

    # The template's function changes with its template: writes stay refused.
    with pytest.raises(ClientError) as refused:
        lam.create_alias(FunctionName="aliased", Name="prod", FunctionVersion="1")
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"


def test_a_changed_function_publishes_the_next_version(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    template = app_dir(_template(128, "republished"))
    make_stack(template, "republished")
    lam = aws("lambda")
    make_stack(template, "republished")  # nothing changed: the version keeps its number
    assert lam.get_alias(FunctionName="republished", Name="dev")["FunctionVersion"] == "1"

    template.write_text(_template(256, "republished"), encoding="utf-8")  # SAM publishes a new version for a new configuration
    make_stack(template, "republished")
    assert lam.get_alias(FunctionName="republished", Name="dev")["FunctionVersion"] == "2"
    assert lam.invoke(FunctionName="republished", Qualifier="dev")["ExecutedVersion"] == "2"
    assert lam.get_function_configuration(FunctionName="republished", Qualifier="dev")["Version"] == "2"


WEIGHTED = """
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: weighted
      Runtime: python3.11
      Handler: index.handler
      Role: arn:aws:iam::111111111111:role/any
      Code:
        ZipFile: |
          def handler(event, context):
              return 1
  First:
    Type: AWS::Lambda::Version
    Properties:
      FunctionName: !Ref Fn
  Second:
    Type: AWS::Lambda::Version
    DependsOn: First
    Properties:
      FunctionName: !Ref Fn
      Description: second
  Live:
    Type: AWS::Lambda::Alias
    Properties:
      FunctionName: !Ref Fn
      FunctionVersion: !GetAtt First.Version
      Name: live
      Description: canary
      RoutingConfig:
        AdditionalVersionWeights:
          - FunctionVersion: !GetAtt Second.Version
            FunctionWeight: 0.25
"""


def test_an_alias_with_routing_weights(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_stack(app_dir(WEIGHTED), "weighted")
    lam = aws("lambda")
    alias = lam.get_alias(FunctionName="weighted", Name="live")
    assert (alias["FunctionVersion"], alias["Description"]) == ("1", "canary")
    assert alias["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.25}}
    versions = lam.list_versions_by_function(FunctionName="weighted")["Versions"]
    assert [(v["Version"], v["Description"]) for v in versions] == [("$LATEST", ""), ("1", ""), ("2", "second")]
    # A draw under the other version's weight runs that version; one at or above it, the alias's own.
    for draw, executed in ((0.24, "2"), (0.25, "1"), (0.7, "1")):
        monkeypatch.setattr(_lambda_template_versions, "_draw", lambda draw=draw: draw)
        assert lam.invoke(FunctionName="weighted", Qualifier="live")["ExecutedVersion"] == executed, draw


def test_an_api_made_alias_reports_its_version(aws: Aws) -> None:
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return 1\n")
    lam = aws("lambda")
    lam.create_function(
        FunctionName="api-aliased",
        Runtime="python3.11",
        Handler="index.handler",
        Role="arn:aws:iam::111111111111:role/any",
        Code={"ZipFile": package.getvalue()},
        Publish=True,
    )
    lam.create_alias(FunctionName="api-aliased", Name="live", FunctionVersion="1")
    assert lam.invoke(FunctionName="api-aliased:live")["ExecutedVersion"] == "1"
    lam.update_alias(FunctionName="api-aliased", Name="live", FunctionVersion="$LATEST")
    assert lam.invoke(FunctionName="api-aliased", Qualifier="live")["ExecutedVersion"] == "$LATEST"
