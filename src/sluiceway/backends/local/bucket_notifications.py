"""S3's own event notifications of the local buckets: to SQS queues, SNS topics and Lambda functions.

A bucket's notification configuration (:mod:`.bucket_config`) names destinations, each
with event types and a key filter. For every write, :meth:`S3Notifier.notify` runs inside
the transaction that commits the write's EventBridge event, and commits what each
matching destination gets in it, so a crash loses none of them once the event is in:

* a queue gets its message at once (``SqliteQueueService.send``, in the same transaction);
* a topic gets its message at once (``SqliteTopic.publish``: its deliveries are durable);
* a function gets an asynchronous invocation in Lambda's one queue (``SqliteAsyncInvocations.enqueue``,
  in the same transaction): S3 hands its event to Lambda and is done, and Lambda runs it with its
  retries, maximum event age and ``EventInvokeConfig`` destinations
  (``runtime/lambdas/async_invocations.py``).

A destination that is gone since the configuration was put (a deleted queue) loses the
notification, as on AWS; the other destinations and the write are not affected.

**Once per write.** A write may be announced more than once: by its writer, by the folder
watcher that saw its file appear, by a restart's reconciliation of the folder, by the
recovery of a writer that died. Its event and notifications are committed only with the
first announcement (:meth:`S3Notifier.first_announcement`, a row per write in
``s3_announced_writes``, migration 0022), so a queue gets one message per write, as on S3.

**The writes' outbox.** A writer records its write (:meth:`S3Notifier.intend`) before the
object's file is renamed into place, and the transaction that announces the write deletes
that record. A record whose writer died is a write that may have landed unannounced: the
writer's recovery (``EventingObjectStore.recover``) looks at the bucket and announces it if it
is there; the stack runs it at its start and every few seconds while it runs.

The message is S3's notification event exactly: ``{"Records": [...]}`` with
``eventVersion`` 2.1 (see :func:`s3_record`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import quote_plus

from ...errors import SluicewayError
from ...ports import Clock
from ._sqlite import Database
from .async_invocations import SqliteAsyncInvocations
from .bucket_config import Destination, NotificationConfig, SqliteBucketConfigs
from .queues import SqliteQueueService
from .topics import SqliteTopic

logger = logging.getLogger(__name__)

__all__ = ["EVENT_NAMES", "PendingWrite", "S3Notifier", "s3_record", "s3_test_event"]

SUBJECT: Final = "Amazon S3 Notification"
"""The subject S3 publishes its notifications to SNS with."""

EVENT_NAMES: Final = {
    "PutObject": "ObjectCreated:Put",
    "POST Object": "ObjectCreated:Post",
    "CopyObject": "ObjectCreated:Copy",
    "CompleteMultipartUpload": "ObjectCreated:CompleteMultipartUpload",
    "DeleteObject": "ObjectRemoved:Delete",
}
"""The ``reason`` of an EventBridge S3 event -> S3's ``eventName`` for the same write."""

ANNOUNCED_KEPT: Final = timedelta(hours=1)
"""How long the record that a key's older write was announced is kept once a later write of the key is.

Only a key's current write can be announced again (the watcher and the reconciliation look at
the file as it is); an older one only by its own writer, moments after its rename. An hour is
far more than that takes."""


@dataclass(frozen=True)
class PendingWrite:
    """A write under way (or whose writer died before announcing it): a row of the writes' outbox."""

    write_id: str
    bucket: str
    key: str
    kind: str
    """``created`` or ``removed``."""
    reason: str
    """The write's EventBridge ``reason``: PutObject, CopyObject, CompleteMultipartUpload, DeleteObject."""
    request_id: str
    owner: str
    """The writer's process (a :class:`~._sqlite.ProcessOwner` id)."""
    created_at: float


