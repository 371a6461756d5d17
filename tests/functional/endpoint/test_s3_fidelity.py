"""S3's answers in detail, as AWS gives them (recorded answers of real S3 are the reference).

Each test drives the endpoint with boto3 and checks the codes, fields and shapes a client
reads: bucket regions, encryption, conditions, ranges, listing markers and tokens, owners,
multipart listings and object attributes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError


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
    s3.create_bucket(Bucket="fidelity")
    return "fidelity"


# -- buckets -----------------------------------------------------------------------------------


def test_us_east_1_creates_buckets_in_any_known_region(s3: Any, aws: Callable[..., Any]) -> None:
    s3.create_bucket(Bucket="fidelity-west", CreateBucketConfiguration={"LocationConstraint": "us-west-1"})
    assert s3.get_bucket_location(Bucket="fidelity-west")["LocationConstraint"] == "us-west-1"
    assert s3.head_bucket(Bucket="fidelity-west")["BucketRegion"] == "us-west-1"
    code, status, error = error_of(
        lambda: s3.create_bucket(Bucket="fidelity-nowhere", CreateBucketConfiguration={"LocationConstraint": "foo"})
    )
    assert (code, status, error["LocationConstraint"]) == ("InvalidLocationConstraint", 400, "foo")
    code, _, error = error_of(
        lambda: aws("s3", region_name="eu-west-1").create_bucket(
            Bucket="fidelity-bar", CreateBucketConfiguration={"LocationConstraint": "bar"}
        )
    )
    assert (code, error["Message"]) == (
        "IllegalLocationConstraintException",
        "The bar location constraint is incompatible for the region specific endpoint this request was sent to.",
    )


def test_a_bucket_owned_in_another_region_is_already_owned_even_from_us_east_1(s3: Any) -> None:
    # Only a us-east-1 bucket created again through us-east-1 gets the legacy success.
    for constraint in ("us-west-1", "us-east-2"):
        code, status, error = error_of(
            lambda constraint=constraint: s3.create_bucket(  # type: ignore[misc]
                Bucket="fidelity-west", CreateBucketConfiguration={"LocationConstraint": constraint}
            )
        )
        assert (code, status, error["BucketName"]) == ("BucketAlreadyOwnedByYou", 409, "fidelity-west")


def test_the_eu_alias_is_kept_as_the_location_and_means_eu_west_1(aws: Callable[..., Any]) -> None:
    europe = aws("s3", region_name="eu-west-1")
    europe.create_bucket(Bucket="fidelity-eu-alias", CreateBucketConfiguration={"LocationConstraint": "EU"})
    assert europe.get_bucket_location(Bucket="fidelity-eu-alias")["LocationConstraint"] == "EU"
    listed = europe.list_buckets(Prefix="fidelity-eu-alias")["Buckets"]
    assert [(b["Name"], b["BucketRegion"]) for b in listed] == [("fidelity-eu-alias", "eu-west-1")]
    code, _, error = error_of(
        lambda: aws("s3", region_name="us-east-2").create_bucket(
            Bucket="fidelity-eu-2", CreateBucketConfiguration={"LocationConstraint": "EU"}
        )
    )
    assert (code, error["Message"]) == (
        "IllegalLocationConstraintException",
        "The EU location constraint is incompatible for the region specific endpoint this request was sent to.",
    )


def test_owners_carry_only_the_id(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="owned", Body=b"x")
    assert set(s3.list_buckets()["Owner"]) == {"ID"}
    assert set(s3.list_objects(Bucket=bucket, Prefix="owned")["Contents"][0]["Owner"]) == {"ID"}
    assert set(s3.list_objects_v2(Bucket=bucket, Prefix="owned", FetchOwner=True)["Contents"][0]["Owner"]) == {"ID"}
    assert "Owner" not in s3.list_objects_v2(Bucket=bucket, Prefix="owned")["Contents"][0]


# -- objects -----------------------------------------------------------------------------------


def test_every_object_answer_states_sse_s3(s3: Any, bucket: str) -> None:
    assert s3.put_object(Bucket=bucket, Key="sse", Body=b"data")["ServerSideEncryption"] == "AES256"
    assert s3.head_object(Bucket=bucket, Key="sse")["ServerSideEncryption"] == "AES256"
    assert s3.get_object(Bucket=bucket, Key="sse")["ServerSideEncryption"] == "AES256"
    copied = s3.copy_object(Bucket=bucket, Key="sse-copy", CopySource={"Bucket": bucket, "Key": "sse"})
    assert copied["ServerSideEncryption"] == "AES256"


def test_conditions_in_s3s_order_and_a_future_if_modified_since_is_ignored(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="conditions", Body=b"data")["ETag"]
    last = s3.head_object(Bucket=bucket, Key="conditions")["LastModified"]
    now = datetime.now(UTC)
    yesterday = now - timedelta(days=1)
    everything = {"IfModifiedSince": now, "IfUnmodifiedSince": yesterday, "IfNoneMatch": etag}
    code, status, error = error_of(lambda: s3.get_object(Bucket=bucket, Key="conditions", IfMatch="etag123", **everything))
    assert (code, status, error["Condition"]) == ("PreconditionFailed", 412, "If-Match")
    code, _, error = error_of(lambda: s3.get_object(Bucket=bucket, Key="conditions", **everything))
    assert (code, error["Condition"]) == ("PreconditionFailed", "If-Unmodified-Since")
    _, status, _ = error_of(lambda: s3.get_object(Bucket=bucket, Key="conditions", IfModifiedSince=now, IfNoneMatch=etag))
    assert status == 304
    _, status, _ = error_of(lambda: s3.get_object(Bucket=bucket, Key="conditions", IfNoneMatch=etag.strip('"')))
    assert status == 304  # an ETag without its quotes is the same ETag
    _, status, _ = error_of(lambda: s3.get_object(Bucket=bucket, Key="conditions", IfModifiedSince=last))
    assert status == 304
    assert s3.get_object(Bucket=bucket, Key="conditions", IfUnmodifiedSince=last)["Body"].read() == b"data"
    tomorrow = now + timedelta(days=1)
    assert s3.get_object(Bucket=bucket, Key="conditions", IfModifiedSince=tomorrow)["Body"].read() == b"data"
    assert s3.head_object(Bucket=bucket, Key="conditions", IfModifiedSince=tomorrow)["ContentLength"] == 4
    code, status, _ = error_of(lambda: s3.head_object(Bucket=bucket, Key="conditions", IfMatch='"0000"'))
    assert (code, status) == ("412", 412)  # a HEAD answer has no body to name the code


@pytest.mark.parametrize(
    ("header", "body", "content_range"),
    [
        ("bytes=0-8", b"012345678", "bytes 0-8/10"),
        ("bytes=1-1", b"1", "bytes 1-1/10"),
        ("bytes=1-", b"123456789", "bytes 1-9/10"),
        ("bytes=-2", b"89", "bytes 8-9/10"),
        ("bytes=-15", b"0123456789", "bytes 0-9/10"),
        ("bytes=0-100", b"0123456789", "bytes 0-9/10"),
        ("bytes=1-0", b"0123456789", None),
        ("bytes=-1-", b"0123456789", None),
        ("bytes=0--1", b"0123456789", None),
        ("bytes=0-1,3-4,7-9", b"0123456789", None),
        ("0-1", b"0123456789", None),
        ("bytes=-", b"0123456789", None),
    ],
)
def test_range_forms(s3: Any, bucket: str, header: str, body: bytes, content_range: str | None) -> None:
    s3.put_object(Bucket=bucket, Key="digits", Body=b"0123456789")
    got = s3.get_object(Bucket=bucket, Key="digits", Range=header)
    assert got["Body"].read() == body
    assert got.get("ContentRange") == content_range
    assert got["ResponseMetadata"]["HTTPStatusCode"] == (206 if content_range else 200)


@pytest.mark.parametrize("header", ["bytes=-0", "bytes=100-200"])
def test_unsatisfiable_ranges(s3: Any, bucket: str, header: str) -> None:
    s3.put_object(Bucket=bucket, Key="digits", Body=b"0123456789")
    code, status, error = error_of(lambda: s3.get_object(Bucket=bucket, Key="digits", Range=header))
    assert (code, status, error["RangeRequested"], error["ActualObjectSize"]) == ("InvalidRange", 416, header, "10")
    assert error["Message"] == "The requested range is not satisfiable"


def test_object_attributes(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="data.txt", Body=b"69\n420\n")
    every = ["StorageClass", "ETag", "ObjectSize", "ObjectParts"]
    answer = s3.get_object_attributes(Bucket=bucket, Key="data.txt", ObjectAttributes=every)
    assert (answer["ETag"], answer["ObjectSize"], answer["StorageClass"]) == (hashlib.md5(b"69\n420\n").hexdigest(), 7, "STANDARD")
    assert "ObjectParts" not in answer and isinstance(answer["LastModified"], datetime)
    only = s3.get_object_attributes(Bucket=bucket, Key="data.txt", ObjectAttributes=["StorageClass"])
    assert set(only) - {"ResponseMetadata"} == {"LastModified", "StorageClass"}
    upload = s3.create_multipart_upload(Bucket=bucket, Key="parted")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="parted", UploadId=upload, PartNumber=1, Body=b"upload-part-1" * 5)["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="parted", UploadId=upload, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    parted = s3.get_object_attributes(Bucket=bucket, Key="parted", ObjectAttributes=every)
    assert parted["ObjectParts"] == {"TotalPartsCount": 1} and parted["ETag"].endswith("-1")
    code, status, error = error_of(lambda: s3.get_object_attributes(Bucket=bucket, Key="absent", ObjectAttributes=every))
    assert (code, status, error["Key"]) == ("NoSuchKey", 404, "absent")


# -- listings ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def folders(s3: Any) -> str:
    s3.create_bucket(Bucket="fidelity-folders")
    for key in ("folder/aSubfolder/subFile1", "folder/aSubfolder/subFile2", "folder/file1", "folder/file2"):
        s3.put_object(Bucket="fidelity-folders", Key=key, Body=b"content 123")
    return "fidelity-folders"


def test_list_objects_markers_skip_a_listed_common_prefix(s3: Any, folders: str) -> None:
    page = {"Bucket": folders, "Prefix": "folder/", "Delimiter": "/", "MaxKeys": 1}
    start = s3.list_objects(**page)
    assert ([p["Prefix"] for p in start["CommonPrefixes"]], start["NextMarker"], start["IsTruncated"]) == (
        ["folder/aSubfolder/"],
        "folder/aSubfolder/",
        True,
    )
    following = s3.list_objects(**page, Marker=start["NextMarker"])
    assert ([c["Key"] for c in following["Contents"]], following["NextMarker"]) == (["folder/file1"], "folder/file1")
    inside = s3.list_objects(**page, Marker="folder/aSubfolder/subFile1")
    assert [c["Key"] for c in inside["Contents"]] == ["folder/file1"]
    end = s3.list_objects(**page, Marker="folder/file1")
    assert ([c["Key"] for c in end["Contents"]], end["IsTruncated"], "NextMarker" in end) == (["folder/file2"], False, False)
    # Without a delimiter S3 sends no NextMarker: the last key is the next marker.
    assert "NextMarker" not in s3.list_objects(Bucket=folders, MaxKeys=1)


def test_list_objects_v2_refuses_an_empty_or_foreign_continuation_token(s3: Any, folders: str) -> None:
    for token in ("", "not a token!"):
        code, status, error = error_of(lambda token=token: s3.list_objects_v2(Bucket=folders, ContinuationToken=token))  # type: ignore[misc]
        assert (code, status, error["Message"], error["ArgumentName"]) == (
            "InvalidArgument",
            400,
            "The continuation token provided is incorrect",
            "continuation-token",
        )


def test_list_objects_v2_max_keys_zero_and_start_after(s3: Any, folders: str) -> None:
    empty = s3.list_objects_v2(Bucket=folders, MaxKeys=0)
    assert (empty["KeyCount"], empty["IsTruncated"], "Contents" in empty, empty["MaxKeys"]) == (0, False, False, 0)
    after = s3.list_objects_v2(Bucket=folders, StartAfter="folder/file1")
    assert ([c["Key"] for c in after["Contents"]], after["StartAfter"], after["KeyCount"]) == (["folder/file2"], "folder/file1", 1)


@pytest.mark.parametrize("operation", ["list_objects", "list_objects_v2", "list_multipart_uploads"])
def test_an_empty_or_unknown_encoding_type_is_refused(s3: Any, folders: str, operation: str) -> None:
    for value in ("value", ""):
        code, status, error = error_of(lambda value=value: getattr(s3, operation)(Bucket=folders, EncodingType=value))  # type: ignore[misc]
        assert (code, status, error["Message"], error["ArgumentName"]) == (
            "InvalidArgument",
            400,
            "Invalid Encoding Method specified in Request",
            "encoding-type",
        )


# -- multipart listings --------------------------------------------------------------------------


def test_list_multipart_uploads_markers_and_order(s3: Any) -> None:
    s3.create_bucket(Bucket="fidelity-uploads")
    name = "fidelity-uploads"
    empty = s3.list_multipart_uploads(Bucket=name)
    assert (empty["NextKeyMarker"], empty["NextUploadIdMarker"], empty["KeyMarker"], "Prefix" in empty, "Uploads" in empty) == (
        "",
        "",
        "",
        False,
        False,
    )
    ids = {key: [] for key in ("key-1", "key-2", "key-3")}  # type: dict[str, list[str]]
    for key in ("key-3", "key-2", "key-1", "key-1", "key-1"):
        ids[key].append(s3.create_multipart_upload(Bucket=name, Key=key)["UploadId"])
    in_order = [("key-1", i) for i in ids["key-1"]] + [("key-2", ids["key-2"][0]), ("key-3", ids["key-3"][0])]
    listed = s3.list_multipart_uploads(Bucket=name)
    assert [(u["Key"], u["UploadId"]) for u in listed["Uploads"]] == in_order
    assert (listed["NextKeyMarker"], listed["NextUploadIdMarker"], listed["IsTruncated"]) == ("key-3", ids["key-3"][0], False)
    upload = listed["Uploads"][0]
    assert set(upload["Owner"]) == {"ID"} and set(upload["Initiator"]) == {"ID", "DisplayName"}
    both = s3.list_multipart_uploads(Bucket=name, KeyMarker="key-1", UploadIdMarker=ids["key-1"][0], MaxUploads=1)
    assert [(u["Key"], u["UploadId"]) for u in both["Uploads"]] == [in_order[1]]
    assert (both["NextKeyMarker"], both["NextUploadIdMarker"], both["IsTruncated"]) == ("key-1", ids["key-1"][1], True)
    key_only = s3.list_multipart_uploads(Bucket=name, KeyMarker="key-1", MaxUploads=1)
    assert [(u["Key"], u["UploadId"]) for u in key_only["Uploads"]] == [in_order[3]]
    last = s3.list_multipart_uploads(Bucket=name, KeyMarker="key-3", MaxUploads=1)
    assert ("Uploads" in last, last["NextKeyMarker"], last["IsTruncated"]) == (False, "", False)
    for key, upload_ids in ids.items():
        for upload_id in upload_ids:
            s3.abort_multipart_upload(Bucket=name, Key=key, UploadId=upload_id)


def test_list_multipart_uploads_common_prefixes_and_markers(s3: Any) -> None:
    s3.create_bucket(Bucket="fidelity-upload-folders")
    name = "fidelity-upload-folders"
    for key in ("folder/aSubfolder/subFile1", "folder/aSubfolder/subFile2", "folder/file1", "folder/file2"):
        s3.create_multipart_upload(Bucket=name, Key=key)
    page = {"Bucket": name, "Prefix": "folder/", "Delimiter": "/", "MaxUploads": 1}
    start = s3.list_multipart_uploads(**page)
    assert [p["Prefix"] for p in start["CommonPrefixes"]] == ["folder/aSubfolder/"]
    # A page of common prefixes only leaves the next markers empty, as S3 does.
    assert (start["IsTruncated"], start["NextKeyMarker"], start["NextUploadIdMarker"], start["Prefix"]) == (True, "", "", "folder/")
    for marker in ("folder/aSubfolder/", "folder/aSubfolder/subFile1"):
        following = s3.list_multipart_uploads(**page, KeyMarker=marker)
        assert [u["Key"] for u in following["Uploads"]] == ["folder/file1"] and "CommonPrefixes" not in following
        assert following["NextKeyMarker"] == "folder/file1" and following["IsTruncated"]


def test_list_parts_always_has_a_next_part_number_marker(s3: Any, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="parts-listed")
    assert upload["ServerSideEncryption"] == "AES256"
    upload_id = upload["UploadId"]
    empty = s3.list_parts(Bucket=bucket, Key="parts-listed", UploadId=upload_id)
    assert (empty["NextPartNumberMarker"], empty["PartNumberMarker"], empty["IsTruncated"], "Parts" in empty) == (0, 0, False, False)
    assert set(empty["Owner"]) == {"ID"} and set(empty["Initiator"]) == {"ID", "DisplayName"}
    for number in (1, 2):
        part = s3.upload_part(Bucket=bucket, Key="parts-listed", UploadId=upload_id, PartNumber=number, Body=b"data")
        assert part["ServerSideEncryption"] == "AES256"
    first = s3.list_parts(Bucket=bucket, Key="parts-listed", UploadId=upload_id, MaxParts=1)
    assert ([p["PartNumber"] for p in first["Parts"]], first["NextPartNumberMarker"], first["IsTruncated"]) == ([1], 1, True)
    beyond = s3.list_parts(Bucket=bucket, Key="parts-listed", UploadId=upload_id, PartNumberMarker=10)
    assert (beyond["NextPartNumberMarker"], "Parts" in beyond) == (0, False)
    code, status, error = error_of(lambda: s3.abort_multipart_upload(Bucket=bucket, Key="parts-listed", UploadId="unknown"))
    assert (code, status, error["UploadId"]) == ("NoSuchUpload", 404, "unknown")
    s3.abort_multipart_upload(Bucket=bucket, Key="parts-listed", UploadId=upload_id)


def test_bucket_tagging_and_policy_succeed_with_no_content(s3: Any, bucket: str) -> None:
    # 204, as real S3 answers them (the model names no status for either).
    tagged = s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "team", "Value": "data"}]})
    assert tagged["ResponseMetadata"]["HTTPStatusCode"] == 204
    statement = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::fidelity/*"}
    policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    assert s3.put_bucket_policy(Bucket=bucket, Policy=policy)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert (
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]})[
            "ResponseMetadata"
        ]["HTTPStatusCode"]
        == 200
    )
