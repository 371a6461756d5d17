"""RotateSecret runs a rotation function's four steps through the stack's invoker, after answering, as AWS does."""

from __future__ import annotations

import io
import socket
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.backends.local.secrets import SqliteSecrets
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
import os, time
import boto3

def handler(event, context):
    sm = boto3.client("secretsmanager")
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    with open(os.environ.get("STEP_LOG", os.devnull), "a") as log:
        log.write(step + " " + token + "\\n")
    description = sm.describe_secret(SecretId=arn).get("Description", "")
    if description.startswith("gate:"):
        deadline = time.monotonic() + 30
        while not os.path.exists(description[5:]) and time.monotonic() < deadline:
            time.sleep(0.02)
    if step == "setSecret" and description == "fail":
        raise RuntimeError("the service refused the new password")
    if step == "testSecret":
        sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
    if step == "createSecret":
        current = sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"]
        try:
            sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
        except sm.exceptions.ResourceNotFoundException:
            sm.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=current + "-rotated", VersionStages=["AWSPENDING"])
    elif step == "finishSecret":
        stages = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
        current = next(v for v, labels in stages.items() if "AWSCURRENT" in labels)
        sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token, RemoveFromVersionId=current)
        sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSPENDING", RemoveFromVersionId=token)
    return {"step": step}
"""


def _until(done: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Poll until ``done()``: the rotation runs after RotateSecret has answered."""
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


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
    _until(lambda: sm.get_secret_value(SecretId=name)["SecretString"] == "pw-rotated")
    _until(lambda: "LastRotatedDate" in sm.describe_secret(SecretId=name))
    described = sm.describe_secret(SecretId=name)
    assert described["VersionIdsToStages"] == {v1: ["AWSPREVIOUS"], rotated["VersionId"]: ["AWSCURRENT"]}
    assert described["RotationEnabled"] is True and described["RotationLambdaARN"] == function["FunctionArn"]
    assert described["RotationRules"] == {"AutomaticallyAfterDays": 1} and described["LastRotatedDate"] and described["NextRotationDate"]
    cancelled = sm.cancel_rotate_secret(SecretId=name)
    assert "VersionId" not in cancelled and sm.describe_secret(SecretId=name)["RotationEnabled"] is False


@pytest.fixture(scope="module")
def rotator(aws: Aws, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    log = tmp_path_factory.mktemp("rotation-steps") / "steps.log"
    log.touch()
    made = aws("lambda").create_function(
        FunctionName=_name("rotator"),
        Runtime="python3.12",
        Role=ROLE,
        Handler="lambda_function.handler",
        Code={"ZipFile": _zip(ROTATOR)},
        Environment={"Variables": {"STEP_LOG": str(log)}},
    )
    return str(made["FunctionArn"]), log


def _steps(log: Path, token: str) -> list[str]:
    return [line.split()[0] for line in log.read_text().splitlines() if line.endswith(" " + token)]


def _idle(stack: Stack, arn: str) -> Callable[[], bool]:
    store = SqliteSecrets(stack.local.db, stack.local.clock, account_id=stack.settings.account_id)
    return lambda: store.rotation_token(arn) is None


def test_a_rotation_under_way_refuses_another_and_answers_its_own_repeat(
    sm: Any, rotator: tuple[str, Path], stack: Stack, tmp_path: Path
) -> None:
    function, log = rotator
    gate = tmp_path / "gate"
    name = _name()
    made = sm.create_secret(Name=name, SecretString="pw", Description=f"gate:{gate}")
    token = str(uuid.uuid4())
    first = sm.rotate_secret(SecretId=name, RotationLambdaARN=function, ClientRequestToken=token)
    assert first["VersionId"] == token  # answered while the first step waits at the gate
    # A client's retry (same token) gets the same answer and starts nothing; another rotation is refused.
    again = sm.rotate_secret(SecretId=name, ClientRequestToken=token)
    assert (again["ARN"], again["VersionId"]) == (made["ARN"], token)
    assert _error(lambda: sm.rotate_secret(SecretId=name, ClientRequestToken=str(uuid.uuid4()))) == (
        "InvalidRequestException",
        "A previous rotation isn't complete. That rotation will be reattempted.",
    )
    gate.touch()
    _until(_idle(stack, made["ARN"]))
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "pw-rotated"
    assert _steps(log, token) == ["createSecret", "setSecret", "testSecret", "finishSecret"]
    assert len(sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]) == 2


def test_a_failed_step_leaves_the_rotation_to_be_reattempted(sm: Any, rotator: tuple[str, Path], stack: Stack) -> None:
    function, log = rotator
    name = _name()
    made = sm.create_secret(Name=name, SecretString="pw", Description="fail")
    v1 = made["VersionId"]
    token = sm.rotate_secret(SecretId=name, RotationLambdaARN=function)["VersionId"]
    _until(_idle(stack, made["ARN"]))
    assert _steps(log, token) == ["createSecret", "setSecret"]
    assert sm.describe_secret(SecretId=name)["VersionIdsToStages"] == {v1: ["AWSCURRENT"], token: ["AWSPENDING"]}
    assert "LastRotatedDate" not in sm.describe_secret(SecretId=name)
    # The next RotateSecret is refused, and the unfinished rotation runs again under its own token.
    sm.update_secret(SecretId=name, Description="fixed")
    assert _error(lambda: sm.rotate_secret(SecretId=name))[1] == "A previous rotation isn't complete. That rotation will be reattempted."
    _until(_idle(stack, made["ARN"]))
    assert sm.get_secret_value(SecretId=name)["VersionId"] == token
    assert _steps(log, token) == ["createSecret", "setSecret", "createSecret", "setSecret", "testSecret", "finishSecret"]


def test_rotate_immediately_false_runs_only_the_test_step_on_a_pending_copy(sm: Any, rotator: tuple[str, Path], stack: Stack) -> None:
    function, log = rotator
    name = _name()
    made = sm.create_secret(Name=name, SecretString="pw")
    token = sm.rotate_secret(SecretId=name, RotationLambdaARN=function, RotateImmediately=False)["VersionId"]
    _until(_idle(stack, made["ARN"]))
    assert _steps(log, token) == ["testSecret"]
    stages = {v["VersionId"]: v.get("VersionStages") for v in sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]}
    assert stages == {made["VersionId"]: ["AWSCURRENT"], token: None}
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "pw"
    assert sm.describe_secret(SecretId=name)["RotationEnabled"] is True
