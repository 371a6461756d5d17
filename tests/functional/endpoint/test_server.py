"""The HTTP side of the endpoint: hostile or odd requests, connections, and a stop."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.stack import Stack

KEYS = {"AKIDSERVERTEST": "server-secret"}
CREDENTIALS = Credentials("AKIDSERVERTEST", "server-secret")
LIST_TABLES = {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"}


@pytest.fixture
def signed_only(stack: Stack) -> Iterator[Endpoint]:
    served = Endpoint(stack, port=0, require_auth=True, access_keys=KEYS)
    served.start()
    try:
        yield served
    finally:
        served.close()


def _raw(endpoint: Endpoint, head: bytes, body: bytes = b"") -> bytes:
    with socket.create_connection(("127.0.0.1", endpoint.port), timeout=10) as conn:
        conn.sendall(head + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n", 1)[0]


@pytest.mark.parametrize("length", ["-1", "abc", "1e3"])
def test_a_content_length_that_is_not_a_whole_number_is_refused_at_once(endpoint: Endpoint, length: str) -> None:
    head = f"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Length: {length}\r\n\r\n"
    status = _raw(endpoint, head.encode())
    assert status == b"HTTP/1.1 400 Bad Request"


def test_a_body_larger_than_the_service_takes_is_refused_before_it_is_sent(endpoint: Endpoint) -> None:
    # Only the headers go: an endpoint that waited for the 300 MB body would never answer.
    head = b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Length: 314572800\r\n\r\n"
    assert _raw(endpoint, head) == b"HTTP/1.1 413 Request Entity Too Large"



def test_ses_v2_takes_a_40_mb_raw_message_but_not_more() -> None:
    # A 40 MB raw message is about 54 MB of base64 in JSON: more than the other services' 16 MiB.
    from sluiceway.endpoint.context import HttpRequest
    from sluiceway.endpoint.routing import route
    from sluiceway.endpoint.server import MAX_BODY, SESV2_MAX_BODY, _body_limit

    signed = {"authorization": "AWS4-HMAC-SHA256 Credential=AKID/20261205/us-east-1/ses/aws4_request, SignedHeaders=host, Signature=0"}
    v2 = route(HttpRequest("POST", "/v2/email/outbound-emails", "", signed))
    v1 = route(HttpRequest("POST", "/", "", signed))
    assert _body_limit(signed, v2) == SESV2_MAX_BODY > 54 * 1024 * 1024
    assert _body_limit(signed, v1) == MAX_BODY

def test_an_unsigned_request_is_refused_before_its_body_is_read(signed_only: Endpoint) -> None:
    head = b"PUT /sluiceway-output/big HTTP/1.1\r\nHost: x\r\nContent-Length: 419430400\r\n\r\n"
    assert _raw(signed_only, head) == b"HTTP/1.1 403 Forbidden"


def test_a_signed_request_cannot_carry_another_body(signed_only: Endpoint) -> None:
    good = json.dumps({"TableName": "ProcessingMetadata", "Key": {"ExecutionId": {"S": "x"}}}).encode()
    request = AWSRequest(
        "POST",
        f"{signed_only.url}/",
        data=good,
        headers={"X-Amz-Target": "DynamoDB_20120810.DeleteItem", "Content-Type": "application/x-amz-json-1.0"},
    )
    SigV4Auth(CREDENTIALS, "dynamodb", "us-east-1").add_auth(request)
    headers = dict(request.headers.items())
    evil = json.dumps({"TableName": "ProcessingMetadata", "Key": {"ExecutionId": {"S": "someone-elses"}}}).encode()
    for claimed in (None, hashlib.sha256(good).hexdigest()):
        sent = {**headers, "Content-Length": str(len(evil))}
        if claimed:
            sent["x-amz-content-sha256"] = claimed  # the signed body's hash, claimed for another body
        conn = http.client.HTTPConnection("127.0.0.1", signed_only.port, timeout=10)
        conn.request("POST", "/", body=evil, headers=sent)
        answer = conn.getresponse()
        assert answer.status == 400, answer.read()
        assert json.loads(answer.read())["__type"] in ("InvalidSignatureException", "XAmzContentSHA256Mismatch")
        conn.close()


def test_a_signed_virtual_host_style_request_verifies(signed_only: Endpoint, stack: Stack) -> None:
    stack.local.objects.put("sluiceway-output", "vhost/o.txt", b"hi")
    host = f"sluiceway-output.localhost:{signed_only.port}"
    request = AWSRequest("GET", f"http://{host}/vhost/o.txt", headers={"x-amz-content-sha256": hashlib.sha256(b"").hexdigest()})
    S3SigV4Auth(CREDENTIALS, "s3", "us-east-1").add_auth(request)
    conn = http.client.HTTPConnection("127.0.0.1", signed_only.port, timeout=10)
    conn.request("GET", "/vhost/o.txt", headers={**dict(request.headers.items()), "Host": host})
    answer = conn.getresponse()
    assert (answer.status, answer.read()) == (200, b"hi")
    conn.close()


def test_connections_do_not_keep_database_connections(endpoint: Endpoint, stack: Stack) -> None:
    kept = len(stack.local.db._connections._all)
    for _ in range(60):
        conn = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=10)
        conn.request("POST", "/", body=b"{}", headers=LIST_TABLES)
        assert conn.getresponse().status == 200
        conn.close()
    # Each connection was served on a thread of its own; what those threads opened went with them.
    assert len(stack.local.db._connections._all) <= kept + 4


def test_a_stopped_endpoint_serves_nothing_more_on_a_kept_alive_connection(stack: Stack) -> None:
    served = Endpoint(stack, port=0)
    served.start()
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    headers = LIST_TABLES
    conn.request("POST", "/", body=b"{}", headers=headers)
    first = conn.getresponse()
    assert first.status == 200 and first.read()
    served.close()
    try:
        conn.request("POST", "/", body=b"{}", headers=headers)
        answer = conn.getresponse()
    except (http.client.HTTPException, OSError):
        pass  # the connection was shut: nothing more is read from it
    else:
        # A request that got in as the stop began is refused (503 as it stops, or a 4xx for a request
        # cut short by the shut connection); it never reaches an operation.
        assert answer.status in (400, 408, 503), answer.status
    conn.close()


def _sign_s3(method: str, path: str, headers: dict[str, str]) -> str:
    """A SigV4 Authorization header over exactly ``headers`` (a client that frames its own body)."""
    key_id, secret = next(iter(KEYS.items()))
    amz_date = headers["x-amz-date"]
    day = amz_date[:8]
    names = sorted(headers)
    canonical = "\n".join(
        [method, path, "", "".join(f"{n}:{headers[n].strip()}\n" for n in names), ";".join(names), headers["x-amz-content-sha256"]]
    )
    scope = f"{day}/us-east-1/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    signing = ("AWS4" + secret).encode()
    for part in (day, "us-east-1", "s3", "aws4_request"):
        signing = hmac.new(signing, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(signing, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}"


def test_trailers_never_stand_in_for_headers_the_signature_covers(signed_only: Endpoint, stack: Stack) -> None:
    stack.local.objects.put("sluiceway-output", "secret/s.txt", b"TOP SECRET")
    signed = {
        "host": f"127.0.0.1:{signed_only.port}",
        "x-amz-date": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": "5",
        "x-amz-trailer": "x-amz-checksum-crc32",
        "content-type": "text/plain",
    }
    path = "/sluiceway-output/public/upload.txt"
    authorization = _sign_s3("PUT", path, signed)

    def send(body: bytes, extra: dict[str, str] | None = None) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", signed_only.port, timeout=10)
        headers = {**signed, "authorization": authorization, "content-length": str(len(body)), **(extra or {})}
        conn.request("PUT", path, body=body, headers=headers)
        status = conn.getresponse().status
        conn.close()
        return status

    assert send(b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n") == 200
    # Replays of the same signature: a trailer may not turn the PUT into a copy, nor change a signed header.
    send(b"5\r\nhello\r\n0\r\nx-amz-copy-source:/sluiceway-output/secret/s.txt\r\n\r\n")
    send(b"5\r\nhello\r\n0\r\ncontent-type:text/html\r\nx-amz-meta-owner:mallory\r\n\r\n")
    info = stack.local.objects.head("sluiceway-output", "public/upload.txt")
    assert stack.local.objects.get("sluiceway-output", "public/upload.txt") == b"hello"
    assert info.content_type == "text/plain" and dict(info.metadata) == {}
    # An x-amz-* header the signature does not cover is refused outright (S3's HeadersNotSigned).
    assert send(b"5\r\nhello\r\n0\r\n\r\n", {"x-amz-copy-source": "/sluiceway-output/secret/s.txt"}) == 403


def test_an_s3_object_of_any_content_type_may_be_large(signed_only: Endpoint) -> None:
    # The 16 MiB limit of the query and JSON protocols must not catch a signed S3 PUT whose object is a form.
    request = AWSRequest(
        "PUT",
        f"{signed_only.url}/sluiceway-output/form.bin",
        data=b"",
        headers={"Content-Type": "application/x-www-form-urlencoded", "x-amz-content-sha256": "UNSIGNED-PAYLOAD"},
    )
    S3SigV4Auth(CREDENTIALS, "s3", "us-east-1").add_auth(request)
    head = f"PUT /sluiceway-output/form.bin HTTP/1.1\r\nContent-Length: {17 * 1024 * 1024}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in request.headers.items() if k.lower() != "content-length") + "\r\n"
    with socket.create_connection(("127.0.0.1", signed_only.port), timeout=10) as conn:
        conn.sendall(head.encode())
        conn.settimeout(0.5)
        try:
            early = conn.recv(100)  # a refusal would come at once, before the body
        except TimeoutError:
            early = b""
    assert not early.startswith(b"HTTP/1.1 413") and not early.startswith(b"HTTP/1.1 400")
