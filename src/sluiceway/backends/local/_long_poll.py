"""Long polls of one queue service: receivers waiting for a message, and the sends that wake them.

A send (or anything else that makes a message receivable) bumps a generation and
wakes the waiters; a waiter also looks again every ``poll_interval_s`` for sends from
other processes and for messages whose delay or visibility timeout runs out. A wait
ends after ``wait`` seconds of the injected clock or of real time, whichever comes
first, so a FakeClock that nobody advances cannot hang a caller. Once :meth:`LongPolls.close`
is called (the service's stack stops), every wait ends at once without looking again: a poll
left over from a stopped stack must not take work from the stack that starts next.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

from ...ports import Clock

T = TypeVar("T")

__all__ = ["LongPolls"]


class LongPolls:
    """The waiters of one service, by queue name. Thread-safe."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._cond = threading.Condition()
        self._generation = 0
        self._waiting: Counter[str] = Counter()
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called: waits end at once, and callers should not look."""
        return self._closed

    def close(self) -> None:
        """End every wait now and every later one at once (its ``look`` is not called again)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def generation(self) -> int:
        """Bumped by every :meth:`changed`: read it before a first look, pass it to :meth:`wait`."""
        return self._generation

    def changed(self) -> None:
        """Wake long polls: something became receivable (or a queue went away)."""
        with self._cond:
            self._generation += 1
            if self._waiting:
                self._cond.notify_all()

    def wait(
        self,
        queue: str,
        wait: float,
        generation: int,
        look: Callable[[], list[T]],
        *,
        poll_interval_s: float,
    ) -> list[T]:
        """Call ``look`` whenever ``queue`` may have a message, until it returns some or ``wait`` runs out.

        Args:
            generation: :attr:`generation` when the caller last looked, so that a change
                since is not slept through.
            poll_interval_s: the longest sleep between two looks.
        """
        real_deadline = time.monotonic() + wait
        clock_deadline = self.clock.monotonic() + wait
        with self._cond:
            self._waiting[queue] += 1
            self._cond.notify_all()
        try:
            while True:
                with self._cond:
                    # A send since the last look bumped the generation: look again first.
                    if self._generation == generation and not self._closed:
                        self._cond.wait(max(0.0, min(real_deadline - time.monotonic(), poll_interval_s)))
                    if self._closed:
                        return []
                    generation = self._generation
                messages = look()
                if messages:
                    return messages
                if time.monotonic() >= real_deadline or self.clock.monotonic() >= clock_deadline:
                    return []
        finally:
            with self._cond:
                self._waiting[queue] -= 1
                if not self._waiting[queue]:
                    del self._waiting[queue]

    def wait_for_receivers(self, queue: str, count: int = 1, timeout: float | None = None) -> bool:
        """Block until ``count`` receivers long-poll ``queue``; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._waiting[queue] >= count, timeout)
