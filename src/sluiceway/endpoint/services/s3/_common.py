"""What every S3 operation uses: the buckets' backends, and S3's errors for names and missing things."""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote

from ....backends.local.bucket_config import SqliteBucketConfigs
from ....backends.local.bucket_notifications import S3Notifier
from ....backends.local.multipart import MultipartUploads
from ....backends.local.notifying import EventingObjectStore
from ....backends.local.objects import FileObjectStore
from ....errors import InvalidNameError
from ....names import MAX_KEY_BYTES, check_key
from ...context import Context, Operations
from ...errors import AwsError

logger = logging.getLogger(__name__)

__all__ = [
    "OPERATIONS",
    "S3",
    "bucket_name_problem",
    "etag_header",
    "invalid_key",
    "must_bucket",
    "must_key",
    "no_such_bucket",
    "no_such_key",
    "initiator",
    "owner",
    "s3",
    "url_encoder",
]

OPERATIONS = Operations("s3")

DEFAULT_CONTENT_TYPE: Final = "binary/octet-stream"
"""What S3 stores as an object's Content-Type when the upload named none."""


@dataclass
class S3:
    """The local buckets as the S3 operations reach them (one per endpoint: ``ctx.shared``)."""

    files: FileObjectStore
    """Reads, and bucket folders."""
    objects: EventingObjectStore
    """Writes: each commits its EventBridge event and notifications."""
    configs: SqliteBucketConfigs
    notifier: S3Notifier
    uploads: MultipartUploads


def s3(ctx: Context) -> S3:
    """This endpoint's :class:`S3`, built on first use."""
    return ctx.shared.get("s3", lambda: _build(ctx))


def _build(ctx: Context) -> S3:
    local = ctx.stack.local
    return S3(local.files, local.objects, local.notifier.configs, local.notifier, local.uploads)


# -- names -------------------------------------------------------------------------------------

_BUCKET: Final = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_RESERVED_PREFIXES: Final = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES: Final = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_name_problem(bucket: str) -> str | None:
    """Why S3 refuses ``bucket`` as a new bucket's name (its general purpose bucket naming rules), or None."""
    if not _BUCKET.match(bucket):
        return "use 3-63 lowercase letters, digits, dots and hyphens, beginning and ending with a letter or digit"
    if ".." in bucket or ".-" in bucket or "-." in bucket:
        return "no two adjacent periods, and no period next to a hyphen"
    try:
        ipaddress.IPv4Address(bucket)
    except ValueError:
        pass
    else:
        return "a bucket name may not look like an IP address"
    if bucket.startswith(_RESERVED_PREFIXES) or bucket.endswith(_RESERVED_SUFFIXES):
        return "the name has a prefix or suffix S3 reserves"
    return None


def no_such_bucket(bucket: str) -> AwsError:
    return AwsError("NoSuchBucket", "The specified bucket does not exist", 404, fields={"BucketName": bucket})


def no_such_key(key: str) -> AwsError:
    return AwsError("NoSuchKey", "The specified key does not exist.", 404, fields={"Key": key})


def must_bucket(ctx: Context, bucket: str) -> S3:
    """The S3 backends, once ``bucket`` is known to exist (``NoSuchBucket`` otherwise)."""
    backend = s3(ctx)
    try:
        exists = backend.files.bucket_exists(bucket)
    except InvalidNameError:
        exists = False  # a name no bucket can have names no bucket
    if not exists:
        raise no_such_bucket(bucket)
    return backend


def invalid_key(key: str, reason: str) -> AwsError:
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        return AwsError(
            "KeyTooLongError",
            "Your key is too long",
            400,
            fields={"Size": str(len(key.encode("utf-8", "surrogatepass"))), "MaxSizeAllowed": str(MAX_KEY_BYTES)},
        )
    # S3 takes nearly any key; a folder-backed bucket cannot store these (see names.check_key).
    return AwsError("InvalidArgument", f"Invalid key: {reason}", 400, fields={"ArgumentName": "key", "ArgumentValue": key[:1024]})


def must_key(key: str) -> str:
    """``key``, if a folder-backed bucket can store it (S3's error otherwise)."""
    try:
        return check_key(key)
    except InvalidNameError as exc:
        raise invalid_key(key, str(exc)) from None


# -- values ------------------------------------------------------------------------------------

SERVER_SIDE_ENCRYPTION: Final = {"ServerSideEncryption": "AES256"}
"""What S3 answers about every object's encryption: since January 2023 each new object is
encrypted at rest with S3 managed keys (SSE-S3) unless the request asks otherwise."""


