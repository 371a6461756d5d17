"""Distributed Map's ItemReader and ResultWriter on the object store (S3 objects, listings, inventory manifests)."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Mapping
from typing import Any

from ....asl.commands import ReadItems, WriteResults
from ....asl.items import parse_items, result_files
from ....errors import NotFoundError, StatesError
from ....ports import ObjectStore
from ....types import JSON
from .base import TaskError, TaskPorts, bucket_key

__all__ = ["READER_IAM_ACTIONS", "WRITER_IAM_ACTIONS", "read_items", "write_results"]

_SERVICE_PREFIX = "arn:aws:states:::"
READER_IAM_ACTIONS = {
    "s3:getObject": ("s3:GetObject",),
    "aws-sdk:s3:getObject": ("s3:GetObject",),
    "s3:listObjectsV2": ("s3:ListBucket",),
    "aws-sdk:s3:listObjectsV2": ("s3:ListBucket",),
}
"""What an ItemReader needs on AWS, by its resource (after ``arn:aws:states:::``)."""
WRITER_IAM_ACTIONS = ("s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload")
"""What a ResultWriter needs: it writes the results in a multipart upload."""


def read_items(ports: TaskPorts, command: ReadItems) -> list[JSON]:
    """The items an ItemReader reads: an object's rows (JSON, CSV, JSONL), a listing, or a manifest's rows."""
    objects: ObjectStore = ports.require(ports.objects, "object store")
    params = command.parameters if isinstance(command.parameters, Mapping) else {}
    config = command.reader_config if isinstance(command.reader_config, Mapping) else {}
    action = command.resource.removeprefix(_SERVICE_PREFIX)
    if action in ("s3:listObjectsV2", "aws-sdk:s3:listObjectsV2"):
        bucket = params.get("Bucket")
        if not isinstance(bucket, str):
            raise TaskError("States.ItemReaderFailed", "Bucket is required")
        return [
            {
                "Etag": f'"{o.etag}"',
                "Key": o.key,
                "LastModified": o.last_modified.isoformat(),
                "Size": o.size,
                "StorageClass": "STANDARD",
            }
            for o in objects.list(bucket, str(params.get("Prefix", "")))
        ]
    bucket, key = bucket_key(params)
    try:
        data = objects.get(bucket, key)
    except NotFoundError:
        raise TaskError("States.ItemReaderFailed", f"The object s3://{bucket}/{key} does not exist") from None
    if str(config.get("InputType", "")).upper() == "MANIFEST":
        return _manifest_items(objects, bucket, data)
    try:
        return parse_items(data, config)
    except StatesError as exc:
        raise TaskError(exc.error, exc.cause) from None


def _manifest_items(objects: ObjectStore, bucket: str, data: bytes) -> list[JSON]:
    """An S3 Inventory manifest: items are the Bucket/Key rows of its CSV data files."""
    try:
        manifest = json.loads(data)
        files = [f["key"] for f in manifest["files"]]
    except (ValueError, KeyError, TypeError):
        raise TaskError("States.ItemReaderFailed", "The manifest is not an S3 Inventory manifest.json") from None
    items: list[JSON] = []
    for key in files:
        content = objects.get(bucket, key)
        if key.endswith(".gz"):
            content = gzip.decompress(content)
        for row in csv.reader(io.StringIO(content.decode("utf-8"))):
            if len(row) >= 2:
                items.append({"Bucket": row[0], "Key": row[1]})
    return items


def write_results(ports: TaskPorts, command: WriteResults) -> JSON:
    """Store a Map Run's child results as a ResultWriter does: result files and a manifest."""
    objects: ObjectStore = ports.require(ports.objects, "object store")
    params = command.parameters if isinstance(command.parameters, Mapping) else {}
    bucket = params.get("Bucket")
    if not isinstance(bucket, str):
        raise TaskError("States.ResultWriterFailed", "ResultWriter needs a Bucket")
    run_id = command.map_run_arn.rsplit(":", 1)[-1]
    prefix = str(params.get("Prefix", "")).strip("/")
    folder = f"{prefix}/{run_id}" if prefix else run_id
    written: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    config = command.writer_config if isinstance(command.writer_config, Mapping) else {}
    for name, content in result_files(command.records, config).items():
        data = content.encode("utf-8")
        objects.put(bucket, f"{folder}/{name}", data, content_type="application/json")
        written[name.split("_", 1)[0]].append({"Key": f"{folder}/{name}", "Size": len(data)})
    manifest = {"DestinationBucket": bucket, "MapRunArn": command.map_run_arn, "ResultFiles": written}
    objects.put(bucket, f"{folder}/manifest.json", json.dumps(manifest).encode(), content_type="application/json")
    return {"Bucket": bucket, "Key": f"{folder}/manifest.json"}
