"""A REST API's methods behind API keys and usage plans, deployed from a SAM template, called over the wire.

SAM's ``Auth: ApiKeyRequired`` + ``UsagePlan: CreateUsagePlan: PER_API`` makes the key, the plan
and their link; the key's generated value is read as a client reads it on AWS
(``apigateway.get_api_key(includeValue=True)``). Requests without a key, with a wrong or disabled
key, over the plan's throttle or over its quota get API Gateway's answers; the quota's count
outlives a restart of the stack. The stacks run on a fixed clock: a quota's day must not end mid-test.
"""

from __future__ import annotations

import json
import string
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sluiceway.cfn.deployer import Deployment, deploy
from sluiceway.clock import FakeClock
from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

Aws = Callable[..., Any]

NOON = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
"""The stacks' fixed time: noon of a month's last day, so a day or a month passing mid-test would show."""

DISABLED_VALUE = "disabled-key-value-0123456789"

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
      Auth:
        ApiKeyRequired: true
        UsagePlan:
          CreateUsagePlan: PER_API
          Quota: {Limit: 3, Period: DAY}
  Throttled:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
      Auth:
        ApiKeyRequired: true
        UsagePlan:
          CreateUsagePlan: PER_API
          Throttle: {RateLimit: 0.001, BurstLimit: 1}
  Disabled:
    Type: AWS::ApiGateway::ApiKey
    Properties:
      Name: disabled-key
      Enabled: false
      Value: disabled-key-value-0123456789
  DisabledInPlan:
    Type: AWS::ApiGateway::UsagePlanKey
    Properties:
      KeyId: !Ref Disabled
      KeyType: API_KEY
      UsagePlanId: !Ref ApiUsagePlan
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
      Events:
        Items:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: /items, Method: get}
        Open:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: /open, Method: get, Auth: {ApiKeyRequired: false}}
        Slow:
          Type: Api
          Properties: {RestApiId: !Ref Throttled, Path: /slow, Method: get}
Outputs:
  Url:
    Value: !Sub https://${Api}.execute-api.${AWS::Region}.amazonaws.com/Prod
  ThrottledUrl:
    Value: !Sub https://${Throttled}.execute-api.${AWS::Region}.amazonaws.com/Prod
  KeyId:
    Value: !Ref ApiApiKey
  ThrottledKeyId:
    Value: !Ref ThrottledApiKey
  PlanId:
    Value: !Ref ApiUsagePlan
  KeyAttribute:
    Value: !GetAtt ApiApiKey.APIKeyId
  PlanAttribute:
    Value: !GetAtt ApiUsagePlan.Id
"""

HANDLER = """\
import json

def handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event["requestContext"]["identity"])}
"""


def call(url: str, key: str | None = None) -> tuple[int, dict[str, str], bytes]:
    headers = {"x-api-key": key} if key is not None else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def write_app(root: Path, template: str) -> Path:
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "src" / "app.py").write_text(HANDLER, encoding="utf-8")
    (root / "template.yaml").write_text(template, encoding="utf-8")
    return root / "template.yaml"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The module's stack (the cfn conftest's ``endpoint`` serves it), on a clock that stays at :data:`NOON`."""
    settings = Settings.load(data_dir=tmp_path_factory.mktemp("keys") / "data", workers=2, endpoint_port=0)
    built = build_stack(settings, app=None, clock=FakeClock(NOON))
    built.start("api keys tests")
    try:
        yield built
    finally:
        built.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_app(tmp_path_factory.mktemp("keys-app"), TEMPLATE)


