"""REST non-proxy integrations over real HTTP: mapping templates around a Lambda function, SQS, DynamoDB, a mock."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from sluiceway.endpoint.apigateway import apis_from_resources, local_base_url
from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.lambdas.invoker import FunctionSpec
from sluiceway.runtime.stack import Stack

HANDLER = (__name__.rpartition(".")[0] + "." if "." in __name__ else "") + "nonproxy_handlers.echo"
API_ID = "np1234abcd"
QUEUE = "nonproxy-queue"
TABLE = "nonproxy-table"


def _lambda_uri(account: str) -> str:
    arn = f"arn:aws:lambda:us-east-1:{account}:function:NonProxyFn"
    return f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations"


def _definition(account: str) -> dict[str, Any]:
    lambda_integration = {
        "type": "aws",
        "httpMethod": "POST",
        "uri": _lambda_uri(account),
        "passthroughBehavior": "NEVER",
        "requestTemplates": {
            "application/json": (
                "#set($root = $input.path('$'))\n"
                '{"name": "$util.escapeJavaScript($root.name)", "id": "$input.params(\'id\')", '
                '"q": "$input.params(\'q\')", "stage": "$context.stage",\n'
                '#if($root.fail)"fail": "$util.escapeJavaScript($root.fail)",#end\n'
                '"tags": [#foreach($t in $root.tags)"$t"#if($foreach.hasNext),#end#end]}'
            )
        },
        "responses": {
            ".*not allowed.*": {
                "statusCode": "403",
                "responseTemplates": {"application/json": '{"refused": "$input.path(\'$.errorMessage\')"}'},
            },
            "default": {
                "statusCode": "200",
                "responseParameters": {"method.response.header.X-Static": "'yes'"},
                "responseTemplates": {
                    "application/json": (
                        "#set($got = $input.path('$.got'))\n"
                        '#if($got.name == "teapot")#set($context.responseOverride.status = 418)'
                        '#set($context.responseOverride.header.X-Teapot = "short")#end\n'
                        "$input.json('$.got')"
                    )
                },
            },
        },
    }
    sqs_integration = {
        "type": "aws",
        "httpMethod": "POST",
        "uri": f"arn:aws:apigateway:us-east-1:sqs:path/{account}/{QUEUE}",
        "requestParameters": {"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"},
        "requestTemplates": {"application/json": "Action=SendMessage&MessageBody=$util.urlEncode($input.body)"},
        "responses": {
            "default": {
                "statusCode": "200",
                "responseTemplates": {"application/json": '{"id": "$input.path(\'$.SendMessageResponse.SendMessageResult.MessageId\')"}'},
            }
        },
    }
    ddb_integration = {
        "type": "aws",
        "httpMethod": "POST",
        "uri": "arn:aws:apigateway:us-east-1:dynamodb:action/PutItem",
        "requestTemplates": {
            "application/json": (
                '{"TableName": "$input.params(\'table\')", "Item": {"pk": {"S": "$input.params(\'id\')"}, '
                '"note": {"S": "$util.escapeJavaScript($input.path(\'$.note\'))"}}}'
            )
        },
        "responses": {
            "4\\d{2}": {"statusCode": "400", "responseTemplates": {"application/json": '{"error": "$input.path(\'$.__type\')"}'}},
            "default": {"statusCode": "201", "responseTemplates": {"application/json": '{"stored": "$input.params(\'id\')"}'}},
        },
    }
    mock_integration = {
        "type": "mock",
        "requestTemplates": {"application/json": '#if($input.params(\'code\') == "404"){"statusCode": 404}#else{"statusCode": 200}#end'},
        "responses": {
            "404": {"statusCode": "404", "responseTemplates": {"application/json": '{"missing": "$context.httpMethod"}'}},
            "default": {"statusCode": "200", "responseTemplates": {"application/json": '{"ok": true, "path": "$context.resourcePath"}'}},
        },
    }

    def tenant_integration(source: str | None) -> dict[str, Any]:
        arn = f"arn:aws:lambda:us-east-1:{account}:function:NonProxyTenantFn"
        return {
            "type": "aws",
            "httpMethod": "POST",
            "uri": f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations",
            "requestParameters": {"integration.request.header.X-Amz-Tenant-Id": source} if source else {},
            "responses": {"default": {"statusCode": "200"}},
        }

    return {
        "swagger": "2.0",
        "info": {"title": "nonproxy", "version": "1"},
        "paths": {
            "/tenant/header": {"post": {"x-amazon-apigateway-integration": tenant_integration("method.request.header.x-tenant")}},
            "/tenant/static": {"post": {"x-amazon-apigateway-integration": tenant_integration("'blue'")}},
            "/tenant/stage": {"post": {"x-amazon-apigateway-integration": tenant_integration("stageVariables.tenant")}},
            "/tenant/context": {"post": {"x-amazon-apigateway-integration": tenant_integration("context.stage")}},
            "/tenant/none": {"post": {"x-amazon-apigateway-integration": tenant_integration(None)}},
            "/things/{id}": {"post": {"x-amazon-apigateway-integration": lambda_integration}},
            "/queue": {"post": {"x-amazon-apigateway-integration": sqs_integration}},
            "/items/{id}": {"put": {"x-amazon-apigateway-integration": ddb_integration}},
            "/mock": {"get": {"x-amazon-apigateway-integration": mock_integration}},
            "/broken": {
                "get": {"x-amazon-apigateway-integration": {**mock_integration, "requestTemplates": {"application/json": "#if(true)"}}}
            },
        },
    }


@pytest.fixture(scope="module")
def served(stack: Stack, endpoint: Endpoint, aws: Callable[..., Any]) -> str:
    account = stack.settings.account_id
    resources = {
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "nonproxy", "Body": _definition(account)}},
        "ApiDeployment": {"Type": "AWS::ApiGateway::Deployment", "Properties": {"RestApiId": API_ID}},
        "ApiStage": {
            "Type": "AWS::ApiGateway::Stage",
            "Properties": {"RestApiId": API_ID, "StageName": "dev", "DeploymentId": "dep1", "Variables": {"tenant": "green"}},
        },
    }
    physical = {"Api": API_ID, "ApiDeployment": "dep1", "ApiStage": "dev"}
    apis = apis_from_resources(resources, physical, region="us-east-1", account_id=account)
    stack.invoker.register(FunctionSpec("NonProxyFn", HANDLER, timeout_s=10))
    tenant_handler = HANDLER.removesuffix("echo") + "tenant"
    stack.invoker.register(FunctionSpec("NonProxyTenantFn", tenant_handler, timeout_s=10, tenancy_mode="PER_TENANT"))
    aws("sqs").create_queue(QueueName=QUEUE)
    aws("dynamodb").create_table(
        TableName=TABLE, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    )  # fmt: skip
    endpoint.apis.deploy(apis)
    return local_base_url(endpoint.url, API_ID) + "/dev"


def call(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any, str]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


JSON = {"Content-Type": "application/json"}


def test_lambda_gets_the_rendered_request_and_the_response_template_shapes_the_answer(served: str) -> None:
    body = json.dumps({"name": 'say "hi"', "tags": ["a", "b"]}).encode()
    status, headers, text = call("POST", served + "/things/42?q=x", body, JSON)
    assert status == 200, text
    assert headers["X-Static"] == "yes" and headers["Content-Type"] == "application/json"
    assert json.loads(text) == {"name": 'say "hi"', "id": "42", "q": "x", "stage": "dev", "tags": ["a", "b"]}
    # $input.json is compact JSON, as API Gateway writes it.
    assert text == '{"name":"say \\"hi\\"","id":"42","q":"x","stage":"dev","tags":["a","b"]}'


def test_response_override_sets_status_and_header(served: str) -> None:
    status, headers, _ = call("POST", served + "/things/1", json.dumps({"name": "teapot", "tags": []}).encode(), JSON)
    assert status == 418 and headers["X-Teapot"] == "short"


def test_a_function_error_is_selected_by_its_message(served: str) -> None:
    status, _, text = call("POST", served + "/things/1", json.dumps({"fail": "not allowed here", "tags": []}).encode(), JSON)
    assert status == 403 and json.loads(text) == {"refused": "not allowed here"}
    # AWS matches without DOTALL: ".*not allowed.*" does not match a message with a line break in it.
    status, _, _ = call("POST", served + "/things/1", json.dumps({"fail": "first line\nnot allowed", "tags": []}).encode(), JSON)
    assert status == 200
    # No pattern matches another error: the default response carries the error document, with 200.
    status, _, text = call("POST", served + "/things/1", json.dumps({"fail": "boom", "tags": []}).encode(), JSON)
    assert status == 200


def test_a_function_error_named_as_an_invoke_refusal_is_selected_by_its_message(served: str) -> None:
    # The handler's own uncaught InvalidParameterValueException is the function's error, not Invoke's
    # refusal: its errorMessage selects the integration response, as any function error's does.
    status, _, text = call("POST", served + "/things/1", json.dumps({"fail": "aws:not allowed to resize", "tags": []}).encode(), JSON)
    assert status == 403 and json.loads(text) == {"refused": "not allowed to resize"}


def test_no_template_for_the_content_type_is_415_when_passthrough_is_never(served: str) -> None:
    status, headers, text = call("POST", served + "/things/1", b"a=b", {"Content-Type": "text/plain"})
    assert status == 415 and json.loads(text) == {"message": "Unsupported Media Type"}
    assert headers["x-amzn-ErrorType"] == "UnsupportedMediaTypeException"


def test_sqs_path_integration_sends_the_body(served: str, aws: Callable[..., Any]) -> None:
    status, _, text = call("POST", served + "/queue", b'{"order": "a&b"}', JSON)
    assert status == 200, text
    message_id = json.loads(text)["id"]
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert [(m["MessageId"], m["Body"]) for m in got] == [(message_id, '{"order": "a&b"}')]


def test_dynamodb_action_integration_and_an_error_selected_by_status(served: str, aws: Callable[..., Any]) -> None:
    status, _, text = call("PUT", served + f"/items/k1?table={TABLE}", b'{"note": "say \\"hi\\""}', JSON)
    assert (status, json.loads(text)) == (201, {"stored": "k1"})
    item = aws("dynamodb").get_item(TableName=TABLE, Key={"pk": {"S": "k1"}})["Item"]
    assert item["note"] == {"S": 'say "hi"'}
    # escapeJavaScript turns ' into \' (commons-lang), which is not JSON: DynamoDB refuses the request.
    status, _, text = call("PUT", served + f"/items/k3?table={TABLE}", b'{"note": "it\'s"}', JSON)
    assert status == 400
    # The service's 400 is matched by the "4\d{2}" selection pattern.
    status, _, text = call("PUT", served + "/items/k2?table=no-such-table", b'{"note": "x"}', JSON)
    assert status == 400
    assert json.loads(text)["error"].endswith("ResourceNotFoundException")


def test_mock_with_templates(served: str) -> None:
    status, _, text = call("GET", served + "/mock")
    assert (status, json.loads(text)) == (200, {"ok": True, "path": "/mock"})
    status, _, text = call("GET", served + "/mock?code=404")
    assert (status, json.loads(text)) == (404, {"missing": "GET"})


def test_a_template_that_does_not_parse_fails_the_request_with_500(served: str) -> None:
    status, headers, text = call("GET", served + "/broken")
    assert (status, json.loads(text)) == (500, {"message": "Internal server error"})
    assert headers["x-amzn-ErrorType"] == "InternalServerErrorException"


@pytest.mark.parametrize(
    ("path", "headers", "tenant"),
    [
        ("header", {"x-tenant": "red"}, "red"),
        ("static", {}, "blue"),
        ("stage", {}, "green"),
        ("context", {}, "dev"),
    ],
)
def test_the_tenant_mapping_of_a_lambda_integration_names_the_tenant(served: str, path: str, headers: dict[str, str], tenant: str) -> None:
    status, _, body = call("POST", f"{served}/tenant/{path}", b"{}", {**JSON, **headers})
    assert (status, json.loads(body)) == (200, {"tenant": tenant})


@pytest.mark.parametrize(("path", "headers"), [("none", {}), ("header", {})])
def test_a_tenant_isolated_function_invoked_without_a_tenant_is_an_integration_error(
    served: str, path: str, headers: dict[str, str]
) -> None:
    # Lambda refuses the Invoke (InvalidParameterValueException): nothing ran, so no integration
    # response is selected; API Gateway answers as for any failed integration.
    status, _, body = call("POST", f"{served}/tenant/{path}", b"{}", {**JSON, **headers})
    assert (status, json.loads(body)) == (500, {"message": "Internal server error"})
