"""Deliver committed events to the targets of matching rules, as EventBridge does.

Delivery happens in two durable steps, both driven by :meth:`EventRouter.deliver_pending`
(on demand, or from the router's thread):

1. **Routing.** Each new event is matched against the enabled rules of its bus
   (one :class:`~sluiceway.events.patterns.RuleIndex` per bus) and one delivery
   row per (event, rule, target) is committed with the event marked routed.
2. **Attempts.** Each due delivery is tried once. A target that took the event
   is never tried again for it, whatever happens to the other targets. A failed
   attempt is retried after an exponential backoff with jitter, following the
   target's :class:`~sluiceway.events.rules.RetryPolicy`; the attempt count and
   the next attempt time are in SQLite, so a new router on the same database
   carries on where a stopped one left. When retries or the event's age run out,
   the event goes to the target's dead-letter queue with EventBridge's message
   attributes, or is dropped with a WARNING when there is none. A target that
   does not exist (``NotFoundError``) goes there at once, as on AWS.

Rules come from two places: stored rules (every process sees them; their targets
are ARNs a :class:`TargetResolver` turns into callables) and rules added with
:meth:`EventRouter.add_rule` in this process, whose targets may also be plain
callables taking the event. Process rules must be added before the first pass.

Archived events can be replayed (:meth:`EventRouter.replay`): they are sent again
with a ``replay-name`` field, to every rule of their bus or to one.

Delivery is at least once: a process that dies during an attempt tries it again
once the attempt's lease runs out. State machine targets make that harmless: the
resolver starts executions named :attr:`~sluiceway.events.rules.Delivery.execution_name`
(the event's name plus its rule and target), and a second
start with the same name and input returns the first execution.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from ...errors import InvalidNameError, NotFoundError
from ...events.patterns import RuleIndex
from ...events.rules import (
    DEFAULT_BUS,
    Delivery,
    DeliveryRecord,
    NewDelivery,
    RetryPolicy,
    Rule,
    RuleValidationError,
    StoredEvent,
    Target,
    TargetCallable,
    target_kind,
)
from ...observability.metrics import Metrics
from ...observability.tracing import Tracing
from ...ports import Clock
from ...ports.events import EventStore, TargetResolver
from ...types import JSON, EventDict
from ..delivery_loop import Attempt, DeliveryLoop, Outcome

logger = logging.getLogger(__name__)

__all__ = ["DeliveryDeferred", "EventRouter", "Undelivered"]

#: How long an attempt may take before another router may try the same delivery.
DEFAULT_LEASE: Final = timedelta(minutes=5)
#: How often, in clock time, the archive is pruned.
_PRUNE_EVERY: Final = timedelta(hours=1)
_BATCH: Final = 100


class DeliveryDeferred(Exception):  # noqa: N818 - not an error: the target asks to be called later
    """Raised by a target that cannot take a delivery yet (an API destination's rate limit).

    The delivery is due again after ``delay_s`` without counting as an attempt: waiting for a turn
    spends no retry, and the router's thread is not held while it waits.
    """

    def __init__(self, delay_s: float) -> None:
        super().__init__(f"deferred for {delay_s:.3f} s")
        self.delay_s = delay_s


@dataclass(frozen=True)
class Undelivered:
    """A delivery given up on: sent to the target's dead-letter queue, or dropped."""

    delivery: DeliveryRecord
    error: str
    dead_letter: str | None
    """The dead-letter queue's ARN; None when the event was dropped."""


class EventRouter:
    """Routes committed events to rule targets with retries; polls the bus from its own thread.

    Args:
        bus: the bus's durable side.
        resolver: turns stored targets' ARNs into callables; without one, deliveries to
            stored targets wait for a router that has one.
        clock: the time; the bus's clock when None.
        region: for rule ARNs (EventBridge's predefined variables, DLQ attributes).
        account: likewise.
        poll_s: how often the thread looks for work without being notified.
        rng: random numbers in [0, 1) for the backoff jitter.
        lease: how long an attempt may run before another router may repeat it.
        wakeup: set by whoever commits events (given, so that it can be built first).
        metrics: where events routed, delivered, failed and given up on are counted (none by default).
        tracing: where deliveries become spans (none by default), continuing the trace that put the event.
        trace_of: the trace context stored with an event (``traceparent``), by its sequence number; read
            only when tracing is on.
    """

    def __init__(
        self,
        bus: EventStore,
        *,
        resolver: TargetResolver | None = None,
        clock: Clock | None = None,
        region: str = "us-east-1",
        account: str = "111111111111",
        poll_s: float = 0.2,
        rng: Callable[[], float] | None = None,
        lease: timedelta = DEFAULT_LEASE,
        wakeup: threading.Event | None = None,
        metrics: Metrics | None = None,
        tracing: Tracing | None = None,
        trace_of: Callable[[int], str | None] | None = None,
    ) -> None:
        self.metrics = metrics or Metrics(enabled=False)
        self.tracing = tracing or Tracing()
        self.trace_of = trace_of
        self.bus = bus
        self.resolver = resolver
        self.clock: Clock = clock or bus.clock
        self.region = region
        self.account = account
        self.poll_s = poll_s
        self.rng = rng or random.Random().random
        self.lease = lease
        self._process_rules: dict[tuple[str, str], Rule] = {}
        self._stored_rules: dict[tuple[str, str], Rule] = {}
        self._stored_version: int | None = None
        self._indexes: dict[str, RuleIndex] = {}
        self._indexes_stale = True
        self._last_prune: datetime | None = None
        self._rules_lock = threading.Lock()
        self._undelivered: list[Callable[[Undelivered], None]] = []
        self._loop: DeliveryLoop[DeliveryRecord] = DeliveryLoop(
            bus,
            self,
            clock=self.clock,
            name="sluiceway-router",
            lease=lease,
            poll_s=poll_s,
            wakeup=wakeup,
            before_pass=self._before_pass,
            stop_wait_s=10.0,
        )

    # -- rules ----------------------------------------------------------------------------

    @property
    def rules(self) -> dict[str, Rule]:
        """The rules added in this process, by name."""
        with self._rules_lock:
            return {name: rule for (_, name), rule in self._process_rules.items()}

    def add_rule(self, rule: Rule) -> None:
        """Add (or replace) a rule in this process only; its targets may be callables.

        A stored rule with the same bus and name is hidden while this one exists.
        """
        with self._rules_lock:
            self._process_rules[(rule.bus, rule.name)] = rule
            self._indexes_stale = True

    def remove_rule(self, name: str, bus: str = DEFAULT_BUS) -> None:
        """Remove a rule added with :meth:`add_rule`; unknown names are ignored."""
        with self._rules_lock:
            self._process_rules.pop((bus, name), None)
            self._indexes_stale = True

    def _refresh_rules(self) -> None:
        version = self.bus.rules_version()
        with self._rules_lock:
            if version != self._stored_version:
                self._stored_rules = {(r.bus, r.name): r for r in self.bus.list_rules()}
                self._stored_version = version
                self._indexes_stale = True
            if not self._indexes_stale:
                return
            indexes: dict[str, RuleIndex] = {}
            for (bus, name), rule in self._all_rules().items():
                if rule.enabled and rule.matches_events:
                    indexes.setdefault(bus, RuleIndex()).add(name, rule.pattern)
            self._indexes = indexes
            self._indexes_stale = False

    def known_rules(self, bus: str | None = None) -> list[Rule]:
        """Every rule this router matches against (stored and this process's), of a bus or all."""
        self._refresh_rules()
        with self._rules_lock:
            rules = list(self._all_rules().values())
        return [r for r in rules if bus is None or r.bus == bus]

    def _all_rules(self) -> dict[tuple[str, str], Rule]:
        return {**self._stored_rules, **self._process_rules}

    def _rule(self, bus: str, name: str, origin: str) -> Rule | None:
        with self._rules_lock:
            table = self._process_rules if origin == "process" else self._stored_rules
            return table.get((bus, name))

    def _fanout(self, event: StoredEvent, only_rules: frozenset[str] | None = None) -> list[NewDelivery]:
        with self._rules_lock:
            index = self._indexes.get(event.bus)
            names = index.match(event.event) if index is not None else []
            out: list[NewDelivery] = []
            for name in names:
                if only_rules is not None and name not in only_rules:
                    continue
                key = (event.bus, name)
                rule = self._process_rules.get(key) or self._stored_rules.get(key)
                if rule is None:
                    continue  # removed since the index was built; the next pass rebuilds it
                origin: Literal["stored", "process"] = "process" if key in self._process_rules else "stored"
                out.extend(NewDelivery(name, tid, origin) for tid in rule.target_ids)
            return out

    # -- control --------------------------------------------------------------------------

    def notify(self) -> None:
        """Tell the router that new events were committed."""
        self._loop.notify()

    def start(self) -> None:
        self._loop.start()

    def close(self) -> None:
        self._loop.close()

    # -- replay ---------------------------------------------------------------------------

    def replay(
        self,
        since: datetime,
        until: datetime | None = None,
        rule: str | None = None,
        *,
        bus: str = DEFAULT_BUS,
        name: str | None = None,
    ) -> str:
        """Send the archived events of ``bus`` that arrived in [since, until) again.

        The events carry ``replay-name``; only ``rule`` gets them when given. The
        replay is recorded at once and fanned out by the next delivery pass.

        Returns:
            The replay's name.

        Raises:
            NotFoundError: no such bus, or ``rule`` is neither stored on it nor added here.
            RuleValidationError: the time window is empty or ends in the future.
            ConflictError: a replay named ``name`` exists.
        """
        if rule is not None:
            self._refresh_rules()
            with self._rules_lock:
                known = (bus, rule) in self._all_rules()
            if not known:
                raise NotFoundError(f"Rule {rule} does not exist on EventBus {bus}.")
        record = self.bus.start_replay(since=since, until=until, bus=bus, rule=rule, name=name)
        self.notify()
        return record.name

    # -- delivery -------------------------------------------------------------------------

    def deliver_pending(self) -> int:
        """Route new events and replays, then try every due delivery once.

        Returns:
            How many deliveries reached their target in this pass.
        """
        return self._loop.deliver_pending()

    def _before_pass(self) -> None:
        self._refresh_rules()
        self._prune_if_due()
        self._route_new()
        self._advance_replays()

    def _prune_if_due(self) -> None:
        now = self.clock.now()
        if self._last_prune is None or now - self._last_prune >= _PRUNE_EVERY:
            self._last_prune = now
            self.bus.prune()

    def _route_new(self) -> None:
        while batch := self.bus.unrouted(_BATCH):
            for stored in batch:
                fanout = self._fanout(stored)
                self.bus.route(stored.seq, fanout)
                self.metrics.event_routed(stored.bus, (d.rule for d in fanout))

    def _advance_replays(self) -> None:
        for replay in self.bus.replays(running=True):
            current = replay
            while not current.cancelled:
                batch = self.bus.replay_batch(current, _BATCH)
                if not batch:
                    self.bus.advance_replay(current.name, (), cursor=current.cursor, done=True)
                    logger.info("replay completed", extra={"replay": current.name})
                    break
                fanout = [(e.seq, self._fanout(e, current.rule_names)) for e in batch]
                cursor = batch[-1].seq
                self.bus.advance_replay(current.name, fanout, cursor=cursor, done=False)
                current = replace(current, cursor=cursor)

    # -- the delivery loop's hooks ------------------------------------------------------------

    def prepare(self, row: DeliveryRecord) -> Attempt | Outcome | None:
        """The attempt at delivering ``row`` (or why there is none: see DeliveryHooks)."""
        rule = self._rule(row.bus, row.rule, row.origin)
        if rule is None:
            if row.origin == "process":
                return None  # the process that added this rule delivers it
            return self._cancel(row, f"rule {row.rule} no longer exists")
        target = rule.target(row.target)
        if target is None:
            return self._cancel(row, f"target {row.target} no longer exists")
        if isinstance(target, Target) and self.resolver is None:
            return None  # a router wired with a resolver delivers it
        policy = target.retry_policy if isinstance(target, Target) else RetryPolicy()
        condition = policy.exhausted(row.attempts, (self.clock.now() - row.age_from).total_seconds())
        if condition is not None:
            # Too old before this attempt (the router was down): no attempt is made.
            reason = row.last_error or f"the event is older than its target's {condition}"
            return self._give_up(row, rule, target, condition, "EVENT_EXPIRED", reason, row.attempts)
        try:
            stored = self.bus.event(row.seq)
        except NotFoundError:
            return self._cancel(row, "the event was pruned")
        event = dict(stored.event)
        if row.replay:
            event["replay-name"] = row.replay

        def call() -> None:
            if self.tracing.enabled:
                self._traced_call(target, rule, row, event, stored)
            else:
                self._call(target, rule, row, event, stored)

        def delivered() -> None:
            # Counted once the delivery is recorded, outside the attempt: a metrics failure must
            # never turn a delivery the target took into a failed attempt (and a second delivery).
            lag = (self.clock.now() - stored.ingested_at).total_seconds()
            self.metrics.event_delivered(row.bus, row.rule, _kind(target), lag)
            logger.debug("event delivered", extra={"event": event.get("id"), "rule": row.rule, "target": row.target})

        return Attempt(call, Outcome("delivered", row.attempts, then=delivered), context=(rule, target))

    def failed(self, row: DeliveryRecord, exc: Exception, attempt: Attempt) -> Outcome:
        """Another attempt after the target's back-off, or the dead-letter queue (see DeliveryHooks).

        The rule and target are the attempt's: this failure counts against them. A stored rule
        removed meanwhile is cancelled at the next ``prepare``; a rule of this process's own,
        now (no ``prepare`` cancels those: another process may hold it).
        """
        if isinstance(exc, DeliveryDeferred):
            return Outcome("pending", row.attempts, next_attempt_at=self.clock.now() + timedelta(seconds=exc.delay_s), error=row.last_error)
        failures = row.attempts + 1
        rule, target = attempt.context
        self.metrics.event_failed(row.bus, row.rule, _kind(target))
        if row.origin == "process" and self._rule(row.bus, row.rule, row.origin) is None:
            return self._cancel(row, f"rule {row.rule} was removed during the attempt", attempts=failures)
        if isinstance(exc, NotFoundError):
            # A target that does not exist fails every retry: straight to the DLQ, as on AWS.
            return self._give_up(row, rule, target, None, "RESOURCE_NOT_FOUND", str(exc), failures)
        if isinstance(exc, InvalidNameError):
            # The target refused the request itself (AWS: a 4xx other than 429), which no retry
            # changes: EventBridge retries only throttling and server errors.
            return self._give_up(row, rule, target, None, "INVALID_PARAMETER", str(exc), failures)
        policy = target.retry_policy if isinstance(target, Target) else RetryPolicy()
        error = f"{type(exc).__name__}: {exc}"
        now = self.clock.now()
        delay = timedelta(seconds=policy.backoff_s(failures, self.rng()))
        condition = policy.exhausted(failures, (now + delay - row.age_from).total_seconds())
        if condition is not None:
            return self._give_up(row, rule, target, condition, "SDK_CLIENT_ERROR", error, failures)
        logger.warning(
            "event target failed; will retry",
            extra={
                "rule": row.rule,
                "target": row.target,
                "seq": row.seq,
                "attempt": failures,
                "retry_in_s": round(delay.total_seconds(), 3),
                "error": error,
            },
        )
        return Outcome("pending", failures, next_attempt_at=now + delay, error=error)

    def _traced_call(self, target: Target | TargetCallable, rule: Rule, row: DeliveryRecord, event: EventDict, stored: StoredEvent) -> None:
        # The delivery continues the trace of whoever put the event (a PutObject, a PutEvents, a task).
        parent = self.trace_of(row.seq) if self.trace_of is not None else None
        attributes = {
            "messaging.system": "aws.eventbridge",
            "messaging.operation.type": "process",
            "messaging.destination.name": row.bus,
            "messaging.message.id": str(event.get("id", "")),
            "aws.eventbridge.rule": row.rule,
            "aws.eventbridge.target.id": row.target,
            "sluiceway.attempt": row.attempts + 1,
        }
        if isinstance(target, Target):
            attributes["aws.eventbridge.target.arn"] = target.arn
        with self.tracing.span(f"deliver {row.rule}", parent=parent, kind="consumer", attributes=attributes):
            self._call(target, rule, row, event, stored)

    def _call(
        self,
        target: Target | TargetCallable,
        rule: Rule,
        row: DeliveryRecord,
        event: EventDict,
        stored: StoredEvent,
    ) -> None:
        if not isinstance(target, Target):
            target(event)
            return
        assert self.resolver is not None
        arn = rule.arn(region=self.region, account=self.account)
        payload: JSON = target.render(
            event,
            rule_name=rule.name,
            rule_arn=arn,
            ingestion_time=stored.ingested_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        deliver = self.resolver.resolve(target.arn)
        deliver(Delivery(payload, event, rule.name, arn, target.id, target.arn, row.attempts + 1, message_group_id=target.message_group_id))

    def _give_up(
        self,
        row: DeliveryRecord,
        rule: Rule,
        target: Target | TargetCallable,
        condition: str | None,
        code: str,
        error: str,
        attempts: int,
    ) -> Outcome:
        arn = rule.arn(region=self.region, account=self.account)
        where = {"rule": row.rule, "target": row.target, "seq": row.seq, "attempts": attempts}
        if not isinstance(target, Target) or target.dead_letter_arn is None or self.resolver is None:
            logger.warning(
                "event dropped after its retries; the target has no dead-letter queue",
                extra={**where, "condition": condition, "error": error},
            )
            self.metrics.event_dropped(row.bus, row.rule, _kind(target))
            return Outcome("dropped", attempts, error=error, then=lambda: self._tell(Undelivered(row, error, None)))
        dead_letter = target.dead_letter_arn
        attributes = {
            "ERROR_CODE": code,
            "ERROR_MESSAGE": error,
            "RULE_ARN": arn,
            "TARGET_ARN": target.arn,
            "RETRY_ATTEMPTS": str(max(attempts - 1, 0)),
        }
        if condition is not None:
            attributes["EXHAUSTED_RETRY_CONDITION"] = condition
        try:
            stored = self.bus.event(row.seq)
            body = dict(stored.event)
            if row.replay:
                body["replay-name"] = row.replay
            self.resolver.dead_letter(dead_letter)(json.dumps(body, separators=(",", ":")), attributes)
        except Exception:
            # EventBridge counts these as InvocationsFailedToBeSentToDLQ and drops the event.
            logger.error(
                "event could not be sent to its dead-letter queue; dropped",
                extra={**where, "dead_letter": dead_letter},
                exc_info=True,
            )
            self.metrics.event_dropped(row.bus, row.rule, _kind(target))
            return Outcome("dropped", attempts, error=error, then=lambda: self._tell(Undelivered(row, error, None)))
        logger.warning(
            "event sent to the dead-letter queue",
            extra={**where, "dead_letter": dead_letter, "condition": condition, "error": error},
        )
        self.metrics.event_dead_lettered(row.bus, row.rule, _kind(target))
        return Outcome("dead-lettered", attempts, error=error, then=lambda: self._tell(Undelivered(row, error, dead_letter)))

    def on_undelivered(self, listener: Callable[[Undelivered], None]) -> None:
        """Call ``listener`` (on the delivering thread) for each delivery given up on: a failure to show."""
        self._undelivered.append(listener)

    def _tell(self, undelivered: Undelivered) -> None:
        for listener in self._undelivered:
            try:
                listener(undelivered)
            except Exception:
                logger.exception("undelivered-event listener failed")

    def _cancel(self, row: DeliveryRecord, why: str, *, attempts: int | None = None) -> Outcome:
        logger.warning(
            "event delivery cancelled",
            extra={"rule": row.rule, "target": row.target, "seq": row.seq, "reason": why},
        )
        return Outcome("cancelled", row.attempts if attempts is None else attempts, error=why)


def _kind(target: Target | TargetCallable) -> str:
    """A target's ``target_kind`` label: state-machine, function, queue, topic; ``callable`` for a process rule's."""
    if not isinstance(target, Target):
        return "callable"
    try:
        return target_kind(target.arn)
    except RuleValidationError:
        return "other"
