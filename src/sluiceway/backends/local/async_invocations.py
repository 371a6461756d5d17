"""Lambda's asynchronous invocation queue on the data dir's SQLite, and each function's settings for it.

Lambda keeps one queue of asynchronous invocations per function: ``Invoke`` with
``InvocationType=Event`` answers 202 once the event is in it, and so do the services that
invoke asynchronously (S3 notifications, SNS, EventBridge). Here that queue is the table
``lambda_async_invocations`` (migration 0051): :meth:`SqliteAsyncInvocations.enqueue`
commits the invocation (inside the caller's transaction, so that it commits with the write
that caused it, or in one of its own) before anyone is told it was accepted, and a deliverer
(``runtime/lambdas/async_invocations.py``) runs it, retries it, or gives it up. A stop, a
crash or a ``kill -9`` loses nothing: what was not delivered is delivered after the next start.

The deliverer's side is the :class:`~sluiceway.ports.deliveries.DeliveryLog` protocol
(``due``/``claim``/``record``/``release_orphans``), as for event and topic deliveries.

:class:`SqliteEventInvokeConfigs` keeps what ``PutFunctionEventInvokeConfig`` sets: the
maximum retry attempts and event age, and the on-success and on-failure destinations; and,
beside it, each function's dead-letter queue (``DeadLetterConfig``, migration 0061), which
Lambda keeps in the function's own configuration rather than in ``EventInvokeConfig``.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from ...observability.propagation import current_traceparent
from ...ports import Clock
from ...types import JSON
from ._sqlite import Database

logger = logging.getLogger(__name__)

__all__ = ["FINAL_STATUSES", "AsyncInvocation", "EventInvokeConfig", "SqliteAsyncInvocations", "SqliteEventInvokeConfigs"]

_COLUMNS: Final = "id, function, payload, request_id, attempts, enqueued_at, last_error"
_DEAD_LETTER_ARN: Final = re.compile(r"arn:aws[a-zA-Z-]*:(sqs|sns):[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}")
"""An SQS queue's or SNS topic's ARN: the only dead-letter targets Lambda takes."""

FINAL_STATUSES: Final = frozenset({"failed", "expired"})
"""How an invocation given up on ends: its retries failed (or it can never run), or it grew too old."""


@dataclass(frozen=True)
class AsyncInvocation:
    """One asynchronous invocation waiting in the queue."""

    id: int
    function: str
    """The function as the caller named it (a name or an ARN, with or without a qualifier)."""
    payload: JSON
    request_id: str
    """The invocation's request id: the same on every attempt (the handler's ``context.aws_request_id``)."""
    attempts: int
    """How many times the function ran for it so far (the destination record's ``approximateInvokeCount``)."""
    enqueued_at: datetime
    """When it was accepted: its age, which ``MaximumEventAgeInSeconds`` bounds, counts from here."""
    text: str
    """The payload as JSON text: as the caller sent it when it gave it (``raw``), so that a
    dead-letter queue gets the event byte for byte, as Lambda sends it."""
    last_error: str | None
    """Why its last attempt failed, if one did (``ErrorType: message``, or why it could not run)."""


class SqliteAsyncInvocations:
    """The durable queue of asynchronous invocations (see the module docstring).

    Args:
        db: the data dir's database.
        clock: the time.
        on_enqueue: called once an enqueue has committed (the deliverer's wake-up).
    """

    def __init__(self, db: Database, clock: Clock, *, on_enqueue: Callable[[], None] | None = None) -> None:
        self.db = db
        self.clock = clock
        self.on_enqueue = on_enqueue
        self.configs = SqliteEventInvokeConfigs(db, clock)

    def enqueue(
        self, function: str, payload: JSON, *, request_id: str | None = None, raw: str | None = None, tenant_id: str | None = None
    ) -> str:
        """Commit one asynchronous invocation of ``function``; return its request id.

        ``tenant_id`` is Invoke's ``TenantId`` (tenant isolation): every attempt runs for that tenant.
        ``raw`` is ``payload`` as the caller received it (Invoke's body): kept as is, so that the
        function's dead-letter queue gets the event exactly as sent, as on Lambda. Without it the
        payload is kept as compact JSON.

        Inside a transaction of the caller's (``db.transaction()``) it commits with it, and
        the deliverer is woken only once it has; otherwise it commits before returning.
        A request id already in the queue (a caller that derives it from what it delivers,
        and delivers again after a crash) queues nothing more: the invocation is there.

        Raises:
            ValueError: ``function`` is empty, ``payload`` is not JSON, or ``raw`` is not ``payload``'s text.
        """
        if not function:
            raise ValueError("an asynchronous invocation needs a function")
        text = json.dumps(payload, separators=(",", ":"))
        if raw is not None:
            if json.loads(raw) != payload:
                raise ValueError("raw is not the text of the payload")
            text = raw
        request_id = request_id or str(uuid.uuid4())
        now = self.clock.now()
        with self.db.transaction() as conn:
            # request_id is UNIQUE (migration 0053).
            cursor = conn.execute(
                "INSERT OR IGNORE INTO lambda_async_invocations (function, payload, request_id, next_attempt_at, enqueued_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (function, text, request_id, now.timestamp(), now.timestamp(), _stamp(now)),
            )
            if cursor.rowcount == 1 and (trace_parent := current_traceparent()) is not None:
                # Its runs continue the trace of whoever queued it (S3, EventBridge, an Invoke).
                conn.execute(
                    "INSERT INTO lambda_async_trace_contexts (invocation_id, trace_parent) VALUES (?, ?)", (cursor.lastrowid, trace_parent)
                )
            if cursor.rowcount == 1 and tenant_id is not None:
                conn.execute("INSERT INTO lambda_async_tenants (invocation_id, tenant_id) VALUES (?, ?)", (cursor.lastrowid, tenant_id))
            if cursor.rowcount == 1 and self.on_enqueue is not None:
                self.db.after_commit(self.on_enqueue)
        if cursor.rowcount != 1:
            logger.info("asynchronous invocation queued already", extra={"function": function, "request_id": request_id})
        return request_id

    def trace_parent(self, invocation_id: int) -> str | None:
        """The trace context (``traceparent``) of the span that queued invocation ``invocation_id``; None when none traced it."""
        row = (
            self.db.connection()
            .execute("SELECT trace_parent FROM lambda_async_trace_contexts WHERE invocation_id = ?", (invocation_id,))
            .fetchone()
        )
        return None if row is None else str(row[0])

    def tenant(self, invocation_id: int) -> str | None:
        """The tenant (Invoke's ``TenantId``) invocation ``invocation_id`` runs for; None when it named none."""
        row = (
            self.db.connection()
            .execute("SELECT tenant_id FROM lambda_async_tenants WHERE invocation_id = ?", (invocation_id,))
            .fetchone()
        )
        return None if row is None else str(row[0])

    # -- the deliverer's side (a DeliveryLog) ------------------------------------------------

    def due(self, now: datetime, *, after_id: int = 0, limit: int = 100) -> list[AsyncInvocation]:
        """Pending invocations due at ``now`` with an id above ``after_id``, oldest first."""
        rows = self.db.connection().execute(
            f"SELECT {_COLUMNS} FROM lambda_async_invocations"
            " WHERE status = 'pending' AND next_attempt_at <= ? AND id > ? ORDER BY id LIMIT ?",
            (now.timestamp(), after_id, limit),
        )
        return [_invocation(r) for r in rows]

    def claim(self, delivery_id: int, now: datetime, until: datetime, *, attempts: int | None = None) -> bool:
        """Take a due invocation until ``until``; False if it is no longer due (another deliverer has it).

        With ``attempts`` (what the caller saw of the row), also False once the row has moved on:
        a deliverer going through a list of due rows read a while ago must not run one that another
        has retried since (and is due again) with the old count, which would run the function more
        often than ``MaximumRetryAttempts`` allows.
        """
        query = (
            "UPDATE lambda_async_invocations SET next_attempt_at = ?, claimed_by = ?, updated_at = ?"
            " WHERE id = ? AND status = 'pending' AND next_attempt_at <= ?"
        )
        args: tuple[object, ...] = (until.timestamp(), self.db.owner.id, _stamp(now), delivery_id, now.timestamp())
        if attempts is not None:
            query += " AND attempts = ?"
            args += (attempts,)
        with self.db.transaction() as conn:
            return conn.execute(query, args).rowcount == 1

    def record(
        self,
        delivery_id: int,
        *,
        status: str,
        attempts: int,
        next_attempt_at: datetime | None = None,
        error: str | None = None,
        claimed_until: datetime | None = None,
    ) -> None:
        """Store an attempt's outcome: ``delivered`` deletes the row (Lambda keeps nothing of an
        invocation that ran); ``pending`` schedules the next attempt; a final status keeps the row,
        with its last error, for whoever wants to know what was given up.

        With ``claimed_until`` (the ``until`` of the claim the attempt ran under) the outcome is
        stored only while that claim still holds (a warning says when it was not): a claim whose lease
        ran out (the call waited that long for a free worker, say) may have been taken by another
        deliverer since, whose outcome a late one must not overwrite. A claim is this process's
        owner with that lease end: a later claim of the row always ends later, so no two match.
        """
        if status not in ("delivered", "pending", *FINAL_STATUSES):
            raise ValueError(f"not an asynchronous invocation status: {status!r}")
        now = self.clock.now()
        holder = ""
        held: tuple[object, ...] = ()
        if claimed_until is not None:
            holder = " AND claimed_by = ? AND next_attempt_at = ?"
            held = (self.db.owner.id, claimed_until.timestamp())
        with self.db.transaction() as conn:
            if status == "delivered":
                cursor = conn.execute("DELETE FROM lambda_async_invocations WHERE id = ?" + holder, (delivery_id, *held))
            else:
                cursor = conn.execute(
                    "UPDATE lambda_async_invocations SET status = ?, attempts = ?, next_attempt_at = ?,"
                    " last_error = coalesce(?, last_error), claimed_by = NULL, updated_at = ? WHERE id = ?" + holder,
                    (status, attempts, (next_attempt_at or now).timestamp(), error, _stamp(now), delivery_id, *held),
                )
        if cursor.rowcount != 1:
            logger.warning(
                "outcome of an asynchronous invocation not recorded: its claim no longer holds",
                extra={"invocation": delivery_id, "status": status, "attempts": attempts},
            )

    def release_orphans(self) -> int:
        """Make invocations claimed by processes that are gone due at once; return how many.

        Without this an invocation whose deliverer was killed mid-call would wait for its lease
        (longer than any function may run).
        """
        now = self.clock.now()
        owners = [
            r[0]
            for r in self.db.connection().execute(
                "SELECT DISTINCT claimed_by FROM lambda_async_invocations"
                " WHERE status = 'pending' AND claimed_by IS NOT NULL AND next_attempt_at > ?",
                (now.timestamp(),),
            )
        ]
        released = 0
        for owner in owners:
            if self.db.owner.alive(owner):
                continue
            with self.db.transaction() as conn:
                released += conn.execute(
                    "UPDATE lambda_async_invocations SET next_attempt_at = ?, claimed_by = NULL, updated_at = ?"
                    " WHERE status = 'pending' AND claimed_by = ?",
                    (now.timestamp(), _stamp(now), owner),
                ).rowcount
        if released:
            logger.warning("claims of a stopped process released", extra={"invocations": released, "of": "lambda async invocations"})
        return released

    # -- reading -----------------------------------------------------------------------------

    def pending(self, function: str | None = None) -> list[AsyncInvocation]:
        """The invocations not yet delivered nor given up on (of ``function`` as enqueued, or all), oldest first."""
        query = f"SELECT {_COLUMNS} FROM lambda_async_invocations WHERE status = 'pending'"
        args: tuple[str, ...] = ()
        if function is not None:
            query += " AND function = ?"
            args = (function,)
        return [_invocation(r) for r in self.db.connection().execute(query + " ORDER BY id", args)]

    def given_up(self) -> list[tuple[AsyncInvocation, str, str | None]]:
        """The invocations given up on, oldest first, with their final status and last error."""
        rows = self.db.connection().execute(
            f"SELECT {_COLUMNS}, status FROM lambda_async_invocations WHERE status != 'pending' ORDER BY id"
        )
        return [(_invocation(r), r[7], r[6]) for r in rows]


@dataclass(frozen=True)
class EventInvokeConfig:
    """A function's (or qualifier's) settings for its asynchronous invocations; None is "not set"."""

    function: str
    """The function's name."""
    qualifier: str
    """``$LATEST``, a version or an alias."""
    last_modified: datetime
    maximum_retry_attempts: int | None = None
    """Retries after a function error, 0 to 2 (Lambda's default: 2)."""
    maximum_event_age_s: int | None = None
    """How long an invocation may wait in the queue, 60 to 21600 seconds (Lambda's default: 21600)."""
    on_success: str | None = None
    """Where a record of each successful invocation goes (an ARN)."""
    on_failure: str | None = None
    """Where a record of each invocation given up on goes (an ARN)."""


class SqliteEventInvokeConfigs:
    """What ``PutFunctionEventInvokeConfig`` and ``UpdateFunctionEventInvokeConfig`` stored."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def put(self, config: EventInvokeConfig) -> None:
        """Store ``config``, replacing the function and qualifier's previous one whole."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO lambda_event_invoke_configs (function, qualifier, maximum_retry_attempts,"
                " maximum_event_age_s, on_success, on_failure, last_modified) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    config.function,
                    config.qualifier,
                    config.maximum_retry_attempts,
                    config.maximum_event_age_s,
                    config.on_success,
                    config.on_failure,
                    config.last_modified.timestamp(),
                ),
            )

    def get(self, function: str, qualifier: str = "$LATEST") -> EventInvokeConfig | None:
        row = (
            self.db.connection()
            .execute(
                "SELECT function, qualifier, maximum_retry_attempts, maximum_event_age_s, on_success, on_failure, last_modified"
                " FROM lambda_event_invoke_configs WHERE function = ? AND qualifier = ?",
                (function, qualifier),
            )
            .fetchone()
        )
        return None if row is None else _config(row)

    def delete(self, function: str, qualifier: str = "$LATEST") -> bool:
        """Remove the configuration; False if there was none."""
        with self.db.transaction() as conn:
            return (
                conn.execute("DELETE FROM lambda_event_invoke_configs WHERE function = ? AND qualifier = ?", (function, qualifier)).rowcount
                == 1
            )

    def list(self, function: str) -> list[EventInvokeConfig]:
        """The function's configurations (one per qualifier), by qualifier."""
        rows = self.db.connection().execute(
            "SELECT function, qualifier, maximum_retry_attempts, maximum_event_age_s, on_success, on_failure, last_modified"
            " FROM lambda_event_invoke_configs WHERE function = ? ORDER BY qualifier",
            (function,),
        )
        return [_config(r) for r in rows]

    # -- dead-letter queues (the function's DeadLetterConfig) ------------------------------------

    def set_dead_letter(self, function: str, target_arn: str | None) -> None:
        """Set the function's dead-letter queue (``DeadLetterConfig.TargetArn``), or remove it with None
        (or ``""``, which is how UpdateFunctionConfiguration clears it).

        Args:
            function: the function's name.
            target_arn: an SQS queue's or SNS topic's ARN.

        Raises:
            ValueError: ``function`` is empty, or ``target_arn`` is not a queue's or topic's ARN.
        """
        if not function:
            raise ValueError("a dead-letter queue needs a function")
        if not target_arn:
            with self.db.transaction() as conn:
                conn.execute("DELETE FROM lambda_dead_letter_configs WHERE function = ?", (function,))
            return
        if not _DEAD_LETTER_ARN.fullmatch(target_arn):
            raise ValueError(f"a dead-letter queue is an Amazon SQS queue or Amazon SNS topic ARN, not {target_arn!r}")
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO lambda_dead_letter_configs (function, target_arn, last_modified) VALUES (?, ?, ?)",
                (function, target_arn, self.clock.now().timestamp()),
            )

    def dead_letter(self, function: str) -> str | None:
        """The function's dead-letter queue ARN; None if it has none."""
        row = self.db.connection().execute("SELECT target_arn FROM lambda_dead_letter_configs WHERE function = ?", (function,)).fetchone()
        return None if row is None else str(row[0])


def _invocation(row: sqlite3.Row) -> AsyncInvocation:
    return AsyncInvocation(
        int(row[0]),
        str(row[1]),
        json.loads(row[2]),
        str(row[3]),
        int(row[4]),
        datetime.fromtimestamp(float(row[5]), UTC),
        text=str(row[2]),
        last_error=row[6],
    )


def _config(row: sqlite3.Row) -> EventInvokeConfig:
    return EventInvokeConfig(
        str(row[0]),
        str(row[1]),
        datetime.fromtimestamp(float(row[6]), UTC),
        maximum_retry_attempts=row[2],
        maximum_event_age_s=row[3],
        on_success=row[4],
        on_failure=row[5],
    )


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="microseconds")
