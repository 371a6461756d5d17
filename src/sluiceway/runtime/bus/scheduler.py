"""Fire schedules when they come due, durably, and deliver their fires as EventBridge Scheduler does.

Two kinds of schedules come due here:

* **EventBridge Scheduler schedules.** A due schedule is fired in one transaction that
  moves it on to its next occurrence and commits a *fire* (a compare-and-set: a second
  runner, or the same one after a crash, finds it moved and fires nothing). Fires are
  then delivered by the one :class:`~sluiceway.runtime.delivery_loop.DeliveryLoop`:
  claimed for a lease, attempted through the stack's target resolver (the same one
  that delivers events to rule targets), retried after an exponential backoff until the
  target's ``RetryPolicy`` runs out, then sent to its dead-letter queue or dropped.
* **EventBridge rules with a ScheduleExpression.** A due rule is moved on and its
  "Scheduled Event" committed to the bus, routed to that rule's targets only, in one
  transaction; the event router delivers it (``on_rule_fired`` wakes it).

**Occurrences missed while no stack ran** (a laptop asleep, ``sluiceway up`` stopped):
EventBridge never stops, and what it does with an invocation it could not make on time
is to keep retrying it until the target's ``MaximumEventAgeInSeconds`` (plus the
schedule's flexible window) runs out, then give up on it. So an occurrence still within
that window when the runner starts is fired, late, as AWS would deliver a retried
invocation; older ones are past the point where AWS would have given up, and are
skipped. Of several occurrences still within the window only the latest is fired: a
schedule is a trigger of recurring work, and ``rate(1 minute)`` after a night asleep
means "run now", not "run 600 times now" (what cron's successors — anacron, systemd's
``Persistent=`` timers — settled on too). Each skip is logged.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final, Protocol

from ...errors import InvalidNameError, NotFoundError
from ...events.envelope import envelope
from ...events.rules import Delivery, RetryPolicy, Rule, RuleValidationError, Target, target_kind
from ...events.scheduler import FireRecord, ScheduleRecord, render_input
from ...events.scheduler_put import scheduled_event
from ...events.schedules import parse_schedule
from ...ports import Clock
from ...ports.events import TargetResolver
from ...types import JSON, EventDict
from ..delivery_loop import Attempt, DeliveryLoop, Outcome

logger = logging.getLogger(__name__)

__all__ = ["ScheduleRunner", "ScheduleStore", "ScheduledRules"]

DEFAULT_LEASE: Final = timedelta(minutes=5)
_TICK: Final = timedelta(microseconds=1)


class ScheduleStore(Protocol):
    """What the runner needs of Scheduler's durable side (``SqliteSchedules`` locally)."""

    def due_schedules(self, now: datetime) -> list[ScheduleRecord]: ...

    def fire(
        self,
        record: ScheduleRecord,
        *,
        scheduled_at: datetime | None,
        next_fire_at: datetime | None,
        execution_id: str,
        delete: bool = False,
    ) -> bool: ...

    def due(self, now: datetime, *, after_id: int = 0, limit: int = 100) -> list[FireRecord]: ...

    def claim(self, delivery_id: int, now: datetime, until: datetime) -> bool: ...

    def record(
        self,
        delivery_id: int,
        *,
        status: str,
        attempts: int,
        next_attempt_at: datetime | None = None,
        error: str | None = None,
    ) -> None: ...

    def release_orphans(self) -> int: ...


class ScheduledRules(Protocol):
    """What the runner needs of the event bus for rules with a ScheduleExpression (``SqliteEventBus``)."""

    def due_scheduled_rules(self, now: datetime) -> list[tuple[Rule, datetime]]: ...

    def fire_rule(self, rule: Rule, *, scheduled_at: datetime, next_at: datetime | None, event: EventDict | None) -> bool: ...


