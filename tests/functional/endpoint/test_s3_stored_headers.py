"""What S3 keeps with an object besides its bytes and metadata: its HTTP headers and its checksums.

Cache-Control, Content-Disposition, Content-Encoding, Content-Language and Expires given with
a write come back with GetObject and HeadObject (a browser download depends on them); the
checksums a write was checked against come back when a reader asks (``ChecksumMode``), and
only with the whole object.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

HEADERS = {
    "CacheControl": "max-age=60",
    "ContentDisposition": 'attachment; filename="report.csv"',
    "ContentEncoding": "gzip",
    "ContentLanguage": "en-GB",
}
EXPIRES = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def s3(aws: Callable[..., Any]) -> Any:
    return aws("s3")


@pytest.fixture(scope="module")
def bucket(s3: Any) -> str:
    s3.create_bucket(Bucket="stored-headers")
    return "stored-headers"


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def _headers_of(answer: dict[str, Any]) -> dict[str, Any]:
    return {name: answer.get(name) for name in (*HEADERS, "Expires")}


def test_the_headers_of_a_put_come_back_with_get_and_head(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="report.csv", Body=b"a,b\n", Expires=EXPIRES, **HEADERS)
    expected = {**HEADERS, "Expires": EXPIRES}
    assert _headers_of(s3.get_object(Bucket=bucket, Key="report.csv")) == expected
    assert _headers_of(s3.head_object(Bucket=bucket, Key="report.csv")) == expected
    # A put without them keeps none: an overwrite is a new object.
    s3.put_object(Bucket=bucket, Key="report.csv", Body=b"a,b\n")
    assert _headers_of(s3.head_object(Bucket=bucket, Key="report.csv")) == dict.fromkeys((*HEADERS, "Expires"))


def test_a_copy_keeps_the_headers_unless_it_replaces_the_metadata(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="source", Body=b"x", **HEADERS)
    s3.copy_object(Bucket=bucket, Key="kept", CopySource={"Bucket": bucket, "Key": "source"})
    assert _headers_of(s3.head_object(Bucket=bucket, Key="kept")) == {**HEADERS, "Expires": None}
    s3.copy_object(
        Bucket=bucket, Key="replaced", CopySource={"Bucket": bucket, "Key": "source"}, MetadataDirective="REPLACE", CacheControl="no-cache"
    )
    assert _headers_of(s3.head_object(Bucket=bucket, Key="replaced")) == {
        **dict.fromkeys((*HEADERS, "Expires")),
        "CacheControl": "no-cache",
    }


def test_a_multipart_upload_keeps_the_headers_it_was_created_with(s3: Any, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="parts", **HEADERS)["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="parts", UploadId=upload, PartNumber=1, Body=b"whole")["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="parts", UploadId=upload, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert _headers_of(s3.head_object(Bucket=bucket, Key="parts")) == {**HEADERS, "Expires": None}


def test_checksums_come_back_when_asked_and_only_with_the_whole_object(s3: Any, bucket: str) -> None:
    data = b"checked bytes"
    s3.put_object(Bucket=bucket, Key="checked", Body=data, ChecksumCRC32=_crc32(data))
    whole = s3.get_object(Bucket=bucket, Key="checked", ChecksumMode="ENABLED")
    assert whole["Body"].read() == data  # botocore checks the body against the checksum it got
    assert (whole["ChecksumCRC32"], whole["ChecksumType"]) == (_crc32(data), "FULL_OBJECT")
    assert s3.head_object(Bucket=bucket, Key="checked", ChecksumMode="ENABLED")["ChecksumCRC32"] == _crc32(data)
    assert "ChecksumCRC32" not in s3.head_object(Bucket=bucket, Key="checked")
    ranged = s3.get_object(Bucket=bucket, Key="checked", Range="bytes=0-3", ChecksumMode="ENABLED")
    assert ranged["Body"].read() == data[:4]
    assert "ChecksumCRC32" not in ranged
    copied = s3.copy_object(Bucket=bucket, Key="checked-copy", CopySource={"Bucket": bucket, "Key": "checked"})
    assert copied["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3.head_object(Bucket=bucket, Key="checked-copy", ChecksumMode="ENABLED")["ChecksumCRC32"] == _crc32(data)


def test_a_multipart_objects_composite_checksum_comes_back_with_the_whole_object(s3: Any, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="composite", ChecksumAlgorithm="CRC32")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="composite", UploadId=upload, PartNumber=1, Body=b"only part", ChecksumAlgorithm="CRC32")
    done = s3.complete_multipart_upload(
        Bucket=bucket,
        Key="composite",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"], "ChecksumCRC32": part["ChecksumCRC32"]}]},
    )
    got = s3.get_object(Bucket=bucket, Key="composite", ChecksumMode="ENABLED")
    assert got["Body"].read() == b"only part"
    assert (got["ChecksumCRC32"], got["ChecksumType"]) == (done["ChecksumCRC32"], "COMPOSITE")
    assert got["ChecksumCRC32"].endswith("-1")
