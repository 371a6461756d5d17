"""S3's multipart upload: Create, UploadPart, UploadPartCopy, Complete, Abort, ListParts, ListMultipartUploads.

Parts wait in the bucket's staging area (``backends/local/multipart.py``); completing the
upload writes the object once, through the buckets' writer: one object, one event (with
``CompleteMultipartUpload`` as its reason). Its ETag is S3's: the MD5 of the parts' MD5s,
then ``-`` and the number of parts.

A completion is recorded in the upload's folder, under the upload's lock, before the object is
written and once it is: a client's retry of a completion (its completer killed, or its answer
lost) and a concurrent completion answer with the recorded result and write nothing again, as
on S3, where the object is written once.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Final

from ....backends.local.multipart import MAX_PART_NUMBER, UPLOAD_ID, Completion, Part, Staged, Upload, position_of
from ....backends.local.notifying import sequencer_for
from ....backends.local.objects import WriteCondition, WriteConditionError
from ....errors import InvalidNameError, NotFoundError
from ...context import Context
from ...errors import AwsError
from ._common import (
    DEFAULT_CONTENT_TYPE,
    OPERATIONS,
    S3,
    SERVER_SIDE_ENCRYPTION,
    etag_header,
    initiator,
    invalid_key,
    must_bucket,
    must_key,
    owner,
    storage_class,
    stored_headers,
    unquote_etag,
    url_encoder,
    user_metadata,
)
from .acl import check_acl_allowed, request_grants
from .checksums import check_checksums, check_content_md5
from .objects import (
    body_bytes,
    byte_range,
    check_copy_conditions,
    condition_failed,
    open_object,
    parse_copy_source,
    write_condition,
)
from .tagging import header_tags
from .upload_checksums import check_completion, check_part, creation, object_checksums, part_checksums

logger = logging.getLogger(__name__)

__all__ = ["MIN_PART_SIZE"]

MIN_PART_SIZE: Final = 5 * 1024 * 1024
"""Every part but the last must have at least this many bytes (S3's EntityTooSmall)."""
_MAX_LISTED: Final = 1000


def _no_such_upload(upload_id: str) -> AwsError:
    return AwsError(
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
        404,
        fields={"UploadId": upload_id},
    )


@OPERATIONS("CreateMultipartUpload")
def create_multipart_upload(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bucket: str = params["Bucket"]
    key = must_key(params["Key"])
    backend = must_bucket(ctx, bucket)
    algorithm, checksum_type = creation(params)
    grants = request_grants(ctx, params)
    check_acl_allowed(ctx, bucket, grants)
    try:
        upload = backend.uploads.create(
            bucket,
            key,
            content_type=params.get("ContentType") or DEFAULT_CONTENT_TYPE,
            metadata=user_metadata(params),
            checksum_algorithm=algorithm,
            checksum_type=checksum_type,
            headers=stored_headers(params),
            tags=header_tags(params.get("Tagging")) or (),
            storage_class=storage_class(params),
            grants=grants,
            now=ctx.stack.local.clock.now(),
        )
    except InvalidNameError as exc:
        raise invalid_key(key, str(exc)) from None
    answer: dict[str, Any] = {"Bucket": bucket, "Key": key, "UploadId": upload.upload_id, **SERVER_SIDE_ENCRYPTION}
    if algorithm:
        answer["ChecksumAlgorithm"] = algorithm
        answer["ChecksumType"] = checksum_type
    return answer


def _part_number(params: Mapping[str, Any]) -> int:
    number = params.get("PartNumber")
    if number is None or not 1 <= int(number) <= MAX_PART_NUMBER:
        raise AwsError(
            "InvalidArgument",
            f"Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive",
            400,
            fields={"ArgumentName": "partNumber", "ArgumentValue": str(number)},
        )
    return int(number)


def _store_part(ctx: Context, params: Mapping[str, Any], data: bytes, checked: Mapping[str, str]) -> Part:
    """Store the part; ``checked`` are the checksums its request gave (verified), of which it keeps its upload's."""
    bucket: str = params["Bucket"]
    backend = must_bucket(ctx, bucket)
    number = _part_number(params)
    upload_id = str(params["UploadId"])
    etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
    try:
        upload = backend.uploads.get(bucket, upload_id, params["Key"])
        checksums = part_checksums(upload, checked, data)
        return backend.uploads.put_part(
            bucket, upload_id, params["Key"], number, data, etag=etag, checksums=checksums, now=ctx.stack.local.clock.now()
        )
    except NotFoundError:
        raise _no_such_upload(upload_id) from None


@OPERATIONS("UploadPart")
def upload_part(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    data = body_bytes(params.get("Body"))
    check_content_md5(params.get("ContentMD5"), data)
    checksums = check_checksums(params, data)
    part = _store_part(ctx, params, data, checksums)
    # The checksums checked are echoed (boto3 compares them), and the one the upload keeps.
    return {"ETag": etag_header(part.etag), **checksums, **part.checksums, **SERVER_SIDE_ENCRYPTION}


@OPERATIONS("UploadPartCopy")
def upload_part_copy(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    source_bucket, source_key, version = parse_copy_source(params["CopySource"])
    if version is not None and version != "null":
        raise AwsError("NoSuchVersion", "The specified version does not exist.", 404, fields={"Key": source_key, "VersionId": version})
    with open_object(ctx, source_bucket, source_key) as reader:
        check_copy_conditions(reader.info, params)
        span = byte_range(params.get("CopySourceRange"), reader.info.size) if params.get("CopySourceRange") else None
        if params.get("CopySourceRange") and span is None:
            raise AwsError(
                "InvalidArgument",
                "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based"
                " offsets of the first and last bytes to copy",
                400,
                fields={"ArgumentName": "x-amz-copy-source-range", "ArgumentValue": str(params["CopySourceRange"])},
            )
        start, end = span if span is not None else (0, reader.info.size)
        data = reader.read(start, end)
    part = _store_part(ctx, params, data, {})
    answer: dict[str, Any] = {
        "CopyPartResult": {"ETag": etag_header(part.etag), "LastModified": part.last_modified, **part.checksums},
        **SERVER_SIDE_ENCRYPTION,
    }
    if version is not None:
        answer["CopySourceVersionId"] = version
    return answer


@OPERATIONS("CompleteMultipartUpload")
def complete_multipart_upload(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bucket: str = params["Bucket"]
    key: str = params["Key"]
    upload_id = str(params["UploadId"])
    backend = must_bucket(ctx, bucket)
    chosen = list((params.get("MultipartUpload") or {}).get("Parts") or [])
    if not chosen:
        raise AwsError("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema", 400)
    condition = write_condition(params)
    try:
        with backend.uploads.staged(bucket, upload_id, key) as staged:
            upload = staged.upload
            done = _settled(backend, bucket, key, staged.completion)
            if done is not None and done != staged.completion:
                backend.uploads.record(staged.folder, done)  # settled once: the next retry need not look again
            if done is None:
                check_completion(upload, params)
                selected = _select(upload, upload_id, chosen, staged.parts)
                checksums, per_part = object_checksums(
                    upload, params, selected, lambda part: backend.uploads.part_blocks(staged.folder, part)
                )
                done = _complete(ctx, backend, staged, bucket, key, selected, checksums, per_part, condition)
            # The object is written, and its completion recorded: the parts may go (a removal that
            # dies is finished by a retry; the record goes with the bucket's later CreateMultipartUpload).
            backend.uploads.retire(staged.folder)
    except WriteConditionError as error:
        # Nothing was completed: the upload and its parts stay (the client may complete it again).
        raise condition_failed(error, key) from None
    except NotFoundError:
        raise _no_such_upload(upload_id) from None
    answer: dict[str, Any] = {
        "Location": f"{ctx.endpoint_url}/{bucket}/{key}",
        "Bucket": bucket,
        "Key": upload.key,
        "ETag": etag_header(done.etag),
        **SERVER_SIDE_ENCRYPTION,
    }
    answer.update(done.answer)
    return answer


def _complete(
    ctx: Context,
    backend: S3,
    staged: Staged,
    bucket: str,
    key: str,
    selected: list[Part],
    checksums: Mapping[str, str],
    per_part: list[dict[str, str]] | None,
    condition: WriteCondition | None,
) -> Completion:
    """Write the object of ``selected`` parts, recorded in the upload's folder before and after."""
    digest = hashlib.md5(b"".join(bytes.fromhex(p.etag) for p in selected), usedforsecurity=False).hexdigest()
    begun = Completion(uuid.uuid4().hex, f"{digest}-{len(selected)}", _current(backend, bucket, key), checksums)
    backend.uploads.record(staged.folder, begun)
    try:
        info = backend.objects.put_concatenation(
            bucket,
            key,
            staged.folder,
            [p.file for p in selected],
            etag=begun.etag,
            write_id=begun.write_id,
            content_type=staged.upload.content_type,
            metadata=staged.upload.metadata,
            headers=staged.upload.headers,
            checksums=begun.answer,
            part_checksums=per_part,
            condition=condition,
            tags=staged.upload.tags,
            storage_class=staged.upload.storage_class,
            grants=staged.upload.grants,
            request_id=ctx.request_id,
        )
    except WriteConditionError:
        backend.uploads.record(staged.folder, None)  # refused before anything changed
        raise
    done = replace(begun, done=True, version_id=info.version_id, sequencer=sequencer_for(info))
    backend.uploads.record(staged.folder, done)
    logger.info("multipart upload completed", extra={"bucket": bucket, "key": key, "parts": len(selected)})
    return done


def _settled(backend: S3, bucket: str, key: str, completion: Completion | None) -> Completion | None:
    """What a completion recorded before this one did: done (answer it; write nothing), or None (nothing landed).

    S3 answers a retried CompleteMultipartUpload of a completed upload with the same result (for
    a while; NoSuchUpload once the upload is forgotten), and never writes the object again.
    """
    if completion is None or completion.done:
        return completion
    # Its completer was killed between recording the completion and recording its result.
    info = backend.objects.landed(bucket, key, completion.write_id)
    if info is not None:
        return replace(completion, done=True, version_id=info.version_id, sequencer=sequencer_for(info))
    if _current(backend, bucket, key) == completion.before:
        return None  # the key is as it was: the write never landed (the outbox forgets it)
    # Another write of the key came after: whether ours landed before it cannot be told, and
    # either way the key holds a write later than this completion. Writing ours now would
    # undo that later write: the completion counts as done.
    return replace(completion, done=True)


def _current(backend: S3, bucket: str, key: str) -> str | None:
    """The sequencer of the key's current write (None: no object)."""
    try:
        return sequencer_for(backend.objects.head(bucket, key))
    except (NotFoundError, InvalidNameError):
        return None


def _select(upload: Upload, upload_id: str, chosen: list[Mapping[str, Any]], parts: Mapping[int, Part]) -> list[Part]:
    """The parts the request names, checked as S3 checks them (order, existence, ETags, sizes)."""
    numbers = [int(p.get("PartNumber") or 0) for p in chosen]
    if any(b <= a for a, b in zip(numbers, numbers[1:], strict=False)):
        raise AwsError(
            "InvalidPartOrder",
            "The list of parts was not in ascending order. Parts must be ordered by part number.",
            400,
            fields={"UploadId": upload_id},
        )
    selected: list[Part] = []
    for given in chosen:
        part = parts.get(int(given.get("PartNumber") or 0))
        selected.append(check_part(upload, upload_id, given, part, unquote_etag(str(given.get("ETag") or ""))))
    for part in selected[:-1]:
        if part.size < MIN_PART_SIZE:
            raise AwsError(
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed size",
                400,
                fields={
                    "ProposedSize": str(part.size),
                    "MinSizeAllowed": str(MIN_PART_SIZE),
                    "PartNumber": str(part.number),
                    "ETag": part.etag,
                },
            )
    return selected


@OPERATIONS("AbortMultipartUpload")
def abort_multipart_upload(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bucket: str = params["Bucket"]
    upload_id = str(params["UploadId"])
    backend = must_bucket(ctx, bucket)
    try:
        backend.uploads.abort(bucket, upload_id, params["Key"])
    except NotFoundError:
        raise _no_such_upload(upload_id) from None
    return {}


@OPERATIONS("ListParts")
def list_parts(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bucket: str = params["Bucket"]
    upload_id = str(params["UploadId"])
    backend = must_bucket(ctx, bucket)
    try:
        upload = backend.uploads.get(bucket, upload_id, params["Key"])
        parts = backend.uploads.parts(bucket, upload_id, params["Key"])
    except NotFoundError:
        raise _no_such_upload(upload_id) from None
    marker = int(params.get("PartNumberMarker") or 0)
    limit = min(int(params["MaxParts"]), _MAX_LISTED) if params.get("MaxParts") is not None else _MAX_LISTED
    after = [p for p in parts if p.number > marker]
    page = after[:limit]
    answer: dict[str, Any] = {
        "Bucket": bucket,
        "Key": upload.key,
        "UploadId": upload_id,
        "PartNumberMarker": marker,
        "MaxParts": limit,
        "IsTruncated": len(after) > limit,
        "Parts": [
            {"PartNumber": p.number, "LastModified": p.last_modified, "ETag": etag_header(p.etag), "Size": p.size, **p.checksums}
            for p in page
        ],
        "Initiator": initiator(ctx),
        "Owner": owner(ctx),
        "StorageClass": upload.storage_class,
    }
    # S3 sends NextPartNumberMarker always: the last part listed, or 0 when none was.
    answer["NextPartNumberMarker"] = page[-1].number if page else 0
    if upload.checksum_algorithm:
        answer["ChecksumAlgorithm"] = upload.checksum_algorithm
        answer["ChecksumType"] = upload.checksum_type
    return answer


_LAST: Final = (2**64, "")
"""A position after every upload's (see :attr:`Upload.position`)."""


def _after_marker(backend: S3, bucket: str, key_marker: str, id_marker: str) -> tuple[int, str] | None:
    """The position after which the uploads of ``key_marker`` list (None: all of them do).

    Without an upload id marker, none of the key's do (S3 ignores an upload id marker without a
    key marker). The marker upload need not exist any more: a client that aborts (or completes)
    each upload of a page before asking for the next gives a marker that is gone, and the next
    page starts after where it was (its id says when it started).

    Raises:
        AwsError: ``InvalidArgument`` for a marker that is another key's upload, or no upload id at all.
    """
    if not key_marker:
        return None
    if not id_marker:
        return _LAST
    marked = backend.uploads.find(bucket, id_marker)
    if marked is not None:
        if marked.key != key_marker:
            raise _invalid_id_marker(id_marker)
        return marked.position
    position = position_of(id_marker)
    if position is not None:
        return position
    if UPLOAD_ID.match(id_marker):
        # An upload made before ids said when they started, gone since: where it was is lost.
        # Listing all of the key's that are left repeats some rather than skipping any.
        return None
    raise _invalid_id_marker(id_marker)


def _invalid_id_marker(id_marker: str) -> AwsError:
    return AwsError(
        "InvalidArgument",
        "Invalid uploadId marker",
        400,
        fields={"ArgumentName": "upload-id-marker", "ArgumentValue": id_marker},
    )


@OPERATIONS("ListMultipartUploads")
def list_multipart_uploads(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """The bucket's uploads in progress, by key, then by when each started (S3's order).

    As in ListObjects, a common prefix at or before ``KeyMarker`` was listed before. S3 points
    ``NextKeyMarker``/``NextUploadIdMarker`` at the last *upload* listed (empty when none was,
    even on a truncated page of common prefixes), truncated or not.
    """
    bucket: str = params["Bucket"]
    backend = must_bucket(ctx, bucket)
    encode = url_encoder(params.get("EncodingType"))
    prefix = params.get("Prefix") or ""
    delimiter = params.get("Delimiter") or ""
    key_marker = params.get("KeyMarker") or ""
    id_marker = params.get("UploadIdMarker") or ""
    limit = min(int(params["MaxUploads"]), _MAX_LISTED) if params.get("MaxUploads") is not None else _MAX_LISTED
    after = _after_marker(backend, bucket, key_marker, id_marker)
    ordered = backend.uploads.list(bucket)
    uploads: list[Upload] = []
    prefixes: list[str] = []
    truncated = False
    for upload in ordered:
        if not upload.key.startswith(prefix):
            continue
        common = None
        if delimiter:
            at = upload.key.find(delimiter, len(prefix))
            common = upload.key[: at + len(delimiter)] if at >= 0 else None
        if common is not None:
            if (key_marker and common <= key_marker) or common in prefixes:
                continue
        elif upload.key < key_marker or (upload.key == key_marker and after is not None and upload.position <= after):
            continue
        if len(uploads) + len(prefixes) >= limit:
            truncated = True
            break
        if common is not None:
            prefixes.append(common)
        else:
            uploads.append(upload)
    answer: dict[str, Any] = {
        "Bucket": bucket,
        "KeyMarker": encode(key_marker),
        "UploadIdMarker": id_marker,
        "NextKeyMarker": encode(uploads[-1].key) if uploads else "",
        "NextUploadIdMarker": uploads[-1].upload_id if uploads else "",
        "MaxUploads": limit,
        "IsTruncated": truncated,
        "Uploads": [
            {
                "UploadId": u.upload_id,
                "Key": encode(u.key),
                "Initiated": u.initiated,
                "StorageClass": u.storage_class,
                "Owner": owner(ctx),
                "Initiator": initiator(ctx),
                **({"ChecksumAlgorithm": u.checksum_algorithm, "ChecksumType": u.checksum_type} if u.checksum_algorithm else {}),
            }
            for u in uploads
        ],
    }
    if prefix:
        answer["Prefix"] = encode(prefix)
    if prefixes:
        answer["CommonPrefixes"] = [{"Prefix": encode(p)} for p in prefixes]
    if delimiter:
        answer["Delimiter"] = encode(delimiter)
    if params.get("EncodingType") is not None:
        answer["EncodingType"] = params["EncodingType"]
    return answer
