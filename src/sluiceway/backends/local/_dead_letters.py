"""Messages into a dead-letter queue and back out of it.

A receive moves a message whose receive count reached its queue's ``maxReceiveCount``
to the queue's dead-letter queue (:func:`dead_letter_queue`,
:func:`move_to_dead_letter_queue`), remembering the queue it came from; a message
move task (:func:`move_back`, SQS's StartMessageMoveTask) sends dead-lettered
messages back to where they came from, or to another queue.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import Callable

from ...messaging.redrive import RedrivePolicy, check_same_type
from ...ports import Clock
from ._queue_catalog import QueueCatalog, QueueRow
from ._sends import INSERT_MESSAGE
from ._sqlite import Database

logger = logging.getLogger(__name__)

__all__ = ["MOVE_CHUNK", "dead_letter_queue", "move_back", "move_to_dead_letter_queue"]

MOVE_CHUNK = 500
"""Messages a move task moves per transaction, so that writers are not held up for long."""


def dead_letter_queue(catalog: QueueCatalog, conn: sqlite3.Connection, q: QueueRow, policy: RedrivePolicy) -> QueueRow | None:
    """The dead-letter queue ``policy`` names for ``q``, or None if it is gone or of the other type."""
    dlq = catalog.find(conn, policy.dead_letter_queue)
    if dlq is None or dlq.config.fifo != q.config.fifo:
        # SQS lets a DLQ be deleted under its sources: deliver rather than lose messages.
        logger.warning(
            "dead-letter queue missing; delivering instead",
            extra={"queue": q.config.name, "dead_letter_queue": policy.dead_letter_queue},
        )
        return None
    return dlq


def move_to_dead_letter_queue(conn: sqlite3.Connection, q: QueueRow, dlq: QueueRow, seqs: list[int], now: float) -> None:
    """Move message rows ``seqs`` of ``q`` to ``dlq``, visible at once, in ``conn``'s transaction."""
    # Body, attributes, id and receive count stay. A standard queue keeps the
    # enqueue time (retention counts from the first send); a FIFO queue resets it
    # and, as SQS does, takes the message id as the deduplication id.
    fifo = int(q.config.fifo)
    conn.executemany(
        "UPDATE queue_messages SET queue_id = ?, visible_at = ?, arrived_at = ?,"
        " receipt = NULL, received_at = NULL,"
        " dead_letter_source = ?, enqueued_at = CASE WHEN ? THEN ? ELSE enqueued_at END,"
        " dedup_id = CASE WHEN ? THEN message_id ELSE dedup_id END WHERE seq = ?",
        [(dlq.id, now, now, q.config.name, fifo, now, fifo, seq) for seq in seqs],
    )
    logger.warning(
        "messages moved to dead-letter queue",
        extra={
            "queue": q.config.name,
            "dead_letter_queue": dlq.config.name,
            "count": len(seqs),
        },
    )


def move_back(
    db: Database,
    catalog: QueueCatalog,
    clock: Clock,
    source_name: str,
    destination_name: str | None,
    *,
    on_moved: Callable[[], None],
    cancelled: Callable[[], bool] = lambda: False,
) -> int:
    """Run a message move task out of dead-letter queue ``source_name`` (see
    :meth:`~sluiceway.backends.local.queues.SqliteQueueService.start_message_move_task`).

    ``on_moved`` is called after each transaction that moved messages (to wake receivers);
    ``cancelled`` is asked before each one, and a True ends the task (CancelMessageMoveTask).
    """
    moved = 0
    after = 0
    while not cancelled():
        with db.transaction() as conn:
            src = catalog.must(conn, source_name)
            if conn.execute("SELECT 1 FROM queues WHERE dead_letter_queue = ? LIMIT 1", (source_name,)).fetchone() is None:
                raise ValueError(f"Source queue must be configured as a Dead Letter Queue: {source_name}")
            dest = None
            if destination_name is not None:
                dest = catalog.must(conn, destination_name)
                check_same_type(source_name, src.config.fifo, destination_name, dest.config.fifo)
            now = clock.now().timestamp()
            rows = conn.execute(
                "SELECT seq, body, attributes, group_id, dead_letter_source, trace_header FROM queue_messages"
                " WHERE queue_id = ? AND visible_at <= ? AND seq > ? AND enqueued_at > ? ORDER "
                "BY seq LIMIT ?",
                (src.id, now, after, now - src.config.retention_s, MOVE_CHUNK),
            ).fetchall()
            targets: dict[str, QueueRow | None] = {}
            chunk_moved = 0
            for seq, body, attributes, group_id, dead_letter_source, trace_header in rows:
                after = seq
                target = dest
                if target is None and dead_letter_source is not None:
                    if dead_letter_source not in targets:
                        found = catalog.find(conn, dead_letter_source)
                        targets[dead_letter_source] = found if found and found.config.fifo == src.config.fifo else None
                    target = targets[dead_letter_source]
                if target is None:
                    continue
                conn.execute(
                    INSERT_MESSAGE,
                    (
                        target.id,
                        str(uuid.uuid4()),
                        body,
                        attributes,
                        group_id,
                        None,
                        now,
                        now,
                        now,
                        now + target.config.delay_s,
                        trace_header,
                    ),
                )
                conn.execute("DELETE FROM queue_messages WHERE seq = ?", (seq,))
                chunk_moved += 1
        moved += chunk_moved
        if chunk_moved:
            on_moved()
        if len(rows) < MOVE_CHUNK:
            break
    logger.warning(
        "dead-letter messages moved back",
        extra={"queue": source_name, "destination": destination_name, "count": moved},
    )
    return moved
