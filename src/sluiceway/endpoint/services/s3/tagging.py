"""S3's tags: Put/Get/DeleteBucketTagging, Put/Get/DeleteObjectTagging, and the ``x-amz-tagging`` header of writes.

A bucket's tags live with its other settings (SQLite); an object's in its sidecar, beside
its metadata, so that they go with the object: replaced by a new write, removed with it.
Changing an object's tags is not a write of it (no event, same ETag and Last-Modified).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final
from urllib.parse import parse_qsl

from ....errors import InvalidNameError, NotFoundError
from ...context import Context
from ...errors import AwsError
from ._common import OPERATIONS, must_bucket, must_key, no_such_key

logger = logging.getLogger(__name__)

__all__ = ["header_tags", "tag_set"]

_MAX_OBJECT_TAGS: Final = 10
_MAX_BUCKET_TAGS: Final = 50
_MAX_KEY: Final = 128
_MAX_VALUE: Final = 256
_TAG_TEXT: Final = re.compile(r"^[\w\s+\-=.:/@]*$")
"""What a tag's key and value may hold: letters, digits, whitespace and ``+ - = . _ : / @`` (S3's tag rules)."""

_MALFORMED: Final = "The XML you provided was not well-formed or did not validate against our published schema"


def _invalid_tag(message: str, key: str, value: str | None = None) -> AwsError:
    fields = {"TagKey": key} if value is None else {"TagKey": key, "TagValue": value}
    return AwsError("InvalidTag", message, 400, fields=fields)


def _checked(tags: Sequence[tuple[str, str]], *, bucket: bool) -> list[tuple[str, str]]:
    """``tags`` if S3 takes them as a bucket's (``bucket``) or an object's; S3's ``InvalidTag`` otherwise."""
    seen: set[str] = set()
    for key, value in tags:
        if key in seen:
            raise _invalid_tag("Cannot provide multiple Tags with the same key", key)
        seen.add(key)
        if key.lower().startswith("aws:"):
            # The two kinds of tags word this refusal differently on S3.
            raise _invalid_tag(
                "System tags cannot be added/updated by requester" if bucket else "Your TagKey cannot be prefixed with aws:", key
            )
        if not key or len(key) > _MAX_KEY or not _TAG_TEXT.match(key):
            raise _invalid_tag("The TagKey you have provided is invalid", key)
        if len(value) > _MAX_VALUE or not _TAG_TEXT.match(value):
            raise _invalid_tag("The TagValue you have provided is invalid", key, value)
    if bucket and len(tags) > _MAX_BUCKET_TAGS:
        raise AwsError("InvalidTag", "Bucket tag count cannot be greater than 50", 400)
    if not bucket and len(tags) > _MAX_OBJECT_TAGS:
        raise AwsError("BadRequest", "Object tags cannot be greater than 10", 400)
    return list(tags)


def _from_shape(tagging: Mapping[str, Any] | None, *, bucket: bool) -> list[tuple[str, str]]:
    """The ``Tagging`` member of a request (``{"TagSet": [{"Key", "Value"}]}``), checked."""
    pairs: list[tuple[str, str]] = []
    for tag in (tagging or {}).get("TagSet") or []:
        key, value = tag.get("Key"), tag.get("Value")
        if key is None or value is None:
            raise AwsError("MalformedXML", _MALFORMED, 400)  # both are required members of a Tag
        pairs.append((str(key), str(value)))
    return _checked(pairs, bucket=bucket)


def tag_set(tags: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    """Tags as S3 answers them (``TagSet``)."""
    return [{"Key": key, "Value": value} for key, value in tags]


def header_tags(header: str | None) -> list[tuple[str, str]] | None:
    """The tags of a write's ``x-amz-tagging`` header (URL query form); None without one.

    Raises:
        AwsError: ``InvalidArgument`` for a header S3 cannot read as tags (a key twice, or a key
            or value no tag may have), ``InvalidTag``/``BadRequest`` as for PutObjectTagging.
    """
    if header is None:
        return None
    try:
        pairs = parse_qsl(header, keep_blank_values=True, strict_parsing=bool(header))
    except ValueError:
        pairs = None
    if pairs is None or len({k for k, _ in pairs}) != len(pairs) or not all(_TAG_TEXT.match(k) and _TAG_TEXT.match(v) for k, v in pairs):
        raise AwsError(
            "InvalidArgument",
            "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.",
            400,
            fields={"ArgumentName": "x-amz-tagging", "ArgumentValue": header},
        )
    return _checked(pairs, bucket=False)


# -- buckets -----------------------------------------------------------------------------------


@OPERATIONS("PutBucketTagging")
def put_bucket_tagging(ctx: Context, params: dict[str, Any]) -> None:
    bucket: str = params["Bucket"]
    backend = must_bucket(ctx, bucket)
    tags = _from_shape(params.get("Tagging"), bucket=True)
    if not tags:
        backend.configs.delete_setting(bucket, "tagging")  # an empty TagSet leaves the bucket untagged
        return
    backend.configs.put_setting(bucket, "tagging", [list(tag) for tag in tags])


@OPERATIONS("GetBucketTagging")
def get_bucket_tagging(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bucket: str = params["Bucket"]
    stored = must_bucket(ctx, bucket).configs.setting(bucket, "tagging")
    if not stored:
        raise AwsError("NoSuchTagSet", "The TagSet does not exist", 404, fields={"BucketName": bucket})
    return {"TagSet": tag_set([(str(k), str(v)) for k, v in stored])}


@OPERATIONS("DeleteBucketTagging")
def delete_bucket_tagging(ctx: Context, params: dict[str, Any]) -> None:
    bucket: str = params["Bucket"]
    must_bucket(ctx, bucket).configs.delete_setting(bucket, "tagging")


# -- objects -----------------------------------------------------------------------------------


def _amend_tags(ctx: Context, bucket: str, key: str, tags: list[tuple[str, str]] | None) -> None:
    backend = must_bucket(ctx, bucket)
    try:
        backend.files.amend(bucket, must_key(key), tags=tags)
    except (NotFoundError, InvalidNameError):
        raise no_such_key(key) from None
    except AwsError:
        raise no_such_key(key) from None  # a key no local object can have names no object


@OPERATIONS("PutObjectTagging")
def put_object_tagging(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    _versionless(params)
    tags = _from_shape(params.get("Tagging"), bucket=False)
    _amend_tags(ctx, params["Bucket"], params["Key"], tags or None)
    return {}


@OPERATIONS("GetObjectTagging")
def get_object_tagging(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    _versionless(params)
    bucket, key = params["Bucket"], params["Key"]
    backend = must_bucket(ctx, bucket)
    try:
        info = backend.files.head(bucket, must_key(key))
    except (NotFoundError, InvalidNameError, AwsError):
        raise no_such_key(key) from None
    return {"TagSet": tag_set(info.tags)}


@OPERATIONS("DeleteObjectTagging")
def delete_object_tagging(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    _versionless(params)
    _amend_tags(ctx, params["Bucket"], params["Key"], None)
    return {}


def _versionless(params: Mapping[str, Any]) -> None:
    """Local buckets keep one version of each object, whose id is ``null`` (an unversioned bucket's)."""
    version = params.get("VersionId")
    if version is not None and version != "null":
        raise AwsError(
            "NoSuchVersion", "The specified version does not exist.", 404, fields={"Key": str(params["Key"]), "VersionId": version}
        )
