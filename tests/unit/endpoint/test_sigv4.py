"""Signature checks against requests botocore signed, and the ways a request can fail them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import botocore.session
import pytest
from botocore.awsrequest import AWSPreparedRequest

from sluiceway.endpoint.context import HttpRequest
from sluiceway.endpoint.errors import AwsError
from sluiceway.endpoint.sigv4 import Scope, check_expiry, verify

KEYS = {"AKIDLOCAL": "local-secret"}


class _Stop(Exception):
    pass


def _signed(service: str, operation: str, *, secret: str = "local-secret", **params: Any) -> HttpRequest:
    session = botocore.session.get_session()
    client = session.create_client(
        service,
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:4566",
        aws_access_key_id="AKIDLOCAL",
        aws_secret_access_key=secret,
    )
    captured: list[HttpRequest] = []

    def capture(request: AWSPreparedRequest, **_: Any) -> None:
        parts = urlsplit(request.url)
        if hasattr(request.body, "read"):
            body = request.body.read()
        else:
            body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        headers = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        headers.setdefault("host", parts.netloc)
        captured.append(HttpRequest(request.method, parts.path or "/", parts.query, headers, body))
        raise _Stop

    client.meta.events.register("before-send", capture)
    with pytest.raises(_Stop):
        getattr(client, operation)(**params)
    return captured[0]


@pytest.mark.parametrize(
    ("service", "operation", "params"),
    [
        ("sqs", "send_message", {"QueueUrl": "http://127.0.0.1:4566/1/q", "MessageBody": "héllo wörld"}),
        ("sns", "publish", {"TopicArn": "arn:aws:sns:us-east-1:1:t", "Message": "a b+c"}),
        ("dynamodb", "get_item", {"TableName": "t", "Key": {"pk": {"S": "1"}}}),
        ("s3", "put_object", {"Bucket": "b", "Key": "dir/a file+x.csv", "Body": b"data"}),
        ("s3", "list_objects_v2", {"Bucket": "b", "Prefix": "a/b c", "Delimiter": "/"}),
        ("lambda", "invoke", {"FunctionName": "my-function", "Payload": b"{}"}),
        ("stepfunctions", "list_executions", {"stateMachineArn": "arn:aws:states:us-east-1:1:stateMachine:x"}),
    ],
)
def test_a_request_botocore_signed_verifies(service: str, operation: str, params: dict[str, Any]) -> None:
    request = _signed(service, operation, **params)
    assert verify(request, service, KEYS) == "AKIDLOCAL"


def test_a_wrong_secret_a_tampered_body_and_an_unknown_key_are_refused_with_awss_codes() -> None:
    wrong = _signed("sqs", "list_queues", secret="other")
    with pytest.raises(AwsError) as raised:
        verify(wrong, "sqs", KEYS)
    assert (raised.value.code, raised.value.status) == ("SignatureDoesNotMatch", 403)

    good = _signed("dynamodb", "get_item", TableName="t", Key={"pk": {"S": "1"}})
    tampered = replace(good, body=good.body.replace(b'"1"', b'"2"'))
    with pytest.raises(AwsError, match="does not match"):
        verify(tampered, "dynamodb", KEYS)

    with pytest.raises(AwsError) as raised:
        verify(good, "dynamodb", {"SOMEONEELSE": "x"})
    assert (raised.value.code, raised.value.status) == ("UnrecognizedClientException", 400)


def test_an_expected_scope_refuses_a_signature_for_another_service_or_region() -> None:
    for_lambda = _signed("lambda", "list_functions")
    for_sqs = _signed("sqs", "list_queues")
    assert verify(for_lambda, "lambda", KEYS, scope=Scope("lambda", "us-east-1")) == "AKIDLOCAL"
    # Without one (the endpoint's own paths, which route by the signing name), any scope verifies.
    assert verify(for_sqs, "lambda", KEYS) == "AKIDLOCAL"
    refusals = (
        (for_sqs, Scope("lambda", "us-east-1"), "Credential should be scoped to correct service: 'lambda'."),
        (for_lambda, Scope("lambda", "eu-west-1"), "Credential should be scoped to a valid region, not 'us-east-1'."),
    )
    for request, expected, message in refusals:
        with pytest.raises(AwsError) as raised:
            verify(request, "lambda", KEYS, scope=expected)
        assert (raised.value.code, raised.value.status, raised.value.message) == ("InvalidSignatureException", 403, message)


def test_unsigned_requests_are_refused() -> None:
    with pytest.raises(AwsError) as raised:
        verify(HttpRequest("GET", "/b/k", "", {}), "s3", KEYS)
    assert (raised.value.code, raised.value.status) == ("AccessDenied", 403)
    with pytest.raises(AwsError) as raised:
        verify(HttpRequest("POST", "/", "", {"x-amz-target": "DynamoDB_20120810.ListTables"}), "dynamodb", KEYS)
    assert raised.value.code == "MissingAuthenticationTokenException"


def test_a_stale_signature_is_refused() -> None:
    request = _signed("sqs", "list_queues")
    with pytest.raises(AwsError, match="Signature expired"):
        verify(request, "sqs", KEYS, now=datetime.now(UTC) + timedelta(minutes=16))


@pytest.mark.parametrize("version", ["s3v4", None])  # None: botocore's default for a custom endpoint is SigV2
def test_presigned_urls_verify_and_expire(version: str | None) -> None:
    from botocore.config import Config

    session = botocore.session.get_session()
    s3 = session.create_client(
        "s3",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:4566",
        aws_access_key_id="AKIDLOCAL",
        aws_secret_access_key="local-secret",
        config=Config(signature_version=version) if version else None,
    )
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "some key.csv"}, ExpiresIn=60)
    parts = urlsplit(url)
    request = HttpRequest("GET", parts.path, parts.query, {"host": parts.netloc})
    assert verify(request, "s3", KEYS) == "AKIDLOCAL"
    check_expiry(request, "s3")
    later = datetime.now(UTC) + timedelta(seconds=61)
    with pytest.raises(AwsError) as raised:
        check_expiry(request, "s3", now=later)
    assert (raised.value.code, raised.value.message, raised.value.status) == ("AccessDenied", "Request has expired", 403)
    with pytest.raises(AwsError):
        verify(replace(request, path=parts.path.replace("some", "other")), "s3", KEYS)
