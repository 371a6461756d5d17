"""S3's object operations: PutObject, GetObject, HeadObject, DeleteObject, DeleteObjects, CopyObject.

Writes go through the buckets' writer (``EventingObjectStore``), so an object put here
has the effects of one put by ``sluiceway upload``: its EventBridge event (when EventBridge
is on for the bucket) and its notifications. Reads hold the object's file open and stream
big objects in blocks.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final
from urllib.parse import parse_qs, unquote

from ....backends.local.multipart import MAX_PART_NUMBER
from ....backends.local.objects import ObjectReader, WriteCondition, WriteConditionError
from ....errors import ConflictError, InvalidNameError, NotFoundError, PreconditionFailedError
from ....ports import ObjectInfo
from ...context import Context, Stream
from ...errors import AwsError
from ._common import (
    ARCHIVED_CLASSES,
    DEFAULT_CONTENT_TYPE,
    OPERATIONS,
    SERVER_SIDE_ENCRYPTION,
    etag_header,
    headers_answer,
    invalid_key,
    must_bucket,
    must_key,
    no_such_key,
    seconds,
    storage_class,
    stored_headers,
    unquote_etag,
    user_metadata,
)
from .acl import check_acl_allowed, request_grants
from .checksums import ALGORITHMS, check_checksums, check_content_md5
from .tagging import header_tags

logger = logging.getLogger(__name__)

__all__ = [
    "body_bytes",
    "byte_range",
    "check_copy_conditions",
    "condition_failed",
    "open_object",
    "parse_copy_source",
    "write_condition",
]

_STREAM_ABOVE: Final = 1 << 20
"""Bodies bigger than this are streamed from the file; smaller ones are read at once."""


def _precondition(condition: str) -> AwsError:
    return AwsError(
        "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", 412, fields={"Condition": condition}
    )


def _not_modified(etag: str, last_modified: datetime) -> AwsError:
    # A 304 has no body; S3 still sends the object's ETag and Last-Modified.
    return AwsError(
        "NotModified",
        "Not Modified",
        304,
        headers={"ETag": etag_header(etag), "Last-Modified": last_modified.strftime("%a, %d %b %Y %H:%M:%S GMT")},
    )


@OPERATIONS("PutObject")
def put_object(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bucket: str = params["Bucket"]
    key = must_key(params["Key"])
    backend = must_bucket(ctx, bucket)
    body = body_bytes(params.get("Body"))
    check_content_md5(params.get("ContentMD5"), body)
    checksums = check_checksums(params, body)
    metadata = user_metadata(params)
    tags = header_tags(params.get("Tagging"))
    grants = request_grants(ctx, params)
    check_acl_allowed(ctx, bucket, grants)
    try:
        info = backend.objects.put(
            bucket,
            key,
            body,
            content_type=params.get("ContentType") or DEFAULT_CONTENT_TYPE,
            metadata=metadata,
            headers=stored_headers(params),
            checksums={**checksums, "ChecksumType": "FULL_OBJECT"} if checksums else None,
            condition=write_condition(params),
            tags=tags,
            storage_class=storage_class(params),
            grants=grants,
            request_id=ctx.request_id,
        )
    except WriteConditionError as error:
        raise condition_failed(error, key) from None
    except InvalidNameError as exc:
        raise invalid_key(key, str(exc)) from None
    answer: dict[str, Any] = {"ETag": etag_header(info.etag), **checksums, **SERVER_SIDE_ENCRYPTION}
    if checksums:
        answer["ChecksumType"] = "FULL_OBJECT"
    return answer


def body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, bytearray | memoryview):
        return bytes(body)
    if isinstance(body, str):
        return body.encode()
    raise TypeError(f"an S3 body is bytes, not {type(body).__name__}")


def write_condition(params: Mapping[str, Any]) -> WriteCondition | None:
    """S3's conditional writes: ``If-None-Match: *`` (only if absent) and ``If-Match`` (only that version).

    The store checks them with the write, under its commit lock: of concurrent "create if
    absent" writes, one succeeds and the others get 412.
    """
    if_none_match, if_match = params.get("IfNoneMatch"), params.get("IfMatch")
    if if_none_match is None and if_match is None:
        return None
    if if_none_match is not None and if_none_match.strip() != "*":
        raise AwsError(
            "NotImplemented",
            "A header you provided implies functionality that is not implemented",
            501,
            fields={"Header": "If-None-Match"},
        )
    return WriteCondition(absent=if_none_match is not None, etag=unquote_etag(if_match) if if_match is not None else None)


def condition_failed(error: WriteConditionError, key: str) -> AwsError:
    """S3's answer to a conditional write whose condition did not hold: 412, or NoSuchKey for If-Match on no object."""
    if error.missing:
        return no_such_key(key)
    return _precondition(error.header)


