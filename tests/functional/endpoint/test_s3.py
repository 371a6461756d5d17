"""S3 through the endpoint with a real boto3 client: buckets, objects, listings, presigned URLs, errors."""

from __future__ import annotations

import base64
import hashlib
import threading
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.endpoint.services.s3.checksums import crc32c, digest
from sluiceway.runtime.stack import Stack


def error_of(call: Callable[[], Any]) -> tuple[str, int, dict[str, Any]]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]


@pytest.fixture(scope="module")
def s3(aws: Callable[..., Any]) -> Any:
    return aws("s3")


@pytest.fixture(scope="module")
def bucket(s3: Any) -> str:
    s3.create_bucket(Bucket="objects-bucket")
    return "objects-bucket"


def events_of(stack: Stack, bucket: str, key: str) -> list[dict[str, Any]]:
    since = datetime.now(UTC) - timedelta(hours=1)
    return [
        e.event
        for e in stack.bus.archived(since)
        if e.event.get("source") == "aws.s3" and e.event["detail"]["bucket"]["name"] == bucket and e.event["detail"]["object"]["key"] == key
    ]


# -- buckets -----------------------------------------------------------------------------------


def test_create_list_head_and_delete_a_bucket(s3: Any) -> None:
    s3.create_bucket(Bucket="life-cycle")
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "life-cycle" in names
    assert s3.head_bucket(Bucket="life-cycle")["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3.get_bucket_location(Bucket="life-cycle")["LocationConstraint"] is None
    s3.delete_bucket(Bucket="life-cycle")
    assert "life-cycle" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    code, status, _ = error_of(lambda: s3.head_bucket(Bucket="life-cycle"))
    assert (code, status) == ("404", 404)  # HEAD answers carry no body: botocore reports the status


def test_creating_an_owned_bucket_again_succeeds_in_us_east_1_only(s3: Any, aws: Callable[..., Any]) -> None:
    s3.create_bucket(Bucket="owned-twice")
    s3.create_bucket(Bucket="owned-twice")  # us-east-1's legacy answer: 200
    code, status, error = error_of(
        lambda: aws("s3", region_name="eu-west-1").create_bucket(
            Bucket="owned-twice", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
    )
    assert (code, status, error["BucketName"]) == ("BucketAlreadyOwnedByYou", 409, "owned-twice")


def test_a_location_constraint_is_kept_and_checked(aws: Callable[..., Any]) -> None:
    europe = aws("s3", region_name="eu-west-1")
    europe.create_bucket(Bucket="in-europe", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert europe.get_bucket_location(Bucket="in-europe")["LocationConstraint"] == "eu-west-1"
    assert europe.head_bucket(Bucket="in-europe")["BucketRegion"] == "eu-west-1"
    code, status, _ = error_of(lambda: europe.create_bucket(Bucket="no-constraint"))
    assert (code, status) == ("IllegalLocationConstraintException", 400)
    code, _, _ = error_of(lambda: aws("s3").create_bucket(Bucket="named-us", CreateBucketConfiguration={"LocationConstraint": "us-east-1"}))
    assert code == "InvalidLocationConstraint"


@pytest.mark.parametrize("name", ["ab", "Upper-case", "under_score", "a..b", "192.168.5.4", "xn--name", "name-s3alias", "-dash"])
def test_invalid_bucket_names_are_refused(s3: Any, name: str) -> None:
    code, status, _ = error_of(lambda: s3.create_bucket(Bucket=name))
    assert (code, status) == ("InvalidBucketName", 400)


def test_a_bucket_with_objects_is_not_deleted(s3: Any) -> None:
    s3.create_bucket(Bucket="not-empty")
    s3.put_object(Bucket="not-empty", Key="k", Body=b"x")
    code, status, error = error_of(lambda: s3.delete_bucket(Bucket="not-empty"))
    assert (code, status, error["BucketName"]) == ("BucketNotEmpty", 409, "not-empty")
    s3.delete_object(Bucket="not-empty", Key="k")
    s3.delete_bucket(Bucket="not-empty")


def test_a_missing_bucket_is_no_such_bucket(s3: Any) -> None:
    code, status, error = error_of(lambda: s3.put_object(Bucket="never-made", Key="k", Body=b"x"))
    assert (code, status, error["BucketName"]) == ("NoSuchBucket", 404, "never-made")
    code, _, _ = error_of(lambda: s3.list_objects_v2(Bucket="never-made"))
    assert code == "NoSuchBucket"


# -- objects -----------------------------------------------------------------------------------


def test_put_then_get_with_metadata_and_content_type(s3: Any, bucket: str) -> None:
    put = s3.put_object(Bucket=bucket, Key="docs/readme.txt", Body=b"hello world", ContentType="text/plain", Metadata={"Owner": "ada"})
    assert put["ETag"] == f'"{hashlib.md5(b"hello world").hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="docs/readme.txt")
    assert got["Body"].read() == b"hello world"
    assert (got["ContentType"], got["Metadata"], got["ContentLength"], got["ETag"]) == ("text/plain", {"owner": "ada"}, 11, put["ETag"])
    head = s3.head_object(Bucket=bucket, Key="docs/readme.txt")
    assert (head["ContentLength"], head["ETag"], head["Metadata"]) == (11, put["ETag"], {"owner": "ada"})


def test_an_object_without_content_type_is_binary_octet_stream(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="untyped", Body=b"x")
    assert s3.head_object(Bucket=bucket, Key="untyped")["ContentType"] == "binary/octet-stream"


def test_content_md5_is_checked(s3: Any, bucket: str) -> None:
    good = base64.b64encode(hashlib.md5(b"payload").digest()).decode()
    s3.put_object(Bucket=bucket, Key="md5", Body=b"payload", ContentMD5=good)
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    code, status, _ = error_of(lambda: s3.put_object(Bucket=bucket, Key="md5", Body=b"payload", ContentMD5=wrong))
    assert (code, status) == ("BadDigest", 400)
    code, status, _ = error_of(lambda: s3.put_object(Bucket=bucket, Key="md5", Body=b"payload", ContentMD5="bm90LW1kNQ=="))
    assert (code, status) == ("InvalidDigest", 400)
    assert s3.get_object(Bucket=bucket, Key="md5")["Body"].read() == b"payload"


@pytest.mark.parametrize("algorithm", ["CRC32", "SHA1", "SHA256"])
def test_checksums_are_checked_and_echoed(s3: Any, bucket: str, algorithm: str) -> None:
    put = s3.put_object(Bucket=bucket, Key=f"sum-{algorithm}", Body=b"checked bytes", ChecksumAlgorithm=algorithm)
    assert put[f"Checksum{algorithm}"] == digest(algorithm, b"checked bytes")


def test_crc32c_is_checked_too(s3: Any, bucket: str) -> None:
    # botocore computes CRC32C only with awscrt installed: the value is given here.
    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    value = base64.b64encode(crc32c(b"checked bytes").to_bytes(4, "big")).decode()
    assert s3.put_object(Bucket=bucket, Key="sum-crc32c", Body=b"checked bytes", ChecksumCRC32C=value)["ChecksumCRC32C"] == value
    wrong = base64.b64encode(crc32c(b"other bytes").to_bytes(4, "big")).decode()
    code, _, _ = error_of(lambda: s3.put_object(Bucket=bucket, Key="sum-crc32c", Body=b"checked bytes", ChecksumCRC32C=wrong))
    assert code == "BadDigest"


def test_a_wrong_checksum_is_bad_digest(s3: Any, bucket: str) -> None:
    wrong = base64.b64encode(zlib.crc32(b"something else").to_bytes(4, "big")).decode()
    code, status, _ = error_of(lambda: s3.put_object(Bucket=bucket, Key="bad-sum", Body=b"checked bytes", ChecksumCRC32=wrong))
    assert (code, status) == ("BadDigest", 400)
    code, _, _ = error_of(lambda: s3.head_object(Bucket=bucket, Key="bad-sum"))
    assert code == "404"


def test_a_missing_key_is_no_such_key_with_its_key(s3: Any, bucket: str) -> None:
    code, status, error = error_of(lambda: s3.get_object(Bucket=bucket, Key="nope/missing.txt"))
    assert (code, status, error["Key"]) == ("NoSuchKey", 404, "nope/missing.txt")


def test_ranges(s3: Any, bucket: str) -> None:
    data = bytes(range(256)) * 8
    s3.put_object(Bucket=bucket, Key="ranged", Body=data)
    got = s3.get_object(Bucket=bucket, Key="ranged", Range="bytes=10-19")
    assert got["Body"].read() == data[10:20]
    assert got["ContentRange"] == f"bytes 10-19/{len(data)}"
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert s3.get_object(Bucket=bucket, Key="ranged", Range="bytes=-5")["Body"].read() == data[-5:]
    assert s3.get_object(Bucket=bucket, Key="ranged", Range="bytes=2000-")["Body"].read() == data[2000:]
    code, status, error = error_of(lambda: s3.get_object(Bucket=bucket, Key="ranged", Range=f"bytes={len(data)}-"))
    assert (code, status, error["ActualObjectSize"]) == ("InvalidRange", 416, str(len(data)))


def test_conditional_gets(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="conditional", Body=b"v1")["ETag"]
    assert s3.get_object(Bucket=bucket, Key="conditional", IfMatch=etag)["Body"].read() == b"v1"
    code, status, _ = error_of(lambda: s3.get_object(Bucket=bucket, Key="conditional", IfMatch='"0000"'))
    assert (code, status) == ("PreconditionFailed", 412)
    code, status, _ = error_of(lambda: s3.get_object(Bucket=bucket, Key="conditional", IfNoneMatch=etag))
    assert status == 304
    # A date in the future is not a valid If-Modified-Since (RFC 7232): S3 ignores it and serves the object.
    future = datetime.now(UTC) + timedelta(days=1)
    assert s3.get_object(Bucket=bucket, Key="conditional", IfModifiedSince=future)["Body"].read() == b"v1"
    code, status, _ = error_of(lambda: s3.get_object(Bucket=bucket, Key="conditional", IfModifiedSince=datetime.now(UTC)))
    assert status == 304
    past = datetime.now(UTC) - timedelta(days=1)
    assert s3.get_object(Bucket=bucket, Key="conditional", IfModifiedSince=past)["Body"].read() == b"v1"
    code, status, _ = error_of(lambda: s3.get_object(Bucket=bucket, Key="conditional", IfUnmodifiedSince=past))
    assert (code, status) == ("PreconditionFailed", 412)


def test_a_big_object_streams_back_whole(s3: Any, bucket: str) -> None:
    data = hashlib.sha256(b"seed").digest() * (3 * 1024 * 1024 // 32 + 7)
    s3.put_object(Bucket=bucket, Key="big.bin", Body=data)
    assert s3.get_object(Bucket=bucket, Key="big.bin")["Body"].read() == data


def test_delete_and_delete_objects(s3: Any, bucket: str, stack: Stack) -> None:
    for key in ("del/a", "del/b", "del/c"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    s3.delete_object(Bucket=bucket, Key="del/a")
    assert error_of(lambda: s3.head_object(Bucket=bucket, Key="del/a"))[0] == "404"
    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "del/b"}, {"Key": "del/c"}, {"Key": "del/none"}]})
    assert sorted(d["Key"] for d in answer["Deleted"]) == ["del/b", "del/c", "del/none"]
    s3.put_object(Bucket=bucket, Key="del/kept", Body=b"x")
    quiet = s3.delete_objects(
        Bucket=bucket,
        Delete={"Objects": [{"Key": "del/b"}, {"Key": "../escape"}, {"Key": "del/kept", "ETag": '"0000"'}], "Quiet": True},
    )
    assert "Deleted" not in quiet
    assert [(e["Key"], e["Code"]) for e in quiet["Errors"]] == [("del/kept", "PreconditionFailed")]
    assert s3.head_object(Bucket=bucket, Key="del/kept")["ContentLength"] == 1
    # A bucket created through CreateBucket has EventBridge off until a configuration turns it on.
    assert events_of(stack, bucket, "del/b") == []


def test_copy_object_keeps_or_replaces_metadata(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src/with space+plus.txt", Body=b"copied", ContentType="text/plain", Metadata={"a": "1"})
    copied = s3.copy_object(Bucket=bucket, Key="dst/copy.txt", CopySource={"Bucket": bucket, "Key": "src/with space+plus.txt"})
    assert copied["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"copied").hexdigest()}"'
    head = s3.head_object(Bucket=bucket, Key="dst/copy.txt")
    assert (head["ContentType"], head["Metadata"]) == ("text/plain", {"a": "1"})
    s3.copy_object(
        Bucket=bucket,
        Key="dst/replaced.txt",
        CopySource=f"{bucket}/src/with space+plus.txt",  # botocore percent-encodes it on the wire
        MetadataDirective="REPLACE",
        ContentType="application/json",
        Metadata={"b": "2"},
    )
    head = s3.head_object(Bucket=bucket, Key="dst/replaced.txt")
    assert (head["ContentType"], head["Metadata"]) == ("application/json", {"b": "2"})
    assert s3.get_object(Bucket=bucket, Key="dst/replaced.txt")["Body"].read() == b"copied"
    code, _, _ = error_of(lambda: s3.copy_object(Bucket=bucket, Key="dst/x", CopySource=f"{bucket}/src/missing"))
    assert code == "NoSuchKey"
    code, _, _ = error_of(
        lambda: s3.copy_object(Bucket=bucket, Key="dst/x", CopySource={"Bucket": bucket, "Key": "dst/copy.txt", "VersionId": "v9"})
    )
    assert code == "NoSuchVersion"
    code, _, _ = error_of(lambda: s3.copy_object(Bucket=bucket, Key="dst/copy.txt", CopySource=f"{bucket}/dst/copy.txt"))
    assert code == "InvalidRequest"


def test_keys_a_folder_cannot_hold_get_s3_errors(s3: Any, bucket: str) -> None:
    code, status, _ = error_of(lambda: s3.put_object(Bucket=bucket, Key="a/../b", Body=b"x"))
    assert (code, status) == ("InvalidArgument", 400)
    code, status, _ = error_of(lambda: s3.put_object(Bucket=bucket, Key="k" * 1025, Body=b"x"))
    assert (code, status) == ("KeyTooLongError", 400)


def test_user_metadata_over_2_kb_is_refused(s3: Any, bucket: str) -> None:
    code, status, _ = error_of(lambda: s3.put_object(Bucket=bucket, Key="meta", Body=b"x", Metadata={"big": "v" * 2100}))
    assert (code, status) == ("MetadataTooLarge", 400)


# -- listings ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def listed(s3: Any) -> str:
    s3.create_bucket(Bucket="listed")
    for key in ("a.txt", "b/1.txt", "b/2.txt", "b/c/3.txt", "d e+f.txt", "z.txt"):
        s3.put_object(Bucket="listed", Key=key, Body=key.encode())
    return "listed"


def test_list_objects_v2_with_a_delimiter(s3: Any, listed: str) -> None:
    answer = s3.list_objects_v2(Bucket=listed, Delimiter="/")
    assert [c["Key"] for c in answer["Contents"]] == ["a.txt", "d e+f.txt", "z.txt"]
    assert [p["Prefix"] for p in answer["CommonPrefixes"]] == ["b/"]
    assert (answer["KeyCount"], answer["IsTruncated"]) == (4, False)
    under_b = s3.list_objects_v2(Bucket=listed, Prefix="b/", Delimiter="/")
    assert [c["Key"] for c in under_b["Contents"]] == ["b/1.txt", "b/2.txt"]
    assert [p["Prefix"] for p in under_b["CommonPrefixes"]] == ["b/c/"]


def test_list_objects_v2_pages_with_tokens_and_start_after(s3: Any, listed: str) -> None:
    seen: list[str] = []
    token: str | None = None
    while True:
        page = s3.list_objects_v2(Bucket=listed, MaxKeys=2, **({"ContinuationToken": token} if token else {}))
        assert page["KeyCount"] <= 2
        seen += [c["Key"] for c in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert seen == ["a.txt", "b/1.txt", "b/2.txt", "b/c/3.txt", "d e+f.txt", "z.txt"]
    after = s3.list_objects_v2(Bucket=listed, StartAfter="b/2.txt")
    assert [c["Key"] for c in after["Contents"]] == ["b/c/3.txt", "d e+f.txt", "z.txt"]
    paginator = s3.get_paginator("list_objects_v2")
    prefixes = [
        p["Prefix"]
        for page in paginator.paginate(Bucket=listed, Delimiter="/", PaginationConfig={"PageSize": 1})
        for p in page.get("CommonPrefixes", [])
    ]
    assert prefixes == ["b/"]


def test_list_objects_v2_url_encoding(aws: Callable[..., Any], listed: str) -> None:
    import botocore.handlers

    client = aws("s3")
    # Without botocore's decoding the keys arrive as S3 sends them: percent-encoded.
    client.meta.events.unregister("after-call.s3.ListObjectsV2", botocore.handlers.decode_list_object_v2)
    raw = client.list_objects_v2(Bucket=listed, Prefix="d", EncodingType="url")
    assert [c["Key"] for c in raw["Contents"]] == ["d%20e%2Bf.txt"]


def test_list_objects_v1_with_markers(s3: Any, listed: str) -> None:
    first = s3.list_objects(Bucket=listed, MaxKeys=2, Delimiter="/")
    assert [c["Key"] for c in first["Contents"]] == ["a.txt"] and [p["Prefix"] for p in first["CommonPrefixes"]] == ["b/"]
    assert first["IsTruncated"] and first["NextMarker"] == "b/"
    rest = s3.list_objects(Bucket=listed, Delimiter="/", Marker=first["NextMarker"])
    assert [c["Key"] for c in rest["Contents"]] == ["d e+f.txt", "z.txt"]
    assert not rest["IsTruncated"]


# -- presigned URLs and virtual hosts ------------------------------------------------------------


def test_presigned_put_and_get(aws: Callable[..., Any], bucket: str) -> None:
    client = aws("s3", signature_version="s3v4")
    put_url = client.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "presigned.txt"}, ExpiresIn=60)
    request = urllib.request.Request(put_url, data=b"via a presigned url", method="PUT")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    get_url = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "presigned.txt"}, ExpiresIn=60)
    with urllib.request.urlopen(get_url, timeout=10) as response:
        assert response.read() == b"via a presigned url"


