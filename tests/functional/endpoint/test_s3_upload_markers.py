"""ListMultipartUploads' markers: a page starts after its marker upload, even once that upload is gone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError


@pytest.fixture(scope="module")
def s3(aws: Callable[..., Any]) -> Any:
    return aws("s3")


def test_aborting_each_page_of_uploads_while_paging_leaves_none_behind(s3: Any) -> None:
    s3.create_bucket(Bucket="abort-pages")
    for _ in range(4):
        s3.create_multipart_upload(Bucket="abort-pages", Key="staging/file.csv")
    s3.create_multipart_upload(Bucket="abort-pages", Key="staging/other.csv")
    aborted = 0
    for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket="abort-pages", PaginationConfig={"PageSize": 2}):
        for upload in page.get("Uploads", []):
            s3.abort_multipart_upload(Bucket="abort-pages", Key=upload["Key"], UploadId=upload["UploadId"])
            aborted += 1
    assert aborted == 5
    assert s3.list_multipart_uploads(Bucket="abort-pages").get("Uploads", []) == []


def test_a_page_after_a_marker_upload_that_is_gone_starts_where_it_was(s3: Any) -> None:
    s3.create_bucket(Bucket="gone-marker")
    ids = [s3.create_multipart_upload(Bucket="gone-marker", Key=k)["UploadId"] for k in ("k1", "k1", "k1", "k2")]
    first = s3.list_multipart_uploads(Bucket="gone-marker", MaxUploads=2)
    assert [u["UploadId"] for u in first["Uploads"]] == ids[:2]
    s3.abort_multipart_upload(Bucket="gone-marker", Key="k1", UploadId=ids[1])
    rest = s3.list_multipart_uploads(Bucket="gone-marker", KeyMarker=first["NextKeyMarker"], UploadIdMarker=first["NextUploadIdMarker"])
    assert [(u["Key"], u["UploadId"]) for u in rest["Uploads"]] == [("k1", ids[2]), ("k2", ids[3])]


def test_an_upload_id_marker_of_another_key_is_refused(s3: Any) -> None:
    s3.create_bucket(Bucket="wrong-marker")
    other = s3.create_multipart_upload(Bucket="wrong-marker", Key="test_b")["UploadId"]
    s3.create_multipart_upload(Bucket="wrong-marker", Key="test_c")
    for marker in (other, "not-an-upload-id"):
        with pytest.raises(ClientError) as caught:
            s3.list_multipart_uploads(Bucket="wrong-marker", KeyMarker="test_c", UploadIdMarker=marker, MaxUploads=1)
        error = caught.value.response["Error"]
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert error == {
            "Code": "InvalidArgument",
            "Message": "Invalid uploadId marker",
            "ArgumentName": "upload-id-marker",
            "ArgumentValue": marker,
        }


def test_upload_ids_sort_as_their_uploads_started(s3: Any) -> None:
    s3.create_bucket(Bucket="id-order")
    ids = [s3.create_multipart_upload(Bucket="id-order", Key="k")["UploadId"] for _ in range(5)]
    listed = [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="id-order")["Uploads"]]
    assert listed == ids == sorted(ids)
