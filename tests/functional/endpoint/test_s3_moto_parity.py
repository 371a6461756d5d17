"""S3's tags, storage classes, ACLs and bucket configurations as boto3 sees them on the endpoint.

What AWS answers (recorded against real S3): tags on buckets and objects (the ``x-amz-tagging``
header, TaggingDirective on copies), an object's storage class coming back, the configurations
a bucket stores (CORS, lifecycle, policy, encryption, ownership controls, public access block,
acceleration, versioning) with S3's defaults and ``NoSuch*`` errors, ACLs disabled by default and
answered when enabled, and ListObjectVersions of a bucket that keeps one version of each object.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError


@pytest.fixture(scope="module")
def s3(aws: Callable[..., Any]) -> Any:
    return aws("s3")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"parity-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> dict[str, Any]:
    return dict(excinfo.value.response["Error"])


def _tags(answer: dict[str, Any]) -> list[tuple[str, str]]:
    return [(t["Key"], t["Value"]) for t in answer["TagSet"]]


# -- tags --------------------------------------------------------------------------------------


def test_bucket_tags_are_stored_replaced_and_deleted(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as missing:
        s3.get_bucket_tagging(Bucket=bucket)
    assert _error(missing) == {"Code": "NoSuchTagSet", "Message": "The TagSet does not exist", "BucketName": bucket}
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "team", "Value": "data"}, {"Key": "empty", "Value": ""}]})
    assert _tags(s3.get_bucket_tagging(Bucket=bucket)) == [("team", "data"), ("empty", "")]
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "cost", "Value": "42"}]})
    assert _tags(s3.get_bucket_tagging(Bucket=bucket)) == [("cost", "42")]
    s3.delete_bucket_tagging(Bucket=bucket)
    with pytest.raises(ClientError) as deleted:
        s3.get_bucket_tagging(Bucket=bucket)
    assert _error(deleted)["Code"] == "NoSuchTagSet"


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ([("k", "a"), ("k", "b")], {"Code": "InvalidTag", "Message": "Cannot provide multiple Tags with the same key", "TagKey": "k"}),
        ([("aws:x", "a")], {"Code": "InvalidTag", "Message": "System tags cannot be added/updated by requester", "TagKey": "aws:x"}),
        ([("a,b", "v")], {"Code": "InvalidTag", "Message": "The TagKey you have provided is invalid", "TagKey": "a,b"}),
    ],
)
def test_bucket_tags_s3_refuses(s3: Any, bucket: str, tags: list[tuple[str, str]], expected: dict[str, str]) -> None:
    with pytest.raises(ClientError) as refused:
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags]})
    assert _error(refused) == expected


def test_object_tags_from_the_put_header_then_replaced_and_deleted_without_a_new_write(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="data.csv", Body=b"a,b\n", Tagging="stage=raw&owner=")
    before = s3.head_object(Bucket=bucket, Key="data.csv")
    assert before["TagCount"] == 2
    assert _tags(s3.get_object_tagging(Bucket=bucket, Key="data.csv")) == [("stage", "raw"), ("owner", "")]
    s3.put_object_tagging(Bucket=bucket, Key="data.csv", Tagging={"TagSet": [{"Key": "stage", "Value": "clean"}]})
    after = s3.get_object(Bucket=bucket, Key="data.csv")
    assert after["TagCount"] == 1
    assert (after["ETag"], after["LastModified"]) == (before["ETag"], before["LastModified"])
    s3.delete_object_tagging(Bucket=bucket, Key="data.csv")
    assert s3.get_object_tagging(Bucket=bucket, Key="data.csv")["TagSet"] == []
    assert "TagCount" not in s3.head_object(Bucket=bucket, Key="data.csv")
    # A new write of the key is a new object: the old one's tags go with it.
    s3.put_object_tagging(Bucket=bucket, Key="data.csv", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    s3.put_object(Bucket=bucket, Key="data.csv", Body=b"new")
    assert s3.get_object_tagging(Bucket=bucket, Key="data.csv")["TagSet"] == []


def test_object_tagging_errors(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as missing:
        s3.put_object_tagging(Bucket=bucket, Key="nope", Tagging={"TagSet": []})
    assert _error(missing)["Code"] == "NoSuchKey"
    with pytest.raises(ClientError) as duplicate:
        s3.put_object(Bucket=bucket, Key="k", Body=b"", Tagging="a=1&a=2")
    assert _error(duplicate) == {
        "Code": "InvalidArgument",
        "Message": "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.",
        "ArgumentName": "x-amz-tagging",
        "ArgumentValue": "a=1&a=2",
    }
    s3.put_object(Bucket=bucket, Key="k", Body=b"")
    with pytest.raises(ClientError) as system:
        s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": "aws:x", "Value": "1"}]})
    assert _error(system)["Message"] == "Your TagKey cannot be prefixed with aws:"
    with pytest.raises(ClientError) as too_many:
        s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": f"k{i}", "Value": ""} for i in range(11)]})
    assert _error(too_many)["Code"] == "BadRequest"


def test_copies_keep_tags_unless_the_tagging_directive_replaces_them(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x", Tagging="a=1")
    s3.copy_object(Bucket=bucket, Key="kept", CopySource={"Bucket": bucket, "Key": "src"})
    assert _tags(s3.get_object_tagging(Bucket=bucket, Key="kept")) == [("a", "1")]
    s3.copy_object(Bucket=bucket, Key="replaced", CopySource={"Bucket": bucket, "Key": "src"}, TaggingDirective="REPLACE", Tagging="b=2")
    assert _tags(s3.get_object_tagging(Bucket=bucket, Key="replaced")) == [("b", "2")]


def test_a_multipart_upload_gives_its_object_its_tags_and_storage_class(s3: Any, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big", Tagging="kind=big", StorageClass="STANDARD_IA")
    part = s3.upload_part(Bucket=bucket, Key="big", UploadId=upload["UploadId"], PartNumber=1, Body=b"x" * 10)
    s3.complete_multipart_upload(
        Bucket=bucket, Key="big", UploadId=upload["UploadId"], MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}
    )
    assert _tags(s3.get_object_tagging(Bucket=bucket, Key="big")) == [("kind", "big")]
    assert s3.head_object(Bucket=bucket, Key="big")["StorageClass"] == "STANDARD_IA"


# -- storage classes ---------------------------------------------------------------------------


def test_the_storage_class_comes_back_with_head_and_listings(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="cold", Body=b"x", StorageClass="STANDARD_IA")
    s3.put_object(Bucket=bucket, Key="hot", Body=b"x")
    assert s3.head_object(Bucket=bucket, Key="cold")["StorageClass"] == "STANDARD_IA"
    assert "StorageClass" not in s3.head_object(Bucket=bucket, Key="hot")  # S3 sends none for STANDARD
    listed = {o["Key"]: o["StorageClass"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert listed == {"cold": "STANDARD_IA", "hot": "STANDARD"}
    # A copy that names no class is STANDARD; copying in place to change the class is allowed.
    s3.copy_object(Bucket=bucket, Key="cold", CopySource={"Bucket": bucket, "Key": "cold"}, StorageClass="ONEZONE_IA")
    assert s3.head_object(Bucket=bucket, Key="cold")["StorageClass"] == "ONEZONE_IA"


def test_storage_classes_s3_refuses_and_archived_objects_it_will_not_read(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as invalid:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", StorageClass="OUTPOSTS")
    assert _error(invalid) == {
        "Code": "InvalidStorageClass",
        "Message": "The storage class you specified is not valid",
        "StorageClassRequested": "OUTPOSTS",
    }
    s3.put_object(Bucket=bucket, Key="archive", Body=b"x", StorageClass="GLACIER")
    assert s3.head_object(Bucket=bucket, Key="archive")["StorageClass"] == "GLACIER"
    with pytest.raises(ClientError) as archived:
        s3.get_object(Bucket=bucket, Key="archive")
    assert _error(archived)["Code"] == "InvalidObjectState"
    assert archived.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


# -- bucket configurations ---------------------------------------------------------------------


def test_cors_is_stored_and_deleted(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as missing:
        s3.get_bucket_cors(Bucket=bucket)
    assert _error(missing) == {"Code": "NoSuchCORSConfiguration", "Message": "The CORS configuration does not exist", "BucketName": bucket}
    rule = {"AllowedMethods": ["GET", "PUT"], "AllowedOrigins": ["https://example.com"], "MaxAgeSeconds": 300}
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [rule]})
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == [rule]
    with pytest.raises(ClientError) as bad:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [{"AllowedMethods": ["PATCH"], "AllowedOrigins": ["*"]}]})
    assert _error(bad) == {"Code": "InvalidRequest", "Message": "Found unsupported HTTP method in CORS config. Unsupported method is PATCH"}
    s3.delete_bucket_cors(Bucket=bucket)
    with pytest.raises(ClientError):
        s3.get_bucket_cors(Bucket=bucket)


def test_lifecycle_rules_are_stored_with_their_dates(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as missing:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert _error(missing)["Code"] == "NoSuchLifecycleConfiguration"
    midnight = datetime(2031, 1, 1, tzinfo=UTC)
    rules = [
        {"ID": "old", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Date": midnight}},
        {"ID": "uploads", "Filter": {}, "Status": "Enabled", "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
    ]
    answer = s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    assert answer["TransitionDefaultMinimumObjectSize"] == "all_storage_classes_128K"
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert got["Rules"][0]["Expiration"]["Date"] == midnight
    assert got["Rules"][1]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    with pytest.raises(ClientError) as not_midnight:
        s3.put_bucket_lifecycle_configuration(
            Bucket=bucket,
            LifecycleConfiguration={"Rules": [{**rules[0], "Expiration": {"Date": datetime(2031, 1, 1, 12, tzinfo=UTC)}}]},
        )
    assert _error(not_midnight)["Message"] == "'Date' must be at midnight GMT"
    with pytest.raises(ClientError) as no_action:
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [{"Filter": {}, "Status": "Enabled"}]})
    assert _error(no_action)["Code"] == "InvalidRequest"
    s3.delete_bucket_lifecycle(Bucket=bucket)
    with pytest.raises(ClientError):
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)


def test_a_policy_is_kept_as_sent(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as missing:
        s3.get_bucket_policy(Bucket=bucket)
    assert _error(missing) == {"Code": "NoSuchBucketPolicy", "Message": "The bucket policy does not exist", "BucketName": bucket}
    statement = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
    policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    s3.put_bucket_policy(Bucket=bucket, Policy=policy)
    assert s3.get_bucket_policy(Bucket=bucket)["Policy"] == policy
    for text, message in (
        ("nope", "Policies must be valid JSON and the first byte must be '{'"),
        ("{}", "Missing required field Statement"),
    ):
        with pytest.raises(ClientError) as bad:
            s3.put_bucket_policy(Bucket=bucket, Policy=text)
        assert _error(bad) == {"Code": "MalformedPolicy", "Message": message}
    s3.delete_bucket_policy(Bucket=bucket)
    s3.delete_bucket_policy(Bucket=bucket)  # deleting none is no error


def test_encryption_defaults_to_sse_s3_and_returns_to_it(s3: Any, bucket: str) -> None:
    default = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}]}
    assert s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"] == default
    kms = {
        "Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/k"}, "BucketKeyEnabled": True}
        ]
    }
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=kms)
    assert s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"] == kms
    with pytest.raises(ClientError) as bad:
        s3.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256", "KMSMasterKeyID": "k"}}]
            },
        )
    assert _error(bad)["Code"] == "InvalidArgument"
    s3.delete_bucket_encryption(Bucket=bucket)
    assert s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"] == default


def test_ownership_controls_and_public_access_block_have_the_2023_defaults(s3: Any, bucket: str) -> None:
    enforced = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"] == enforced
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "ObjectWriter"}]
    s3.delete_bucket_ownership_controls(Bucket=bucket)
    with pytest.raises(ClientError) as gone:
        s3.get_bucket_ownership_controls(Bucket=bucket)
    assert _error(gone)["Code"] == "OwnershipControlsNotFoundError"

    blocked = dict.fromkeys(("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True)
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == blocked
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={"BlockPublicAcls": True})
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == {
        **dict.fromkeys(blocked, False),
        "BlockPublicAcls": True,
    }
    s3.delete_public_access_block(Bucket=bucket)
    with pytest.raises(ClientError) as none:
        s3.get_public_access_block(Bucket=bucket)
    assert _error(none)["Code"] == "NoSuchPublicAccessBlockConfiguration"


def test_a_bucket_created_with_an_ownership_keeps_it_and_a_bad_one_is_refused(s3: Any) -> None:
    name = f"parity-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, ObjectOwnership="BucketOwnerPreferred")
    assert s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerPreferred"}]
    with pytest.raises(ClientError) as bad:
        s3.create_bucket(Bucket=f"parity-{uuid.uuid4().hex[:12]}", ObjectOwnership="Random")
    assert _error(bad)["Message"] == "Invalid x-amz-object-ownership header: Random"


def test_acceleration_and_versioning(s3: Any, bucket: str) -> None:
    assert "Status" not in s3.get_bucket_accelerate_configuration(Bucket=bucket)
    s3.put_bucket_accelerate_configuration(Bucket=bucket, AccelerateConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_accelerate_configuration(Bucket=bucket)["Status"] == "Enabled"
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"
    with pytest.raises(ClientError) as malformed:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "enabled"})
    assert _error(malformed)["Code"] == "MalformedXML"
    # Local buckets keep one version of each object: enabling versioning is refused, never pretended.
    with pytest.raises(ClientError) as refused:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert _error(refused)["Code"] == "NotImplemented"


def test_configurations_of_a_missing_bucket_answer_no_such_bucket(s3: Any) -> None:
    for call in (s3.get_bucket_cors, s3.get_bucket_tagging, s3.get_bucket_encryption, s3.get_bucket_versioning, s3.get_bucket_acl):
        with pytest.raises(ClientError) as missing:
            call(Bucket="parity-no-such-bucket")
        assert _error(missing)["Code"] == "NoSuchBucket"


def test_a_deleted_bucket_s_configurations_do_not_come_back_with_a_new_one(s3: Any, bucket: str) -> None:
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    s3.delete_bucket(Bucket=bucket)
    s3.create_bucket(Bucket=bucket)
    with pytest.raises(ClientError) as fresh:
        s3.get_bucket_tagging(Bucket=bucket)
    assert _error(fresh)["Code"] == "NoSuchTagSet"


# -- ACLs --------------------------------------------------------------------------------------


def _grants(answer: dict[str, Any]) -> list[tuple[str, str]]:
    return [(g["Grantee"].get("URI") or g["Grantee"].get("ID") or "", g["Permission"]) for g in answer["Grants"]]


def test_acls_are_disabled_by_default_and_answer_the_owner_s_full_control(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    owner = s3.get_bucket_acl(Bucket=bucket)["Owner"]["ID"]
    assert _grants(s3.get_bucket_acl(Bucket=bucket)) == [(owner, "FULL_CONTROL")]
    assert _grants(s3.get_object_acl(Bucket=bucket, Key="k")) == [(owner, "FULL_CONTROL")]
    s3.put_object_acl(Bucket=bucket, Key="k", ACL="private")  # the owner's full control is all a bucket without ACLs takes
    s3.put_object(Bucket=bucket, Key="k2", Body=b"x", ACL="bucket-owner-full-control")
    with pytest.raises(ClientError) as refused:
        s3.put_object(Bucket=bucket, Key="k3", Body=b"x", ACL="public-read")
    assert _error(refused) == {"Code": "AccessControlListNotSupported", "Message": "The bucket does not allow ACLs"}
    with pytest.raises(ClientError) as at_creation:
        s3.create_bucket(Bucket=f"parity-{uuid.uuid4().hex[:12]}", ACL="public-read")
    assert _error(at_creation)["Code"] == "InvalidBucketAclWithObjectOwnership"


def test_acls_once_enabled_are_stored_and_answered(s3: Any, bucket: str) -> None:
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    owner = s3.get_bucket_acl(Bucket=bucket)["Owner"]["ID"]
    all_users = "http://acs.amazonaws.com/groups/global/AllUsers"
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert _grants(s3.get_bucket_acl(Bucket=bucket)) == [(owner, "FULL_CONTROL"), (all_users, "READ")]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="public-read-write")
    assert _grants(s3.get_object_acl(Bucket=bucket, Key="k")) == [(owner, "FULL_CONTROL"), (all_users, "READ"), (all_users, "WRITE")]
    log_delivery = "http://acs.amazonaws.com/groups/s3/LogDelivery"
    s3.put_object_acl(Bucket=bucket, Key="k", GrantRead=f'uri="{log_delivery}"')
    assert _grants(s3.get_object_acl(Bucket=bucket, Key="k")) == [(log_delivery, "READ")]
    with pytest.raises(ClientError) as both:
        s3.put_object_acl(Bucket=bucket, Key="k", ACL="private", GrantRead=f'uri="{log_delivery}"')
    assert _error(both)["Message"] == "Specifying both Canned ACLs and Header Grants is not allowed"
    with pytest.raises(ClientError) as nothing:
        s3.put_bucket_acl(Bucket=bucket)
    assert _error(nothing)["Code"] == "MissingSecurityHeader"


# -- versions ----------------------------------------------------------------------------------


def test_list_object_versions_lists_each_object_once_as_version_null(s3: Any, bucket: str) -> None:
    for key in ("a", "b/1", "b/2", "c"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    page = s3.list_object_versions(Bucket=bucket, MaxKeys=2)
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in page["Versions"]] == [("a", "null", True), ("b/1", "null", True)]
    assert (page["IsTruncated"], page["NextKeyMarker"], page["NextVersionIdMarker"]) == (True, "b/1", "null")
    rest = s3.list_object_versions(Bucket=bucket, KeyMarker=page["NextKeyMarker"], VersionIdMarker=page["NextVersionIdMarker"])
    assert [v["Key"] for v in rest["Versions"]] == ["b/2", "c"]
    assert "DeleteMarkers" not in rest
    grouped = s3.list_object_versions(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in grouped["CommonPrefixes"]] == ["b/"]
