"""Review 14: HTTP-visible bugs on a real endpoint (scratch)."""

from __future__ import annotations

import base64
import http.client
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    data: Path = tmp_path_factory.mktemp("r14") / "data"
    stack = build_stack(Settings.load(data_dir=data, workers=1, endpoint_port=_port()), invoker_mode="thread")
    stack.start("review14")
    served = Endpoint(stack, host="127.0.0.1", port=stack.settings.endpoint_port)
    served.start()
    try:
        yield served
    finally:
        served.close()
        stack.close()


def _post(endpoint: Endpoint, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", endpoint.port if hasattr(endpoint, "port") else int(endpoint.url.rsplit(":", 1)[1]), timeout=10)
    try:
        conn.putrequest("POST", path)
        for k, v in headers.items():
            conn.putheader(k, v.encode("latin-1"))
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _machine(endpoint: Endpoint) -> tuple[str, str]:
    pools = endpoint.stack.local.user_pools
    pool = pools.create_user_pool("r14")
    pools.create_resource_server(pool["Id"], "api", "api", [{"ScopeName": "read", "ScopeDescription": "r"}])
    client = pools.create_user_pool_client(
        pool["Id"], "m", GenerateSecret=True, AllowedOAuthFlows=["client_credentials"], AllowedOAuthScopes=["api/read"],
        AllowedOAuthFlowsUserPoolClient=True,
    )
    return client["ClientId"], client["ClientSecret"]


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_token_endpoint_non_ascii_basic_header_is_400_invalid_client(endpoint: Endpoint) -> None:
    status, body = _post(endpoint, "/_sluiceway/cognito/oauth2/token", b"grant_type=client_credentials", {**FORM, "Authorization": "Basic \xe9\xe9"})
    assert (status, json.loads(body)) == (400, {"error": "invalid_client"})


def test_token_endpoint_non_ascii_client_secret_is_400_invalid_client(endpoint: Endpoint) -> None:
    client_id, _ = _machine(endpoint)
    form = f"grant_type=client_credentials&client_id={client_id}&client_secret=%C3%A9".encode()
    status, body = _post(endpoint, "/_sluiceway/cognito/oauth2/token", form, FORM)
    assert (status, json.loads(body)) == (400, {"error": "invalid_client"})


def test_unsigned_initiate_auth_with_non_ascii_secret_hash_is_400_not_500(endpoint: Endpoint) -> None:
    pools = endpoint.stack.local.user_pools
    pool = pools.create_user_pool("r14b")
    client = pools.create_user_pool_client(pool["Id"], "c", GenerateSecret=True, ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])
    body = json.dumps({"ClientId": client["ClientId"], "AuthFlow": "USER_PASSWORD_AUTH",
                       "AuthParameters": {"USERNAME": "ann", "PASSWORD": "x", "SECRET_HASH": "\u00e9"}}).encode()
    status, answer = _post(endpoint, "/", body, {"Content-Type": "application/x-amz-json-1.1",
                                                  "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth"})
    assert status == 400, (status, answer)
    assert json.loads(answer)["__type"].endswith("NotAuthorizedException")
