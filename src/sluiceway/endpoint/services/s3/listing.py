"""S3's listings: ListObjectsV2 (continuation tokens) and ListObjects (markers).

Keys come in UTF-8 byte order (code point order, which is the same). With a delimiter,
the keys that share what comes before the delimiter's first occurrence after the prefix
roll up into one common prefix; ``MaxKeys`` counts keys and common prefixes together.
A page ends after an *element* (a key or a common prefix): the next page starts after
it, so the keys of a common prefix already listed are not seen again.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from ....errors import InvalidNameError, NotFoundError
from ....ports import ObjectInfo
from ...context import Context
from ...errors import AwsError
from ._common import OPERATIONS, S3, etag_header, must_bucket, owner, url_encoder

__all__ = ["list_page", "max_keys_of"]

_MAX_KEYS: Final = 1000


@dataclass
class _Page:
    contents: list[ObjectInfo] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    truncated: bool = False
    last: str | None = None
    """The last element listed (a key or a common prefix): where the next page starts after."""


def _elements(backend: S3, bucket: str, prefix: str, delimiter: str) -> Iterator[tuple[str, ObjectInfo | None]]:
    """Each key (with its object) or common prefix (with None) under ``prefix``, in order."""
    last_prefix: str | None = None
    for key in backend.files.keys(bucket, prefix):
        if delimiter:
            at = key.find(delimiter, len(prefix))
            if at >= 0:
                common = key[: at + len(delimiter)]
                if common != last_prefix:
                    last_prefix = common
                    yield common, None
                continue
        try:
            yield key, backend.files.head(bucket, key)
        except (NotFoundError, InvalidNameError):
            continue  # deleted meanwhile, or a file no object may be (a link): never listed


def _list(backend: S3, bucket: str, *, prefix: str, delimiter: str, after: str, start_after: str, max_keys: int) -> _Page:
    page = _Page()
    # A common prefix at or before StartAfter was listed before (StartAfter may lie inside it).
    after = max(after, start_after)
    for element, info in _elements(backend, bucket, prefix, delimiter):
        if element <= after:
            continue
        if len(page.contents) + len(page.prefixes) >= max_keys:
            page.truncated = max_keys > 0
            break
        if info is None:
            page.prefixes.append(element)
        else:
            page.contents.append(info)
        page.last = element
    return page


def list_page(backend: S3, bucket: str, *, prefix: str, delimiter: str, after: str, max_keys: int) -> _Page:
    """One page of the bucket's elements (keys and common prefixes) after ``after``."""
    return _list(backend, bucket, prefix=prefix, delimiter=delimiter, after=after, start_after="", max_keys=max_keys)


def max_keys_of(params: dict[str, Any]) -> int:
    """A listing's ``MaxKeys`` (1000 at most; ``InvalidArgument`` below 0)."""
    return _max_keys(params)


def _max_keys(params: dict[str, Any]) -> int:
    value = params.get("MaxKeys")
    if value is None:
        return _MAX_KEYS
    if int(value) < 0:
        raise AwsError(
            "InvalidArgument",
            "Argument maxKeys must be an integer between 0 and 2147483647",
            400,
            fields={"ArgumentName": "maxKeys", "ArgumentValue": str(value)},
        )
    return min(int(value), _MAX_KEYS)


def _object(info: ObjectInfo, encode: Any, owned_by: dict[str, str] | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "Key": encode(info.key),
        "LastModified": info.last_modified,
        "ETag": etag_header(info.etag),
        "Size": info.size,
        "StorageClass": info.storage_class,
    }
    if owned_by is not None:
        item["Owner"] = owned_by
    return item


def _token(element: str) -> str:
    return base64.urlsafe_b64encode(element.encode("utf-8", "surrogatepass")).decode()


def _from_token(token: str) -> str:
    """The element a ``NextContinuationToken`` of ours continues after; an empty or foreign token is refused."""
    try:
        element = base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeError):
        element = ""
    if not element:
        # S3 names the argument, not its value (an empty token has none).
        raise AwsError(
            "InvalidArgument", "The continuation token provided is incorrect", 400, fields={"ArgumentName": "continuation-token"}
        )
    return element


@OPERATIONS("ListObjectsV2")
def list_objects_v2(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bucket: str = params["Bucket"]
    backend = must_bucket(ctx, bucket)
    encode = url_encoder(params.get("EncodingType"))
    prefix, delimiter = params.get("Prefix") or "", params.get("Delimiter") or ""
    token = params.get("ContinuationToken")
    start_after = params.get("StartAfter") or ""
    max_keys = _max_keys(params)
    page = _list(
        backend,
        bucket,
        prefix=prefix,
        delimiter=delimiter,
        after=_from_token(token) if token is not None else "",
        start_after=start_after,
        max_keys=max_keys,
    )
    fetched = owner(ctx) if params.get("FetchOwner") else None
    answer: dict[str, Any] = {
        "Name": bucket,
        "Prefix": encode(prefix),
        "MaxKeys": max_keys,
        "KeyCount": len(page.contents) + len(page.prefixes),
        "IsTruncated": page.truncated,
    }
    if page.contents:
        answer["Contents"] = [_object(info, encode, fetched) for info in page.contents]
    if page.prefixes:
        answer["CommonPrefixes"] = [{"Prefix": encode(p)} for p in page.prefixes]
    if delimiter:
        answer["Delimiter"] = encode(delimiter)
    if params.get("EncodingType"):
        answer["EncodingType"] = params["EncodingType"]
    if token:
        answer["ContinuationToken"] = token
    if start_after:
        answer["StartAfter"] = encode(start_after)
    if page.truncated and page.last is not None:
        answer["NextContinuationToken"] = _token(page.last)
    return answer


@OPERATIONS("ListObjects")
def list_objects(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bucket: str = params["Bucket"]
    backend = must_bucket(ctx, bucket)
    encode = url_encoder(params.get("EncodingType"))
    prefix, delimiter = params.get("Prefix") or "", params.get("Delimiter") or ""
    marker = params.get("Marker") or ""
    max_keys = _max_keys(params)
    page = _list(backend, bucket, prefix=prefix, delimiter=delimiter, after=marker, start_after="", max_keys=max_keys)
    answer: dict[str, Any] = {
        "Name": bucket,
        "Prefix": encode(prefix),
        "Marker": encode(marker),
        "MaxKeys": max_keys,
        "IsTruncated": page.truncated,
    }
    if page.contents:
        answer["Contents"] = [_object(info, encode, owner(ctx)) for info in page.contents]
    if page.prefixes:
        answer["CommonPrefixes"] = [{"Prefix": encode(p)} for p in page.prefixes]
    if delimiter:
        answer["Delimiter"] = encode(delimiter)
        # S3 sends NextMarker only with a delimiter; without one the last key is the next marker.
        if page.truncated and page.last is not None:
            answer["NextMarker"] = encode(page.last)
    if params.get("EncodingType"):
        answer["EncodingType"] = params["EncodingType"]
    return answer
