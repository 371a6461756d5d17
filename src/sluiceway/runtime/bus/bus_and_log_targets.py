"""Rule targets the bus serves itself: other event buses, CloudWatch Logs log groups and HTTP endpoints.

:class:`BusAndLogTargets` is a :class:`~sluiceway.ports.events.TargetResolver` that
delivers to ``event-bus`` and ``log-group`` ARNs, hands API destinations and API Gateway
REST APIs to :class:`~sluiceway.runtime.bus.http_targets.HttpTargets`, and every other ARN (state
machines, functions, queues, topics) to the resolver it wraps. What each receives is
:mod:`sluiceway.events.forwarding`'s.

Guarantees, with the router's retries, dead-letter queues and leases around them:

* **Event bus.** The event is committed to the receiving bus under a key of the
  delivery, so a delivery made again after a crash forwards nothing new (exactly
  once); the receiving bus's router then matches it against that bus's rules. An event
  that came from another bus is not sent on (EventBridge routes bus to bus one hop
  only), so no chain of rules loops. A bus that does not exist, or one in another
  account or Region (a local stack is one account and Region), fails at once: the
  event goes to the dead-letter queue as RESOURCE_NOT_FOUND.
* **Scheduler's PutEvents target.** A schedule's fire (its delivery names the
  schedule's ARN, not a rule's) carries the event it puts
  (:mod:`sluiceway.events.scheduler_put`); it is committed to the bus as put there
  directly, under its own id, derived from the fire, so again exactly once.
* **Log group.** One log event in the delivery's own stream, made if missing; a log
  group that does not exist fails at once as above (EventBridge does not create it).
  The logs live in a database of their own, so a process that dies between writing
  and recording the delivery writes the line again at the next start: at least once,
  as for queue and topic targets. A log group is no Scheduler target: a schedule's
  fire is refused (ValidationException), as before there were log group targets.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from ...errors import ConflictError, NotFoundError
from ...events.forwarding import bus_event, forward_key, log_event, log_stream_name
from ...events.rules import Delivery, RuleValidationError, rule_bus_name, target_bus_name, target_kind, target_log_group_name
from ...events.scheduler_put import is_schedule_arn
from ...ports import Clock
from ...ports.events import DeadLetterSender, Deliver, TargetResolver
from ...types import EventDict
from .http_targets import HttpTargets

logger = logging.getLogger(__name__)

__all__ = ["BusAndLogTargets", "EventForwarding", "LogWriter"]


class EventForwarding(Protocol):
    """The receiving side of bus-to-bus delivery (``SqliteEventForwarding`` locally)."""

    def forward(self, event: EventDict, *, bus: str, key: str) -> bool:
        """Commit ``event`` to ``bus`` under ``key`` unless stored under it already; whether it was stored now.

        Raises:
            NotFoundError: no such bus.
        """
        ...

    def put_directly(self, event_id: str, bus: str) -> bool:
        """Whether ``bus`` holds ``event_id`` as put on it (not forwarded from another bus)."""
        ...


class LogWriter(Protocol):
    """What a log group target needs of CloudWatch Logs (``SqliteLogStore`` locally)."""

    def create_stream(self, group: str, name: str) -> None:
        """Raises NotFoundError (no such group) or ConflictError (the stream exists)."""
        ...

    def put(self, group: str, stream: str, events: Sequence[tuple[int, str]], *, create: bool = False) -> None:
        """Append ``(timestamp ms, message)`` events. Raises NotFoundError (no such group or stream)."""
        ...


class BusAndLogTargets:
    """Delivers to event buses and log groups; every other target ARN goes to ``others``.

    Args:
        others: the resolver of every other kind of target, and of dead-letter queues.
        forwarding: where events sent to another bus are committed.
        logs: the CloudWatch Logs store.
        clock: stamps a log event whose event has no readable time.
        region: the local stack's Region: a bus or log group elsewhere does not exist here.
        account: likewise, its account.
        on_event: called after an event is committed to another bus (the router's wake-up).
        http: delivers to API destinations and API Gateway REST APIs; without it they do not exist here.
    """

    def __init__(
        self,
        others: TargetResolver,
        forwarding: EventForwarding,
        logs: LogWriter,
        *,
        clock: Clock,
        region: str,
        account: str,
        on_event: Callable[[], None] | None = None,
        http: HttpTargets | None = None,
    ) -> None:
        self.others = others
        self.forwarding = forwarding
        self.logs = logs
        self.clock = clock
        self.region = region
        self.account = account
        self.on_event = on_event
        self.http = http

    def resolve(self, arn: str) -> Deliver:
        """The callable that delivers to ``arn``.

        Raises:
            NotFoundError: ``others`` knows no such target.
        """
        kind = target_kind(arn)
        if kind == "event-bus":
            return lambda delivery: self._forward(arn, delivery)
        if kind == "log-group":
            return lambda delivery: self._log(arn, delivery)
        if kind in ("api-destination", "api-gateway"):
            if self.http is None:
                raise NotFoundError(f"no HTTP targets are served here: {arn}")
            return self.http.resolve(arn)
        return self.others.resolve(arn)

    def dead_letter(self, arn: str) -> DeadLetterSender:
        return self.others.dead_letter(arn)

    def _here(self, arn: str) -> None:
        region, account = arn.split(":")[3:5]
        if (region, account) != (self.region, self.account):
            raise NotFoundError(f"{arn} is not in this stack's account {self.account} and Region {self.region}.")

    def _forward(self, arn: str, delivery: Delivery) -> None:
        self._here(arn)
        if is_schedule_arn(delivery.rule_arn):
            self._put(arn, delivery)
            return
        # RuleValidationError for any other sender: only a rule forwards, only a schedule puts.
        target, source = target_bus_name(arn), rule_bus_name(delivery.rule_arn)
        where = {"rule": delivery.rule, "target": delivery.target_id, "event": delivery.event.get("id"), "bus": target}
        if target == source:
            # The event is on that bus already; sending it there again would match the same
            # rule again. AWS's behaviour here is not documented; we send nothing.
            logger.warning("event not sent to the bus it is on", extra=where)
            return
        if not self.forwarding.put_directly(str(delivery.event.get("id", "")), source):
            # "EventBridge can't route events received from a sender event bus to a third event
            # bus" (its user guide): one hop only, which also makes loops impossible.
            logger.warning("event from another bus not sent on to a third bus", extra=where)
            return
        if self.forwarding.forward(bus_event(delivery), bus=target, key=forward_key(delivery)):
            if self.on_event is not None:
                self.on_event()
        else:
            logger.info("event already sent to this bus by an earlier attempt", extra=where)

    def _put(self, arn: str, delivery: Delivery) -> None:
        """Commit a schedule's event (``delivery.input``) to the bus, as PutEvents would."""
        event = delivery.input
        if not isinstance(event, dict) or not isinstance(event.get("id"), str):
            raise RuleValidationError(f"Schedule {delivery.rule_arn} sent no event to put on {arn}.")
        bus = target_bus_name(arn)
        # Stored under its own id: the bus holds it as put there, so its rules may send it on.
        if self.forwarding.forward(event, bus=bus, key=event["id"]):
            if self.on_event is not None:
                self.on_event()
        else:
            logger.info("scheduled event already put on this bus by an earlier attempt", extra={"schedule": delivery.rule_arn, "bus": bus})

    def _log(self, arn: str, delivery: Delivery) -> None:
        # EventBridge Scheduler has no log group target; a schedule naming one is refused.
        rule_bus_name(delivery.rule_arn)
        self._here(arn)
        group, stream = target_log_group_name(arn), log_stream_name(delivery)
        # Before the stream is made: a log event PutLogEvents would refuse (InvalidNameError)
        # fails the delivery once and leaves no empty stream behind.
        stamp, message = log_event(delivery, fallback_ms=int(self.clock.now().timestamp() * 1000))
        # ConflictError: the delivery's stream exists (an earlier attempt made it);
        # NotFoundError, no such group, goes through: EventBridge does not create it.
        with contextlib.suppress(ConflictError):
            self.logs.create_stream(group, stream)
        self.logs.put(group, stream, [(stamp, message)])