def test_an_expired_presigned_url_is_access_denied(aws: Callable[..., Any], bucket: str) -> None:
    import re

    client = aws("s3", signature_version="s3v4")
    url = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "presigned.txt"}, ExpiresIn=1)
    stale = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y%m%dT%H%M%SZ")
    url = re.sub(r"X-Amz-Date=\d{8}T\d{6}Z", f"X-Amz-Date={stale}", url)
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(url, timeout=10)
    body = caught.value.read().decode()
    assert caught.value.code == 403
    assert "<Code>AccessDenied</Code>" in body and "Request has expired" in body


@pytest.mark.parametrize("host", ["localhost", "s3.us-east-1.amazonaws.com"])
def test_virtual_host_style_addressing(aws: Callable[..., Any], endpoint: Any, host: str) -> None:
    import boto3
    import urllib3
    from botocore.awsrequest import AWSResponse
    from botocore.config import Config

    port = endpoint.url.rsplit(":", 1)[1]
    client = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1").client(
        "s3", endpoint_url=f"http://{host}:{port}", config=Config(s3={"addressing_style": "virtual"}, retries={"max_attempts": 1})
    )
    pool = urllib3.PoolManager()
    hosts: list[str] = []

    def to_the_endpoint(request: Any, **_: Any) -> AWSResponse:
        # <bucket>.localhost need not resolve here: the request, Host header and all, is sent
        # to the endpoint's address, as a resolver pointing those names at it would.
        url = urllib3.util.parse_url(request.url)
        hosts.append(str(url.host))
        target = f"{endpoint.url}{url.request_uri}"
        headers = {**dict(request.headers), "Host": str(url.netloc)}
        raw = pool.request(request.method, target, body=request.body, headers=headers, preload_content=False, redirect=False)
        return AWSResponse(target, raw.status, raw.headers, raw)

    client.meta.events.register_first("before-send.s3", to_the_endpoint)
    name = f"virtual-{host.split('.')[0]}"
    created = client.create_bucket(Bucket=name)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 200
    client.put_object(Bucket=name, Key="v/key.txt", Body=b"virtual")
    assert client.get_object(Bucket=name, Key="v/key.txt")["Body"].read() == b"virtual"
    assert [c["Key"] for c in client.list_objects_v2(Bucket=name)["Contents"]] == ["v/key.txt"]
    assert aws("s3").get_object(Bucket=name, Key="v/key.txt")["Body"].read() == b"virtual"  # the same bucket, path style
    assert set(hosts) == {f"{name}.{host}"}


