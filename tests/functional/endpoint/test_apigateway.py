"""API Gateway on the endpoint, over real HTTP: REST and HTTP APIs read from SAM's translator output.

The APIs come from ``tests/unit/endpoint/apigateway/fixtures`` (the shared apps' templates transformed
by aws-sam-translator, intrinsics resolved); their functions are registered on the test stack with a
handler steered by the query string (``apigateway_handlers.steer``).
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

from sluiceway.endpoint.apigateway import apis_from_resources, local_base_url
from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.lambdas.invoker import FunctionSpec
from sluiceway.runtime.stack import Stack

FIXTURES = Path(__file__).resolve().parents[2] / "unit" / "endpoint" / "apigateway" / "fixtures"
HANDLER = (__name__.rpartition(".")[0] + "." if "." in __name__ else "") + "apigateway_handlers.steer"


class Reply:
    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)


def call(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Reply:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.headers, error.read())


@pytest.fixture(scope="module")
def served(stack: Stack, endpoint: Endpoint) -> Endpoint:
    apis = []
    for name in ("apigw-lambda-dynamodb", "api-sqs-lambda-python", "sam-cors-auth"):
        data = json.loads((FIXTURES / f"{name}.json").read_text())
        apis += apis_from_resources(data["resources"], data["physical_ids"], region="us-east-1", account_id=stack.settings.account_id)
    for function in ("WeatherFunction", "EchoFunction"):
        stack.invoker.register(FunctionSpec(function, HANDLER, timeout_s=10))
    endpoint.apis.deploy(apis)
    return endpoint


def rest(endpoint: Endpoint, path: str) -> str:
    return local_base_url(endpoint.url, "abcde12345") + path


def steer(result: Any) -> str:
    return "?return=" + urllib.request.quote(json.dumps(result))


# ---------------------------------------------------------------------------- REST


def test_rest_route_gets_the_1_0_event_and_its_response(served: Endpoint) -> None:
    reply = call("POST", rest(served, "/Prod"), b'{"a": 1}', {"Content-Type": "application/json", "X-Custom": "v"})
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.headers["x-amzn-RequestId"] and reply.headers["x-amz-apigw-id"]
    event = reply.json()
    assert event["resource"] == "/" and event["path"] == "/" and event["httpMethod"] == "POST"
    assert event["body"] == '{"a": 1}' and event["isBase64Encoded"] is False
    assert event["headers"]["X-Custom"] == "v" and event["multiValueHeaders"]["X-Custom"] == ["v"]
    assert event["queryStringParameters"] is None and event["pathParameters"] is None and event["stageVariables"] is None
    context = event["requestContext"]
    assert context["stage"] == "Prod" and context["path"] == "/Prod" and context["apiId"] == "abcde12345"
    assert context["accountId"] == served.stack.settings.account_id and context["resourcePath"] == "/"
    assert context["requestId"] == reply.headers["x-amzn-RequestId"]
    assert context["identity"]["sourceIp"] == "127.0.0.1" and context["httpMethod"] == "POST"


def test_rest_sam_implicit_stage_and_trailing_slash(served: Endpoint) -> None:
    assert call("POST", rest(served, "/Prod/")).status == 200
    staged = call("POST", rest(served, "/Stage/"))  # SAM's deployment also creates the "Stage" stage
    assert staged.status == 200 and staged.json()["body"] is None


def test_rest_unknown_route_method_and_stage(served: Endpoint) -> None:
    for method, path in (("GET", "/Prod"), ("POST", "/Prod/nothing")):
        reply = call(method, rest(served, path))
        assert (reply.status, reply.json()) == (403, {"message": "Missing Authentication Token"})
        assert reply.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    reply = call("POST", rest(served, "/Beta"))
    assert (reply.status, reply.json()) == (403, {"message": "Forbidden"})


def test_rest_function_error_and_malformed_response_are_502(served: Endpoint) -> None:
    for query in ("?raise=boom", steer({"statusCode": 200, "extra": 1}), steer({"body": "no status"}), steer("text")):
        reply = call("POST", rest(served, "/Prod" + query))
        assert (reply.status, reply.json()) == (502, {"message": "Internal server error"}), query


def test_rest_proxy_response_headers_and_multi_values(served: Endpoint) -> None:
    result = {"statusCode": 201, "headers": {"X-One": "1"}, "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]}, "body": "made"}
    reply = call("POST", rest(served, "/Prod" + steer(result)))
    assert reply.status == 201 and reply.body == b"made"
    assert reply.headers["X-One"] == "1" and reply.headers.get_all("Set-Cookie") == ["a=1", "b=2"]


def test_rest_path_parameters_greedy_proxy_and_authorizer_fails_closed(served: Endpoint) -> None:
    base = local_base_url(served.url, "restapi001")
    reply = call("GET", base + "/dev/items/a%20b?x=1&x=2")
    event = reply.json()
    assert event["resource"] == "/items/{id}" and event["pathParameters"] == {"id": "a%20b"}
    assert event["queryStringParameters"] == {"x": "2"} and event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
    assert event["requestContext"]["path"] == "/dev/items/a%20b"
    denied = call("GET", base + "/dev/p/any/thing")
    assert (denied.status, denied.json()) == (401, {"message": "Unauthorized"})


def test_rest_cors_preflight_from_sams_mock_method(served: Endpoint) -> None:
    reply = call("OPTIONS", local_base_url(served.url, "restapi001") + "/dev/items/1", headers={"Origin": "https://x.example"})
    assert reply.status == 200 and reply.body == b"{}\n"
    assert reply.headers["Access-Control-Allow-Origin"] == "*" and reply.headers["Access-Control-Allow-Methods"] == "GET,POST"


def test_rest_binary_request_body_is_base64(served: Endpoint) -> None:
    data = bytes(range(256))
    reply = call("GET", local_base_url(served.url, "restapi001") + "/dev/items/1", data, {"Content-Type": "image/png"})
    event = reply.json()
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == data


# ---------------------------------------------------------------------------- HTTP APIs


def test_http_api_payload_2_0_event(served: Endpoint) -> None:
    url = local_base_url(served.url, "httpapi001") + "/h/a%20b?y=1&y=2&z="
    reply = call("GET", url, headers={"Cookie": "c1=v1; c2=v2", "X-Multi": "v"})
    assert reply.status == 200 and reply.headers["apigw-requestid"]
    event = reply.json()
    assert event["version"] == "2.0" and event["routeKey"] == "GET /h/{x}"
    assert event["rawPath"] == "/h/a b" and event["rawQueryString"] == "y=1&y=2&z="
    assert event["queryStringParameters"] == {"y": "1,2", "z": ""}
    assert event["pathParameters"] == {"x": "a b"} and event["cookies"] == ["c1=v1", "c2=v2"]
    assert "cookie" not in event["headers"] and event["headers"]["x-multi"] == "v"
    assert "body" not in event and event["isBase64Encoded"] is False and "stageVariables" not in event
    http = event["requestContext"]["http"]
    assert http == {"method": "GET", "path": "/h/a b", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": http["userAgent"]}
    assert event["requestContext"]["stage"] == "$default" and event["requestContext"]["requestId"] == reply.headers["apigw-requestid"]


@pytest.mark.parametrize(
    ("result", "status", "body", "content_type"),
    [
        ({"hello": "world"}, 200, b'{"hello": "world"}', "application/json"),
        ("plain", 200, b'"plain"', "application/json"),
        ({"statusCode": 418, "body": "teapot", "cookies": ["k=v"]}, 418, b"teapot", "text/plain; charset=utf-8"),
        ({"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True}, 200, b"\x00\x01", None),
    ],
)
def test_http_api_2_0_response_inference(served: Endpoint, result: Any, status: int, body: bytes, content_type: str | None) -> None:
    reply = call("GET", local_base_url(served.url, "httpapi001") + "/h/1" + steer(result))
    assert (reply.status, reply.body) == (status, body)
    if content_type:
        assert reply.headers["Content-Type"] == content_type


def test_http_api_errors(served: Endpoint) -> None:
    base = local_base_url(served.url, "httpapi001")
    failed = call("GET", base + "/h/1?raise=boom")
    assert (failed.status, failed.json()) == (500, {"message": "Internal Server Error"})
    missing = call("GET", base + "/nothing")
    assert (missing.status, missing.json()) == (404, {"message": "Not Found"})
    denied = call("GET", local_base_url(served.url, "httpapi002") + "/v1/h/1")
    assert (denied.status, denied.json()) == (401, {"message": "Unauthorized"})


def test_http_api_cors_preflight_and_response_headers(served: Endpoint) -> None:
    base = local_base_url(served.url, "httpapi002") + "/v1"
    headers = {"Origin": "https://a.example", "Access-Control-Request-Method": "GET"}
    reply = call("OPTIONS", base + "/anything", headers=headers)
    assert reply.status == 204
    assert reply.headers["access-control-allow-origin"] == "https://a.example"
    assert reply.headers["access-control-allow-methods"] == "GET" and reply.headers["access-control-max-age"] == "10"
    refused = call("OPTIONS", base + "/anything", headers={**headers, "Origin": "https://evil.example"})
    assert refused.status == 204 and "access-control-allow-origin" not in refused.headers


def test_http_api_sqs_send_message_integration(served: Endpoint, aws: Callable[..., Any]) -> None:
    sqs = aws("sqs")
    queue_url = sqs.create_queue(QueueName="MySqsQueue")["QueueUrl"]
    body = '{ "isMessageReceived": "Yes" }'
    reply = call("POST", local_base_url(served.url, "fghij67890") + "/submit", body.encode(), {"Content-Type": "application/json"})
    assert reply.status == 200, reply.body
    answer = reply.json()["SendMessageResponse"]
    result = answer["SendMessageResult"]
    assert set(result) == {"MD5OfMessageAttributes", "MD5OfMessageBody", "MD5OfMessageSystemAttributes", "MessageId", "SequenceNumber"}
    assert result["MD5OfMessageAttributes"] is None and result["SequenceNumber"] is None
    assert answer["ResponseMetadata"]["RequestId"]
    received = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"]
    assert [(m["Body"], m["MessageId"], m["MD5OfBody"]) for m in received] == [(body, result["MessageId"], result["MD5OfMessageBody"])]
    unknown = call("POST", local_base_url(served.url, "fghij67890") + "/no-such-route", b"{}")
    assert (unknown.status, unknown.json()) == (404, {"message": "Not Found"})


def test_unknown_api_and_oversized_body(served: Endpoint) -> None:
    assert call("GET", local_base_url(served.url, "nosuchapi0") + "/x").status == 404
    request = urllib.request.Request(
        local_base_url(served.url, "fghij67890") + "/submit", method="POST", headers={"Content-Length": str(11 * 1024 * 1024)}
    )
    # The refusal comes before the body is read: send only the headers.
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(request.full_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.putrequest("POST", parts.path)
        connection.putheader("Content-Length", str(11 * 1024 * 1024))
        connection.endheaders()
        response = connection.getresponse()
        assert (response.status, json.loads(response.read())) == (413, {"message": "Request Entity Too Large"})
    finally:
        connection.close()
