"""One message into a queue: SQS's checks, the delay, FIFO deduplication, the row.

A FIFO message's deduplication id is remembered in ``queue_dedup`` for five minutes;
a send with a remembered id succeeds with the first message's id and sequence
number and enqueues nothing.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Sequence

from ...messaging import fifo as fifo_rules
from ...messaging import limits
from ...messaging.batch import BatchSuccess, SendEntry
from ...messaging.errors import InvalidMessageError
from ...messaging.queue_attributes import DEDUP_BY_GROUP
from ...messaging.sqs_attributes import attributes_to_json, check_message_attributes
from ...observability.propagation import current_trace_header
from . import _queue_settings
from ._queue_catalog import QueueRow

__all__ = ["INSERT_MESSAGE", "check_fifo_batch", "insert", "sequence_number"]

INSERT_MESSAGE = (
    "INSERT INTO queue_messages (queue_id, message_id, body, attributes, group_id, dedup_id,"
    " sent_at, enqueued_at, arrived_at, visible_at, trace_header)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
"""How a new message enters ``queue_messages``: a send, or a move out of a dead-letter queue."""


def insert(conn: sqlite3.Connection, q: QueueRow, entry: SendEntry, now: float, *, in_batch: bool = False) -> BatchSuccess:
    """Check and insert one message in ``conn``'s transaction; a FIFO duplicate returns the first one.

    Args:
        in_batch: an entry of SendMessageBatch (SQS words some of its failures differently).

    Raises:
        InvalidMessageError: a message SQS would refuse.
    """
    cfg = q.config
    limits.check_body(entry.body)
    limits.check_attributes(entry.attributes)
    if entry.trace_header is not None:
        check_message_attributes({"AWSTraceHeader": entry.trace_header}, system=True)
    limits.check_size(entry.body, entry.attributes, cfg.max_message_bytes, in_batch=in_batch)
    ids = fifo_rules.resolve_send_ids(
        fifo=cfg.fifo,
        content_based_dedup=cfg.content_based_dedup,
        body=entry.body,
        group_id=entry.group_id,
        dedup_id=entry.dedup_id,
        delay_s=entry.delay_s,
    )
    if entry.delay_s is None or cfg.fifo:
        delay = cfg.delay_s
    else:
        try:
            limits.check_range("DelaySeconds", entry.delay_s, 0, limits.MAX_DELAY_S)
        except ValueError as exc:
            raise InvalidMessageError("InvalidParameterValue", str(exc)) from None
        delay = entry.delay_s
    dedup_key = _dedup_key(conn, q, ids.group_id, ids.dedup_id)
    if dedup_key is not None:
        first = conn.execute(
            "SELECT message_id, seq, expires_at FROM queue_dedup WHERE queue_id = ? AND dedup_id = ?",
            (q.id, dedup_key),
        ).fetchone()
        if first is not None and first[2] > now:
            return BatchSuccess(id=entry.id, message_id=first[0], sequence_number=sequence_number(first[1]))
    message_id = str(uuid.uuid4())
    cursor = conn.execute(
        INSERT_MESSAGE,
        (
            q.id,
            message_id,
            entry.body,
            attributes_to_json(entry.attributes),
            ids.group_id,
            ids.dedup_id,
            now,
            now,
            now,
            now + delay,
            # As SQS does for a traced sender: without one given, the sender's trace (its request's
            # X-Amzn-Trace-Id there, the current span here) becomes the AWSTraceHeader.
            entry.trace_header if entry.trace_header is not None else current_trace_header(),
        ),
    )
    seq = cursor.lastrowid
    assert seq is not None
    if dedup_key is not None:
        conn.execute(
            "INSERT OR REPLACE INTO queue_dedup (queue_id, dedup_id, message_id, seq, expires_at) VALUES (?, ?, ?, ?, ?)",
            (q.id, dedup_key, message_id, seq, fifo_rules.dedup_expires_at(now)),
        )
    return BatchSuccess(
        id=entry.id,
        message_id=message_id,
        sequence_number=sequence_number(seq) if cfg.fifo else None,
    )


def _dedup_key(conn: sqlite3.Connection, q: QueueRow, group_id: str | None, dedup_id: str | None) -> str | None:
    """What ``queue_dedup`` remembers a send by: its deduplication id, within its message group on a
    queue created with ``DeduplicationScope`` ``messageGroup`` (a space, which no id holds, separates them)."""
    if dedup_id is None:
        return None
    if group_id is not None and _queue_settings.read_settings(conn, q).get(DEDUP_BY_GROUP) == "true":
        return f"{group_id} {dedup_id}"
    return dedup_id


def check_fifo_batch(q: QueueRow, entries: Sequence[SendEntry]) -> None:
    """Refuse a FIFO SendMessageBatch whose entries lack a group or deduplication id.

    SQS fails the whole request for these (``InvalidParameterValue``, even where SendMessage
    answers ``MissingParameter``), not the entry alone.

    Raises:
        InvalidMessageError: an entry without ``MessageGroupId``, or without
            ``MessageDeduplicationId`` on a queue without content-based deduplication.
    """
    if not q.config.fifo:
        return
    if any(e.group_id is None for e in entries):
        raise InvalidMessageError("InvalidParameterValue", "The request must contain the parameter MessageGroupId.")
    if not q.config.content_based_dedup and any(e.dedup_id is None for e in entries):
        raise InvalidMessageError(
            "InvalidParameterValue",
            "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
        )


def sequence_number(seq: int) -> str:
    """SQS's SequenceNumber for message row ``seq``: 20 digits, growing within a queue."""
    return f"{seq:020d}"
