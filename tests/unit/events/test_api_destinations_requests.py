"""The HTTP request an API destination or API Gateway target makes (pure)."""

from __future__ import annotations

import json

import pytest

from sluiceway.events.api_destinations import (
    HttpParameters,
    Parameter,
    TargetHttpParameters,
    build_request,
    execute_api_target,
    fill_path,
    is_retryable_status,
)
from sluiceway.events.rules import RuleValidationError, target_kind


def test_target_kinds() -> None:
    assert (
        target_kind("arn:aws:events:us-east-1:123456789012:api-destination/dest/0b1c2d3e-aaaa-bbbb-cccc-123456789012") == "api-destination"
    )
    assert target_kind("arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/POST/orders/*") == "api-gateway"
    with pytest.raises(RuleValidationError):
        target_kind("arn:aws:events:us-east-1:123456789012:connection/c/0b1c2d3e")


def test_execute_api_target() -> None:
    target = execute_api_target("arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/orders/*")
    assert target is not None and (target.api_id, target.stage, target.method, target.path) == ("a1b2c3d4e5", "prod", "GET", "/orders/*")
    assert execute_api_target("arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/*").path == "/"  # type: ignore[union-attr]


def test_path_wildcards() -> None:
    assert fill_path("https://h/a/*/b/*", ["x/y", "z"]) == "https://h/a/x%2Fy/b/z"
    with pytest.raises(RuleValidationError):
        fill_path("https://h/a/*", [])


def test_connection_parameters_win_and_body_merges() -> None:
    request = build_request(
        method="POST",
        url_template="https://h/p?fixed=1",
        payload={"a": 1, "k": "event"},
        target=TargetHttpParameters(headers={"X-H": "target", "T": "t"}, query={"q": "target"}),
        connection=HttpParameters(headers=(Parameter("x-h", "conn"),), query=(Parameter("q", "conn"),), body=(Parameter("k", "conn"),)),
        auth_headers={"Authorization": "Basic x"},
    )
    assert request.url == "https://h/p?fixed=1&q=conn"
    assert request.headers["x-h"] == "conn" and "X-H" not in request.headers and request.headers["T"] == "t"
    assert json.loads(request.body or b"") == {"a": 1, "k": "conn"}
    with pytest.raises(RuleValidationError):
        build_request(method="POST", url_template="file:///etc/passwd", payload={}, target=TargetHttpParameters())


@pytest.mark.parametrize(
    ("status", "retried"),
    [(401, True), (407, True), (409, True), (429, True), (500, True), (503, True), (400, False), (403, False), (404, False), (302, False)],
)
def test_retryable_statuses(status: int, retried: bool) -> None:
    assert is_retryable_status(status) is retried
