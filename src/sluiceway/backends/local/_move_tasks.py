"""Message move tasks as records: what ListMessageMoveTasks reports and CancelMessageMoveTask refers to.

A task runs inside StartMessageMoveTask's call (the moves commit in chunks, see
:func:`~sluiceway.backends.local._dead_letters.move_back`), so a task is recorded
``RUNNING`` first and ``COMPLETED``, ``CANCELLED`` or ``FAILED`` once it ends: a process
killed in between leaves a ``RUNNING`` record, which :func:`list_tasks` reports as
``FAILED`` because nothing runs it any more.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import uuid
from datetime import UTC, datetime

from ...messaging.queue import MoveTask

__all__ = ["LIST_LIMIT", "finish", "list_tasks", "parse_handle", "record_start"]

LIST_LIMIT = 10
"""ListMessageMoveTasks' largest MaxResults (SQS lists the ten most recent tasks)."""
_COLUMNS = "handle, source, destination, status, started_at, moved, to_move, max_per_second, failure_reason"


def _handle(source: str) -> str:
    # SQS's handles are opaque base64 text that names the task and its source queue.
    text = json.dumps({"taskId": str(uuid.uuid4()), "sourceArn": source})
    return base64.b64encode(text.encode()).decode("ascii")


def parse_handle(handle: str) -> str | None:
    """The source queue a task handle names, or None for text that is no task handle."""
    try:
        doc = json.loads(base64.b64decode(handle, validate=True))
    except ValueError:
        return None
    source = doc.get("sourceArn") if isinstance(doc, dict) else None
    return source if isinstance(source, str) else None


def record_start(
    conn: sqlite3.Connection, source: str, source_arn: str, destination: str | None, to_move: int, max_per_second: int | None, now: float
) -> str:
    """Record a task about to run; return its handle."""
    handle = _handle(source_arn)
    conn.execute(
        "INSERT INTO queue_move_tasks (handle, source, destination, status, started_at, to_move, max_per_second)"
        " VALUES (?, ?, ?, 'RUNNING', ?, ?, ?)",
        (handle, source, destination, now, to_move, max_per_second),
    )
    return handle


def finish(conn: sqlite3.Connection, handle: str, *, moved: int, failure: str | None = None, cancelled: bool = False) -> None:
    """Record how a task ended."""
    status = "FAILED" if failure else "CANCELLED" if cancelled else "COMPLETED"
    conn.execute(
        "UPDATE queue_move_tasks SET status = ?, moved = ?, failure_reason = ? WHERE handle = ?",
        (status, moved, failure, handle),
    )


def list_tasks(conn: sqlite3.Connection, source: str, limit: int, running: set[str]) -> list[MoveTask]:
    """The most recent tasks of dead-letter queue ``source``, newest first.

    Args:
        running: handles of tasks running in this process; any other ``RUNNING`` record
            was left by a process that died.
    """
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM queue_move_tasks WHERE source = ? ORDER BY started_at DESC, rowid DESC LIMIT ?",
        (source, limit),
    ).fetchall()
    tasks = []
    for handle, src, destination, status, started_at, moved, to_move, max_per_second, failure in rows:
        if status == "RUNNING" and handle not in running:
            status, failure = "FAILED", failure or "The task stopped when its process ended."
        tasks.append(
            MoveTask(
                handle=handle,
                source=src,
                destination=destination,
                status=status,
                started_at=datetime.fromtimestamp(started_at, UTC),
                moved=moved,
                to_move=to_move,
                max_per_second=max_per_second,
                failure_reason=failure,
            )
        )
    return tasks
