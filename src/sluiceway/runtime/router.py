"""Deliver committed events to the targets of matching rules (at least once).

The router reads undelivered events from the bus in order, matches each
against every rule's pattern, calls the targets and marks the event delivered
only when every target accepted it. A target that fails is tried again on the
next pass; state machine targets are idempotent (the execution name comes from
the event), so a redelivered event never starts a second execution.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..events.patterns import Pattern

logger = logging.getLogger(__name__)

Target = Callable[[Mapping[str, Any]], None]


class EventLog(Protocol):
    """The durable side of a bus: undelivered events in order."""

    def pending(self, limit: int = 100) -> list[tuple[int, dict[str, Any]]]: ...

    def mark_delivered(self, seq: int) -> None: ...


@dataclass(frozen=True)
class Rule:
    """A rule on the bus: a compiled pattern and the targets that get matching events."""

    name: str
    pattern: Pattern
    targets: tuple[Target, ...]


class EventRouter:
    """Polls the bus and delivers; :meth:`deliver_pending` also runs on demand."""

    def __init__(self, bus: EventLog, *, poll_s: float = 0.2) -> None:
        self.bus = bus
        self.rules: dict[str, Rule] = {}
        self.poll_s = poll_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._deliver_lock = threading.Lock()

    def add_rule(self, rule: Rule) -> None:
        self.rules[rule.name] = rule

    def notify(self) -> None:
        """Tell the router that new events were committed."""
        self._wake.set()

    def deliver_pending(self) -> int:
        """Deliver every undelivered event once; return how many were fully delivered."""
        delivered = 0
        with self._deliver_lock:
            while True:
                batch = self.bus.pending(100)
                if not batch:
                    return delivered
                progressed = False
                for seq, event in batch:
                    if self._deliver(event):
                        self.bus.mark_delivered(seq)
                        delivered += 1
                        progressed = True
                if not progressed:
                    return delivered

    def _deliver(self, event: Mapping[str, Any]) -> bool:
        ok = True
        for rule in list(self.rules.values()):
            if not rule.pattern.matches(event):
                continue
            for target in rule.targets:
                try:
                    target(event)
                except Exception:
                    ok = False
                    logger.warning("event target failed; will retry", extra={"rule": rule.name, "event": event.get("id")}, exc_info=True)
        return ok

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="sluiceway-router", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.deliver_pending()
            except Exception:
                logger.exception("event delivery pass failed")
            self._wake.wait(self.poll_s)
            self._wake.clear()