def owner(ctx: Context) -> dict[str, str]:
    """A bucket's or object's ``Owner``: the account's canonical ID (S3 no longer sends ``DisplayName``)."""
    return {"ID": ctx.account_id}


def initiator(ctx: Context) -> dict[str, str]:
    """A multipart upload's ``Initiator``: the principal that started it (S3 names it, with its ``DisplayName``)."""
    return {"ID": ctx.account_id, "DisplayName": "sluiceway"}


def etag_header(etag: str) -> str:
    """An ETag as S3 sends it: quoted."""
    return f'"{etag}"'


def url_encoder(encoding: str | None) -> Callable[[str], str]:
    """How a listing sends keys and prefixes for its ``EncodingType``: as they are, or percent-encoded (``url``).

    Raises:
        AwsError: ``InvalidArgument`` for any other encoding type, the empty one included.
    """
    if encoding is None:
        return lambda text: text
    if encoding != "url":
        raise AwsError(
            "InvalidArgument",
            "Invalid Encoding Method specified in Request",
            400,
            fields={"ArgumentName": "encoding-type", "ArgumentValue": str(encoding)},
        )
    # botocore decodes these with unquote_plus: a '+' of a key must travel as %2B.
    return lambda text: quote(text, safe="/")


def unquote_etag(etag: str) -> str:
    return etag.strip().removeprefix("W/").strip('"')


def seconds(when: datetime) -> datetime:
    """``when`` at HTTP dates' precision (whole seconds, UTC): how conditions compare times."""
    return when.astimezone(UTC).replace(microsecond=0)


def user_metadata(params: Mapping[str, Any]) -> dict[str, str]:
    """``Metadata`` (``x-amz-meta-*``), names lower-cased as S3 returns them; ``MetadataTooLarge`` over 2 KB."""
    metadata = {str(k).lower(): str(v) for k, v in (params.get("Metadata") or {}).items()}
    size = sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items())
    if size > 2048:
        raise AwsError(
            "MetadataTooLarge",
            "Your metadata headers exceed the maximum allowed metadata size",
            400,
            fields={"Size": str(size), "MaxSizeAllowed": "2048"},
        )
    return metadata


STORAGE_CLASSES: Final = frozenset(
    {"STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER", "DEEP_ARCHIVE", "GLACIER_IR"}
)
"""The storage classes a general purpose bucket takes (OUTPOSTS, SNOW, EXPRESS_ONEZONE and the like belong to other kinds of bucket)."""
ARCHIVED_CLASSES: Final = frozenset({"GLACIER", "DEEP_ARCHIVE"})
"""Classes whose objects must be restored before they can be read (GLACIER_IR is read directly)."""


def storage_class(params: Mapping[str, Any]) -> str:
    """A write's ``StorageClass`` (STANDARD when it names none); ``InvalidStorageClass`` for one S3 refuses."""
    value = params.get("StorageClass")
    if value is None:
        return "STANDARD"
    if value not in STORAGE_CLASSES:
        raise AwsError(
            "InvalidStorageClass", "The storage class you specified is not valid", 400, fields={"StorageClassRequested": str(value)}
        )
    return str(value)


STORED_HEADERS: Final = ("CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "Expires")
"""The request headers S3 keeps with an object and sends back with it (GetObject, HeadObject)."""


def stored_headers(params: Mapping[str, Any]) -> dict[str, str]:
    """The :data:`STORED_HEADERS` a write gives, as the object keeps them (``Expires`` in ISO 8601).

    ``aws-chunked`` is how the request's body was framed, not the object's encoding: S3 drops it
    from the stored Content-Encoding (and keeps none when it was the only one).
    """
    kept: dict[str, str] = {}
    for member in STORED_HEADERS:
        value = params.get(member)
        if value is None:
            continue
        if isinstance(value, datetime):
            kept[member] = value.astimezone(UTC).isoformat()
            continue
        text = str(value)
        if member == "ContentEncoding":
            text = ",".join(t.strip() for t in text.split(",") if t.strip() and t.strip().lower() != "aws-chunked")
            if not text:
                continue
        kept[member] = text
    return kept


def headers_answer(headers: Mapping[str, str]) -> dict[str, Any]:
    """An object's stored headers as GetObject and HeadObject answer them (``Expires`` a timestamp again)."""
    answer: dict[str, Any] = {}
    for member, value in headers.items():
        if member == "Expires":
            try:
                answer[member] = datetime.fromisoformat(value)
            except ValueError:
                continue  # never written so by Sluiceway: not an Expires S3 could send
        elif member in STORED_HEADERS:
            answer[member] = value
    return answer
