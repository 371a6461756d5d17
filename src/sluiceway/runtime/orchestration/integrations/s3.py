"""S3: ``s3:getObject``/``s3:putObject`` and their ``aws-sdk:s3:*`` spellings."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ....asl.commands import InvokeTask
from ....errors import NotFoundError
from ....ports import ObjectStore
from ....types import JSON
from .base import Integration, TaskError, TaskPorts, bucket_key

__all__ = ["INTEGRATIONS"]


def _get_object(ports: TaskPorts, command: InvokeTask, params: Mapping[str, Any]) -> JSON:
    objects: ObjectStore = ports.require(ports.objects, "object store")
    bucket, key = bucket_key(params)
    try:
        info = objects.head(bucket, key)
        body = objects.get(bucket, key)
    except NotFoundError:
        raise TaskError("S3.NoSuchKeyException", "The specified key does not exist.") from None
    return {
        "Body": body.decode("utf-8", "replace"),
        "ContentLength": info.size,
        "ContentType": info.content_type,
        "ETag": f'"{info.etag}"',
        "LastModified": info.last_modified.isoformat(),
        "Metadata": dict(info.metadata),
    }


def _put_object(ports: TaskPorts, command: InvokeTask, params: Mapping[str, Any]) -> JSON:
    objects: ObjectStore = ports.require(ports.objects, "object store")
    bucket, key = bucket_key(params)
    body = params.get("Body", "")
    data = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    info = objects.put(bucket, key, data.encode("utf-8"), content_type=str(params.get("ContentType", "application/octet-stream")))
    return {"ETag": f'"{info.etag}"'}


INTEGRATIONS = (
    Integration("s3:getObject", _get_object, ("s3:GetObject",)),
    Integration("s3:putObject", _put_object, ("s3:PutObject",)),
    Integration("aws-sdk:s3:getObject", _get_object, ("s3:GetObject",)),
    Integration("aws-sdk:s3:putObject", _put_object, ("s3:PutObject",)),
)
