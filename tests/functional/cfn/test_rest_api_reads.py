"""GetRestApis, GetRestApi, GetStages and GetStage answer for the REST APIs a template made (HTTP APIs are apigatewayv2's)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sluiceway.cfn.deployer import Deployment

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Orders:
    Type: AWS::Serverless::Api
    Properties:
      Name: orders-api
      StageName: live
      Variables: {table: orders}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.11
      Handler: index.handler
      InlineCode: "def handler(event, context):\\n    return {'statusCode': 200, 'body': 'ok'}\\n"
      Events:
        Get: {Type: Api, Properties: {RestApiId: !Ref Orders, Path: /orders, Method: get}}
        Http: {Type: HttpApi, Properties: {Path: /h, Method: get}}
Outputs:
  ApiId: {Value: !Ref Orders}
"""


def test_the_rest_apis_a_template_made_are_read_back(
    app_dir: Callable[..., Path], make_stack: Callable[..., Deployment], aws: Callable[..., Any]
) -> None:
    api_id = make_stack(app_dir(TEMPLATE), "rest-reads").outputs["ApiId"]
    apigateway = aws("apigateway")
    listed = {item["id"]: item for item in apigateway.get_rest_apis()["items"]}
    assert listed[api_id]["name"] == "orders-api"
    assert all(item["name"] != "rest-reads-ServerlessHttpApi" for item in listed.values())  # the HTTP API is not a REST API
    assert apigateway.get_rest_api(restApiId=api_id)["name"] == "orders-api"
    stages = apigateway.get_stages(restApiId=api_id)["item"]
    # SAM's Deployment also makes the stage "Stage" (without OpenApiVersion), as on AWS.
    assert {s["stageName"]: s.get("variables") for s in stages} == {"Stage": None, "live": {"table": "orders"}}
    assert apigateway.get_stage(restApiId=api_id, stageName="live")["variables"] == {"table": "orders"}

    with pytest.raises(apigateway.exceptions.NotFoundException, match=r"Invalid API identifier specified \d{12}:nope123456"):
        apigateway.get_rest_api(restApiId="nope123456")
    with pytest.raises(apigateway.exceptions.NotFoundException, match="Invalid Stage identifier specified"):
        apigateway.get_stage(restApiId=api_id, stageName="prod")
