"""Claims, outcomes and released claims of a table of deliveries: the event bus's and the topics' share them.

A delivery row is *due* when it is ``pending`` and its ``next_attempt_at`` (seconds
since the epoch) has passed. A deliverer *claims* a due row by moving its next attempt
to the end of a lease and naming itself (its :class:`~._sqlite.ProcessOwner`), makes
the attempt, then *records* the outcome: ``delivered``, a final status, or ``pending``
again with the time of the next attempt. Claims of a process that is gone are
*released* at once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from ...ports import Clock
from ._sqlite import Database

logger = logging.getLogger(__name__)

__all__ = ["DeliveryTable", "stamp"]


class DeliveryTable:
    """The shared half of a delivery store (see the module docstring).

    Args:
        table: ``deliveries`` (events), ``topic_deliveries`` or ``schedule_fires`` (Scheduler).
        keep_last_error: an outcome without an error keeps the last one (SNS's delivery
            status tells why earlier attempts failed); otherwise it clears it.
    """

    def __init__(self, db: Database, table: str, clock: Clock, *, keep_last_error: bool, what: str) -> None:
        if table not in ("deliveries", "topic_deliveries", "schedule_fires"):
            raise ValueError(f"not a delivery table: {table!r}")
        self.db = db
        self.table = table
        self.clock = clock
        self.what = what
        self._error = "coalesce(?, last_error)" if keep_last_error else "?"

    def claim(self, delivery_id: int, now: datetime, until: datetime) -> bool:
        """Take a due delivery until ``until``; False if it is no longer due (another deliverer has it)."""
        with self.db.transaction() as conn:
            cursor = conn.execute(
                f"UPDATE {self.table} SET next_attempt_at = ?, updated_at = ?, claimed_by = ?"
                " WHERE id = ? AND status = 'pending' AND next_attempt_at <= ?",
                (until.timestamp(), stamp(now), self.db.owner.id, delivery_id, now.timestamp()),
            )
            return cursor.rowcount == 1

    def record(
        self,
        delivery_id: int,
        *,
        status: str,
        attempts: int,
        next_attempt_at: datetime | None = None,
        error: str | None = None,
    ) -> None:
        """Store an attempt's outcome: a final status, or ``pending`` with the next attempt's time.

        Only a pending delivery takes an outcome: a router whose lease ran out while another
        finished the delivery must not reopen it (it would be sent again) nor end it twice.
        """
        now = self.clock.now()
        with self.db.transaction() as conn:
            conn.execute(
                f"UPDATE {self.table} SET status = ?, attempts = ?, next_attempt_at = ?, last_error = {self._error},"
                " updated_at = ?, claimed_by = NULL WHERE id = ? AND status = 'pending'",
                (status, attempts, (next_attempt_at or now).timestamp(), error, stamp(now), delivery_id),
            )

    def release_orphans(self) -> int:
        """Make deliveries claimed by processes that are gone due at once; return how many.

        Without this a delivery a killed process had claimed would wait for its lease.
        """
        now = self.clock.now()
        owners = [
            r[0]
            for r in self.db.connection().execute(
                f"SELECT DISTINCT claimed_by FROM {self.table} WHERE status = 'pending'"
                " AND claimed_by IS NOT NULL AND next_attempt_at > ?",
                (now.timestamp(),),
            )
        ]
        released = 0
        for owner in owners:
            if self.db.owner.alive(owner):
                continue
            with self.db.transaction() as conn:
                released += conn.execute(
                    f"UPDATE {self.table} SET next_attempt_at = ?, claimed_by = NULL WHERE status = 'pending' AND claimed_by = ?",
                    (now.timestamp(), owner),
                ).rowcount
        if released:
            logger.warning("claims of a stopped process released", extra={"deliveries": released, "of": self.what})
        return released


def stamp(when: datetime) -> str:
    """A delivery row's ``updated_at``: UTC, always with microseconds, so stored times compare as text in time order."""
    return when.astimezone(UTC).isoformat(timespec="microseconds")
