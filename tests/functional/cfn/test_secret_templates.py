"""A template's AWS::SecretsManager::Secret is a Secrets Manager secret: GenerateSecretString's password
is read back through GetSecretValue, a restart keeps it, a change makes a new version, Ref is the ARN."""

from __future__ import annotations

import json
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.cfn.deployer import Deployment
from sluiceway.cfn.errors import TemplateError
from sluiceway.cfn.resources.secrets import generated_name
from sluiceway.endpoint.calls import AwsCalls
from sluiceway.endpoint.errors import AwsError
from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.stack import Stack

Aws = Callable[..., Any]


TEMPLATE = """
Resources:
  Generated:
    Type: AWS::SecretsManager::Secret
    Properties:
      Name: NAME
      Description: DESCRIPTION
      GenerateSecretString:
        SecretStringTemplate: '{"username": "app"}'
        GenerateStringKey: password
        PasswordLength: 30
        ExcludeCharacters: '"@/\\'
      Tags:
        - Key: AppName
          Value: AppA
  Plain:
    Type: AWS::SecretsManager::Secret
    Properties:
      SecretString: hardcoded
Outputs:
  Generated:
    Value: !Ref Generated
  GeneratedId:
    Value: !GetAtt Generated.Id
  Plain:
    Value: !Ref Plain
"""


def template(name: str, description: str = "made by a template", length: int = 30) -> str:
    return TEMPLATE.replace("NAME", name).replace("DESCRIPTION", description).replace("PasswordLength: 30", f"PasswordLength: {length}")


def test_a_generated_secret_is_read_back_kept_across_restarts_and_renewed_on_change(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    sm = aws("secretsmanager")
    outputs = make_stack(app_dir(template("app/db")), "secrets").outputs
    arn = outputs["Generated"]
    assert arn.startswith("arn:aws:secretsmanager:us-east-1:111111111111:secret:app/db-") and outputs["GeneratedId"] == arn
    value = json.loads(sm.get_secret_value(SecretId="app/db")["SecretString"])
    assert value["username"] == "app" and len(value["password"]) == 30
    assert not set(value["password"]) & set('"@/\\') and set(value["password"]) & set(string.punctuation)
    described = sm.describe_secret(SecretId=arn)
    assert described["Description"] == "made by a template" and described["Tags"] == [{"Key": "AppName", "Value": "AppA"}]
    plain = outputs["Plain"]
    assert plain.split(":secret:")[1].startswith(generated_name("secrets", "Plain"))
    assert generated_name("secrets", "Plain").startswith("Plain-") and len(generated_name("secrets", "Plain")) == len("Plain-") + 12
    assert sm.get_secret_value(SecretId=plain)["SecretString"] == "hardcoded"

    # The same template again (a restart) keeps the password; a changed description keeps it too.
    make_stack(app_dir(template("app/db", description="changed")), "secrets")
    assert json.loads(sm.get_secret_value(SecretId="app/db")["SecretString"]) == value
    assert sm.describe_secret(SecretId="app/db")["Description"] == "changed"
    # A changed GenerateSecretString makes a new current version; the old one is AWSPREVIOUS.
    make_stack(app_dir(template("app/db", description="changed", length=40)), "secrets")
    assert len(json.loads(sm.get_secret_value(SecretId="app/db")["SecretString"])["password"]) == 40
    assert json.loads(sm.get_secret_value(SecretId="app/db", VersionStage="AWSPREVIOUS")["SecretString"]) == value

    # A new name replaces the secret; out of the template, out of Secrets Manager (no recovery window).
    renamed = make_stack(app_dir(template("app/db2")), "secrets").outputs["Generated"]
    assert renamed != arn
    with pytest.raises(ClientError) as gone:
        sm.describe_secret(SecretId=arn)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
    make_stack(app_dir("Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n"), "secrets")
    assert not {"app/db2", generated_name("secrets", "Plain")} & {
        s["Name"] for s in sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]
    }


def test_get_secret_value_is_served_in_process_as_dynamic_references_call_it(endpoint: Endpoint, stack: Stack) -> None:
    aws = AwsCalls(stack, endpoint.shared, endpoint.url)
    made = aws.call("secretsmanager", "CreateSecret", {"Name": "in-process", "SecretString": '{"k": "v"}', "ClientRequestToken": "t" * 32})
    got = aws.call("secretsmanager", "GetSecretValue", {"SecretId": made["ARN"], "VersionStage": "AWSCURRENT"})
    assert (got["SecretString"], got["VersionId"], got["VersionStages"]) == ('{"k": "v"}', "t" * 32, ["AWSCURRENT"])
    with pytest.raises(AwsError) as missing:
        aws.call("secretsmanager", "GetSecretValue", {"SecretId": "in-process-missing"})
    assert (missing.value.code, missing.value.message) == ("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")


