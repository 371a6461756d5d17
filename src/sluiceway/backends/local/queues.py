"""Queues on SQLite with SQS semantics: visibility timeouts, delays, FIFO groups,
deduplication, dead-letter queues and redrive, long polling.

Every call that changes a queue is one ``BEGIN IMMEDIATE`` transaction, committed
before it returns; in WAL mode with ``synchronous=NORMAL`` a committed send or
delete survives the process being killed. Messages are rows of
``queue_messages``; a receive picks visible rows through the
``(queue_id, visible_at)`` index and hides them by moving ``visible_at`` forward.

A receipt handle names the queue, the message row and a random token that a
later receive replaces, so an old receipt can neither delete nor hide a message
received again since (:mod:`~sluiceway.backends.local._receipts`).

Long polls wait on a condition that sends in this process notify, and re-check
the table every ``poll_interval_s`` (default :data:`POLL_INTERVAL_S`) for sends
from other processes and for messages whose delay or visibility timeout runs out
(:mod:`~sluiceway.backends.local._long_poll`). Dead-letter moves and message move
tasks are in :mod:`~sluiceway.backends.local._dead_letters` (their records, for
ListMessageMoveTasks, in :mod:`~sluiceway.backends.local._move_tasks`); queue lookups in
:mod:`~sluiceway.backends.local._queue_catalog`; attributes set after creation, kept
settings and tags in :mod:`~sluiceway.backends.local._queue_settings`.

Messages carry SQS's typed attributes (:mod:`~sluiceway.messaging.sqs_attributes`);
the port's :meth:`SqliteQueueService.receive` gives them as text, and
:meth:`SqliteQueueService.receive_messages` gives everything SQS's ReceiveMessage tells.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ...errors import ConflictError, NotFoundError
from ...messaging import limits
from ...messaging.batch import (
    BatchFailure,
    BatchResult,
    BatchSuccess,
    ReceiptEntry,
    SendEntry,
    VisibilityEntry,
    check_batch,
)
from ...messaging.errors import InvalidMessageError, MessageGoneError, PurgeInProgressError, StaleReceiptError
from ...messaging.queue import MoveTask, QueueAttributes, QueueConfig, ReceivedMessage, StoredMessage
from ...messaging.queue_attributes import DEDUP_BY_GROUP, QueueAttributeChanges
from ...messaging.redrive import RedrivePolicy, queue_arn, queue_name
from ...messaging.sqs_attributes import AttributeInput, attributes_from_json
from ...ports import Clock, QueueMessage
from . import _dead_letters, _move_tasks, _queue_settings, _receipts, _sends
from ._long_poll import LongPolls
from ._queue_catalog import QueueCatalog, QueueRow
from ._sqlite import Database

logger = logging.getLogger(__name__)

__all__ = ["POLL_INTERVAL_S", "SqliteQueueService"]

POLL_INTERVAL_S = 0.1
"""How often a long poll re-checks the table for what no notification announces."""
_DEDUP_SWEEP_S = 60.0

_MESSAGE_COLUMNS = (
    "m.seq, m.message_id, m.body, m.attributes, m.group_id, m.sent_at, m.enqueued_at,"
    " m.receive_count, m.dedup_id, m.trace_header, m.first_received_at, m.dead_letter_source"
)
_STANDARD_CANDIDATES = (
    f"SELECT {_MESSAGE_COLUMNS} FROM queue_messages AS m WHERE m.queue_id = ? AND m.visible_at <= ? ORDER BY m.visible_at LIMIT ?"
)
# A FIFO group is gated by its invisible messages: closed while one is in flight
# (received, so receive_count > 0), and open only below a delayed one otherwise.
_FIFO_CANDIDATES = (
    "WITH gates AS ("
    " SELECT group_id, CASE WHEN max(receive_count) > 0 THEN -1 ELSE min(seq) END AS gate"
    " FROM queue_messages WHERE queue_id = :q AND visible_at > :now GROUP BY group_id)"
    f" SELECT {_MESSAGE_COLUMNS} FROM queue_messages AS m"
    " LEFT JOIN gates AS g ON g.group_id = m.group_id"
    " WHERE m.queue_id = :q AND m.group_id IS NOT NULL AND m.visible_at <= :now"
    " AND (g.gate IS NULL OR m.seq < g.gate) ORDER BY m.seq LIMIT :n"
)


def _datetime(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class SqliteQueueService:
    """The :class:`~sluiceway.ports.Queue` port on SQLite, with SQS's queue management around it.

    Thread-safe: every thread uses its own connection from ``db``. Queues are
    named by their name (ARNs and URLs are accepted where SQS takes them, in
    redrive policies and move tasks).
    """

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        region: str = "us-east-1",
        account_id: str = "000000000000",
        poll_interval_s: float = POLL_INTERVAL_S,
    ) -> None:
        self.db = db
        self.clock = clock
        self.region = region
        self.account_id = account_id
        self.poll_interval_s = poll_interval_s
        self._polls = LongPolls(clock)
        self._catalog = QueueCatalog()
        self._next_dedup_sweep = 0.0
        self._moves_lock = threading.Lock()
        self._running_moves: dict[str, str] = {}
        """Handles of the move tasks running in this process, and their source queues."""
        self._cancelled_moves: set[str] = set()

    # ------------------------------------------------------------------ queues

    def create_queue(
        self,
        name: str,
        *,
        visibility_timeout_s: int = 30,
        retention_s: int = 345_600,
        delay_s: int = 0,
        receive_wait_s: int = 0,
        redrive_policy: Mapping[str, Any] | str | RedrivePolicy | None = None,
        fifo: bool = False,
        content_based_dedup: bool = False,
        max_message_bytes: int = limits.MAX_MESSAGE_BYTES,
        settings: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> QueueConfig:
        """Create a queue, or return the existing one if it has exactly these attributes.

        Args:
            name: 1-80 alphanumerics, ``-`` or ``_``; a FIFO queue's ends in ``.fifo``.
            redrive_policy: SQS's ``{"deadLetterTargetArn": arn-or-name, "maxReceiveCount": n}``
                (``deadLetterQueue`` may name the DLQ instead), its JSON, or a RedrivePolicy.
            max_message_bytes: MaximumMessageSize (1,024 to 1,048,576).
            settings: attributes SQS keeps as given (``Policy``, ``RedriveAllowPolicy``, ...),
                checked by :func:`~sluiceway.messaging.queue_attributes.parse_queue_attributes`.
            tags: the queue's tags (a new queue only; an existing one keeps its own).

        Returns:
            The queue's configuration.

        Raises:
            ConflictError: the queue exists with other attributes (SQS's QueueAlreadyExists).
            NotFoundError: the redrive policy's dead-letter queue does not exist.
            InvalidNameError: the name is not valid for the queue type.
            ValueError: an attribute out of SQS's range, or a DLQ of the other queue type.
        """
        policy = redrive_policy if isinstance(redrive_policy, RedrivePolicy | None) else RedrivePolicy.from_aws(redrive_policy)
        config = QueueConfig(
            name=name,
            fifo=fifo,
            content_based_dedup=content_based_dedup,
            visibility_timeout_s=visibility_timeout_s,
            retention_s=retention_s,
            delay_s=delay_s,
            receive_wait_s=receive_wait_s,
            redrive_policy=policy,
            max_message_bytes=max_message_bytes,
        )
        config.check()
        if tags:
            _queue_settings.check_tags(tags)
        kept = dict(settings or {})
        if fifo and kept.get("DeduplicationScope") == "messageGroup":
            kept[DEDUP_BY_GROUP] = "true"
        with self.db.transaction() as conn:
            existing = self._find_queue(conn, name)
            if existing is not None:
                if existing.config == config and dict(settings or {}).items() <= _queue_settings.read_settings(conn, existing).items():
                    return existing.config
                raise ConflictError(f"A queue already exists with the same name and a different value for an attribute: {name}")
            if policy is not None:
                _queue_settings.check_dead_letter_target(
                    self._catalog, conn, name, fifo, policy, region=self.region, account_id=self.account_id
                )
            conn.execute(
                "INSERT INTO queues (name, fifo, content_based_dedup, visibility_timeout_s,"
                " retention_s, delay_s, receive_wait_s, dead_letter_queue, max_receive_count,"
                " created_at, max_message_bytes, settings, tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    int(fifo),
                    int(content_based_dedup),
                    visibility_timeout_s,
                    retention_s,
                    delay_s,
                    receive_wait_s,
                    policy.dead_letter_queue if policy else None,
                    policy.max_receive_count if policy else None,
                    self._now(),
                    max_message_bytes,
                    json.dumps(kept) if kept else None,
                    json.dumps(dict(tags)) if tags else None,
                ),
            )
        logger.info("queue created", extra={"queue": name})
        return config

    def set_queue_attributes(self, queue: str, changes: QueueAttributeChanges) -> QueueConfig:
        """Change a queue's attributes (SetQueueAttributes) and return its configuration.

        Args:
            changes: a map parsed by
                :func:`~sluiceway.messaging.queue_attributes.parse_queue_attributes`.

        Raises:
            NotFoundError: no such queue, or the new redrive policy's DLQ does not exist.
            ValueError: a value SQS refuses (a DLQ of the other type or that refuses this
                queue as a source, a queue its own DLQ).
        """
        with self.db.transaction() as conn:
            q = self._must_queue(conn, queue)
            policy = changes.fields.get("redrive_policy")
            if isinstance(policy, RedrivePolicy):
                _queue_settings.check_dead_letter_target(
                    self._catalog, conn, q.config.name, q.config.fifo, policy, region=self.region, account_id=self.account_id
                )
            config = _queue_settings.update(conn, q, changes, self._now())
        self._changed()  # a shorter delay or visibility may let waiting receivers through
        logger.info("queue attributes set", extra={"queue": queue, "attributes": sorted(changes.fields) + sorted(changes.settings)})
        return config

    def queue_tags(self, queue: str) -> dict[str, str]:
        """The queue's tags (ListQueueTags).

        Raises:
            NotFoundError: no such queue.
        """
        conn = self.db.connection()
        return _queue_settings.read_tags(conn, self._must_queue(conn, queue))

    def tag_queue(self, queue: str, tags: Mapping[str, str]) -> None:
        """Add or overwrite tags (TagQueue).

        Raises:
            NotFoundError: no such queue.
            InvalidMessageError: more than 50 tags in all, or a key or value SQS refuses.
        """
        with self.db.transaction() as conn:
            q = self._must_queue(conn, queue)
            _queue_settings.write_tags(conn, q, {**_queue_settings.read_tags(conn, q), **tags})

    def untag_queue(self, queue: str, keys: Sequence[str]) -> None:
        """Remove tags by key (UntagQueue); keys the queue does not have are ignored.

        Raises:
            NotFoundError: no such queue.
        """
        with self.db.transaction() as conn:
            q = self._must_queue(conn, queue)
            tags = _queue_settings.read_tags(conn, q)
            _queue_settings.write_tags(conn, q, {k: v for k, v in tags.items() if k not in set(keys)})

    def dead_letter_sources(self, queue: str) -> list[str]:
        """Names of the queues whose redrive policy sends to ``queue`` (ListDeadLetterSourceQueues), sorted.

        Raises:
            NotFoundError: no such queue.
        """
        conn = self.db.connection()
        self._must_queue(conn, queue)
        rows = conn.execute("SELECT name FROM queues WHERE dead_letter_queue = ? ORDER BY name", (queue,)).fetchall()
        return [row[0] for row in rows]

    def delete_queue(self, queue: str) -> None:
        """Delete a queue and its messages.

        Raises:
            NotFoundError: no such queue.
        """
        with self.db.transaction() as conn:
            if conn.execute("DELETE FROM queues WHERE name = ?", (queue,)).rowcount == 0:
                raise NotFoundError(f"The specified queue does not exist: {queue}")
        self._changed()
        logger.info("queue deleted", extra={"queue": queue})

    def list_queues(self, prefix: str = "") -> list[str]:
        """Names of the queues whose name starts with ``prefix``, sorted."""
        rows = self.db.connection().execute("SELECT name FROM queues ORDER BY name").fetchall()
        return [row[0] for row in rows if row[0].startswith(prefix)]

    def queue_arn(self, queue: str) -> str:
        """The ARN SQS would give ``queue`` in this service's region and account."""
        return queue_arn(queue, region=self.region, account_id=self.account_id)

    def queue_attributes(self, queue: str) -> QueueAttributes:
        """Counts and settings of ``queue`` (GetQueueAttributes), after dropping expired messages.

        Raises:
            NotFoundError: no such queue.
        """
        with self.db.transaction() as conn:
            q = self._must_queue(conn, queue)
            now = self._now()
            conn.execute(
                "DELETE FROM queue_messages WHERE queue_id = ? AND enqueued_at <= ?",
                (q.id, now - q.config.retention_s),
            )
            settings = _queue_settings.read_settings(conn, q)
            modified = conn.execute("SELECT modified_at FROM queues WHERE id = ?", (q.id,)).fetchone()[0]
            available, in_flight, delayed, oldest = conn.execute(
                "SELECT coalesce(sum(visible_at <= :now), 0),"
                " coalesce(sum(visible_at > :now AND receive_count > 0), 0),"
                " coalesce(sum(visible_at > :now AND receive_count = 0), 0), min(arrived_at)"
                " FROM queue_messages WHERE queue_id = :q",
                {"now": now, "q": q.id},
            ).fetchone()
        return QueueAttributes(
            config=q.config,
            arn=self.queue_arn(queue),
            created_at=_datetime(q.created_at),
            available=available,
            in_flight=in_flight,
            delayed=delayed,
            oldest_age_s=None if oldest is None else max(0.0, now - oldest),
            modified_at=None if modified is None else _datetime(modified),
            settings=settings,
        )

    def purge(self, queue: str) -> None:
        """Delete every message of ``queue``, in flight or not (PurgeQueue).

        FIFO deduplication ids stay remembered for their five minutes, as in SQS. As SQS,
        a queue is purged at most once a minute; the time of the last purge is kept with
        the queue's row, so a restart does not forget it and a queue made again under the
        same name starts afresh.

        Raises:
            NotFoundError: no such queue.
            PurgeInProgressError: the queue was purged less than 60 seconds ago.
        """
        with self.db.transaction() as conn:
            q = self._must_queue(conn, queue)
            now = self._now()
            last = conn.execute("SELECT purged_at FROM queues WHERE id = ?", (q.id,)).fetchone()[0]
            if last is not None and now - last < limits.PURGE_INTERVAL_S:
                raise PurgeInProgressError(f"Only one PurgeQueue operation on {queue} is allowed every 60 seconds.")
            conn.execute("UPDATE queues SET purged_at = ? WHERE id = ?", (now, q.id))
            count = conn.execute("DELETE FROM queue_messages WHERE queue_id = ?", (q.id,)).rowcount
        logger.info("queue purged", extra={"queue": queue, "count": count})

    def peek(self, queue: str, *, limit: int = 100) -> list[StoredMessage]:
        """Up to ``limit`` messages of ``queue`` in send order, without receiving them.

        For people and tests (a DLQ's content, what is in flight); the receive
        count and visibility are left as they are.

        Raises:
            NotFoundError: no such queue.
        """
        conn = self.db.connection()
        q = self._must_queue(conn, queue)
        now = self._now()
        rows = conn.execute(
            "SELECT message_id, body, attributes, group_id, dedup_id, sent_at, visible_at,"
            " receive_count, dead_letter_source"
            " FROM queue_messages WHERE queue_id = ? AND enqueued_at > ? ORDER BY seq LIMIT ?",
            (q.id, now - q.config.retention_s, limit),
        ).fetchall()
        return [
            StoredMessage(
                message_id=r[0],
                body=r[1],
                state="available" if r[6] <= now else ("in_flight" if r[7] > 0 else "delayed"),
                receive_count=r[7],
                sent_at=_datetime(r[5]),
                visible_at=_datetime(r[6]),
                attributes={k: v.text() for k, v in attributes_from_json(r[2]).items()},
                group_id=r[3],
                dedup_id=r[4],
                dead_letter_source=r[8],
            )
            for r in rows
        ]

    # ------------------------------------------------------------------- sends

    def send(
        self,
        queue: str,
        body: str,
        *,
        delay_s: int | None = None,
        attributes: Mapping[str, AttributeInput] | None = None,
        group_id: str | None = None,
        dedup_id: str | None = None,
    ) -> str:
        """Send a message and return its id; it is committed when this returns.

        Args:
            delay_s: seconds before the message can be received (0-900); None takes
                the queue's delay. FIFO queues refuse a per-message delay.
            attributes: up to ten message attributes (plain strings are ``String`` ones).
            group_id: required on FIFO queues (ordering group); optional elsewhere.
            dedup_id: FIFO only; required unless the queue has content-based
                deduplication. A duplicate within five minutes is accepted and returns
                the first message's id, but is not enqueued again.

        Raises:
            NotFoundError: no such queue.
            InvalidMessageError: a message SQS would refuse (a ValueError with SQS's code).
        """
        entry = SendEntry(
            id="0",
            body=body,
            delay_s=delay_s,
            attributes=attributes,
            group_id=group_id,
            dedup_id=dedup_id,
        )
        sent = self.send_entry(queue, entry)
        assert sent.message_id is not None
        return sent.message_id

    def send_entry(self, queue: str, entry: SendEntry) -> BatchSuccess:
        """Send one message (SendMessage with all its parameters); committed when this returns.

        Returns:
            The message id and, on a FIFO queue, its sequence number (a duplicate's are the
            first message's).

        Raises:
            NotFoundError: no such queue.
            InvalidMessageError: a message SQS would refuse.
        """
        with self.db.transaction() as conn:
            q = self._must_queue(conn, queue)
            now = self._now()
            self._sweep_dedup(conn, q)
            sent = _sends.insert(conn, q, entry, now)
        self._changed()
        return sent

    def send_batch(self, queue: str, entries: Sequence[SendEntry]) -> BatchResult:
        """Send up to ten messages in one transaction; each entry succeeds or fails on its own.

        Raises:
            NotFoundError: no such queue.
            InvalidMessageError: the request itself is invalid (no entries, more than
                ten, repeated or malformed entry ids, over 1 MiB in total, a FIFO entry
                without a group or deduplication id); nothing is sent.
        """
        check_batch(e.id for e in entries)
        total = sum(limits.message_size(e.body, e.attributes) for e in entries if isinstance(e.body, str))
        if total > limits.MAX_BATCH_BYTES:
            raise InvalidMessageError(
                "BatchRequestTooLong",
                f"Batch requests cannot be longer than {limits.MAX_BATCH_BYTES} bytes. You have sent {total} bytes.",
            )
        successful: list[BatchSuccess] = []
        failed: list[BatchFailure] = []
        with self.db.transaction() as conn:
            q = self._must_queue(conn, queue)
            now = self._now()
            _sends.check_fifo_batch(q, entries)
            self._sweep_dedup(conn, q)
            for entry in entries:
                try:
                    successful.append(_sends.insert(conn, q, entry, now, in_batch=True))
                except InvalidMessageError as exc:
                    failed.append(BatchFailure(id=entry.id, code=exc.code, message=str(exc)))
        if successful:
            self._changed()
        return BatchResult(successful=tuple(successful), failed=tuple(failed))

    def _sweep_dedup(self, conn: sqlite3.Connection, q: QueueRow) -> None:
        # Expired deduplication ids are ignored when read; this only keeps the table small.
        if not q.config.fifo or self.clock.monotonic() < self._next_dedup_sweep:
            return
        self._next_dedup_sweep = self.clock.monotonic() + _DEDUP_SWEEP_S
        conn.execute("DELETE FROM queue_dedup WHERE expires_at <= ?", (self._now(),))

    # ---------------------------------------------------------------- receives

    def receive(
        self,
        queue: str,
        *,
        max_messages: int = 1,
        visibility_s: int | None = None,
        wait_s: float | None = None,
    ) -> list[QueueMessage]:
        """Receive up to ``max_messages`` visible messages and hide them for the visibility timeout.

        The port's view of :meth:`receive_messages`: attributes as text (binary ones in base64).
        """
        return [
            QueueMessage(
                message_id=m.message_id,
                receipt_handle=m.receipt_handle,
                body=m.body,
                attributes={k: v.text() for k, v in m.attributes.items()},
                receive_count=m.receive_count,
                sent_at=m.sent_at,
                group_id=m.group_id,
                trace_header=m.trace_header,
            )
            for m in self.receive_messages(queue, max_messages=max_messages, visibility_s=visibility_s, wait_s=wait_s)
        ]

    def receive_messages(
        self,
        queue: str,
        *,
        max_messages: int = 1,
        visibility_s: int | None = None,
        wait_s: float | None = None,
    ) -> list[ReceivedMessage]:
        """Receive up to ``max_messages`` visible messages, with everything SQS's ReceiveMessage tells.

        Each receive increments the message's ApproximateReceiveCount and gives it a
        new receipt handle. A message whose receive count has reached the queue's
        ``maxReceiveCount`` moves to the dead-letter queue instead of being
        received; one past the queue's retention period is dropped. On a FIFO
        queue, messages of a group come in send order and a group with a message in
        flight gives nothing.

        Args:
            max_messages: 1 to 10.
            visibility_s: 0 to 43200; None takes the queue's visibility timeout.
            wait_s: long-poll up to this many seconds (0 to 20) for a message to
                arrive; None takes the queue's ReceiveMessageWaitTimeSeconds.

        Raises:
            NotFoundError: no such queue.
            ValueError: a parameter out of range.
        """
        limits.check_range("MaxNumberOfMessages", max_messages, 1, limits.MAX_RECEIVE_MESSAGES)
        if visibility_s is not None:
            limits.check_range("VisibilityTimeout", visibility_s, 0, limits.MAX_VISIBILITY_S)
        if wait_s is not None:
            limits.check_range("WaitTimeSeconds", wait_s, 0, limits.MAX_WAIT_S)
        generation = self._polls.generation
        messages, default_wait = self._receive_once(queue, max_messages, visibility_s)
        wait = default_wait if wait_s is None else wait_s
        if messages or wait <= 0:
            return messages
        return self._long_poll(queue, max_messages, visibility_s, wait, generation)

    def _long_poll(self, queue: str, max_messages: int, visibility_s: int | None, wait: float, generation: int) -> list[ReceivedMessage]:
        def look() -> list[ReceivedMessage]:
            return self._receive_once(queue, max_messages, visibility_s)[0] if self._probe(queue) else []

        return self._polls.wait(queue, wait, generation, look, poll_interval_s=self.poll_interval_s)

    def _probe(self, queue: str) -> bool:
        """Whether ``queue`` may have a visible message, read without taking the write lock."""
        conn = self.db.connection()
        q = self._must_queue(conn, queue)
        return (
            conn.execute(
                "SELECT 1 FROM queue_messages WHERE queue_id = ? AND visible_at <= ? LIMIT 1",
                (q.id, self._now()),
            ).fetchone()
            is not None
        )

    def _receive_once(self, queue: str, max_messages: int, visibility_s: int | None) -> tuple[list[ReceivedMessage], int]:
        """One receive transaction; returns the messages and the queue's default wait."""
        out: list[ReceivedMessage] = []
        moved_any = False
        with self.db.transaction() as conn:
            q = self._must_queue(conn, queue)
            cfg = q.config
            now = self._now()
            hidden_until = now + (cfg.visibility_timeout_s if visibility_s is None else visibility_s)
            expired_before = now - cfg.retention_s
            policy = cfg.redrive_policy
            dlq: QueueRow | None = None
            dlq_looked_up = False
            # Rows handled in this call: with a visibility timeout of 0 they are still visible.
            seen: set[int] = set()
            while len(out) < max_messages:
                limit = max_messages - len(out) + len(seen)
                if cfg.fifo:
                    rows = conn.execute(_FIFO_CANDIDATES, {"q": q.id, "now": now, "n": limit}).fetchall()
                else:
                    rows = conn.execute(_STANDARD_CANDIDATES, (q.id, now, limit)).fetchall()
                expired: list[tuple[int]] = []
                to_dlq: list[int] = []
                hide: list[tuple[str, float, float, int]] = []
                for row in rows:
                    (
                        seq,
                        message_id,
                        body,
                        attributes,
                        group_id,
                        sent_at,
                        enqueued_at,
                        count,
                        dedup_id,
                        trace_header,
                        first_received_at,
                        dead_letter_source,
                    ) = row
                    if seq in seen or len(out) >= max_messages:
                        continue
                    seen.add(seq)
                    if enqueued_at <= expired_before:
                        expired.append((seq,))
                        continue
                    if policy is not None and policy.exhausted(count):
                        if not dlq_looked_up:
                            dlq = _dead_letters.dead_letter_queue(self._catalog, conn, q, policy)
                            dlq_looked_up = True
                        if dlq is not None:
                            to_dlq.append(seq)
                            continue
                    token, receipt = _receipts.new_receipt(q, seq)
                    hide.append((token, hidden_until, now, seq))
                    out.append(
                        ReceivedMessage(
                            message_id=message_id,
                            receipt_handle=receipt,
                            body=body,
                            attributes=attributes_from_json(attributes),
                            receive_count=count + 1,
                            sent_at=_datetime(sent_at),
                            first_received_at=_datetime(now if first_received_at is None else first_received_at),
                            trace_header=trace_header,
                            group_id=group_id,
                            dedup_id=dedup_id if cfg.fifo else None,
                            sequence_number=_sends.sequence_number(seq) if cfg.fifo else None,
                            dead_letter_source=dead_letter_source,
                        )
                    )
                if expired:
                    conn.executemany("DELETE FROM queue_messages WHERE seq = ?", expired)
                if to_dlq and dlq is not None:
                    _dead_letters.move_to_dead_letter_queue(conn, q, dlq, to_dlq, now)
                    moved_any = True
                if hide:
                    conn.executemany(
                        "UPDATE queue_messages SET receipt = ?1, visible_at = ?2, received_at = ?3,"
                        " first_received_at = coalesce(first_received_at, ?3),"
                        " receive_count = receive_count + 1 WHERE seq = ?4",
                        hide,
                    )
                if len(rows) < limit or not (expired or to_dlq):
                    # Nothing left, or nothing removed that would let another row through.
                    break
        if moved_any:
            self._changed()
        return out, cfg.receive_wait_s

    # ------------------------------------------------------- deletes, visibility

    def delete(self, queue: str, receipt_handle: str) -> None:
        """Delete a received message.

        A receipt of a message that is already gone (deleted, purged, expired)
        succeeds and deletes nothing, as in SQS.

        Raises:
            NotFoundError: no such queue, a malformed receipt or a receipt of another queue
                (ReceiptHandleInvalidError), or a stale receipt: the message was received
                again since, or moved to its dead-letter queue (StaleReceiptError, which SQS
                answers with success; raised here so that the caller knows nothing was deleted).
            InvalidMessageError: on a FIFO queue, a receipt whose visibility timeout ran out.
        """
        with self.db.transaction() as conn:
            _receipts.delete(conn, self._must_queue(conn, queue), receipt_handle, self._now())

    def delete_batch(self, queue: str, entries: Sequence[ReceiptEntry]) -> BatchResult:
        """Delete up to ten received messages in one transaction; a bad receipt fails its entry.

        Entries succeed and fail as SQS answers them: a stale receipt succeeds without deleting
        (see :meth:`delete`).

        Raises:
            NotFoundError: no such queue.
            InvalidMessageError: the request itself is invalid (entry count or ids).
        """
        check_batch((e.id for e in entries), entry="DeleteMessageBatchRequestEntry")
        successful: list[BatchSuccess] = []
        failed: list[BatchFailure] = []
        with self.db.transaction() as conn:
            q = self._must_queue(conn, queue)
            now = self._now()
            for entry in entries:
                try:
                    _receipts.delete(conn, q, entry.receipt_handle, now)
                except StaleReceiptError:
                    successful.append(BatchSuccess(id=entry.id))
                except NotFoundError as exc:
                    failed.append(BatchFailure(id=entry.id, code="ReceiptHandleIsInvalid", message=str(exc)))
                except InvalidMessageError as exc:
                    failed.append(BatchFailure(id=entry.id, code=exc.code, message=str(exc)))
                else:
                    successful.append(BatchSuccess(id=entry.id))
        return BatchResult(successful=tuple(successful), failed=tuple(failed))

    def change_visibility(self, queue: str, receipt_handle: str, visibility_s: int) -> None:
        """Hide a received message for ``visibility_s`` seconds from now (0: visible at once).

        Raises:
            NotFoundError: no such queue, a receipt that is malformed or of another queue
                (ReceiptHandleInvalidError), a stale one (StaleReceiptError, which SQS answers
                with success), or one of a message that is gone (MessageGoneError).
            ValueError: ``visibility_s`` out of 0-43200, or the message would stay
                hidden more than 12 hours after its receive (InvalidMessageError).
        """
        limits.check_range("VisibilityTimeout", visibility_s, 0, limits.MAX_VISIBILITY_S)
        with self.db.transaction() as conn:
            q = self._must_queue(conn, queue)
            _receipts.change_visibility(conn, q, receipt_handle, visibility_s, self._now())
        self._changed()

    def change_visibility_batch(self, queue: str, entries: Sequence[VisibilityEntry]) -> BatchResult:
        """Change the visibility of up to ten received messages in one transaction, entry by entry.

        Entries succeed and fail as SQS answers them: a stale receipt succeeds without changing
        anything (see :meth:`change_visibility`).

        Raises:
            NotFoundError: no such queue.
            InvalidMessageError: the request itself is invalid (entry count or ids).
        """
        check_batch((e.id for e in entries), entry="ChangeMessageVisibilityBatchRequestEntry")
        successful: list[BatchSuccess] = []
        failed: list[BatchFailure] = []
        with self.db.transaction() as conn:
            q = self._must_queue(conn, queue)
            for entry in entries:
                try:
                    limits.check_range("VisibilityTimeout", entry.visibility_s, 0, limits.MAX_VISIBILITY_S)
                    _receipts.change_visibility(conn, q, entry.receipt_handle, entry.visibility_s, self._now())
                except StaleReceiptError:
                    successful.append(BatchSuccess(id=entry.id))
                except MessageGoneError as exc:
                    failed.append(BatchFailure(id=entry.id, code="InvalidParameterValue", message=str(exc)))
                except NotFoundError as exc:
                    failed.append(BatchFailure(id=entry.id, code="ReceiptHandleIsInvalid", message=str(exc)))
                except ValueError as exc:
                    failed.append(BatchFailure(id=entry.id, code="InvalidParameterValue", message=str(exc)))
                else:
                    successful.append(BatchSuccess(id=entry.id))
        if successful:
            self._changed()
        return BatchResult(successful=tuple(successful), failed=tuple(failed))

    # ------------------------------------------------------------------ redrive

    def start_message_move_task(self, source: str, destination: str | None = None) -> int:
        """Move a dead-letter queue's messages back to their source queues, or to ``destination``.

        StartMessageMoveTask's semantics, run synchronously: the visible messages of
        ``source`` move oldest first, each as a new message (new id, new enqueue
        time, receive count 0; body, attributes and group id kept; the destination's
        delay applies). Messages in flight stay, as do messages whose source queue
        is gone or was never recorded (sent straight to the DLQ) when no
        ``destination`` is given. Moves commit in chunks of 500.

        Args:
            source: the dead-letter queue (name or ARN).
            destination: a queue (name or ARN) of the same type; None sends each
                message back to the queue it was dead-lettered from.

        Returns:
            How many messages moved.

        Raises:
            NotFoundError: ``source`` or ``destination`` does not exist.
            ValueError: ``source`` is no queue's dead-letter queue, or ``destination``
                is of the other queue type.
        """
        source_name = queue_name(source)
        destination_name = queue_name(destination) if destination is not None else None
        return _dead_letters.move_back(self.db, self._catalog, self.clock, source_name, destination_name, on_moved=self._changed)

    def start_move_task(self, source: str, destination: str | None = None, *, max_per_second: int | None = None) -> MoveTask:
        """:meth:`start_message_move_task`, recorded for :meth:`list_move_tasks` (StartMessageMoveTask).

        The task has run when this returns (``COMPLETED``); ``max_per_second`` is recorded
        (the local move does not need SQS's throttle).

        Raises:
            NotFoundError: ``source`` or ``destination`` does not exist.
            ValueError: ``source`` is no queue's dead-letter queue, ``destination`` is of the
                other queue type, or a task of ``source`` is running (ConflictError).
        """
        source_name = queue_name(source)
        destination_name = queue_name(destination) if destination is not None else None
        with self.db.transaction() as conn:
            src = self._must_queue(conn, source_name)
            if conn.execute("SELECT 1 FROM queues WHERE dead_letter_queue = ? LIMIT 1", (source_name,)).fetchone() is None:
                raise ValueError(f"Source queue must be configured as a Dead Letter Queue: {source_name}")
            if destination_name is not None:
                self._must_queue(conn, destination_name)
            with self._moves_lock:
                if any(task_source == source_name for task_source in self._running_moves.values()):
                    raise ConflictError(
                        "There is already a task running. Only one active task is allowed for a source queue arn at a given time."
                    )
                now = self._now()
                to_move = conn.execute(
                    "SELECT count(*) FROM queue_messages WHERE queue_id = ? AND visible_at <= ? AND enqueued_at > ?",
                    (src.id, now, now - src.config.retention_s),
                ).fetchone()[0]
                handle = _move_tasks.record_start(
                    conn, source_name, self.queue_arn(source_name), destination_name, to_move, max_per_second, now
                )
                self._running_moves[handle] = source_name
        moved, failure = 0, None
        try:
            moved = _dead_letters.move_back(
                self.db,
                self._catalog,
                self.clock,
                source_name,
                destination_name,
                on_moved=self._changed,
                cancelled=lambda: handle in self._cancelled_moves,
            )
        except (NotFoundError, ValueError) as exc:  # a queue deleted or changed under the task
            failure = str(exc)
        finally:
            with self._moves_lock:
                cancelled = handle in self._cancelled_moves
            with self.db.transaction() as conn:
                _move_tasks.finish(conn, handle, moved=moved, failure=failure, cancelled=cancelled)
            with self._moves_lock:
                self._running_moves.pop(handle, None)
                self._cancelled_moves.discard(handle)
        return self.list_move_tasks(source_name, limit=_move_tasks.LIST_LIMIT)[0]

    def list_move_tasks(self, source: str, *, limit: int = 1) -> list[MoveTask]:
        """The most recent message move tasks of dead-letter queue ``source``, newest first (ListMessageMoveTasks).

        Raises:
            NotFoundError: no such queue.
        """
        source_name = queue_name(source)
        conn = self.db.connection()
        self._must_queue(conn, source_name)
        with self._moves_lock:
            running = set(self._running_moves)
        return _move_tasks.list_tasks(conn, source_name, limit, running)

    def cancel_move_task(self, handle: str) -> MoveTask:
        """Cancel a running message move task (CancelMessageMoveTask); it stops before its next chunk.

        Returns:
            The task as it is now (messages moved so far).

        Raises:
            NotFoundError: no running task with this handle (one that has ended cannot be cancelled).
        """
        source = _move_tasks.parse_handle(handle)
        with self._moves_lock:
            running = handle in self._running_moves
            if running:
                self._cancelled_moves.add(handle)
        tasks = self.list_move_tasks(source, limit=_move_tasks.LIST_LIMIT) if source and running else []
        for task in tasks:
            if task.handle == handle:
                return task
        raise NotFoundError("Task does not exist.")

    # -------------------------------------------------------------- long polls

    def wait_for_receivers(self, queue: str, count: int = 1, timeout: float | None = None) -> bool:
        """Block until ``count`` receivers in this process long-poll ``queue``; False on timeout.

        For tests and orderly shutdown: it tells when consumers are idle and waiting.
        """
        return self._polls.wait_for_receivers(queue, count, timeout)

    def _changed(self) -> None:
        """Wake long polls: something became receivable (or a queue went away)."""
        self._polls.changed()

    # ----------------------------------------------------------------- helpers

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def _find_queue(self, conn: sqlite3.Connection, name: str) -> QueueRow | None:
        return self._catalog.find(conn, name)

    def _must_queue(self, conn: sqlite3.Connection, name: str) -> QueueRow:
        return self._catalog.must(conn, name)
