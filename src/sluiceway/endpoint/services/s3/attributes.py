"""S3's GetObjectAttributes: what HeadObject tells, picked attribute by attribute, in one XML answer.

S3 answers only the attributes asked for (``x-amz-object-attributes``), and ``LastModified``
always. ``ObjectParts`` is answered for an object uploaded in parts only (its part count);
``Checksum`` only for an object whose checksum is kept, which a local object's is not.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from ...context import Context
from ...errors import AwsError
from ._common import OPERATIONS
from .objects import open_object

logger = logging.getLogger(__name__)

_ATTRIBUTES: Final = frozenset({"ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"})


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
        info, part_sizes = reader.info, reader.part_sizes
    answer: dict[str, Any] = {"LastModified": info.last_modified}
    if "ETag" in wanted:
        answer["ETag"] = info.etag  # unquoted here, unlike every other answer's ETag header
    if "StorageClass" in wanted:
        answer["StorageClass"] = info.storage_class
    if "ObjectSize" in wanted:
        answer["ObjectSize"] = info.size
    if "ObjectParts" in wanted and part_sizes is not None:
        answer["ObjectParts"] = {"TotalPartsCount": len(part_sizes)}
    return answer
