"""A chore the stack repeats while it runs: once at its start, then every few seconds, on a thread of its own.

For work that no delivery loop owns, such as announcing the writes of writers that died
(``EventingObjectStore.recover``): nobody commits a row that would wake a loop for it, so
it is looked for on a timer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)

__all__ = ["Periodic"]


class Periodic:
    """Runs ``call`` at :meth:`start` and every ``every_s`` seconds after, until :meth:`close`.

    A call that raises is logged and tried again at the next turn.
    """

    def __init__(self, call: Callable[[], object], *, every_s: float, name: str) -> None:
        if every_s <= 0:
            raise ValueError(f"every_s must be positive, not {every_s}")
        self.call = call
        self.every_s = every_s
        self.name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def close(self, timeout_s: float = 30.0) -> None:
        """Stop; a call in progress ends first (for ``timeout_s`` at most)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
            if self._thread.is_alive():
                logger.warning("a periodic call still runs after the stop's wait", extra={"chore": self.name, "waited_s": timeout_s})
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.call()
            except Exception:
                logger.exception("periodic call failed", extra={"chore": self.name})
            self._stop.wait(self.every_s)
