"""Usage plan throttling: one token bucket per key, plan, stage and (for a method throttle) method.

API Gateway throttles with token buckets: a bucket holds at most ``burst`` tokens, refills at
``rate`` tokens a second, and each request takes one; a request that finds it empty is answered
429 ``Too Many Requests``. Buckets live in memory: a throttle is a rate over seconds, and
starting again with full buckets is what a quiet second would give anyway.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable

from .usage_plans import Throttle

__all__ = ["TokenBuckets"]

_MAX_BUCKETS = 100_000
"""Buckets kept at most (the oldest dropped first, i.e. refilled): a bound on memory, not an AWS limit."""


class TokenBuckets:
    """Token buckets by key, on a monotonic clock (injected in tests)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[Hashable, tuple[float, float]] = {}
        """key -> (tokens, when they were counted)."""

    def take(self, key: Hashable, throttle: Throttle) -> bool:
        """Take a token from ``key``'s bucket; False when it is empty (the request is throttled)."""
        if throttle.rate is None:
            return True  # a burst without a rate refills never: API Gateway applies neither alone
        capacity = float(throttle.burst) if throttle.burst is not None else max(1.0, throttle.rate)
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.pop(key, (capacity, now))
            tokens = min(capacity, tokens + (now - then) * throttle.rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            if len(self._buckets) >= _MAX_BUCKETS:
                self._buckets.pop(next(iter(self._buckets)))
            self._buckets[key] = (tokens, now)
        return allowed

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()
