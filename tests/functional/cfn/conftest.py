"""A running template-less stack with its endpoint, a way to deploy templates on it, and boto3 clients."""

from __future__ import annotations

import socket
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sluiceway.cfn.deployer import Deployment, deploy
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
    data_dir: Path = tmp_path_factory.mktemp("cfn") / "data"
    settings = Settings.load(data_dir=data_dir, workers=2, endpoint_port=free_port())
    built = build_stack(settings, app=None)
    built.start("cfn tests")
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
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)

    def client(service: str) -> Any:
        options: dict[str, Any] = {"retries": {"max_attempts": 1}}
        if service == "s3":
            options["s3"] = {"addressing_style": "path"}
        return session.client(service, endpoint_url=endpoint.url, config=Config(**options))

    return client


@pytest.fixture
def app_dir(tmp_path: Path) -> Callable[..., Path]:
    """``app_dir(template_text, files={"src/app.py": "..."})``: an app folder; returns the template's path."""

    def make(template: str, files: dict[str, str] | None = None) -> Path:
        for name, text in (files or {}).items():
            path = tmp_path / "app" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        path = tmp_path / "app" / "template.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(template), encoding="utf-8")
        return path

    return make


@pytest.fixture
def make_stack(endpoint: Endpoint, tmp_path: Path) -> Callable[..., Deployment]:
    warnings: list[str] = []

    def run(template: Path, name: str, overrides: dict[str, str] | None = None) -> Deployment:
        return deploy(endpoint, template, name, overrides or {}, cache_dir=tmp_path / "code-cache", warn=warnings.append)

    return run
