"""Receipt handles: which receive of a message a delete or a visibility change refers to.

A handle is ``QUEUE_ID.SEQ.TOKEN``: the queue's row, the message's row, and a random
token that each receive stores on the row and the next receive replaces. So an old
receipt can neither delete nor hide a message received again since (NotFoundError,
SQS's ReceiptHandleIsInvalid); a receipt of a message that no longer exists deletes
nothing and succeeds, as SQS's DeleteMessage does for an already deleted message.
"""

from __future__ import annotations

import secrets
import sqlite3

from ...messaging import limits
from ...messaging.errors import InvalidMessageError, ReceiptHandleInvalidError
from ._queue_catalog import QueueRow

__all__ = ["change_visibility", "delete", "new_receipt"]


def new_receipt(q: QueueRow, seq: int) -> tuple[str, str]:
    """A fresh ``(token, receipt handle)`` for receiving message row ``seq`` of ``q``."""
    token = secrets.token_hex(8)
    return token, f"{q.id}.{seq}.{token}"


def delete(conn: sqlite3.Connection, q: QueueRow, receipt: str, now: float) -> None:
    """Delete the message ``receipt`` names, in ``conn``'s transaction.

    Raises:
        NotFoundError: a malformed receipt, one of another queue, or a stale one.
        InvalidMessageError: on a FIFO queue, the receipt of a message visible again (its
            visibility timeout ran out): SQS refuses it as expired there, where a standard
            queue still deletes the message.
    """
    _, seq, token = _must_parse(q, receipt)
    if q.config.fifo:
        row = conn.execute(
            "SELECT visible_at FROM queue_messages WHERE seq = ? AND queue_id = ? AND receipt = ?",
            (seq, q.id, token),
        ).fetchone()
        if row is not None and row[0] <= now:
            raise InvalidMessageError(
                "InvalidParameterValue",
                f"Value {receipt} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.",
            )
    if conn.execute(
        "DELETE FROM queue_messages WHERE seq = ? AND queue_id = ? AND receipt = ?",
        (seq, q.id, token),
    ).rowcount:
        return
    if conn.execute("SELECT 1 FROM queue_messages WHERE seq = ?", (seq,)).fetchone() is not None:
        raise _invalid_receipt(receipt)


def change_visibility(conn: sqlite3.Connection, q: QueueRow, receipt: str, visibility_s: int, now: float) -> None:
    """Hide the message ``receipt`` names until ``now + visibility_s``, in ``conn``'s transaction.

    Raises:
        NotFoundError: a receipt that is malformed, of another queue, stale, or of a
            message that is gone.
        InvalidMessageError: the message would stay hidden more than 12 hours after its receive.
    """
    _, seq, token = _must_parse(q, receipt)
    row = conn.execute(
        "SELECT received_at FROM queue_messages WHERE seq = ? AND queue_id = ? AND receipt = ?",
        (seq, q.id, token),
    ).fetchone()
    if row is None:
        raise _invalid_receipt(receipt)
    if now + visibility_s > row[0] + limits.MAX_VISIBILITY_S:
        raise InvalidMessageError(
            "InvalidParameterValue",
            f"Value {visibility_s} for parameter VisibilityTimeout is invalid. Reason:"
            " Total VisibilityTimeout for the message is beyond the limit"
            f" [{limits.MAX_VISIBILITY_S} seconds]",
        )
    conn.execute("UPDATE queue_messages SET visible_at = ? WHERE seq = ?", (now + visibility_s, seq))


def _must_parse(q: QueueRow, receipt: str) -> tuple[int, int, str]:
    parts = receipt.split(".") if isinstance(receipt, str) else []
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or not parts[2] or int(parts[0]) != q.id:
        raise _invalid_receipt(receipt)
    return int(parts[0]), int(parts[1]), parts[2]


def _invalid_receipt(receipt: str) -> ReceiptHandleInvalidError:
    return ReceiptHandleInvalidError(f'The input receipt handle "{receipt}" is not a valid receipt handle.')