def test_methods_requiring_a_key_answer_as_api_gateway_does(aws: Aws, make_stack: Callable[..., Deployment], app: Path) -> None:
    outputs = make_stack(app, "keys").outputs
    url, key_id = outputs["Url"], outputs["KeyId"]
    apigw = aws("apigateway")
    described = apigw.get_api_key(apiKey=key_id, includeValue=True)
    value = described["value"]
    assert len(value) == 40 and set(value) <= set(string.ascii_letters + string.digits)
    assert described["id"] == key_id and described["enabled"] is True
    assert "value" not in apigw.get_api_key(apiKey=key_id)

    assert call(url + "/open")[0] == 200  # a method without ApiKeyRequired needs none
    for presented in (None, "not-a-key-of-this-plan-0123456789", DISABLED_VALUE, value[:-1], value + "x"):
        status, headers, body = call(url + "/items", presented)
        assert (status, body) == (403, b'{"message":"Forbidden"}'), presented
        assert headers["x-amzn-ErrorType"] == "ForbiddenException"

    status, _, body = call(url + "/items", value)
    assert status == 200
    identity = json.loads(body)
    assert identity["apiKey"] == value and identity["apiKeyId"] == key_id
    assert "apiKey" not in json.loads(call(url + "/open", value)[2])  # only a method that required a key carries it
    assert call(url + "/items", value)[0] == 200
    assert call(url + "/items", value)[0] == 200
    status, headers, body = call(url + "/items", value)  # the fourth of a quota of 3 a day
    assert (status, body) == (429, b'{"message":"Limit Exceeded"}')
    assert headers["x-amzn-ErrorType"] == "LimitExceededException"

    throttled_key = apigw.get_api_key(apiKey=outputs["ThrottledKeyId"], includeValue=True)["value"]
    assert call(outputs["ThrottledUrl"] + "/slow", throttled_key)[0] == 200  # the burst of 1
    status, headers, body = call(outputs["ThrottledUrl"] + "/slow", throttled_key)  # refilled in 1000 s
    assert (status, body) == (429, b'{"message":"Too Many Requests"}')
    assert headers["x-amzn-ErrorType"] == "TooManyRequestsException"
    assert call(outputs["ThrottledUrl"] + "/slow", value)[0] == 403  # a key of another plan


def test_keys_and_plans_are_read_through_the_apigateway_api(aws: Aws, make_stack: Callable[..., Deployment], app: Path) -> None:
    outputs = make_stack(app, "keys").outputs
    assert (outputs["KeyAttribute"], outputs["PlanAttribute"]) == (outputs["KeyId"], outputs["PlanId"])
    apigw = aws("apigateway")
    plan = apigw.get_usage_plan(usagePlanId=outputs["PlanId"])
    assert plan["quota"] == {"limit": 3, "offset": 0, "period": "DAY"}
    assert [s["stage"] for s in plan["apiStages"]] == ["Prod"]
    members = {k["id"]: k for k in apigw.get_usage_plan_keys(usagePlanId=outputs["PlanId"])["items"]}
    assert set(members) == {outputs["KeyId"], apigw.get_api_keys(nameQuery="disabled-key")["items"][0]["id"]}
    assert all(k["type"] == "API_KEY" for k in members.values())
    listed = apigw.get_api_keys(includeValues=True)["items"]
    assert DISABLED_VALUE in {k["value"] for k in listed} and all("value" not in k for k in apigw.get_api_keys()["items"])
    first = apigw.get_api_keys(limit=1)
    assert len(first["items"]) == 1 and apigw.get_api_keys(limit=1, position=first["position"])["items"][0]["id"] != first["items"][0]["id"]
    assert {p["id"] for p in apigw.get_usage_plans(keyId=outputs["KeyId"])["items"]} == {outputs["PlanId"]}
    with pytest.raises(ClientError) as missing:
        apigw.get_api_key(apiKey="nosuchkey0")
    assert missing.value.response["Error"] == {"Code": "NotFoundException", "Message": "Invalid API Key identifier specified"}
    with pytest.raises(ClientError) as missing:
        apigw.get_usage_plan(usagePlanId="nosuchplan")
    assert missing.value.response["Error"]["Message"] == "Invalid Usage Plan ID specified"