def open_object(ctx: Context, bucket: str, key: str) -> ObjectReader:
    backend = must_bucket(ctx, bucket)
    if not key:
        raise no_such_key(key)
    try:
        checked = must_key(key)
    except AwsError as error:
        if error.code == "KeyTooLongError":
            raise
        raise no_such_key(key) from None  # a key no local object can have names no object
    try:
        return backend.files.reader(bucket, checked)
    except NotFoundError:
        raise no_such_key(key) from None
    except InvalidNameError:
        # A link or a FIFO another program put in the bucket: never served, as if absent.
        raise no_such_key(key) from None


def _check_read_conditions(info: ObjectInfo, params: Mapping[str, Any], now: datetime) -> None:
    """GetObject's and HeadObject's conditions, in the order S3 (and RFC 7232) evaluates them.

    If-Match, when given, replaces If-Unmodified-Since, and If-None-Match If-Modified-Since; an
    If-Modified-Since later than now is ignored (RFC 7232 calls such a date invalid; S3 serves the object).
    """
    if_match, if_none_match = params.get("IfMatch"), params.get("IfNoneMatch")
    modified, unmodified = params.get("IfModifiedSince"), params.get("IfUnmodifiedSince")
    last = seconds(info.last_modified)
    if if_match is not None:
        if not _etag_in(if_match, info.etag):
            raise _precondition("If-Match")
    elif unmodified is not None and last > seconds(unmodified):
        raise _precondition("If-Unmodified-Since")
    if if_none_match is not None:
        if _etag_in(if_none_match, info.etag):
            raise _not_modified(info.etag, info.last_modified)
    elif modified is not None and seconds(modified) <= seconds(now) and last <= seconds(modified):
        raise _not_modified(info.etag, info.last_modified)


def _etag_in(header: str, etag: str) -> bool:
    return any(part.strip() == "*" or unquote_etag(part) == etag for part in header.split(","))


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The byte range ``[start, end)`` of a ``Range`` header; None for the whole object.

    S3 serves one range: a header it cannot read, or one with several ranges, is ignored
    (the whole object, 200), as HTTP allows; a range that starts past the end is refused.
    """
    if header is None:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if first == "":
            suffix = int(last)
            if suffix < 0 or last.strip() != last:
                return None
            if suffix == 0 or size == 0:
                raise _invalid_range(header, size)
            return max(0, size - suffix), size
        start = int(first)
        end = int(last) + 1 if last else size
    except ValueError:
        return None
    if start < 0 or (last and end <= start):
        return None
    if start >= size:
        raise _invalid_range(header, size)
    return start, min(end, size)


def _invalid_range(header: str, size: int) -> AwsError:
    return AwsError(
        "InvalidRange",
        "The requested range is not satisfiable",
        416,
        fields={"RangeRequested": header, "ActualObjectSize": str(size)},
        headers={"Content-Range": f"bytes */{size}"},
    )


def archived(storage_class: str) -> AwsError:
    """S3's refusal to read an object of an archive storage class (GLACIER, DEEP_ARCHIVE) that was not restored."""
    return AwsError(
        "InvalidObjectState", "The operation is not valid for the object's storage class", 403, fields={"StorageClass": storage_class}
    )


