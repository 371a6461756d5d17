"""REST non-proxy integrations under hostile requests and templates: AWS's 500, never the endpoint's crash."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from sluiceway.endpoint.apigateway import apis_from_resources, local_base_url
from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.stack import Stack

API_ID = "nplimits01"
OK = '{"statusCode": 200}'


def _mock(request_template: str, response_templates: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "type": "mock",
        "requestTemplates": {"application/json": request_template},
        "responses": {"default": {"statusCode": "200", "responseTemplates": response_templates or {"application/json": '{"ok": true}'}}},
    }


LOOPS = "#foreach($i in [1..5000])#end$velocityCount"
HEADER_NAMES = "#foreach($h in $input.params().header.keySet())$h;#end"


def _definition() -> dict[str, Any]:
    paths = {
        "/deep": {"post": _mock("#set($x = $input.path('$'))" + OK)},
        "/arity": {"get": _mock("$input.json()" + OK)},
        "/nested": {"get": _mock("#if(true)" * 400 + OK + "#end" * 400)},
        "/loop": {"get": _mock("#foreach($i in [1..2000000])#end" + OK, {"application/json": LOOPS})},
        "/accept": {"get": _mock("#set($code = 200)" + OK, {"application/xml": "<x/>", "application/json": '{"j": 1}'})},
        "/headers": {"get": _mock("#set($code = 200)" + OK, {"application/json": HEADER_NAMES})},
    }
    served = {path: {verb: {"x-amazon-apigateway-integration": i} for verb, i in ops.items()} for path, ops in paths.items()}
    return {"swagger": "2.0", "info": {"title": "limits", "version": "1"}, "paths": served}


@pytest.fixture(scope="module")
def served(stack: Stack, endpoint: Endpoint, aws: Callable[..., Any]) -> str:
    resources = {
        "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "limits", "Body": _definition()}},
        "ApiDeployment": {"Type": "AWS::ApiGateway::Deployment", "Properties": {"RestApiId": API_ID}},
        "ApiStage": {"Type": "AWS::ApiGateway::Stage", "Properties": {"RestApiId": API_ID, "StageName": "dev", "DeploymentId": "dep1"}},
    }
    physical = {"Api": API_ID, "ApiDeployment": "dep1", "ApiStage": "dev"}
    endpoint.apis.deploy(apis_from_resources(resources, physical, region="us-east-1", account_id=stack.settings.account_id))
    return local_base_url(endpoint.url, API_ID) + "/dev"


def call(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any, str]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("POST", "/deep", b"[" * 50_000 + b"]" * 50_000), ("GET", "/arity", None), ("GET", "/nested", None)],
)
def test_what_the_engine_refuses_is_api_gateways_integration_error(
    served: str, method: str, path: str, body: bytes | None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="sluiceway"):
        status, headers, text = call(method, served + path, body, {"Content-Type": "application/json"})
    assert (status, json.loads(text)) == (500, {"message": "Internal server error"})
    assert headers["x-amzn-ErrorType"] == "InternalServerErrorException"
    assert not any(record.exc_info for record in caplog.records)


def test_a_foreach_stops_after_1000_iterations(served: str) -> None:
    status, _, text = call("GET", served + "/loop")
    assert (status, text) == (200, "$velocityCount")  # the loop ended: $velocityCount is unset again
    # The request template's loop over two million numbers ran (cut at 1000) and the mock answered.


def test_the_response_template_follows_the_accept_header(served: str) -> None:
    status, headers, text = call("GET", served + "/accept", headers={"Accept": "application/xml"})
    assert (status, headers["Content-Type"], text) == (200, "application/xml", "<x/>")
    status, headers, text = call("GET", served + "/accept", headers={"Accept": "text/html"})
    assert (status, headers["Content-Type"], text) == (200, "application/json", '{"j": 1}')
    status, headers, text = call("GET", served + "/accept")
    assert (headers["Content-Type"], text) == ("application/json", '{"j": 1}')


def test_header_names_are_spelled_as_rest_apis_spell_them(served: str) -> None:
    _, _, text = call("GET", served + "/headers", headers={"x-custom-thing": "1"})
    assert "X-Custom-Thing;" in text.split("\n")[-1] and "x-custom-thing" not in text
