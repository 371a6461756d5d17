"""The event ports: publishing events, and the durable side of an event bus the router drives."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from ..events.rules import (
    DEFAULT_BUS,
    Delivery,
    DeliveryRecord,
    EventBusInfo,
    NewDelivery,
    ReplayRecord,
    Rule,
    StoredEvent,
)
from ..types import EventDict
from .clock import Clock

__all__ = ["DeadLetterSender", "Deliver", "EventLog", "EventPublisher", "EventStore", "EventTrail", "TargetResolver"]


class EventPublisher(Protocol):
    """Puts events on an event bus (EventBridge semantics)."""

    def put_events(self, entries: Sequence[EventDict], *, bus: str | None = None) -> list[str]:
        """Put events in EventBridge's envelope on ``bus`` (the backend's own bus when None); return their ids.

        Events are committed durably before this returns; delivery to targets is
        at-least-once and happens afterwards.
        """
        ...


Deliver = Callable[[Delivery], None]
"""Hands one delivery to a target; raises if the target did not take it."""
DeadLetterSender = Callable[[str, Mapping[str, str]], None]
"""Sends (message body, message attributes) to a dead-letter queue; raises on failure."""


class EventLog(Protocol):
    """The durable side of a bus as the first router saw it: undelivered events in order."""

    def pending(self, limit: int = 100) -> list[tuple[int, dict[str, Any]]]: ...

    def mark_delivered(self, seq: int) -> None: ...


class EventStore(EventLog, Protocol):
    """What the router needs of a bus's durable side (SqliteEventBus locally)."""

    clock: Clock

    def put_events(self, entries: Sequence[EventDict], *, bus: str | None = None) -> list[str]:
        """Commit events to ``bus``; return their ids. Raises NotFoundError for an unknown bus."""
        ...

    def create_bus(self, name: str) -> EventBusInfo:
        """Create a named bus. Raises ConflictError if it exists."""
        ...

    def delete_bus(self, name: str) -> None:
        """Delete a named bus. Raises NotFoundError, or ConflictError while it has rules."""
        ...

    def list_buses(self) -> list[EventBusInfo]:
        """Every bus, ``default`` first."""
        ...

    def put_rule(self, rule: Rule) -> None:
        """Create or replace a stored rule. Raises NotFoundError for an unknown bus."""
        ...

    def get_rule(self, name: str, bus: str = DEFAULT_BUS) -> Rule:
        """A stored rule. Raises NotFoundError."""
        ...

    def list_rules(self, bus: str | None = None) -> list[Rule]:
        """Stored rules of one bus or all."""
        ...

    def delete_rule(self, name: str, bus: str = DEFAULT_BUS, *, force: bool = False) -> None:
        """Delete a stored rule. Raises NotFoundError, or ConflictError if it has targets."""
        ...

    def rules_version(self) -> int:
        """Changes whenever a stored rule does."""
        ...

    def unrouted(self, limit: int = 100) -> list[StoredEvent]:
        """Events not yet routed, oldest first."""
        ...

    def route(self, seq: int, deliveries: Sequence[NewDelivery]) -> None:
        """Record an event's deliveries and mark it routed, atomically."""
        ...

    def due(self, now: datetime, *, after_id: int = 0, limit: int = 100) -> list[DeliveryRecord]:
        """Pending deliveries due at ``now``, in routing order, after ``after_id``."""
        ...

    def claim(self, delivery_id: int, now: datetime, until: datetime) -> bool:
        """Take a due delivery until ``until``; False if it is no longer due."""
        ...

    def release_orphans(self) -> int:
        """Make deliveries claimed by processes that are gone due at once; return how many."""
        ...

    def record(
        self,
        delivery_id: int,
        *,
        status: str,
        attempts: int,
        next_attempt_at: datetime | None = None,
        error: str | None = None,
    ) -> None:
        """Store an attempt's outcome."""
        ...

    def event(self, seq: int) -> StoredEvent:
        """A stored event. Raises NotFoundError once pruned."""
        ...

    def start_replay(
        self,
        *,
        since: datetime,
        until: datetime | None = None,
        bus: str = DEFAULT_BUS,
        rule: str | None = None,
        name: str | None = None,
    ) -> ReplayRecord:
        """Record a replay of archived events."""
        ...

    def replays(self, *, running: bool = False) -> list[ReplayRecord]:
        """Replays in start order."""
        ...

    def replay_batch(self, replay: ReplayRecord, limit: int = 100) -> list[StoredEvent]:
        """The next events of a replay after its cursor."""
        ...

    def advance_replay(
        self,
        name: str,
        fanout: Sequence[tuple[int, Sequence[NewDelivery]]],
        *,
        cursor: int,
        done: bool,
    ) -> None:
        """Record a replay batch's deliveries and move its cursor, atomically."""
        ...

    def prune(self) -> int:
        """Delete events past the retention; return how many."""
        ...


class EventTrail(Protocol):
    """What following one event to its deliveries needs of a bus (``upload --run``)."""

    def find(self, event: EventDict) -> StoredEvent | None: ...

    def routed(self, seq: int) -> bool: ...

    def deliveries(self, seq: int | None = None) -> list[DeliveryRecord]: ...

    def get_rule(self, name: str, bus: str = DEFAULT_BUS) -> Rule: ...


class TargetResolver(Protocol):
    """Turns target ARNs into callables (the composition root's: the router imports no backend).

    Contract for state machine targets: start the execution named
    ``delivery.execution_name`` with ``delivery.input``, so that an event
    delivered twice (after a crash) starts one execution.
    """

    def resolve(self, arn: str) -> Deliver:
        """The callable that delivers to ``arn``.

        Raises:
            NotFoundError: nothing has that ARN (the event goes to the DLQ without retries).
        """
        ...

    def dead_letter(self, arn: str) -> DeadLetterSender:
        """The callable that sends to the SQS queue ``arn``.

        Raises:
            NotFoundError: no such queue.
        """
        ...