def _described(info: ObjectInfo) -> dict[str, Any]:
    answer = {
        "ETag": etag_header(info.etag),
        "LastModified": info.last_modified,
        "ContentType": info.content_type,
        "Metadata": dict(info.metadata),
        **headers_answer(info.headers),
        "AcceptRanges": "bytes",
        **SERVER_SIDE_ENCRYPTION,
    }
    if info.tags:
        answer["TagCount"] = len(info.tags)
    if info.storage_class != "STANDARD":
        answer["StorageClass"] = info.storage_class  # S3 sends x-amz-storage-class for every class but STANDARD
    return answer


def _span(reader: ObjectReader, params: Mapping[str, Any]) -> tuple[tuple[int, int] | None, int | None]:
    """The bytes ``[start, end)`` a read answers (None: the whole object) and the parts count it reports.

    ``partNumber`` reads one part of a multipart object, as uploaded (S3 keeps the parts'
    boundaries); an object put in one piece is its own part 1. The count is reported only
    for a multipart object read by part number, as S3 does.
    """
    info = reader.info
    number = params.get("PartNumber")
    if number is None:
        return byte_range(params.get("Range"), info.size), None
    if not 1 <= int(number) <= MAX_PART_NUMBER:
        raise AwsError(
            "InvalidArgument",
            f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive",
            400,
            fields={"ArgumentName": "partNumber", "ArgumentValue": str(number)},
        )
    if params.get("Range") is not None:
        raise AwsError("InvalidRequest", "Cannot specify both Range header and partNumber query parameter", 400)
    sizes = reader.part_sizes if reader.part_sizes is not None else (info.size,)
    if number > len(sizes):
        raise AwsError(
            "InvalidPartNumber",
            "The requested partnumber is not satisfiable",
            416,
            fields={"PartNumberRequested": str(number), "ActualPartCount": str(len(sizes))},
        )
    start = sum(sizes[: number - 1])
    return (start, start + sizes[number - 1]), (len(sizes) if reader.part_sizes is not None else None)


def _read_answer(reader: ObjectReader, params: Mapping[str, Any], now: datetime) -> tuple[dict[str, Any], int, int]:
    """What GetObject and HeadObject answer of ``reader``'s object, and the bytes ``[start, end)`` they serve."""
    info = reader.info
    _check_read_conditions(info, params, now)
    span, parts = _span(reader, params)
    start, end = span if span is not None else (0, info.size)
    answer = _described(info) | {"ContentLength": end - start}
    if str(params.get("ChecksumMode") or "").upper() == "ENABLED":
        answer.update(_checksums_of(reader, span, params.get("PartNumber")))
    if span is not None and end > start:
        # A ranged read, or one part: 206 Partial Content with the part's place in the object
        # (S3 answers part 1 of a single-part object so too).
        answer["ContentRange"] = f"bytes {start}-{end - 1}/{info.size}"
    if parts is not None:
        answer["PartsCount"] = parts
    _response_overrides(params, answer)
    return answer, start, end


def _checksums_of(reader: ObjectReader, span: tuple[int, int] | None, number: int | None) -> dict[str, str]:
    """The checksums of the bytes a read serves (a client checks the body it gets against them).

    The object's own for the whole object (a part that is all of it included); a composite
    object's part's own for that part, as S3 answers; none for a range of bytes.
    """
    info = reader.info
    if span is None or span == (0, info.size):
        return dict(info.checksums)
    if number is not None and reader.part_checksums is not None and reader.part_checksums[number - 1]:
        return {**reader.part_checksums[number - 1], "ChecksumType": "COMPOSITE"}
    return {}


