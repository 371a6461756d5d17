"""Lambda packages and versions through boto3: unreadable zips, deleting one version, and the kept package files."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

ROLE = "arn:aws:iam::111111111111:role/lambda-role"
ARN = "arn:aws:lambda:us-east-1:111111111111:function:"
UNZIP = "Could not unzip uploaded file. Please check your file, then try to upload again."


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("lambda_function.py", source)
    return buffer.getvalue()


ECHO = _zip("def handler(event, context):\n    return event\n" * 20)
DOUBLE = _zip("def handler(event, context):\n    return {'double': event['n'] * 2}\n" * 20)
TRIPLE = _zip("def handler(event, context):\n    return {'triple': event['n'] * 3}\n" * 20)


def _encrypted(data: bytes) -> bytes:
    marked = bytearray(data)
    marked[6] |= 1  # the local header's "encrypted" flag
    central = marked.rfind(b"PK\x01\x02")
    marked[central + 8] |= 1  # and the central directory's
    return bytes(marked)


def _corrupt(data: bytes) -> bytes:
    damaged = bytearray(data)
    start = 30 + len("lambda_function.py")  # the member's compressed data
    for i in range(start, start + 10):
        damaged[i] ^= 0xFF
    return bytes(damaged)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lambda-packages") / "data"


@pytest.fixture(scope="module")
def lam(data_dir: Path) -> Iterator[Any]:
    built = build_stack(Settings.load(data_dir=data_dir, workers=1), invoker_mode="process")
    built.start("lambda package tests")
    served = Endpoint(built, host="127.0.0.1", port=0)
    served.start()
    built.invoker.use_endpoint(served.url)
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    try:
        yield session.client("lambda", endpoint_url=served.url, config=Config(retries={"max_attempts": 1}, read_timeout=60))
    finally:
        served.close()
        built.close()


def _create(lam: Any, name: str, code: bytes = ECHO, **extra: Any) -> dict[str, Any]:
    answer: dict[str, Any] = lam.create_function(
        FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="lambda_function.handler", Code={"ZipFile": code}, **extra
    )
    return answer


def _packages(data_dir: Path) -> set[str]:
    return {path.name for path in (data_dir / "lambda" / "code").iterdir()}


@pytest.mark.parametrize("damage", [_encrypted, _corrupt])
def test_an_unreadable_zip_is_refused_in_lambdas_words(lam: Any, data_dir: Path, damage: Any) -> None:
    before = _packages(data_dir)
    for call in (
        lambda: _create(lam, "pkg-damaged", damage(ECHO)),
        lambda: lam.update_function_code(FunctionName="pkg-kept", ZipFile=damage(DOUBLE)),
    ):
        if "pkg-kept" not in [f["FunctionName"] for f in lam.list_functions()["Functions"]]:
            _create(lam, "pkg-kept")
            before = _packages(data_dir)
        with pytest.raises(ClientError) as excinfo:
            call()
        response = excinfo.value.response
        # One sentence naming no file: not the data dir's copy, which the caller never gave.
        assert response["Error"] == {"Code": "InvalidParameterValueException", "Message": UNZIP}
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert _packages(data_dir) == before  # nothing kept of a refused upload
    with pytest.raises(ClientError):
        lam.get_function(FunctionName="pkg-damaged")


def test_delete_function_with_a_version_deletes_that_version_only(lam: Any) -> None:
    _create(lam, "pkg-versions", Publish=True)
    lam.update_function_code(FunctionName="pkg-versions", ZipFile=DOUBLE, Publish=True)
    lam.update_function_code(FunctionName="pkg-versions", ZipFile=TRIPLE, Publish=True)
    lam.create_alias(FunctionName="pkg-versions", Name="live", FunctionVersion="1")
    lam.create_alias(
        FunctionName="pkg-versions", Name="canary", FunctionVersion="1", RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}}
    )
    for qualifier, message in (
        ("1", "Unable to delete version because the following aliases reference it: [canary, live]"),
        ("2", "Unable to delete version because the following aliases reference it: [canary]"),
    ):
        with pytest.raises(ClientError) as excinfo:
            lam.delete_function(FunctionName="pkg-versions", Qualifier=qualifier)
        assert excinfo.value.response["Error"] == {"Code": "ResourceConflictException", "Message": message}
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    lam.delete_function(FunctionName="pkg-versions", Qualifier="3")
    lam.delete_function(FunctionName=ARN + "pkg-versions:3")  # a version that is not there: no error, as on Lambda
    versions = lam.list_versions_by_function(FunctionName="pkg-versions")["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "2"]
    with pytest.raises(ClientError) as excinfo:
        lam.get_function(FunctionName="pkg-versions", Qualifier="3")
    assert excinfo.value.response["Error"]["Message"] == f"Function not found: {ARN}pkg-versions:3"
    assert lam.get_function(FunctionName="pkg-versions")["Configuration"]["Version"] == "$LATEST"
    assert lam.get_alias(FunctionName="pkg-versions", Name="live")["FunctionVersion"] == "1"


@pytest.mark.parametrize(
    ("qualifier", "message"),
    [
        ("live", "Deletion of aliases is not currently supported."),
        ("no-such-alias", "Deletion of aliases is not currently supported."),
        ("$LATEST", "$LATEST version cannot be deleted without deleting the function."),
    ],
)
def test_delete_function_refuses_an_alias_or_latest(lam: Any, qualifier: str, message: str) -> None:
    if "pkg-refuse" not in [f["FunctionName"] for f in lam.list_functions()["Functions"]]:
        _create(lam, "pkg-refuse", Publish=True)
        lam.create_alias(FunctionName="pkg-refuse", Name="live", FunctionVersion="1")
    with pytest.raises(ClientError) as excinfo:
        lam.delete_function(FunctionName="pkg-refuse", Qualifier=qualifier)
    assert excinfo.value.response["Error"] == {"Code": "InvalidParameterValueException", "Message": message}
    assert lam.get_function(FunctionName="pkg-refuse", Qualifier="live")["Configuration"]["Version"] == "1"


def test_delete_version_of_a_missing_function_names_the_function(lam: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        lam.delete_function(FunctionName="pkg-nothing", Qualifier="1")
    assert excinfo.value.response["Error"]["Message"] == f"Function not found: {ARN}pkg-nothing"


def test_packages_no_function_or_version_uses_are_removed(lam: Any, data_dir: Path) -> None:
    def package(data: bytes) -> str:
        import hashlib

        return hashlib.sha256(data).hexdigest() + ".zip"

    one, two, three = (_zip(f"def handler(event, context):\n    return {n}\n") for n in (1, 2, 3))
    _create(lam, "pkg-files", code=one)
    dry = lam.update_function_code(FunctionName="pkg-files", ZipFile=two, DryRun=True)
    assert dry["CodeSize"] == len(two)
    assert package(two) not in _packages(data_dir)  # a dry run keeps nothing
    lam.update_function_code(FunctionName="pkg-files", ZipFile=two)
    assert package(one) not in _packages(data_dir)  # nothing uses the first package any more
    lam.publish_version(FunctionName="pkg-files")
    lam.update_function_code(FunctionName="pkg-files", ZipFile=three)
    assert {package(two), package(three)} <= _packages(data_dir)  # version 1 still uses the second
    lam.delete_function(FunctionName="pkg-files", Qualifier="1")
    assert package(two) not in _packages(data_dir)
    lam.delete_function(FunctionName="pkg-files")
    assert package(three) not in _packages(data_dir)


def test_an_inline_zip_beyond_the_endpoints_usual_16_mib_reaches_lambda(lam: Any) -> None:
    # Lambda takes requests up to 70167211 bytes (a 50 MB zip, base64 in JSON): a 20 MB package
    # must reach Lambda's own checks, not the 16 MiB limit of the other JSON services.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("lambda_function.py", "def handler(event, context):\n    return {'big': True}\n")
        archive.writestr("padding.bin", bytes(range(256)) * (20 * 1024 * 1024 // 256))
    package = buffer.getvalue()
    assert len(package) > 16 * 1024 * 1024
    made = lam.create_function(
        FunctionName="api-big-package", Runtime="python3.11", Role=ROLE, Handler="lambda_function.handler", Code={"ZipFile": package}
    )
    assert made["CodeSize"] == len(package)


def test_a_request_beyond_lambdas_limit_is_refused_unread_in_lambdas_words(lam: Any) -> None:
    # Refused from its head (the body is never read), as Lambda refuses it: its code, and the
    # operation named for the requests that carry a package.
    import http.client
    from urllib.parse import urlsplit

    where = urlsplit(lam.meta.endpoint_url)
    scope = "Credential=test/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0"
    for method, path, named in (
        ("POST", "/2015-03-31/functions", " for the CreateFunction operation"),
        ("PUT", "/2015-03-31/functions/api-any/code", " for the UpdateFunctionCode operation"),
    ):
        connection = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
        connection.putrequest(method, path)
        connection.putheader("Authorization", f"AWS4-HMAC-SHA256 {scope}")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", "70167212")
        connection.endheaders()
        answer = connection.getresponse()
        body = answer.read().decode()
        connection.close()
        assert answer.status == 413
        assert answer.getheader("x-amzn-ErrorType", "").startswith("RequestEntityTooLargeException")
        assert f"Request must be smaller than 70167211 bytes{named}" in body
