"""S3: uploads through a presigned PUT URL (operator), buckets, listings, downloads through a presigned GET URL.

Bytes never pass through the API: on AWS a Lambda answers at most 6 MB, so a download is
a presigned URL (``?redirect=true`` answers 307 to it, for browsers and ``curl -L``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import RedirectResponse

from ..aws import Aws
from ..schemas import BucketList, ObjectDetail, ObjectList, PresignedUrl, UploadRequest
from ._deps import AwsApi, Operator, Viewer, errors

__all__ = ["router"]

router = APIRouter(tags=["objects"])

#: How long a download URL is valid.
DOWNLOAD_EXPIRES_S = 900

BucketName = Annotated[str, Path(min_length=3, max_length=63)]


def _head_bucket(aws: Aws, bucket: str) -> None:
    # A URL for a bucket that does not exist would only fail when used: say so now (404).
    aws.call("s3", "HeadBucket", {"Bucket": bucket})


@router.post("/objects/uploads", status_code=201, response_model=PresignedUrl, responses=errors(404))
def presign_upload(aws: AwsApi, _: Operator, body: UploadRequest) -> dict[str, Any]:
    _head_bucket(aws, body.bucket)
    url = aws.presign_put(body.bucket, body.key, body.expiresIn, content_type=body.contentType)
    headers = {"Content-Type": body.contentType} if body.contentType else {}
    return {"url": url, "method": "PUT", "bucket": body.bucket, "key": body.key, "expiresIn": body.expiresIn, "headers": headers}


@router.get("/buckets", response_model=BucketList, responses=errors())
def list_buckets(aws: AwsApi, _: Viewer) -> dict[str, Any]:
    found = aws.call("s3", "ListBuckets", {})
    return {"buckets": [{"name": b["Name"], "creationDate": b.get("CreationDate")} for b in found.get("Buckets", [])]}


@router.get("/buckets/{bucket}/objects", response_model=ObjectList, responses=errors(404))
def list_objects(
    aws: AwsApi,
    _: Viewer,
    bucket: BucketName,
    prefix: Annotated[str, Query(max_length=1024)] = "",
    delimiter: Annotated[str | None, Query(min_length=1, max_length=1)] = None,
    nextToken: Annotated[str | None, Query(min_length=1, max_length=4096)] = None,
    maxResults: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> dict[str, Any]:
    params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": maxResults}
    if delimiter:
        params["Delimiter"] = delimiter
    if nextToken:
        params["ContinuationToken"] = nextToken
    page = aws.call("s3", "ListObjectsV2", params)
    objects = [
        {"key": o["Key"], "size": o.get("Size", 0), "lastModified": o["LastModified"], "etag": o.get("ETag")}
        for o in page.get("Contents", [])
    ]
    return {
        "bucket": bucket,
        "prefix": prefix,
        "objects": objects,
        "commonPrefixes": [p["Prefix"] for p in page.get("CommonPrefixes", [])],
        "nextToken": page.get("NextContinuationToken") if page.get("IsTruncated") else None,
    }


@router.get(
    "/buckets/{bucket}/objects/{key:path}",
    response_model=ObjectDetail,
    responses={**errors(404), 307: {"description": "With redirect=true: to the presigned download URL"}},
)
def get_object(
    aws: AwsApi, _: Viewer, bucket: BucketName, key: Annotated[str, Path(min_length=1, max_length=1024)], redirect: bool = False
) -> Any:
    head = aws.call("s3", "HeadObject", {"Bucket": bucket, "Key": key})
    url = aws.presign_get(bucket, key, DOWNLOAD_EXPIRES_S)
    if redirect:
        return RedirectResponse(url, status_code=307)
    download = {"url": url, "method": "GET", "bucket": bucket, "key": key, "expiresIn": DOWNLOAD_EXPIRES_S, "headers": {}}
    return {
        "bucket": bucket,
        "key": key,
        "size": head.get("ContentLength", 0),
        "contentType": head.get("ContentType"),
        "lastModified": head.get("LastModified"),
        "etag": head.get("ETag"),
        "download": download,
    }
