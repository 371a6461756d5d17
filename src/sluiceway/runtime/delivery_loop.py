"""The one durable delivery loop: claim a due delivery, attempt it, record how it ended, again and again.

Events to rule targets (``bus/router.py``) and messages to topic subscribers
(``messaging/delivery.py``) are delivered the same way: rows of a durable store are
*due*; the loop *claims* each for a lease (so that no other deliverer repeats it while
it runs, and a deliverer that dies gives it back: claims of a process that is gone
are released at once), *attempts* it once, and *records* the outcome — delivered,
pending again after a back-off, or given up on (dead-lettered, dropped...). It runs on
a thread of its own, woken when new work is committed and otherwise every
``poll_s``, or pass by pass on demand (:meth:`DeliveryLoop.deliver_pending`).

What differs between the two lives in two hooks (:class:`DeliveryHooks`): what an
attempt is (``prepare``: the call to make, or an outcome without attempting, or
nothing to do here), and what a failure leads to (``failed``: another attempt after
a delay, or giving up — the hooks send to a dead-letter queue first).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Generic, Protocol

from ..ports import Clock
from ..ports.deliveries import DeliveryLog, Row

logger = logging.getLogger(__name__)

__all__ = ["Attempt", "DeliveryHooks", "DeliveryLoop", "Outcome"]

#: How often, in seconds, claims of processes that are gone are looked for.
ORPHAN_SWEEP_S: Final = 5.0
_BATCH: Final = 100


@dataclass(frozen=True)
class Outcome:
    """How a delivery stands after an attempt (or instead of one): what the loop records."""

    status: str
    """``delivered``, ``pending`` (another attempt follows) or a final status of the hooks'."""
    attempts: int
    next_attempt_at: datetime | None = None
    error: str | None = None
    then: Callable[[], None] | None = None
    """Runs once the outcome is recorded (telling listeners of a delivery given up on: they may
    read the delivery back and must find it settled)."""


@dataclass(frozen=True)
class Attempt:
    """The call that makes one attempt (raises if the receiver did not take it), and what success records."""

    call: Callable[[], None]
    delivered: Outcome
    context: Any = None
    """What ``prepare`` found (the rule and target), handed to ``failed``: the attempt's failure is
    judged by what was attempted, not by what the configuration has become since."""


class DeliveryHooks(Protocol[Row]):  # type: ignore[misc]
    """What the loop asks of whoever delivers (see the module docstring)."""

    def prepare(self, row: Row) -> Attempt | Outcome | None:
        """The attempt to make; an outcome to record without one (a cancelled or expired delivery);
        or None: nothing for this loop to do with it now (another deliverer has what it takes)."""
        ...

    def failed(self, row: Row, exc: Exception, attempt: Attempt) -> Outcome:
        """What a failed ``attempt`` leads to: ``pending`` with the next attempt's time, or a final
        status once no attempt is left (the hooks send to a dead-letter queue before saying so)."""
        ...


class DeliveryLoop(Generic[Row]):
    """Claims, attempts and records the due deliveries of ``log`` (see the module docstring).

    Args:
        log: the durable side.
        hooks: the two hooks.
        clock: the time.
        name: the thread's name.
        lease: how long an attempt may run before another deliverer may repeat it.
        poll_s: how often the thread looks for work without being woken.
        wakeup: set when new work is committed (given, so that whoever commits it can be
            built before the loop); one of the loop's own when None.
        before_pass: runs at the start of every pass, under the pass's lock (the router
            routes new events there).
        stop_wait_s: how long ``close`` waits for an attempt in progress to end.
    """

    def __init__(
        self,
        log: DeliveryLog[Row],
        hooks: DeliveryHooks[Row],
        *,
        clock: Clock,
        name: str,
        lease: timedelta,
        poll_s: float,
        wakeup: threading.Event | None = None,
        before_pass: Callable[[], None] | None = None,
        stop_wait_s: float = 30.0,
    ) -> None:
        self.log = log
        self.hooks = hooks
        self.clock = clock
        self.name = name
        self.lease = lease
        self.poll_s = poll_s
        self.wakeup = wakeup or threading.Event()
        self.before_pass = before_pass
        self.stop_wait_s = stop_wait_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pass_lock = threading.Lock()

    def notify(self) -> None:
        """Tell the loop that new work was committed."""
        self.wakeup.set()

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self.wakeup.set()
        if self._thread is not None:
            self._thread.join(timeout=self.stop_wait_s)
            if self._thread.is_alive():
                logger.warning(
                    "a delivery still runs after the stop's wait; it may fail once the database closes",
                    extra={"loop": self.name, "waited_s": self.stop_wait_s},
                )
            self._thread = None

    def deliver_pending(self) -> int:
        """One pass: every due delivery is attempted once, in order; returns how many were delivered.

        A failed attempt is due again only after its back-off, so a receiver that keeps
        failing at once cannot hold the pass.
        """
        delivered = 0
        after = 0
        with self._pass_lock:
            if self.before_pass is not None:
                self.before_pass()
            while rows := self.log.due(self.clock.now(), after_id=after, limit=_BATCH):
                for row in rows:
                    after = row.id
                    delivered += self._attempt(row)
        return delivered

    def _attempt(self, row: Row) -> bool:
        plan = self.hooks.prepare(row)
        if plan is None:
            return False
        if isinstance(plan, Outcome):
            self._record(row, plan)
            return False
        now = self.clock.now()
        if not self.log.claim(row.id, now, now + self.lease):
            return False
        try:
            plan.call()
        except Exception as exc:
            self._record(row, self.hooks.failed(row, exc, plan))
            return False
        self._record(row, plan.delivered)
        return True

    def _record(self, row: Row, outcome: Outcome) -> None:
        self.log.record(
            row.id, status=outcome.status, attempts=outcome.attempts, next_attempt_at=outcome.next_attempt_at, error=outcome.error
        )
        if outcome.then is not None:
            try:
                outcome.then()
            except Exception:
                logger.exception("a delivery's follow-up failed", extra={"loop": self.name})

    def _run(self) -> None:
        next_sweep = 0.0
        while not self._stop.is_set():
            if time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + ORPHAN_SWEEP_S
                try:
                    # Claims of a process that died (kill -9) are free at once, not after the lease.
                    self.log.release_orphans()
                except Exception:
                    logger.exception("could not release the claims of stopped processes", extra={"loop": self.name})
            try:
                self.deliver_pending()
            except Exception:
                logger.exception("delivery pass failed", extra={"loop": self.name})
            self.wakeup.wait(self.poll_s)
            self.wakeup.clear()
