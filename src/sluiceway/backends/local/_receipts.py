"""Receipt handles: which receive of a message a delete or a visibility change refers to.

A handle is ``QUEUE_ID.SEQ.TOKEN``: the queue's row, the message's row, and a random
token that each receive stores on the row and the next receive replaces. A receipt names

* the message's latest receive: it deletes the message or changes its visibility, also
  after its visibility timeout ran out while nobody received the message since (SQS
  accepts these; only a FIFO queue refuses the delete as expired);
* an earlier receive (the message was received again since, or moved to its dead-letter
  queue): :class:`~sluiceway.messaging.errors.StaleReceiptError`, so that an old receipt
  can neither delete nor hide a message someone else now holds (SQS answers these with
  success and may leave the message alone; the endpoint answers so);
* a message that no longer exists: a delete succeeds and deletes nothing, as SQS's
  DeleteMessage does, and a visibility change raises
  :class:`~sluiceway.messaging.errors.MessageGoneError` (SQS's ``InvalidParameterValue``);
* nothing of this queue (malformed, or another queue's):
  :class:`~sluiceway.messaging.errors.ReceiptHandleInvalidError`.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
from dataclasses import dataclass

from ...messaging import limits
from ...messaging.errors import InvalidMessageError, MessageGoneError, ReceiptHandleInvalidError, StaleReceiptError
from ._queue_catalog import QueueRow

__all__ = ["change_visibility", "delete", "new_receipt"]

# ASCII digits only, and few enough of them for SQLite's 64-bit integers.
_HANDLE = re.compile(r"([0-9]{1,18})\.([0-9]{1,18})\.([0-9a-f]{16})")


@dataclass(frozen=True)
class _Receive:
    """The latest receive of a message row."""

    seq: int
    visible_at: float
    received_at: float


def new_receipt(q: QueueRow, seq: int) -> tuple[str, str]:
    """A fresh ``(token, receipt handle)`` for receiving message row ``seq`` of ``q``."""
    token = secrets.token_hex(8)
    return token, f"{q.id}.{seq}.{token}"


def delete(conn: sqlite3.Connection, q: QueueRow, receipt: str, now: float) -> None:
    """Delete the message ``receipt`` names, in ``conn``'s transaction; nothing if it is gone.

    Raises:
        ReceiptHandleInvalidError: a malformed receipt, or one of another queue.
        StaleReceiptError: on a standard queue, a receipt of an earlier receive.
        InvalidMessageError: on a FIFO queue, a receipt whose receive is over (its visibility
            timeout ran out, whether or not the message was received again since): SQS refuses
            it as expired there, where a standard queue still deletes with it.
    """
    try:
        latest = _latest(conn, q, receipt)
    except StaleReceiptError:
        if q.config.fifo:
            raise _expired(receipt) from None
        raise
    if latest is None:
        return
    if q.config.fifo and latest.visible_at <= now:
        raise _expired(receipt)
    conn.execute("DELETE FROM queue_messages WHERE seq = ?", (latest.seq,))


def change_visibility(conn: sqlite3.Connection, q: QueueRow, receipt: str, visibility_s: int, now: float) -> None:
    """Hide the message ``receipt`` names until ``now + visibility_s``, in ``conn``'s transaction.

    Raises:
        ReceiptHandleInvalidError: a malformed receipt, or one of another queue.
        StaleReceiptError: a receipt of an earlier receive.
        MessageGoneError: the message no longer exists.
        InvalidMessageError: the message would stay hidden more than 12 hours after its receive.
    """
    latest = _latest(conn, q, receipt)
    if latest is None:
        raise MessageGoneError(
            f"Value {receipt} for parameter ReceiptHandle is invalid. Reason: Message does not exist"
            " or is not available for visibility timeout change."
        )
    if now + visibility_s > latest.received_at + limits.MAX_VISIBILITY_S:
        raise InvalidMessageError(
            "InvalidParameterValue",
            f"Value {visibility_s} for parameter VisibilityTimeout is invalid. Reason:"
            " Total VisibilityTimeout for the message is beyond the limit"
            f" [{limits.MAX_VISIBILITY_S} seconds]",
        )
    conn.execute("UPDATE queue_messages SET visible_at = ? WHERE seq = ?", (now + visibility_s, latest.seq))


def _latest(conn: sqlite3.Connection, q: QueueRow, receipt: str) -> _Receive | None:
    """The receive ``receipt`` names when it is its message's latest; None when the message is gone.

    Raises:
        ReceiptHandleInvalidError: a malformed receipt, or one of another queue.
        StaleReceiptError: the message was received again since, or moved to another queue.
    """
    seq, token = _must_parse(q, receipt)
    # Message rows are never renumbered (AUTOINCREMENT), so a row of this number is this message.
    row = conn.execute("SELECT queue_id, receipt, visible_at, received_at FROM queue_messages WHERE seq = ?", (seq,)).fetchone()
    if row is None:
        return None
    queue_id, current, visible_at, received_at = row
    if queue_id != q.id or current != token or received_at is None:
        raise StaleReceiptError(_invalid_text(receipt))
    return _Receive(seq, visible_at, received_at)


def _must_parse(q: QueueRow, receipt: str) -> tuple[int, str]:
    parsed = _HANDLE.fullmatch(receipt) if isinstance(receipt, str) else None
    if parsed is None or int(parsed[1]) != q.id:
        raise ReceiptHandleInvalidError(_invalid_text(receipt))
    return int(parsed[2]), parsed[3]


def _invalid_text(receipt: str) -> str:
    return f'The input receipt handle "{receipt}" is not a valid receipt handle.'


def _expired(receipt: str) -> InvalidMessageError:
    return InvalidMessageError(
        "InvalidParameterValue",
        f"Value {receipt} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.",
    )
