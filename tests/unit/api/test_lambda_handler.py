"""The management API as a Lambda: Mangum, the JWT authorizer's claims, and a small cold start."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
from mangum import Mangum

from sluiceway.api.app import create_app
from sluiceway.api.auth import ApiGatewayClaimsAuthenticator, principal_of
from sluiceway.api.aws import AwsCallError


class RecordingAws:
    """The Aws port as AWS would answer these few calls (StartExecution, DescribeExecution)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def call(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((service, operation, params))
        if operation == "StartExecution":
            return {
                "executionArn": f"{params['stateMachineArn'].replace(':stateMachine:', ':execution:')}:run",
                "startDate": datetime.now(UTC),
            }
        raise AwsCallError("ExecutionDoesNotExist", f"Execution Does Not Exist: '{params.get('executionArn')}'", 400)

    def presign_put(self, bucket: str, key: str, expires_s: int, *, content_type: str | None = None) -> str:
        raise AssertionError("not called")

    def presign_get(self, bucket: str, key: str, expires_s: int) -> str:
        raise AssertionError("not called")


MACHINE = "arn:aws:states:eu-west-1:123456789012:stateMachine:flow"


def event(method: str, path: str, body: Any = None, claims: dict[str, str] | None = None) -> dict[str, Any]:
    """An HttpApi (payload 2.0) event as API Gateway sends it; its JWT claims are strings, lists flattened."""
    context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "abc123",
        "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9", "userAgent": "test"},
        "requestId": "r-1",
        "routeKey": "ANY /_sluiceway/api/{proxy+}",
        "stage": "$default",
        "time": "01/Jan/2025:00:00:00 +0000",
        "timeEpoch": 1735689600000,
    }
    if claims is not None:
        context["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    return {
        "version": "2.0",
        "routeKey": "ANY /_sluiceway/api/{proxy+}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "abc123.execute-api.eu-west-1.amazonaws.com", "content-type": "application/json"},
        "requestContext": context,
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def access_claims(groups: str) -> dict[str, str]:
    return {
        "sub": "0f1e",
        "cognito:groups": groups,
        "iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xYz",
        "client_id": "abcdefghijklmnopqrstuvwxyz",
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "username": "ada",
        "exp": "1735693200",
        "iat": "1735689600",
    }


@pytest.fixture
def lambda_app() -> tuple[RecordingAws, Mangum]:
    aws = RecordingAws()
    return aws, Mangum(create_app(aws, ApiGatewayClaimsAuthenticator()), lifespan="off")


def test_an_operator_starts_an_execution_through_the_http_api(lambda_app: tuple[RecordingAws, Mangum]) -> None:
    aws, handler = lambda_app
    body = {"stateMachineArn": MACHINE, "input": {"a": 1}}
    answer = handler(event("POST", "/_sluiceway/api/executions", body, access_claims("[operator viewer]")), None)
    assert answer["statusCode"] == 201, answer["body"]
    assert json.loads(answer["body"])["executionArn"].endswith(":execution:flow:run")
    assert aws.calls == [("stepfunctions", "StartExecution", {"stateMachineArn": MACHINE, "input": '{"a": 1}'})]


def test_without_the_authorizers_claims_the_lambda_refuses(lambda_app: tuple[RecordingAws, Mangum]) -> None:
    aws, handler = lambda_app
    answer = handler(event("POST", "/_sluiceway/api/executions", {"stateMachineArn": MACHINE}), None)
    assert answer["statusCode"] == 401
    assert answer["headers"]["www-authenticate"] == "Bearer"
    assert aws.calls == []


def test_an_id_token_or_a_low_role_is_refused(lambda_app: tuple[RecordingAws, Mangum]) -> None:
    aws, handler = lambda_app
    id_claims = {**access_claims("[admin]"), "token_use": "id", "aud": "abcdefghijklmnopqrstuvwxyz"}
    assert handler(event("POST", "/_sluiceway/api/executions", {"stateMachineArn": MACHINE}, id_claims), None)["statusCode"] == 401
    viewer = handler(event("POST", "/_sluiceway/api/executions", {"stateMachineArn": MACHINE}, access_claims("[viewer]")), None)
    assert viewer["statusCode"] == 403
    assert aws.calls == []


def test_aws_errors_become_problems(lambda_app: tuple[RecordingAws, Mangum]) -> None:
    _, handler = lambda_app
    arn = "arn:aws:states:eu-west-1:123456789012:execution:flow:nope"
    answer = handler(event("GET", f"/_sluiceway/api/executions/{arn}", None, access_claims("[viewer]")), None)
    assert answer["statusCode"] == 404
    assert json.loads(answer["body"]) == {"error": "ExecutionDoesNotExist", "message": f"Execution Does Not Exist: '{arn}'"}


def test_the_openapi_document_names_the_same_root_as_locally(lambda_app: tuple[RecordingAws, Mangum]) -> None:
    _, handler = lambda_app
    answer = handler(event("GET", "/_sluiceway/api/openapi.json"), None)
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"])["servers"] == [{"url": "/_sluiceway/api"}]


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        ("[admin operator]", {"admin", "operator"}),
        ('["viewer","admin"]', {"viewer", "admin"}),
        ("viewer", {"viewer"}),
        (["a", "b"], {"a", "b"}),
    ],
)
def test_group_claims_are_read_as_api_gateway_and_cognito_give_them(groups: Any, expected: set[str]) -> None:
    assert principal_of({"token_use": "access", "cognito:groups": groups}).groups == expected


