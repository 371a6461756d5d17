"""Writing a stage's access log: one event per request, after the response, never in its way.

Request threads only queue their line (a bounded queue: a request never waits on the log store);
one writer thread, started on the first line, writes them in batches and lives until
:meth:`AccessLogWriter.close`. As on AWS, access logging is best effort: a log group that does not
exist (deleted, or never made) drops its lines with a warning, lines that find the queue full are
dropped and counted, and no failure reaches the request. The stream is made on first use, as API
Gateway makes its streams in the destination group. A stop writes what is queued first; lines still
queued when the process dies are lost (AWS documents no delivery guarantee for access logs either).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ...errors import ConflictError, NotFoundError

logger = logging.getLogger(__name__)

__all__ = ["AccessLogWriter", "LogSink", "stream_name"]

QUEUE_LINES = 10_000
"""The most lines waiting to be written; more are dropped (a stalled log store must not grow memory)."""
_BATCH = 500


class LogSink(Protocol):
    """The part of the stack's log store access logs are written through."""

    def put(self, group: str, stream: str, events: list[tuple[int, str]], *, create: bool = False) -> None: ...

    def create_stream(self, group: str, name: str) -> None: ...


def stream_name(kind: str, api_id: str, stage: str, time_ms: int) -> str:
    """The log stream API Gateway writes a stage's access log to.

    REST APIs write to streams named by a 32-digit hex hash, as their execution logs do; HTTP APIs
    to ``{apiId}_{stage}-{yyyy-MM-dd-HH-mm}``. Neither scheme is documented: these are the names
    seen in log groups on AWS and could not be confirmed against a recorded answer; the REST hash
    here is stable per API and stage.
    """
    if kind == "REST":
        return hashlib.md5(f"{api_id}/{stage}".encode(), usedforsecurity=False).hexdigest()
    minute = time.strftime("%Y-%m-%d-%H-%M", time.gmtime(time_ms / 1000))
    return f"{api_id}_{stage}-{minute}"


@dataclass(frozen=True)
class _Line:
    group: str
    stream: str
    time_ms: int
    message: str


@dataclass(frozen=True)
class _Flush:
    done: threading.Event


class _Stop:
    """Asks the writer to end once what was queued before it is written."""


