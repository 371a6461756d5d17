"""A running stack and endpoint serving the management API, its default pool's users and their tokens."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from management_api_helpers import API, Pool

from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir: Path = tmp_path_factory.mktemp("api") / "data"
    settings = Settings.load(data_dir=data_dir, workers=2, endpoint_port=free_port())
    built = build_stack(settings, app=None)
    built.start("management api tests")
    try:
        yield built
    finally:
        built.close()


def _serves_the_api(endpoint: Endpoint) -> bool:
    return httpx.get(f"{endpoint.url}{API}/openapi.json", timeout=30).status_code == 200


@pytest.fixture(scope="module")
def endpoint(stack: Stack) -> Iterator[Endpoint]:
    served = Endpoint(stack, host="127.0.0.1", port=stack.settings.endpoint_port)
    served.start()
    try:
        assert _serves_the_api(served)
        yield served
    finally:
        served.close()


@pytest.fixture(scope="module")
def aws(endpoint: Endpoint) -> Callable[..., Any]:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)

    def client(service: str) -> Any:
        options: dict[str, Any] = {"retries": {"max_attempts": 1}}
        if service == "s3":
            options["s3"] = {"addressing_style": "path"}
        return session.client(service, endpoint_url=endpoint.url, config=Config(**options))

    return client


@pytest.fixture(scope="module")
def pool(stack: Stack) -> Pool:
    default = stack.local.user_pools.default_pool()
    return Pool(default.pool_id, default.client_id)
