"""An endpoint that requires signatures: fails closed, as AWS does, for every kind of request."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.stack import Stack

KEYS = {"AKIDLOCALTEST": "a-local-secret"}


@pytest.fixture(scope="module")
def signed_only(stack: Stack) -> Iterator[Endpoint]:
    served = Endpoint(stack, host="127.0.0.1", port=0, require_auth=True, access_keys=KEYS)
    served.start()
    try:
        yield served
    finally:
        served.close()


def _client(endpoint: Endpoint, service: str, key: str, secret: str, **config: Any) -> Any:
    session = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name="us-east-1")
    options: dict[str, Any] = {"retries": {"max_attempts": 1}, "s3": {"addressing_style": "path"}, **config}
    return session.client(service, endpoint_url=endpoint.url, config=Config(**options))


def _code(call: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_a_configured_key_works_everywhere(signed_only: Endpoint) -> None:
    key, secret = next(iter(KEYS.items()))
    assert _client(signed_only, "sts", key, secret).get_caller_identity()["Account"]
    assert _client(signed_only, "sqs", key, secret).list_queues()["ResponseMetadata"]["HTTPStatusCode"] == 200
    s3 = _client(signed_only, "s3", key, secret)
    s3.put_object(Bucket="sluiceway-output", Key="auth/ok.txt", Body=b"ok")
    assert s3.get_object(Bucket="sluiceway-output", Key="auth/ok.txt")["Body"].read() == b"ok"
    assert _client(signed_only, "dynamodb", key, secret).list_tables()["TableNames"] is not None


def test_an_unknown_key_or_a_wrong_secret_is_refused(signed_only: Endpoint) -> None:
    assert _code(lambda: _client(signed_only, "sqs", "AKIDSOMEONEELSE", "x").list_queues()) == ("InvalidClientTokenId", 403)
    key = next(iter(KEYS))
    # DynamoDB words it its own way, with a 400.
    assert _code(lambda: _client(signed_only, "dynamodb", key, "wrong").list_tables()) == ("InvalidSignatureException", 400)
    assert _code(lambda: _client(signed_only, "lambda", "AKIDSOMEONEELSE", "x").list_functions()) == ("UnrecognizedClientException", 403)
    code, status = _code(lambda: _client(signed_only, "sns", key, "wrong").list_topics())
    assert (code, status) == ("SignatureDoesNotMatch", 403)
    code, status = _code(lambda: _client(signed_only, "s3", "AKIDSOMEONEELSE", "x").list_buckets())
    assert (code, status) == ("InvalidAccessKeyId", 403)


def test_unsigned_requests_are_refused_whatever_they_look_like(signed_only: Endpoint) -> None:
    base = signed_only.url
    attempts = [
        (urllib.request.Request(f"{base}/sluiceway-output/auth/ok.txt"), 403),
        (urllib.request.Request(f"{base}/", data=b"Action=ListQueues&Version=2012-11-05", method="POST"), 403),
        (
            urllib.request.Request(
                f"{base}/",
                data=b"{}",
                method="POST",
                headers={"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"},
            ),
            400,  # DynamoDB's MissingAuthenticationTokenException is a 400
        ),
        (urllib.request.Request(f"{base}/sluiceway-output/auth/ok.txt", method="HEAD"), 403),
    ]
    for request, status in attempts:
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(request, timeout=10)
        assert raised.value.code == status, request.full_url
        raised.value.close()


def test_presigned_urls_of_a_configured_key_work_and_others_do_not(signed_only: Endpoint) -> None:
    key, secret = next(iter(KEYS.items()))
    s3 = _client(signed_only, "s3", key, secret, signature_version="s3v4")
    s3.put_object(Bucket="sluiceway-output", Key="auth/presigned.txt", Body=b"shared")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "sluiceway-output", "Key": "auth/presigned.txt"}, ExpiresIn=60)
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.read() == b"shared"
    forged = _client(signed_only, "s3", key, "not-the-secret", signature_version="s3v4").generate_presigned_url(
        "get_object", Params={"Bucket": "sluiceway-output", "Key": "auth/presigned.txt"}, ExpiresIn=60
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(forged, timeout=10)
    assert raised.value.code == 403
    raised.value.close()


def test_a_non_ascii_signature_is_a_wrong_one_not_a_crash(signed_only: Endpoint) -> None:
    key, secret = next(iter(KEYS.items()))
    s3 = _client(signed_only, "s3", key, secret, signature_version="s3v4")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "sluiceway-output", "Key": "auth/x.txt"}, ExpiresIn=60)
    forged = url.replace("X-Amz-Signature=", "X-Amz-Signature=%C3%A9")
    # http.client sends header values as Latin-1: the server reads an "é" in the signature.
    header = f"AWS4-HMAC-SHA256 Credential={key}/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature=\u00e9"
    attempts = [
        urllib.request.Request(forged),
        urllib.request.Request(
            f"{signed_only.url}/",
            data=b"Action=ListQueues&Version=2012-11-05",
            method="POST",
            headers={"Authorization": header, "X-Amz-Date": "20260101T000000Z"},
        ),
    ]
    for request in attempts:
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(request, timeout=10)
        assert raised.value.code == 403, request.full_url
        raised.value.close()


def test_the_health_route_answers_without_a_signature(signed_only: Endpoint) -> None:
    # It says only that the stack runs and which services it serves: what a load balancer's probe needs.
    with urllib.request.urlopen(f"{signed_only.url}/_sluiceway/health", timeout=10) as answer:
        assert json.loads(answer.read())["status"] == "running"


def test_a_non_loopback_bind_without_keys_refuses_to_start(stack: Stack) -> None:
    with pytest.raises(ValueError, match="no access key"):
        Endpoint(stack, host="0.0.0.0", port=0)
    with pytest.raises(ValueError, match="no access key"):
        Endpoint(stack, port=0, require_auth=True)
