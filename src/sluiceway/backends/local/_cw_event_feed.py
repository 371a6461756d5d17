"""EventBridge's ``AWS/Events`` metrics, read from the local bus's tables into the CloudWatch store, each once.

As AWS documents them (EventBridge user guide, "Monitoring Amazon EventBridge"):

- :class:`EventRoutingFeed`, from ``deliveries`` (one row per event, rule and target, written
  when the event is matched against its bus's rules): ``MatchedEvents`` (an event that matched
  any rule) with no dimension and by ``EventBusName``, and ``TriggeredRules`` (a rule that
  matched an event) by rule.
- :class:`EventInvocationFeed`, from ``event_invocations`` (the start of each delivery's first
  attempt and how it ended, noted by the bus store in the transactions that claim and end it):
  ``IngestionToInvocationStartLatency`` (ms from ingestion to the first invocation of a target)
  with no dimension, the service-wide series AWS's own global-endpoint health check alarms on,
  and ``IngestiontoInvocationStartLatency`` (AWS's spelling for the per-rule series) by
  ``EventBusName`` and ``RuleName``; ``Invocations`` (a target invoked, once per event whatever
  its retries: delivered, or failed for good) with no dimension and by rule; ``FailedInvocations``
  (failed for good, dead-lettered or dropped) and ``InvocationsSentToDlq`` by rule.

"By rule" is ``RuleName`` alone for a rule of the default bus and ``EventBusName`` with
``RuleName`` for a rule of another bus, as AWS publishes them. Counts are data points of 1
(``Count``) at the time of what they count: ``Sum`` is the count.

Not fed: ``DeadLetterInvocations`` (AWS counts there the targets it refuses to invoke, such as a
rule that would trigger itself; the local bus has no such refusal), ``ThrottledRules`` (no
throttling), ``InvocationsFailedToBeSentToDlq`` (a delivery row does not tell a failed DLQ
send from a target without one), ``InvocationAttempts`` and the ``PutEvents*`` metrics. A
rule that matches but has no target leaves no delivery row, so it counts in neither
``TriggeredRules`` nor ``MatchedEvents``.

Exactly once, as the other feeds (``cloudwatch_feeds.py``): the rows are read after a cursor
(their ids follow commit order: SQLite has one writer at a time), and the data points are stored
with the new cursor only if the cursor has not moved since it was read, in one transaction.
The cursor is all a feed needs; it never deletes what it read. ``event_invocations`` keeps a
delivery's rows as long as the delivery (the bus's prune drops them with it) because its
``UNIQUE (delivery, kind)`` is what keeps a delivery claimed again, after its first claimant
died, from starting twice.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable

from ...events.rules import DEFAULT_BUS
from ._cw_cursor import pull_batches
from ._cw_values import Datum, Dimensions, MetricKey, canonical_dimensions
from .cloudwatch import SqliteCloudWatch

logger = logging.getLogger(__name__)

__all__ = ["EventInvocationFeed", "EventRoutingFeed"]

_NS = "AWS/Events"


def rule_dimensions(bus: str, rule: str) -> Dimensions:
    """A rule's dimensions: ``RuleName`` on the default bus, ``EventBusName`` and ``RuleName`` elsewhere."""
    if bus == DEFAULT_BUS:
        return (("RuleName", rule),)
    return canonical_dimensions((("EventBusName", bus), ("RuleName", rule)))


def _count(name: str, dimensions: Dimensions, ts_ms: int) -> Datum:
    return Datum.of_value(MetricKey(_NS, name, dimensions), ts_ms, 1.0, unit="Count")


