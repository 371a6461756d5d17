"""A small pool of threads that runs a stream mapping's invocations, so that its shards run at once.

Lambda invokes a mapping's shards in parallel; locally a mapping's scheduling thread hands each
due batch to these workers. The pool is bounded (a stream of hundreds of shards costs a handful
of threads, its shards beyond that wait their turn for a worker), its threads start as jobs come
and end when they have had none for a while, so an idle mapping costs its scheduling thread only.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Final

logger = logging.getLogger(__name__)

__all__ = ["StreamWorkers"]

IDLE_S: Final = 30.0
"""How long a worker waits for a job before it ends (the next job starts another)."""


class StreamWorkers:
    """Runs jobs on up to ``size`` daemon threads, started as needed. Thread-safe.

    Args:
        size: the most threads at once.
        name: the threads' name (each gets ``-<n>`` after it).
        idle_s: how long a thread with no job lives on.
    """

    def __init__(self, size: int, name: str, *, idle_s: float = IDLE_S) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one thread")
        self.size = size
        self.name = name
        self.idle_s = idle_s
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self._pending = 0
        """Jobs submitted and not finished: threads are started until there are as many (or ``size``)."""
        self._started = 0
        self._closed = False

    @property
    def threads(self) -> int:
        """How many threads run now."""
        with self._lock:
            return len(self._threads)

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` on a worker. ``job`` handles its own errors: one that escapes is logged.

        Raises:
            RuntimeError: the pool is closed.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("the pool is closed")
            self._pending += 1
            # Queued under the lock: a worker deciding to end (under it too) sees this job.
            self._jobs.put(job)
            if len(self._threads) < min(self.size, self._pending):
                self._started += 1
                thread = threading.Thread(target=self._work, name=f"{self.name}-{self._started}", daemon=True)
                self._threads.add(thread)
                thread.start()

    def close(self) -> None:
        """End every thread once the jobs queued before are done (without waiting for them here)."""
        with self._lock:
            self._closed = True
            for _ in self._threads:
                self._jobs.put(None)

    def _work(self) -> None:
        me = threading.current_thread()
        while True:
            try:
                job = self._jobs.get(timeout=self.idle_s)
            except queue.Empty:
                with self._lock:
                    if self._jobs.empty():
                        self._threads.discard(me)
                        return
                continue
            if job is None:
                with self._lock:
                    self._threads.discard(me)
                return
            try:
                job()
            except Exception:
                logger.exception("stream job failed", extra={"pool": self.name})
            finally:
                with self._lock:
                    self._pending -= 1
