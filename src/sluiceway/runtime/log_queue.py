"""A best-effort writer to CloudWatch Logs: callers queue, one thread of its own writes.

AWS's log deliveries (API Gateway access logs, Step Functions execution logs) never hold up what
they log and are documented as best effort. :class:`BestEffortLogWriter` is that delivery once:
callers queue items (a bounded queue: a full one drops them, counted, with one warning when
dropping starts and the count once the writer catches up); one daemon thread, started with the
first item (and tried again with the next if it could not start), turns each batch into events by
(log group, stream) and writes each stream on its own, so that one that fails loses only its
events. A stop writes what is queued first, within a time limit; past it the writer writes nothing
more (the store it writes to is closing) and what is still queued is lost, as is what is queued
when the process dies. What an item is, where its events go and how a stream is written are the
owner's (:mod:`sluiceway.endpoint.apigateway.access_logs`,
:mod:`sluiceway.runtime.orchestration.execution_logs`).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["BATCH", "BestEffortLogWriter", "Compose", "Put", "Wording"]

_T = TypeVar("_T")

BATCH = 500
"""The most items written in one round (a flush or stop queued behind them waits at most that long)."""

Compose = Callable[[Sequence[_T]], Mapping[tuple[str, str], Sequence[tuple[int, str]]]]
"""Turns a batch of items into events (``(timestamp ms, message)``) by ``(log group, stream)``."""
Put = Callable[[str, str, Sequence[tuple[int, str]]], None]
"""Writes one stream's events to ``(log group, stream)``; what it raises loses only those events."""


@dataclass(frozen=True)
class Wording:
    """What a writer's thread is called and what its warnings say (in its owner's words)."""

    thread: str
    """The writer thread's name."""
    queue_full: str
    """Warned once when dropping starts; one ``%d``: the queue's capacity."""
    dropped: str
    """Warned once the writer catches up; one ``%d``: how many were dropped meanwhile."""
    gave_up: str
    """Warned when a close stops waiting; one ``%.1f``: the seconds it waited."""
    not_started: str
    """Logged when the writer's thread could not start."""
    not_released: str
    """Logged when the release hook failed."""
    not_written: str
    """Logged when a stream's events (``log_group``, ``log_stream`` in ``extra``), or a batch, were not written."""


@dataclass(frozen=True)
class _Flush:
    done: threading.Event


class _Stop:
    """Asks the writer to end once what was queued before it is written."""


