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

from ...errors import ConflictError, NotFoundError
from ...ports import Clock
from ._cw_alarm_rule import parse as parse_rule
from ._cw_notifications import (
    alarm_event,
    cloudwatch_time,
    composite_event,
    composite_notification,
    notification,
    subject,
    transition_reason,
)
from ._cw_queries import band_alarm_series, metric_key, returned_series, stat_series
from ._cw_values import Bucket, Datum, MetricKey, dimensions_json
from ._sqlite import Database
from .anomaly_detectors import SqliteAnomalyDetectors
from .events import SqliteEventBus
from .topics import SqliteTopic

logger = logging.getLogger(__name__)

__all__ = [
    "DATA_RETENTION_MS",
    "HISTORY_RETENTION_MS",
    "STATES",
    "AlarmRecord",
    "CompositeRecord",
    "HistoryItem",
    "MetricInfo",
    "SqliteCloudWatch",
]

STATES: Final = ("OK", "ALARM", "INSUFFICIENT_DATA")
DATA_RETENTION_MS: Final = 15 * 24 * 3600 * 1000
HISTORY_RETENTION_MS: Final = 30 * 24 * 3600 * 1000
INITIAL_REASON: Final = "Unchecked: Initial alarm creation"

_ACTIONS_BY_STATE: Final = {"ALARM": "AlarmActions", "OK": "OKActions", "INSUFFICIENT_DATA": "InsufficientDataActions"}
_METRIC: Final = "MetricAlarm"
_COMPOSITE: Final = "CompositeAlarm"
_TABLES: Final = {_METRIC: "cw_alarms", _COMPOSITE: "cw_composite_alarms"}


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
class CompositeRecord(AlarmRecord):
    """A composite alarm: its definition (PutCompositeAlarm's parameters) and its state."""

    suppressed_by: str | None = None
    """``WaitPeriod``, ``Alarm`` or ``ExtensionPeriod`` while its actions are held back by its suppressor."""
    suppressed_reason: str | None = None