class AccessLogWriter:
    """Queues access log lines and writes them to the log store on one thread of its own.

    Args:
        sink: gives the stack's log store at write time (None when the stack has none: lines are dropped).
        release: called on the writer's thread as it ends, to give back what the sink opened for
            that thread (the local data dir's per-thread SQLite connections).
        capacity: the most lines queued; a line that finds the queue full is dropped and counted.
        thread_factory: makes the writer's thread (``threading.Thread``'s arguments).
    """

    def __init__(
        self,
        sink: Callable[[], LogSink | None],
        *,
        release: Callable[[], None] | None = None,
        capacity: int = QUEUE_LINES,
        thread_factory: Callable[..., threading.Thread] = threading.Thread,
    ) -> None:
        self._sink = sink
        self._release = release
        self._thread_factory = thread_factory
        self._capacity = capacity
        self._queue: queue.Queue[_Line | _Flush | _Stop] = queue.Queue(maxsize=capacity)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._abandoned = False
        """Set when :meth:`close` gave up waiting: the writer then writes nothing more (the store is closing)."""
        self._dropped = 0
        self._unreported = 0
        self._missing: set[str] = set()

    @property
    def dropped(self) -> int:
        """Lines dropped so far because the queue was full or the writer was closed."""
        return self._dropped

    def submit(self, group: str, stream: str, time_ms: int, message: str) -> None:
        """Queue one event for ``group``'s ``stream`` (never raises, never blocks)."""
        if self._closed:
            self._drop()
            return
        try:
            self._queue.put_nowait(_Line(group, stream, time_ms, message))
        except queue.Full:
            self._drop()
            return
        self._ensure_thread()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every line queued so far is written (or dropped); True if that happened within ``timeout`` seconds."""
        with self._lock:
            thread, closed = self._thread, self._closed
        if thread is None:
            return self._queue.empty()
        if closed:
            # Closed: the writer ends once it has written what came before the close, and nothing after.
            thread.join(timeout)
            return not thread.is_alive()
        done = threading.Event()
        deadline = time.monotonic() + timeout
        try:
            self._queue.put(_Flush(done), timeout=timeout)
        except queue.Full:
            return False
        return done.wait(max(0.0, deadline - time.monotonic()))

    def close(self, timeout: float = 10.0) -> bool:
        """Accept no more lines, write those queued (within ``timeout`` seconds), then stop the writer.

        Returns True if the writer ended in time; otherwise it is told to write nothing more (the
        log store it writes to is about to close) and what is still queued is lost.
        """
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is None:
            return True
        deadline = time.monotonic() + timeout
        with contextlib.suppress(queue.Full):  # the writer cannot keep up: the join below times out
            self._queue.put(_Stop(), timeout=timeout)
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            self._abandoned = True
            logger.warning("api gateway: the access log writer did not finish in %.1fs; queued lines are dropped", timeout)
            return False
        return True

    def _drop(self) -> None:
        with self._lock:
            first = self._unreported == 0
            self._dropped += 1
            self._unreported += 1
        if first and not self._closed:
            # One warning when dropping starts; the writer reports the count once it catches up.
            logger.warning("api gateway: the access log queue is full (%d lines); access log lines are dropped", self._capacity)

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is not None or self._closed:
                return
            thread = self._thread_factory(target=self._run, name="sluiceway-apigw-access-logs", daemon=True)
            try:
                thread.start()
            except RuntimeError:
                # No thread to be had (interpreter shutting down, thread limit): the line stays
                # queued and the next one tries again.
                logger.exception("api gateway: the access log writer could not start")
                return
            self._thread = thread

    def _run(self) -> None:
        try:
            while self._step():
                pass
        finally:
            if self._release is not None:
                try:
                    self._release()
                except Exception:
                    logger.exception("api gateway: the access log writer's connections were not released")

    def _step(self) -> bool:
        """Write one batch of what is queued; False once told to stop."""
        item = self._queue.get()
        lines: list[_Line] = []
        flushes: list[_Flush] = []
        stop = False
        while True:
            if isinstance(item, _Stop):
                stop = True
            elif isinstance(item, _Flush):
                flushes.append(item)
            else:
                lines.append(item)
            if stop or len(lines) >= _BATCH:
                break
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
        if lines and not self._abandoned:
            self._write_all(lines)
        self._report_dropped()
        for flush in flushes:
            flush.done.set()
        return not stop

    def _write_all(self, lines: list[_Line]) -> None:
        batches: dict[tuple[str, str], list[tuple[int, str]]] = {}
        for line in lines:
            batches.setdefault((line.group, line.stream), []).append((line.time_ms, line.message))
        for (group, stream), events in batches.items():
            try:
                self._write(group, stream, events)
            except Exception:  # the next batch is tried as usual: logging never takes the writer down
                logger.exception("api gateway: access log lines for %s were not written", group)

    def _report_dropped(self) -> None:
        with self._lock:
            count, self._unreported = self._unreported, 0
        if count:
            logger.warning("api gateway: %d access log lines were dropped (the queue was full)", count)

    def _write(self, group: str, stream: str, events: list[tuple[int, str]]) -> None:
        sink = self._sink()
        if sink is None:
            return
        try:
            sink.put(group, stream, events)
        except NotFoundError:
            try:
                sink.create_stream(group, stream)
            except ConflictError:
                pass  # made meanwhile
            except NotFoundError:
                # API Gateway does not make the destination group: its lines are lost.
                if group not in self._missing:
                    self._missing.add(group)
                    logger.warning("api gateway: access log group %s does not exist; access log lines are dropped", group)
                return
            sink.put(group, stream, events)
        self._missing.discard(group)
