"""S3's GetObjectAttributes: what HeadObject tells, picked attribute by attribute, in one XML answer.

S3 answers only the attributes asked for (``x-amz-object-attributes``), and ``LastModified``
always. ``ObjectParts`` is answered for an object uploaded in parts only: its part count, and
for a composite checksum each part's (a page of them, ``MaxParts`` from ``PartNumberMarker``).
``Checksum`` is answered for an object whose checksum is kept: a composite one without its
``-N`` (the part count is ``ObjectParts``'), with its ``ChecksumType``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

from ...context import Context
from ...errors import AwsError
from ._common import OPERATIONS
from .objects import open_object
from .upload_checksums import without_count

logger = logging.getLogger(__name__)

_ATTRIBUTES: Final = frozenset({"ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"})
_MAX_PARTS: Final = 1000


@OPERATIONS("GetObjectAttributes")
def get_object_attributes(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    wanted = {str(a).strip() for a in params.get("ObjectAttributes") or []}
    unknown = sorted(wanted - _ATTRIBUTES)
    if unknown:
        raise AwsError(
            "InvalidArgument",
            "Invalid attribute name specified.",
            400,
            fields={"ArgumentName": "x-amz-object-attributes", "ArgumentValue": unknown[0]},
        )
    with open_object(ctx, params["Bucket"], params["Key"]) as reader:
        info, part_sizes, part_checksums = reader.info, reader.part_sizes, reader.part_checksums
    answer: dict[str, Any] = {"LastModified": info.last_modified}
    if "ETag" in wanted:
        answer["ETag"] = info.etag  # unquoted here, unlike every other answer's ETag header
    if "StorageClass" in wanted:
        answer["StorageClass"] = info.storage_class
    if "ObjectSize" in wanted:
        answer["ObjectSize"] = info.size
    if "Checksum" in wanted and (checksum := without_count(info.checksums)):
        answer["Checksum"] = checksum
    if "ObjectParts" in wanted and part_sizes is not None:
        answer["ObjectParts"] = {"TotalPartsCount": len(part_sizes)}
        if part_checksums is not None:
            answer["ObjectParts"].update(_parts_page(part_sizes, part_checksums, params))
    return answer


def _parts_page(sizes: Sequence[int], checksums: Sequence[Mapping[str, str]], params: Mapping[str, Any]) -> dict[str, Any]:
    """A page of a composite object's parts, each with its checksum (as ListParts pages them)."""
    marker = int(params.get("PartNumberMarker") or 0)
    limit = min(int(params["MaxParts"]), _MAX_PARTS) if params.get("MaxParts") is not None else _MAX_PARTS
    after = [
        {"PartNumber": number, "Size": size, **checksum}
        for number, (size, checksum) in enumerate(zip(sizes, checksums, strict=True), start=1)
        if number > marker
    ]
    page = after[:limit]
    return {
        "PartNumberMarker": marker,
        "NextPartNumberMarker": page[-1]["PartNumber"] if page else 0,
        "MaxParts": limit,
        "IsTruncated": len(after) > limit,
        "Parts": page,
    }
