"""Non-proxy integrations read from a Method's ``Integration`` and from ``x-amazon-apigateway-integration``."""

from __future__ import annotations

from typing import Any

import pytest

from sluiceway.endpoint.apigateway import apis_from_resources
from sluiceway.endpoint.apigateway.definitions import integration_of
from sluiceway.endpoint.apigateway.model import Api

FN = "arn:aws:lambda:us-east-1:111111111111:function:Fn"


def read(resources: dict[str, Any]) -> Api:
    physical = {logical: logical.lower() for logical in resources}
    (api,) = apis_from_resources(resources, physical, region="us-east-1", account_id="111111111111")
    return api


def test_a_method_s_non_proxy_lambda_integration_keeps_templates_responses_and_passthrough() -> None:
    resources = {
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "a"}},
        "Get": {
            "Type": "AWS::ApiGateway::Method",
            "Properties": {
                "RestApiId": "api", "ResourceId": "rootid", "HttpMethod": "GET", "AuthorizationType": "NONE",
                "Integration": {
                    "Type": "AWS", "IntegrationHttpMethod": "POST", "PassthroughBehavior": "NEVER",
                    "Uri": f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FN}/invocations",
                    "RequestTemplates": {"application/json": {"statusCode": 200}},
                    "RequestParameters": {"integration.request.header.X-Amz-Invocation-Type": "'Event'"},
                    "IntegrationResponses": [
                        {"StatusCode": 400, "SelectionPattern": ".*bad.*", "ResponseTemplates": {"application/json": "$input.body"}},
                        {"StatusCode": "200", "ResponseParameters": {"method.response.header.A": "'b'"}},
                    ],
                },
            },
        },
        "Dep": {"Type": "AWS::ApiGateway::Deployment", "Properties": {"RestApiId": "api", "StageName": "v1"}},
    }  # fmt: skip
    (route,) = read(resources).routes
    integration = route.integration
    assert (integration.kind, integration.target, integration.function_arn) == ("template", "lambda", FN)
    assert integration.passthrough == "NEVER"
    # YAML read a JSON-looking template as a mapping: API Gateway is given its JSON text.
    assert integration.request_templates == {"application/json": '{"statusCode": 200}'}
    assert [(r.status, r.selection_pattern) for r in integration.responses] == [(400, ".*bad.*"), (200, None)]
    assert integration.responses[1].parameters == {"method.response.header.A": "'b'"}


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("arn:aws:apigateway:us-east-1:dynamodb:action/PutItem", ("dynamodb", "PutItem", "")),
        ("arn:aws:apigateway:us-east-1:states:action/StartExecution", ("stepfunctions", "StartExecution", "")),
        ("arn:aws:apigateway:us-east-1:sqs:path/111111111111/q", ("sqs", "", "111111111111/q")),
        ("arn:aws:apigateway:us-east-1:sns:action/Publish", ("sns", "Publish", "")),
    ],
)
def test_service_targets(uri: str, expected: tuple[str, str, str]) -> None:
    integration = integration_of({"type": "aws", "uri": uri, "httpMethod": "POST"}, kind="REST", where="x")
    assert (integration.kind, integration.target, integration.action, integration.service_path) == ("template", *expected)


def test_unserved_services_are_listed_and_malformed_definitions_refused() -> None:
    kinesis = integration_of({"type": "aws", "uri": "arn:aws:apigateway:us-east-1:kinesis:action/PutRecord"}, kind="REST", where="x")
    assert kinesis.kind == "unsupported" and "kinesis" in kinesis.reason
    with pytest.raises(ValueError, match="is not arn:aws:apigateway"):
        integration_of({"type": "aws", "uri": "https://example.com"}, kind="REST", where="x")
    with pytest.raises(ValueError, match="passthroughBehavior"):
        integration_of({"type": "aws", "uri": f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FN}/invocations",
                        "passthroughBehavior": "SOMETIMES"}, kind="REST", where="x")  # fmt: skip
    # A template that does not parse is API Gateway's to refuse per request (500), not at deployment.
    broken = integration_of(
        {"type": "mock", "requestTemplates": {"application/json": '#if($x){"statusCode": 200}'}}, kind="REST", where="x"
    )
    assert broken.kind == "template" and broken.target == "mock"
    with pytest.raises(ValueError, match="not a regular expression"):
        integration_of({"type": "aws", "uri": "arn:aws:apigateway:us-east-1:sqs:path/1/q", "responses": {"(": {"statusCode": "400"}}},
                       kind="REST", where="x")  # fmt: skip
