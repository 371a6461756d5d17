"""Lambda authorizers (REST TOKEN/REQUEST, HTTP API REQUEST) and IAM policy evaluation, with a recording invoker."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sluiceway.endpoint.apigateway.authorizers import Authorization
from sluiceway.endpoint.apigateway.events import RequestView
from sluiceway.endpoint.apigateway.grants import Grant, Refusal
from sluiceway.endpoint.apigateway.key_source import NoKeys
from sluiceway.endpoint.apigateway.lambda_authorizer import LambdaAuthorizers
from sluiceway.endpoint.apigateway.model import Api, Authorizer, Guard, Integration, Route, Stage
from sluiceway.endpoint.apigateway.policies import PolicyError, evaluate, method_arn
from sluiceway.endpoint.apigateway.routes import match_route
from sluiceway.ports.functions import Invocation, InvocationResult

FN = "arn:aws:lambda:us-east-1:111111111111:function:Auth"
ARN = "arn:aws:execute-api:us-east-1:111111111111:api0000001/Prod/GET/items/1"


class Invoker:
    """Answers with ``answer`` (or fails with ``error``) and records every event."""

    def __init__(self, answer: Any = None, error: str | None = None) -> None:
        self.answer, self.error, self.events = answer, error, []  # type: ignore[var-annotated]

    def invoke(self, invocation: Invocation) -> InvocationResult:
        self.events.append(invocation.payload)
        if self.error is not None:
            return InvocationResult(invocation.request_id, error_type="Error", error_message=self.error)
        return InvocationResult(invocation.request_id, payload=self.answer)

    def knows(self, function_name: str) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def policy(effect: str, resource: Any, **extra: Any) -> dict[str, Any]:
    statement = {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}
    return {"principalId": "user-1", "policyDocument": {"Version": "2012-10-17", "Statement": [statement]}, **extra}


def view(
    authorizer: Authorizer, *, kind: str = "REST", headers: dict[str, str] | None = None, query: str = "", path: str = "/items/1"
) -> RequestView:
    route = Route("GET", "/items/{id}", Integration("lambda", function_arn=FN), Guard("authorizer", authorizer.name, authorizer), "abc123")
    stage = Stage("Prod" if kind == "REST" else "$default", {"v": "1"})
    api = Api("api0000001", "Api", kind, "a", "us-east-1", "111111111111", (route,), (stage,))  # type: ignore[arg-type]
    return RequestView(
        api=api, stage=stage, route=route, path_parameters={"id": "1"}, method="GET", path=path, stage_path=path,
        query=query, headers=headers or {}, body=b"secret body", source_ip="127.0.0.1", request_id="r", extended_request_id="e",
        time_ms=0, domain_name="localhost", domain_prefix="api0000001",
    )  # fmt: skip


TOKEN = Authorizer("Tok", "TOKEN", identity_source=("method.request.header.Authorization",), function_arn=FN, ttl_s=300)
REQUEST = Authorizer(
    "Req", "REQUEST", identity_source=("method.request.header.X-User", "method.request.querystring.q"), function_arn=FN, ttl_s=0
)


def run(authorizer: Authorizer, invoker: Invoker, clock: Clock | None = None, **kw: Any) -> Grant | Refusal | None:
    lambdas = LambdaAuthorizers(invoker, clock or Clock())
    return Authorization(NoKeys(), lambdas).authorize(view(authorizer, **kw))


def body(outcome: Any) -> tuple[int, Any]:
    assert isinstance(outcome, Refusal)
    return outcome.response.status, json.loads(outcome.response.body)


def test_token_authorizer_event_grant_and_context() -> None:
    invoker = Invoker(
        policy("Allow", "arn:aws:execute-api:us-east-1:111111111111:api0000001/*/GET/*", context={"n": 1, "b": True, "s": "x"})
    )
    outcome = run(TOKEN, invoker, headers={"authorization": "tok"})
    assert invoker.events == [{"type": "TOKEN", "authorizationToken": "tok", "methodArn": ARN}]
    assert isinstance(outcome, Grant)
    event = outcome.for_event("REST", "1.0")
    assert event == {"n": "1", "b": "true", "s": "x", "principalId": "user-1", "integrationLatency": event["integrationLatency"]}


def test_missing_identity_source_is_401_without_invoking() -> None:
    invoker = Invoker(policy("Allow", "*"))
    assert body(run(TOKEN, invoker)) == (401, {"message": "Unauthorized"})
    assert body(run(REQUEST, invoker, headers={"x-user": "u"})) == (401, {"message": "Unauthorized"})  # q missing
    strict = Authorizer(**{**TOKEN.__dict__, "validation_expression": r"^Bearer [a-z]+$"})
    assert body(run(strict, invoker, headers={"authorization": "tok"})) == (401, {"message": "Unauthorized"})
    assert invoker.events == []


@pytest.mark.parametrize(
    ("answer", "error", "expected"),
    [
        (policy("Deny", ARN), None, (403, {"Message": "User is not authorized to access this resource with an explicit deny"})),
        ({**policy("Allow", "*"), "policyDocument": {"Statement": [{"Action": "*", "Effect": "Allow", "Resource": "*"},
          {"Action": "execute-api:*", "Effect": "Deny", "Resource": "arn:aws:execute-api:*:*:api0000001/Prod/GET/items/?"}]}},
         None, (403, {"Message": "User is not authorized to access this resource with an explicit deny"})),
        (policy("Allow", "arn:aws:execute-api:us-east-1:111111111111:api0000001/Prod/POST/*"), None,
         (403, {"Message": "User is not authorized to access this resource"})),
        (None, "Unauthorized", (401, {"message": "Unauthorized"})),
        (None, "boom", (500, {"message": None})),
        ({"policyDocument": {}}, None, (500, {"message": None})),
        (policy("Allow", "*", context={"nested": {"a": 1}}), None, (500, {"message": None})),
        ({"principalId": "p", "policyDocument": {"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}}, None,
         (500, {"message": None})),
        ("not an object", None, (500, {"message": None})),
    ],
)  # fmt: skip
def test_rest_lambda_authorizer_refusals(answer: Any, error: str | None, expected: tuple[int, Any]) -> None:
    outcome = run(TOKEN, Invoker(answer, error), headers={"authorization": "tok"})
    assert body(outcome) == expected
    assert isinstance(outcome, Refusal)
    if expected[0] == 500:
        assert outcome.response.headers["x-amzn-ErrorType"] == "AuthorizerConfigurationException"


def test_answers_are_cached_per_identity_and_reevaluated_against_each_arn() -> None:
    clock = Clock()
    invoker = Invoker(policy("Allow", ARN))
    lambdas = LambdaAuthorizers(invoker, clock)
    authorization = Authorization(NoKeys(), lambdas)
    assert isinstance(authorization.authorize(view(TOKEN, headers={"authorization": "a"})), Grant)
    assert isinstance(authorization.authorize(view(TOKEN, headers={"authorization": "a"})), Grant)
    assert len(invoker.events) == 1
    # The cached policy names /items/1 only: the same caller is refused /items/2 without a new call.
    assert body(authorization.authorize(view(TOKEN, headers={"authorization": "a"}, path="/items/2")))[0] == 403
    assert len(invoker.events) == 1
    authorization.authorize(view(TOKEN, headers={"authorization": "b"}))
    assert len(invoker.events) == 2
    clock.now = 301
    authorization.authorize(view(TOKEN, headers={"authorization": "a"}))
    assert len(invoker.events) == 3
    uncached = Authorizer(**{**TOKEN.__dict__, "ttl_s": 0})
    for _ in range(2):
        authorization.authorize(view(uncached, headers={"authorization": "a"}))
    assert len(invoker.events) == 5


def test_rest_request_authorizer_event_has_the_request_without_its_body() -> None:
    invoker = Invoker(policy("Allow", ARN))
    run(REQUEST, invoker, headers={"x-user": "u"}, query="q=1")
    (event,) = invoker.events
    assert (event["type"], event["methodArn"], event["resource"], event["path"]) == ("REQUEST", ARN, "/items/{id}", "/items/1")
    assert event["headers"] == {"X-User": "u"} and event["queryStringParameters"] == {"q": "1"}
    assert event["pathParameters"] == {"id": "1"} and event["stageVariables"] == {"v": "1"}
    assert "body" not in event and "authorizer" not in event["requestContext"]


def test_http_api_simple_responses_and_payload_formats() -> None:
    simple = Authorizer(
        "L", "REQUEST", identity_source=("$request.header.Authorization",), function_arn=FN, payload_format="2.0", simple_responses=True
    )
    invoker = Invoker({"isAuthorized": True, "context": {"tenant": {"id": 7}}})
    outcome = run(simple, invoker, kind="HTTP", headers={"authorization": "t"})
    assert isinstance(outcome, Grant) and outcome.for_event("HTTP", "2.0") == {"lambda": {"tenant": {"id": 7}}}
    (event,) = invoker.events
    assert event["version"] == "2.0" and event["identitySource"] == ["t"] and event["routeArn"].endswith("/$default/GET/items/1")
    assert body(run(simple, Invoker({"isAuthorized": False}), kind="HTTP", headers={"authorization": "t"})) == (
        403,
        {"message": "Forbidden"},
    )
    assert body(run(simple, Invoker({"isAuthorized": "yes"}), kind="HTTP", headers={"authorization": "t"})) == (
        500, {"message": "Internal Server Error"})  # fmt: skip
    assert body(run(simple, Invoker(error="Unauthorized"), kind="HTTP", headers={"authorization": "t"}))[0] == 500
    v1 = Authorizer("L1", "REQUEST", identity_source=("$request.header.Authorization",), function_arn=FN, payload_format="1.0")
    invoker = Invoker(policy("Deny", "*"))
    assert body(run(v1, invoker, kind="HTTP", headers={"authorization": "t"})) == (403, {"message": "Forbidden"})
    assert invoker.events[0]["identitySource"] == "t" and invoker.events[0]["version"] == "1.0"


def test_policy_evaluation_wildcards_and_errors() -> None:
    arn = "arn:aws:execute-api:us-east-1:1:a/Prod/GET/x/y"
    doc = lambda *s: {"Version": "2012-10-17", "Statement": list(s)}  # noqa: E731
    allow = {"Effect": "Allow", "Action": ["execute-api:Invoke"], "Resource": ["arn:aws:execute-api:us-east-1:1:a/*/GET/x/?"]}
    assert evaluate(doc(allow), arn) == "allow"
    assert evaluate(doc({**allow, "Resource": "arn:aws:execute-api:us-east-1:1:a/*/GET/x"}), arn) == "implicit_deny"
    assert evaluate(doc({**allow, "Action": "execute-api:ManageConnections"}), arn) == "implicit_deny"
    assert evaluate(doc(allow, {"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:execute-api:*:*:a/*/POST/*"}), arn) == "deny"
    assert evaluate({"Statement": {**allow, "Condition": {"IpAddress": {}}}}, arn) == "implicit_deny"
    for bad in ({}, {"Statement": []}, {"Statement": [{"Effect": "Allow", "Action": "*"}]}, {"Statement": [{**allow, "Resource": 3}]}):
        with pytest.raises(PolicyError):
            evaluate(bad, arn)


ADMIN = Route("GET", "/admin", Integration("lambda", function_arn=FN))
ALLOW_ALL_BUT_ADMIN = {"Statement": [
    {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:us-east-1:111111111111:api1/Prod/*"},
    {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:us-east-1:111111111111:api1/Prod/GET/admin"},
]}  # fmt: skip


@pytest.mark.parametrize("path", ["/admin", "/admin/", "//admin", "/admin//", "//admin//"])
def test_a_deny_cannot_be_escaped_by_a_trailing_or_doubled_slash(path: str) -> None:
    found = match_route((ADMIN,), "GET", path)
    assert found is not None and found.route is ADMIN  # the request reaches GET /admin...
    arn = method_arn("us-east-1", "111111111111", "api1", "Prod", "GET", path)
    assert arn == "arn:aws:execute-api:us-east-1:111111111111:api1/Prod/GET/admin"  # ...and is authorized as GET /admin
    assert evaluate(ALLOW_ALL_BUT_ADMIN, arn) == "deny"


def test_the_authorizer_is_asked_about_the_path_the_request_was_routed_on() -> None:
    deny_item = {"principalId": "p", "policyDocument": {"Statement": [
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"},
        {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": ARN},
    ]}}  # fmt: skip
    invoker = Invoker(deny_item)
    refused = run(TOKEN, invoker, headers={"authorization": "tok"}, path="/items//1/")
    assert body(refused) == (403, {"Message": "User is not authorized to access this resource with an explicit deny"})
    assert invoker.events[0]["methodArn"] == ARN


def test_a_conditional_deny_applies_only_to_the_resources_it_names() -> None:
    def document(denied: str) -> dict[str, Any]:
        return {"Statement": [
            {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"},
            {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": denied,
             "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
        ]}  # fmt: skip

    items = "arn:aws:execute-api:us-east-1:111111111111:api1/Prod/GET/items"
    # Conditions cannot be evaluated locally: a conditional Deny on this resource is taken as applying...
    assert evaluate(document("arn:aws:execute-api:*:*:api1/Prod/GET/*"), items) == "deny"
    # ...and one on another resource (or for another action) says nothing about this one.
    assert evaluate(document("arn:aws:execute-api:*:*:api1/Prod/DELETE/*"), items) == "allow"
    other_action = document("*")
    other_action["Statement"][1]["Action"] = "execute-api:ManageConnections"
    assert evaluate(other_action, items) == "allow"
