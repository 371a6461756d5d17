"""REST request validation and authorizers read from definitions (SAM's output) and from resources."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from sluiceway.endpoint.apigateway import apis_from_resources
from sluiceway.endpoint.apigateway.model import Api, BodyModel, RequestValidation
from sluiceway.endpoint.apigateway.validation import check_request

FN = "arn:aws:lambda:us-east-1:111111111111:function:Fn"
URI = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FN}/invocations"
POOL_ARN = "arn:aws:cognito-idp:us-east-1:111111111111:userpool/us-east-1_AbC123xYz"


def read(resources: dict[str, Any]) -> dict[str, Api]:
    ids = {name: name.lower()[:10] for name in resources}
    return {a.logical_id: a for a in apis_from_resources(resources, ids, region="us-east-1", account_id="111111111111")}


#: What SAM's translator writes for an Api with Cognito, TOKEN and REQUEST authorizers, a model and a validator.
SAM_REST_BODY = {
    "swagger": "2.0", "info": {"title": "t", "version": "1"},
    "paths": {
        "/a": {"post": {
            "x-amazon-apigateway-integration": {"httpMethod": "POST", "type": "aws_proxy", "uri": URI},
            "x-amazon-apigateway-request-validator": "body-and-params", "security": [{"Cog": ["s/read"]}],
            "parameters": [{"required": True, "in": "body", "name": "item", "schema": {"$ref": "#/definitions/item"}},
                           {"required": False, "type": "string", "name": "q1", "in": "query"},
                           {"required": True, "type": "string", "name": "h1", "in": "header"},
                           {"required": True, "type": "string", "name": "q2", "in": "query"}],
            "responses": {}}},
        "/b": {"get": {"x-amazon-apigateway-integration": {"type": "aws_proxy", "uri": URI}, "security": [{"Tok": []}], "responses": {}}},
        "/c": {"get": {"x-amazon-apigateway-integration": {"type": "aws_proxy", "uri": URI}, "security": [{"Req": []}], "responses": {}}},
        "/d": {"get": {"x-amazon-apigateway-integration": {"type": "aws_proxy", "uri": URI}, "security": [{"NONE": []}], "responses": {}}},
    },
    "securityDefinitions": {
        "Tok": {"in": "header", "type": "apiKey", "name": "Authorization", "x-amazon-apigateway-authtype": "custom",
                "x-amazon-apigateway-authorizer": {"type": "token", "authorizerResultTtlInSeconds": 0, "authorizerUri": URI,
                                                   "identityValidationExpression": "^Bearer .*"}},
        "Req": {"in": "header", "type": "apiKey", "name": "Unused", "x-amazon-apigateway-authtype": "custom",
                "x-amazon-apigateway-authorizer": {
                    "type": "request", "identitySource": "method.request.header.Auth, method.request.querystring.q", "authorizerUri": URI}},
        "Cog": {"in": "header", "type": "apiKey", "name": "Authorization", "x-amazon-apigateway-authtype": "cognito_user_pools",
                "x-amazon-apigateway-authorizer": {"providerARNs": [POOL_ARN], "type": "cognito_user_pools"}},
    },
    "definitions": {"item": {"type": "object", "required": ["name"],
                             "properties": {"name": {"type": "string"}, "tags": {"$ref": "#/definitions/tags"}}},
                    "tags": {"type": "array", "items": {"type": "string"}}},
    "x-amazon-apigateway-request-validators": {
        "body-and-params": {"validateRequestParameters": True, "validateRequestBody": True}},
}  # fmt: skip


def test_sam_rest_definition_authorizers_and_validation() -> None:
    api = read({"Rest": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Body": SAM_REST_BODY}},
                "Dep": {"Type": "AWS::ApiGateway::Deployment",
                        "Properties": {"RestApiId": "rest", "StageName": "Prod"}}})["Rest"]  # fmt: skip
    routes = {r.route_key: r for r in api.routes}
    cog = routes["POST /a"].guard
    assert cog is not None and cog.authorizer is not None and cog.scopes == ("s/read",)
    assert (cog.authorizer.type, cog.authorizer.provider_arns, cog.authorizer.identity_source) == (
        "COGNITO_USER_POOLS", (POOL_ARN,), ("method.request.header.Authorization",))  # fmt: skip
    tok = routes["GET /b"].guard.authorizer  # type: ignore[union-attr]
    assert tok is not None and (tok.type, tok.function_arn, tok.ttl_s, tok.validation_expression) == ("TOKEN", FN, 0, "^Bearer .*")
    req = routes["GET /c"].guard.authorizer  # type: ignore[union-attr]
    assert req is not None and req.identity_source == ("method.request.header.Auth", "method.request.querystring.q") and req.ttl_s == 300
    assert routes["GET /d"].guard is None
    validation = routes["POST /a"].validation
    assert validation is not None and validation.required_parameters == ("method.request.header.h1", "method.request.querystring.q2")
    assert [m.content_type for m in validation.models] == ["application/json"]
    assert not any("not verified" in w or "validators" in w for w in api.warnings), api.warnings


def check(validation: RequestValidation, *, headers: dict[str, str] | None = None, query: str = "", body: bytes = b"") -> Any:
    parsed: dict[str, list[str]] = {}
    for part in filter(None, query.split("&")):
        key, _, value = part.partition("=")
        parsed.setdefault(key, []).append(value)
    response = check_request(validation, headers=headers or {}, query=parsed, path_parameters={}, body=body)
    if response is None:
        return None
    assert response.status == 400 and response.headers["x-amzn-ErrorType"] == "BadRequestException"
    return json.loads(response.body)  # type: ignore[arg-type]


def test_validation_parameters_first_then_body() -> None:
    api = read({"Rest": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Body": SAM_REST_BODY}}})["Rest"]
    (validation,) = [r.validation for r in api.routes if r.validation is not None]
    good = {"content-type": "application/json", "h1": "x"}
    assert check(validation, body=b"{}") == {"message": "Missing required request parameters: [h1, q2]"}
    assert check(validation, headers={"h1": " "}, query="q2=", body=b"{}") == {"message": "Missing required request parameters: [h1, q2]"}
    assert check(validation, headers=good, query="q2=1", body=b'{"tags": []}') == {"message": "Invalid request body"}
    assert check(validation, headers=good, query="q2=1", body=b'{"name": "n", "tags": [1]}') == {"message": "Invalid request body"}
    assert check(validation, headers=good, query="q2=1", body=b"not json") == {"message": "Invalid request body"}
    assert check(validation, headers=good, query="q2=1", body=b"") == {"message": "Invalid request body"}  # checked as {}
    assert check(validation, headers=good, query="q2=1", body=b'{"name": "n", "tags": ["a"]}') is None
    # No model for text/plain and none for $default: the body is not checked.
    assert check(validation, headers={**good, "content-type": "text/plain"}, query="q2=1", body=b"anything") is None


def test_rest_resources_validator_models_and_authorizers() -> None:
    resources = {
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "a"}},
        "Items": {"Type": "AWS::ApiGateway::Resource", "Properties": {"RestApiId": "api", "ParentId": "root", "PathPart": "items"}},
        "Val": {"Type": "AWS::ApiGateway::RequestValidator",
                "Properties": {"RestApiId": "api", "ValidateRequestBody": True, "ValidateRequestParameters": "true"}},
        "Name": {"Type": "AWS::ApiGateway::Model", "Properties": {"RestApiId": "api", "Name": "Name", "ContentType": "application/json",
                 "Schema": {"type": "string", "minLength": 2}}},
        "Item": {"Type": "AWS::ApiGateway::Model", "Properties": {"RestApiId": "api", "Name": "Item", "ContentType": "application/json",
                 "Schema": json.dumps({"type": "object", "required": ["name"],
                                       "properties": {"name": {"$ref": "https://apigateway.amazonaws.com/restapis/api/models/Name"}}})}},
        "Auth": {"Type": "AWS::ApiGateway::Authorizer", "Properties": {
                 "RestApiId": "api", "Type": "COGNITO_USER_POOLS", "Name": "Pool",
                 "ProviderARNs": [POOL_ARN], "IdentitySource": "method.request.header.Authorization"}},
        "Post": {"Type": "AWS::ApiGateway::Method", "Properties": {
            "RestApiId": "api", "ResourceId": "items", "HttpMethod": "POST", "AuthorizationType": "COGNITO_USER_POOLS",
            "AuthorizerId": "auth", "AuthorizationScopes": ["s/write"], "RequestValidatorId": "val",
            "RequestModels": {"application/json": "Item"},
            "RequestParameters": {"method.request.querystring.z": True, "method.request.querystring.a": False},
            "Integration": {"Type": "AWS_PROXY", "Uri": URI}}},
        "Keyed": {"Type": "AWS::ApiGateway::Method", "Properties": {
            "RestApiId": "api", "ResourceId": "items", "HttpMethod": "GET", "AuthorizationType": "COGNITO_USER_POOLS",
            "AuthorizerId": "auth", "ApiKeyRequired": True, "Integration": {"Type": "AWS_PROXY", "Uri": URI}}},
        "Dep": {"Type": "AWS::ApiGateway::Deployment", "Properties": {"RestApiId": "api", "StageName": "v1"}},
    }  # fmt: skip
    api = read(resources)["Api"]
    routes = {r.route_key: r for r in api.routes}
    post = routes["POST /items"]
    assert post.guard is not None and post.guard.authorizer is not None and post.guard.authorizer.name == "Pool"
    assert post.guard.scopes == ("s/write",)
    keyed = routes["GET /items"]
    # The authorizer guards the method and, after it, the method's API key is checked.
    assert keyed.guard is not None and keyed.guard.kind == "authorizer" and keyed.guard.name == "auth"
    assert keyed.api_key_required
    validation = post.validation
    assert validation is not None and validation.required_parameters == ("method.request.querystring.z",)
    assert check(validation, body=b"{}") == {"message": "Missing required request parameters: [z]"}
    assert check(validation, query="z=1", body=b'{"name": "x"}') == {"message": "Invalid request body"}
    assert check(validation, query="z=1", body=b'{"name": "xy"}') is None


def test_http_api_authorizer_resources() -> None:
    resources = {
        "H": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Name": "h", "ProtocolType": "HTTP"}},
        "I": {"Type": "AWS::ApiGatewayV2::Integration", "Properties": {"ApiId": "h", "IntegrationType": "AWS_PROXY", "IntegrationUri": FN,
              "PayloadFormatVersion": "2.0"}},
        "J": {"Type": "AWS::ApiGatewayV2::Authorizer", "Properties": {"ApiId": "h", "AuthorizerType": "JWT", "Name": "Jwt",
              "IdentitySource": ["$request.header.Authorization"],
              "JwtConfiguration": {"Issuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123xYz", "Audience": ["c"]}}},
        "L": {"Type": "AWS::ApiGatewayV2::Authorizer", "Properties": {"ApiId": "h", "AuthorizerType": "REQUEST", "Name": "Lam",
              "AuthorizerUri": URI, "AuthorizerPayloadFormatVersion": "2.0", "EnableSimpleResponses": True,
              "IdentitySource": ["$request.header.X-Key", "$context.stage"], "AuthorizerResultTtlInSeconds": 60}},
        "R1": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {"ApiId": "h", "RouteKey": "GET /j", "Target": "integrations/i",
               "AuthorizationType": "JWT", "AuthorizerId": "j", "AuthorizationScopes": ["s/read"]}},
        "R2": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {"ApiId": "h", "RouteKey": "GET /l", "Target": "integrations/i",
               "AuthorizationType": "CUSTOM", "AuthorizerId": "l"}},
        "R3": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {"ApiId": "h", "RouteKey": "GET /x", "Target": "integrations/i",
               "AuthorizationType": "JWT", "AuthorizerId": "missing"}},
        "S": {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {"ApiId": "h", "StageName": "$default"}},
    }  # fmt: skip
    api = read(resources)["H"]
    routes = {r.route_key: r for r in api.routes}
    jwt = routes["GET /j"].guard
    assert jwt is not None and jwt.authorizer is not None and jwt.authorizer.audience == ("c",) and jwt.scopes == ("s/read",)
    lam = routes["GET /l"].guard.authorizer  # type: ignore[union-attr]
    assert lam is not None and (lam.payload_format, lam.simple_responses, lam.ttl_s) == ("2.0", True, 60)
    assert routes["GET /x"].guard is not None and routes["GET /x"].guard.authorizer is None
    assert any("GET /x: authorizer missing is not defined" in w for w in api.warnings)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"ApiId": "h", "AuthorizerType": "JWT", "JwtConfiguration": {"Issuer": "http://insecure", "Audience": []}}, "https:// URL"),
        ({"ApiId": "h", "AuthorizerType": "REQUEST", "AuthorizerUri": URI}, "authorizerPayloadFormatVersion"),
        ({"ApiId": "h", "AuthorizerType": "REQUEST", "AuthorizerUri": "nope", "AuthorizerPayloadFormatVersion": "2.0"}, "names no Lambda"),
        ({"ApiId": "h", "AuthorizerType": "JWT", "IdentitySource": ["header.Authorization"],
          "JwtConfiguration": {"Issuer": "https://i", "Audience": []}}, "not an identity source"),
    ],
)  # fmt: skip
def test_malformed_authorizers_are_refused_naming_the_resource(props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read(
            {"H": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {}}, "A": {"Type": "AWS::ApiGatewayV2::Authorizer", "Properties": props}}
        )


@pytest.fixture
def python_recursion_limit() -> Iterator[None]:
    """Python's default recursion limit (an imported library, jsonata, raises it to 10000)."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


