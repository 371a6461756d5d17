"""apis_from_resources over SAM's translator output and over hand-written API Gateway resources."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sluiceway.endpoint.apigateway import apis_from_resources
from sluiceway.endpoint.apigateway.model import Api

FIXTURES = Path(__file__).parent / "fixtures"
FN = "arn:aws:lambda:us-east-1:111111111111:function:Fn"


def load(name: str) -> list[Api]:
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    return apis_from_resources(data["resources"], data["physical_ids"], region="us-east-1", account_id="111111111111")


def read(resources: dict[str, Any], physical: dict[str, str] | None = None) -> list[Api]:
    ids = {name: name.lower()[:10] for name in resources} | (physical or {})
    return apis_from_resources(resources, ids, region="us-east-1", account_id="111111111111")


def test_sam_implicit_rest_api() -> None:
    (api,) = load("apigw-lambda-dynamodb")
    assert (api.api_id, api.kind) == ("abcde12345", "REST")
    assert sorted(s.name for s in api.stages) == ["Prod", "Stage"]
    (route,) = api.routes
    assert (route.method, route.path, route.integration.kind) == ("POST", "/", "lambda")
    assert route.integration.function_arn == "arn:aws:lambda:us-east-1:111111111111:function:WeatherFunction"
    assert route.guard is None and api.warnings == []


def test_http_api_with_sqs_integration_and_cors() -> None:
    (api,) = load("api-sqs-lambda-python")
    (route,) = api.routes
    assert route.route_key == "POST /submit" and route.integration.subtype == "SQS-SendMessage"
    assert route.integration.parameters == {
        "MessageBody": "$request.body",
        "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/MySqsQueue",
    }
    assert [s.name for s in api.stages] == ["$default"]
    assert api.cors is not None and api.cors.allow_origins == ("*",) and api.cors.max_age == 0
    assert api.warnings == [] and api.stages[0].access_log is not None and api.stages[0].access_log.group == "MyHttpApi-Access-Logs"


def test_authorizers_are_read_with_their_configuration() -> None:
    apis = {a.logical_id: a for a in load("sam-cors-auth")}
    rest = apis["MyApi"]
    guarded = {r.route_key: r.guard for r in rest.routes}
    assert guarded["ANY /p/{proxy+}"] is not None and guarded["ANY /p/{proxy+}"].kind == "authorizer"
    assert guarded["GET /items/{id}"] is None
    assert rest.binary_media_types == ("image/png",)
    assert [s.variables for s in rest.stages if s.name == "dev"] == [{"foo": "bar"}]
    assert guarded["ANY /p/{proxy+}"].authorizer is not None and guarded["ANY /p/{proxy+}"].authorizer.type == "COGNITO_USER_POOLS"
    assert apis["Http2"].routes[0].guard.authorizer.issuer == "https://issuer"


def test_rest_resources_and_methods() -> None:
    resources = {
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "a"}},
        "Items": {"Type": "AWS::ApiGateway::Resource", "Properties": {"RestApiId": "api", "ParentId": "rootid", "PathPart": "items"}},
        "Item": {"Type": "AWS::ApiGateway::Resource", "Properties": {"RestApiId": "api", "ParentId": "items", "PathPart": "{id}"}},
        "Get": {
            "Type": "AWS::ApiGateway::Method",
            "Properties": {
                "RestApiId": "api", "ResourceId": "item", "HttpMethod": "GET", "AuthorizationType": "NONE",
                "Integration": {"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST",
                                "Uri": f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FN}/invocations"},
            },
        },
        "Iam": {
            "Type": "AWS::ApiGateway::Method",
            "Properties": {"RestApiId": "api", "ResourceId": "rootid", "HttpMethod": "POST", "AuthorizationType": "AWS_IAM",
                           "Integration": {"Type": "AWS", "Uri": "arn:aws:apigateway:us-east-1:sqs:path/q"}},
        },
        "Dep": {"Type": "AWS::ApiGateway::Deployment", "Properties": {"RestApiId": "api", "StageName": "v1"}},
    }  # fmt: skip
    (api,) = read(resources)
    routes = {r.route_key: r for r in api.routes}
    assert routes["GET /items/{id}"].integration.function_arn == FN
    assert routes["POST /"].guard is not None and routes["POST /"].integration.kind == "template"
    assert (routes["POST /"].integration.target, routes["POST /"].integration.service_path) == ("sqs", "q")
    assert [s.name for s in api.stages] == ["v1"]
    assert not any("IAM" in w for w in api.warnings)  # the endpoint notes IAM routes: it knows whether keys exist


def test_http_api_routes_integrations_and_quick_create() -> None:
    resources = {
        "H": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Name": "h", "ProtocolType": "HTTP"}},
        "I": {"Type": "AWS::ApiGatewayV2::Integration",
              "Properties": {"ApiId": "h", "IntegrationType": "AWS_PROXY", "IntegrationUri": FN, "PayloadFormatVersion": "2.0"}},
        "R": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {"ApiId": "h", "RouteKey": "ANY /{proxy+}", "Target": "integrations/i"}},
        "S": {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {"ApiId": "h", "StageName": "$default", "StageVariables": {"k": "v"}}},
        "Q": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"ProtocolType": "HTTP", "Target": FN}},
    }  # fmt: skip
    apis = {a.logical_id: a for a in read(resources)}
    (route,) = apis["H"].routes
    assert (route.route_key, route.integration.payload_format) == ("ANY /{proxy+}", "2.0")
    assert apis["H"].stages[0].variables == {"k": "v"}
    (quick,) = apis["Q"].routes
    assert quick.route_key == "$default" and quick.integration.function_arn == FN and [s.name for s in apis["Q"].stages] == ["$default"]


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"Body": {"paths": {}}}, "H.Body: neither 'swagger'"),
        ({"Body": {"openapi": "3.0.1", "paths": {"/x": {"get": {
            "x-amazon-apigateway-integration": {"type": "aws_proxy", "uri": "nope"}}}}}},
         "H.Body.paths./x.get.x-amazon-apigateway-integration.uri"),
        ({"Body": {"openapi": "3.0.1", "paths": {"/x": {"post": {"x-amazon-apigateway-integration": {
            "type": "aws_proxy", "integrationSubtype": "SQS-SendMessage", "requestParameters": {"MessageBody": "$request.body"}}}}}}},
         "missing QueueUrl"),
        ({"BodyS3Location": {"Bucket": "b", "Key": "k"}}, "H.BodyS3Location"),
    ],
)  # fmt: skip
def test_what_cannot_be_read_raises_naming_resource_and_field(props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("{", r"\{").replace("}", r"\}")):
        read({"H": {"Type": "AWS::ApiGatewayV2::Api", "Properties": props}})


def test_bad_api_id_is_refused() -> None:
    with pytest.raises(ValueError, match="not an API id"):
        read({"H": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {}}}, {"H": "Bad/Id"})