class EventRoutingFeed:
    """``MatchedEvents`` and ``TriggeredRules``, from the delivery rows each routing commits.

    Args:
        store: the CloudWatch store (its ``bus`` is the bus read: the same database).
        batch: delivery rows read per transaction (a routing's rows are never split).
    """

    name = "events-routed"

    def __init__(self, store: SqliteCloudWatch, *, batch: int = 1000) -> None:
        self.store = store
        self.db = store.bus.db
        self.batch = batch
        end = self.db.connection().execute("SELECT coalesce(max(id), 0) FROM deliveries").fetchone()[0]
        store.start_cursor(self.name, int(end))

    def pull(self) -> int:
        return pull_batches(self.store, self.name, self.batch, self._rows, lambda rows: list(_routing_data(rows)))

    def _rows(self, after: int) -> list[sqlite3.Row]:
        conn = self.db.connection()
        rows = conn.execute(
            "SELECT id, seq, replay, bus, rule, age_from FROM deliveries WHERE id > ? ORDER BY id LIMIT ?", (after, self.batch)
        ).fetchall()
        if len(rows) == self.batch:
            # One routing (an event, or an event of a replay) is one transaction: its rows follow
            # each other. Read the rest of the last one now, so that it counts as one event.
            last = rows[-1]
            rows += conn.execute(
                "SELECT id, seq, replay, bus, rule, age_from FROM deliveries WHERE id > ? AND seq = ? AND replay = ? ORDER BY id",
                (last["id"], last["seq"], last["replay"]),
            ).fetchall()
        return rows


def _routing_data(rows: Iterable[sqlite3.Row]) -> Iterable[Datum]:
    seen_events: set[tuple[int, str]] = set()
    seen_rules: set[tuple[int, str, str]] = set()
    for row in rows:
        # Routing time: when the event was matched (a replay's start for a replayed event).
        ts = int(float(row["age_from"]) * 1000)
        event = (int(row["seq"]), str(row["replay"]))
        if event not in seen_events:
            seen_events.add(event)
            yield _count("MatchedEvents", (), ts)
            yield _count("MatchedEvents", (("EventBusName", row["bus"]),), ts)
        if (*event, row["rule"]) not in seen_rules:
            seen_rules.add((*event, row["rule"]))
            yield _count("TriggeredRules", rule_dimensions(row["bus"], row["rule"]), ts)


class EventInvocationFeed:
    """Latency to the first invocation and the invocations' outcomes, from ``event_invocations``."""

    name = "events-invocations"

    def __init__(self, store: SqliteCloudWatch, *, batch: int = 1000) -> None:
        self.store = store
        self.db = store.bus.db
        self.batch = batch
        end = self.db.connection().execute("SELECT coalesce(max(id), 0) FROM event_invocations").fetchone()[0]
        store.start_cursor(self.name, int(end))

    def pull(self) -> int:
        return pull_batches(self.store, self.name, self.batch, self._rows, lambda rows: [d for row in rows for d in _invocation_data(row)])

    def _rows(self, after: int) -> list[sqlite3.Row]:
        return (
            self.db.connection()
            .execute(
                "SELECT id, kind, bus, rule, at_ms, latency_ms, status, attempts FROM event_invocations WHERE id > ? ORDER BY id LIMIT ?",
                (after, self.batch),
            )
            .fetchall()
        )


def _invocation_data(row: sqlite3.Row) -> list[Datum]:
    bus, rule, ts = row["bus"], row["rule"], int(row["at_ms"])
    by_rule = rule_dimensions(bus, rule)
    if row["kind"] == "started":
        latency = float(row["latency_ms"])
        return [
            Datum.of_value(MetricKey(_NS, "IngestionToInvocationStartLatency"), ts, latency, unit="Milliseconds"),
            Datum.of_value(
                MetricKey(_NS, "IngestiontoInvocationStartLatency", canonical_dimensions((("EventBusName", bus), ("RuleName", rule)))),
                ts,
                latency,
                unit="Milliseconds",
            ),
        ]
    status, attempted = row["status"], int(row["attempts"] or 0) > 0
    data: list[Datum] = []
    # Given up on before any attempt (too old when first due): the target was never invoked.
    if status == "delivered" or attempted:
        data += [_count("Invocations", (), ts), _count("Invocations", by_rule, ts)]
    if status in ("dead-lettered", "dropped") and attempted:
        data.append(_count("FailedInvocations", by_rule, ts))
    if status == "dead-lettered":
        data.append(_count("InvocationsSentToDlq", by_rule, ts))
    return data
