"""The checksums of a multipart upload, as S3 checks and keeps them.

An upload created with a ``ChecksumAlgorithm`` keeps that checksum of each part, and its object
gets one of two kinds (``ChecksumType``): ``COMPOSITE``, the checksum of the parts' checksums
then ``-`` and their number (the default); or ``FULL_OBJECT``, the CRC of the whole object (CRCs
only: S3 combines the parts' CRCs). An upload created without one keeps no checksum of its parts.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

from ....backends.local.checksums import ALGORITHMS, FULL_OBJECT_ALGORITHMS, combine_crc, digest, value_of
from ....backends.local.multipart import Part, Upload
from ...errors import AwsError

logger = logging.getLogger(__name__)

__all__ = ["check_completion", "check_part", "creation", "invalid_part", "object_checksums", "part_checksums", "without_count"]

_S3_ALGORITHMS: Final = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
"""Every algorithm S3 has (listed in its refusal of another)."""


def creation(params: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """CreateMultipartUpload's checksum algorithm and type, checked; the type defaults to ``COMPOSITE``."""
    algorithm, kind = params.get("ChecksumAlgorithm"), params.get("ChecksumType")
    if algorithm is None:
        if kind is not None:
            raise AwsError(
                "InvalidRequest", "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.", 400
            )
        return None, None
    algorithm = str(algorithm).upper()
    if algorithm not in _S3_ALGORITHMS:
        raise AwsError(
            "InvalidRequest",
            f"Checksum algorithm provided is unsupported. Please try again with any of the valid types: [{', '.join(_S3_ALGORITHMS)}]",
            400,
        )
    if algorithm not in ALGORITHMS:
        raise AwsError("InvalidRequest", f"The {algorithm} checksum algorithm is not supported by the Sluiceway endpoint.", 400)
    kind = str(kind or "COMPOSITE").upper()
    if kind not in ("COMPOSITE", "FULL_OBJECT"):
        raise AwsError("InvalidRequest", f"Value for x-amz-checksum-type header is invalid: {kind}.", 400)
    if kind == "FULL_OBJECT" and algorithm not in FULL_OBJECT_ALGORITHMS:
        raise AwsError(
            "InvalidRequest", f"The FULL_OBJECT checksum type cannot be used with the {algorithm.lower()} checksum algorithm.", 400
        )
    return algorithm, kind


def part_checksums(upload: Upload, checked: Mapping[str, str], data: bytes) -> dict[str, str]:
    """What a part of ``upload`` keeps of the checksums its request gave (``checked``, verified against ``data``).

    An upload with an algorithm keeps that checksum of each part (computed when the request
    gave none) and refuses another algorithm's; one without keeps none.
    """
    if upload.checksum_algorithm is None:
        return {}
    member = f"Checksum{upload.checksum_algorithm}"
    for given in checked:
        if given != member:
            raise AwsError(
                "InvalidRequest",
                "Checksum Type mismatch occurred, expected checksum Type:"
                f" {upload.checksum_algorithm.lower()}, actual checksum Type: {given.removeprefix('Checksum').lower()}",
                400,
            )
    return {member: checked.get(member) or digest(upload.checksum_algorithm, data)}


def invalid_part(upload_id: str, number: int, etag: str) -> AwsError:
    return AwsError(
        "InvalidPart",
        "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified"
        " entity tag may not match the part's entity tag.",
        400,
        fields={"UploadId": upload_id, "PartNumber": str(number), "ETag": etag},
    )


def check_completion(upload: Upload, params: Mapping[str, Any]) -> None:
    """CompleteMultipartUpload's ``ChecksumType``: the upload's own, if given."""
    kind = params.get("ChecksumType")
    if kind is not None and str(kind).upper() != upload.checksum_type:
        # S3 names an upload without a checksum's mode "null".
        raise AwsError(
            "InvalidRequest",
            f"The upload was created using the {upload.checksum_type or 'null'} checksum mode. The complete request must use"
            " the same checksum mode.",
            400,
        )