def s3_record(
    *,
    event_name: str,
    bucket: str,
    key: str,
    configuration_id: str,
    time: datetime,
    region: str,
    account: str,
    request_id: str,
    sequencer: str,
    size: int | None = None,
    etag: str | None = None,
    version_id: str | None = None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """One record of S3's notification event (``eventVersion`` 2.1).

    The key is URL-encoded with ``+`` for spaces, as S3 sends it (a consumer decodes it
    with ``unquote_plus``); removals have no size or ETag.
    """
    obj: dict[str, Any] = {"key": quote_plus(key, safe="/")}
    if size is not None:
        obj["size"] = size
    if etag is not None:
        obj["eTag"] = etag
    if version_id is not None:
        obj["versionId"] = version_id
    obj["sequencer"] = sequencer
    principal = f"AWS:{account}"
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{time.microsecond // 1000:03d}Z",
        "eventName": event_name,
        "userIdentity": {"principalId": principal},
        "requestParameters": {"sourceIPAddress": source_ip},
        "responseElements": {"x-amz-request-id": request_id, "x-amz-id-2": _host_id(request_id)},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": account}, "arn": f"arn:aws:s3:::{bucket}"},
            "object": obj,
        },
    }


def s3_test_event(bucket: str, *, time: datetime, request_id: str) -> dict[str, Any]:
    """What S3 sends a queue or topic when a configuration naming it is put."""
    return {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{time.microsecond // 1000:03d}Z",
        "Bucket": bucket,
        "RequestId": request_id,
        "HostId": _host_id(request_id),
    }


def _host_id(request_id: str) -> str:
    # S3's x-amz-id-2 is an opaque base64 token; ours is derived from the request id.
    return base64.b64encode(hashlib.sha256(request_id.encode()).digest()).decode()


class S3Notifier:
    """Commits S3 notifications of the local buckets (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        configs: SqliteBucketConfigs,
        queues: SqliteQueueService,
        topics: SqliteTopic,
        clock: Clock,
        *,
        invocations: SqliteAsyncInvocations,
        region: str,
        account: str,
    ) -> None:
        self.db = db
        self.configs = configs
        self.queues = queues
        self.topics = topics
        self.invocations = invocations
        """Lambda's asynchronous queue, where a function's notifications go."""
        self.clock = clock
        self.region = region
        self.account = account

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction for a write's EventBridge event and its notifications."""
        with self.db.transaction():
            yield

    def config(self, bucket: str) -> NotificationConfig:
        return self.configs.notification(bucket)

    def notify(
        self,
        config: NotificationConfig,
        *,
        event_name: str,
        bucket: str,
        key: str,
        sequencer: str,
        size: int | None = None,
        etag: str | None = None,
        version_id: str | None = None,
        request_id: str | None = None,
    ) -> int:
        """Commit the notifications of one write to every destination of ``config`` that wants it; return how many.

        Call it inside :meth:`transaction` (with the write's EventBridge event).
        """
        sent = 0
        now = self.clock.now()
        request_id = request_id or uuid.uuid4().hex[:16].upper()
        for destination in config.destinations:
            if not destination.wants(event_name, key):
                continue
            record = s3_record(
                event_name=event_name,
                bucket=bucket,
                key=key,
                configuration_id=destination.id,
                time=now,
                region=self.region,
                account=self.account,
                request_id=request_id,
                sequencer=sequencer,
                size=size,
                etag=etag,
                version_id=version_id,
            )
            sent += self._send(destination, {"Records": [record]})
        return sent

    # -- once per write, and the writes' outbox ----------------------------------------------

    def first_announcement(self, bucket: str, key: str, sequencer: str, kind: str) -> bool:
        """Record that this write is announced; False if it was before (then announce nothing).

        Call it inside :meth:`transaction`, with the write's event and notifications.
        """
        now = self.clock.now().timestamp()
        with self.db.transaction() as conn:
            inserted = conn.execute(
                "INSERT OR IGNORE INTO s3_announced_writes (bucket, key, sequencer, kind, created_at) VALUES (?, ?, ?, ?, ?)",
                (bucket, key, sequencer, kind, now),
            ).rowcount
            if inserted:
                # The key's older writes can no longer be announced again (see ANNOUNCED_KEPT).
                conn.execute(
                    "DELETE FROM s3_announced_writes WHERE bucket = ? AND key = ? AND sequencer != ? AND created_at < ?",
                    (bucket, key, sequencer, now - ANNOUNCED_KEPT.total_seconds()),
                )
        return inserted == 1

    def prune_announced(self) -> int:
        """Forget announced writes that cannot be announced again; return how many.

        A removal is announced only by its writer (or the recovery of its outbox record), never
        again after; a key's write that a later one replaced cannot be announced again either.
        """
        cutoff = self.clock.now().timestamp() - ANNOUNCED_KEPT.total_seconds()
        with self.db.transaction() as conn:
            replaced = conn.execute(
                "DELETE FROM s3_announced_writes AS old WHERE old.created_at < ? AND EXISTS ("
                " SELECT 1 FROM s3_announced_writes AS later WHERE later.bucket = old.bucket AND later.key = old.key"
                " AND later.sequencer > old.sequencer)",
                (cutoff,),
            ).rowcount
            removed = conn.execute("DELETE FROM s3_announced_writes WHERE kind = 'removed' AND created_at < ?", (cutoff,)).rowcount
        return int(replaced + removed)

    def intend(self, write_id: str, bucket: str, key: str, *, kind: str, reason: str, request_id: str) -> None:
        """Record a write before it lands (committed at once: it must outlive this process)."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO s3_pending_writes (write_id, bucket, key, kind, reason, request_id, owner, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (write_id, bucket, key, kind, reason, request_id, self._writer(), self.clock.now().timestamp()),
            )

    def _writer(self) -> str:
        """This process's owner id, which tells the recovery whether the writer still runs."""
        return self.db.owner.id  # removed with its process (see ProcessOwner)

    def forget(self, write_id: str) -> bool:
        """The write is announced (call it inside the announcing transaction), or never landed.

        Returns whether the write was still in the outbox: False when another process (its
        writer, or a recovery) announced or forgot it meanwhile.
        """
        with self.db.transaction() as conn:
            return conn.execute("DELETE FROM s3_pending_writes WHERE write_id = ?", (write_id,)).rowcount == 1

    def pending_writes(self) -> list[PendingWrite]:
        """The outbox: writes recorded and not yet announced, oldest first."""
        rows = self.db.connection().execute(
            "SELECT write_id, bucket, key, kind, reason, request_id, owner, created_at FROM s3_pending_writes ORDER BY created_at"
        )
        return [PendingWrite(*row) for row in rows]

    def writer_alive(self, write: PendingWrite) -> bool:
        """Whether the process that recorded ``write`` still runs."""
        return self.db.owner.alive(write.owner)

    def send_test_events(self, bucket: str, destinations: tuple[Destination, ...], *, request_id: str) -> None:
        """S3's ``s3:TestEvent`` to each queue and topic of a configuration just put (functions get none)."""
        now = self.clock.now()
        body = s3_test_event(bucket, time=now, request_id=request_id)
        with self.db.transaction():
            for destination in {d.arn: d for d in destinations if d.kind in ("queue", "topic")}.values():
                self._send(destination, body)

    def _send(self, destination: Destination, body: dict[str, Any]) -> int:
        text = json.dumps(body, separators=(",", ":"))
        name = destination.arn.rsplit(":", 1)[-1]
        try:
            # A savepoint each: a destination that fails leaves the others and the write alone.
            with self.db.transaction():
                if destination.kind == "queue":
                    self.queues.send(name, text)
                elif destination.kind == "topic":
                    self.topics.publish(destination.arn, text, subject=SUBJECT)
                else:
                    # Inside the write's transaction: the invocation commits with the write, and
                    # the deliverer is woken once it has.
                    self.invocations.enqueue(destination.arn, body)
        except (SluicewayError, ValueError) as exc:
            # S3 drops a notification its destination refuses (gone since, or a policy that denies it).
            logger.warning(
                "S3 notification not delivered",
                extra={"destination": destination.arn, "configuration": destination.id, "reason": str(exc)},
            )
            return 0
        return 1
