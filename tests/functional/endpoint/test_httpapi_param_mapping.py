"""HTTP API parameter mapping: static text around ``$request``/``$context``/``$stageVariables`` expressions.

API Gateway substitutes every expression inside a mapping value, bare (``com.mycompany.$request.path.source``,
ending at the first character its source does not allow in a name) or in braces (``${request.path.id}-x``).
The apigw-eventbridge pattern names its event source that way; an EventBridge rule delivers the event to a
queue, which shows the source the integration sent. A JSON template (``{"orderId": "$request.path.id"}``)
is text like any other: the quote after the expression ends it.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sluiceway.cfn.deployer import Deployment, deploy
from sluiceway.endpoint.apigateway.mappings import MappingError, MappingSource, evaluate
from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Bus:
    Type: AWS::Events::EventBus
    Properties: {Name: mapping-bus}
  Caught:
    Type: AWS::SQS::Queue
    Properties: {QueueName: mapping-caught}
  Orders:
    Type: AWS::SQS::Queue
    Properties: {QueueName: mapping-orders}
  Rule:
    Type: AWS::Events::Rule
    Properties:
      EventBusName: !Ref Bus
      EventPattern: {source: [{prefix: com.mycompany.}]}
      Targets: [{Id: q, Arn: !GetAtt Caught.Arn}]
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: {Name: mapping, ProtocolType: HTTP}
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref Api
      StageName: dev
      AutoDeploy: true
      StageVariables: {shop: north}
  EventsRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Api
      RouteKey: POST /events/{source}/{detailType}
      Target: !Sub integrations/${EventsIntegration}
  EventsIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: AWS_PROXY
      IntegrationSubtype: EventBridge-PutEvents
      CredentialsArn: arn:aws:iam::111111111111:role/x
      PayloadFormatVersion: "1.0"
      RequestParameters:
        Source: com.mycompany.$request.path.source
        DetailType: ${request.path.detailType}-v1
        Detail: $request.body
        EventBusName: !GetAtt Bus.Arn
  OrdersRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Api
      RouteKey: POST /orders/{id}
      Target: !Sub integrations/${OrdersIntegration}
  OrdersIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: AWS_PROXY
      IntegrationSubtype: SQS-SendMessage
      CredentialsArn: arn:aws:iam::111111111111:role/x
      PayloadFormatVersion: "1.0"
      RequestParameters:
        QueueUrl: !Ref Orders
        MessageBody: order $request.path.id for $request.header.x-customer at ${stageVariables.shop}/$request.path
  Tickets:
    Type: AWS::SQS::Queue
    Properties: {QueueName: mapping-tickets}
  TicketsRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Api
      RouteKey: POST /tickets/{id}
      Target: !Sub integrations/${TicketsIntegration}
  TicketsIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: AWS_PROXY
      IntegrationSubtype: SQS-SendMessage
      CredentialsArn: arn:aws:iam::111111111111:role/x
      PayloadFormatVersion: "1.0"
      RequestParameters:
        QueueUrl: !Ref Tickets
        MessageBody: '{"orderId": "$request.path.id", "items": "$request.path/items", "price": "\\$5"}'
Outputs:
  Url: {Value: !Sub "https://${Api}.execute-api.${AWS::Region}.amazonaws.com/dev"}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack without a built-in app: the template brings the API, the bus and the queues."""
    settings = Settings.load(data_dir=tmp_path_factory.mktemp("mapping") / "data", workers=2, endpoint_port=free_port())
    built = build_stack(settings, app=None, invoker_mode="thread")
    built.start("http api parameter mapping tests")
    try:
        yield built
    finally:
        built.close()