def test_a_template_secret_with_both_values_or_bad_options_fails(
    app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    both = (
        "Resources:\n  S:\n    Type: AWS::SecretsManager::Secret\n    Properties:\n      SecretString: x\n      GenerateSecretString: {}\n"
    )
    with pytest.raises(TemplateError, match="SecretString and GenerateSecretString"):
        make_stack(app_dir(both), "both")
    short = (
        "Resources:\n  S:\n    Type: AWS::SecretsManager::Secret\n    Properties:\n      GenerateSecretString:\n        PasswordLength: 2\n"
    )
    with pytest.raises(TemplateError, match="Password length is too short based on the required types"):
        make_stack(app_dir(short), "short")


def _versions(sm: Any, secret_id: str) -> dict[str, list[str] | None]:
    listed = sm.list_secret_version_ids(SecretId=secret_id, IncludeDeprecated=True)["Versions"]
    return {v["VersionId"]: v.get("VersionStages") for v in listed}


def test_the_same_template_again_makes_no_new_version(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    sm = aws("secretsmanager")
    text = "Resources:\n  S:\n    Type: AWS::SecretsManager::Secret\n    Properties:\n      Name: same-again\n      SecretString: fixed\n"
    make_stack(app_dir(text), "same-again")
    first = _versions(sm, "same-again")
    make_stack(app_dir(text), "same-again")
    assert _versions(sm, "same-again") == first and len(first) == 1


def test_a_secret_left_by_a_stopped_deploy_is_taken_over(
    aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    sm = aws("secretsmanager")
    # What a deploy stopped between CreateSecret and saving its record leaves behind.
    generated = sm.create_secret(Name=generated_name("left", "G"), SecretString="kept", Tags=[{"Key": "old", "Value": "x"}])["ARN"]
    plain = sm.create_secret(Name="left-plain", SecretString="stale")["ARN"]
    text = (
        "Resources:\n  G:\n    Type: AWS::SecretsManager::Secret\n    Properties:\n      GenerateSecretString: {}\n"
        "      Tags:\n        - Key: new\n          Value: y\n"
        "  P:\n    Type: AWS::SecretsManager::Secret\n    Properties:\n      Name: left-plain\n      SecretString: wanted\n"
    )
    outputs = make_stack(app_dir(text + "Outputs:\n  G:\n    Value: !Ref G\n  P:\n    Value: !Ref P\n"), "left").outputs
    assert (outputs["G"], outputs["P"]) == (generated, plain)
    assert sm.get_secret_value(SecretId=generated)["SecretString"] == "kept"
    assert sm.describe_secret(SecretId=generated)["Tags"] == [{"Key": "new", "Value": "y"}]
    assert sm.get_secret_value(SecretId=plain)["SecretString"] == "wanted"


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ("SecretString:\n        user: u", "#/SecretString: expected type: String, found: JSONObject"),
        (
            "GenerateSecretString:\n        PasswordLength: abc",
            "#/GenerateSecretString/PasswordLength: expected type: Integer, found: String",
        ),
        (
            "GenerateSecretString:\n        ExcludeNumbers: maybe",
            "#/GenerateSecretString/ExcludeNumbers: expected type: Boolean, found: String",
        ),
    ],
)
def test_properties_of_the_wrong_type_fail_in_cloudformations_words(
    properties: str, message: str, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]
) -> None:
    text = f"Resources:\n  S:\n    Type: AWS::SecretsManager::Secret\n    Properties:\n      {properties}\n"
    with pytest.raises(TemplateError) as failed:
        make_stack(app_dir(text), "typed")
    assert str(failed.value).endswith(f"Properties validation failed for resource S with message: {message}")


def test_options_given_as_text_are_converted(aws: Aws, app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]) -> None:
    text = (
        "Resources:\n  S:\n    Type: AWS::SecretsManager::Secret\n    Properties:\n      Name: texts\n      GenerateSecretString:\n"
        "        PasswordLength: '12'\n        ExcludeNumbers: 'true'\n        ExcludePunctuation: 'TRUE'\n"
    )
    make_stack(app_dir(text), "texts")
    value = aws("secretsmanager").get_secret_value(SecretId="texts")["SecretString"]
    assert len(value) == 12 and value.isalpha()
