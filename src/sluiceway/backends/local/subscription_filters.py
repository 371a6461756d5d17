"""CloudWatch Logs subscription filters on SQLite: each filter's pattern and destination.

They live in the state database (not ``logs.db`` beside the events), as metric filters do: the
subscription feed commits what it delivers (the Lambda invocations it queues, the Kinesis records
it puts) with its cursor in one transaction of the state database, and reads the filters from
there too. A log group's filters go with it (the Logs endpoint deletes them before the group, so a
crash between the two leaves a group without filters, never filters that come back with a group
made again).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, replace
from typing import Any, Final

from ...errors import ConflictError, NotFoundError
from ...ports import Clock
from ._sqlite import Database

__all__ = ["MAX_FILTERS_PER_GROUP", "SqliteSubscriptionFilters", "SubscriptionFilter", "TooManySubscriptionFiltersError"]

MAX_FILTERS_PER_GROUP: Final = 2
"""CloudWatch Logs' quota of subscription filters per log group (not adjustable)."""

_COLUMNS: Final = (
    "log_group, name, pattern, destination_arn, role_arn, distribution, transformed, selection, system_fields, created_ms, applies_after"
)


class TooManySubscriptionFiltersError(ConflictError):
    """The log group has :data:`MAX_FILTERS_PER_GROUP` subscription filters already."""


@dataclass(frozen=True)
class SubscriptionFilter:
    log_group: str
    name: str
    pattern: str
    destination_arn: str
    role_arn: str | None
    distribution: str
    """``ByLogStream`` (the default) or ``Random``: how records spread over a Kinesis stream's shards."""
    transformed: bool
    """``applyOnTransformedLogs``: kept and answered back (no log transformers locally)."""
    selection: str | None
    """``fieldSelectionCriteria``, kept and answered back."""
    system_fields: tuple[str, ...] | None
    """``emitSystemFields``, kept and answered back."""
    created_ms: int
    applies_after: int
    """The log store's last event when it was created: it delivers the events after that one (an
    update keeps it, so the events put before an update and not delivered yet go out under the new
    definition rather than under neither)."""
    policy_level: str | None = None
    """``ACCOUNT_LEVEL_POLICY`` for an account policy applied to the group (never stored here: the
    subscription feed makes those from :mod:`.account_policies`); None for the group's own filter."""


class SqliteSubscriptionFilters:
    """The data dir's subscription filters, in the state database."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def put(self, record: SubscriptionFilter, *, after_event: int) -> SubscriptionFilter:
        """Create the filter, or replace its definition (its creation time and the events it reads from are kept).

        ``record``'s ``created_ms`` and ``applies_after`` are ignored: they are set here.

        Args:
            after_event: the log store's last event now: a new filter delivers the events after it.

        Raises:
            TooManySubscriptionFiltersError: a new filter over the group's quota.
        """
        now = int(self.clock.now().timestamp() * 1000)
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT created_ms, applies_after FROM logs_subscription_filters WHERE log_group=? AND name=?",
                (record.log_group, record.name),
            ).fetchone()
            if row is None:
                count = conn.execute("SELECT count(*) FROM logs_subscription_filters WHERE log_group=?", (record.log_group,)).fetchone()[0]
                if count >= MAX_FILTERS_PER_GROUP:
                    raise TooManySubscriptionFiltersError(f"log group {record.log_group} has {count} subscription filters")
                created, applies_after = now, after_event
            else:
                created, applies_after = int(row[0]), int(row[1])
            conn.execute(
                f"INSERT OR REPLACE INTO logs_subscription_filters ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                (
                    record.log_group,
                    record.name,
                    record.pattern,
                    record.destination_arn,
                    record.role_arn,
                    record.distribution,
                    int(record.transformed),
                    record.selection,
                    None if record.system_fields is None else json.dumps(list(record.system_fields)),
                    created,
                    applies_after,
                ),
            )
        return replace(record, created_ms=created, applies_after=applies_after)

    def delete(self, group: str, name: str) -> None:
        """Raises NotFoundError when the group has no such filter."""
        with self.db.transaction() as conn:
            if conn.execute("DELETE FROM logs_subscription_filters WHERE log_group=? AND name=?", (group, name)).rowcount == 0:
                raise NotFoundError(f"subscription filter {name} of {group} does not exist")

    def delete_group(self, group: str) -> int:
        """Delete the group's filters (the group was deleted); how many there were."""
        with self.db.transaction() as conn:
            return int(conn.execute("DELETE FROM logs_subscription_filters WHERE log_group=?", (group,)).rowcount)

    def describe(self, group: str, *, prefix: str = "", after: str | None = None, limit: int = 50) -> list[SubscriptionFilter]:
        """The group's filters by name (ASCII order) after ``after``, whose names start with ``prefix``."""
        rows = self.db.connection().execute(
            f"SELECT {_COLUMNS} FROM logs_subscription_filters"  # noqa: S608 - fixed fragments
            " WHERE log_group = ? AND substr(name, 1, ?) = ? AND name > ? ORDER BY name LIMIT ?",
            (group, len(prefix), prefix, after or "", limit),
        )
        return [_filter(row) for row in rows]

    def all(self) -> list[SubscriptionFilter]:
        """Every filter (what the feed delivers for)."""
        rows = self.db.connection().execute(f"SELECT {_COLUMNS} FROM logs_subscription_filters ORDER BY log_group, name")  # noqa: S608
        return [_filter(row) for row in rows]


def _filter(row: sqlite3.Row | tuple[Any, ...]) -> SubscriptionFilter:
    fields = None if row[8] is None else tuple(str(f) for f in json.loads(row[8]))
    return SubscriptionFilter(
        str(row[0]), str(row[1]), str(row[2]), str(row[3]), row[4], str(row[5]), bool(row[6]), row[7], fields, int(row[9]), int(row[10])
    )
