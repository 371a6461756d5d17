"""The local buckets' notifications: an ObjectStore wrapper that emits S3's events.

On AWS, S3 itself emits an "Object Created" or "Object Deleted" event for every write
when EventBridge notifications are on, and its own notification event to the Lambda
functions, SQS queues and SNS topics of the bucket's notification configuration; the
folder-backed buckets do it here, for every write through Sluiceway (the folder watcher
announces the writes of other programs).

With a :class:`~.bucket_notifications.S3Notifier`, each write's EventBridge event (when
EventBridge is on for the bucket) and its notifications commit in one transaction, once
per write however often the write is announced; and a write is recorded in the notifier's
outbox before its file lands, so that a writer killed between the two (the object stored,
its announcement not committed) has its write announced by :meth:`EventingObjectStore.recover`,
which the running stack calls at its start and every few seconds.
Without a notifier, every bucket emits EventBridge events and nothing else (as before
buckets had configurations).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from typing import Final, Unpack

from ...errors import InvalidNameError, NotFoundError
from ...events.envelope import object_created, object_deleted
from ...ports import Clock, EventPublisher, ObjectInfo
from ...types import EventDict
from .bucket_notifications import EVENT_NAMES, PendingWrite, S3Notifier
from .objects import CopyOptions, FileObjectStore, ObjectOptions, WriteCondition, WriteConditionError

logger = logging.getLogger(__name__)

STALE_WRITE: Final = timedelta(minutes=1)
"""A live writer's recorded write that landed this long ago and is still unannounced failed to
announce it (its commit raised): the recovery announces it (its writer's own announcement, if it
ever comes, is the same write, so nothing is sent twice)."""

PRUNE_EVERY: Final = timedelta(minutes=10)
"""How often the recovery also forgets the announced writes that cannot be announced again."""


def sequencer_for(info: ObjectInfo) -> str:
    """S3's sequencer identifies and orders the writes of a key: the backend's, else the modification time."""
    return info.sequencer or f"{int(info.last_modified.timestamp() * 1_000_000):016X}"


def _request_id() -> str:
    return uuid.uuid4().hex[:16].upper()


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
        self._pruned_at: float | None = None

    def emit_created(
        self,
        info: ObjectInfo,
        reason: str = "PutObject",
        *,
        request_id: str | None = None,
        write_id: str | None = None,
    ) -> EventDict:
        """Commit the write's "Object Created" event (if EventBridge is on for the bucket) and its notifications.

        A write announced before (same key and sequencer) commits nothing again. Returns the
        event, committed or not (``upload --run`` follows it).

        Args:
            write_id: the write's record in the outbox, deleted with the announcement.
        """
        return self._emit_created(info, reason, request_id=request_id, write_id=write_id)[0]

    def _emit_created(
        self, info: ObjectInfo, reason: str, *, request_id: str | None, write_id: str | None, if_pending: bool = False
    ) -> tuple[EventDict, bool]:
        request_id = request_id or _request_id()
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
        committed = self._commit(
            event,
            reason,
            info.bucket,
            info.key,
            sequencer_for(info),
            size=info.size,
            etag=info.etag,
            version_id=info.version_id,
            request_id=request_id,
            write_id=write_id,
            if_pending=if_pending,
        )
        return event, committed

    def _emit_deleted(
        self, bucket: str, key: str, sequencer: str, *, request_id: str, write_id: str | None, if_pending: bool = False
    ) -> bool:
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
        return self._commit(event, "DeleteObject", bucket, key, sequencer, request_id=request_id, write_id=write_id, if_pending=if_pending)

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
        write_id: str | None = None,
        if_pending: bool = False,
    ) -> bool:
        """Commit the write's announcement, once; return whether it was committed now.

        With ``if_pending``, only if the write's outbox record (``write_id``) is still there: the
        caller settles a write from a snapshot of the outbox (the recovery, or a writer whose write
        raised), and the write may have been announced since by another process. Its record is
        deleted first, in the announcing transaction, so of two announcers only one finds it; a
        removal cannot be told apart by its sequencer (the settling one is made up).
        """
        committed = True
        if self.notifier is None:
            self.publisher.put_events([event])
        else:
            config = self.notifier.config(bucket)
            kind = "removed" if reason == "DeleteObject" else "created"
            with self.notifier.transaction():
                pending = write_id is not None and self.notifier.forget(write_id)
                committed = (pending or not if_pending) and self.notifier.first_announcement(bucket, key, sequencer, kind)
                if committed:
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
        return committed

    # -- writes: recorded in the outbox, landed, announced ------------------------------------

    def _intend(self, bucket: str, key: str, kind: str, reason: str, request_id: str, write_id: str | None = None) -> PendingWrite | None:
        if self.notifier is None:
            return None
        write = PendingWrite(write_id or uuid.uuid4().hex, bucket, key, kind, reason, request_id, "", 0.0)
        self.notifier.intend(write.write_id, bucket, key, kind=kind, reason=reason, request_id=request_id)
        return write

    def _created(
        self,
        reason: str,
        bucket: str,
        key: str,
        request_id: str | None,
        write: Callable[[str | None], ObjectInfo],
        write_id: str | None = None,
    ) -> ObjectInfo:
        """Record, write, announce: ``write(write_id)`` stores the object (``write_id``: the caller's for it, if given)."""
        request_id = request_id or _request_id()
        pending = self._intend(bucket, key, "created", reason, request_id, write_id)
        try:
            info = write(pending.write_id if pending is not None else write_id)
        except BaseException as exc:
            if pending is not None:
                self._settle_failed(pending, exc)
            raise
        self.emit_created(info, reason, request_id=request_id, write_id=pending.write_id if pending is not None else None)
        return info

    def _settle_failed(self, pending: PendingWrite, exc: BaseException) -> None:
        """A write raised: announce it if it landed all the same (a failure after the rename), else forget it."""
        assert self.notifier is not None
        try:
            if isinstance(exc, WriteConditionError):
                self.notifier.forget(pending.write_id)  # refused before anything changed
            else:
                self._settle(pending, forget_unlanded=True)
        except Exception:  # noqa: BLE001 -- the write's own error is what the caller must see
            logger.exception("could not settle a failed write; the recovery will", extra={"bucket": pending.bucket, "key": pending.key})

    def put(self, bucket: str, key: str, data: bytes, *, request_id: str | None = None, **options: Unpack[ObjectOptions]) -> ObjectInfo:
        """Store an object (see :meth:`FileObjectStore.put`) and announce the write."""
        return self._created(
            "PutObject", bucket, key, request_id, lambda write_id: self.inner.put(bucket, key, data, write_id=write_id, **options)
        )

    def put_file(self, bucket: str, key: str, path: str, *, request_id: str | None = None, **options: Unpack[ObjectOptions]) -> ObjectInfo:
        """Store a file's bytes as an object (see :meth:`FileObjectStore.put_file`) and announce the write."""
        return self._created(
            "PutObject", bucket, key, request_id, lambda write_id: self.inner.put_file(bucket, key, path, write_id=write_id, **options)
        )

    def copy(
        self, source_bucket: str, source_key: str, bucket: str, key: str, *, request_id: str | None = None, **options: Unpack[CopyOptions]
    ) -> ObjectInfo:
        """Copy an object (see :meth:`FileObjectStore.copy`); the copy's event has the reason CopyObject."""
        return self._created(
            "CopyObject",
            bucket,
            key,
            request_id,
            lambda write_id: self.inner.copy(source_bucket, source_key, bucket, key, write_id=write_id, **options),
        )

    def put_concatenation(
        self,
        bucket: str,
        key: str,
        folder: int,
        names: Sequence[str],
        *,
        etag: str,
        request_id: str | None = None,
        write_id: str | None = None,
        **options: Unpack[ObjectOptions],
    ) -> ObjectInfo:
        """Complete a multipart upload (see :meth:`FileObjectStore.put_concatenation`): one object, one event.

        Args:
            write_id: the write's id, new for each write (the completion records it first: :meth:`landed`
                tells a retry whether the write landed).
        """
        return self._created(
            "CompleteMultipartUpload",
            bucket,
            key,
            request_id,
            lambda write_id: self.inner.put_concatenation(bucket, key, folder, names, etag=etag, write_id=write_id, **options),
            write_id,
        )

    def delete(self, bucket: str, key: str, *, request_id: str | None = None, condition: WriteCondition | None = None) -> None:
        """Remove an object (see :meth:`FileObjectStore.delete`) and announce the removal."""
        request_id = request_id or _request_id()
        pending = self._intend(bucket, key, "removed", "DeleteObject", request_id)
        try:
            sequencer = self.inner.delete(bucket, key, condition=condition)
        except BaseException as exc:
            if pending is not None:
                self._settle_failed(pending, exc)
            raise
        self._emit_deleted(bucket, key, sequencer, request_id=request_id, write_id=pending.write_id if pending is not None else None)

    # -- the outbox's recovery ---------------------------------------------------------------

    def recover(self) -> int:
        """Announce the recorded writes that landed and whose writer died before announcing them; return how many.

        A write whose writer died before it landed is forgotten (nothing changed). A live
        writer's write is left to it, unless it landed :data:`STALE_WRITE` ago and is still
        unannounced (its announcement failed).
        """
        if self.notifier is None:
            return 0
        announced = 0
        now = self.clock.now().timestamp()
        for pending in self.notifier.pending_writes():
            gone = not self.notifier.writer_alive(pending)
            if not gone and (pending.kind != "created" or now - pending.created_at < STALE_WRITE.total_seconds()):
                # A removal's sequencer is its writer's alone: only the writer, or its recovery once it
                # is gone, may announce it, or the removal could be announced twice.
                continue
            try:
                announced += self._settle(pending, forget_unlanded=gone)
            except (OSError, InvalidNameError):
                logger.exception("could not recover a write", extra={"bucket": pending.bucket, "key": pending.key})
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY.total_seconds():
            self.notifier.prune_announced()
            self._pruned_at = now
        return announced

    def _settle(self, pending: PendingWrite, *, forget_unlanded: bool) -> int:
        """Announce ``pending`` if it landed and is still unannounced (return 1).

        Else forget it if ``forget_unlanded`` (it never will land).
        """
        assert self.notifier is not None
        if pending.kind == "created":
            info = self.inner.landed(pending.bucket, pending.key, pending.write_id)
            if info is not None:
                logger.warning("announcing a write its writer did not", extra={"bucket": pending.bucket, "key": pending.key})
                _, committed = self._emit_created(
                    info, pending.reason, request_id=pending.request_id, write_id=pending.write_id, if_pending=True
                )
                return int(committed)
        else:
            try:
                self.inner.head(pending.bucket, pending.key)
            except NotFoundError:
                # Removed: its sequencer died with its writer; a new one still sorts after the key's writes.
                logger.warning("announcing a removal its writer did not", extra={"bucket": pending.bucket, "key": pending.key})
                return int(
                    self._emit_deleted(
                        pending.bucket,
                        pending.key,
                        f"{time.time_ns():016X}",
                        request_id=pending.request_id,
                        write_id=pending.write_id,
                        if_pending=True,
                    )
                )
            except InvalidNameError:
                pass  # a link or a FIFO is there: no object, but nothing this removal can be said to have done
        if forget_unlanded:
            self.notifier.forget(pending.write_id)
        return 0

    def get(self, bucket: str, key: str, *, start: int | None = None, end: int | None = None, if_match: str | None = None) -> bytes:
        return self.inner.get(bucket, key, start=start, end=end, if_match=if_match)

    def head(self, bucket: str, key: str) -> ObjectInfo:
        return self.inner.head(bucket, key)

    def landed(self, bucket: str, key: str, write_id: str) -> ObjectInfo | None:
        """See :meth:`FileObjectStore.landed`."""
        return self.inner.landed(bucket, key, write_id)

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
