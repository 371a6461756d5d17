"""The management API in the deployed template: cfn-lint, the SAM translator, least privilege, checkov."""

from __future__ import annotations

import ast
import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from cfnlint.api import ManualArgs, lint
from samtranslator.translator.transform import transform

from sluiceway.config import STARTER_CONFIG, parse_config
from sluiceway.deploy.management_api import HANDLER, LIST_ONLY_ACTIONS
from sluiceway.deploy.policies import ALLOWED_WILDCARD_ACTIONS
from sluiceway.deploy.template import TemplateOptions, WrittenTemplate, write_template
from sluiceway.settings import Settings

REPO = Path(__file__).resolve().parents[3]
API_SOURCE = REPO / "src" / "sluiceway" / "api"
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
    # Every AWS call the routes make is allowed; beyond them only what StartMessageMoveTask also does
    # (DeleteMessage on the queue it drains) and SAM's grant for the function's own DeadLetterQueue.
    needed = _actions_the_api_calls()
    assert {"states:StartExecution", "s3:ListBucket", "cloudformation:DescribeStacks", "cloudwatch:GetMetricData"} <= needed
    assert needed - actions_seen == set()
    assert actions_seen - needed == {"sqs:DeleteMessage", "sqs:SendMessage"}


#: botocore's service names where IAM's prefix differs.
_IAM_PREFIX = {"stepfunctions": "states"}
#: Operations whose IAM action has another name (AWS's Service Authorization Reference, "API operations" table).
_IAM_ACTION = {
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "HeadObject"): "s3:GetObject",
}
#: A presigned URL acts with the API's credentials: a download is s3:GetObject, an upload s3:PutObject.
_PRESIGNED = {"presign_get": "s3:GetObject", "presign_put": "s3:PutObject"}


def _actions_the_api_calls() -> set[str]:
    """The IAM actions of every AWS operation named in ``src/sluiceway/api``: ``aws.call("sqs", "ReceiveMessage", ...)``.

    Read from the source, so a route calling an operation its role does not allow fails here. A
    call is any one with a botocore service name and one of its operations as neighbouring string
    arguments, so helpers (``paged(aws, "events", "ListRules", ...)``) count; an ``aws.call`` with
    anything else there must be such a helper's, passing its own ``service``/``operation`` on.
    """
    session = botocore.session.get_session()
    services = set(session.get_available_services())
    operations: dict[str, set[str]] = {}
    found: set[str] = set()
    for path in sorted(API_SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            if isinstance(node.func, ast.Attribute) and node.func.attr in _PRESIGNED:
                found.add(_PRESIGNED[node.func.attr])
            literals = [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None for a in node.args]
            for service, operation in zip(literals, literals[1:], strict=False):
                if service in services and operation is not None:
                    if service not in operations:
                        operations[service] = set(session.get_service_model(service).operation_names)
                    if operation in operations[service]:
                        found.add(_IAM_ACTION.get((service, operation), f"{_IAM_PREFIX.get(service, service)}:{operation}"))
            if isinstance(node.func, ast.Attribute) and node.func.attr == "call" and len(node.args) >= 2:
                named = [a.id if isinstance(a, ast.Name) else None for a in node.args[:2]]
                literal = all(isinstance(a, ast.Constant) for a in node.args[:2])
                assert literal or named == ["service", "operation"], f"{path.name}:{node.lineno}: an AWS call the test cannot read"
    return found


def test_the_function_knows_its_stack_and_reads_only_that_stack(written: WrittenTemplate) -> None:
    function = written.template["Resources"]["ManagementApiFunction"]["Properties"]
    variables = function["Environment"]["Variables"]
    # The names lambda_handler reads (USER_POOL_ENV, STACK_NAME_ENV); importing it would configure logging.
    assert variables["SLUICEWAY_STACK_NAME"] == {"Ref": "AWS::StackName"}
    assert variables["SLUICEWAY_API_USER_POOL_ID"] == {"Ref": "ManagementUserPool"}
    (policy,) = function["Policies"]
    (stack,) = [s for s in policy["Statement"] if any(a.startswith("cloudformation:") for a in s["Action"])]
    assert sorted(stack["Action"]) == ["cloudformation:DescribeStacks", "cloudformation:ListStackResources"]
    assert stack["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/${AWS::StackName}/*"
    }


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
