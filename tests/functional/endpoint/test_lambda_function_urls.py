"""Function URLs made through Lambda's API: served at once, and again after the stack restarts."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sluiceway.endpoint.lambda_urls import local_function_url
from sluiceway.endpoint.lambda_urls.responses import FORBIDDEN
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


def _url_id(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


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
        finally:
            endpoint.close()
    finally:
        first.close()
    second = build_stack(settings)
    second.start("url restart 2")
    try:
        # A new port: the URL is the same id under whichever endpoint serves it.
        endpoint = Endpoint(second, host="127.0.0.1", port=0)
        endpoint.start()
        try:
            plain_url, aliased_url = (local_function_url(endpoint.url, _url_id(u["FunctionUrl"])) for u in (made, aliased))
            assert _get(plain_url + "again") == (200, b"/again?")
            assert _get(aliased_url) == (200, b"/?")
            kept = _lambda(endpoint.url).get_function_url_config(FunctionName="urlfn")
            assert kept["FunctionUrl"] == plain_url and kept["CreationTime"] == made["CreationTime"]
            assert kept["AuthType"] == "NONE" and kept["InvokeMode"] == "BUFFERED"  # Lambda's default, reported once read
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
            # A URL takes only a signature made for Lambda in the stack's region: one scoped to another
            # service or region is refused as a wrong key is (the endpoint's own paths would route it).
            attempts = (
                ("wrong", "lambda", "us-east-1", 403),
                ("s3cret", "s3", "us-east-1", 403),
                ("s3cret", "execute-api", "us-east-1", 403),
                ("s3cret", "lambda", "eu-west-1", 403),
                ("s3cret", "lambda", "us-east-1", 200),
            )
            for secret, signing_name, region, expected in attempts:
                signed = AWSRequest(method="GET", url=url)
                SigV4Auth(Credentials("AKIDLOCAL", secret), signing_name, region).add_auth(signed)
                request = urllib.request.Request(url, headers=dict(signed.headers.items()))
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        status, body = response.status, response.read()
                except urllib.error.HTTPError as error:
                    with error:
                        status, body = error.code, error.read()
                assert status == expected, (signing_name, region, body)
                if expected == 403:
                    assert json.loads(body) == {"Message": FORBIDDEN}
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
            gone.value.close()
            assert gone.value.code == 403
            lam.delete_function(FunctionName="gonefn")
            lam.create_function(FunctionName="gonefn", **make)  # made again: it starts with no URL
            with pytest.raises(ClientError) as missing:
                lam.get_function_url_config(FunctionName="gonefn")
            assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
            with pytest.raises(urllib.error.HTTPError) as gone:
                _get(plain["FunctionUrl"])
            gone.value.close()
            assert gone.value.code == 403
        finally:
            endpoint.close()
    finally:
        stack.close()


def test_the_url_operations_answer_as_lambda_does(tmp_path: Path) -> None:
    stack = build_stack(Settings.load(data_dir=tmp_path / "data", workers=1))
    stack.start("url operations")
    try:
        endpoint = Endpoint(stack, host="127.0.0.1", port=0)
        endpoint.start()
        try:
            session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
            # Unchecked by the client: the endpoint's own limits are what is tested.
            lam = session.client(
                "lambda", endpoint_url=endpoint.url, config=Config(retries={"max_attempts": 1}, parameter_validation=False)
            )
            lam.create_function(
                FunctionName="opsfn", Runtime="python3.12", Role=ROLE, Handler="lambda_function.handler", Code={"ZipFile": _package()}
            )

            def error(call: Any, **params: Any) -> tuple[int, str, str]:
                with pytest.raises(ClientError) as refused:
                    call(**params)
                answer = refused.value.response
                return answer["ResponseMetadata"]["HTTPStatusCode"], answer["Error"]["Code"], answer["Error"]["Message"]

            # Update names a missing function or alias as Create does; Get and Delete as a missing URL (recorded).
            no_function = (404, "ResourceNotFoundException", "Function does not exist")
            no_url = (404, "ResourceNotFoundException", "The resource you requested does not exist.")
            assert error(lam.update_function_url_config, FunctionName="nosuchfn", AuthType="NONE") == no_function
            assert error(lam.update_function_url_config, FunctionName="opsfn", Qualifier="nosuchalias", AuthType="NONE") == no_function
            assert error(lam.update_function_url_config, FunctionName="opsfn", AuthType="NONE") == no_url
            assert error(lam.get_function_url_config, FunctionName="nosuchfn") == no_url
            assert error(lam.delete_function_url_config, FunctionName="opsfn", Qualifier="nosuchalias") == no_url

            methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "*"]
            assert error(lam.create_function_url_config, FunctionName="opsfn", AuthType="NONE", Cors={"AllowMethods": methods}) == (
                400,
                "ValidationException",
                "1 validation error detected: Value '[GET, POST, PUT, PATCH, DELETE, HEAD, *]' at 'cors.allowMethods'"
                " failed to satisfy constraint: Member must have length less than or equal to 6",
            )
            too_long = {"AllowMethods": ["OPTIONSX"], "AllowOrigins": [""], "MaxAge": -1}
            assert error(lam.create_function_url_config, FunctionName="opsfn", AuthType="NONE", Cors=too_long)[2] == (
                "3 validation errors detected: Value '[OPTIONSX]' at 'cors.allowMethods' failed to satisfy constraint:"
                " Member must satisfy constraint: [Member must have length less than or equal to 6,"
                " Member must have length greater than or equal to 0, Member must satisfy regular expression pattern: .*];"
                " Value '[]' at 'cors.allowOrigins' failed to satisfy constraint: Member must satisfy constraint:"
                " [Member must have length less than or equal to 253, Member must have length greater than or equal to 1,"
                " Member must satisfy regular expression pattern: .*];"
                " Value '-1' at 'cors.maxAge' failed to satisfy constraint: Member must have value greater than or equal to 0"
            )
            made = lam.create_function_url_config(FunctionName="opsfn", AuthType="NONE", Cors={"AllowOrigins": ["x" * 253]})
            assert "InvokeMode" not in made  # Create reports only what was given
            updated = lam.update_function_url_config(FunctionName="opsfn", AuthType="AWS_IAM")
            assert "InvokeMode" not in updated  # and so does Update (recorded)
            listed = lam.list_function_url_configs(FunctionName="opsfn")["FunctionUrlConfigs"]
            assert [u["InvokeMode"] for u in listed] == ["BUFFERED"]
            assert lam.get_function_url_config(FunctionName="opsfn")["InvokeMode"] == "BUFFERED"

            bad_marker = (400, "InvalidParameterValueException", "Invalid Marker")
            for marker in ("!!!", "JExBVEVTVA", "bGl2ZQo="):  # not base64; unpadded; a qualifier with a newline
                assert error(lam.list_function_url_configs, FunctionName="opsfn", Marker=marker) == bad_marker
        finally:
            endpoint.close()
    finally:
        stack.close()
