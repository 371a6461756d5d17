"""The local buckets' notifications: an ObjectStore wrapper that emits S3's events.

On AWS, S3 itself emits an "Object Created" or "Object Deleted" event for every write
when EventBridge notifications are on, and its own notification event to the Lambda
functions, SQS queues and SNS topics of the bucket's notification configuration; the
folder-backed buckets do it here, for every write through Sluiceway (the folder watcher
announces the writes of other programs).

With a :class:`~.bucket_notifications.S3Notifier`, each write's EventBridge event (when
EventBridge is on for the bucket) and its notifications commit in one transaction;
without one, every bucket emits EventBridge events and nothing else (as before buckets
had configurations).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence

from ...events.envelope import object_created, object_deleted
from ...ports import Clock, EventPublisher, ObjectInfo
from ...types import EventDict
from .bucket_notifications import EVENT_NAMES, S3Notifier
from .objects import FileObjectStore

logger = logging.getLogger(__name__)


def sequencer_for(info: ObjectInfo) -> str:
    """S3's sequencer identifies and orders the writes of a key: the backend's, else the modification time."""
    return info.sequencer or f"{int(info.last_modified.timestamp() * 1_000_000):016X}"


class EventingObjectStore:
    """Delegates to ``inner`` and publishes "Object Created"/"Object Deleted" after each write."""

    def __init__(
        self,
        inner: FileObjectStore,
        publisher: EventPublisher,
        clock: Clock,
        *,
        region: str,
        account: str,
        on_event: Callable[[], None] | None = None,
        notifier: S3Notifier | None = None,
    ) -> None:
        self.inner = inner
        self.publisher = publisher
        self.clock = clock
        self.region = region
        self.account = account
        self.on_event = on_event
        self.notifier = notifier

    def emit_created(self, info: ObjectInfo, reason: str = "PutObject", *, request_id: str | None = None) -> EventDict:
        """Commit the write's "Object Created" event (if EventBridge is on for the bucket) and its notifications.

        Returns the event, committed or not (``upload --run`` follows it).
        """
        request_id = request_id or uuid.uuid4().hex[:16].upper()
        event = object_created(
            bucket=info.bucket,
            key=info.key,
            size=info.size,
            etag=info.etag,
            sequencer=sequencer_for(info),
            event_id=str(uuid.uuid4()),
            request_id=request_id,
            time=self.clock.now(),
            region=self.region,
            account=self.account,
            reason=reason,
            version_id=info.version_id,
        )
        self._commit(
            event,
            reason,
            info.bucket,
            info.key,
            sequencer_for(info),
            size=info.size,
            etag=info.etag,
            version_id=info.version_id,
            request_id=request_id,
        )
        return event

    def _commit(
        self,
        event: EventDict,
        reason: str,
        bucket: str,
        key: str,
        sequencer: str,
        *,
        size: int | None = None,
        etag: str | None = None,
        version_id: str | None = None,
        request_id: str | None = None,
    ) -> None:
        if self.notifier is None:
            self.publisher.put_events([event])
        else:
            config = self.notifier.config(bucket)
            with self.notifier.transaction():
                if config.eventbridge:
                    self.publisher.put_events([event])
                self.notifier.notify(
                    config,
                    event_name=EVENT_NAMES[reason],
                    bucket=bucket,
                    key=key,
                    sequencer=sequencer,
                    size=size,
                    etag=etag,
                    version_id=version_id,
                    request_id=request_id,
                )
        if self.on_event is not None:
            self.on_event()

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

    def put_file(
        self,
        bucket: str,
        key: str,
        path: str,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        info = self.inner.put_file(bucket, key, path, content_type=content_type, metadata=metadata)
        self.emit_created(info)
        return info

    def copy(
        self,
        source_bucket: str,
        source_key: str,
        bucket: str,
        key: str,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        if_match: str | None = None,
        request_id: str | None = None,
    ) -> ObjectInfo:
        """Copy an object (see :meth:`FileObjectStore.copy`); the copy's event has the reason CopyObject."""
        info = self.inner.copy(
            source_bucket, source_key, bucket, key, content_type=content_type, metadata=metadata, if_match=if_match
        )
        self.emit_created(info, "CopyObject", request_id=request_id)
        return info

    def put_concatenation(
        self,
        bucket: str,
        key: str,
        folder: int,
        names: Sequence[str],
        *,
        etag: str,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
        request_id: str | None = None,
    ) -> ObjectInfo:
        """Complete a multipart upload (see :meth:`FileObjectStore.put_concatenation`): one object, one event."""
        info = self.inner.put_concatenation(bucket, key, folder, names, etag=etag, content_type=content_type, metadata=metadata)
        self.emit_created(info, "CompleteMultipartUpload", request_id=request_id)
        return info

    def delete(self, bucket: str, key: str, *, request_id: str | None = None) -> None:
        self.inner.delete(bucket, key)
        request_id = request_id or uuid.uuid4().hex[:16].upper()
        sequencer = f"{int(self.clock.now().timestamp() * 1_000_000):016X}"
        event = object_deleted(
            bucket=bucket,
            key=key,
            sequencer=sequencer,
            event_id=str(uuid.uuid4()),
            request_id=request_id,
            time=self.clock.now(),
            region=self.region,
            account=self.account,
        )
        self._commit(event, "DeleteObject", bucket, key, sequencer, request_id=request_id)

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