class BestEffortLogWriter(Generic[_T]):
    """Queues items and writes their log events on one thread of its own; never blocks, never raises.

    Args:
        compose: turns a batch into events by stream, on the writer's thread.
        put: writes one stream's events, on the writer's thread.
        wording: the thread's name and the warnings' phrases.
        logger: where the warnings go (the owner's module logger).
        release: called on the writer's thread as it ends, to give back what it opened for that
            thread (the local data dir's per-thread SQLite connections).
        capacity: the most items queued; an item that finds the queue full is dropped and counted.
        thread_factory: makes the writer's thread (``threading.Thread``'s arguments).
    """

    def __init__(
        self,
        compose: Compose[_T],
        put: Put,
        wording: Wording,
        *,
        logger: logging.Logger,
        release: Callable[[], None] | None = None,
        capacity: int,
        thread_factory: Callable[..., threading.Thread] = threading.Thread,
    ) -> None:
        self._compose = compose
        self._put = put
        self._wording = wording
        self._logger = logger
        self._release = release
        self._capacity = capacity
        self._thread_factory = thread_factory
        self._queue: queue.Queue[_T | _Flush | _Stop] = queue.Queue(maxsize=capacity)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._abandoned = False
        self._dropped = 0
        self._unreported = 0

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called: items submitted since are dropped."""
        return self._closed

    @property
    def abandoned(self) -> bool:
        """Whether :meth:`close` gave up waiting: the writer writes nothing more (the store is closing)."""
        return self._abandoned

    @property
    def dropped(self) -> int:
        """Items dropped so far because the queue was full or the writer was closed."""
        return self._dropped

    def submit(self, item: _T) -> None:
        """Queue ``item`` (never raises, never blocks): dropped and counted when full or closed."""
        # One lock around the closed check, the queueing and the thread's start: a close() comes
        # wholly before (the item is dropped, counted) or wholly after (its stop is queued behind
        # the item, and the thread it waits for exists), so a queued item is never left unwritten
        # while close() reports success.
        with self._lock:
            if self._closed:
                self._dropped += 1  # a closed writer is not behind: nothing to warn of
                return
            try:
                self._queue.put_nowait(item)
            except queue.Full:
                self._dropped += 1
                first = self._unreported == 0
                self._unreported += 1
            else:
                self._start_locked()
                return
        if first:
            # One warning when dropping starts; the writer reports the count once it catches up.
            self._logger.warning(self._wording.queue_full, self._capacity)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every item queued so far is written (or dropped); True if that happened within ``timeout`` seconds.

        False at once when a close gave up waiting (what was queued is lost) or the writer's
        thread has ended, or never started, with items still queued.
        """
        with self._lock:
            thread, closed = self._thread, self._closed
        if self._abandoned:
            return False
        if thread is None or not thread.is_alive():
            return self._queue.empty()
        if closed:
            # The writer ends once it has written what came before the close, and nothing after.
            thread.join(timeout)
            return not thread.is_alive() and not self._abandoned
        done = threading.Event()
        deadline = time.monotonic() + timeout
        try:
            self._queue.put(_Flush(done), timeout=timeout)
        except queue.Full:
            return False
        # Polled, not one wait: a writer thread that ends meanwhile never sets the event.
        while not done.wait(min(0.1, max(0.0, deadline - time.monotonic()))):
            if time.monotonic() >= deadline or not thread.is_alive():
                return done.is_set()
        return True

    def close(self, timeout: float = 10.0) -> bool:
        """Accept no more items, write those queued (within ``timeout`` seconds), then stop the writer.

        Returns True if the writer ended in time; otherwise it is told to write nothing more (the
        log store it writes to is about to close) and what is still queued is lost.
        """
        lost = 0
        with self._lock:
            self._closed = True
            if self._thread is None and not self._queue.empty() and not self._start_locked():
                # Items were queued but no thread could be started for them (nor can one now): they are lost.
                lost = self._discard_locked()
            thread = self._thread
        if lost:
            self._logger.warning(self._wording.dropped, lost)
            return False
        if thread is None:
            return True
        deadline = time.monotonic() + timeout
        with contextlib.suppress(queue.Full):  # the writer cannot keep up: the join below times out
            self._queue.put(_Stop(), timeout=timeout)
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            self._abandoned = True
            self._logger.warning(self._wording.gave_up, timeout)
            return False
        return True

    def _report_dropped(self) -> None:
        with self._lock:
            count, self._unreported = self._unreported, 0
        if count:
            self._logger.warning(self._wording.dropped, count)

    def _start_locked(self) -> bool:
        """Start the writer's thread unless it runs (under the lock); False if none could be started."""
        if self._thread is not None:
            return True
        thread = self._thread_factory(target=self._run, name=self._wording.thread, daemon=True)
        try:
            thread.start()
        except RuntimeError:
            # No thread to be had (interpreter shutting down, thread limit): what is queued
            # stays queued and the next item (or the close) tries again.
            self._logger.exception(self._wording.not_started)
            return False
        self._thread = thread
        return True

    def _discard_locked(self) -> int:
        """Empty the queue (under the lock) and count its items as dropped; how many there were."""
        count = 0
        with contextlib.suppress(queue.Empty):
            while True:
                item = self._queue.get_nowait()
                if isinstance(item, _Flush):
                    item.done.set()
                elif not isinstance(item, _Stop):
                    count += 1
        self._dropped += count
        return count

    def _run(self) -> None:
        try:
            while self._step():
                pass
        finally:
            if self._release is not None:
                try:
                    self._release()
                except Exception:
                    self._logger.exception(self._wording.not_released)

    def _step(self) -> bool:
        """Write one batch of what is queued; False once told to stop (or abandoned)."""
        item = self._queue.get()
        batch: list[_T] = []
        flushes: list[_Flush] = []
        stop = False
        while True:
            if isinstance(item, _Stop):
                stop = True
            elif isinstance(item, _Flush):
                flushes.append(item)
            else:
                batch.append(item)
            if stop or len(batch) >= BATCH:
                break
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
        if batch and not self._abandoned:
            self._write(batch)
        self._report_dropped()
        for flush in flushes:
            flush.done.set()
        return not stop and not self._abandoned

    def _write(self, batch: Sequence[_T]) -> None:
        try:
            streams = self._compose(batch)
        except Exception:  # the writer lives on: only this batch is lost
            self._logger.exception(self._wording.not_written, extra={"items": len(batch)})
            return
        for (group, stream), events in streams.items():
            if self._abandoned:
                return  # close() gave up waiting: the store may be closed under us
            try:
                self._put(group, stream, events)
            except Exception:  # one stream that cannot be written loses only its events
                self._logger.exception(self._wording.not_written, extra={"log_group": group, "log_stream": stream})
