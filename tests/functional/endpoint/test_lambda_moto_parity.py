"""Lambda functions made through the API with boto3: CreateFunction from a zip, updates, versions, delete, and a restart."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

ROLE = "arn:aws:iam::111111111111:role/lambda-role"
ARN = "arn:aws:lambda:us-east-1:111111111111:function:"


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lambda_function.py", source)
    return buffer.getvalue()


ECHO = _zip("import os\ndef handler(event, context):\n    return {'echo': event, 'stage': os.environ.get('STAGE')}\n")
DOUBLE = _zip("def handler(event, context):\n    return {'double': event['n'] * 2}\n")


def _sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _start(data_dir: Path) -> tuple[Stack, Endpoint]:
    built = build_stack(Settings.load(data_dir=data_dir, workers=1), invoker_mode="process")
    built.start("lambda api tests")
    served = Endpoint(built, host="127.0.0.1", port=0)
    served.start()
    built.invoker.use_endpoint(served.url)
    return built, served


def _client(endpoint: Endpoint) -> Any:
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    return session.client("lambda", endpoint_url=endpoint.url, config=Config(retries={"max_attempts": 1}, read_timeout=60))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lambda-api") / "data"


@pytest.fixture(scope="module")
def lam(data_dir: Path) -> Iterator[Any]:
    built, served = _start(data_dir)
    try:
        yield _client(served)
    finally:
        served.close()
        built.close()


def _create(lam: Any, name: str, code: bytes = ECHO, **extra: Any) -> dict[str, Any]:
    answer: dict[str, Any] = lam.create_function(
        FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="lambda_function.handler", Code={"ZipFile": code}, **extra
    )
    return answer


def _invoke(lam: Any, name: str, payload: Any, **extra: Any) -> Any:
    answer = lam.invoke(FunctionName=name, Payload=json.dumps(payload), **extra)
    assert "FunctionError" not in answer, answer["Payload"].read()
    return json.loads(answer["Payload"].read())


def test_create_describe_and_invoke(lam: Any) -> None:
    created = _create(lam, "api-echo", Description="echoes", Timeout=10, MemorySize=256, Environment={"Variables": {"STAGE": "dev"}})
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    # Lambda answers a creation with Pending; the next read says Active (what waiters poll for).
    assert (created["State"], created["StateReasonCode"]) == ("Pending", "Creating")
    assert created["FunctionArn"] == ARN + "api-echo"
    assert created["CodeSha256"] == _sha(ECHO)
    assert created["CodeSize"] == len(ECHO)
    assert created["Version"] == "$LATEST"
    assert created["Role"] == ROLE
    assert (created["Runtime"], created["Handler"], created["Description"]) == ("python3.12", "lambda_function.handler", "echoes")
    assert (created["Timeout"], created["MemorySize"]) == (10, 256)
    assert created["Environment"] == {"Variables": {"STAGE": "dev"}}
    assert created["PackageType"] == "Zip"
    assert created["Architectures"] == ["x86_64"]
    got = lam.get_function(FunctionName="api-echo")
    assert got["Configuration"]["State"] == "Active"
    assert got["Configuration"]["LastUpdateStatus"] == "Successful"
    assert got["Configuration"]["RevisionId"] == created["RevisionId"]
    assert _invoke(lam, "api-echo", {"a": 1}) == {"echo": {"a": 1}, "stage": "dev"}
    assert "api-echo" in [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    qualified = lam.get_function_configuration(FunctionName="api-echo", Qualifier="$LATEST")
    assert qualified["FunctionArn"] == ARN + "api-echo:$LATEST"


def test_create_refuses_a_second_function_of_the_same_name(lam: Any) -> None:
    _create(lam, "api-twice")
    with pytest.raises(ClientError) as excinfo:
        _create(lam, "api-twice")
    assert excinfo.value.response["Error"] == {"Code": "ResourceConflictException", "Message": "Function already exist: api-twice"}
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        (
            {"Architectures": ["foo"]},
            "ValidationException",
            "1 validation error detected: Value '[foo]' at 'architectures' failed to satisfy constraint: Member must satisfy"
            " constraint: [Member must satisfy enum value set: [x86_64, arm64], Member must not be null]",
        ),
        (
            {"EphemeralStorage": {"Size": 3_000_000}},
            "ValidationException",
            "1 validation error detected: Value '3000000' at 'ephemeralStorage.size' failed to satisfy constraint:"
            " Member must have value less than or equal to 10240",
        ),
        (
            {"Role": "r1"},
            "ValidationException",
            "1 validation error detected: Value 'r1' at 'role' failed to satisfy constraint: Member must satisfy regular expression"
            r" pattern: arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+",
        ),
    ],
)
def test_create_checks_the_configuration(lam: Any, extra: dict[str, Any], code: str, message: str) -> None:
    arguments: dict[str, Any] = {"Runtime": "python3.12", "Role": ROLE, "Handler": "lambda_function.handler", **extra}
    with pytest.raises(ClientError) as excinfo:
        lam.create_function(FunctionName="api-invalid", Code={"ZipFile": ECHO}, **arguments)
    assert excinfo.value.response["Error"]["Code"] == code
    assert excinfo.value.response["Error"]["Message"] == message


def test_an_unknown_runtime_is_refused_in_lambdas_words(lam: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        lam.create_function(FunctionName="api-runtime", Runtime="PYTHON3.9", Role=ROLE, Handler="h.h", Code={"ZipFile": ECHO})
    error = excinfo.value.response["Error"]
    assert error["Code"] == "InvalidParameterValueException"
    assert error["Message"].startswith("Value PYTHON3.9 at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [")
    assert error["Message"].endswith("] or be a valid ARN")


def test_updates_take_effect_on_the_next_invocation(lam: Any) -> None:
    _create(lam, "api-update")
    updated = lam.update_function_code(FunctionName="api-update", ZipFile=DOUBLE)
    assert updated["CodeSha256"] == _sha(DOUBLE)
    assert updated["LastUpdateStatus"] == "InProgress"
    assert _invoke(lam, "api-update", {"n": 21}) == {"double": 42}
    lam.update_function_code(FunctionName="api-update", ZipFile=ECHO)
    configured = lam.update_function_configuration(FunctionName="api-update", Environment={"Variables": {"STAGE": "prod"}}, Timeout=5)
    assert configured["Timeout"] == 5
    assert _invoke(lam, "api-update", {}) == {"echo": {}, "stage": "prod"}
    with pytest.raises(ClientError) as excinfo:
        lam.update_function_configuration(FunctionName="api-update", Timeout=6, RevisionId="not-the-revision")
    assert excinfo.value.response["Error"]["Code"] == "PreconditionFailedException"


def test_versions_are_published_once_per_change(lam: Any) -> None:
    _create(lam, "api-versions")
    first = lam.publish_version(FunctionName="api-versions")
    assert (first["Version"], first["FunctionArn"]) == ("1", ARN + "api-versions:1")
    assert lam.publish_version(FunctionName="api-versions")["Version"] == "1"  # nothing changed since
    lam.update_function_code(FunctionName="api-versions", ZipFile=DOUBLE)
    assert lam.publish_version(FunctionName="api-versions")["Version"] == "2"
    versions = lam.list_versions_by_function(FunctionName="api-versions")["Versions"]
    assert [(v["Version"], v["FunctionArn"]) for v in versions] == [
        ("$LATEST", ARN + "api-versions:$LATEST"),
        ("1", ARN + "api-versions:1"),
        ("2", ARN + "api-versions:2"),
    ]
    assert versions[1]["CodeSha256"] == _sha(ECHO)
    assert lam.get_function(FunctionName="api-versions", Qualifier="1")["Configuration"]["Version"] == "1"
    with pytest.raises(ClientError) as excinfo:
        lam.get_function(FunctionName="api-versions", Qualifier="3")
    assert excinfo.value.response["Error"]["Message"] == f"Function not found: {ARN}api-versions:3"


def test_delete_removes_the_function(lam: Any) -> None:
    _create(lam, "api-delete")
    lam.delete_function(FunctionName="api-delete")
    with pytest.raises(ClientError) as excinfo:
        lam.get_function(FunctionName="api-delete")
    assert excinfo.value.response["Error"]["Message"] == f"Function not found: {ARN}api-delete"
    with pytest.raises(ClientError) as excinfo:
        lam.delete_function(FunctionName="api-delete")
    assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_functions_survive_a_restart(tmp_path: Path) -> None:
    built, served = _start(tmp_path / "data")
    try:
        _create(_client(served), "api-durable", code=DOUBLE)
    finally:
        served.close()
        built.close()
    built, served = _start(tmp_path / "data")
    try:
        # Registered again when the endpoint is made, before any Lambda request: what an S3
        # notification or a rule invokes finds it.
        assert "api-durable" in built.invoker.functions
        again = _client(served)
        assert _invoke(again, "api-durable", {"n": 2}) == {"double": 4}
        assert again.get_function(FunctionName="api-durable")["Configuration"]["CodeSha256"] == _sha(DOUBLE)
    finally:
        served.close()
        built.close()


def test_tags_are_kept_on_the_function(lam: Any) -> None:
    arn = _create(lam, "api-tags", Tags={"team": "data"})["FunctionArn"]
    lam.tag_resource(Resource=arn, Tags={"env": "dev"})
    lam.untag_resource(Resource=arn, TagKeys=["team"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"env": "dev"}
    assert lam.get_function(FunctionName="api-tags")["Tags"] == {"env": "dev"}
    with pytest.raises(ClientError) as excinfo:
        lam.tag_resource(Resource=arn + ":1", Tags={"a": "b"})
    assert excinfo.value.response["Error"] == {
        "Code": "InvalidParameterValueException",
        "Message": "Tags on function aliases and versions are not supported. Please specify a function ARN.",
    }


def test_reserved_concurrency_is_kept_and_enforced(lam: Any) -> None:
    _create(lam, "api-concurrency")
    assert lam.get_function_concurrency(FunctionName="api-concurrency").get("ReservedConcurrentExecutions") is None
    assert lam.put_function_concurrency(FunctionName="api-concurrency", ReservedConcurrentExecutions=0)["ReservedConcurrentExecutions"] == 0
    assert lam.get_function(FunctionName="api-concurrency")["Concurrency"] == {"ReservedConcurrentExecutions": 0}
    # No concurrency at all: every invocation is throttled, as on Lambda.
    with pytest.raises(ClientError) as excinfo:
        lam.invoke(FunctionName="api-concurrency", Payload=b"{}")
    assert excinfo.value.response["Error"]["Code"] == "TooManyRequestsException"
    lam.delete_function_concurrency(FunctionName="api-concurrency")
    assert _invoke(lam, "api-concurrency", {"x": 1})["echo"] == {"x": 1}
    with pytest.raises(ClientError) as excinfo:
        lam.put_function_concurrency(FunctionName="api-concurrency", ReservedConcurrentExecutions=901)
    assert excinfo.value.response["Error"]["Message"] == (
        "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution"
        " below its minimum value of [100]."
    )


def test_aliases_name_published_versions(lam: Any) -> None:
    _create(lam, "api-alias", Publish=True)
    alias = lam.create_alias(FunctionName="api-alias", Name="live", FunctionVersion="1", Description="prod")
    assert alias["AliasArn"] == ARN + "api-alias:live"
    assert (alias["FunctionVersion"], alias["Description"]) == ("1", "prod")
    assert _invoke(lam, "api-alias", {"via": "alias"}, Qualifier="live")["echo"] == {"via": "alias"}
    with pytest.raises(ClientError) as excinfo:
        lam.create_alias(FunctionName="api-alias", Name="live", FunctionVersion="1")
    assert excinfo.value.response["Error"]["Message"] == f"Alias already exists: {ARN}api-alias:live"
    with pytest.raises(ClientError) as excinfo:
        lam.create_alias(FunctionName="api-alias", Name="next", FunctionVersion="7")
    assert excinfo.value.response["Error"]["Message"] == f"Function not found: {ARN}api-alias:7"
    updated = lam.update_alias(FunctionName="api-alias", Name="live", FunctionVersion="$LATEST")
    assert updated["FunctionVersion"] == "$LATEST" and updated["RevisionId"] != alias["RevisionId"]
    assert [a["Name"] for a in lam.list_aliases(FunctionName="api-alias")["Aliases"]] == ["live"]
    lam.delete_alias(FunctionName="api-alias", Name="live")
    with pytest.raises(ClientError) as excinfo:
        lam.get_alias(FunctionName="api-alias", Name="live")
    assert excinfo.value.response["Error"]["Message"] == f"Cannot find alias arn: {ARN}api-alias:live"


def test_resource_policy_statements(lam: Any) -> None:
    _create(lam, "api-policy")
    with pytest.raises(ClientError) as excinfo:
        lam.get_policy(FunctionName="api-policy")
    assert excinfo.value.response["Error"]["Message"] == "The resource you requested does not exist."
    with pytest.raises(ClientError) as excinfo:
        lam.remove_permission(FunctionName="api-policy", StatementId="any")
    assert excinfo.value.response["Error"]["Message"] == "No policy is associated with the given resource."
    with pytest.raises(ClientError) as excinfo:
        lam.remove_permission(FunctionName="api-no-such-function", StatementId="any")
    assert excinfo.value.response["Error"]["Message"] == f"No policy found for: {ARN}api-no-such-function"
    added = lam.add_permission(
        FunctionName="api-policy",
        StatementId="s3-invoke",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::incoming",
        SourceAccount="111111111111",
    )
    statement = json.loads(added["Statement"])
    assert statement == {
        "Sid": "s3-invoke",
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": ARN + "api-policy",
        "Condition": {"StringEquals": {"AWS:SourceAccount": "111111111111"}, "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::incoming"}},
    }
    policy = json.loads(lam.get_policy(FunctionName="api-policy")["Policy"])
    assert policy["Statement"] == [statement]
    with pytest.raises(ClientError) as excinfo:
        lam.add_permission(FunctionName="api-policy", StatementId="s3-invoke", Action="lambda:InvokeFunction", Principal="*")
    assert excinfo.value.response["Error"]["Code"] == "ResourceConflictException"
    with pytest.raises(ClientError) as excinfo:
        lam.remove_permission(FunctionName="api-policy", StatementId="other")
    assert excinfo.value.response["Error"]["Message"] == "Statement other is not found in resource policy."
    lam.remove_permission(FunctionName="api-policy", StatementId="s3-invoke")
    with pytest.raises(ClientError):
        lam.get_policy(FunctionName="api-policy")


def test_routing_config_and_get_policy_of_a_missing_function(lam: Any) -> None:
    _create(lam, "api-routing", Publish=True)
    lam.update_function_code(FunctionName="api-routing", ZipFile=DOUBLE, Publish=True)
    alias = lam.create_alias(
        FunctionName="api-routing", Name="canary", FunctionVersion="1", RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}}
    )
    assert alias["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.5}}
    with pytest.raises(ClientError) as excinfo:
        lam.get_policy(FunctionName="api-no-such-function")
    assert excinfo.value.response["Error"]["Message"] == "The resource you requested does not exist."


def test_get_function_through_an_alias_shows_its_version_under_the_alias_arn(lam: Any) -> None:
    _create(lam, "api-alias-view", Publish=True)
    lam.update_function_code(FunctionName="api-alias-view", ZipFile=DOUBLE, Publish=True)
    lam.create_alias(FunctionName="api-alias-view", Name="stable", FunctionVersion="1")
    for reference, qualifier in (("api-alias-view", "stable"), (ARN + "api-alias-view:stable", None)):
        arguments = {"FunctionName": reference, **({"Qualifier": qualifier} if qualifier else {})}
        shown = lam.get_function(**arguments)["Configuration"]
        assert shown["FunctionArn"] == ARN + "api-alias-view:stable"
        assert (shown["Version"], shown["CodeSha256"]) == ("1", _sha(ECHO))
