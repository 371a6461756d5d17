"""Wake-ups for stream readers: a record committed in this process wakes them at once.

Writers of one data dir's tables may be several engines (the endpoint's, the metadata
table's), so the signal belongs to the database file, not to an engine: every engine
on the same file bumps the same generation. Writers in other processes wake nobody
here; readers also look again every so often for them.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

__all__ = ["StreamSignal", "signal_for"]


class StreamSignal:
    """A generation bumped after each commit that wrote stream records. Thread-safe."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._generation = 0

    @property
    def generation(self) -> int:
        return self._generation

    def notify(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def wait(self, since: int, timeout: float) -> int:
        """Block until the generation is past ``since`` or ``timeout`` seconds pass; return the generation."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._generation == since:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return self._generation


_SIGNALS: dict[str, StreamSignal] = {}
_LOCK = threading.Lock()


def signal_for(path: Path) -> StreamSignal:
    """The signal of the database file at ``path`` (one per file per process)."""
    key = str(path.resolve())
    with _LOCK:
        signal = _SIGNALS.get(key)
        if signal is None:
            signal = _SIGNALS[key] = StreamSignal()
        return signal
