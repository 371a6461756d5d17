"""The management API in the deployed template: cfn-lint, the SAM translator, least privilege, checkov."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint
from samtranslator.translator.transform import transform

from sluiceway.config import STARTER_CONFIG, parse_config
from sluiceway.deploy.management_api import HANDLER, LIST_ONLY_ACTIONS
from sluiceway.deploy.policies import ALLOWED_WILDCARD_ACTIONS
from sluiceway.deploy.template import TemplateOptions, WrittenTemplate, write_template
from sluiceway.settings import Settings

REPO = Path(__file__).resolve().parents[3]
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
EXPECTED_MANAGED = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}


class _Policies:
    """samtranslator's managed-policy loader without IAM (the bundled map knows what SAM attaches)."""

    def load(self) -> dict[str, str]:
        return {"AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> WrittenTemplate:
    out = tmp_path_factory.mktemp("mgmt") / "template.yaml"
    return write_template(Settings(), parse_config(STARTER_CONFIG), out, options=TemplateOptions(management_api=True))


@pytest.fixture(scope="module")
def translated(written: WrittenTemplate) -> dict[str, Any]:
    doc = copy.deepcopy(written.template)
    for resource in doc["Resources"].values():
        props = resource.get("Properties", {})
        if "CodeUri" in props:
            props["CodeUri"] = "s3://artifacts-bucket/bundle.zip"
        if "DefinitionUri" in props:
            props["DefinitionUri"] = "s3://artifacts-bucket/definition.asl.json"
    import os

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    out: dict[str, Any] = transform(json.loads(json.dumps(doc)), {}, _Policies())  # type: ignore[arg-type]
    return out


def test_without_the_option_the_template_has_no_management_api() -> None:
    from sluiceway.deploy.template import build_template

    plain = build_template(Settings(), parse_config(STARTER_CONFIG), template_dir=REPO)
    assert not [name for name in plain["Resources"] if name.startswith("Management")]


def test_cfn_lint_passes(written: WrittenTemplate) -> None:
    found = [f"{m.rule.id} {m.message}" for m in lint(written.path.read_text(encoding="utf-8"), config=ManualArgs(regions=["us-east-1"]))]
    assert found == []


def test_the_pool_has_the_roles_the_scopes_and_two_clients(written: WrittenTemplate) -> None:
    resources = written.template["Resources"]
    groups = {r["Properties"]["GroupName"] for r in resources.values() if r["Type"] == "AWS::Cognito::UserPoolGroup"}
    assert groups == {"viewer", "operator", "admin"}
    (server,) = [r for r in resources.values() if r["Type"] == "AWS::Cognito::UserPoolResourceServer"]
    assert server["Properties"]["Identifier"] == "sluiceway"
    assert {s["ScopeName"] for s in server["Properties"]["Scopes"]} == {"read", "operate", "admin"}
    clients = {r["Properties"]["ClientName"]: r["Properties"] for r in resources.values() if r["Type"] == "AWS::Cognito::UserPoolClient"}
    assert clients["sluiceway"]["GenerateSecret"] is False
    assert set(clients["sluiceway"]["ExplicitAuthFlows"]) == {"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
    assert clients["sluiceway-machine"]["AllowedOAuthFlows"] == ["client_credentials"]
    assert "sluiceway/admin" not in clients["sluiceway-machine"]["AllowedOAuthScopes"]
    assert resources["ManagementUserPool"]["Properties"]["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}


def test_the_sam_translator_makes_a_jwt_authorizer_on_the_pool_and_public_openapi(translated: dict[str, Any]) -> None:
    resources = translated["Resources"]
    # An HttpApi's authorizers are in its OpenAPI body (x-amazon-apigateway-authorizer), not resources of their own.
    authorizer = _authorizer_of(resources)
    assert authorizer["AuthorizerType"] == "JWT"
    assert authorizer["IdentitySource"] == ["$request.header.Authorization"]
    issuer = authorizer["JwtConfiguration"]["issuer"]
    assert issuer == {"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${ManagementUserPool}"}
    assert authorizer["JwtConfiguration"]["audience"] == [{"Ref": "ManagementUserPoolClient"}, {"Ref": "ManagementMachineClient"}]
    functions = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Lambda::Function"]
    assert [f["Handler"] for f in functions].count(HANDLER) == 1
    routes = _routes(resources)
    assert routes["ANY /_sluiceway/api/{proxy+}"] == "CognitoJwt"
    assert routes["GET /_sluiceway/api/openapi.json"] == "NONE"  # SAM's word for a route without authorizer
    found = [f"{m.rule.id} {m.message}" for m in lint(json.dumps(translated), config=ManualArgs(regions=["us-east-1"]))]
    assert found == []


def _authorizer_of(resources: dict[str, Any]) -> dict[str, Any]:
    api = next(r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Api")["Properties"]
    scheme = api["Body"]["components"]["securitySchemes"]["CognitoJwt"]
    authorizer = scheme["x-amazon-apigateway-authorizer"]
    return {
        "AuthorizerType": authorizer["type"].upper(),
        "IdentitySource": [authorizer["identitySource"]],
        "JwtConfiguration": authorizer["jwtConfiguration"],
    }


def _routes(resources: dict[str, Any]) -> dict[str, str | None]:
    api = next(r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Api")["Properties"]
    found: dict[str, str | None] = {}
    for path, methods in api["Body"]["paths"].items():
        for method, operation in methods.items():
            security = operation.get("security")
            name = next(iter(security[0]), None) if security else None
            found[f"{'ANY' if method == 'x-amazon-apigateway-any-method' else method.upper()} {path}"] = name
    return found


def test_the_function_role_is_least_privilege(translated: dict[str, Any]) -> None:
    resources = translated["Resources"]
    function = next(
        (name, r) for name, r in resources.items() if r["Type"] == "AWS::Lambda::Function" and r["Properties"]["Handler"] == HANDLER
    )
    role = resources[function[1]["Properties"]["Role"]["Fn::GetAtt"][0]]
    assert set(role["Properties"].get("ManagedPolicyArns", [])) <= EXPECTED_MANAGED
    actions_seen: set[str] = set()
    for policy in role["Properties"]["Policies"]:
        statements = policy["PolicyDocument"]["Statement"]
        for statement in statements if isinstance(statements, list) else [statements]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources_ = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            actions_seen.update(actions)
            assert not [a for a in actions if "*" in a], statement
            if "*" in resources_:
                assert set(actions) <= ALLOWED_WILDCARD_ACTIONS | LIST_ONLY_ACTIONS, statement
    # Every AWS call the routes make is allowed (the local endpoint's names, IAM's prefixes).
    needed = {
        "states:ListStateMachines", "states:ListExecutions", "states:DescribeExecution", "states:GetExecutionHistory",
        "states:StartExecution", "states:StopExecution", "states:RedriveExecution", "s3:ListAllMyBuckets", "s3:ListBucket",
        "s3:GetObject", "s3:PutObject", "sqs:ListQueues", "sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:StartMessageMoveTask",
        "sns:ListTopics", "sns:ListSubscriptionsByTopic", "events:ListEventBuses", "events:ListRules", "events:ListTargetsByRule",
        "cloudwatch:DescribeAlarms", "cognito-idp:ListUsers", "cognito-idp:AdminCreateUser", "cognito-idp:AdminDeleteUser",
        "cognito-idp:AdminAddUserToGroup", "cognito-idp:AdminRemoveUserFromGroup", "cognito-idp:AdminSetUserPassword",
        "cognito-idp:AdminGetUser", "cognito-idp:AdminListGroupsForUser", "cognito-idp:ListGroups",
    }  # fmt: skip
    assert needed <= actions_seen
    assert not [a for a in actions_seen if a.startswith("cognito-idp:") and a not in needed]


@pytest.mark.slow
@pytest.mark.skipif(not CHECKOV.exists(), reason="checkov lives in .venv-checkov; `make test` creates it")
def test_checkov_reports_no_failed_check(written: WrittenTemplate) -> None:
    result = subprocess.run(
        [str(CHECKOV), "-f", str(written.path), "--framework", "cloudformation", "--skip-download", "--compact", "--quiet", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    report = report if isinstance(report, dict) else report[0]
    assert report["summary"]["failed"] == 0, [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
