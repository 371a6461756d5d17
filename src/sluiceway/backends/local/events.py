"""The local event bus's durable side: events committed to SQLite before they are acknowledged.

Besides the events themselves (the bus's log and its archive), the database keeps
what EventBridge keeps for a bus: named buses, rules with their targets, one
delivery row per (event, rule, target) with its attempts and next attempt time,
and replays. The behaviour on top of it (matching, retries, dead-letter queues)
is :class:`~sluiceway.runtime.bus.router.EventRouter`'s; this module only stores.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from ...errors import ConflictError, NotFoundError
from ...events.envelope import object_event_key
from ...events.patterns import Pattern, compile_pattern
from ...events.rules import (
    DEFAULT_BUS,
    NO_PATTERN,
    ArchiveRecord,
    DeliveryRecord,
    EventBusInfo,
    NewDelivery,
    ReplayRecord,
    Rule,
    RuleValidationError,
    StoredEvent,
    Target,
    check_bus_name,
)
from ...events.schedules import parse_schedule
from ...observability.propagation import current_traceparent
from ...ports import Clock
from ...types import EventDict
from ._deliveries import DeliveryTable
from ._sqlite import Database

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_RETENTION", "SqliteEventBus"]

#: How long events stay in the archive (EventBridge archives default to keeping events forever;
#: a laptop keeps a week unless told otherwise).
DEFAULT_RETENTION: Final = timedelta(days=7)


def _iso(when: datetime) -> str:
    # Always with microseconds, so stored times compare as text in time order.
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _epoch(when: datetime) -> float:
    return when.timestamp()


def _from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _keep_trace(conn: sqlite3.Connection, seq: int, trace_parent: str) -> None:
    """Keep the trace context of the span that put event ``seq`` (tracing on), in the putting transaction."""
    conn.execute("INSERT OR REPLACE INTO event_trace_contexts (seq, trace_parent) VALUES (?, ?)", (seq, trace_parent))


#: The final statuses AWS/Events counts (a cancelled delivery is no invocation).
_METERED_ENDS: Final = frozenset({"delivered", "dead-lettered", "dropped"})
_BUS_COLUMNS: Final = "name, created_at, description, updated_at, policy, kms_key_identifier, dead_letter_arn"


def _mark_started(conn: sqlite3.Connection, delivery_id: int, now: datetime) -> None:
    """Note the start of a delivery's first attempt and its lag since ingestion (``event_invocations``).

    Only a claim of a delivery with no failed attempt starts its first invocation; a second claim
    of it (the first claimant died, or outlived its lease) is not a new first start: the first
    claim's row is still there (it is kept as long as its delivery) and UNIQUE ignores this one.
    """
    row = conn.execute(
        "SELECT d.bus, d.rule, d.replay, d.age_from, d.attempts, e.created_at FROM deliveries d"
        " JOIN events e ON e.seq = d.seq WHERE d.id = ?",
        (delivery_id,),
    ).fetchone()
    if row is None or row["attempts"]:
        return
    # A replayed event is sent again when its replay starts: its lag counts from there.
    ingested = float(row["age_from"]) if row["replay"] else _parse(row["created_at"]).timestamp()
    conn.execute(
        "INSERT OR IGNORE INTO event_invocations (delivery, kind, bus, rule, at_ms, latency_ms) VALUES (?, 'started', ?, ?, ?, ?)",
        (delivery_id, row["bus"], row["rule"], int(now.timestamp() * 1000), max(0.0, (now.timestamp() - ingested) * 1000)),
    )


def _mark_ended(conn: sqlite3.Connection, delivery_id: int, now: datetime, status: str, attempts: int) -> None:
    """Note how a delivery ended; called only by the outcome that ended a pending delivery, so once."""
    conn.execute(
        "INSERT OR IGNORE INTO event_invocations (delivery, kind, bus, rule, at_ms, status, attempts)"
        " SELECT id, 'ended', bus, rule, ?, ?, ? FROM deliveries WHERE id = ?",
        (int(now.timestamp() * 1000), status, attempts, delivery_id),
    )


def _dedupe_key(event: EventDict, bus: str) -> str | None:
    key = object_event_key(event)
    if key is None or bus == DEFAULT_BUS:
        return key
    # The same write may be put on another bus on purpose; it is a duplicate only on one bus.
    return f"{bus}\x1f{key}"


class SqliteEventBus:
    """An :class:`~sluiceway.ports.EventPublisher` whose events wait in SQLite for delivery.

    An S3 object event is recorded once per write and bus (its identity comes from
    :func:`~sluiceway.events.envelope.object_event_key`): the same write reported
    twice, by the writer and by the folder watcher, is stored once. An event put
    again with an id the bus already has is not stored twice either.
    """

    def __init__(self, db: Database, clock: Clock, *, retention: timedelta = DEFAULT_RETENTION) -> None:
        self.db = db
        self.clock = clock
        self.retention = retention
        self._deliveries = DeliveryTable(db, "deliveries", clock, keep_last_error=False, what="event deliveries")
        # Rules are read again whenever one changes; unchanged patterns are not compiled again.
        self._patterns: dict[str, Pattern] = {}

    # -- publishing -----------------------------------------------------------------------

    def put_events(self, entries: Sequence[EventDict], *, bus: str | None = None) -> list[str]:
        """Commit events to ``bus`` (``default`` when None) and return their ids (given ones are kept).

        Raises:
            NotFoundError: no such bus.
        """
        bus = bus or DEFAULT_BUS
        ids: list[str] = []
        now = _iso(self.clock.now())
        # Kept beside the event, not in it: its deliveries continue the putter's trace.
        trace_parent = current_traceparent()
        with self.db.transaction() as conn:
            self._must_bus(conn, bus)
            for entry in entries:
                event = dict(entry)
                event.setdefault("id", str(uuid.uuid4()))
                dedupe = _dedupe_key(event, bus)
                if dedupe is not None:
                    row = conn.execute("SELECT event_id FROM events WHERE dedupe_key=?", (dedupe,)).fetchone()
                    if row is not None:
                        ids.append(row["event_id"])
                        continue
                if conn.execute("SELECT 1 FROM events WHERE event_id=?", (event["id"],)).fetchone():
                    ids.append(event["id"])
                    continue
                cursor = conn.execute(
                    "INSERT INTO events (event_id, dedupe_key, body, created_at, bus) VALUES (?, ?, ?, ?, ?)",
                    (event["id"], dedupe, json.dumps(event, separators=(",", ":")), now, bus),
                )
                if trace_parent is not None:
                    _keep_trace(conn, int(cursor.lastrowid or 0), trace_parent)
                ids.append(event["id"])
        return ids

    def seen(self, event: EventDict, *, bus: str = DEFAULT_BUS) -> bool:
        """Whether this object event (same write) was already recorded on ``bus``."""
        dedupe = _dedupe_key(event, bus)
        if dedupe is None:
            return False
        row = self.db.connection().execute("SELECT 1 FROM events WHERE dedupe_key=?", (dedupe,)).fetchone()
        return row is not None

    def find(self, event: EventDict, *, bus: str = DEFAULT_BUS) -> StoredEvent | None:
        """The stored event for ``event``: the same write's (object events) or the same id's; None if not stored."""
        conn = self.db.connection()
        dedupe = _dedupe_key(event, bus)
        row = None
        if dedupe is not None:
            row = conn.execute("SELECT seq, body, bus, created_at FROM events WHERE dedupe_key=?", (dedupe,)).fetchone()
        if row is None and event.get("id"):
            row = conn.execute("SELECT seq, body, bus, created_at FROM events WHERE event_id=?", (event["id"],)).fetchone()
        return self._stored(row) if row is not None else None

    def routed(self, seq: int) -> bool:
        """Whether event ``seq`` was matched against its bus's rules (its deliveries exist)."""
        row = self.db.connection().execute("SELECT delivered_at FROM events WHERE seq=?", (seq,)).fetchone()
        return row is not None and row["delivered_at"] is not None

    def pending(self, limit: int = 100) -> list[tuple[int, dict[str, Any]]]:
        """Events not yet routed to their targets, oldest first (any bus)."""
        return [(e.seq, e.event) for e in self.unrouted(limit)]

    def mark_delivered(self, seq: int) -> None:
        """Mark an event routed without creating deliveries for it."""
        self.route(seq, ())

    # -- buses ----------------------------------------------------------------------------

    def create_bus(
        self,
        name: str,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        arn: str | None = None,
        kms_key_identifier: str | None = None,
        dead_letter_arn: str | None = None,
    ) -> EventBusInfo:
        """Create a named event bus (with a description, and tags kept under ``arn``).

        Raises:
            RuleValidationError: the name is not valid, or is ``default``.
            ConflictError: a bus with that name exists.
        """
        check_bus_name(name)
        if name == DEFAULT_BUS:
            raise RuleValidationError("The default event bus always exists and cannot be created.")
        now = self.clock.now()
        with self.db.transaction() as conn:
            try:
                conn.execute(
                    "INSERT INTO event_buses (name, created_at, description, updated_at, kms_key_identifier, dead_letter_arn)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (name, _iso(now), description, _iso(now), kms_key_identifier, dead_letter_arn),
                )
            except sqlite3.IntegrityError:
                raise ConflictError(f"Event bus {name} already exists.") from None
            if tags and arn:
                self._tag(conn, arn, tags)
        return EventBusInfo(name, now, description, now, None, kms_key_identifier, dead_letter_arn)

    def update_bus_policy(self, name: str, change: Callable[[str | None], str | None]) -> None:
        """Replace bus ``name``'s policy by ``change(current)`` (``None`` removes it), atomically.

        ``change`` runs inside the write transaction, so concurrent PutPermission and
        RemovePermission calls each see the other's statements. Its exceptions propagate
        and leave the policy as it was.

        Raises:
            NotFoundError: no such bus.
        """
        with self.db.transaction() as conn:
            row = conn.execute("SELECT policy FROM event_buses WHERE name=?", (name,)).fetchone()
            if row is None:
                raise NotFoundError(f"Event bus {name} does not exist.")
            updated = change(row["policy"])
            conn.execute("UPDATE event_buses SET policy=?, updated_at=? WHERE name=?", (updated, _iso(self.clock.now()), name))

    def delete_bus(self, name: str, *, force: bool = False) -> None:
        """Delete a named event bus; its archived events stay until they expire.

        Args:
            name: the bus.
            force: delete its rules with it (EventBridge's DeleteEventBus does).

        Raises:
            RuleValidationError: ``name`` is the default bus.
            NotFoundError: no such bus.
            ConflictError: rules remain on the bus and ``force`` is false.
        """
        if name == DEFAULT_BUS:
            raise RuleValidationError("Cannot delete event bus default.")
        with self.db.transaction() as conn:
            self._must_bus(conn, name)
            count = conn.execute("SELECT count(*) FROM rules WHERE bus=?", (name,)).fetchone()[0]
            if count and not force:
                raise ConflictError(f"Event bus {name} still has {count} rule(s); delete them first.")
            conn.execute("DELETE FROM rules WHERE bus=?", (name,))
            conn.execute("DELETE FROM event_buses WHERE name=?", (name,))
            self._bump(conn)

    def list_buses(self) -> list[EventBusInfo]:
        """Every bus, ``default`` first, then by name."""
        rows = self.db.connection().execute("SELECT " + _BUS_COLUMNS + " FROM event_buses ORDER BY name != 'default', name")
        return [self._bus(r) for r in rows]

    def get_bus(self, name: str) -> EventBusInfo:
        """A bus. Raises NotFoundError."""
        row = self.db.connection().execute("SELECT " + _BUS_COLUMNS + " FROM event_buses WHERE name=?", (name,)).fetchone()
        if row is None:
            raise NotFoundError(f"Event bus {name} does not exist.")
        return self._bus(row)

    def _bus(self, row: sqlite3.Row) -> EventBusInfo:
        updated = row["updated_at"] or row["created_at"]
        return EventBusInfo(
            row["name"],
            _parse(row["created_at"]),
            row["description"],
            _parse(updated),
            row["policy"],
            row["kms_key_identifier"],
            row["dead_letter_arn"],
        )

    def _must_bus(self, conn: sqlite3.Connection, name: str) -> None:
        if conn.execute("SELECT 1 FROM event_buses WHERE name=?", (name,)).fetchone() is None:
            raise NotFoundError(f"Event bus {name} does not exist.")

    # -- rules ----------------------------------------------------------------------------

    def put_rule(self, rule: Rule) -> None:
        """Create or replace a rule (pattern, state, description and targets) on its bus.

        Raises:
            RuleValidationError: a name is invalid, or a target is an in-process callable.
            NotFoundError: the rule's bus does not exist.
        """
        rule.check()
        targets = json.dumps([t.to_json() for t in rule.targets if isinstance(t, Target)])
        clock_now = self.clock.now()
        now = _iso(clock_now)
        # A scheduled rule first runs one period (rate) or at the first matching minute (cron)
        # after it is made or enabled (occurrences while it was disabled are not made up for);
        # a rule whose schedule and state are unchanged keeps its next occurrence.
        first = None
        if rule.schedule is not None:
            first = next(parse_schedule(rule.schedule, allow_at=False).occurrences(clock_now, start=clock_now), None)
        with self.db.transaction() as conn:
            self._must_bus(conn, rule.bus)
            conn.execute(
                "INSERT INTO rules (bus, name, pattern, state, description, targets,"
                " created_at, updated_at, schedule, schedule_next, role_arn)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (bus, name) DO UPDATE SET pattern=excluded.pattern,"
                " state=excluded.state, description=excluded.description,"
                " targets=excluded.targets, updated_at=excluded.updated_at,"
                " schedule_next=CASE WHEN rules.schedule IS excluded.schedule AND rules.state = excluded.state"
                " THEN rules.schedule_next"
                " ELSE excluded.schedule_next END,"
                " schedule=excluded.schedule, role_arn=excluded.role_arn",
                (
                    rule.bus,
                    rule.name,
                    rule.pattern.source,
                    rule.state,
                    rule.description,
                    targets,
                    now,
                    now,
                    rule.schedule,
                    _epoch(first) if first is not None else None,
                    rule.role_arn,
                ),
            )
            self._bump(conn)

    def get_rule(self, name: str, bus: str = DEFAULT_BUS) -> Rule:
        """The stored rule ``name`` on ``bus``.

        Raises:
            NotFoundError: no such rule.
        """
        row = self.db.connection().execute("SELECT * FROM rules WHERE bus=? AND name=?", (bus, name)).fetchone()
        if row is None:
            raise NotFoundError(f"Rule {name} does not exist on EventBus {bus}.")
        return self._rule(row)

    def list_rules(self, bus: str | None = None) -> list[Rule]:
        """Stored rules, of one bus or of all, by bus then name."""
        conn = self.db.connection()
        if bus is None:
            rows = conn.execute("SELECT * FROM rules ORDER BY bus != 'default', bus, name")
        else:
            rows = conn.execute("SELECT * FROM rules WHERE bus=? ORDER BY name", (bus,))
        return [self._rule(r) for r in rows]

    def delete_rule(self, name: str, bus: str = DEFAULT_BUS, *, force: bool = False) -> None:
        """Delete a stored rule; its pending deliveries are cancelled when next due.

        Args:
            name: the rule.
            bus: its bus.
            force: delete it with its targets (EventBridge wants targets removed first).

        Raises:
            NotFoundError: no such rule.
            ConflictError: the rule still has targets and ``force`` is false.
        """
        with self.db.transaction() as conn:
            row = conn.execute("SELECT targets FROM rules WHERE bus=? AND name=?", (bus, name)).fetchone()
            if row is None:
                raise NotFoundError(f"Rule {name} does not exist on EventBus {bus}.")
            if json.loads(row["targets"]) and not force:
                raise ConflictError("Rule can't be deleted since it has targets.")
            conn.execute("DELETE FROM rules WHERE bus=? AND name=?", (bus, name))
            self._bump(conn)

    def put_targets(self, rule: str, targets: Sequence[Target], bus: str = DEFAULT_BUS) -> None:
        """Add targets to a stored rule, replacing those with the same ids (PutTargets).

        Raises:
            NotFoundError: no such rule.
            RuleValidationError: the rule would have more than five targets.
        """
        current = self.get_rule(rule, bus)
        kept = [t for t in current.targets if isinstance(t, Target) and t.id not in {n.id for n in targets}]
        self.put_rule(replace(current, targets=(*kept, *targets)))

    def remove_targets(self, rule: str, ids: Iterable[str], bus: str = DEFAULT_BUS) -> None:
        """Remove targets from a stored rule by id (RemoveTargets); unknown ids are ignored.

        Raises:
            NotFoundError: no such rule.
        """
        current = self.get_rule(rule, bus)
        gone = set(ids)
        kept = tuple(t for t in current.targets if isinstance(t, Target) and t.id not in gone)
        self.put_rule(replace(current, targets=kept))

    def rules_version(self) -> int:
        """A number that changes whenever a stored rule does."""
        row = self.db.connection().execute("SELECT rules_version FROM event_bus_state").fetchone()
        return int(row[0])

    def _bump(self, conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE event_bus_state SET rules_version = rules_version + 1")

    def _rule(self, row: sqlite3.Row) -> Rule:
        source = row["pattern"]
        return Rule(
            name=row["name"],
            pattern=self._compiled(source) if source else NO_PATTERN,
            targets=tuple(Target.from_json(t) for t in json.loads(row["targets"])),
            bus=row["bus"],
            state=row["state"],
            description=row["description"],
            schedule=row["schedule"],
            role_arn=row["role_arn"],
        )

    def _compiled(self, source: str) -> Pattern:
        pattern = self._patterns.get(source)
        if pattern is None:
            if len(self._patterns) > 10_000:
                self._patterns.clear()
            pattern = self._patterns[source] = compile_pattern(source)
        return pattern

    # -- routing and deliveries -----------------------------------------------------------

    def unrouted(self, limit: int = 100) -> list[StoredEvent]:
        """Events not yet matched against their bus's rules, oldest first."""
        rows = self.db.connection().execute(
            "SELECT seq, body, bus, created_at FROM events WHERE delivered_at IS NULL ORDER BY seq LIMIT ?",
            (limit,),
        )
        return [self._stored(r) for r in rows]

    def route(self, seq: int, deliveries: Sequence[NewDelivery]) -> None:
        """Record the targets event ``seq`` must reach and mark it routed, in one transaction.

        The deliveries are due at once; their age (MaximumEventAgeInSeconds) counts from
        now. On AWS an event is routed the moment it arrives; here an event committed while
        no stack ran (``sluiceway upload``) waits for the next one, and that wait is not
        spent retrying: it must not cost the event its day of retries.
        """
        now = self.clock.now()
        with self.db.transaction() as conn:
            row = conn.execute("SELECT bus, created_at, delivered_at FROM events WHERE seq=?", (seq,)).fetchone()
            if row is None or row["delivered_at"] is not None:
                return  # routed already (by another router on this database)
            self._insert(conn, seq, "", row["bus"], deliveries, now, now)
            conn.execute("UPDATE events SET delivered_at=? WHERE seq=?", (_iso(now), seq))

    def _insert(
        self,
        conn: sqlite3.Connection,
        seq: int,
        replay: str,
        bus: str,
        deliveries: Sequence[NewDelivery],
        age_from: datetime,
        now: datetime,
    ) -> None:
        conn.executemany(
            "INSERT OR IGNORE INTO deliveries (seq, replay, bus, rule, target, origin, status,"
            " age_from, next_attempt_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
            [
                (
                    seq,
                    replay,
                    bus,
                    d.rule,
                    d.target,
                    d.origin,
                    _epoch(age_from),
                    _epoch(now),
                    _iso(now),
                )
                for d in deliveries
            ],
        )

    def due(self, now: datetime, *, after_id: int = 0, limit: int = 100) -> list[DeliveryRecord]:
        """Pending deliveries whose next attempt is due, in routing order, after ``after_id``."""
        rows = self.db.connection().execute(
            "SELECT * FROM deliveries WHERE status='pending' AND next_attempt_at <= ? AND id > ? ORDER BY id LIMIT ?",
            (_epoch(now), after_id, limit),
        )
        return [self._delivery(r) for r in rows]

    def claim(self, delivery_id: int, now: datetime, until: datetime) -> bool:
        """Take a due delivery for an attempt: it is not due again before ``until``.

        The claim of a first attempt notes its start for AWS/Events' metrics, in the claim's transaction.

        Returns:
            False if it is no longer due (another router took it, or it was finished).
        """
        with self.db.transaction() as conn:
            if not self._deliveries.claim(delivery_id, now, until):
                return False
            _mark_started(conn, delivery_id, now)
        return True

    def release_orphans(self) -> int:
        """Make deliveries claimed by processes that are gone due at once; return how many."""
        return self._deliveries.release_orphans()

    def record(
        self,
        delivery_id: int,
        *,
        status: str,
        attempts: int,
        next_attempt_at: datetime | None = None,
        error: str | None = None,
    ) -> None:
        """Store the outcome of an attempt: its status, failed attempts, next attempt, error.

        Only a pending delivery takes an outcome. A router whose lease ran out mid-attempt may
        report after another router finished the delivery: its late outcome must neither reopen
        the delivery (it would be sent again) nor end it a second time (AWS/Events would count two
        invocations). A final status is noted for AWS/Events' metrics in the same transaction.
        """
        with self.db.transaction() as conn:
            # The write lock is held from BEGIN IMMEDIATE: the status read is the one updated.
            row = conn.execute("SELECT status FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
            if row is None or row["status"] != "pending":
                logger.debug(
                    "outcome of a finished event delivery ignored",
                    extra={"delivery": delivery_id, "status": status, "was": None if row is None else row["status"]},
                )
                return
            self._deliveries.record(delivery_id, status=status, attempts=attempts, next_attempt_at=next_attempt_at, error=error)
            if status in _METERED_ENDS:
                _mark_ended(conn, delivery_id, self.clock.now(), status, attempts)

    def deliveries(self, seq: int | None = None) -> list[DeliveryRecord]:
        """Delivery rows, of one event or all, in routing order."""
        conn = self.db.connection()
        if seq is None:
            rows = conn.execute("SELECT * FROM deliveries ORDER BY id")
        else:
            rows = conn.execute("SELECT * FROM deliveries WHERE seq=? ORDER BY id", (seq,))
        return [self._delivery(r) for r in rows]

    def event(self, seq: int) -> StoredEvent:
        """The stored event ``seq``.

        Raises:
            NotFoundError: it was pruned or never existed.
        """
        row = self.db.connection().execute("SELECT seq, body, bus, created_at FROM events WHERE seq=?", (seq,)).fetchone()
        if row is None:
            raise NotFoundError(f"no event {seq} on the bus")
        return self._stored(row)

    def trace_parent(self, seq: int) -> str | None:
        """The trace context (``traceparent``) of the span that put event ``seq``; None when none traced it."""
        row = self.db.connection().execute("SELECT trace_parent FROM event_trace_contexts WHERE seq=?", (seq,)).fetchone()
        return None if row is None else str(row[0])

    # -- archive and replay ---------------------------------------------------------------

    def archived(self, since: datetime, until: datetime | None = None, *, bus: str = DEFAULT_BUS) -> list[StoredEvent]:
        """Archived events of ``bus`` that arrived in [since, until) (no end: since), in order."""
        query = "SELECT seq, body, bus, created_at FROM events WHERE bus=? AND created_at >= ?"
        params: list[Any] = [bus, _iso(since)]
        if until is not None:
            query += " AND created_at < ?"
            params.append(_iso(until))
        rows = self.db.connection().execute(query + " ORDER BY seq", params)
        return [self._stored(r) for r in rows]

    def start_replay(
        self,
        *,
        since: datetime,
        until: datetime | None = None,
        bus: str = DEFAULT_BUS,
        rule: str | None = None,
        name: str | None = None,
        archive: str | None = None,
        description: str | None = None,
    ) -> ReplayRecord:
        """Record a replay of the events of ``bus`` that arrived in [since, until); routers run it.

        Args:
            since: first arrival time included.
            until: arrival times up to (excluding) this; when None, every event
                that arrived before the replay starts.
            bus: the bus whose archive is replayed.
            rule: only this rule gets the events (it must be a stored rule of ``bus``
                unless it is a rule of a router's own process, which the store cannot know);
                several rules are joined by ``,``.
            name: the replay's name; one is made up when None.
            archive: replay only the events this archive holds (StartReplay).
            description: the replay's description.

        Raises:
            RuleValidationError: ``since`` is not before ``until``, or ``until`` is in the future.
            NotFoundError: no such bus.
            ConflictError: a replay named ``name`` exists.
        """
        now = self.clock.now()
        if since >= (until or now):
            raise RuleValidationError("The replay's start time must be before its end time.")
        if until is not None and until > now:
            raise RuleValidationError("The replay's end time cannot be in the future.")
        with self.db.transaction() as conn:
            self._must_bus(conn, bus)
            if name is None:
                base = f"{bus.replace('/', '-')}-{now:%Y%m%dT%H%M%S}"
                name, n = base, 1
                while conn.execute("SELECT 1 FROM replays WHERE name=?", (name,)).fetchone():
                    n += 1
                    name = f"{base}-{n}"
            last_seq = conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
            try:
                conn.execute(
                    "INSERT INTO replays"
                    " (name, bus, rule, since, until, last_seq, state, started_at, archive, description)"
                    " VALUES (?, ?, ?, ?, ?, ?, 'RUNNING', ?, ?, ?)",
                    (
                        name,
                        bus,
                        rule,
                        _iso(since),
                        _iso(until) if until else None,
                        last_seq,
                        _iso(now),
                        archive,
                        description,
                    ),
                )
            except sqlite3.IntegrityError:
                raise ConflictError(f"Replay {name} already exists.") from None
        return ReplayRecord(name, bus, rule, since, until, last_seq, 0, "RUNNING", now, archive, description)

    def replays(self, *, running: bool = False) -> list[ReplayRecord]:
        """Replays in the order they started (only those still running if ``running``)."""
        query = "SELECT * FROM replays" + (" WHERE state='RUNNING' AND cancelled_at IS NULL" if running else "")
        rows = self.db.connection().execute(query + " ORDER BY started_at, rowid")
        return [self._replay(r) for r in rows]

    def get_replay(self, name: str) -> ReplayRecord:
        """A replay. Raises NotFoundError."""
        row = self.db.connection().execute("SELECT * FROM replays WHERE name=?", (name,)).fetchone()
        if row is None:
            raise NotFoundError(f"Replay {name} does not exist.")
        return self._replay(row)

    def cancel_replay(self, name: str) -> ReplayRecord:
        """Stop a running replay: no more of its events are fanned out (those already are delivered).

        Raises:
            NotFoundError: no such replay.
            ConflictError: it is not running.
        """
        now = self.clock.now()
        with self.db.transaction() as conn:
            row = conn.execute("SELECT state, cancelled_at FROM replays WHERE name=?", (name,)).fetchone()
            if row is None:
                raise NotFoundError(f"Replay {name} does not exist.")
            if row["state"] != "RUNNING" or row["cancelled_at"] is not None:
                raise ConflictError(f"Replay {name} is not in a valid state for this operation.")
            conn.execute("UPDATE replays SET state='COMPLETED', cancelled_at=?, ended_at=? WHERE name=?", (_iso(now), _iso(now), name))
        return self.get_replay(name)

    def _replay(self, r: sqlite3.Row) -> ReplayRecord:
        return ReplayRecord(
            r["name"], r["bus"], r["rule"], _parse(r["since"]),
            _parse(r["until"]) if r["until"] else None,
            r["last_seq"], r["cursor"], r["state"], _parse(r["started_at"]),
            r["archive"], r["description"], _parse(r["ended_at"]) if r["ended_at"] else None,
            r["cancelled_at"] is not None,
        )  # fmt: skip

    def replay_batch(self, replay: ReplayRecord, limit: int = 100) -> list[StoredEvent]:
        """The next archived events of ``replay`` after its cursor (those its archive holds, if it has one)."""
        archive: ArchiveRecord | None = None
        if replay.archive is not None:
            try:
                archive = self.get_archive(replay.archive)
            except NotFoundError:
                return []  # the archive was deleted: nothing is left to replay
        held: list[StoredEvent] = []
        cursor = replay.cursor
        # Skip over events the archive does not hold (without one, replays another bus sent on:
        # they were never this bus's events to replay) until a batch is full or none are left,
        # so that an empty batch still means "done".
        while len(held) < limit and (rows := self._replay_rows(replay, cursor, limit)):
            if archive is None:
                held.extend(e for e in rows if "replay-name" not in e.event)
            else:
                held.extend(e for e in rows if self._holds(archive, e))
            cursor = rows[-1].seq
        return held[:limit]

    def _holds(self, archive: ArchiveRecord, event: StoredEvent) -> bool:
        if event.bus != archive.bus or event.ingested_at < archive.created_at:
            return False
        if "replay-name" in event.event:
            # A replayed event another bus sent on to this one: EventBridge never archives
            # replayed events, so a replay never stores its events again.
            return False
        if archive.retention_days and event.ingested_at < self.clock.now() - timedelta(days=archive.retention_days):
            return False
        return not archive.pattern or self._compiled(archive.pattern).matches(event.event)

    def _replay_rows(self, replay: ReplayRecord, cursor: int, limit: int) -> list[StoredEvent]:
        query = "SELECT seq, body, bus, created_at FROM events WHERE bus=? AND seq > ? AND seq <= ? AND created_at >= ?"
        params: list[Any] = [replay.bus, cursor, replay.last_seq, _iso(replay.since)]
        if replay.until is not None:
            query += " AND created_at < ?"
            params.append(_iso(replay.until))
        rows = self.db.connection().execute(query + " ORDER BY seq LIMIT ?", (*params, limit))
        return [self._stored(r) for r in rows]

    def advance_replay(
        self,
        name: str,
        fanout: Sequence[tuple[int, Sequence[NewDelivery]]],
        *,
        cursor: int,
        done: bool,
    ) -> None:
        """Record the deliveries of a batch of a replay and move its cursor, in one transaction.

        Args:
            name: the replay.
            fanout: (event seq, the targets it must reach) for each event of the batch.
            cursor: the last event of the batch.
            done: no events are left: the replay is complete.
        """
        now = self.clock.now()
        with self.db.transaction() as conn:
            row = conn.execute("SELECT bus, started_at, cursor, cancelled_at FROM replays WHERE name=?", (name,)).fetchone()
            if row is None or row["cancelled_at"] is not None or row["cursor"] >= cursor and not done:
                return  # another router moved it on already, or it was cancelled
            started = _parse(row["started_at"])
            for seq, deliveries in fanout:
                self._insert(conn, seq, name, row["bus"], deliveries, started, now)
            conn.execute(
                "UPDATE replays SET cursor=max(cursor, ?), state=?, ended_at=? WHERE name=?",
                (cursor, "COMPLETED" if done else "RUNNING", _iso(now) if done else None, name),
            )

    def prune(self) -> int:
        """Delete events past the retention with nothing left to deliver; return how many."""
        cutoff = _iso(self.clock.now() - self.retention)
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "DELETE FROM events WHERE created_at < ? AND delivered_at IS NOT NULL"
                " AND NOT EXISTS"
                " (SELECT 1 FROM deliveries d WHERE d.seq = events.seq AND d.status = 'pending')",
                (cutoff,),
            )
            count = cursor.rowcount
            # A delivery's AWS/Events notes live as long as it does (their UNIQUE is what keeps a
            # second claim or outcome from counting again) and go with it: its event's deletion
            # has just cascaded to it.
            conn.execute(
                "DELETE FROM event_invocations WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = event_invocations.delivery)"
            )
        if count:
            logger.info("archived events pruned", extra={"events": count, "before": cutoff})
        return int(count)

    # -- archives (EventBridge's CreateArchive...) ----------------------------------------

    def create_archive(self, archive: ArchiveRecord) -> None:
        """Record an archive of a bus's events.

        Raises:
            NotFoundError: no such bus.
            ConflictError: an archive of that name exists.
        """
        with self.db.transaction() as conn:
            self._must_bus(conn, archive.bus)
            try:
                conn.execute(
                    "INSERT INTO event_archives (name, bus, description, pattern, retention_days, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (archive.name, archive.bus, archive.description, archive.pattern, archive.retention_days, _iso(archive.created_at)),
                )
            except sqlite3.IntegrityError:
                raise ConflictError(f"Archive {archive.name} already exists.") from None

    def update_archive(self, archive: ArchiveRecord) -> None:
        """Change an archive's description, pattern and retention. Raises NotFoundError."""
        with self.db.transaction() as conn:
            if not conn.execute(
                "UPDATE event_archives SET description=?, pattern=?, retention_days=? WHERE name=?",
                (archive.description, archive.pattern, archive.retention_days, archive.name),
            ).rowcount:
                raise NotFoundError(f"Archive {archive.name} does not exist.")

    def get_archive(self, name: str) -> ArchiveRecord:
        """An archive. Raises NotFoundError."""
        row = self.db.connection().execute("SELECT * FROM event_archives WHERE name=?", (name,)).fetchone()
        if row is None:
            raise NotFoundError(f"Archive {name} does not exist.")
        return self._archive(row)

    def list_archives(self) -> list[ArchiveRecord]:
        """Every archive, by name."""
        return [self._archive(r) for r in self.db.connection().execute("SELECT * FROM event_archives ORDER BY name")]

    def delete_archive(self, name: str) -> None:
        """Delete an archive (the bus's log is not touched). Raises NotFoundError."""
        with self.db.transaction() as conn:
            if not conn.execute("DELETE FROM event_archives WHERE name=?", (name,)).rowcount:
                raise NotFoundError(f"Archive {name} does not exist.")

    def archive_size(self, archive: ArchiveRecord) -> tuple[int, int]:
        """How many events the archive holds, and their size in bytes."""
        count = size = 0
        for event in self.archived(archive.created_at, bus=archive.bus):
            if self._holds(archive, event):
                count += 1
                size += len(json.dumps(event.event, separators=(",", ":")).encode())
        return count, size

    def _archive(self, row: sqlite3.Row) -> ArchiveRecord:
        return ArchiveRecord(
            row["name"], row["bus"], _parse(row["created_at"]), row["description"], row["pattern"], int(row["retention_days"])
        )

    # -- scheduled rules ------------------------------------------------------------------

    def due_scheduled_rules(self, now: datetime) -> list[tuple[Rule, datetime]]:
        """Enabled rules with a schedule whose next occurrence has come, with that occurrence."""
        rows = self.db.connection().execute(
            "SELECT * FROM rules WHERE state='ENABLED' AND schedule_next IS NOT NULL AND schedule_next <= ? ORDER BY schedule_next",
            (_epoch(now),),
        )
        return [(self._rule(r), _from_epoch(r["schedule_next"])) for r in rows]

    def next_scheduled_rule(self) -> datetime | None:
        """When the next enabled scheduled rule comes due, if any does."""
        row = (
            self.db.connection()
            .execute("SELECT min(schedule_next) FROM rules WHERE state='ENABLED' AND schedule_next IS NOT NULL")
            .fetchone()
        )
        return None if row[0] is None else _from_epoch(row[0])

    def fire_rule(self, rule: Rule, *, scheduled_at: datetime, next_at: datetime | None, event: EventDict | None) -> bool:
        """Move a scheduled rule on to ``next_at`` and commit ``event`` for its targets alone, atomically.

        EventBridge sends a rule's "Scheduled Event" to that rule's targets only (other
        rules of the bus never see it), so the event is stored routed, with one delivery per
        target of the rule; the router delivers them with retries like any other.

        Args:
            rule: the rule as the firer read it.
            scheduled_at: the occurrence fired (the rule must still stand at it).
            next_at: its next occurrence.
            event: the scheduled event; None moves the rule on without firing (a missed occurrence).

        Returns:
            False if the rule had moved on (another firer took the occurrence) or is gone.
        """
        now = self.clock.now()
        with self.db.transaction() as conn:
            moved = conn.execute(
                "UPDATE rules SET schedule_next=? WHERE bus=? AND name=? AND schedule_next=?",
                (_epoch(next_at) if next_at is not None else None, rule.bus, rule.name, _epoch(scheduled_at)),
            ).rowcount
            if not moved:
                return False
            if event is not None:
                cursor = conn.execute(
                    "INSERT INTO events (event_id, dedupe_key, body, created_at, bus, delivered_at) VALUES (?, NULL, ?, ?, ?, ?)",
                    (event["id"], json.dumps(event, separators=(",", ":")), _iso(now), rule.bus, _iso(now)),
                )
                seq = int(cursor.lastrowid or 0)
                if (trace_parent := current_traceparent()) is not None:
                    _keep_trace(conn, seq, trace_parent)
                self._insert(conn, seq, "", rule.bus, [NewDelivery(rule.name, tid, "stored") for tid in rule.target_ids], now, now)
        return True

    # -- tags -----------------------------------------------------------------------------

    def tags(self, arn: str) -> dict[str, str]:
        rows = self.db.connection().execute("SELECT key, value FROM event_tags WHERE arn=? ORDER BY key", (arn,))
        return {r["key"]: r["value"] for r in rows}

    def tag(self, arn: str, tags: Mapping[str, str]) -> None:
        with self.db.transaction() as conn:
            self._tag(conn, arn, tags)

    def untag(self, arn: str, keys: Iterable[str]) -> None:
        with self.db.transaction() as conn:
            conn.executemany("DELETE FROM event_tags WHERE arn=? AND key=?", [(arn, k) for k in keys])

    def _tag(self, conn: sqlite3.Connection, arn: str, tags: Mapping[str, str]) -> None:
        conn.executemany(
            "INSERT INTO event_tags (arn, key, value) VALUES (?, ?, ?) ON CONFLICT (arn, key) DO UPDATE SET value=excluded.value",
            [(arn, k, v) for k, v in tags.items()],
        )

    # -- rows -----------------------------------------------------------------------------

    def _stored(self, row: sqlite3.Row) -> StoredEvent:
        return StoredEvent(int(row["seq"]), json.loads(row["body"]), row["bus"], _parse(row["created_at"]))

    def _delivery(self, row: sqlite3.Row) -> DeliveryRecord:
        return DeliveryRecord(
            id=int(row["id"]),
            seq=int(row["seq"]),
            replay=row["replay"],
            bus=row["bus"],
            rule=row["rule"],
            target=row["target"],
            origin=row["origin"],
            status=row["status"],
            attempts=int(row["attempts"]),
            age_from=_from_epoch(row["age_from"]),
            next_attempt_at=_from_epoch(row["next_attempt_at"]),
            last_error=row["last_error"],
        )
