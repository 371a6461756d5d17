"""Apps' APIs behind authorizers, deployed from their SAM templates on a running stack, called over the wire.

An HttpApi behind a Cognito JWT authorizer, and a REST API (``AWS::Serverless::Api``) behind a
COGNITO_USER_POOLS authorizer, a Lambda TOKEN authorizer and a request validator. Users sign in to
the template's own user pool through ``cognito-idp`` (boto3) and call the routes with their tokens;
what the function sees (and whether it ran at all) is checked against AWS's behaviour.
"""

from __future__ import annotations

import base64
import json
import re
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


def call(url: str, token: str | None = None, body: bytes | None = None) -> tuple[int, dict[str, str], Any]:
    headers = {"Authorization": token} if token is not None else {}
    if body is not None:
        headers["Content-Type"] = "application/json"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers), timeout=30) as response:
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


# ---------------------------------------------------------------------------- REST API

REST_TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Pool:
    Type: AWS::Cognito::UserPool
    Properties:
      UserPoolName: rest-users
  Client:
    Type: AWS::Cognito::UserPoolClient
    Properties:
      UserPoolId: !Ref Pool
      ExplicitAuthFlows: [ALLOW_USER_PASSWORD_AUTH, ALLOW_REFRESH_TOKEN_AUTH]
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
      Models:
        Item:
          type: object
          required: [name]
          properties:
            name: {type: string, minLength: 1}
      Auth:
        Authorizers:
          Users:
            UserPoolArn: !GetAtt Pool.Arn
          Tokens:
            FunctionArn: !GetAtt Gatekeeper.Arn
            FunctionPayloadType: TOKEN
            Identity:
              Header: Authorization
              ReauthorizeEvery: 0
  Gatekeeper:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: gatekeeper.handler
      CodeUri: src/
      Environment:
        Variables:
          CALLS: {calls}
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
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: /me, Method: get, Auth: {Authorizer: Users}}
        Admin:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: /admin, Method: get, Auth: {Authorizer: Tokens}}
        Items:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: /items, Method: get, Auth: {Authorizer: Tokens}}
        Create:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /items
            Method: post
            RequestModel: {Model: Item, Required: true, ValidateBody: true}
Outputs:
  Url:
    Value: !Sub https://${Api}.execute-api.${AWS::Region}.amazonaws.com/Prod
  PoolId:
    Value: !Ref Pool
  ClientId:
    Value: !Ref Client
"""

REST_HANDLER = """\
import json
import os

def handler(event, context):
    with open(os.environ["CALLS"], "a", encoding="utf-8") as calls:
        calls.write(event["httpMethod"] + " " + event["path"] + "\\n")
    seen = {"authorizer": event["requestContext"].get("authorizer"), "body": event["body"]}
    return {"statusCode": 200, "body": json.dumps(seen)}
"""

#: A TOKEN authorizer answering by its token: allow (with a context), deny, allow all but GET /admin, or Unauthorized.
GATEKEEPER = """\
import os

def handler(event, context):
    with open(os.environ["CALLS"], "a", encoding="utf-8") as calls:
        calls.write("authorize " + event["methodArn"] + "\\n")
    token = event["authorizationToken"]
    if token == "unauthorized":
        raise Exception("Unauthorized")
    api = event["methodArn"].split("/", 1)[0]
    statements = [{"Action": "execute-api:Invoke", "Effect": "Deny" if token == "deny" else "Allow", "Resource": api + "/*"}]
    if token == "all-but-admin":
        statements.append({"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": api + "/*/GET/admin"})
    return {
        "principalId": "user-" + token,
        "policyDocument": {"Version": "2012-10-17", "Statement": statements},
        "context": {"tenant": "t1", "level": 3, "admin": False},
    }
"""


@pytest.fixture
def rest_app(app_dir: Callable[..., Path]) -> Path:
    template = app_dir(REST_TEMPLATE, files={"src/app.py": REST_HANDLER, "src/gatekeeper.py": GATEKEEPER})
    template.write_text(template.read_text(encoding="utf-8").replace("{calls}", str(template.parent / "calls.txt")), encoding="utf-8")
    return template


def calls_of(template: Path) -> list[str]:
    path = template.parent / "calls.txt"
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


DENIED = (403, {"Message": "User is not authorized to access this resource with an explicit deny"})


def test_rest_api_cognito_token_authorizers_and_request_validation(aws: Aws, make_stack: Callable[..., Deployment], rest_app: Path) -> None:
    outputs = make_stack(rest_app, "rest-authz").outputs
    url, pool_id, client_id = outputs["Url"], outputs["PoolId"], outputs["ClientId"]
    tokens = sign_in(aws, pool_id, client_id, "ada", [])

    # COGNITO_USER_POOLS: the ID token itself (no "Bearer") is taken; its claims reach the function as strings.
    status, _, seen = call(url + "/me", tokens["IdToken"])
    assert status == 200
    claims = seen["authorizer"]["claims"]
    assert claims["cognito:username"] == "ada" and claims["aud"] == client_id and claims["token_use"] == "id"
    assert claims["iss"] == f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}"
    assert re.fullmatch(r"[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d UTC \d{4}", claims["exp"])  # REST's date form
    # A method without authorization scopes takes no access token; garbage and no token are refused too.
    for token in (tokens["AccessToken"], "Bearer " + tokens["IdToken"], "garbage", None):
        assert call(url + "/me", token)[:3:2] == (401, {"message": "Unauthorized"}), str(token)[:12]
    assert calls_of(rest_app) == ["GET /me"]

    # A Lambda TOKEN authorizer: its principal and context reach the function (the context's values as strings).
    status, _, seen = call(url + "/items", "allow")
    assert status == 200
    assert seen["authorizer"]["principalId"] == "user-allow"
    assert (seen["authorizer"]["tenant"], seen["authorizer"]["level"], seen["authorizer"]["admin"]) == ("t1", "3", "false")
    assert call(url + "/items", "deny")[:3:2] == DENIED
    assert call(url + "/items", "unauthorized")[:3:2] == (401, {"message": "Unauthorized"})
    assert call(url + "/items")[:3:2] == (401, {"message": "Unauthorized"})  # no token: the authorizer is not asked
    # A Deny on GET /admin holds for every spelling of the path that reaches GET /admin.
    for path in ("/admin", "/admin/", "//admin", "/admin//"):
        assert call(url + path, "all-but-admin")[:3:2] == DENIED, path
    assert call(url + "/items", "all-but-admin")[0] == 200
    arn = f"arn:aws:execute-api:us-east-1:{aws('sts').get_caller_identity()['Account']}:{url.split('/')[-2]}/Prod/GET/admin"
    recorded = calls_of(rest_app)
    assert recorded.count("authorize " + arn) == 4 and not any(line.startswith("GET /admin") for line in recorded)
    assert recorded.count("GET /items") == 2

    # Request validation: a body the model refuses is 400 before the function runs; a good one goes through.
    before = len(calls_of(rest_app))
    for bad in (b'{"name": ""}', b"{}", b"not json", b"[" * 100_000 + b"]" * 100_000):
        status, headers, reply = call(url + "/items", body=bad)
        assert (status, reply, headers["x-amzn-ErrorType"]) == (400, {"message": "Invalid request body"}, "BadRequestException")
    assert len(calls_of(rest_app)) == before
    status, _, seen = call(url + "/items", body=b'{"name": "n"}')
    assert status == 200 and seen["body"] == '{"name": "n"}'
    assert calls_of(rest_app)[before:] == ["POST /items"]
