"""AWS::Events::Connection and AWS::Events::ApiDestination provisioners against a running endpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sluiceway.cfn.resources.base import Env, Request, Stored
from sluiceway.cfn.resources.events_http import ApiDestination, Connection
from sluiceway.endpoint.calls import AwsCalls
from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    stack = build_stack(Settings.load(data_dir=tmp_path / "data", workers=1, endpoint_port=0), app=None, invoker_mode="thread")
    endpoint = Endpoint(stack, host="127.0.0.1", port=0)
    endpoint.start()
    warnings: list[str] = []
    try:
        yield Env(stack, AwsCalls(stack, endpoint.shared, endpoint.url), "apps", None, tmp_path, warnings.append)  # type: ignore[arg-type]
    finally:
        endpoint.close()
        stack.close()


def _stored(request: Request, made: Any) -> Stored:
    return Stored(request.logical_id, request.type, made.physical_id, request.properties, made.ref, made.attributes)


def test_connection_and_api_destination_resources(env: Env) -> None:
    props = {
        "AuthorizationType": "API_KEY",
        "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "v1"}},
    }
    request = Request("Conn", "AWS::Events::Connection", props, None)
    made = Connection().apply(env, request)
    assert made.ref == made.physical_id and made.physical_id.startswith("apps-Conn-")
    assert ":connection/" in made.attributes["Arn"] and ":secret:events!connection/" in made.attributes["SecretArn"]
    secret = env.aws.call("secretsmanager", "GetSecretValue", {"SecretId": made.attributes["SecretArn"]})
    assert json.loads(secret["SecretString"]) == {"api_key_name": "x-api-key", "api_key_value": "v1"}

    # The same properties again (a restart): nothing new; changed ones: an update of the same connection.
    again = Connection().apply(env, Request("Conn", "AWS::Events::Connection", props, _stored(request, made)))
    assert again.attributes == made.attributes
    changed = {**props, "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "v2"}}}
    updated = Connection().apply(env, Request("Conn", "AWS::Events::Connection", changed, _stored(request, made)))
    assert updated.attributes["Arn"] == made.attributes["Arn"]
    assert (
        json.loads(env.aws.call("secretsmanager", "GetSecretValue", {"SecretId": made.attributes["SecretArn"]})["SecretString"])[
            "api_key_value"
        ]
        == "v2"
    )

    dest_props = {"ConnectionArn": made.attributes["Arn"], "InvocationEndpoint": "https://example.com/*", "HttpMethod": "POST"}
    dest_request = Request("Dest", "AWS::Events::ApiDestination", dest_props, None)
    dest = ApiDestination().apply(env, dest_request)
    assert ":api-destination/" in dest.attributes["Arn"]
    assert dest.attributes["ArnForPolicy"] == dest.attributes["Arn"].rsplit("/", 1)[0]
    described = env.aws.call("events", "DescribeApiDestination", {"Name": dest.physical_id})
    assert (described["InvocationEndpoint"], described["InvocationRateLimitPerSecond"]) == ("https://example.com/*", 300)

    ApiDestination().delete(env, _stored(dest_request, dest))
    Connection().delete(env, _stored(request, made))
    assert env.aws.call("events", "ListApiDestinations", {})["ApiDestinations"] == []
    assert env.aws.call("events", "ListConnections", {})["Connections"] == []
