"""A template's versions are published once, kept across restarts (retained ones too), numbered as Lambda
numbers them; an alias's weights are checked before it is made; the version an invocation runs is the one
its handler sees."""

from __future__ import annotations

import io
import json
import textwrap
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sluiceway.cfn.deployer import Deployment, deploy
from sluiceway.cfn.errors import TemplateError
from sluiceway.endpoint.server import Endpoint
from sluiceway.endpoint.services import _lambda_template_versions
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

Aws = Callable[[str], Any]
ARN = "arn:aws:lambda:us-east-1:111111111111:function:"

SAM = """
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
        import os
        def handler(event, context):
            return {"context": context.function_version, "variable": os.environ["AWS_LAMBDA_FUNCTION_VERSION"]}
"""

EXPLICIT = """
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: NAME
      Runtime: python3.11
      Handler: index.handler
      Role: arn:aws:iam::111111111111:role/any
      Code:
        ZipFile: |
          import os
          def handler(event, context):
              return {"context": context.function_version, "variable": os.environ["AWS_LAMBDA_FUNCTION_VERSION"]}
  Other:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: NAME-other
      Runtime: python3.11
      Handler: index.handler
      Role: arn:aws:iam::111111111111:role/any
      Code:
        ZipFile: |
          def handler(event, context):
              return 1
"""


def _version(logical: str, *, description: str | None = None, function: str = "Fn", extra: str = "") -> str:
    text = f"  {logical}:\n    Type: AWS::Lambda::Version\n{extra}    Properties:\n      FunctionName: !Ref {function}\n"
    return text + (f"      Description: {description}\n" if description is not None else "")


def _alias(version: str, weights: str = "") -> str:
    text = f"""  Live:
    Type: AWS::Lambda::Alias
    Properties:
      FunctionName: !Ref Fn
      FunctionVersion: {version}
      Name: live
"""
    return text + (f"      RoutingConfig:\n        AdditionalVersionWeights:\n{textwrap.indent(weights, ' ' * 10)}" if weights else "")


def _explicit(name: str, *resources: str) -> str:
    return EXPLICIT.replace("NAME", name) + "".join(resources)


def _listed(lam: Any, name: str) -> list[tuple[str, str]]:
    return [(v["Version"], v["Description"]) for v in lam.list_versions_by_function(FunctionName=name)["Versions"]]


def _seen(result: dict[str, Any]) -> tuple[str, str, str]:
    """(ExecutedVersion, the handler's context.function_version, its AWS_LAMBDA_FUNCTION_VERSION)."""
    assert "FunctionError" not in result, result["Payload"].read()
    payload = json.loads(result["Payload"].read())
    return result["ExecutedVersion"], payload["context"], payload["variable"]