class ScheduleRunner:
    """Fires due schedules and scheduled rules, and delivers schedule fires (see the module docstring).

    Args:
        schedules: Scheduler's durable side.
        rules: the event bus, for scheduled rules.
        resolver: turns target ARNs into callables (the event router's); without one, fires
            wait for a runner that has one.
        clock: the time.
        region: for the scheduled events' envelope and rule ARNs.
        account: likewise.
        on_rule_fired: called after a scheduled rule's event is committed (the router's ``notify``).
        poll_s: how often the thread looks for due schedules without being woken. Scheduler
            invokes "with 60 second precision"; a second is well within it.
        rng: random numbers in [0, 1) for the backoff jitter.
        lease: how long an attempt may run before another runner may repeat it.
        wakeup: set when schedules change (given, so that the store can be built first).
    """

    def __init__(
        self,
        schedules: ScheduleStore,
        rules: ScheduledRules,
        *,
        resolver: TargetResolver | None,
        clock: Clock,
        region: str,
        account: str,
        on_rule_fired: Callable[[], None] | None = None,
        poll_s: float = 1.0,
        rng: Callable[[], float] | None = None,
        lease: timedelta = DEFAULT_LEASE,
        wakeup: threading.Event | None = None,
    ) -> None:
        self.schedules = schedules
        self.rules = rules
        self.resolver = resolver
        self.clock = clock
        self.region = region
        self.account = account
        self.on_rule_fired = on_rule_fired
        self.rng = rng or random.Random().random
        self._loop: DeliveryLoop[FireRecord] = DeliveryLoop(
            schedules,
            self,
            clock=clock,
            name="sluiceway-scheduler",
            lease=lease,
            poll_s=poll_s,
            wakeup=wakeup,
            before_pass=self._fire_due,
            stop_wait_s=10.0,
        )

    # -- control --------------------------------------------------------------------------

    def notify(self) -> None:
        """Tell the runner that schedules changed."""
        self._loop.notify()

    def start(self) -> None:
        self._loop.start()

    def close(self) -> None:
        self._loop.close()

    def run_pending(self) -> int:
        """One pass: fire what is due, then try every due fire once; return how many reached their target."""
        return self._loop.deliver_pending()

    # -- firing ---------------------------------------------------------------------------

    def _fire_due(self) -> None:
        now = self.clock.now()
        for record in self.schedules.due_schedules(now):
            try:
                self._fire_schedule(record, now)
            except Exception:
                logger.exception("schedule could not be fired", extra={"schedule": f"{record.group}/{record.name}"})
        fired = False
        for rule, due in self.rules.due_scheduled_rules(now):
            try:
                fired |= self._fire_rule(rule, due, now)
            except Exception:
                logger.exception("scheduled rule could not be fired", extra={"rule": rule.name})
        if fired and self.on_rule_fired is not None:
            self.on_rule_fired()

    def _fire_schedule(self, record: ScheduleRecord, now: datetime) -> None:
        due = record.next_fire_at
        assert due is not None
        latest, following = _latest_and_next(due, now, record.window, record.first_occurrence)
        where = {"schedule": f"{record.group}/{record.name}", "due": due.isoformat()}
        if latest != due:
            logger.warning(
                "schedule occurrences missed while no stack ran; the latest within its window fires once",
                extra={**where, "fired": latest.isoformat() if latest else None},
            )
        # A schedule with no occurrence left is complete: ActionAfterCompletion DELETE removes it.
        delete = following is None and record.action_after_completion == "DELETE"
        arn = record.arn(region=self.region, account=self.account)
        execution_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{arn}|{record.created_at.isoformat()}|{latest}"))
        if self.schedules.fire(record, scheduled_at=latest, next_fire_at=following, execution_id=execution_id, delete=delete):
            logger.debug("schedule fired", extra={**where, "next": following.isoformat() if following else None})

    def _fire_rule(self, rule: Rule, due: datetime, now: datetime) -> bool:
        assert rule.schedule is not None
        schedule = parse_schedule(rule.schedule, allow_at=False)
        ages = [t.retry_policy.maximum_event_age_s for t in rule.targets if isinstance(t, Target)]
        window = timedelta(seconds=max(ages, default=RetryPolicy().maximum_event_age_s))

        def after(when: datetime) -> datetime | None:
            return next(schedule.occurrences(when, start=due), None)

        latest, following = _latest_and_next(due, now, window, after)
        event: EventDict | None = None
        arn = rule.arn(region=self.region, account=self.account)
        if latest is not None:
            event = envelope(
                event_id=str(uuid.uuid4()),
                source="aws.events",
                detail_type="Scheduled Event",
                detail={},
                time=latest,
                region=self.region,
                account=self.account,
                resources=[arn],
            )
        if latest != due:
            logger.warning(
                "scheduled rule occurrences missed while no stack ran; the latest within its window fires once",
                extra={"rule": rule.name, "due": due.isoformat(), "fired": latest.isoformat() if latest else None},
            )
        return self.rules.fire_rule(rule, scheduled_at=due, next_at=following, event=event) and event is not None

    # -- the delivery loop's hooks --------------------------------------------------------

    def prepare(self, row: FireRecord) -> Attempt | Outcome | None:
        """The attempt at delivering a fire (see DeliveryHooks)."""
        if self.resolver is None:
            return None  # a runner wired with a resolver delivers it
        policy = row.retry_policy
        condition = policy.exhausted(row.attempts, (self.clock.now() - row.age_from).total_seconds())
        if condition is not None:
            # Too old before this attempt (no stack ran): no attempt is made.
            reason = row.last_error or f"the invocation is older than its target's {condition}"
            return self._give_up(row, condition, "EVENT_EXPIRED", reason, row.attempts)
        resolver = self.resolver
        attempt = row.attempts + 1
        payload = render_input(row, attempt)
        arn = str(row.target["Arn"])

        def call() -> None:
            deliver = resolver.resolve(arn)
            # The execution id names the fire: a state machine target started twice for it
            # (after a crash) starts one execution.
            sqs = row.target.get("SqsParameters")
            group = sqs.get("MessageGroupId") if isinstance(sqs, dict) else None
            delivery = Delivery(
                payload, {"id": row.execution_id}, row.name, row.schedule_arn, row.name, arn, attempt, message_group_id=group
            )
            if target_kind(arn) == "event-bus":
                # The templated PutEvents target: the bus gets a new event made of the fire.
                event = scheduled_event(
                    schedule_arn=row.schedule_arn,
                    execution_id=row.execution_id,
                    parameters=row.target.get("EventBridgeParameters"),
                    detail=payload,
                    time=self.clock.now(),
                    region=self.region,
                    account=self.account,
                )
                delivery = Delivery(event, event, row.name, row.schedule_arn, row.name, arn, attempt)
            deliver(delivery)
            logger.debug("schedule target invoked", extra={"schedule": row.schedule_arn, "attempt": attempt})

        return Attempt(call, Outcome("delivered", row.attempts))

    def failed(self, row: FireRecord, exc: Exception, attempt: Attempt) -> Outcome:
        """Another attempt after the backoff, or the dead-letter queue (see DeliveryHooks)."""
        del attempt
        failures = row.attempts + 1
        if isinstance(exc, NotFoundError):
            return self._give_up(row, None, "ResourceNotFoundException", str(exc), failures)
        if isinstance(exc, InvalidNameError | RuleValidationError):
            # The target refused the request itself: no retry changes that.
            return self._give_up(row, None, "ValidationException", str(exc), failures)
        policy = row.retry_policy
        error = f"{type(exc).__name__}: {exc}"
        now = self.clock.now()
        delay = timedelta(seconds=policy.backoff_s(failures, self.rng()))
        condition = policy.exhausted(failures, (now + delay - row.age_from).total_seconds())
        if condition is not None:
            return self._give_up(row, condition, "InternalServerException", error, failures)
        logger.warning(
            "schedule target failed; will retry",
            extra={"schedule": row.schedule_arn, "attempt": failures, "retry_in_s": round(delay.total_seconds(), 3), "error": error},
        )
        return Outcome("pending", failures, next_attempt_at=now + delay, error=error)

    def _give_up(self, row: FireRecord, condition: str | None, code: str, error: str, attempts: int) -> Outcome:
        where = {"schedule": row.schedule_arn, "scheduled": row.scheduled_at.isoformat(), "attempts": attempts}
        dead_letter = (row.target.get("DeadLetterConfig") or {}).get("Arn")
        if dead_letter is None or self.resolver is None:
            logger.warning(
                "schedule invocation dropped after its retries; the target has no dead-letter queue",
                extra={**where, "condition": condition, "error": error},
            )
            return Outcome("dropped", attempts, error=error)
        # The dead-letter message is what the target would have received, with Scheduler's attributes.
        payload: JSON = render_input(row, max(attempts, 1))
        body = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
        attributes = {
            "ERROR_CODE": code,
            "ERROR_MESSAGE": error,
            "SCHEDULE_ARN": row.schedule_arn,
            "TARGET_ARN": str(row.target["Arn"]),
            "RETRY_ATTEMPTS": str(max(attempts - 1, 0)),
        }
        if condition is not None:
            attributes["EXHAUSTED_RETRY_CONDITION"] = condition
        try:
            self.resolver.dead_letter(str(dead_letter))(body, attributes)
        except Exception:
            logger.error("schedule invocation could not be sent to its dead-letter queue; dropped", extra=where, exc_info=True)
            return Outcome("dropped", attempts, error=error)
        logger.warning("schedule invocation sent to the dead-letter queue", extra={**where, "dead_letter": dead_letter, "error": error})
        return Outcome("dead-lettered", attempts, error=error)


def _latest_and_next(
    due: datetime, now: datetime, window: timedelta, after: Callable[[datetime], datetime | None]
) -> tuple[datetime | None, datetime | None]:
    """The latest occurrence in [``now - window``, ``now``] from ``due`` on (None if none), and the first after ``now``.

    ``after(t)`` is a schedule's first occurrence strictly after ``t`` (None when it has no more).
    """
    floor = now - window
    candidate: datetime | None = due if due >= floor else after(floor - _TICK)
    latest: datetime | None = None
    while candidate is not None and candidate <= now:
        latest = candidate
        candidate = after(candidate)
    return latest, candidate
