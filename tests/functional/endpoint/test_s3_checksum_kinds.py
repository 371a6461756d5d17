"""S3's two kinds of multipart checksum (COMPOSITE, FULL_OBJECT), and the checksums of copies and of parts read."""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

MIB = 1024 * 1024
FIRST = b"a" * (5 * MIB + 1)
LAST = b"tail bytes"


@pytest.fixture(scope="module")
def s3(aws: Callable[..., Any]) -> Any:
    client = aws("s3")
    client.create_bucket(Bucket="kinds")
    return client


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def error_of(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call()
    return {**caught.value.response["Error"], "Status": caught.value.response["ResponseMetadata"]["HTTPStatusCode"]}


def uploaded(s3: Any, key: str, checksum_type: str) -> tuple[str, list[dict[str, Any]]]:
    upload_id = s3.create_multipart_upload(Bucket="kinds", Key=key, ChecksumAlgorithm="CRC32", ChecksumType=checksum_type)["UploadId"]
    parts = []
    for number, body in enumerate((FIRST, LAST), start=1):
        answer = s3.upload_part(Bucket="kinds", Key=key, UploadId=upload_id, PartNumber=number, Body=body, ChecksumAlgorithm="CRC32")
        assert answer["ChecksumCRC32"] == crc32(body)
        parts.append({"PartNumber": number, "ETag": answer["ETag"], "ChecksumCRC32": answer["ChecksumCRC32"]})
    return upload_id, parts


def test_a_full_object_upload_completes_with_the_whole_objects_crc(s3: Any) -> None:
    upload_id, parts = uploaded(s3, "full.bin", "FULL_OBJECT")
    assert s3.list_parts(Bucket="kinds", Key="full.bin", UploadId=upload_id)["ChecksumType"] == "FULL_OBJECT"
    whole = crc32(FIRST + LAST)
    complete = {"Bucket": "kinds", "Key": "full.bin", "UploadId": upload_id, "MultipartUpload": {"Parts": parts}}
    bad = error_of(lambda: s3.complete_multipart_upload(**complete, ChecksumCRC32=crc32(b"other"), ChecksumType="FULL_OBJECT"))
    assert bad == {"Code": "BadDigest", "Message": "The crc32 you specified did not match the calculated checksum.", "Status": 400}
    # S3 checks a whole-object checksum only when the request says it is one.
    assert error_of(lambda: s3.complete_multipart_upload(**complete, ChecksumCRC32=whole))["Code"] == "BadDigest"
    mode = error_of(lambda: s3.complete_multipart_upload(**complete, ChecksumType="COMPOSITE"))
    assert (
        mode["Message"]
        == "The upload was created using the FULL_OBJECT checksum mode. The complete request must use the same checksum mode."
    )
    done = s3.complete_multipart_upload(**complete, ChecksumCRC32=whole, ChecksumType="FULL_OBJECT")
    assert (done["ChecksumCRC32"], done["ChecksumType"]) == (whole, "FULL_OBJECT")
    got = s3.get_object(Bucket="kinds", Key="full.bin", ChecksumMode="ENABLED")
    assert got["Body"].read() == FIRST + LAST
    assert (got["ChecksumCRC32"], got["ChecksumType"]) == (whole, "FULL_OBJECT")
    attributes = s3.get_object_attributes(Bucket="kinds", Key="full.bin", ObjectAttributes=["Checksum", "ObjectParts"])
    assert attributes["Checksum"] == {"ChecksumCRC32": whole, "ChecksumType": "FULL_OBJECT"}
    assert attributes["ObjectParts"] == {"TotalPartsCount": 2}
    # A part of a full-object checksum's object has no checksum of its own.
    part = s3.get_object(Bucket="kinds", Key="full.bin", PartNumber=2, ChecksumMode="ENABLED")
    assert part["Body"].read() == LAST
    assert "ChecksumCRC32" not in part and "ChecksumType" not in part


def test_a_composite_upload_needs_each_parts_checksum_and_answers_them_by_part(s3: Any) -> None:
    upload_id, parts = uploaded(s3, "composite.bin", "COMPOSITE")
    complete = {"Bucket": "kinds", "Key": "composite.bin", "UploadId": upload_id}
    bare = [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in parts]
    missing = error_of(lambda: s3.complete_multipart_upload(**complete, MultipartUpload={"Parts": bare}))
    assert missing == {
        "Code": "InvalidRequest",
        "Message": "The upload was created using a crc32 checksum. The complete request must include the checksum for each part."
        " It was missing for part 1 in the request.",
        "Status": 400,
    }
    sha = [{**p, "ChecksumSHA256": base64.b64encode(hashlib.sha256(b"x").digest()).decode()} for p in bare]
    other = error_of(lambda: s3.complete_multipart_upload(**complete, MultipartUpload={"Parts": sha}))
    assert other == {"Code": "BadDigest", "Message": "The sha256 you specified for part 1 did not match what we received.", "Status": 400}
    wrong = [{**p, "ChecksumCRC32": crc32(b"other")} for p in bare]
    assert error_of(lambda: s3.complete_multipart_upload(**complete, MultipartUpload={"Parts": wrong}))["Code"] == "InvalidPart"
    done = s3.complete_multipart_upload(**complete, MultipartUpload={"Parts": parts})
    joined = b"".join(base64.b64decode(p["ChecksumCRC32"]) for p in parts)
    assert (done["ChecksumCRC32"], done["ChecksumType"]) == (f"{crc32(joined)}-2", "COMPOSITE")
    attributes = s3.get_object_attributes(Bucket="kinds", Key="composite.bin", ObjectAttributes=["Checksum", "ObjectParts"], MaxParts=1)
    assert attributes["Checksum"] == {"ChecksumCRC32": crc32(joined), "ChecksumType": "COMPOSITE"}
    assert attributes["ObjectParts"] == {
        "TotalPartsCount": 2,
        "PartNumberMarker": 0,
        "NextPartNumberMarker": 1,
        "MaxParts": 1,
        "IsTruncated": True,
        "Parts": [{"PartNumber": 1, "Size": len(FIRST), "ChecksumCRC32": crc32(FIRST)}],
    }
    part = s3.get_object(Bucket="kinds", Key="composite.bin", PartNumber=2, ChecksumMode="ENABLED")
    assert part["Body"].read() == LAST  # botocore checks it against the part's checksum
    assert (part["ChecksumCRC32"], part["ChecksumType"]) == (crc32(LAST), "COMPOSITE")
    # A copy is one part: S3 gives it its whole bytes' checksum.
    copied = s3.copy_object(Bucket="kinds", Key="composite-copy.bin", CopySource="kinds/composite.bin")["CopyObjectResult"]
    assert (copied["ChecksumCRC32"], copied["ChecksumType"]) == (crc32(FIRST + LAST), "FULL_OBJECT")
    assert s3.get_object(Bucket="kinds", Key="composite-copy.bin", ChecksumMode="ENABLED")["ChecksumCRC32"] == crc32(FIRST + LAST)


def test_a_copy_has_the_checksum_it_asks_for(s3: Any) -> None:
    s3.put_object(Bucket="kinds", Key="small", Body=b"abc", ChecksumAlgorithm="CRC32")
    copied = s3.copy_object(Bucket="kinds", Key="small-copy", CopySource="kinds/small", ChecksumAlgorithm="SHA256")["CopyObjectResult"]
    sha = base64.b64encode(hashlib.sha256(b"abc").digest()).decode()
    assert (copied["ChecksumSHA256"], copied["ChecksumType"]) == (sha, "FULL_OBJECT")
    head = s3.head_object(Bucket="kinds", Key="small-copy", ChecksumMode="ENABLED")
    assert (head["ChecksumSHA256"], head["ChecksumType"]) == (sha, "FULL_OBJECT")
    attributes = s3.get_object_attributes(Bucket="kinds", Key="small", ObjectAttributes=["Checksum"])
    assert attributes["Checksum"] == {"ChecksumCRC32": crc32(b"abc"), "ChecksumType": "FULL_OBJECT"}


def test_create_multipart_upload_checks_its_checksum_kind(s3: Any) -> None:
    no_algorithm = error_of(lambda: s3.create_multipart_upload(Bucket="kinds", Key="k", ChecksumType="COMPOSITE"))
    assert no_algorithm["Message"] == "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header."
    sha = error_of(lambda: s3.create_multipart_upload(Bucket="kinds", Key="k", ChecksumAlgorithm="SHA1", ChecksumType="FULL_OBJECT"))
    assert (sha["Code"], sha["Message"]) == (
        "InvalidRequest",
        "The FULL_OBJECT checksum type cannot be used with the sha1 checksum algorithm.",
    )
    default = s3.create_multipart_upload(Bucket="kinds", Key="k", ChecksumAlgorithm="SHA256")
    assert default["ChecksumType"] == "COMPOSITE"
    [listed] = [u for u in s3.list_multipart_uploads(Bucket="kinds")["Uploads"] if u["UploadId"] == default["UploadId"]]
    assert (listed["ChecksumAlgorithm"], listed["ChecksumType"]) == ("SHA256", "COMPOSITE")
    mismatch = error_of(
        lambda: s3.upload_part(Bucket="kinds", Key="k", UploadId=default["UploadId"], PartNumber=1, Body=b"x", ChecksumAlgorithm="CRC32")
    )
    assert mismatch["Message"] == "Checksum Type mismatch occurred, expected checksum Type: sha256, actual checksum Type: crc32"
