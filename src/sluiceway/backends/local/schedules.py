"""EventBridge Scheduler's durable side: schedule groups, schedules and their fires in SQLite.

A schedule's next occurrence is stored with it. Firing an occurrence is one transaction
that moves the schedule on to its next occurrence (only if it still stands where the
firer read it: a compare-and-set) and inserts the fire, so an occurrence is fired once
however many firers run and whenever one crashes. Fires are then delivered like event
deliveries (claims, outcomes, released claims: :class:`~._deliveries.DeliveryTable`).
The behaviour on top (when to fire, retries, dead-letter queues) is
:class:`~sluiceway.runtime.bus.scheduler.ScheduleRunner`'s.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ...errors import ConflictError, NotFoundError
from ...events.scheduler import FireRecord, GroupRecord, ScheduleRecord, schedule_arn
from ...ports import Clock
from ._deliveries import DeliveryTable, stamp
from ._sqlite import Database

logger = logging.getLogger(__name__)

__all__ = ["SqliteSchedules"]


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _from_epoch(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


class SqliteSchedules:
    """Schedule groups, schedules and fires (see the module docstring).

    Args:
        db: the data dir's database.
        clock: the time.
        region: for schedule ARNs.
        account_id: likewise.
        on_change: called after a schedule is created, updated or deleted (the runner's wake-up).
    """

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        region: str,
        account_id: str,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.region = region
        self.account_id = account_id
        self.on_change = on_change
        self._fires = DeliveryTable(db, "schedule_fires", clock, keep_last_error=False, what="schedule fires")

    # -- groups ---------------------------------------------------------------------------

    def create_group(self, name: str, tags: Mapping[str, str] | None = None, *, arn: str | None = None) -> GroupRecord:
        """Create a schedule group (and tag it, under ``arn``).

        Raises:
            ConflictError: it exists.
        """
        now = self.clock.now()
        with self.db.transaction() as conn:
            try:
                conn.execute("INSERT INTO schedule_groups (name, created_at, updated_at) VALUES (?, ?, ?)", (name, stamp(now), stamp(now)))
            except sqlite3.IntegrityError:
                raise ConflictError(f"Schedule group {name} already exists.") from None
            if tags and arn:
                self._tag(conn, arn, tags)
        return GroupRecord(name, now, now)

    def get_group(self, name: str) -> GroupRecord:
        """A schedule group. Raises NotFoundError."""
        row = self.db.connection().execute("SELECT * FROM schedule_groups WHERE name=?", (name,)).fetchone()
        if row is None:
            raise NotFoundError(f"Schedule group {name} does not exist.")
        return GroupRecord(row["name"], _parse(row["created_at"]), _parse(row["updated_at"]))

    def list_groups(self, prefix: str = "") -> list[GroupRecord]:
        """Every group whose name starts with ``prefix``, by name."""
        rows = self.db.connection().execute(
            "SELECT * FROM schedule_groups WHERE substr(name, 1, ?) = ? ORDER BY name", (len(prefix), prefix)
        )
        return [GroupRecord(r["name"], _parse(r["created_at"]), _parse(r["updated_at"])) for r in rows]

    def delete_group(self, name: str, *, arn: str | None = None) -> None:
        """Delete a group, its schedules and its tags (fires in flight are still delivered).

        Raises:
            NotFoundError: no such group.
        """
        with self.db.transaction() as conn:
            if conn.execute("DELETE FROM schedule_groups WHERE name=?", (name,)).rowcount == 0:
                raise NotFoundError(f"Schedule group {name} does not exist.")
            if arn is not None:
                conn.execute("DELETE FROM scheduler_tags WHERE arn=?", (arn,))
        self._changed()

    # -- schedules ------------------------------------------------------------------------

    def create_schedule(self, record: ScheduleRecord) -> None:
        """Store a new schedule.

        Raises:
            NotFoundError: its group does not exist.
            ConflictError: a schedule of that name exists in the group.
        """
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM schedule_groups WHERE name=?", (record.group,)).fetchone() is None:
                raise NotFoundError(f"Schedule group {record.group} does not exist.")
            try:
                conn.execute(
                    "INSERT INTO schedules (grp, name, body, state, created_at, updated_at, next_fire_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    self._row(record),
                )
            except sqlite3.IntegrityError:
                raise ConflictError(f"Schedule {record.name} already exists.") from None
        self._changed()

    def update_schedule(self, record: ScheduleRecord) -> None:
        """Replace a schedule (its creation time is kept).

        Raises:
            NotFoundError: no such schedule.
        """
        with self.db.transaction() as conn:
            updated = conn.execute(
                "UPDATE schedules SET body=?, state=?, updated_at=?, next_fire_at=? WHERE grp=? AND name=?",
                (*self._row(record)[2:4], stamp(record.updated_at), _epoch(record.next_fire_at), record.group, record.name),
            ).rowcount
            if not updated:
                raise NotFoundError(f"Schedule {record.name} does not exist.")
        self._changed()

    def get_schedule(self, group: str, name: str) -> ScheduleRecord:
        """A schedule. Raises NotFoundError."""
        conn = self.db.connection()
        row = conn.execute("SELECT * FROM schedules WHERE grp=? AND name=?", (group, name)).fetchone()
        if row is None:
            if conn.execute("SELECT 1 FROM schedule_groups WHERE name=?", (group,)).fetchone() is None:
                raise NotFoundError(f"Schedule group {group} does not exist.")
            raise NotFoundError(f"Schedule {name} does not exist.")
        return self._record(row)

    def list_schedules(self, *, group: str | None = None, prefix: str = "", state: str | None = None) -> list[ScheduleRecord]:
        """Schedules, of one group or all, by group then name."""
        query = "SELECT * FROM schedules WHERE substr(name, 1, ?) = ?"
        params: list[Any] = [len(prefix), prefix]
        if group is not None:
            query += " AND grp = ?"
            params.append(group)
        if state is not None:
            query += " AND state = ?"
            params.append(state)
        rows = self.db.connection().execute(query + " ORDER BY grp, name", params)
        return [self._record(r) for r in rows]

    def delete_schedule(self, group: str, name: str) -> None:
        """Delete a schedule (fires in flight are still delivered).

        Raises:
            NotFoundError: no such schedule.
        """
        with self.db.transaction() as conn:
            if conn.execute("DELETE FROM schedules WHERE grp=? AND name=?", (group, name)).rowcount == 0:
                if conn.execute("SELECT 1 FROM schedule_groups WHERE name=?", (group,)).fetchone() is None:
                    raise NotFoundError(f"Schedule group {group} does not exist.")
                raise NotFoundError(f"Schedule {name} does not exist.")
        self._changed()

    # -- firing ---------------------------------------------------------------------------

    def due(self, now: datetime, *, after_id: int = 0, limit: int = 100) -> list[FireRecord]:
        """Pending fires due at ``now``, in firing order, after ``after_id`` (the delivery log's read)."""
        rows = self.db.connection().execute(
            "SELECT * FROM schedule_fires WHERE status='pending' AND next_attempt_at <= ? AND id > ? ORDER BY id LIMIT ?",
            (now.timestamp(), after_id, limit),
        )
        return [self._fire(r) for r in rows]

    def due_schedules(self, now: datetime) -> list[ScheduleRecord]:
        """Enabled schedules whose next occurrence has come."""
        rows = self.db.connection().execute(
            "SELECT * FROM schedules WHERE state='ENABLED' AND next_fire_at IS NOT NULL AND next_fire_at <= ? ORDER BY next_fire_at",
            (now.timestamp(),),
        )
        return [self._record(r) for r in rows]

    def next_due(self) -> datetime | None:
        """When the next enabled schedule comes due, if any does."""
        row = (
            self.db.connection()
            .execute("SELECT min(next_fire_at) FROM schedules WHERE state='ENABLED' AND next_fire_at IS NOT NULL")
            .fetchone()
        )
        return _from_epoch(row[0])

    def fire(
        self,
        record: ScheduleRecord,
        *,
        scheduled_at: datetime | None,
        next_fire_at: datetime | None,
        execution_id: str,
        delete: bool = False,
    ) -> bool:
        """Move ``record`` on to ``next_fire_at`` and commit a fire of ``scheduled_at`` (None: skip it).

        Both happen only if the schedule still stands at ``record.next_fire_at`` (another
        firer, or an update, did not move it first), in one transaction.

        Args:
            record: the schedule as the firer read it.
            scheduled_at: the occurrence to fire; None moves the schedule on without firing.
            next_fire_at: its next occurrence; None when it has no more.
            execution_id: the fire's id (unique).
            delete: delete the schedule instead of moving it on (ActionAfterCompletion DELETE).

        Returns:
            False if the schedule had moved (nothing was done).
        """
        now = self.clock.now()
        with self.db.transaction() as conn:
            where = "grp=? AND name=? AND next_fire_at IS ? AND updated_at=?"
            key = (record.group, record.name, _epoch(record.next_fire_at), stamp(record.updated_at))
            if delete:
                moved = conn.execute(f"DELETE FROM schedules WHERE {where}", key).rowcount
            else:
                moved = conn.execute(f"UPDATE schedules SET next_fire_at=? WHERE {where}", (_epoch(next_fire_at), *key)).rowcount
            if not moved:
                return False
            if scheduled_at is not None:
                conn.execute(
                    "INSERT INTO schedule_fires (grp, name, schedule_arn, scheduled_at, target, execution_id, status,"
                    " age_from, next_attempt_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
                    (
                        record.group,
                        record.name,
                        schedule_arn(record.group, record.name, region=self.region, account=self.account_id),
                        scheduled_at.timestamp(),
                        json.dumps(dict(record.target)),
                        execution_id,
                        scheduled_at.timestamp(),
                        now.timestamp(),
                        stamp(now),
                    ),
                )
        return True

    def fires(self, group: str | None = None, name: str | None = None) -> list[FireRecord]:
        """Every fire (of one schedule when named), in firing order."""
        query = "SELECT * FROM schedule_fires"
        params: tuple[str, ...] = ()
        if group is not None and name is not None:
            query, params = query + " WHERE grp=? AND name=?", (group, name)
        return [self._fire(r) for r in self.db.connection().execute(query + " ORDER BY id", params)]

    def claim(self, delivery_id: int, now: datetime, until: datetime) -> bool:
        return self._fires.claim(delivery_id, now, until)

    def record(
        self,
        delivery_id: int,
        *,
        status: str,
        attempts: int,
        next_attempt_at: datetime | None = None,
        error: str | None = None,
    ) -> None:
        self._fires.record(delivery_id, status=status, attempts=attempts, next_attempt_at=next_attempt_at, error=error)

    def release_orphans(self) -> int:
        return self._fires.release_orphans()

    # -- tags -----------------------------------------------------------------------------

    def tags(self, arn: str) -> dict[str, str]:
        rows = self.db.connection().execute("SELECT key, value FROM scheduler_tags WHERE arn=? ORDER BY key", (arn,))
        return {r["key"]: r["value"] for r in rows}

    def tag(self, arn: str, tags: Mapping[str, str]) -> None:
        with self.db.transaction() as conn:
            self._tag(conn, arn, tags)

    def untag(self, arn: str, keys: Sequence[str]) -> None:
        with self.db.transaction() as conn:
            conn.executemany("DELETE FROM scheduler_tags WHERE arn=? AND key=?", [(arn, k) for k in keys])

    def _tag(self, conn: sqlite3.Connection, arn: str, tags: Mapping[str, str]) -> None:
        conn.executemany(
            "INSERT INTO scheduler_tags (arn, key, value) VALUES (?, ?, ?) ON CONFLICT (arn, key) DO UPDATE SET value=excluded.value",
            [(arn, k, v) for k, v in tags.items()],
        )

    # -- rows -----------------------------------------------------------------------------

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def _row(self, record: ScheduleRecord) -> tuple[Any, ...]:
        body = {
            "ScheduleExpression": record.expression,
            "ScheduleExpressionTimezone": record.timezone,
            "Target": dict(record.target),
            "FlexibleTimeWindow": dict(record.flexible_window),
            "Description": record.description,
            "StartDate": record.start.isoformat() if record.start else None,
            "EndDate": record.end.isoformat() if record.end else None,
            "ActionAfterCompletion": record.action_after_completion,
            "KmsKeyArn": record.kms_key_arn,
        }
        return (
            record.group,
            record.name,
            json.dumps(body),
            record.state,
            stamp(record.created_at),
            stamp(record.updated_at),
            _epoch(record.next_fire_at),
        )

    def _record(self, row: sqlite3.Row) -> ScheduleRecord:
        body = json.loads(row["body"])
        return ScheduleRecord(
            group=row["grp"],
            name=row["name"],
            expression=body["ScheduleExpression"],
            timezone=body["ScheduleExpressionTimezone"],
            target=body["Target"],
            flexible_window=body["FlexibleTimeWindow"],
            state=row["state"],
            created_at=_parse(row["created_at"]),
            updated_at=_parse(row["updated_at"]),
            description=body.get("Description"),
            start=_parse(body["StartDate"]) if body.get("StartDate") else None,
            end=_parse(body["EndDate"]) if body.get("EndDate") else None,
            action_after_completion=body.get("ActionAfterCompletion") or "NONE",
            kms_key_arn=body.get("KmsKeyArn"),
            next_fire_at=_from_epoch(row["next_fire_at"]),
        )

    def _fire(self, row: sqlite3.Row) -> FireRecord:
        scheduled = _from_epoch(row["scheduled_at"])
        age_from = _from_epoch(row["age_from"])
        next_attempt = _from_epoch(row["next_attempt_at"])
        assert scheduled is not None and age_from is not None and next_attempt is not None
        return FireRecord(
            id=int(row["id"]),
            group=row["grp"],
            name=row["name"],
            schedule_arn=row["schedule_arn"],
            scheduled_at=scheduled,
            target=json.loads(row["target"]),
            execution_id=row["execution_id"],
            status=row["status"],
            attempts=int(row["attempts"]),
            age_from=age_from,
            next_attempt_at=next_attempt,
            last_error=row["last_error"],
        )


def _epoch(when: datetime | None) -> float | None:
    return None if when is None else when.timestamp()
