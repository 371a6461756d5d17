"""The local buckets' EventBridge notifications: an ObjectStore wrapper that emits S3's events.

On AWS, S3 itself emits an "Object Created" or "Object Deleted" event for every write
when EventBridge notifications are on; the folder-backed buckets do it here, for every
write through Sluiceway (the folder watcher announces the writes of other programs).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Mapping

from ...events.envelope import object_created, object_deleted
from ...ports import Clock, EventPublisher, ObjectInfo, ObjectStore
from ...types import EventDict

logger = logging.getLogger(__name__)


def sequencer_for(info: ObjectInfo) -> str:
    """S3's sequencer identifies and orders the writes of a key: the backend's, else the modification time."""
    return info.sequencer or f"{int(info.last_modified.timestamp() * 1_000_000):016X}"


class EventingObjectStore:
    """Delegates to ``inner`` and publishes "Object Created"/"Object Deleted" after each write."""

    def __init__(
        self,
        inner: ObjectStore,
        publisher: EventPublisher,
        clock: Clock,
        *,
        region: str,
        account: str,
        on_event: Callable[[], None] | None = None,
    ) -> None:
        self.inner = inner
        self.publisher = publisher
        self.clock = clock
        self.region = region
        self.account = account
        self.on_event = on_event

    def emit_created(self, info: ObjectInfo, reason: str = "PutObject") -> EventDict:
        event = object_created(
            bucket=info.bucket,
            key=info.key,
            size=info.size,
            etag=info.etag,
            sequencer=sequencer_for(info),
            event_id=str(uuid.uuid4()),
            request_id=uuid.uuid4().hex[:16].upper(),
            time=self.clock.now(),
            region=self.region,
            account=self.account,
            reason=reason,
            version_id=info.version_id,
        )
        self.publisher.put_events([event])
        if self.on_event is not None:
            self.on_event()
        return event

    def put(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        info = self.inner.put(bucket, key, data, content_type=content_type, metadata=metadata)
        self.emit_created(info)
        return info

    def put_file(self, bucket: str, key: str, path: str, *, content_type: str = "application/octet-stream") -> ObjectInfo:
        info = self.inner.put_file(bucket, key, path, content_type=content_type)
        self.emit_created(info)
        return info

    def delete(self, bucket: str, key: str) -> None:
        self.inner.delete(bucket, key)
        event = object_deleted(
            bucket=bucket,
            key=key,
            sequencer=f"{int(self.clock.now().timestamp() * 1_000_000):016X}",
            event_id=str(uuid.uuid4()),
            request_id=uuid.uuid4().hex[:16].upper(),
            time=self.clock.now(),
            region=self.region,
            account=self.account,
        )
        self.publisher.put_events([event])
        if self.on_event is not None:
            self.on_event()

    def get(
        self, bucket: str, key: str, *, start: int | None = None, end: int | None = None, if_match: str | None = None
    ) -> bytes:
        return self.inner.get(bucket, key, start=start, end=end, if_match=if_match)

    def head(self, bucket: str, key: str) -> ObjectInfo:
        return self.inner.head(bucket, key)

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        return self.inner.list(bucket, prefix)

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
        self.inner.download(bucket, key, path, start=start, end=end, if_match=if_match)