@pytest.mark.usefixtures("python_recursion_limit")
def test_a_body_too_deeply_nested_or_with_a_huge_number_is_an_invalid_body_not_a_crash() -> None:
    recursive = RequestValidation(
        "v", validate_body=True,
        models=(BodyModel("application/json", "Tree", {"type": "array", "items": {"$ref": "#"}}),),
    )  # fmt: skip
    json_type = {"content-type": "application/json"}
    assert check(recursive, headers=json_type, body=b"[" * 100_000 + b"]" * 100_000) == {"message": "Invalid request body"}
    # Parsed, but deeper than the validator can walk.
    assert check(recursive, headers=json_type, body=b"[" * 900 + b"]" * 900) == {"message": "Invalid request body"}
    assert check(recursive, headers=json_type, body=b"[" + b"9" * 5000 + b"]") == {"message": "Invalid request body"}
    assert check(recursive, headers=json_type, body=b"[[[]]]") is None


def undefined_scheme_body(security: Any) -> dict[str, Any]:
    operation = {"x-amazon-apigateway-integration": {"type": "aws_proxy", "uri": URI}, "security": security, "responses": {}}
    return {**SAM_REST_BODY, "paths": {"/admin": {"get": operation}}}


def test_a_requirement_naming_an_undefined_scheme_refuses_the_route_with_a_warning() -> None:
    api = read({"Rest": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Body": undefined_scheme_body([{"Tokk": []}])}}})["Rest"]
    (route,) = api.routes
    assert route.guard is not None and route.guard.name == "Tokk" and route.guard.authorizer is None  # refuses every request
    assert "Rest: GET /admin: authorizer Tokk is not defined by the API: the route refuses every request (401 Unauthorized)" in api.warnings
    # A typo beside a real scheme in one requirement still refuses: every scheme of a requirement applies.
    both = read({"Rest": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Body": undefined_scheme_body([{"Tok": [], "Tokk": []}])}}})
    guard = both["Rest"].routes[0].guard
    assert guard is not None and guard.authorizer is None


@pytest.mark.parametrize("security", [[{"NONE": []}], [{}], []])
def test_only_sams_none_and_an_empty_requirement_open_a_route(security: Any) -> None:
    api = read({"Rest": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Body": undefined_scheme_body(security)}}})["Rest"]
    assert api.routes[0].guard is None and not any("is not defined" in w for w in api.warnings)