# -- routing configuration --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (
            "- FunctionVersion: !GetAtt Second.Version\n",
            "Properties validation failed for resource Live with message:"
            " #/RoutingConfig/AdditionalVersionWeights/0: required key [FunctionWeight] not found",
        ),
        (
            "- FunctionWeight: 0.5\n",
            "Properties validation failed for resource Live with message:"
            " #/RoutingConfig/AdditionalVersionWeights/0: required key [FunctionVersion] not found",
        ),
        (
            "- FunctionVersion: !GetAtt Second.Version\n  FunctionWeight: 1.5\n",
            "ValidationException: 1 validation error detected: Value '{2=1.5}' at 'routingConfig.additionalVersionWeights'"
            " failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0,"
            " Member must have value greater than or equal to 0.0, Member must not be null]",
        ),
        (
            "- FunctionVersion: !GetAtt Second.Version\n  FunctionWeight: 0.2\n- FunctionVersion: !GetAtt Third.Version\n"
            "  FunctionWeight: 0.2\n",
            "InvalidParameterValueException: Number of items in AdditionalVersionWeights cannot be greater than 1",
        ),
        (
            "- FunctionVersion: !GetAtt First.Version\n  FunctionWeight: 0.5\n",
            "InvalidParameterValueException: Invalid function version 1. Function version 1 is already included in routing configuration.",
        ),
        (
            "- FunctionVersion: '7'\n  FunctionWeight: 0.5\n",
            f"ResourceNotFoundException: Function not found: {ARN}NAME:7",
        ),
    ],
)
def test_an_alias_with_malformed_weights_is_refused_before_it_is_made(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment], weights: str, message: str, request: Any
) -> None:
    name = f"badweights{request.node.callspec.indices['weights']}"
    template = _explicit(
        name,
        _version("First"),
        _version("Second", description="second", extra="    DependsOn: First\n"),
        _version("Third", description="third", extra="    DependsOn: Second\n"),
        _alias("!GetAtt First.Version", weights),
    )
    with pytest.raises(TemplateError) as refused:
        make_stack(app_dir(template), name)
    assert str(refused.value).endswith(message.replace("NAME", name)), str(refused.value)
    lam = aws("lambda")
    # Nothing was made: the reads answer Lambda's not-found, never a 500.
    with pytest.raises(ClientError) as missing:
        lam.get_alias(FunctionName=name, Name="live")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert lam.list_aliases(FunctionName=name)["Aliases"] == []
    with pytest.raises(ClientError) as missing:
        lam.invoke(FunctionName=name, Qualifier="live")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_an_api_alias_weights_are_checked_as_lambda_checks_them(aws: Aws) -> None:
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return 1\n")
    lam = aws("lambda")
    lam.create_function(
        FunctionName="api-weights",
        Runtime="python3.11",
        Handler="index.handler",
        Role="arn:aws:iam::111111111111:role/any",
        Code={"ZipFile": package.getvalue()},
        Publish=True,
    )
    lam.update_function_configuration(FunctionName="api-weights", Environment={"Variables": {"STAGE": "prod"}})
    assert lam.publish_version(FunctionName="api-weights")["Version"] == "2"
    refusals = [
        ({"1": 0.8, "2": 0.2}, "InvalidParameterValueException", "Number of items in AdditionalVersionWeights cannot be greater than 1"),
        (
            {"1": 0.5},
            "InvalidParameterValueException",
            "Invalid function version 1. Function version 1 is already included in routing configuration.",
        ),
        ({"10": 0.5}, "ResourceNotFoundException", f"Function not found: {ARN}api-weights:10"),
    ]
    for weights, code, message in refusals:
        with pytest.raises(ClientError) as refused:
            lam.create_alias(
                FunctionName="api-weights", Name="live", FunctionVersion="1", RoutingConfig={"AdditionalVersionWeights": weights}
            )
        assert (refused.value.response["Error"]["Code"], refused.value.response["Error"]["Message"]) == (code, message)
    made = lam.create_alias(
        FunctionName="api-weights", Name="live", FunctionVersion="1", RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}}
    )
    assert made["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.5}}


def test_the_weighted_draw_decides_the_version_the_handler_runs(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment], monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = "- FunctionVersion: !GetAtt Second.Version\n  FunctionWeight: 0.25\n"
    template = _explicit(
        "drawn",
        _version("First"),
        _version("Second", description="second", extra="    DependsOn: First\n"),
        _alias("!GetAtt First.Version", weights),
    )
    make_stack(app_dir(template), "drawn")
    lam = aws("lambda")
    for draw, version in ((0.2, "2"), (0.3, "1"), (0.0, "2"), (0.99, "1")):
        monkeypatch.setattr(_lambda_template_versions, "_draw", lambda draw=draw: draw)
        # The same version in the answer and in what the function was told, both decided before it ran.
        assert _seen(lam.invoke(FunctionName="drawn", Qualifier="live")) == (version, version, version), draw
    assert _seen(lam.invoke(FunctionName="drawn:2")) == ("2", "2", "2")
    assert _seen(lam.invoke(FunctionName="drawn")) == ("$LATEST", "$LATEST", "$LATEST")


# -- numbering ------------------------------------------------------------------------------------


def test_a_replaced_version_publishes_a_new_number_and_numbers_are_never_reused(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    lam = aws("lambda")
    template = app_dir(_explicit("numbered", _version("V1", description="one")))
    make_stack(template, "numbered")
    make_stack(template, "numbered")  # unchanged: published once
    assert _listed(lam, "numbered") == [("$LATEST", ""), ("1", "one")]

    template.write_text(_explicit("numbered", _version("V1", description="two")), encoding="utf-8")
    make_stack(template, "numbered")  # Description replaces the version: the old one is deleted
    assert _listed(lam, "numbered") == [("$LATEST", ""), ("2", "two")]
    configuration = lam.get_function_configuration(FunctionName="numbered", Qualifier="2")
    assert (configuration["Version"], configuration["Description"]) == ("2", "two")
    with pytest.raises(ClientError) as gone:
        lam.get_function_configuration(FunctionName="numbered", Qualifier="1")
    assert gone.value.response["Error"]["Message"] == f"Function not found: {ARN}numbered:1"

    template.write_text(_explicit("numbered"), encoding="utf-8")
    make_stack(template, "numbered")
    assert _listed(lam, "numbered") == [("$LATEST", "")]
    template.write_text(_explicit("numbered", _version("V1", description="one")), encoding="utf-8")
    make_stack(template, "numbered")  # the same resource again: a new number, never 1 or 2 again
    assert _listed(lam, "numbered") == [("$LATEST", ""), ("3", "one")]

    # Another FunctionName replaces the version too: the old function's goes, the other's starts at 1.
    template.write_text(_explicit("numbered", _version("V1", description="one", function="Other")), encoding="utf-8")
    make_stack(template, "numbered")
    assert _listed(lam, "numbered") == [("$LATEST", "")]
    assert _listed(lam, "numbered-other") == [("$LATEST", ""), ("1", "one")]


def test_a_retained_version_stays_published_when_it_leaves_the_template(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    lam = aws("lambda")
    template = app_dir(_explicit("kept", _version("V1", description="one", extra="    DeletionPolicy: Retain\n")))
    make_stack(template, "kept")
    template.write_text(_explicit("kept"), encoding="utf-8")
    make_stack(template, "kept")
    assert _listed(lam, "kept") == [("$LATEST", ""), ("1", "one")]
    assert _seen(lam.invoke(FunctionName="kept", Qualifier="1")) == ("1", "1", "1")


# -- across restarts -------------------------------------------------------------------------------


@pytest.fixture
def restarted(tmp_path: Path) -> Iterator[Callable[[str, str], tuple[Any, Deployment]]]:
    """``restarted(template_text, stack)``: start a stack on one data dir, deploy, and answer a Lambda client (the
    stack before it stops first)."""
    settings = Settings.load(data_dir=tmp_path / "data", workers=2)
    running: list[Callable[[], None]] = []

    def start(text: str, name: str) -> tuple[Any, Deployment]:
        while running:
            running.pop()()
        template = tmp_path / "app" / "template.yaml"
        template.parent.mkdir(parents=True, exist_ok=True)
        template.write_text(textwrap.dedent(text), encoding="utf-8")
        stack = build_stack(settings, app=None)
        stack.start("versions across restarts")
        running.append(stack.close)
        endpoint = Endpoint(stack, host="127.0.0.1", port=0)
        endpoint.start()
        running.append(endpoint.close)
        deployment = deploy(endpoint, template, name, {}, cache_dir=tmp_path / "cache", warn=lambda _: None)
        session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
        return session.client("lambda", endpoint_url=endpoint.url, config=Config(retries={"max_attempts": 1})), deployment

    try:
        yield start
    finally:
        while running:
            running.pop()()


def test_sams_retained_versions_stay_listed_and_invokable_across_restarts(restarted: Callable[[str, str], tuple[Any, Deployment]]) -> None:
    def sam(memory: int) -> str:
        return SAM.replace("NAME", "samkept").replace("MEMORY", str(memory))

    for memory in (128, 256, 512):  # each configuration publishes a version; SAM retains the ones before
        lam, _ = restarted(sam(memory), "samkept")
    expected = [("$LATEST", ""), ("1", ""), ("2", ""), ("3", "")]
    assert _listed(lam, "samkept") == expected
    assert lam.get_alias(FunctionName="samkept", Name="dev")["FunctionVersion"] == "3"
    assert _seen(lam.invoke(FunctionName="samkept", Qualifier="1")) == ("1", "1", "1")
    assert _seen(lam.invoke(FunctionName="samkept", Qualifier="dev")) == ("3", "3", "3")

    lam, _ = restarted(sam(512), "samkept")  # a start with the same template publishes nothing
    assert _listed(lam, "samkept") == expected
    assert lam.get_function_configuration(FunctionName="samkept", Qualifier="2")["Version"] == "2"
    assert _seen(lam.invoke(FunctionName=f"{ARN}samkept:1")) == ("1", "1", "1")

    lam, _ = restarted(sam(1024), "samkept")  # the next version follows the highest, retained ones included
    assert _listed(lam, "samkept")[-1] == ("4", "")


def test_an_event_invocation_through_an_alias_runs_the_alias_version(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    # Queued with its qualifier: the version is decided when it is delivered; the OnSuccess record tells it.
    template = _explicit(
        "evented",
        _version("First"),
        _version("Second", description="second", extra="    DependsOn: First\n"),
        _alias("!GetAtt First.Version"),
    )
    make_stack(app_dir(template), "evented")
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName="evented-success")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    lam = aws("lambda")
    lam.put_function_event_invoke_config(FunctionName="evented", DestinationConfig={"OnSuccess": {"Destination": queue_arn}})
    assert lam.invoke(FunctionName="evented", Qualifier="live", InvocationType="Event", Payload=b"{}")["StatusCode"] == 202
    messages: list[Any] = []
    for _ in range(20):  # long polls: the record arrives once the deliverer ran the invocation
        messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
        if messages:
            break
    [message] = messages
    record = json.loads(message["Body"])
    assert record["responsePayload"] == {"context": "1", "variable": "1"}
    assert record["requestContext"]["functionArn"] == f"{ARN}evented:1"
