"""CloudWatch on SQLite: metric data points and metric alarms, kept across restarts.

Data points come from PutMetricData and from the feeds of AWS's own metrics (``_cw_feeds``);
alarms are what PutMetricAlarm made, with their state and history. A state change is one
transaction: the new state, its history items, the notifications published to the alarm's
SNS actions and the ``CloudWatch Alarm State Change`` event on the default bus all commit
together or not at all, so a crash never loses (nor repeats) a notification.

Retention: data points are kept 15 days (CloudWatch keeps 1-minute data that long; its
5-minute and hourly roll-ups of older data are not kept locally), alarm history 30 days.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from ...errors import NotFoundError
from ...ports import Clock
from ._cw_notifications import alarm_event, cloudwatch_time, notification, subject
from ._cw_queries import metric_key, run_queries, stat_series
from ._cw_values import Bucket, Datum, MetricKey, dimensions_json
from ._sqlite import Database
from .events import SqliteEventBus
from .topics import SqliteTopic

logger = logging.getLogger(__name__)

__all__ = [
    "DATA_RETENTION_MS",
    "HISTORY_RETENTION_MS",
    "STATES",
    "AlarmRecord",
    "HistoryItem",
    "MetricInfo",
    "SqliteCloudWatch",
]

STATES: Final = ("OK", "ALARM", "INSUFFICIENT_DATA")
DATA_RETENTION_MS: Final = 15 * 24 * 3600 * 1000
HISTORY_RETENTION_MS: Final = 30 * 24 * 3600 * 1000
INITIAL_REASON: Final = "Unchecked: Initial alarm creation"

_ACTIONS_BY_STATE: Final = {"ALARM": "AlarmActions", "OK": "OKActions", "INSUFFICIENT_DATA": "InsufficientDataActions"}


@dataclass(frozen=True)
class MetricInfo:
    id: int
    key: MetricKey
    last_ms: int
    """When a data point was last put (ListMetrics' RecentlyActive)."""


@dataclass(frozen=True)
class AlarmRecord:
    """A metric alarm: its definition (PutMetricAlarm's parameters) and its state."""

    name: str
    arn: str
    definition: Mapping[str, Any]
    actions_enabled: bool
    state: str
    reason: str
    reason_data: str | None
    state_updated_ms: int
    state_transitioned_ms: int
    configuration_ms: int


@dataclass(frozen=True)
class HistoryItem:
    id: int
    alarm: str
    timestamp_ms: int
    item_type: str
    """``ConfigurationUpdate``, ``StateUpdate`` or ``Action``."""
    summary: str
    data: str


class SqliteCloudWatch:
    """Metrics and alarms in the state database.

    Args:
        topics: where alarm actions naming SNS topics publish (in the state change's transaction).
        bus: where the state change events go (the default bus).
    """

    def __init__(self, db: Database, clock: Clock, topics: SqliteTopic, bus: SqliteEventBus, *, region: str, account_id: str) -> None:
        self.db = db
        self.clock = clock
        self.topics = topics
        self.bus = bus
        self.region = region
        self.account_id = account_id

    def _now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    def alarm_arn(self, name: str) -> str:
        return f"arn:aws:cloudwatch:{self.region}:{self.account_id}:alarm:{name}"

    # -- metrics --------------------------------------------------------------------------

    def put(self, data: Sequence[Datum], *, feed: tuple[str, int] | None = None, expected: int | None = None) -> bool:
        """Store data points, in one transaction; ``feed`` = ``(name, position)`` moves a feed's cursor with them.

        Args:
            expected: the feed's cursor when it read its source (None: not checked). It is compared
                inside the write transaction: when the cursor moved since (another feeder stored
                that range first), nothing is stored, so no range is ever counted twice.

        Returns:
            False when ``expected`` did not hold and nothing was stored; True otherwise.
        """
        now = self._now_ms()
        with self.db.transaction() as conn:
            if feed is not None and expected is not None and _cursor(conn, feed[0]) != expected:
                return False
            ids: dict[MetricKey, int] = {}
            for datum in data:
                metric = ids.get(datum.key)
                if metric is None:
                    metric = ids[datum.key] = _metric_id(conn, datum.key, now)
                conn.execute(
                    "INSERT INTO cw_datapoints (metric, ts_ms, samples, total, minimum, maximum, vals, unit, resolution)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        metric,
                        datum.timestamp_ms,
                        datum.samples,
                        datum.total,
                        datum.minimum,
                        datum.maximum,
                        None if datum.values is None else json.dumps(datum.values),
                        datum.unit,
                        datum.resolution,
                    ),
                )
            if feed is not None:
                self.set_cursor(feed[0], feed[1])
        return True

    def cursor(self, feed: str) -> int:
        """How far feed ``feed`` has read its source (0 at first)."""
        return _cursor(self.db.connection(), feed)

    def start_cursor(self, feed: str, position: int) -> int:
        """Give feed ``feed`` a cursor at ``position`` unless it has one already; its cursor.

        A feed starts where its source is when it first exists: what happened before it is not
        AWS's metric data either (CloudWatch has no metrics from before a resource sent them).
        """
        with self.db.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO cw_feed_cursors (feed, position) VALUES (?, ?)", (feed, position))
            return _cursor(conn, feed)

    def set_cursor(self, feed: str, position: int) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO cw_feed_cursors (feed, position) VALUES (?, ?) ON CONFLICT (feed) DO UPDATE SET position=excluded.position",
                (feed, position),
            )

    def metrics(
        self,
        *,
        namespace: str | None = None,
        name: str | None = None,
        dimensions: Sequence[tuple[str, str | None]] = (),
        active_since_ms: int | None = None,
        after_id: int = 0,
        limit: int = 500,
    ) -> list[MetricInfo]:
        """Metrics with data in the retention period, by id after ``after_id``, that have every
        dimension in ``dimensions`` (with that value, when one is given)."""
        where = ["id > ?", "last_ms >= ?"]
        args: list[Any] = [after_id, self._now_ms() - DATA_RETENTION_MS]
        if namespace is not None:
            where.append("namespace = ?")
            args.append(namespace)
        if name is not None:
            where.append("name = ?")
            args.append(name)
        if active_since_ms is not None:
            where.append("last_ms >= ?")
            args.append(active_since_ms)
        found: list[MetricInfo] = []
        rows = self.db.connection().execute(
            f"SELECT id, namespace, name, dimensions, last_ms FROM cw_metrics WHERE {' AND '.join(where)} ORDER BY id",  # noqa: S608 - fixed fragments
            args,
        )
        for row in rows:
            pairs = tuple((str(k), str(v)) for k, v in json.loads(row["dimensions"]))
            present = dict(pairs)
            if all(k in present and (v is None or present[k] == v) for k, v in dimensions):
                found.append(MetricInfo(row["id"], MetricKey(row["namespace"], row["name"], pairs), row["last_ms"]))
                if len(found) >= limit:
                    break
        return found

    def buckets(self, key: MetricKey, start_ms: int, end_ms: int, period_s: int, *, unit: str | None = None) -> list[Bucket]:
        """The metric's data points in ``[start_ms, end_ms)`` gathered into periods from ``start_ms``, oldest first.

        Periods without a data point have no bucket.
        """
        period_ms = period_s * 1000
        where = "m.namespace=? AND m.name=? AND m.dimensions=? AND d.ts_ms >= ? AND d.ts_ms < ?"
        args: list[Any] = [key.namespace, key.name, dimensions_json(key.dimensions), start_ms, end_ms]
        if unit is not None:
            where += " AND d.unit = ?"
            args.append(unit)
        rows = self.db.connection().execute(
            "SELECT d.ts_ms, d.samples, d.total, d.minimum, d.maximum, d.vals, d.unit"
            f" FROM cw_datapoints d JOIN cw_metrics m ON m.id = d.metric WHERE {where} ORDER BY d.ts_ms, d.id",  # noqa: S608
            args,
        )
        found: dict[int, Bucket] = {}
        for row in rows:
            start = start_ms + (row["ts_ms"] - start_ms) // period_ms * period_ms
            bucket = found.get(start)
            if bucket is None:
                bucket = found[start] = Bucket(start, unit=row["unit"])
            values = None if row["vals"] is None else [(float(v), float(c)) for v, c in json.loads(row["vals"])]
            bucket.add(row["samples"], row["total"], row["minimum"], row["maximum"], values)
        return [found[start] for start in sorted(found)]

    def alarm_datapoints(self, definition: Mapping[str, Any], end_ms: int, periods: int) -> list[tuple[int, float, float | None]]:
        """The alarm's ``(period start, value, sample count)`` in the ``periods`` periods before ``end_ms``, oldest first.

        A metric math alarm's points carry no sample count. Raises MathError for an expression
        that is not computed locally.
        """
        if "Metrics" in definition:
            queries = definition["Metrics"]
            period = _math_period(queries)
            results = run_queries(self, queries, end_ms - periods * period * 1000, end_ms, now_ms=self._now_ms())
            returned = next(r for r in results if r.return_data)
            return [(ts, value, None) for ts, value in returned.points]
        period = int(definition["Period"])
        stat = str(definition.get("ExtendedStatistic") or definition["Statistic"])
        points = stat_series(
            self, metric_key(definition), stat, end_ms - periods * period * 1000, end_ms, period, unit=definition.get("Unit")
        )
        return [(ts, value, samples) for ts, value, samples in points]

    def prune(self) -> int:
        """Drop data points and metrics past retention, and old alarm history; the number of rows dropped."""
        now = self._now_ms()
        with self.db.transaction() as conn:
            dropped = conn.execute("DELETE FROM cw_datapoints WHERE ts_ms < ?", (now - DATA_RETENTION_MS,)).rowcount
            dropped += conn.execute("DELETE FROM cw_metrics WHERE last_ms < ?", (now - DATA_RETENTION_MS,)).rowcount
            dropped += conn.execute("DELETE FROM cw_alarm_history WHERE ts_ms < ?", (now - HISTORY_RETENTION_MS,)).rowcount
        return int(dropped)

    # -- alarms ---------------------------------------------------------------------------

    def put_alarm(self, definition: Mapping[str, Any], *, actions_enabled: bool = True) -> AlarmRecord:
        """Create or replace an alarm (PutMetricAlarm). A new alarm starts in INSUFFICIENT_DATA; a
        replaced one keeps its state, and is evaluated again from its new definition."""
        name = str(definition["AlarmName"])
        now = self._now_ms()
        document = json.dumps(definition, separators=(",", ":"), sort_keys=True)
        with self.db.transaction() as conn:
            row = conn.execute("SELECT * FROM cw_alarms WHERE name=?", (name,)).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO cw_alarms (name, definition, actions_enabled, state, state_reason, state_reason_data,"
                    " state_updated_ms, state_transitioned_ms, configuration_ms) VALUES (?, ?, ?, 'INSUFFICIENT_DATA', ?, NULL, ?, ?, ?)",
                    (name, document, int(actions_enabled), INITIAL_REASON, now, now, now),
                )
                self._history(
                    conn, name, now, "ConfigurationUpdate", f'Alarm "{name}" created', {"type": "Create", "createdAlarm": definition}
                )
            else:
                conn.execute(
                    "UPDATE cw_alarms SET definition=?, actions_enabled=?, configuration_ms=? WHERE name=?",
                    (document, int(actions_enabled), now, name),
                )
                self._history(
                    conn,
                    name,
                    now,
                    "ConfigurationUpdate",
                    f'Alarm "{name}" updated',
                    {"type": "Update", "originalAlarm": json.loads(row["definition"]), "updatedAlarm": definition},
                )
        return self.must_alarm(name)

    def alarm(self, name: str) -> AlarmRecord | None:
        row = self.db.connection().execute("SELECT * FROM cw_alarms WHERE name=?", (name,)).fetchone()
        return None if row is None else self._record(row)

    def must_alarm(self, name: str) -> AlarmRecord:
        """Raises NotFoundError."""
        found = self.alarm(name)
        if found is None:
            raise NotFoundError(f"Alarm {name} does not exist")
        return found

    def alarms(
        self,
        *,
        names: Sequence[str] | None = None,
        prefix: str | None = None,
        state: str | None = None,
        action_prefix: str | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[AlarmRecord]:
        """Alarms by name, filtered as DescribeAlarms filters them, after the name ``after``."""
        where = ["name > ?"]
        args: list[Any] = [after or ""]
        if names is not None:
            if not names:
                return []
            where.append(f"name IN ({','.join('?' * len(names))})")
            args.extend(names)
        if prefix:
            where.append("substr(name, 1, ?) = ?")
            args.extend([len(prefix), prefix])
        if state is not None:
            where.append("state = ?")
            args.append(state)
        rows = self.db.connection().execute(
            f"SELECT * FROM cw_alarms WHERE {' AND '.join(where)} ORDER BY name",  # noqa: S608 - fixed fragments
            args,
        )
        found: list[AlarmRecord] = []
        for row in rows:
            record = self._record(row)
            if action_prefix and not any(
                action.startswith(action_prefix) for key in _ACTIONS_BY_STATE.values() for action in record.definition.get(key, [])
            ):
                continue
            found.append(record)
            if limit is not None and len(found) >= limit:
                break
        return found

    def delete_alarms(self, names: Iterable[str]) -> None:
        """Delete the alarms (all or none: NotFoundError names the first missing one)."""
        now = self._now_ms()
        with self.db.transaction() as conn:
            for name in dict.fromkeys(names):
                row = conn.execute("SELECT definition FROM cw_alarms WHERE name=?", (name,)).fetchone()
                if row is None:
                    raise NotFoundError(f"Alarm {name} does not exist")
                conn.execute("DELETE FROM cw_alarms WHERE name=?", (name,))
                self._history(
                    conn,
                    name,
                    now,
                    "ConfigurationUpdate",
                    f'Alarm "{name}" deleted',
                    {"type": "Delete", "deletedAlarm": json.loads(row[0])},
                )

    def set_actions_enabled(self, names: Iterable[str], enabled: bool) -> None:
        """EnableAlarmActions / DisableAlarmActions: names that are not alarms are passed over, as CloudWatch does."""
        with self.db.transaction() as conn:
            for name in names:
                conn.execute("UPDATE cw_alarms SET actions_enabled=? WHERE name=?", (int(enabled), name))

    def transition(self, name: str, state: str, reason: str, reason_data: str | None = None) -> bool:
        """Move the alarm to ``state`` and run that state's actions; False (nothing done) when it is there already.

        The state, its history items, the SNS notifications and the EventBridge event commit together.

        Raises:
            NotFoundError: no such alarm.
            ValueError: ``state`` is not one of :data:`STATES`.
        """
        if state not in STATES:
            raise ValueError(f"unknown alarm state {state!r}")
        now = self.clock.now()
        now_ms = int(now.timestamp() * 1000)
        with self.db.transaction() as conn:
            row = conn.execute("SELECT * FROM cw_alarms WHERE name=?", (name,)).fetchone()
            if row is None:
                raise NotFoundError(f"Alarm {name} does not exist")
            old = self._record(row)
            if old.state == state:
                return False
            conn.execute(
                "UPDATE cw_alarms SET state=?, state_reason=?, state_reason_data=?, state_updated_ms=?, state_transitioned_ms=?"
                " WHERE name=?",
                (state, reason, reason_data, now_ms, now_ms, name),
            )
            old_state = {"stateValue": old.state, "stateReason": old.reason}
            if old.reason_data:
                old_state["stateReasonData"] = json.loads(old.reason_data)
            new_state: dict[str, Any] = {"stateValue": state, "stateReason": reason}
            if reason_data:
                new_state["stateReasonData"] = json.loads(reason_data)
            self._history(
                conn,
                name,
                now_ms,
                "StateUpdate",
                f"Alarm updated from {old.state} to {state}",
                {"oldState": old_state, "newState": new_state},
            )
            self.bus.put_events(
                [
                    alarm_event(
                        old.definition,
                        arn=old.arn,
                        account_id=self.account_id,
                        region=self.region,
                        old={
                            "value": old.state,
                            "reason": old.reason,
                            "reasonData": old.reason_data,
                            "timestamp": _time(old.state_updated_ms),
                        },
                        new={"value": state, "reason": reason, "reasonData": reason_data, "timestamp": now},
                        changed_at=now,
                    )
                ]
            )
            if old.actions_enabled:
                message = notification(
                    old.definition,
                    arn=old.arn,
                    account_id=self.account_id,
                    region=self.region,
                    old_state=old.state,
                    new_state=state,
                    reason=reason,
                    changed_at=now,
                    configuration_updated_at=_time(old.configuration_ms),
                )
                for action in old.definition.get(_ACTIONS_BY_STATE[state], []):
                    self._act(conn, name, now_ms, action, subject(state, name, self.region), message)
        return True

    def _act(self, conn: sqlite3.Connection, alarm: str, now_ms: int, action: str, title: str, message: str) -> None:
        parts = action.split(":")
        if len(parts) != 6 or parts[:3] != ["arn", "aws", "sns"]:
            problem = "only SNS topic actions are run locally"
        elif (parts[3], parts[4]) != (self.region, self.account_id):
            problem = f"the topic is in another Region or account than the local stack ({self.region}, {self.account_id})"
        else:
            try:
                with self.db.transaction():  # a savepoint: a failed publish leaves nothing behind
                    message_id = self.topics.publish(parts[5], message, subject=title, auto_create=False)
            except Exception as exc:  # CloudWatch records a failed action; the state change stands
                problem = str(exc) or type(exc).__name__
            else:
                self._history(
                    conn,
                    alarm,
                    now_ms,
                    "Action",
                    f"Successfully executed action {action}",
                    {"actionState": "Succeeded", "notificationResource": action, "publishedMessage": {"messageId": message_id}},
                )
                return
        logger.warning("alarm action failed", extra={"alarm": alarm, "action": action, "problem": problem})
        self._history(
            conn,
            alarm,
            now_ms,
            "Action",
            f'Failed to execute action {action}. Received error: "{problem}"',
            {"actionState": "Failed", "notificationResource": action, "error": problem},
        )

    def history(
        self,
        *,
        alarm: str | None = None,
        item_type: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        newest_first: bool = True,
        after_id: int | None = None,
        limit: int = 100,
    ) -> list[HistoryItem]:
        """Alarm history items in the order they happened (newest first by default), past the item ``after_id``."""
        where = ["1=1"]
        args: list[Any] = []
        if alarm is not None:
            where.append("alarm = ?")
            args.append(alarm)
        if item_type is not None:
            where.append("item_type = ?")
            args.append(item_type)
        if start_ms is not None:
            where.append("ts_ms >= ?")
            args.append(start_ms)
        if end_ms is not None:
            where.append("ts_ms <= ?")
            args.append(end_ms)
        if after_id is not None:
            where.append("id < ?" if newest_first else "id > ?")
            args.append(after_id)
        direction = "DESC" if newest_first else "ASC"
        rows = self.db.connection().execute(
            f"SELECT * FROM cw_alarm_history WHERE {' AND '.join(where)} ORDER BY id {direction} LIMIT ?",  # noqa: S608 - fixed fragments
            (*args, limit),
        )
        return [HistoryItem(r["id"], r["alarm"], r["ts_ms"], r["item_type"], r["summary"], r["data"]) for r in rows]

    # -- helpers --------------------------------------------------------------------------

    def _history(self, conn: sqlite3.Connection, alarm: str, ts_ms: int, item_type: str, summary: str, data: Mapping[str, Any]) -> None:
        conn.execute(
            "INSERT INTO cw_alarm_history (alarm, ts_ms, item_type, summary, data) VALUES (?, ?, ?, ?, ?)",
            (alarm, ts_ms, item_type, summary, json.dumps({"version": "1.0", **data}, separators=(",", ":"))),
        )

    def _record(self, row: sqlite3.Row) -> AlarmRecord:
        return AlarmRecord(
            name=row["name"],
            arn=self.alarm_arn(row["name"]),
            definition=json.loads(row["definition"]),
            actions_enabled=bool(row["actions_enabled"]),
            state=row["state"],
            reason=row["state_reason"],
            reason_data=row["state_reason_data"],
            state_updated_ms=row["state_updated_ms"],
            state_transitioned_ms=row["state_transitioned_ms"],
            configuration_ms=row["configuration_ms"],
        )


def _cursor(conn: sqlite3.Connection, feed: str) -> int:
    row = conn.execute("SELECT position FROM cw_feed_cursors WHERE feed=?", (feed,)).fetchone()
    return 0 if row is None else int(row[0])


def _metric_id(conn: sqlite3.Connection, key: MetricKey, now_ms: int) -> int:
    dims = dimensions_json(key.dimensions)
    conn.execute(
        "INSERT INTO cw_metrics (namespace, name, dimensions, last_ms) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (namespace, name, dimensions) DO UPDATE SET last_ms = MAX(last_ms, excluded.last_ms)",
        (key.namespace, key.name, dims, now_ms),
    )
    row = conn.execute(
        "SELECT id FROM cw_metrics WHERE namespace=? AND name=? AND dimensions=?", (key.namespace, key.name, dims)
    ).fetchone()
    return int(row[0])


def _math_period(queries: Sequence[Mapping[str, Any]]) -> int:
    """A metric math alarm's period: its queries' (PutMetricAlarm checks that they agree)."""
    for query in queries:
        if "MetricStat" in query:
            return int(query["MetricStat"]["Period"])
        if "Period" in query:
            return int(query["Period"])
    return 60


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def reason_time(ms: int) -> str:
    """A time as CloudWatch's reason data writes it (``2026-05-12T01:02:00.000+0000``)."""
    return cloudwatch_time(_time(ms))
