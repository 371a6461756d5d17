"""Buckets on S3."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from ...errors import InvalidNameError, PreconditionFailedError
from ...names import check_bucket, check_key
from ...ports import ObjectInfo
from ._errors import error_code, translated

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import PaginatorConfigTypeDef

logger = logging.getLogger(__name__)

__all__ = ["S3ObjectStore"]

_CHUNK = 1024 * 1024


class S3ObjectStore:
    """An :class:`~sluiceway.ports.ObjectStore` on Amazon S3 (or anything speaking its API).

    Bucket names and keys pass :mod:`sluiceway.names` before any request, so a key
    that the folder backend would refuse is refused here too.

    Args:
        client: an S3 client; a default one (region and credentials from the
            environment) is built when omitted.
        transfer_config: how :meth:`put_file` and whole-object :meth:`download`
            split big files into parts (boto3's defaults when omitted: multipart
            from 8 MiB).
        list_page_size: keys per ListObjectsV2 request (S3's default, 1000, when omitted).
    """

    def __init__(
        self,
        client: S3Client | None = None,
        *,
        transfer_config: TransferConfig | None = None,
        list_page_size: int | None = None,
    ) -> None:
        self.client: S3Client = client if client is not None else boto3.client("s3")
        self.transfer_config = transfer_config or TransferConfig()
        self.list_page_size = list_page_size

    # -- writes -------------------------------------------------------------

    def put(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Store ``data`` under ``key`` with one PutObject (atomic on S3).

        The returned ``last_modified`` is the response's ``Date``: S3 does not send
        the object's Last-Modified on PUT, and asking for it would cost a request.
        """
        _check(bucket, key)
        meta = dict(metadata or {})
        with translated(f"put s3://{bucket}/{key}"):
            response = self.client.put_object(
                Bucket=bucket, Key=key, Body=data, ContentType=content_type, Metadata=meta
            )
        headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=len(data),
            etag=_etag(response.get("ETag", "")),
            last_modified=_http_date(headers.get("date")),
            content_type=content_type,
            # S3 keeps user metadata keys in lower case; say what a HEAD will say.
            metadata={k.lower(): v for k, v in meta.items()},
            version_id=response.get("VersionId"),
        )

    def put_file(
        self, bucket: str, key: str, path: str, *, content_type: str = "application/octet-stream"
    ) -> ObjectInfo:
        """Upload a local file, in parts when it is big (the object appears whole, at once).

        A multipart object's ETag is S3's ``<md5-of-md5s>-<parts>``, not the file's MD5.
        """
        _check(bucket, key)
        with translated(f"upload {path} to s3://{bucket}/{key}"):
            self.client.upload_file(
                path,
                bucket,
                key,
                ExtraArgs={"ContentType": content_type},
                Config=self.transfer_config,
            )
        return self.head(bucket, key)

    def delete(self, bucket: str, key: str) -> None:
        """Delete the object; a missing key is not an error, a missing bucket is NotFoundError."""
        _check(bucket, key)
        with translated(f"delete s3://{bucket}/{key}"):
            self.client.delete_object(Bucket=bucket, Key=key)

    # -- reads --------------------------------------------------------------

    def head(self, bucket: str, key: str) -> ObjectInfo:
        """The object's size, ETag, content type and user metadata. Raises NotFoundError."""
        _check(bucket, key)
        with translated(f"head s3://{bucket}/{key}"):
            response = self.client.head_object(Bucket=bucket, Key=key)
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=int(response.get("ContentLength", 0)),
            etag=_etag(response.get("ETag", "")),
            last_modified=_aware(response.get("LastModified")),
            content_type=response.get("ContentType") or "application/octet-stream",
            metadata=dict(response.get("Metadata") or {}),
            version_id=_version(response.get("VersionId")),
        )

    def _head_matching(self, bucket: str, key: str, if_match: str | None) -> None:
        info = self.head(bucket, key)
        if if_match is not None and info.etag != _etag(if_match):
            raise PreconditionFailedError(f"s3://{bucket}/{key}: PreconditionFailed: the ETag is {info.etag}, not {_etag(if_match)}")

    def get(
        self,
        bucket: str,
        key: str,
        *,
        start: int | None = None,
        end: int | None = None,
        if_match: str | None = None,
    ) -> bytes:
        """The object's bytes, or ``[start, end)`` of them (one ranged GET).

        A range past the end of the object is empty, as a slice would be.

        Raises:
            NotFoundError: no such bucket or key.
            PreconditionFailedError: ``if_match`` is not the object's ETag.
        """
        _check(bucket, key)
        if _empty(start, end):
            # HTTP cannot ask for no bytes (S3 would send the whole object), but a
            # missing object must still be reported.
            self._head_matching(bucket, key, if_match)
            return b""
        byte_range = _range(start, end)
        kwargs: dict[str, Any] = {"Range": byte_range} if byte_range else {}
        if if_match is not None:
            kwargs["IfMatch"] = _quoted(if_match)
        what = f"get s3://{bucket}/{key}"
        with translated(what):
            try:
                response = self.client.get_object(Bucket=bucket, Key=key, **kwargs)
            except ClientError as exc:
                if error_code(exc) == "InvalidRange":
                    # The range starts at or past the end: there are no bytes in it.
                    return b""
                raise
            body = response["Body"]
            try:
                return body.read()
            finally:
                body.close()

    def download(
        self,
        bucket: str,
        key: str,
        path: str,
        *,
        start: int | None = None,
        end: int | None = None,
        if_match: str | None = None,
    ) -> None:
        """Write the object, or ``[start, end)`` of it, to ``path``.

        A whole object goes through boto3's transfer manager (parallel ranged GETs
        into a temporary file renamed into place); a range is streamed with one GET.
        """
        _check(bucket, key)
        what = f"download s3://{bucket}/{key}"
        if _empty(start, end):
            self._head_matching(bucket, key, if_match)
            open(path, "wb").close()
            return
        condition: dict[str, Any] = {"IfMatch": _quoted(if_match)} if if_match is not None else {}
        byte_range = _range(start, end)
        if byte_range is None and not condition:
            with translated(what):
                self.client.download_file(bucket, key, path, Config=self.transfer_config)
            return
        # One GET: the transfer manager's parallel parts cannot carry If-Match.
        ranged: dict[str, Any] = {"Range": byte_range} if byte_range else {}
        with translated(what):
            try:
                response = self.client.get_object(Bucket=bucket, Key=key, **ranged, **condition)
            except ClientError as exc:
                if error_code(exc) != "InvalidRange":
                    raise
                open(path, "wb").close()
                return
            body = response["Body"]
            try:
                with open(path, "wb") as out:
                    for chunk in body.iter_chunks(_CHUNK):
                        out.write(chunk)
            finally:
                body.close()

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        """Yield the objects under ``prefix`` in key order, a page (1000 keys) at a time.

        Listing carries no content type or user metadata (S3's ListObjectsV2 does
        not return them): those fields keep their defaults; :meth:`head` has them.
        Keys that :func:`~sluiceway.names.check_key` refuses (``dir/`` folder
        markers, ``a//b``) are skipped, as no other method could address them.
        """
        check_bucket(bucket)
        paginator = self.client.get_paginator("list_objects_v2")
        with translated(f"list s3://{bucket}/{prefix}"):
            pages = paginator.paginate(Bucket=bucket, Prefix=prefix, PaginationConfig=self._pages)
            for page in pages:
                for entry in page.get("Contents", []):
                    key = entry["Key"]
                    try:
                        check_key(key)
                    except InvalidNameError:
                        logger.debug("object skipped", extra={"bucket": bucket, "key": key})
                        continue
                    yield ObjectInfo(
                        bucket=bucket,
                        key=key,
                        size=int(entry.get("Size", 0)),
                        etag=_etag(entry.get("ETag", "")),
                        last_modified=_aware(entry.get("LastModified")),
                    )

    @property
    def _pages(self) -> PaginatorConfigTypeDef:
        return {"PageSize": self.list_page_size} if self.list_page_size else {}


def _quoted(etag: str) -> str:
    return f'"{_etag(etag)}"'


def _check(bucket: str, key: str) -> None:
    check_bucket(bucket)
    check_key(key)


def _empty(start: int | None, end: int | None) -> bool:
    """Whether ``[start, end)`` holds no bytes whatever the object's size."""
    if (start is not None and start < 0) or (end is not None and end < 0):
        raise ValueError("byte range bounds must not be negative")
    return end is not None and end <= (start or 0)


def _range(start: int | None, end: int | None) -> str | None:
    """The HTTP ``Range`` for a non-empty ``[start, end)``; None for the whole object."""
    first = start or 0
    if end is None:
        return f"bytes={first}-" if first else None
    return f"bytes={first}-{end - 1}"


def _etag(value: str) -> str:
    return value.strip('"')


def _version(value: str | None) -> str | None:
    # Unversioned buckets report the version "null".
    return None if value in (None, "", "null") else value


def _aware(value: datetime | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _http_date(value: str | None) -> datetime:
    if value:
        try:
            return _aware(parsedate_to_datetime(value))
        except (TypeError, ValueError):
            pass
    return datetime.now(UTC)