@dataclass(frozen=True)
class HistoryItem:
    id: int
    alarm: str
    timestamp_ms: int
    item_type: str
    """``ConfigurationUpdate``, ``StateUpdate`` or ``Action``."""
    summary: str
    data: str
    alarm_type: str = _METRIC
    """``MetricAlarm`` or ``CompositeAlarm``."""


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
        self.detectors = SqliteAnomalyDetectors(db, clock, self)
        """The anomaly detectors; their configurations train the bands of queries and alarms."""

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

        A metric math alarm's points carry no sample count; one whose returned query gives no
        single series (an array, which PutMetricAlarm refuses) has no data. Raises MathError for an
        expression that is not computed locally.
        """
        if "Metrics" in definition:
            queries = definition["Metrics"]
            period = _math_period(queries)
            if "ThresholdMetricId" in definition:
                return [(ts, value, None) for ts, value, _, _ in self.alarm_band_datapoints(definition, end_ms, periods)]
            returned = returned_series(self, queries, end_ms - periods * period * 1000, end_ms, now_ms=self._now_ms())
            return [] if returned is None else [(ts, value, None) for ts, value in sorted(returned.points.items())]
        period = int(definition["Period"])
        stat = str(definition.get("ExtendedStatistic") or definition["Statistic"])
        points = stat_series(
            self, metric_key(definition), stat, end_ms - periods * period * 1000, end_ms, period, unit=definition.get("Unit")
        )
        return [(ts, value, samples) for ts, value, samples in points]

    def alarm_band_datapoints(
        self, definition: Mapping[str, Any], end_ms: int, periods: int
    ) -> list[tuple[int, float, float | None, float | None]]:
        """An anomaly detection alarm's ``(period start, value, lower, upper)`` in the ``periods``
        periods before ``end_ms``, oldest first; the bounds are None where the model has no band
        (it has not trained). Raises MathError as :meth:`alarm_datapoints`."""
        queries = definition["Metrics"]
        period = _math_period(queries)
        found = band_alarm_series(
            self,
            queries,
            str(definition["ThresholdMetricId"]),
            end_ms - periods * period * 1000,
            end_ms,
            now_ms=self._now_ms(),
            detectors=self.detectors,
        )
        if found is None:
            return []
        series, lower, upper = found
        return [(ts, value, lower.points.get(ts), upper.points.get(ts)) for ts, value in sorted(series.points.items())]

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
        replaced one keeps its state, and is evaluated again from its new definition.

        Raises:
            ConflictError: the name is a composite alarm's.
        """
        name = str(definition["AlarmName"])
        now = self._now_ms()
        document = json.dumps(definition, separators=(",", ":"), sort_keys=True)
        with self.db.transaction() as conn:
            if _kind(conn, name) == _COMPOSITE:
                raise ConflictError(f"The alarm {name} already exists as a composite alarm.")
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

    def put_composite_alarm(self, definition: Mapping[str, Any], *, actions_enabled: bool = True) -> CompositeRecord:
        """Create or replace a composite alarm (PutCompositeAlarm), then evaluate its rule.

        A new one starts in INSUFFICIENT_DATA (the only time a composite alarm is in that state) and
        moves at once to ALARM or OK, running that state's actions; a replaced one keeps its state
        until its new rule says otherwise. The rule must parse (the endpoint checks it first).

        Raises:
            NotFoundError: an alarm the rule or ``ActionsSuppressor`` names does not exist (CloudWatch's message).
            ConflictError: the name is a metric alarm's.
        """
        name = str(definition["AlarmName"])
        rule = parse_rule(str(definition["AlarmRule"]))
        now = self.clock.now()
        now_ms = int(now.timestamp() * 1000)
        document = json.dumps(definition, separators=(",", ":"), sort_keys=True)
        with self.db.transaction() as conn:
            if _kind(conn, name) == _METRIC:
                raise ConflictError(f"The alarm {name} already exists as a metric alarm.")
            # A rule may name the alarm being put (a cycle CloudWatch allows and stops evaluating).
            missing = [ref for ref in rule.references if self._ref_name(ref) != name and _kind(conn, self._ref_name(ref)) is None]
            if missing:
                raise NotFoundError(f"Could not save the composite alarm as alarms [{', '.join(missing)}] in the alarm rule do not exist")
            suppressor = definition.get("ActionsSuppressor")
            if suppressor and self._ref_name(suppressor) != name and _kind(conn, self._ref_name(suppressor)) is None:
                raise NotFoundError(f"Could not save the composite alarm as the actions suppressor alarm [{suppressor}] does not exist")
            row = conn.execute("SELECT * FROM cw_composite_alarms WHERE name=?", (name,)).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO cw_composite_alarms (name, definition, actions_enabled, state, state_reason, state_reason_data,"
                    " state_updated_ms, state_transitioned_ms, configuration_ms) VALUES (?, ?, ?, 'INSUFFICIENT_DATA', ?, NULL, ?, ?, ?)",
                    (name, document, int(actions_enabled), INITIAL_REASON, now_ms, now_ms, now_ms),
                )
                change: dict[str, Any] = {"type": "Create", "createdAlarm": definition}
                summary = f'Alarm "{name}" created'
            else:
                conn.execute(
                    "UPDATE cw_composite_alarms SET definition=?, actions_enabled=?, configuration_ms=? WHERE name=?",
                    (document, int(actions_enabled), now_ms, name),
                )
                change = {"type": "Update", "originalAlarm": json.loads(row["definition"]), "updatedAlarm": definition}
                summary = f'Alarm "{name}" updated'
            self._history(conn, name, now_ms, "ConfigurationUpdate", summary, change, alarm_type=_COMPOSITE)
            conn.execute("DELETE FROM cw_composite_children WHERE parent=?", (name,))
            children = [(self._ref_name(ref), "rule") for ref in rule.references]
            if suppressor:
                children.append((self._ref_name(suppressor), "suppressor"))
            conn.executemany(
                "INSERT OR IGNORE INTO cw_composite_children (parent, child, role) VALUES (?, ?, ?)",
                [(name, child, role) for child, role in children if child is not None],
            )
            # Evaluated at creation (and after an update) with every referenced alarm as the trigger.
            self._evaluate_composite(conn, name, now, None, frozenset({name}))
        return self.must_composite(name)

    def alarm(self, name: str) -> AlarmRecord | None:
        row = self.db.connection().execute("SELECT * FROM cw_alarms WHERE name=?", (name,)).fetchone()
        return None if row is None else self._record(row)

    def must_alarm(self, name: str) -> AlarmRecord:
        """Raises NotFoundError."""
        found = self.alarm(name)
        if found is None:
            raise NotFoundError(f"Alarm {name} does not exist")
        return found

    def composite(self, name: str) -> CompositeRecord | None:
        row = self.db.connection().execute("SELECT * FROM cw_composite_alarms WHERE name=?", (name,)).fetchone()
        return None if row is None else self._composite_record(row)

    def must_composite(self, name: str) -> CompositeRecord:
        """Raises NotFoundError."""
        found = self.composite(name)
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
        """Metric alarms by name, filtered as DescribeAlarms filters them, after the name ``after``."""
        return self._select(_METRIC, names, prefix, state, action_prefix, after, limit)

    def composites(
        self,
        *,
        names: Sequence[str] | None = None,
        prefix: str | None = None,
        state: str | None = None,
        action_prefix: str | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> list[CompositeRecord]:
        """Composite alarms by name, filtered as DescribeAlarms filters them, after the name ``after``."""
        return [r for r in self._select(_COMPOSITE, names, prefix, state, action_prefix, after, limit) if isinstance(r, CompositeRecord)]

    def _select(
        self,
        kind: str,
        names: Sequence[str] | None,
        prefix: str | None,
        state: str | None,
        action_prefix: str | None,
        after: str | None,
        limit: int | None,
    ) -> list[AlarmRecord]:
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
            f"SELECT * FROM {_TABLES[kind]} WHERE {' AND '.join(where)} ORDER BY name",  # noqa: S608 - fixed fragments
            args,
        )
        found: list[AlarmRecord] = []
        for row in rows:
            record = self._record(row) if kind == _METRIC else self._composite_record(row)
            if action_prefix and not any(
                action.startswith(action_prefix) for key in _ACTIONS_BY_STATE.values() for action in record.definition.get(key, [])
            ):
                continue
            found.append(record)
            if limit is not None and len(found) >= limit:
                break
        return found

    def children(self, name: str) -> list[AlarmRecord]:
        """The alarms a composite alarm's rule references, by name (none for a metric alarm or no alarm)."""
        rows = (
            self.db.connection()
            .execute("SELECT child FROM cw_composite_children WHERE parent=? AND role='rule' ORDER BY child", (name,))
            .fetchall()
        )
        return [record for (child,) in rows if (record := self.alarm(child) or self.composite(child)) is not None]

    def parents(self, name: str) -> list[CompositeRecord]:
        """The composite alarms whose rule references the alarm ``name``, by name."""
        rows = (
            self.db.connection()
            .execute("SELECT DISTINCT parent FROM cw_composite_children WHERE child=? AND role='rule' ORDER BY parent", (name,))
            .fetchall()
        )
        return [record for (parent,) in rows if (record := self.composite(parent)) is not None]

    def delete_alarms(self, names: Iterable[str]) -> None:
        """Delete the alarms, metric and composite (all or none).

        Raises:
            NotFoundError: names the first name that is no alarm.
            ConflictError: more than one composite alarm, or an alarm a composite alarm that stays
                depends on (its rule or its actions suppressor): CloudWatch's messages.
        """
        now = self._now_ms()
        wanted = list(dict.fromkeys(names))
        with self.db.transaction() as conn:
            kinds: dict[str, str] = {}
            for name in wanted:
                kind = _kind(conn, name)
                if kind is None:
                    raise NotFoundError(f"Alarm {name} does not exist")
                kinds[name] = kind
            if sum(1 for kind in kinds.values() if kind == _COMPOSITE) > 1:
                raise ConflictError("You can delete at most one composite alarm in a DeleteAlarms call.")
            for name in wanted:
                parents = {r[0] for r in conn.execute("SELECT parent FROM cw_composite_children WHERE child=?", (name,))}
                if parents - set(wanted):
                    raise ConflictError(f"Cannot delete {name} as there are composite alarm(s) depending on it.")
            for name in wanted:
                table = _TABLES[kinds[name]]
                row = conn.execute(f"SELECT definition FROM {table} WHERE name=?", (name,)).fetchone()  # noqa: S608
                conn.execute(f"DELETE FROM {table} WHERE name=?", (name,))  # noqa: S608 - a fixed table name
                self._history(
                    conn,
                    name,
                    now,
                    "ConfigurationUpdate",
                    f'Alarm "{name}" deleted',
                    {"type": "Delete", "deletedAlarm": json.loads(row[0])},
                    alarm_type=kinds[name],
                )

    def set_actions_enabled(self, names: Iterable[str], enabled: bool) -> None:
        """EnableAlarmActions / DisableAlarmActions: names that are not alarms are passed over, as CloudWatch does."""
        with self.db.transaction() as conn:
            for name in names:
                for table in _TABLES.values():
                    conn.execute(f"UPDATE {table} SET actions_enabled=? WHERE name=?", (int(enabled), name))  # noqa: S608

    def transition(self, name: str, state: str, reason: str, reason_data: str | None = None) -> bool:
        """Move the alarm (metric or composite) to ``state`` and run that state's actions; False
        (nothing done) when it is there already.

        The state, its history items, the SNS notifications and the EventBridge event commit
        together, with the same of every composite alarm whose rule the change moves.

        Raises:
            NotFoundError: no such alarm.
            ValueError: ``state`` is not one of :data:`STATES`.
        """
        if state not in STATES:
            raise ValueError(f"unknown alarm state {state!r}")
        now = self.clock.now()
        with self.db.transaction() as conn:
            kind = _kind(conn, name)
            if kind is None:
                raise NotFoundError(f"Alarm {name} does not exist")
            row = conn.execute(f"SELECT * FROM {_TABLES[kind]} WHERE name=?", (name,)).fetchone()  # noqa: S608
            old = self._record(row) if kind == _METRIC else self._composite_record(row)
            if old.state == state:
                return False
            self._move(conn, old, state, reason, reason_data, now, [])
            self._cascade(conn, name, now, frozenset({name}))
        return True

    def _cascade(self, conn: sqlite3.Connection, changed: str, now: datetime, seen: frozenset[str]) -> None:
        """Evaluate again the composite alarms whose rule references ``changed``, and theirs in turn
        (after updating the suppression of those ``changed`` suppresses)."""
        self._suppressor_moved(conn, changed, int(now.timestamp() * 1000))
        parents = [
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT parent FROM cw_composite_children WHERE child=? AND role='rule' ORDER BY parent", (changed,)
            )
        ]
        for parent in parents:
            if parent in seen:
                continue  # a cycle: CloudWatch stops evaluating where it detects one
            self._evaluate_composite(conn, parent, now, changed, seen | {parent})

    def _evaluate_composite(self, conn: sqlite3.Connection, name: str, now: datetime, trigger: str | None, seen: frozenset[str]) -> None:
        """Move the composite alarm to the state its rule gives (ALARM when it holds, OK otherwise).

        ``trigger`` is the alarm whose change caused the evaluation (the reason names it); None at
        creation or update, when every referenced alarm is a trigger.
        """
        row = conn.execute("SELECT * FROM cw_composite_alarms WHERE name=?", (name,)).fetchone()
        record = self._composite_record(row)
        rule = parse_rule(str(record.definition["AlarmRule"]))
        children: dict[str, tuple[str, int]] = {}  # each referenced alarm's state and when it changed, by name
        for ref in rule.references:
            child = self._ref_name(ref)
            kind = _kind(conn, child)
            if child is not None and kind is not None:
                found = conn.execute(f"SELECT state, state_updated_ms FROM {_TABLES[kind]} WHERE name=?", (child,)).fetchone()  # noqa: S608
                children[child] = (str(found[0]), int(found[1]))

        def state_of(ref: str) -> str | None:
            child = self._ref_name(ref)
            return children[child][0] if child in children else None

        state = "ALARM" if rule.evaluate(state_of) else "OK"
        if state == record.state:
            return
        names = [trigger] if trigger is not None and trigger in children else list(children)
        triggering = [
            {"arn": self.alarm_arn(child), "state": {"value": children[child][0], "timestamp": cloudwatch_time(_time(children[child][1]))}}
            for child in names
        ]
        if names:
            first_state, first_ms = children[names[0]]
            reason = transition_reason(self.alarm_arn(names[0]), first_state, _time(first_ms))
        else:
            # A rule of TRUE and FALSE alone has no alarm to name.
            reason = f"The alarm rule evaluated to {'TRUE' if state == 'ALARM' else 'FALSE'}"
        reason_data = json.dumps({"triggeringAlarms": triggering}, separators=(",", ":"))
        self._move(conn, record, state, reason, reason_data, now, triggering)
        self._cascade(conn, name, now, seen)

    def _move(
        self,
        conn: sqlite3.Connection,
        old: AlarmRecord,
        state: str,
        reason: str,
        reason_data: str | None,
        now: datetime,
        triggering: list[dict[str, Any]],
    ) -> None:
        """The state change of one alarm: its row, history, event and actions."""
        composite = isinstance(old, CompositeRecord)
        kind = _COMPOSITE if composite else _METRIC
        now_ms = int(now.timestamp() * 1000)
        conn.execute(
            f"UPDATE {_TABLES[kind]} SET state=?, state_reason=?, state_reason_data=?, state_updated_ms=?, state_transitioned_ms=?"  # noqa: S608
            " WHERE name=?",
            (state, reason, reason_data, now_ms, now_ms, old.name),
        )
        old_state: dict[str, Any] = {"stateValue": old.state, "stateReason": old.reason}
        if old.reason_data:
            old_state["stateReasonData"] = json.loads(old.reason_data)
        new_state: dict[str, Any] = {"stateValue": state, "stateReason": reason}
        if reason_data:
            new_state["stateReasonData"] = json.loads(reason_data)
        self._history(
            conn,
            old.name,
            now_ms,
            "StateUpdate",
            f"Alarm updated from {old.state} to {state}",
            {"oldState": old_state, "newState": new_state},
            alarm_type=kind,
        )
        before: dict[str, Any] = {
            "value": old.state,
            "reason": old.reason,
            "reasonData": old.reason_data,
            "timestamp": _time(old.state_updated_ms),
        }
        after: dict[str, Any] = {"value": state, "reason": reason, "reasonData": reason_data, "timestamp": now}
        held = self._hold(conn, old, now_ms, triggering) if isinstance(old, CompositeRecord) and old.actions_enabled else None
        if held is not None:
            after.update({"actionsSuppressedBy": held, "actionsSuppressedReason": _suppressed_reason(held)})
        place = {"arn": old.arn, "account_id": self.account_id, "region": self.region}
        build = composite_event if composite else alarm_event
        self.bus.put_events([build(old.definition, **place, old=before, new=after, changed_at=now)])
        if not old.actions_enabled or held is not None:
            return
        self._run_actions(conn, old, old.state, state, reason, now, triggering)

    def _run_actions(
        self,
        conn: sqlite3.Connection,
        old: AlarmRecord,
        from_state: str,
        state: str,
        reason: str,
        now: datetime,
        triggering: list[dict[str, Any]],
    ) -> None:
        """Publish the notification of a change from ``from_state`` to ``state`` to that state's actions."""
        composite = isinstance(old, CompositeRecord)
        kind = _COMPOSITE if composite else _METRIC
        now_ms = int(now.timestamp() * 1000)
        place = {"arn": old.arn, "account_id": self.account_id, "region": self.region}
        common: dict[str, Any] = {
            **place,
            "old_state": from_state,
            "new_state": state,
            "reason": reason,
            "changed_at": now,
            "configuration_updated_at": _time(old.configuration_ms),
        }
        message = (
            composite_notification(old.definition, **common, triggering=triggering) if composite else notification(old.definition, **common)
        )
        for action in old.definition.get(_ACTIONS_BY_STATE[state], []):
            self._act(conn, old.name, now_ms, action, subject(state, old.name, self.region), message, kind)

    # -- actions suppression (composite alarms) --------------------------------------------

    def _hold(self, conn: sqlite3.Connection, old: CompositeRecord, now_ms: int, triggering: list[dict[str, Any]]) -> str | None:
        """Whether the actions of the composite alarm's change are held back, and by what.

        The change's triggering children are kept with the held actions: the notification sent when
        the period ends names them (the state's reason data may since be SetAlarmState's, any JSON).

        While its suppressor is in ALARM they are; while an extension period (after the suppressor
        left ALARM) or a wait period runs, they wait for its end; otherwise, with a wait period, one
        starts now: the suppressor has that long to go into ALARM before the actions run.
        """
        suppressor = old.definition.get("ActionsSuppressor")
        if not suppressor:
            return None
        row = conn.execute(
            "SELECT suppressed_by, suppressed_until_ms, pending_from FROM cw_composite_alarms WHERE name=?", (old.name,)
        ).fetchone()
        by, until, pending_from = row[0], row[1], row[2]
        if self._state_of(conn, suppressor) == "ALARM":
            by, until = "Alarm", None
        elif by in ("WaitPeriod", "ExtensionPeriod") and until is not None and until > now_ms:
            pass
        elif int(old.definition.get("ActionsSuppressorWaitPeriod") or 0) > 0:
            by, until = "WaitPeriod", now_ms + int(old.definition["ActionsSuppressorWaitPeriod"]) * 1000
        else:
            # Nothing holds this change's actions: they run now, and a period that ended unreleased
            # (its actions superseded by these) is over.
            conn.execute(
                "UPDATE cw_composite_alarms SET suppressed_by=NULL, suppressed_reason=NULL, suppressed_until_ms=NULL,"
                " pending_from=NULL, pending_triggering=NULL WHERE name=?",
                (old.name,),
            )
            return None
        conn.execute(
            "UPDATE cw_composite_alarms SET suppressed_by=?, suppressed_reason=?, suppressed_until_ms=?, pending_from=?,"
            " pending_triggering=? WHERE name=?",
            (by, _suppressed_reason(by), until, pending_from or old.state, json.dumps(triggering, separators=(",", ":")), old.name),
        )
        return str(by)

    def _suppressor_moved(self, conn: sqlite3.Connection, suppressor: str, now_ms: int) -> None:
        """The alarm ``suppressor`` changed state: the composite alarms it suppresses hold their
        actions while it is in ALARM, and for their extension period once it leaves ALARM."""
        state = self._state_of(conn, suppressor)
        rows = conn.execute(
            "SELECT a.* FROM cw_composite_alarms a JOIN cw_composite_children c ON c.parent = a.name"
            " WHERE c.child=? AND c.role='suppressor'",
            (suppressor,),
        ).fetchall()
        for row in rows:
            if state == "ALARM":
                by, until = "Alarm", None
            elif row["suppressed_by"] == "Alarm":
                extension = int(json.loads(row["definition"]).get("ActionsSuppressorExtensionPeriod") or 0)
                by, until = "ExtensionPeriod", now_ms + extension * 1000
            else:
                continue
            conn.execute(
                "UPDATE cw_composite_alarms SET suppressed_by=?, suppressed_reason=?, suppressed_until_ms=? WHERE name=?",
                (by, _suppressed_reason(by), until, row["name"]),
            )

    def release_suppressions(self) -> int:
        """End the wait and extension periods that are over: each composite alarm still holding the
        actions of a change runs them now (its state's actions). The number of periods ended."""
        now = self.clock.now()
        now_ms = int(now.timestamp() * 1000)
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT * FROM cw_composite_alarms WHERE suppressed_until_ms IS NOT NULL AND suppressed_until_ms <= ? ORDER BY name",
                (now_ms,),
            ).fetchall()
            for row in rows:
                conn.execute(
                    "UPDATE cw_composite_alarms SET suppressed_by=NULL, suppressed_reason=NULL, suppressed_until_ms=NULL,"
                    " pending_from=NULL, pending_triggering=NULL WHERE name=?",
                    (row["name"],),
                )
                record = self._composite_record(row)
                if row["pending_from"] is not None and row["pending_from"] != record.state and record.actions_enabled:
                    triggering = _held_triggering(row["pending_triggering"])
                    self._run_actions(conn, record, row["pending_from"], record.state, record.reason, now, triggering)
        return len(rows)

    def _state_of(self, conn: sqlite3.Connection, reference: str) -> str | None:
        name = self._ref_name(reference)
        kind = _kind(conn, name)
        if kind is None:
            return None
        row = conn.execute(f"SELECT state FROM {_TABLES[kind]} WHERE name=?", (name,)).fetchone()  # noqa: S608
        return str(row[0])

    def _ref_name(self, reference: str) -> str | None:
        """The alarm name a rule's reference means: a name, or this Region's and account's alarm ARN
        (None for another's, which no local alarm can be)."""
        if not reference.startswith("arn:"):
            return reference
        parts = reference.split(":", 6)
        if len(parts) == 7 and parts[2] == "cloudwatch" and (parts[3], parts[4], parts[5]) == (self.region, self.account_id, "alarm"):
            return parts[6]
        return None

    def _act(self, conn: sqlite3.Connection, alarm: str, now_ms: int, action: str, title: str, message: str, kind: str = _METRIC) -> None:
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
                    alarm_type=kind,
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
            alarm_type=kind,
        )

    def history(
        self,
        *,
        alarm: str | None = None,
        item_type: str | None = None,
        alarm_types: Sequence[str] = (_METRIC,),
        start_ms: int | None = None,
        end_ms: int | None = None,
        newest_first: bool = True,
        after_id: int | None = None,
        limit: int = 100,
    ) -> list[HistoryItem]:
        """Alarm history items of the ``alarm_types`` in the order they happened (newest first by
        default), past the item ``after_id``."""
        if not alarm_types:
            return []
        where = [f"COALESCE(t.alarm_type, '{_METRIC}') IN ({','.join('?' * len(alarm_types))})"]
        args: list[Any] = list(alarm_types)
        if alarm is not None:
            where.append("h.alarm = ?")
            args.append(alarm)
        if item_type is not None:
            where.append("h.item_type = ?")
            args.append(item_type)
        if start_ms is not None:
            where.append("h.ts_ms >= ?")
            args.append(start_ms)
        if end_ms is not None:
            where.append("h.ts_ms <= ?")
            args.append(end_ms)
        if after_id is not None:
            where.append("h.id < ?" if newest_first else "h.id > ?")
            args.append(after_id)
        direction = "DESC" if newest_first else "ASC"
        rows = self.db.connection().execute(
            "SELECT h.*, COALESCE(t.alarm_type, ?) AS alarm_type FROM cw_alarm_history h"  # noqa: S608 - fixed fragments
            f" LEFT JOIN cw_alarm_history_types t ON t.id = h.id WHERE {' AND '.join(where)} ORDER BY h.id {direction} LIMIT ?",
            (_METRIC, *args, limit),
        )
        return [HistoryItem(r["id"], r["alarm"], r["ts_ms"], r["item_type"], r["summary"], r["data"], r["alarm_type"]) for r in rows]

    # -- helpers --------------------------------------------------------------------------

    def _history(
        self,
        conn: sqlite3.Connection,
        alarm: str,
        ts_ms: int,
        item_type: str,
        summary: str,
        data: Mapping[str, Any],
        *,
        alarm_type: str = _METRIC,
    ) -> None:
        cursor = conn.execute(
            "INSERT INTO cw_alarm_history (alarm, ts_ms, item_type, summary, data) VALUES (?, ?, ?, ?, ?)",
            (alarm, ts_ms, item_type, summary, json.dumps({"version": "1.0", **data}, separators=(",", ":"))),
        )
        if alarm_type != _METRIC:
            conn.execute("INSERT INTO cw_alarm_history_types (id, alarm_type) VALUES (?, ?)", (cursor.lastrowid, alarm_type))

    def _record(self, row: sqlite3.Row) -> AlarmRecord:
        return AlarmRecord(**self._fields(row))

    def _composite_record(self, row: sqlite3.Row) -> CompositeRecord:
        return CompositeRecord(**self._fields(row), suppressed_by=row["suppressed_by"], suppressed_reason=row["suppressed_reason"])

    def _fields(self, row: sqlite3.Row) -> dict[str, Any]:
        return {
            "name": row["name"],
            "arn": self.alarm_arn(row["name"]),
            "definition": json.loads(row["definition"]),
            "actions_enabled": bool(row["actions_enabled"]),
            "state": row["state"],
            "reason": row["state_reason"],
            "reason_data": row["state_reason_data"],
            "state_updated_ms": row["state_updated_ms"],
            "state_transitioned_ms": row["state_transitioned_ms"],
            "configuration_ms": row["configuration_ms"],
        }


def _held_triggering(stored: str | None) -> list[dict[str, Any]]:
    """The triggering children kept with held actions (none for actions held before they were kept)."""
    return list(json.loads(stored)) if stored else []


def _suppressed_reason(by: str) -> str:
    return f"Actions suppressed by {by}"


def _kind(conn: sqlite3.Connection, name: str | None) -> str | None:
    """``MetricAlarm``, ``CompositeAlarm`` or None: what the name is."""
    if name is None:
        return None
    for kind, table in _TABLES.items():
        if conn.execute(f"SELECT 1 FROM {table} WHERE name=?", (name,)).fetchone() is not None:  # noqa: S608
            return kind
    return None


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
