"""An app's HttpApi behind a Cognito JWT authorizer, deployed from its SAM template on a running stack.

Users sign in to the template's own user pool through ``cognito-idp`` (boto3), and call the routes
with their tokens: every role and every bad-token kind, checked against what the function sees.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sluiceway.cfn.deployer import Deployment
from sluiceway.cognito import jwt

Aws = Callable[..., Any]

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Pool:
    Type: AWS::Cognito::UserPool
    Properties:
      UserPoolName: app-users
  Client:
    Type: AWS::Cognito::UserPoolClient
    Properties:
      UserPoolId: !Ref Pool
      ExplicitAuthFlows: [ALLOW_USER_PASSWORD_AUTH, ALLOW_REFRESH_TOKEN_AUTH]
  Operators:
    Type: AWS::Cognito::UserPoolGroup
    Properties:
      UserPoolId: !Ref Pool
      GroupName: operator
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: Cognito
        Authorizers:
          Cognito:
            IdentitySource: $request.header.Authorization
            JwtConfiguration:
              issuer: !Sub https://cognito-idp.${AWS::Region}.amazonaws.com/${Pool}
              audience: [!Ref Client]
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
      Environment:
        Variables:
          CALLS: {calls}
      Events:
        Me:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Path: /me, Method: get}
        Open:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Path: /open, Method: get, Auth: {Authorizer: NONE}}
Outputs:
  Url:
    Value: !Sub https://${Api}.execute-api.${AWS::Region}.amazonaws.com
  PoolId:
    Value: !Ref Pool
  ClientId:
    Value: !Ref Client
"""

HANDLER = """\
import json
import os

def handler(event, context):
    with open(os.environ["CALLS"], "a", encoding="utf-8") as calls:
        calls.write(event["rawPath"] + "\\n")
    return {"statusCode": 200, "body": json.dumps(event["requestContext"].get("authorizer"))}
"""


def call(url: str, token: str | None = None) -> tuple[int, dict[str, str], Any]:
    headers = {"Authorization": token} if token is not None else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("authz-app")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLER, encoding="utf-8")
    (root / "template.yaml").write_text(TEMPLATE.replace("{calls}", str(root / "calls.txt")), encoding="utf-8")
    return root / "template.yaml"


def sign_in(aws: Aws, pool_id: str, client_id: str, name: str, groups: list[str]) -> dict[str, str]:
    idp = aws("cognito-idp")
    idp.admin_create_user(UserPoolId=pool_id, Username=name, MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username=name, Password="Correct-Horse-9", Permanent=True)
    for group in groups:
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=name, GroupName=group)
    result = idp.initiate_auth(
        ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": name, "PASSWORD": "Correct-Horse-9"}
    )
    return dict(result["AuthenticationResult"])


def forged(token: str, **changes: Any) -> str:
    head, payload, signature = token.split(".")
    claims = {**json.loads(base64.urlsafe_b64decode(payload + "==")), **changes}
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{body}.{signature}"


def test_http_api_jwt_authorizer_matrix(aws: Aws, make_stack: Callable[..., Deployment], app: Path) -> None:
    outputs = make_stack(app, "authz").outputs
    url, pool_id, client_id = outputs["Url"], outputs["PoolId"], outputs["ClientId"]
    operator = sign_in(aws, pool_id, client_id, "ada", ["operator"])
    plain = sign_in(aws, pool_id, client_id, "bob", [])

    status, _, seen = call(url + "/me", "Bearer " + operator["AccessToken"])
    assert status == 200
    claims = seen["jwt"]["claims"]
    assert claims["username"] == "ada" and claims["client_id"] == client_id and claims["cognito:groups"] == "[operator]"
    assert claims["iss"] == f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}" and claims["exp"].isdigit()
    status, _, seen = call(url + "/me", plain["IdToken"])  # an ID token: aud is the client
    assert status == 200 and seen["jwt"]["claims"]["aud"] == client_id and seen["jwt"]["scopes"] is None
    assert call(url + "/open")[0] == 200

    other_key = jwt.generate_key()
    kid = jwt.unverified_header(operator["AccessToken"])["kid"]
    claims = jwt.unverified_claims(operator["AccessToken"])
    bad = {
        "no token": None,
        "alg none": forged(operator["AccessToken"]).rsplit(".", 1)[0].replace(operator["AccessToken"].split(".")[0],
            base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()) + ".",
        "signed by another key": jwt.sign(claims, other_key, kid),
        "another client": jwt.sign({**claims, "client_id": "zzzzzzzzzzzzzzzzzzzzzzzzzz"}, other_key, kid),
        "tampered": forged(operator["AccessToken"], username="root"),
        "expired": forged(operator["AccessToken"], exp=claims["iat"] - 1),
        "garbage": "Bearer garbage",
    }  # fmt: skip
    calls = app.parent / "calls.txt"
    before = calls.read_text(encoding="utf-8")
    for name, token in bad.items():
        status, headers, body = call(url + "/me", token)
        assert (status, body) == (401, {"message": "Unauthorized"}), name
        if token is not None:
            assert headers["www-authenticate"].startswith('Bearer scope="" error="invalid_token"'), name
    assert calls.read_text(encoding="utf-8") == before  # the function never ran for a refused request
    assert before.count("/me") == 2
