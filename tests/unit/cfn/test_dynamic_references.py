"""Dynamic references over a fake of the endpoint's calls: the Secrets Manager forms (Secrets
Manager itself is served by its own module), ssm-secure's allowed properties, and the refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sluiceway.cfn.dynamic_references import parameter_reader, resolve_references
from sluiceway.cfn.errors import TemplateError
from sluiceway.cfn.parameters import parameter_values
from sluiceway.endpoint.errors import AwsError

ARN = "arn:aws:secretsmanager:us-east-1:111111111111:secret:db-AbCdEf"


class FakeCalls:
    """Answers GetParameter and GetSecretValue from dicts, and records the calls."""

    def __init__(self) -> None:
        self.parameters: dict[str, tuple[str, str]] = {"/app/url": ("String", "https://x"), "/app/pw": ("SecureString", "hush")}
        self.secrets: dict[tuple[str, str | None, str | None], str] = {
            ("db", None, None): json.dumps({"user": "admin", "port": 5432}),
            (ARN, None, None): json.dumps({"user": "by-arn"}),
            ("db", "AWSPREVIOUS", None): json.dumps({"user": "old"}),
            ("db", None, "v-1"): json.dumps({"user": "first"}),
            ("plain", None, None): "just text",
        }
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def call(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((service, operation, params))
        if operation == "GetParameter":
            found = self.parameters.get(params["Name"])
            if found is None:
                raise AwsError("ParameterNotFound", "")
            return {"Parameter": {"Type": found[0], "Value": found[1]}}
        key = (params["SecretId"], params.get("VersionStage"), params.get("VersionId"))
        if key not in self.secrets:
            raise AwsError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
        return {"SecretString": self.secrets[key]}


@pytest.mark.parametrize(
    ("reference", "value"),
    [
        ("{{resolve:secretsmanager:db}}", json.dumps({"user": "admin", "port": 5432})),
        ("{{resolve:secretsmanager:db:SecretString:user}}", "admin"),
        ("{{resolve:secretsmanager:db:SecretString:port}}", "5432"),
        ("{{resolve:secretsmanager:db:SecretString:user:AWSPREVIOUS}}", "old"),
        ("{{resolve:secretsmanager:db:SecretString:user::v-1}}", "first"),
        (f"{{{{resolve:secretsmanager:{ARN}:SecretString:user}}}}", "by-arn"),
        ("{{resolve:secretsmanager:plain}}", "just text"),
    ],
)
def test_secrets_manager_references_take_their_documented_forms(reference: str, value: str) -> None:
    assert resolve_references({"Password": reference}, FakeCalls(), "AWS::RDS::DBInstance", "R") == {"Password": value}


@pytest.mark.parametrize(
    ("reference", "problem"),
    [
        ("{{resolve:secretsmanager:missing}}", "Secrets Manager can't find the specified secret."),
        ("{{resolve:secretsmanager:db:SecretString:nokey}}", "has no JSON key 'nokey'"),
        ("{{resolve:secretsmanager:plain:SecretString:k}}", "is not JSON"),
        ("{{resolve:secretsmanager:db:SecretBinary}}", "only SecretString"),
        ("{{resolve:secretsmanager:db:SecretString:user:AWSCURRENT:v-1}}", "not both"),
        ("{{resolve:vault:x}}", "'vault' is not one of ssm, ssm-secure, secretsmanager"),
        ("{{resolve:ssm:/app/url:latest}}", "Incorrect format is used in the following SSM reference"),
        ("{{resolve:ssm:/app/pw}}", "is a SecureString parameter"),
    ],
)
def test_references_that_cannot_resolve_fail_the_deploy(reference: str, problem: str) -> None:
    with pytest.raises(TemplateError) as excinfo:
        resolve_references({"Password": reference}, FakeCalls(), "AWS::RDS::DBInstance", "R")
    assert problem in str(excinfo.value)


def test_ssm_secure_resolves_only_in_the_properties_cloudformation_takes_it_in() -> None:
    calls = FakeCalls()
    user = {"LoginProfile": {"Password": "{{resolve:ssm-secure:/app/pw}}"}, "UserName": "x"}
    assert resolve_references(user, calls, "AWS::IAM::User", "R")["LoginProfile"]["Password"] == "hush"
    with pytest.raises(TemplateError, match=r"not supported in: \[AWS::IAM::User/Properties/UserName\]"):
        resolve_references({"UserName": "{{resolve:ssm-secure:/app/pw}}"}, calls, "AWS::IAM::User", "R")
    with pytest.raises(TemplateError, match="not supported in custom resources"):
        resolve_references({"Key": "{{resolve:ssm-secure:/app/pw}}"}, calls, "Custom::Thing", "R")


def test_references_inside_longer_texts_lists_and_objects() -> None:
    properties = {"Env": {"A": "u={{resolve:ssm:/app/url}}/x"}, "List": ["{{resolve:ssm:/app/url}}", 3], "Plain": "no refs"}
    assert resolve_references(properties, FakeCalls(), "AWS::Lambda::Function", "R") == {
        "Env": {"A": "u=https://x/x"},
        "List": ["https://x", 3],
        "Plain": "no refs",
    }


def test_an_endpoint_without_secrets_manager_is_said_plainly() -> None:
    class NoSecrets(FakeCalls):
        def call(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
            if service == "secretsmanager":
                raise KeyError(service)  # what operations() raises for a service that is not served
            return super().call(service, operation, params)

    with pytest.raises(TemplateError, match="Secrets Manager is not served"):
        resolve_references({"P": "{{resolve:secretsmanager:db}}"}, NoSecrets(), "AWS::RDS::DBInstance", "R")


class FailingCalls:
    """Every call fails as ``error`` (a fault below the API, or an AwsError with a code of its own)."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def call(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        raise self.error


