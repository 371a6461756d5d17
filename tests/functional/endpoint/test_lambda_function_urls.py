"""Function URLs made through Lambda's API: served at once, and again after the stack restarts."""

from __future__ import annotations

import io
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

ROLE = "arn:aws:iam::111111111111:role/r"
CODE = """\
def handler(event, context):
    return {"statusCode": 200, "body": event["rawPath"] + "?" + event["rawQueryString"]}
"""


def _package() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("lambda_function.py", CODE)
    return buffer.getvalue()


def _lambda(url: str) -> Any:
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    return session.client("lambda", endpoint_url=url, config=Config(retries={"max_attempts": 1}))


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.read()


def test_a_url_made_through_the_api_survives_a_restart(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "data", workers=1)
    first = build_stack(settings)
    first.start("url restart 1")
    try:
        endpoint = Endpoint(first, host="127.0.0.1", port=0)
        endpoint.start()
        try:
            lam = _lambda(endpoint.url)
            lam.create_function(
                FunctionName="urlfn", Runtime="python3.12", Role=ROLE, Handler="lambda_function.handler", Code={"ZipFile": _package()}
            )
            lam.create_alias(FunctionName="urlfn", Name="live", FunctionVersion="$LATEST")
            made = lam.create_function_url_config(FunctionName="urlfn", AuthType="NONE")
            assert "LastModifiedTime" not in made and "InvokeMode" not in made and "Cors" not in made
            assert made["ResponseMetadata"]["HTTPStatusCode"] == 201
            aliased = lam.create_function_url_config(FunctionName="urlfn", Qualifier="live", AuthType="NONE", InvokeMode="BUFFERED")
            assert aliased["FunctionArn"].endswith(":function:urlfn:live") and aliased["FunctionUrl"] != made["FunctionUrl"]
            assert _get(made["FunctionUrl"] + "a/b?q=1") == (200, b"/a/b?q=1")
            page = lam.list_function_url_configs(FunctionName="urlfn", MaxItems=1)
            assert len(page["FunctionUrlConfigs"]) == 1 and page["NextMarker"]
            rest = lam.list_function_url_configs(FunctionName="urlfn", Marker=page["NextMarker"])
            assert len(rest["FunctionUrlConfigs"]) == 1 and "NextMarker" not in rest
            with pytest.raises(ClientError) as latest:
                lam.get_function_url_config(FunctionName="urlfn", Qualifier="$LATEST")
            assert latest.value.response["Error"]["Code"] == "ValidationException"
            port = endpoint.port
        finally:
            endpoint.close()
    finally:
        first.close()
    second = build_stack(settings)
    second.start("url restart 2")
    try:
        endpoint = Endpoint(second, host="127.0.0.1", port=port)
        endpoint.start()
        try:
            assert _get(made["FunctionUrl"] + "again") == (200, b"/again?")
            assert _get(aliased["FunctionUrl"]) == (200, b"/?")
            kept = _lambda(endpoint.url).get_function_url_config(FunctionName="urlfn")
            assert kept["FunctionUrl"] == made["FunctionUrl"] and kept["CreationTime"] == made["CreationTime"]
            assert kept["AuthType"] == "NONE"
        finally:
            endpoint.close()
    finally:
        second.close()


def test_an_iam_url_serves_requests_signed_with_the_endpoints_keys(tmp_path: Path) -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    stack = build_stack(Settings.load(data_dir=tmp_path / "data", workers=1))
    stack.start("iam url")
    try:
        endpoint = Endpoint(stack, host="127.0.0.1", port=0, require_auth=True, access_keys={"AKIDLOCAL": "s3cret"})
        endpoint.start()
        try:
            session = boto3.session.Session(aws_access_key_id="AKIDLOCAL", aws_secret_access_key="s3cret", region_name="us-east-1")
            lam = session.client("lambda", endpoint_url=endpoint.url, config=Config(retries={"max_attempts": 1}))
            lam.create_function(
                FunctionName="iamfn", Runtime="python3.12", Role=ROLE, Handler="lambda_function.handler", Code={"ZipFile": _package()}
            )
            url = lam.create_function_url_config(FunctionName="iamfn", AuthType="AWS_IAM")["FunctionUrl"] + "p?x=1"
            with pytest.raises(urllib.error.HTTPError) as unsigned:
                _get(url)
            unsigned.value.close()
            assert unsigned.value.code == 403
            for secret, expected in (("wrong", 403), ("s3cret", 200)):
                signed = AWSRequest(method="GET", url=url)
                SigV4Auth(Credentials("AKIDLOCAL", secret), "lambda", "us-east-1").add_auth(signed)
                request = urllib.request.Request(url, headers=dict(signed.headers.items()))
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        status, body = response.status, response.read()
                except urllib.error.HTTPError as error:
                    with error:
                        status, body = error.code, error.read()
                assert status == expected, body
            assert body == b"/p?x=1"
        finally:
            endpoint.close()
    finally:
        stack.close()


def test_a_functions_urls_go_with_it_and_an_aliass_with_the_alias(tmp_path: Path) -> None:
    stack = build_stack(Settings.load(data_dir=tmp_path / "data", workers=1))
    stack.start("url deletion")
    try:
        endpoint = Endpoint(stack, host="127.0.0.1", port=0)
        endpoint.start()
        try:
            lam = _lambda(endpoint.url)
            make = {"Runtime": "python3.12", "Role": ROLE, "Handler": "lambda_function.handler", "Code": {"ZipFile": _package()}}
            lam.create_function(FunctionName="gonefn", **make)
            lam.create_alias(FunctionName="gonefn", Name="live", FunctionVersion="$LATEST")
            aliased = lam.create_function_url_config(FunctionName="gonefn", Qualifier="live", AuthType="NONE")
            plain = lam.create_function_url_config(FunctionName="gonefn", AuthType="NONE")
            lam.delete_alias(FunctionName="gonefn", Name="live")
            assert [u["FunctionUrl"] for u in lam.list_function_url_configs(FunctionName="gonefn")["FunctionUrlConfigs"]] == [
                plain["FunctionUrl"]
            ]
            with pytest.raises(urllib.error.HTTPError) as gone:
                _get(aliased["FunctionUrl"])
            assert gone.value.code == 403
            lam.delete_function(FunctionName="gonefn")
            lam.create_function(FunctionName="gonefn", **make)  # made again: it starts with no URL
            with pytest.raises(ClientError) as missing:
                lam.get_function_url_config(FunctionName="gonefn")
            assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
            with pytest.raises(urllib.error.HTTPError) as gone:
                _get(plain["FunctionUrl"])
            assert gone.value.code == 403
        finally:
            endpoint.close()
    finally:
        stack.close()
