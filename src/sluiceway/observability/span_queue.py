"""Ended spans on their way out: a bounded queue and one thread that encodes and exports them.

What the SDK's ``BatchSpanProcessor`` does, with the standard ``OTEL_BSP_*`` settings, for
:class:`~.recorded_span.RecordedSpan` s: ending a span appends it to a queue (a ``deque``
append: no lock on the work's path); the thread wakes when a batch is full, when a flush asks,
and every ``schedule delay`` otherwise, then asks its ``before_export`` hooks to hand over what
they hold (:class:`~.execution_spans.ExecutionSpans` builds its spans lazily), encodes batches
and sends them.

A span is never dropped silently: when the queue is full (the collector is slower than the
stack for longer than the queue lasts, or the stack has closed) it is counted in :attr:`SpanQueue.dropped`, and the first
drop is logged as a warning (then every 10,000th: a log line per dropped span would add to the
very load that drops them). A batch the exporter could not send is counted the same way.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Final

from .recorded_span import RecordedSpan

logger = logging.getLogger(__name__)

__all__ = ["BATCH_ENV", "DELAY_ENV", "QUEUE_ENV", "SpanQueue", "queue_settings"]

QUEUE_ENV: Final = "OTEL_BSP_MAX_QUEUE_SIZE"
BATCH_ENV: Final = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"
DELAY_ENV: Final = "OTEL_BSP_SCHEDULE_DELAY"
_DEFAULTS: Final = {QUEUE_ENV: 2048, BATCH_ENV: 512, DELAY_ENV: 5000}
"""The specification's defaults (the schedule delay in milliseconds)."""
_LOG_EVERY: Final = 10_000


def queue_settings(environ: Mapping[str, str]) -> tuple[int, int, float]:
    """``(max queue size, max batch size, schedule delay in s)`` from the ``OTEL_BSP_*`` variables.

    A value that is not a positive integer is ignored with a warning, as the SDK does; a batch
    size above the queue size is the queue size.
    """
    found: dict[str, int] = {}
    for name, default in _DEFAULTS.items():
        text = environ.get(name, "").strip()
        try:
            value = int(text) if text else default
        except ValueError:
            value = 0
        if value <= 0:
            logger.warning("ignoring a tracing setting that is not a positive integer", extra={"variable": name, "value": text})
            value = default
        found[name] = value
    return found[QUEUE_ENV], min(found[BATCH_ENV], found[QUEUE_ENV]), found[DELAY_ENV] / 1000


class SpanQueue:
    """Ended spans and the thread that exports them (see the module docstring).

    Args:
        export: sends one batch; False when it could not (its spans are then counted as dropped).
        max_queue: spans held at most; more are dropped (and counted).
        max_batch: spans per export at most; a full batch wakes the thread.
        delay_s: the longest a span waits for the thread otherwise.
        stop: called once the last spans went out at :meth:`close` (the exporter's shutdown).
    """

    def __init__(
        self,
        export: Callable[[list[RecordedSpan]], bool],
        *,
        max_queue: int = 2048,
        max_batch: int = 512,
        delay_s: float = 5.0,
        stop: Callable[[], None] | None = None,
    ) -> None:
        self._export = export
        self._stop = stop
        self._max_queue, self._max_batch, self._delay_s = max_queue, max_batch, delay_s
        self._spans: collections.deque[RecordedSpan] = collections.deque()
        self._hooks: list[Callable[[], None]] = []
        self._wake = threading.Condition()
        self._asked = 0
        """Flushes asked for (a counter: the thread answers every one asked before it looked)."""
        self._done = 0
        self._stopping = False
        self._counting = threading.Lock()
        self.dropped = 0
        """Spans that were never exported: the queue was full, or their export failed."""
        self._thread = threading.Thread(target=self._run, name="sluiceway-span-export", daemon=True)
        self._thread.start()

    def before_export(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` in the thread before each export (to hand over spans built lazily)."""
        self._hooks.append(hook)

    def put(self, span: RecordedSpan) -> None:
        """Queue an ended span (the span's sink: called on the work's path, so cheap)."""
        spans = self._spans
        if len(spans) >= self._max_queue or self._stopping:
            self._drop(1, "the span queue is full")
            return
        spans.append(span)
        if len(spans) == self._max_batch:
            with self._wake:
                self._wake.notify()

    def flush(self, timeout_s: float) -> bool:
        """Export what has ended so far; True when it went out within ``timeout_s`` (and was accepted)."""
        deadline = time.monotonic() + timeout_s
        dropped = self.dropped
        with self._wake:
            if self._stopping:
                return not self._spans
            self._asked += 1
            wanted = self._asked
            self._wake.notify()
            while self._done < wanted:
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return False
                self._wake.wait(left)
        return self.dropped == dropped

    def close(self, timeout_s: float = 30.0) -> None:
        """Export what is left and stop the thread (idempotent); later spans are dropped."""
        with self._wake:
            if self._stopping:
                return
            self._stopping = True
            self._wake.notify_all()
        self._thread.join(timeout_s)
        # A put that looked before close() said stop may append after the thread's last export,
        # and a thread that did not end in time leaves its spans: neither goes out, both count.
        if left := len(self._spans):
            self._spans.clear()
            self._drop(left, "they ended as tracing stopped")
        if self._stop is not None:
            try:
                self._stop()
            except Exception:  # a collector that went away must not fail the stack's stop
                logger.warning("could not stop the span exporter", exc_info=True)

    def _run(self) -> None:
        while True:
            with self._wake:
                if not self._stopping and self._asked == self._done and len(self._spans) < self._max_batch:
                    self._wake.wait(self._delay_s)
                stopping, asked = self._stopping, self._asked
            self._export_all()
            with self._wake:
                self._done = asked
                self._wake.notify_all()
            if stopping:
                self._export_all()
                return

    def _export_all(self) -> None:
        for hook in self._hooks:
            try:
                hook()
            except Exception:  # a hook's trouble must not stop the export of the other spans
                logger.warning("could not hand over spans for export", exc_info=True)
        spans = self._spans
        while spans:
            batch = [spans.popleft() for _ in range(min(self._max_batch, len(spans)))]
            try:
                sent = self._export(batch)
            except Exception:
                logger.warning("could not export spans", exc_info=True)
                sent = False
            if not sent:
                self._drop(len(batch), "their export failed")

    def _drop(self, count: int, why: str) -> None:
        with self._counting:  # only taken when spans are lost
            before = self.dropped
            self.dropped = before + count
        if before == 0 or before // _LOG_EVERY != self.dropped // _LOG_EVERY:
            logger.warning("spans dropped", extra={"reason": why, "dropped": self.dropped})
