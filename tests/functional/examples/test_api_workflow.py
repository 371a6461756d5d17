"""examples/api-workflow end to end: users of the app's Cognito pool sign in with boto3 and call its HTTP API.

The stack runs as a user runs it (``sluiceway up --template`` in a subprocess, see
example_harness). Users are made as an administrator makes them on AWS (AdminCreateUser,
AdminSetUserPassword, AdminAddUserToGroup) and sign in with ``initiate_auth(USER_PASSWORD_AUTH)``;
the API's JWT authorizer verifies their tokens before a handler runs: no token, a token whose
payload was changed, or one of another client gets 401 from API Gateway; a verified user outside
``submitters`` gets 403 from the handler.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from example_harness import RunningApp, run_example
from samtranslator.translator.transform import transform

EXAMPLES = Path(str(resources.files("sluiceway").joinpath("examples")))
PASSWORD = "Correct-horse-42"
JOB = {"operation": "mean", "numbers": [12, 7.5, 30, 0.5], "label": "e2e"}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    with run_example("api-workflow", tmp_path_factory.mktemp("api-workflow")) as app:
        yield app


def make_user(running: RunningApp, username: str, *groups: str) -> None:
    idp, pool = running.client("cognito-idp"), running.outputs["UserPoolId"]
    idp.admin_create_user(UserPoolId=pool, Username=username, MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool, Username=username, Password=PASSWORD, Permanent=True)
    for group in groups:
        idp.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName=group)


def sign_in(running: RunningApp, username: str) -> dict[str, str]:
    answer = running.client("cognito-idp").initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=running.outputs["UserPoolClientId"],
        AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
    )
    return dict(answer["AuthenticationResult"])


@pytest.fixture(scope="module")
def tokens(running: RunningApp) -> dict[str, dict[str, str]]:
    make_user(running, "sam", "submitters")
    make_user(running, "vic", "viewers")
    make_user(running, "nobody")
    return {name: sign_in(running, name) for name in ("sam", "vic", "nobody")}


def call(running: RunningApp, method: str, path: str, token: str | None = None, body: Any = None) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.request(method, running.outputs["ApiUrl"].rstrip("/") + path, headers=headers, json=body, timeout=30)


def decoded(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


def with_claims(token: str, **changes: Any) -> str:
    """The token with claims rewritten in its payload and its signature kept."""
    header, _, signature = token.split(".")
    payload = base64.urlsafe_b64encode(json.dumps({**decoded(token), **changes}).encode()).rstrip(b"=").decode()
    return f"{header}.{payload}.{signature}"


def test_the_api_url_is_the_local_stand_in_for_execute_api(running: RunningApp) -> None:
    assert re.fullmatch(rf"{re.escape(running.url)}/_sluiceway/apis/[a-z0-9]{{10}}", running.outputs["ApiUrl"].rstrip("/"))
    assert re.fullmatch(r"us-east-1_[A-Za-z0-9]{9}", running.outputs["UserPoolId"])
    assert re.fullmatch(r"[a-z0-9]{26}", running.outputs["UserPoolClientId"])


def test_tokens_are_the_pool_s_and_the_client_s(running: RunningApp, tokens: dict[str, dict[str, str]]) -> None:
    access, identity = decoded(tokens["sam"]["AccessToken"]), decoded(tokens["sam"]["IdToken"])
    issuer = f"https://cognito-idp.us-east-1.amazonaws.com/{running.outputs['UserPoolId']}"
    assert (access["iss"], access["token_use"], access["client_id"]) == (issuer, "access", running.outputs["UserPoolClientId"])
    assert (identity["iss"], identity["token_use"], identity["aud"]) == (issuer, "id", running.outputs["UserPoolClientId"])
    assert access["cognito:groups"] == ["submitters"]


@pytest.mark.parametrize("kind", ["AccessToken", "IdToken"])
def test_a_submitter_s_job_runs_to_its_result(running: RunningApp, tokens: dict[str, dict[str, str]], kind: str) -> None:
    # The authorizer's audience is the client: an access token's client_id and an ID token's aud both match it.
    token = tokens["sam"][kind]
    started = call(running, "POST", "/jobs", token, JOB)
    assert started.status_code == 202, started.text
    job = started.json()
    assert re.fullmatch(r"[0-9a-f-]{36}", job["jobId"])
    assert job["executionArn"] == f"{running.outputs['StateMachineArn'].replace(':stateMachine:', ':execution:')}:{job['jobId']}"

    def finished() -> dict[str, Any] | None:
        answer = call(running, "GET", f"/jobs/{job['jobId']}", token)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body if body["status"] != "RUNNING" else None

    done = running.until(finished, "the job's end")
    assert done["status"] == "SUCCEEDED", done
    assert done["output"] == {"jobId": job["jobId"], "operation": "mean", "count": 4, "result": 12.5, "outcome": "ok"}
    assert done["submittedBy"] == "sam"
    listed = call(running, "GET", "/jobs", token)
    assert listed.status_code == 200
    assert job["jobId"] in [entry["jobId"] for entry in listed.json()["jobs"]]


def test_a_job_whose_result_overflows_fails_through_the_choice(running: RunningApp, tokens: dict[str, dict[str, str]]) -> None:
    token = tokens["sam"]["AccessToken"]
    started = call(running, "POST", "/jobs", token, {"operation": "sum", "numbers": [1e308, 1e308]})
    assert started.status_code == 202, started.text
    job_id = started.json()["jobId"]
    done = running.until(
        lambda: (body := call(running, "GET", f"/jobs/{job_id}", token).json())["status"] != "RUNNING" and body, "the job's end"
    )
    assert (done["status"], done["error"]) == ("FAILED", "Job.ResultOutOfRange")


def test_the_handler_refuses_what_the_token_does_not_allow(running: RunningApp, tokens: dict[str, dict[str, str]]) -> None:
    # Verified tokens, refused by the handler from their groups: 403 with its own message.
    for name in ("vic", "nobody"):
        refused = call(running, "POST", "/jobs", tokens[name]["AccessToken"], JOB)
        assert refused.status_code == 403, refused.text
        assert "submitters" in refused.json()["message"]
    assert call(running, "GET", "/jobs", tokens["nobody"]["AccessToken"]).status_code == 403
    invalid = call(running, "POST", "/jobs", tokens["sam"]["AccessToken"], {"operation": "median", "numbers": []})
    assert invalid.status_code == 400
    assert len(invalid.json()["problems"]) == 2


def test_a_viewer_reads_every_job_and_a_submitter_only_their_own(running: RunningApp, tokens: dict[str, dict[str, str]]) -> None:
    make_user(running, "sue", "submitters")
    other = sign_in(running, "sue")["AccessToken"]
    job_id = call(running, "POST", "/jobs", tokens["sam"]["AccessToken"], JOB).json()["jobId"]
    assert call(running, "GET", f"/jobs/{job_id}", tokens["vic"]["AccessToken"]).status_code == 200
    assert call(running, "GET", f"/jobs/{job_id}", other).status_code == 404
    assert call(running, "GET", "/jobs/not-a-job", tokens["vic"]["AccessToken"]).status_code == 400


def unsigned(token: str) -> str:
    """The token's payload under an ``alg: none`` header, without a signature."""
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).rstrip(b"=").decode()
    return f"{header}.{token.split('.')[1]}."


