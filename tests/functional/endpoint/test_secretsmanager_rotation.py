"""RotateSecret runs a rotation function's four steps through the stack's invoker, as AWS does."""

from __future__ import annotations

import io
import socket
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

Aws = Callable[..., Any]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


ROLE = "arn:aws:iam::111111111111:role/rotation"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # Functions uploaded through the API run in process mode only.
    data_dir: Path = tmp_path_factory.mktemp("secrets-rotation") / "data"
    built = build_stack(Settings.load(data_dir=data_dir, workers=1, endpoint_port=free_port()), app=None)
    built.start("secrets rotation tests")
    try:
        yield built
    finally:
        built.close()


@pytest.fixture(scope="module")
def sm(aws: Aws) -> Any:
    return aws("secretsmanager")


def _name(prefix: str = "s") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _error(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


ROTATOR = """
import boto3

def handler(event, context):
    sm = boto3.client("secretsmanager")
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    if step == "createSecret":
        current = sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"]
        sm.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=current + "-rotated", VersionStages=["AWSPENDING"])
    elif step == "finishSecret":
        stages = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
        current = next(v for v, labels in stages.items() if "AWSCURRENT" in labels)
        sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=current)
        sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSPENDING", RemoveFromVersionId=token)
    return {"step": step}
"""


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lambda_function.py", source)
    return buffer.getvalue()


def test_rotate_secret_runs_the_functions_four_steps(sm: Any, aws: Aws) -> None:
    lam = aws("lambda")
    function = lam.create_function(
        FunctionName=_name("rotator"), Runtime="python3.12", Role=ROLE, Handler="lambda_function.handler", Code={"ZipFile": _zip(ROTATOR)}
    )
    name = _name()
    v1 = sm.create_secret(Name=name, SecretString="pw")["VersionId"]
    assert _error(lambda: sm.rotate_secret(SecretId=name)) == (
        "InvalidRequestException",
        "No Lambda rotation function ARN is associated with this secret.",
    )
    missing = function["FunctionArn"] + "-missing"
    assert _error(lambda: sm.rotate_secret(SecretId=name, RotationLambdaARN=missing))[0] == "AccessDeniedException"
    assert "RotationEnabled" not in sm.describe_secret(SecretId=name)
    rotated = sm.rotate_secret(SecretId=name, RotationLambdaARN=function["FunctionArn"], RotationRules={"AutomaticallyAfterDays": 1})
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "pw-rotated"
    described = sm.describe_secret(SecretId=name)
    assert described["VersionIdsToStages"] == {v1: ["AWSPREVIOUS"], rotated["VersionId"]: ["AWSCURRENT"]}
    assert described["RotationEnabled"] is True and described["RotationLambdaARN"] == function["FunctionArn"]
    assert described["RotationRules"] == {"AutomaticallyAfterDays": 1} and described["LastRotatedDate"] and described["NextRotationDate"]
    cancelled = sm.cancel_rotate_secret(SecretId=name)
    assert "VersionId" not in cancelled and sm.describe_secret(SecretId=name)["RotationEnabled"] is False