def check_part(upload: Upload, upload_id: str, given: Mapping[str, Any], part: Part | None, etag: str) -> Part:
    """The part CompleteMultipartUpload names (``given``), checked against the part uploaded (None: none of that number).

    A checksum of another algorithm than the upload's is a bad digest, one that differs from
    the part's (or that the part has none of) names no uploaded part, and a composite upload
    needs each part's.
    """
    number = int(given.get("PartNumber") or 0)
    algorithm = upload.checksum_algorithm
    named = {k: str(v) for k, v in given.items() if k.startswith("Checksum") and v is not None}
    for member in named:
        if algorithm is not None and member != f"Checksum{algorithm}":
            raise AwsError(
                "BadDigest",
                f"The {member.removeprefix('Checksum').lower()} you specified for part {number} did not match what we received.",
                400,
            )
    if algorithm is not None and upload.checksum_type == "COMPOSITE" and f"Checksum{algorithm}" not in named:
        raise AwsError(
            "InvalidRequest",
            f"The upload was created using a {algorithm.lower()} checksum. The complete request must include the checksum for"
            f" each part. It was missing for part {number} in the request.",
            400,
        )
    if part is None or etag != part.etag or any(part.checksums.get(m) != v for m, v in named.items()):
        raise invalid_part(upload_id, number, etag)
    return part


def object_checksums(
    upload: Upload, params: Mapping[str, Any], parts: Sequence[Part], blocks: Callable[[Part], Iterable[bytes]]
) -> tuple[dict[str, str], list[dict[str, str]] | None]:
    """The completed object's checksums (``Checksum<ALG>``, ``ChecksumType``), checked against the request's whole-object one,
    and, for a composite one, each part's (S3 answers a part's checksum, and lists them).

    ``blocks`` gives a part's bytes, for a part uploaded before its upload kept checksums.
    """
    algorithm = upload.checksum_algorithm
    given = {k: str(v) for k, v in params.items() if k.startswith("Checksum") and k not in ("ChecksumType",) and v is not None}
    if algorithm is None:
        return {}, None
    member = f"Checksum{algorithm}"
    values = [p.checksums.get(member) or digest(algorithm, blocks(p)) for p in parts]
    if upload.checksum_type == "FULL_OBJECT":
        crc = int.from_bytes(base64.b64decode(values[0]), "big")
        for part, value in zip(parts[1:], values[1:], strict=True):
            crc = combine_crc(algorithm, crc, int.from_bytes(base64.b64decode(value), "big"), part.size)
        whole = base64.b64encode(crc.to_bytes(4, "big")).decode()
        # S3 checks a whole-object checksum only when the request says it is one (ChecksumType
        # FULL_OBJECT); without that, any it gives is refused, whatever its value.
        said = str(params.get("ChecksumType") or "").upper() == "FULL_OBJECT"
        if given and (not said or given.get(member) != whole):
            raise _mismatch(algorithm)
        return {member: whole, "ChecksumType": "FULL_OBJECT"}, None
    joined = b"".join(base64.b64decode(v) for v in values)
    composite = f"{digest(algorithm, joined)}-{len(parts)}"
    if given and given.get(member) not in (composite, composite.rpartition("-")[0]):
        raise _mismatch(algorithm)
    return {member: composite, "ChecksumType": "COMPOSITE"}, [{member: v} for v in values]


def _mismatch(algorithm: str) -> AwsError:
    return AwsError("BadDigest", f"The {algorithm.lower()} you specified did not match the calculated checksum.", 400)


def without_count(checksums: Mapping[str, str]) -> dict[str, str]:
    """An object's checksums as GetObjectAttributes answers them: a composite one without its ``-N``."""
    found = value_of(checksums)
    if found is None:
        return {}
    algorithm, value = found
    return {f"Checksum{algorithm}": value.partition("-")[0], "ChecksumType": checksums.get("ChecksumType", "FULL_OBJECT")}
