"""An app's function URLs (SAM ``FunctionUrlConfig``), deployed on a running stack and called over the wire.

The URL is the template's output (``!GetAtt <Function>Url.FunctionUrl``), as a README would ``curl``
it; what the function sees and what the client gets back are checked against Lambda's behaviour.
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
from botocore.exceptions import ClientError

from sluiceway.cfn.deployer import Deployment
from sluiceway.cfn.errors import TemplateError
from sluiceway.endpoint.lambda_urls.responses import FORBIDDEN

Aws = Callable[..., Any]

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    CodeUri: src/
Resources:
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.echo
      FunctionUrlConfig:
        AuthType: NONE
        Cors:
          AllowOrigins: [https://example.com]
          AllowMethods: [GET, POST]
          AllowHeaders: [content-type]
          ExposeHeaders: [x-seen]
          MaxAge: 300
  Bare:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.bare
      FunctionUrlConfig:
        AuthType: NONE
  Boom:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.boom
      FunctionUrlConfig:
        AuthType: NONE
  Private:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.echo
      FunctionUrlConfig:
        AuthType: AWS_IAM
Outputs:
  EchoUrl:
    Value: !GetAtt EchoUrl.FunctionUrl
  EchoName:
    Value: !Ref Echo
  BareUrl:
    Value: !GetAtt BareUrl.FunctionUrl
  BoomUrl:
    Value: !GetAtt BoomUrl.FunctionUrl
  PrivateUrl:
    Value: !GetAtt PrivateUrl.FunctionUrl
"""

HANDLER = """\
import json

def echo(event, context):
    return {
        "statusCode": 201,
        "headers": {"X-Seen": "1", "Content-Type": "application/json"},
        "cookies": ["session=abc; Path=/", "theme=dark"],
        "body": json.dumps(event),
    }

def bare(event, context):
    kind = (event.get("queryStringParameters") or {}).get("kind")
    if kind == "string":
        return "hello"
    if kind == "dict":
        return {"hello": "world"}
    return ["hello", 3, True]

def boom(event, context):
    raise RuntimeError("boom")
"""


def call(url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any, bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


@pytest.fixture
def outputs(app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]) -> dict[str, str]:
    template = app_dir(TEMPLATE, files={"src/app.py": HANDLER})
    return dict(make_stack(template, "urls").outputs)


def test_a_request_becomes_lambdas_event_and_the_answer_its_response(outputs: dict[str, str]) -> None:
    url = outputs["EchoUrl"]
    assert url.endswith("/") and "/_sluiceway/lambda-urls/" in url
    url_id = url.rstrip("/").rsplit("/", 1)[1]
    assert len(url_id) == 32 and url_id.isalnum() and url_id.islower()

    headers = {"Cookie": "a=1; b=2", "Origin": "https://example.com", "X-Custom": "yes", "User-Agent": "curl/8"}
    status, answer, body = call(url + "items/a%2Fb?x=1&x=2&y=", headers=headers)
    assert status == 201
    assert answer.get_all("Set-Cookie") == ["session=abc; Path=/", "theme=dark"]
    assert answer["X-Seen"] == "1" and answer["Content-Type"] == "application/json"
    assert answer["Access-Control-Allow-Origin"] == "https://example.com"
    assert answer["Access-Control-Expose-Headers"] == "x-seen"
    event = json.loads(body)
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert event["rawPath"] == "/items/a%2Fb" and event["rawQueryString"] == "x=1&x=2&y="
    assert event["queryStringParameters"] == {"x": "1,2", "y": ""}
    assert event["cookies"] == ["a=1", "b=2"] and "cookie" not in event["headers"]
    assert event["headers"]["x-custom"] == "yes" and event["headers"]["x-forwarded-proto"] == "http"
    assert "body" not in event and event["isBase64Encoded"] is False
    assert "pathParameters" not in event and "stageVariables" not in event
    context = event["requestContext"]
    assert context["accountId"] == "anonymous" and "authorizer" not in context
    assert context["apiId"] == url_id and context["domainPrefix"] == url_id
    assert context["routeKey"] == "$default" and context["stage"] == "$default"
    assert context["http"] == {
        "method": "GET",
        "path": "/items/a%2Fb",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "curl/8",
    }
    assert isinstance(context["timeEpoch"], int) and context["time"].endswith(" +0000")

    status, _, body = call(url, "POST", b'{"k": "v"}', {"Content-Type": "application/json"})
    event = json.loads(body)
    assert status == 201 and event["rawPath"] == "/" and event["body"] == '{"k": "v"}' and event["isBase64Encoded"] is False
    binary = bytes(range(256))
    status, _, body = call(url + "upload", "POST", binary, {"Content-Type": "application/octet-stream"})
    event = json.loads(body)
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == binary
    assert event["requestContext"]["http"]["method"] == "POST"


def test_what_a_function_answers_and_how_it_fails(outputs: dict[str, str]) -> None:
    status, answer, body = call(outputs["BareUrl"])
    assert (status, answer["Content-Type"], body) == (200, "application/json", b'["hello",3,true]')
    assert call(outputs["BareUrl"] + "?kind=string")[2] == b"hello"  # a string is sent as its text
    assert call(outputs["BareUrl"] + "?kind=dict")[2] == b'{"hello":"world"}'
    status, answer, body = call(outputs["BoomUrl"], "POST", b"{}")
    assert (status, body) == (502, b"Internal Server Error")
    assert answer["x-amzn-RequestId"]


