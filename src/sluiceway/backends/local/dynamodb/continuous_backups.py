"""DescribeContinuousBackups and UpdateContinuousBackups: a table's point-in-time recovery setting.

The setting is kept with the table's definition and described as DynamoDB does:
continuous backups are always ENABLED, point-in-time recovery is ENABLED with the
window it covers (from when it was enabled, or the start of its recovery period,
to five minutes ago) or DISABLED. Sluiceway keeps no history to restore from; the
setting is what infrastructure code sets and reads back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ....dynamodb.errors import DynamoDbError, validation
from ....dynamodb.schema import TableSpec, table_reference
from ....ports import Clock
from .._sqlite import Database
from .catalog import TableCatalog

__all__ = ["ContinuousBackups"]

DEFAULT_RECOVERY_DAYS = 35
_RESTORE_LAG = timedelta(minutes=5)
"""How far behind now the latest restorable time is (DynamoDB's LatestRestorableDateTime)."""


def _table_not_found(name: str) -> DynamoDbError:
    # These operations name a missing table with their own code and words.
    return DynamoDbError("TableNotFoundException", f"Table not found: {name}")


class ContinuousBackups:
    def __init__(self, db: Database, catalog: TableCatalog, clock: Clock) -> None:
        self.db = db
        self.catalog = catalog
        self.clock = clock

    def describe(self, request: Mapping[str, Any]) -> dict[str, Any]:
        name = table_reference(request.get("TableName"))
        spec = self.catalog.get(self.db.connection(), name)
        if spec is None:
            raise _table_not_found(name)
        return {"ContinuousBackupsDescription": self._described(spec)}

    def update(self, request: Mapping[str, Any]) -> dict[str, Any]:
        name = table_reference(request.get("TableName"))
        wanted = request.get("PointInTimeRecoverySpecification") or {}
        enabled = wanted.get("PointInTimeRecoveryEnabled")
        if not isinstance(enabled, bool):
            raise validation(
                "1 validation error detected: Value null at 'pointInTimeRecoverySpecification.pointInTimeRecoveryEnabled'"
                " failed to satisfy constraint: Member must not be null"
            )
        days = wanted.get("RecoveryPeriodInDays")
        if days is not None and not (isinstance(days, int) and 1 <= days <= DEFAULT_RECOVERY_DAYS):
            bound = "less than or equal to 35" if isinstance(days, int) and days > DEFAULT_RECOVERY_DAYS else "greater than or equal to 1"
            raise validation(
                f"1 validation error detected: Value '{days}' at 'pointInTimeRecoverySpecification.recoveryPeriodInDays'"
                f" failed to satisfy constraint: Member must have value {bound}"
            )
        with self.db.transaction() as conn:
            spec = self.catalog.get(conn, name)
            if spec is None:
                raise _table_not_found(name)
            current = spec.pitr or {}
            if not enabled:
                pitr = None
            else:
                # Enabling again keeps the window; only the recovery period may change.
                since = current.get("Since") if current else self.clock.now().timestamp()
                pitr = {"Since": since, "RecoveryPeriodInDays": days or current.get("RecoveryPeriodInDays") or DEFAULT_RECOVERY_DAYS}
            spec = replace(spec, pitr=pitr)
            self.catalog.put(conn, spec)
        return {"ContinuousBackupsDescription": self._described(spec)}

    def _described(self, spec: TableSpec) -> dict[str, Any]:
        if not spec.pitr:
            recovery: dict[str, Any] = {"PointInTimeRecoveryStatus": "DISABLED"}
        else:
            now = self.clock.now().astimezone(UTC)
            days = int(spec.pitr["RecoveryPeriodInDays"])
            earliest = max(datetime.fromtimestamp(float(spec.pitr["Since"]), UTC), now - timedelta(days=days))
            recovery = {
                "PointInTimeRecoveryStatus": "ENABLED",
                "RecoveryPeriodInDays": days,
                "EarliestRestorableDateTime": earliest,
                "LatestRestorableDateTime": max(earliest, now - _RESTORE_LAG),
            }
        return {"ContinuousBackupsStatus": "ENABLED", "PointInTimeRecoveryDescription": recovery}