@pytest.mark.parametrize(
    ("host", "bucket"),
    [
        ("photos.localhost:4566", "photos"),
        ("my.dotted.bucket.localhost:4566", "my.dotted.bucket"),
        ("photos.s3.us-east-1.amazonaws.com", "photos"),
        ("photos.s3.amazonaws.com", "photos"),
        ("127.0.0.1:4566", None),
        ("localhost:4566", None),
        (None, None),
    ],
)
def test_bucket_from_host(host: str | None, bucket: str | None) -> None:
    from sluiceway.endpoint.services.s3 import bucket_from_host

    assert bucket_from_host(host) == bucket


# -- conditional writes ------------------------------------------------------------------------


def test_of_concurrent_creates_if_absent_exactly_one_succeeds(aws: Callable[..., Any], bucket: str) -> None:
    writers = 8
    for trial in range(3):
        key = f"race/{trial}"
        clients = [aws("s3") for _ in range(writers)]
        barrier = threading.Barrier(writers)
        outcomes: dict[int, str] = {}

        def put(
            i: int, key: str = key, barrier: threading.Barrier = barrier, outcomes: dict[int, str] = outcomes, clients: list[Any] = clients
        ) -> None:
            barrier.wait()
            try:
                clients[i].put_object(Bucket=bucket, Key=key, Body=f"writer {i}".encode() * 1000, IfNoneMatch="*")
                outcomes[i] = "won"
            except ClientError as exc:
                outcomes[i] = exc.response["Error"]["Code"]

        threads = [threading.Thread(target=put, args=(i,)) for i in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        winners = [i for i, outcome in outcomes.items() if outcome == "won"]
        assert len(winners) == 1, outcomes
        assert sorted(o for o in outcomes.values() if o != "won") == ["PreconditionFailed"] * (writers - 1)
        assert s3_body(clients[0], bucket, key) == f"writer {winners[0]}".encode() * 1000


def s3_body(s3: Any, bucket: str, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def test_conditional_puts_copies_and_deletes(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="cond/a", Body=b"v1", IfNoneMatch="*")["ETag"]
    code, status, error = error_of(lambda: s3.put_object(Bucket=bucket, Key="cond/a", Body=b"v2", IfNoneMatch="*"))
    assert (code, status, error["Condition"]) == ("PreconditionFailed", 412, "If-None-Match")
    code, status, error = error_of(lambda: s3.put_object(Bucket=bucket, Key="cond/a", Body=b"v2", IfMatch='"0000"'))
    assert (code, status, error["Condition"]) == ("PreconditionFailed", 412, "If-Match")
    code, status, _ = error_of(lambda: s3.put_object(Bucket=bucket, Key="cond/none", Body=b"v2", IfMatch=etag))
    assert (code, status) == ("NoSuchKey", 404)
    etag = s3.put_object(Bucket=bucket, Key="cond/a", Body=b"v2", IfMatch=etag)["ETag"]
    assert s3_body(s3, bucket, "cond/a") == b"v2"
    # CopyObject's If-Match/If-None-Match are the destination's.
    s3.copy_object(Bucket=bucket, Key="cond/b", CopySource=f"{bucket}/cond/a", IfNoneMatch="*")
    code, status, error = error_of(lambda: s3.copy_object(Bucket=bucket, Key="cond/b", CopySource=f"{bucket}/cond/a", IfNoneMatch="*"))
    assert (code, status, error["Condition"]) == ("PreconditionFailed", 412, "If-None-Match")
    code, status, _ = error_of(lambda: s3.copy_object(Bucket=bucket, Key="cond/b", CopySource=f"{bucket}/cond/a", IfMatch='"0000"'))
    assert (code, status) == ("PreconditionFailed", 412)
    code, status, _ = error_of(lambda: s3.delete_object(Bucket=bucket, Key="cond/b", IfMatch='"0000"'))
    assert (code, status) == ("PreconditionFailed", 412)
    s3.delete_object(Bucket=bucket, Key="cond/b", IfMatch=etag)
    assert error_of(lambda: s3.head_object(Bucket=bucket, Key="cond/b"))[1] == 404
    code, status, error = error_of(lambda: s3.put_object(Bucket=bucket, Key="cond/a", Body=b"x", IfNoneMatch=etag))
    assert (code, status, error["Header"]) == ("NotImplemented", 501, "If-None-Match")


def test_a_part_number_of_an_object_put_in_one_piece(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="one-piece", Body=b"0123456789")
    got = s3.get_object(Bucket=bucket, Key="one-piece", PartNumber=1)
    # S3 answers part 1 of such an object as a range over all of it, with no parts count.
    assert (got["ResponseMetadata"]["HTTPStatusCode"], got["ContentRange"], got["Body"].read()) == (206, "bytes 0-9/10", b"0123456789")
    assert "PartsCount" not in got
    code, status, error = error_of(lambda: s3.get_object(Bucket=bucket, Key="one-piece", PartNumber=2))
    assert (code, status, error["PartNumberRequested"], error["ActualPartCount"]) == ("InvalidPartNumber", 416, "2", "1")
    code, status, _ = error_of(lambda: s3.get_object(Bucket=bucket, Key="one-piece", PartNumber=1, Range="bytes=0-1"))
    assert (code, status) == ("InvalidRequest", 400)