def test_api_gateway_refuses_requests_without_a_verified_token(running: RunningApp, tokens: dict[str, dict[str, str]]) -> None:
    access = tokens["vic"]["AccessToken"]
    # A genuine token of the same pool, for another of its clients: not the authorizer's audience.
    idp, pool = running.client("cognito-idp"), running.outputs["UserPoolId"]
    other = idp.create_user_pool_client(UserPoolId=pool, ClientName="other", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])
    foreign = idp.initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=other["UserPoolClient"]["ClientId"],
        AuthParameters={"USERNAME": "sam", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]["AccessToken"]
    refused = {
        "no token": call(running, "POST", "/jobs", None, JOB),
        "not a bearer token": httpx.post(running.outputs["ApiUrl"] + "/jobs", headers={"authorization": "Basic dmljOnB3"}, json=JOB),
        # A viewer makes themself a submitter: the signature no longer matches the payload.
        "tampered payload": call(running, "POST", "/jobs", with_claims(access, **{"cognito:groups": ["submitters"]}), JOB),
        "another client's token": call(running, "POST", "/jobs", foreign, JOB),
        "alg none": call(running, "POST", "/jobs", unsigned(tokens["sam"]["AccessToken"]), JOB),
        "refresh token": call(running, "POST", "/jobs", tokens["vic"]["RefreshToken"], JOB),
    }
    for kind, answer in refused.items():
        assert answer.status_code == 401, f"{kind}: {answer.status_code} {answer.text}"
        assert answer.json() == {"message": "Unauthorized"}, kind
    # Nothing was started by any of them: sam's jobs are the only ones, and vic has none.
    assert call(running, "GET", "/jobs", access).json()["jobs"] == []


def test_every_route_of_the_translated_template_is_behind_the_cognito_authorizer(monkeypatch: pytest.MonkeyPatch) -> None:
    from test_example_templates import CfnLoader, NoManagedPolicies, packaged

    text = (EXAMPLES / "api-workflow" / "template.yaml").read_text(encoding="utf-8")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    out = transform(packaged(yaml.load(text, Loader=CfnLoader)), {}, NoManagedPolicies())  # type: ignore[arg-type]  # noqa: S506
    (api,) = [r for r in out["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Api"]
    body = api["Properties"]["Body"]
    scheme = body["components"]["securitySchemes"]["CognitoJwt"]["x-amazon-apigateway-authorizer"]
    assert scheme["type"] == "jwt"
    assert scheme["jwtConfiguration"] == {
        "issuer": {"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"},
        "audience": [{"Ref": "UserPoolClient"}],
    }
    routes = {f"{method.upper()} {path}": operation for path, item in body["paths"].items() for method, operation in item.items()}
    assert sorted(routes) == ["GET /jobs", "GET /jobs/{id}", "POST /jobs"]
    assert all(operation["security"] == [{"CognitoJwt": []}] for operation in routes.values())