def test_importing_the_handler_loads_no_runtime_cli_deploy_or_endpoint() -> None:
    probe = (
        "import json, sys\n"
        "import sluiceway.api.lambda_handler\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('sluiceway.', 'boto3', 'botocore')))))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = json.loads(done.stdout)
    assert "sluiceway.api.lambda_handler" in loaded
    forbidden = ("sluiceway.runtime", "sluiceway.asl", "sluiceway.cli", "sluiceway.deploy", "sluiceway.endpoint", "sluiceway.backends")
    assert [m for m in loaded if m.startswith(forbidden)] == []
    assert [m for m in loaded if m.startswith(("boto3", "botocore"))] == []  # imported on the first call only


def test_resources_name_only_the_stack_the_lambda_is_told() -> None:
    class StackAws(RecordingAws):
        def call(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
            self.calls.append((service, operation, params))
            if operation == "DescribeStacks":
                return {"Stacks": []}
            raise AssertionError(f"{service} {operation} is not asked for")

    aws = StackAws()
    app = Mangum(create_app(aws, ApiGatewayClaimsAuthenticator(), stacks=lambda: ["my-app"]), lifespan="off")
    answer = app(event("GET", "/_sluiceway/api/resources", claims=access_claims("viewer")), None)
    assert answer["statusCode"] == 200, answer
    assert [(op, params.get("StackName")) for _, op, params in aws.calls] == [("DescribeStacks", "my-app")]


def test_the_lambda_without_its_stack_name_refuses_resources_and_never_lists_the_account() -> None:
    # In a process of its own: importing the handler configures logging and builds its boto3 port.
    request = event("GET", "/_sluiceway/api/resources", claims=access_claims("viewer"))
    script = (
        "import json, os, sys\n"
        "os.environ.pop('SLUICEWAY_STACK_NAME', None)\n"
        "from sluiceway.api.lambda_handler import handler\n"
        "answer = handler(json.loads(sys.stdin.read()), None)\n"
        "print(json.dumps({'status': answer['statusCode'], 'body': json.loads(answer['body'])}))\n"
    )
    env = {"AWS_DEFAULT_REGION": "eu-west-1", "PATH": "/usr/bin:/bin", "SLUICEWAY_API_USER_POOL_ID": "eu-west-1_AbC123xYz"}
    done = subprocess.run([sys.executable, "-c", script], input=json.dumps(request), capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["status"] == 501 and answer["body"]["error"] == "NotConfigured", answer
