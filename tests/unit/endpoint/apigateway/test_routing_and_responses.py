"""Route matching, proxy responses and parameter mappings: pure functions."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from sluiceway.endpoint.apigateway.mappings import MappingError, MappingSource, evaluate
from sluiceway.endpoint.apigateway.model import Integration, Route
from sluiceway.endpoint.apigateway.responses import MalformedResponseError, from_v1, from_v2
from sluiceway.endpoint.apigateway.routes import match_route

LAMBDA = Integration("lambda", function_arn="arn:aws:lambda:us-east-1:111111111111:function:f")


def routes(*keys: str) -> list[Route]:
    out = []
    for key in keys:
        method, _, path = key.partition(" ")
        out.append(Route("*", "$default", LAMBDA) if key == "$default" else Route(method, path, LAMBDA))
    return out


@pytest.mark.parametrize(
    ("method", "path", "expected", "parameters"),
    [
        ("GET", "/items/1", "GET /items/{id}", {"id": "1"}),
        ("GET", "/items/special", "GET /items/special", {}),
        ("POST", "/items/1", "ANY /items/{id}", {"id": "1"}),
        ("GET", "/items/1/a/b", "ANY /items/{proxy+}", {"proxy": "1/a/b"}),
        ("GET", "/other", "$default", {}),
        ("GET", "/items", "$default", {}),
    ],
)
def test_most_specific_route_wins(method: str, path: str, expected: str, parameters: dict[str, str]) -> None:
    table = routes("ANY /items/{proxy+}", "GET /items/{id}", "ANY /items/{id}", "GET /items/special", "$default")
    found = match_route(table, method, path)
    assert found is not None and (found.route.route_key, found.path_parameters) == (expected, parameters)


def test_no_route_without_default() -> None:
    assert match_route(routes("GET /a"), "POST", "/a") is None
    assert match_route(routes("GET /a/{proxy+}"), "GET", "/a") is None


@pytest.mark.parametrize("path", ["/items/1", "/items/1/", "//items/1", "/items//1", "/items/1//"])
def test_empty_segments_are_ignored_and_the_match_carries_the_canonical_path(path: str) -> None:
    found = match_route(routes("GET /items/{id}", "ANY /{proxy+}"), "GET", path)
    assert found is not None and (found.route.route_key, found.path_parameters, found.path) == ("GET /items/{id}", {"id": "1"}, "/items/1")


def test_a_method_that_is_not_api_gateways_takes_no_route_not_even_any_or_default() -> None:
    table = routes("GET /a", "ANY /b", "$default")
    for method in ("get", "Get", "any", "PROPFIND", "TRACE", ""):
        for path in ("/a", "/b", "/elsewhere"):
            assert match_route(table, method, path) is None, (method, path)
    found = match_route(table, "DELETE", "/b")
    assert found is not None and found.route.route_key == "ANY /b"


def test_v1_response_merges_headers() -> None:
    response = from_v1(
        {"statusCode": "201", "headers": {"A": "1", "B": 2}, "multiValueHeaders": {"A": ["1", "3"]}, "body": "x"}, kind="REST"
    )
    assert response.status == 201 and response.body == b"x"
    assert list(response.headers.items()) == [("A", "1"), ("B", "2"), ("Content-Type", "application/json"), ("A", "3")]


def test_v1_binary_only_for_accepted_binary_types() -> None:
    payload = {"statusCode": 200, "body": base64.b64encode(b"\x89PNG").decode(), "isBase64Encoded": True}
    assert from_v1(payload, kind="REST", accept="image/png", binary_media_types=("image/*",)).body == b"\x89PNG"
    assert from_v1(payload, kind="REST", accept="text/html", binary_media_types=("image/*",)).body == payload["body"].encode()
    assert from_v1(payload, kind="HTTP").body == b"\x89PNG"


@pytest.mark.parametrize(
    "payload",
    [None, "x", {"body": "no status"}, {"statusCode": 200, "body": {"a": 1}}, {"statusCode": 200, "other": 1},
     {"statusCode": True}, {"statusCode": 200, "headers": {"A": ["x"]}}],
)  # fmt: skip
def test_v1_malformed(payload: Any) -> None:
    with pytest.raises(MalformedResponseError):
        from_v1(payload, kind="REST")


def test_bad_base64_is_malformed_where_it_is_decoded() -> None:
    with pytest.raises(MalformedResponseError):
        from_v1({"statusCode": 200, "isBase64Encoded": True, "body": "%%"}, kind="HTTP")
    with pytest.raises(MalformedResponseError):
        from_v2({"statusCode": 200, "isBase64Encoded": True, "body": "%%"})


def test_v2_inference_and_cookies() -> None:
    inferred = from_v2([1, 2])
    assert (inferred.status, inferred.body, inferred.headers["Content-Type"]) == (200, b"[1, 2]", "application/json")
    response = from_v2({"statusCode": 302, "headers": {"Location": "/x"}, "cookies": ["a=1", "b=2"]})
    assert response.status == 302 and [v for k, v in response.headers.items() if k == "Set-Cookie"] == ["a=1", "b=2"]


def source(body: bytes = b"") -> MappingSource:
    return MappingSource(
        headers={"x-id": "h1"}, query="q=1&q=2", path_parameters={"p": "a%20b"}, body=body,
        context={"requestId": "r1", "identity": {"sourceIp": "127.0.0.1"}}, stage_variables={"s": "v"},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("$request.body", '{"a": {"b": [1, "x"]}}'),
        ("$request.body.a.b[1]", "x"),
        ("$request.body.a", '{"b": [1, "x"]}'),
        ("$request.body.missing", None),
        ("$request.header.X-Id", "h1"),
        ("$request.querystring.q", "1,2"),
        ("$request.path.p", "a b"),
        ("$context.requestId", "r1"),
        ("$context.identity.sourceIp", "127.0.0.1"),
        ("$stageVariables.s", "v"),
        ("static", "static"),
        ("id-${request.header.x-id}-${context.requestId}", "id-h1-r1"),
    ],
)
def test_mappings(expression: str, value: str | None) -> None:
    assert evaluate(expression, source(b'{"a": {"b": [1, "x"]}}')) == value


def test_mapping_into_a_body_that_is_not_json() -> None:
    with pytest.raises(MappingError):
        evaluate("$request.body.a", source(b"not json"))