def test_a_fault_reading_a_parameter_fails_the_deploy_naming_the_reference() -> None:
    calls = FailingCalls(OverflowError("Python int too large to convert to SQLite INTEGER"))
    with pytest.raises(TemplateError) as excinfo:
        resolve_references({"Value": "{{resolve:ssm:/app/url:7}}"}, calls, "AWS::SSM::Parameter", "R")
    assert str(excinfo.value) == (
        "{{resolve:ssm:/app/url:7}}: SSM parameter /app/url:7: cannot be read"
        " (OverflowError: Python int too large to convert to SQLite INTEGER)"
    )
    with pytest.raises(TemplateError) as excinfo:
        parameter_values(
            {"Url": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/app/url"}},
            {},
            "template.yaml",
            read_parameter=parameter_reader(calls),
        )
    assert str(excinfo.value).startswith("template.yaml: Parameters.Url: SSM parameter /app/url: cannot be read (OverflowError")


def test_other_refusals_of_parameter_store_and_secrets_manager_name_the_reference() -> None:
    refused = FailingCalls(AwsError("AccessDeniedException", "no access"))
    with pytest.raises(TemplateError, match=r"^\{\{resolve:ssm:/app/url\}\}: SSM parameter /app/url: AccessDeniedException: no access$"):
        resolve_references({"Value": "{{resolve:ssm:/app/url}}"}, refused, "AWS::SSM::Parameter", "R")
    deleted = FailingCalls(AwsError("InvalidRequestException", "the secret is marked for deletion"))
    with pytest.raises(
        TemplateError, match=r"^\{\{resolve:secretsmanager:db\}\}: InvalidRequestException: the secret is marked for deletion$"
    ):
        resolve_references({"Password": "{{resolve:secretsmanager:db}}"}, deleted, "AWS::RDS::DBInstance", "R")


def test_a_version_is_ascii_digits() -> None:
    # '٣' is a decimal digit to Python's \d; to CloudFormation it is no version.
    with pytest.raises(TemplateError, match="Incorrect format is used in the following SSM reference"):
        resolve_references({"Value": "{{resolve:ssm:/app/url:٣}}"}, FakeCalls(), "AWS::SSM::Parameter", "R")