@OPERATIONS("GetObject")
def get_object(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    reader = open_object(ctx, params["Bucket"], params["Key"])
    try:
        if reader.info.storage_class in ARCHIVED_CLASSES:
            raise archived(reader.info.storage_class)  # its bytes are not readable until restored (HeadObject still answers)
        answer, start, end = _read_answer(reader, params, ctx.stack.local.clock.now())
        if end - start > _STREAM_ABOVE:
            answer["Body"] = Stream(reader.chunks(start, end), end - start)
            reader = None  # type: ignore[assignment]  # the stream closes it
        else:
            answer["Body"] = reader.read(start, end)
        return answer
    finally:
        if reader is not None:
            reader.close()


def _response_overrides(params: Mapping[str, Any], answer: dict[str, Any]) -> None:
    """GetObject's ``response-content-type`` and friends: headers of this answer only (presigned downloads)."""
    for member in ("CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "ContentType", "Expires"):
        value = params.get(f"Response{member}")
        if value is not None:
            answer[member] = value


@OPERATIONS("HeadObject")
def head_object(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    with open_object(ctx, params["Bucket"], params["Key"]) as reader:
        answer, _, _ = _read_answer(reader, params, ctx.stack.local.clock.now())
    return answer


@OPERATIONS("DeleteObject")
def delete_object(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bucket: str = params["Bucket"]
    key: str = params["Key"]
    backend = must_bucket(ctx, bucket)
    try:
        check = must_key(key)
    except AwsError:
        return {}  # no object can have that key: deleting it deletes nothing, which S3 answers with success
    condition = WriteCondition(etag=unquote_etag(params["IfMatch"])) if params.get("IfMatch") is not None else None
    try:
        backend.objects.delete(bucket, check, request_id=ctx.request_id, condition=condition)
    except WriteConditionError as error:
        raise condition_failed(error, key) from None
    return {}


_MAX_DELETE: Final = 1000


@OPERATIONS("DeleteObjects")
def delete_objects(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bucket: str = params["Bucket"]
    backend = must_bucket(ctx, bucket)
    request = params.get("Delete") or {}
    entries = request.get("Objects") or []
    if not entries:
        raise AwsError("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema", 400)
    if len(entries) > _MAX_DELETE:
        raise AwsError("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema", 400)
    quiet = bool(request.get("Quiet"))
    deleted: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for entry in entries:
        key = str(entry.get("Key") or "")
        try:
            try:
                checked = must_key(key)
            except AwsError:
                # No object can have that key: deleting it deletes nothing, as DeleteObject answers.
                if not quiet:
                    deleted.append({"Key": key})
                continue
            condition = WriteCondition(etag=unquote_etag(str(entry["ETag"]))) if entry.get("ETag") is not None else None
            try:
                backend.objects.delete(bucket, checked, request_id=ctx.request_id, condition=condition)
            except WriteConditionError as failed:
                raise condition_failed(failed, key) from None
        except AwsError as error:
            errors.append({"Key": key, "Code": error.code, "Message": error.message})
            continue
        except (InvalidNameError, ConflictError) as exc:
            errors.append({"Key": key, "Code": "InternalError", "Message": str(exc)})
            continue
        if not quiet:  # Quiet: only the failures are reported
            deleted.append({"Key": key})
    answer: dict[str, Any] = {}
    if deleted:
        answer["Deleted"] = deleted
    if errors:
        answer["Errors"] = errors
    return answer


@OPERATIONS("CopyObject")
def copy_object(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bucket: str = params["Bucket"]
    key = must_key(params["Key"])
    backend = must_bucket(ctx, bucket)
    source_bucket, source_key, version = parse_copy_source(params["CopySource"])
    source_files = must_bucket(ctx, source_bucket).files
    try:
        source = source_files.head(source_bucket, must_key(source_key))
    except (NotFoundError, InvalidNameError):
        raise no_such_key(source_key) from None
    if version is not None and version != "null":
        # Local buckets keep one version of each object: its id is "null", as in an unversioned bucket.
        raise AwsError("NoSuchVersion", "The specified version does not exist.", 404, fields={"Key": source_key, "VersionId": version})
    check_copy_conditions(source, params)
    if source.storage_class in ARCHIVED_CLASSES:
        raise archived(source.storage_class)  # an archived source must be restored before it is copied
    directive = (params.get("MetadataDirective") or "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise AwsError(
            "InvalidArgument",
            "Unknown metadata directive.",
            400,
            fields={"ArgumentName": "x-amz-metadata-directive", "ArgumentValue": directive},
        )
    if (source_bucket, source_key) == (bucket, key) and directive == "COPY" and params.get("StorageClass") is None:
        raise AwsError(
            "InvalidRequest",
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's"
            " metadata, storage class, website redirect location or encryption attributes.",
            400,
        )
    replace = directive == "REPLACE"
    tagging_directive = (params.get("TaggingDirective") or "COPY").upper()
    if tagging_directive not in ("COPY", "REPLACE"):
        raise AwsError(
            "InvalidArgument",
            "Unknown tagging directive.",
            400,
            fields={"ArgumentName": "x-amz-tagging-directive", "ArgumentValue": tagging_directive},
        )
    tags = (header_tags(params.get("Tagging")) or []) if tagging_directive == "REPLACE" else None
    grants = request_grants(ctx, params)
    check_acl_allowed(ctx, bucket, grants)
    algorithm = params.get("ChecksumAlgorithm")
    if algorithm is not None and str(algorithm).upper() not in ALGORITHMS:
        raise AwsError("InvalidRequest", f"The {algorithm} checksum algorithm is not supported by the Sluiceway endpoint.", 400)
    try:
        info = backend.objects.copy(
            source_bucket,
            source_key,
            bucket,
            key,
            content_type=(params.get("ContentType") or DEFAULT_CONTENT_TYPE) if replace else None,
            metadata=user_metadata(params) if replace else None,
            headers=stored_headers(params) if replace else None,
            if_match=source.etag,
            checksum_algorithm=None if algorithm is None else str(algorithm).upper(),
            condition=write_condition(params),
            tags=tags,
            storage_class=storage_class(params),
            grants=grants,
            request_id=ctx.request_id,
        )
    except WriteConditionError as error:  # the destination's If-Match/If-None-Match
        raise condition_failed(error, key) from None
    except NotFoundError:
        raise no_such_key(source_key) from None
    except PreconditionFailedError:
        raise _precondition("x-amz-copy-source-If-Match") from None
    answer: dict[str, Any] = {
        "CopyObjectResult": {"ETag": etag_header(info.etag), "LastModified": info.last_modified, **info.checksums},
        **SERVER_SIDE_ENCRYPTION,
    }
    if version is not None:
        answer["CopySourceVersionId"] = version
    return answer


def parse_copy_source(value: str) -> tuple[str, str, str | None]:
    """``x-amz-copy-source``: ``bucket/key`` (percent-encoded, an optional leading ``/``) and ``?versionId=``."""
    path, _, query = value.partition("?")
    path = unquote(path).lstrip("/")
    bucket, slash, key = path.partition("/")
    if not slash or not bucket or not key:
        raise AwsError(
            "InvalidArgument", "Invalid copy source object key", 400, fields={"ArgumentName": "x-amz-copy-source", "ArgumentValue": value}
        )
    version = parse_qs(query).get("versionId", [None])[0] if query else None
    return bucket, key, version


def check_copy_conditions(source: ObjectInfo, params: Mapping[str, Any]) -> None:
    """The ``x-amz-copy-source-if-*`` conditions (all answered with 412, never 304)."""
    last = seconds(source.last_modified)
    if params.get("CopySourceIfMatch") is not None and not _etag_in(params["CopySourceIfMatch"], source.etag):
        raise _precondition("x-amz-copy-source-If-Match")
    if params.get("CopySourceIfNoneMatch") is not None and _etag_in(params["CopySourceIfNoneMatch"], source.etag):
        raise _precondition("x-amz-copy-source-If-None-Match")
    # When If-Match holds, S3 ignores If-Unmodified-Since; when If-None-Match fails, If-Modified-Since.
    if params.get("CopySourceIfMatch") is None:
        unmodified = params.get("CopySourceIfUnmodifiedSince")
        if unmodified is not None and last > seconds(unmodified):
            raise _precondition("x-amz-copy-source-If-Unmodified-Since")
    if params.get("CopySourceIfNoneMatch") is None:
        modified = params.get("CopySourceIfModifiedSince")
        if modified is not None and last <= seconds(modified):
            raise _precondition("x-amz-copy-source-If-Modified-Since")