@pytest.fixture(scope="module")
def deployed(endpoint: Endpoint, tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    root = tmp_path_factory.mktemp("mapping-app")
    (root / "template.yaml").write_text(TEMPLATE, encoding="utf-8")
    return deploy(endpoint, root / "template.yaml", "httpapi-mapping", {}, cache_dir=root / "cache")


def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def receive_one(sqs: Any, queue_url: str) -> str:
    """The body of the next message on the queue (delivery from the bus is asynchronous)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])
        if messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
            return str(messages[0]["Body"])
    raise AssertionError(f"no message on {queue_url}")


def test_put_events_source_mixes_text_and_a_path_parameter(deployed: Deployment, aws: Callable[..., Any]) -> None:
    status, answer = post(deployed.outputs["Url"] + "/events/orders/created", b'{"id": 7}')
    assert status == 200, answer
    assert answer["FailedEntryCount"] == 0
    sqs = aws("sqs")
    event = json.loads(receive_one(sqs, sqs.get_queue_url(QueueName="mapping-caught")["QueueUrl"]))
    assert (event["source"], event["detail-type"], event["detail"]) == ("com.mycompany.orders", "created-v1", {"id": 7})


def test_send_message_body_substitutes_every_expression(deployed: Deployment, aws: Callable[..., Any]) -> None:
    status, answer = post(deployed.outputs["Url"] + "/orders/o-1", b"{}", {"x-customer": "c-9"})
    assert status == 200, answer
    sqs = aws("sqs")
    body = receive_one(sqs, sqs.get_queue_url(QueueName="mapping-orders")["QueueUrl"])
    assert body == "order o-1 for c-9 at north//orders/o-1"


def test_a_json_template_ends_each_expression_at_its_closing_quote(deployed: Deployment, aws: Callable[..., Any]) -> None:
    status, answer = post(deployed.outputs["Url"] + "/tickets/42", b"{}")
    assert status == 200, answer
    sqs = aws("sqs")
    body = receive_one(sqs, sqs.get_queue_url(QueueName="mapping-tickets")["QueueUrl"])
    assert json.loads(body) == {"orderId": "42", "items": "/tickets/42/items", "price": "$5"}


def test_a_missing_expression_leaves_the_whole_parameter_out(deployed: Deployment) -> None:
    # No x-customer header: MessageBody maps to nothing, and SQS-SendMessage requires it.
    status, answer = post(deployed.outputs["Url"] + "/orders/o-2", b"{}")
    assert (status, answer) == (400, {"message": "Bad Request"})


def source() -> MappingSource:
    return MappingSource(
        headers={"x-id": "h1"}, query="q=1&q=2&page-size=5", path_parameters={"p": "a%20b", "id": "42"},
        body=b'{"pets": ["dog", "cat"], "owner": {"first name": "Ann", "age": 3, "nick": null}, "order-id": "o7"}',
        context={"requestId": "r1", "authorizer": {"claims": {"sub": "u1"}}}, stage_variables={"s": "v"}, path="/items/a%20b",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("com.mycompany.$request.path.p", "com.mycompany.a b"),
        ("$request.header.x-id $request.querystring.q", "h1 1,2"),
        ("$request.header.x-id$context.requestId", "h1r1"),
        ("${request.header.x-id}static${stageVariables.s}", "h1staticv"),
        ("$request.body.pets and text", '["dog", "cat"] and text'),
        ("${request.body.pets[1]}}", "cat}"),
        ("$request.header.x-id$1", "h1$1"),
        ("price: $5", "price: $5"),
        ("$request.path", "/items/a%20b"),
        ("user-$context.authorizer.claims.sub", "user-u1"),
        ("static", "static"),
        # A bare expression ends at the first character its source does not allow in a name.
        ('{"orderId": "$request.path.id"}', '{"orderId": "42"}'),
        ("$request.path.id/items", "42/items"),
        ("$context.requestId,$request.path.id", "r1,42"),
        ("($request.path.id)", "(42)"),
        ("$request.path/items", "/items/a%20b/items"),
        ("id $request.path.id.", "id 42."),
        ("$stageVariables.s-x", "v-x"),
        ("$stageVariables.s.x", "v.x"),
        ("$request.querystring.page-size;", "5;"),
        ("$request.body.order-id!", "o7!"),
        ("$request.body.owner.age?", "3?"),
        ("$request.body.pets[0]|$request.body.pets[-1]", "dog|cat"),
        ("$request.body.owner['age'],", "3,"),
        ("${request.body.owner['first name']}", "Ann"),
        ("$request.body.pets[*]", '["dog", "cat"]'),
        ("${request.body.owner.*}", '["Ann", 3, null]'),
        ("$request.body.owner.nick", None),
        # '-' belongs to header names (x-api-key): the suffix names a header that is not there.
        ("$request.header.x-id-suffix", None),
        # A context variable name allows only '.' and '_' besides letters and digits.
        ("$context.requestId-$context.requestId", "r1-r1"),
        ("$context.requestId.json", None),
        # '\$' is a literal '$'.
        ("\\$request.path.id", "$request.path.id"),
        ("\\${request.path.id}-$request.path.id", "${request.path.id}-42"),
        ("cost \\$5", "cost $5"),
        ("id-${request.header.missing}", None),
        ("$request.querystring.q $request.header.missing", None),
        ("$context.authorizer", None),
    ],
)
def test_mapping_values(value: str, expected: str | None) -> None:
    assert evaluate(value, source()) == expected


@pytest.mark.parametrize(
    "value",
    ["$request.headers.x-id", "$request.header.", "${request.querystring}", "$request.pathway", "${request.body.pets[x]}"],
)
def test_malformed_expressions_are_rejected(value: str) -> None:
    with pytest.raises(MappingError):
        evaluate(value, source())
