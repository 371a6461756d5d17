"""S3's ListObjectVersions, for buckets that keep one version of each object.

A local bucket is what S3 calls unversioned: each object has one version, whose id is
``null``, and there are no delete markers. Tools that empty a bucket (or check that it is
empty) list its versions whatever its versioning: they get each object once.
"""

from __future__ import annotations

from typing import Any

from ...context import Context
from ...errors import AwsError
from ._common import OPERATIONS, etag_header, must_bucket, owner, url_encoder
from .listing import list_page, max_keys_of

_NULL = "null"
"""The version id of an object in a bucket that never had versioning enabled."""


@OPERATIONS("ListObjectVersions")
def list_object_versions(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bucket: str = params["Bucket"]
    backend = must_bucket(ctx, bucket)
    encode = url_encoder(params.get("EncodingType"))
    prefix, delimiter = params.get("Prefix") or "", params.get("Delimiter") or ""
    key_marker, version_marker = params.get("KeyMarker") or "", params.get("VersionIdMarker")
    if version_marker and not key_marker:
        raise AwsError(
            "InvalidArgument",
            "A version-id marker cannot be specified without a key marker.",
            400,
            fields={"ArgumentName": "version-id-marker", "ArgumentValue": str(version_marker)},
        )
    limit = max_keys_of(params)
    # The key marker's one version ("null") comes before any version marker could point after it.
    page = list_page(backend, bucket, prefix=prefix, delimiter=delimiter, after=key_marker, max_keys=limit)
    answer: dict[str, Any] = {
        "Name": bucket,
        "Prefix": encode(prefix),
        "KeyMarker": encode(key_marker),
        "VersionIdMarker": version_marker or "",
        "MaxKeys": limit,
        "IsTruncated": page.truncated,
    }
    if page.contents:
        answer["Versions"] = [
            {
                "ETag": etag_header(info.etag),
                "Size": info.size,
                "StorageClass": info.storage_class,
                "Key": encode(info.key),
                "VersionId": _NULL,
                "IsLatest": True,
                "LastModified": info.last_modified,
                "Owner": owner(ctx),
            }
            for info in page.contents
        ]
    if page.prefixes:
        answer["CommonPrefixes"] = [{"Prefix": encode(p)} for p in page.prefixes]
    if delimiter:
        answer["Delimiter"] = encode(delimiter)
    if params.get("EncodingType"):
        answer["EncodingType"] = params["EncodingType"]
    if page.truncated and page.last is not None:
        answer["NextKeyMarker"] = encode(page.last)
        if page.contents and page.contents[-1].key == page.last:
            answer["NextVersionIdMarker"] = _NULL
    return answer