def test_cors_preflight_is_answered_by_the_url(outputs: dict[str, str]) -> None:
    preflight = {"Origin": "https://example.com", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    status, answer, _ = call(outputs["EchoUrl"], "OPTIONS", headers=preflight)
    assert status < 300
    assert answer["Access-Control-Allow-Origin"] == "https://example.com"
    assert answer["Access-Control-Allow-Methods"] == "GET,POST" and answer["Access-Control-Max-Age"] == "300"
    refused = call(outputs["EchoUrl"], "OPTIONS", headers={**preflight, "Origin": "https://evil.example"})[1]
    assert refused["Access-Control-Allow-Origin"] is None


def test_iam_urls_refuse_unsigned_callers_and_unknown_urls_are_denied(outputs: dict[str, str]) -> None:
    status, answer, body = call(outputs["PrivateUrl"], "POST", b"{}")
    assert status == 403 and answer["x-amzn-ErrorType"] == "AccessDeniedException"
    assert json.loads(body) == {"Message": FORBIDDEN}
    unknown = outputs["BareUrl"].rsplit("/", 2)[0] + "/0123456789abcdefghijklmnopqrstuv/"
    status, answer, body = call(unknown)
    assert (status, body, answer["x-amzn-ErrorType"]) == (403, b'{"Message":null}', "AccessDeniedException")


def test_lambdas_url_operations(outputs: dict[str, str], aws: Aws) -> None:
    lam = aws("lambda")
    name = outputs["EchoName"]
    got = lam.get_function_url_config(FunctionName=name)
    assert got["FunctionUrl"] == outputs["EchoUrl"] and got["AuthType"] == "NONE"
    assert got["FunctionArn"].endswith(f":function:{name}") and got["Cors"]["MaxAge"] == 300
    assert got["CreationTime"].endswith("Z") and got["LastModifiedTime"]
    listed = lam.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"]
    assert [u["FunctionUrl"] for u in listed] == [outputs["EchoUrl"]]
    with pytest.raises(ClientError) as conflict:
        lam.create_function_url_config(FunctionName=name, AuthType="NONE")
    assert conflict.value.response["Error"]["Code"] == "ResourceConflictException"
    assert conflict.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    with pytest.raises(ClientError) as missing:
        lam.create_function_url_config(FunctionName=name, AuthType="NONE", Qualifier="nope")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as invalid:
        lam.create_function_url_config(FunctionName=name, AuthType="NONE", InvokeMode="UNKNOWN")
    assert invalid.value.response["Error"]["Message"] == (
        "1 validation error detected: Value 'UNKNOWN' at 'invokeMode' failed to satisfy constraint:"
        " Member must satisfy enum value set: [RESPONSE_STREAM, BUFFERED]"
    )

    updated = lam.update_function_url_config(FunctionName=name, AuthType="AWS_IAM", InvokeMode="RESPONSE_STREAM")
    assert updated["AuthType"] == "AWS_IAM" and updated["InvokeMode"] == "RESPONSE_STREAM" and updated["Cors"]["MaxAge"] == 300
    assert updated["FunctionUrl"] == outputs["EchoUrl"] and updated["CreationTime"] == got["CreationTime"]
    assert call(outputs["EchoUrl"])[0] == 403  # the change is served at once
    lam.delete_function_url_config(FunctionName=name)
    with pytest.raises(ClientError) as gone:
        lam.get_function_url_config(FunctionName=name)
    assert gone.value.response["Error"]["Message"] == "The resource you requested does not exist."
    assert call(outputs["EchoUrl"])[2] == b'{"Message":null}'


BAD_CORS = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Loose:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      CodeUri: src/
      Handler: app.bare
      FunctionUrlConfig:
        AuthType: NONE
        Cors:
%s
"""


@pytest.mark.parametrize(
    ("cors", "message"),
    [
        (
            "AllowMethods: [GET, PUT, HEAD, POST, PATCH, DELETE, '*']",
            "Properties validation failed for resource LooseUrl with message:"
            " #/Cors/AllowMethods: expected maximum item count: 6, found: 7",
        ),
        ("AllowMethods: [OPTIONS]", "#/Cors/AllowMethods/0: OPTIONS is not a valid enum value"),
        ("AllowOrigins: ['']", "#/Cors/AllowOrigins/0: expected minLength: 1, actual: 0"),
        ("AllowHeaders: ['']", "#/Cors/AllowHeaders/0: expected minLength: 1, actual: 0"),
        ("MaxAge: 86401", "#/Cors/MaxAge: 86401 is not less or equal to 86400"),
    ],
)
def test_a_template_urls_cors_is_checked_as_cloudformation_checks_it(
    app_dir: Callable[..., Path], make_stack: Callable[..., Deployment], cors: str, message: str
) -> None:
    template = app_dir(BAD_CORS % ("          " + cors), files={"src/app.py": HANDLER})
    with pytest.raises(TemplateError) as failed:
        make_stack(template, "badcors")
    assert message in str(failed.value)
