"""Events in EventBridge's envelope, and S3 object events exactly as S3 sends them to EventBridge."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..names import name_from
from ..types import EventDict

__all__ = ["envelope", "execution_name_for", "object_created", "object_deleted", "object_event_key"]


def envelope(
    *,
    event_id: str,
    source: str,
    detail_type: str,
    detail: Mapping[str, Any],
    time: datetime,
    region: str,
    account: str,
    resources: list[str] | None = None,
) -> EventDict:
    """An event as EventBridge delivers it to targets."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": list(resources or []),
        "detail": dict(detail),
    }


def object_created(
    *,
    bucket: str,
    key: str,
    size: int,
    etag: str,
    sequencer: str,
    event_id: str,
    request_id: str,
    time: datetime,
    region: str,
    account: str,
    reason: str = "PutObject",
    version_id: str | None = None,
    requester: str | None = None,
    source_ip: str = "127.0.0.1",
) -> EventDict:
    """An S3 "Object Created" event (``reason``: PutObject, CopyObject, CompleteMultipartUpload, POST Object)."""
    obj: dict[str, Any] = {"key": key, "size": size, "etag": etag, "sequencer": sequencer}
    if version_id is not None:
        obj["version-id"] = version_id
    detail = {
        "version": "0",
        "bucket": {"name": bucket},
        "object": obj,
        "request-id": request_id,
        "requester": requester or account,
        "source-ip-address": source_ip,
        "reason": reason,
    }
    return envelope(
        event_id=event_id,
        source="aws.s3",
        detail_type="Object Created",
        detail=detail,
        time=time,
        region=region,
        account=account,
        resources=[f"arn:aws:s3:::{bucket}"],
    )


def object_deleted(
    *,
    bucket: str,
    key: str,
    sequencer: str,
    event_id: str,
    request_id: str,
    time: datetime,
    region: str,
    account: str,
    version_id: str | None = None,
) -> EventDict:
    """An S3 "Object Deleted" event (reason DeleteObject)."""
    obj: dict[str, Any] = {"key": key, "sequencer": sequencer}
    if version_id is not None:
        obj["version-id"] = version_id
    detail = {
        "version": "0",
        "bucket": {"name": bucket},
        "object": obj,
        "request-id": request_id,
        "requester": account,
        "source-ip-address": "127.0.0.1",
        "reason": "DeleteObject",
        "deletion-type": "Permanently Deleted",
    }
    return envelope(
        event_id=event_id,
        source="aws.s3",
        detail_type="Object Deleted",
        detail=detail,
        time=time,
        region=region,
        account=account,
        resources=[f"arn:aws:s3:::{bucket}"],
    )


def object_event_key(event: Mapping[str, Any]) -> str | None:
    """A stable identity for an S3 object event: the same write always gives the same key.

    Built from bucket, key, version-id or ETag, and sequencer, so the same write
    seen twice (by the writer and by the folder watcher, or redelivered after a
    crash) is recognised, while a later write of the same key is not.
    """
    if event.get("source") != "aws.s3":
        return None
    detail = event.get("detail") or {}
    obj = detail.get("object") or {}
    bucket = (detail.get("bucket") or {}).get("name")
    if not bucket or "key" not in obj:
        return None
    parts = [event.get("detail-type", ""), bucket, obj["key"], obj.get("version-id") or obj.get("etag") or "", obj.get("sequencer", "")]
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()


def execution_name_for(event: Mapping[str, Any]) -> str:
    """A valid, deterministic execution name for an event (so a redelivered event never starts a second run)."""
    identity = object_event_key(event) or hashlib.sha256(str(event.get("id", "")).encode()).hexdigest()
    detail = event.get("detail") or {}
    key = str((detail.get("object") or {}).get("key", "event"))
    return f"{name_from(key.rsplit('/', 1)[-1])}-{identity[:16]}"
