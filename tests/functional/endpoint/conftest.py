"""An endpoint on a running local stack, and boto3 clients that talk to it.

One stack and endpoint per test module (starting them costs about a second); tests
give their resources names of their own, so they do not see each other's.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

REGION = "us-east-1"


def free_port() -> int:
    """A free port now (the stack's functions are told it before the endpoint binds it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir: Path = tmp_path_factory.mktemp("endpoint") / "data"
    settings = Settings.load(data_dir=data_dir, workers=2, endpoint_port=free_port())
    built = build_stack(settings, invoker_mode="thread")
    built.start("endpoint tests")
    try:
        yield built
    finally:
        built.close()


@pytest.fixture(scope="module")
def endpoint(stack: Stack) -> Iterator[Endpoint]:
    served = Endpoint(stack, host="127.0.0.1", port=stack.settings.endpoint_port)
    served.start()
    try:
        yield served
    finally:
        served.close()


@pytest.fixture(scope="module")
def aws(endpoint: Endpoint) -> Callable[..., Any]:
    """``aws("sqs")`` is a boto3 client of the endpoint (path-style S3, dummy credentials)."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)

    def client(service: str, **config: Any) -> Any:
        options: dict[str, Any] = {"retries": {"max_attempts": 1}}
        if service == "s3":
            options["s3"] = {"addressing_style": config.pop("addressing_style", "path")}
        return session.client(service, endpoint_url=endpoint.url, config=Config(**options, **config))

    return client