def _error(call: Callable[..., Any], **params: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as refused:
        call(**params)
    return dict(refused.value.response["Error"])


def test_the_control_plane_answers_in_api_gateway_s_shapes_and_order(aws: Aws, make_stack: Callable[..., Deployment], app: Path) -> None:
    outputs = make_stack(app, "keys").outputs
    apigw = aws("apigateway")
    plan_id, key_id, other_key = outputs["PlanId"], outputs["KeyId"], outputs["ThrottledKeyId"]
    # One resource carries its tags, {} when none; a list's items carry them only when there are some.
    assert apigw.get_api_key(apiKey=key_id)["tags"] == {} and apigw.get_usage_plan(usagePlanId=plan_id)["tags"] == {}
    assert all("tags" not in k for k in apigw.get_api_keys()["items"])
    assert all("tags" not in p for p in apigw.get_usage_plans()["items"])

    # GetUsagePlanKey looks the key up first; a known key outside the plan is an unknown plan.
    assert apigw.get_usage_plan_key(usagePlanId=plan_id, keyId=key_id)["id"] == key_id
    not_found = "NotFoundException"
    assert _error(apigw.get_usage_plan_key, usagePlanId="nosuchplan", keyId="nosuchkey0") == {
        "Code": not_found, "Message": "Invalid API Key identifier specified"
    }  # fmt: skip
    for plan, key in ((plan_id, other_key), ("nosuchplan", key_id)):
        assert _error(apigw.get_usage_plan_key, usagePlanId=plan, keyId=key) == {
            "Code": not_found, "Message": "Invalid Usage Plan ID specified"
        }  # fmt: skip
    assert apigw.get_usage_plan_keys(usagePlanId="nosuchplan")["items"] == []

    first = apigw.get_api_keys(limit=1)
    for garbage in ("!!!!", first["position"] + "*", "bm90IGFuIGlk"):  # not base64; a character dropped; not an id
        assert _error(apigw.get_api_keys, limit=1, position=garbage) == {
            "Code": "BadRequestException", "Message": "Invalid position parameter"
        }, garbage  # fmt: skip
    assert apigw.get_api_keys(limit=-1)["items"]  # out of range: a page, not an error


def _client(url: str) -> Any:
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    return session.client("apigateway", endpoint_url=url, config=Config(retries={"max_attempts": 1}))


def test_a_quota_count_and_a_generated_key_outlive_a_restart(tmp_path: Path) -> None:
    template = write_app(tmp_path / "app", TEMPLATE.replace("Quota: {Limit: 3, Period: DAY}", "Quota: {Limit: 2, Period: MONTH}"))
    settings = Settings.load(data_dir=tmp_path / "data", workers=2)
    seen: list[tuple[str, str]] = []
    clock = FakeClock(NOON)
    for attempt in (1, 2):
        stack = build_stack(settings, app=None, clock=clock)
        stack.start(f"keys restart {attempt}")
        try:
            endpoint = Endpoint(stack, host="127.0.0.1", port=0)
            endpoint.start()
            try:
                outputs = deploy(endpoint, template, "durable", {}, cache_dir=tmp_path / "cache", warn=lambda _: None).outputs
                value = _client(endpoint.url).get_api_key(apiKey=outputs["KeyId"], includeValue=True)["value"]
                seen.append((outputs["KeyId"], value))
                if attempt == 1:
                    assert [call(outputs["Url"] + "/items", value)[0] for _ in range(2)] == [200, 200]
                else:
                    assert call(outputs["Url"] + "/items", value)[:3:2] == (429, b'{"message":"Limit Exceeded"}')
                    today = clock.now().date().isoformat()
                    usage = _client(endpoint.url).get_usage(usagePlanId=outputs["PlanId"], startDate=today, endDate=today)
                    # [used, remaining] today: the refused request is not counted; the plan's disabled key used none.
                    assert usage["items"][outputs["KeyId"]] == [[2, 0]] and len(usage["items"]) == 2
            finally:
                endpoint.close()
        finally:
            stack.close()
    assert seen[0] == seen[1]  # the same key, the same generated value
