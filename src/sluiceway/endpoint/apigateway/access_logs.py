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

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ...errors import ConflictError, NotFoundError
from ...runtime.log_queue import BestEffortLogWriter, Wording

logger = logging.getLogger(__name__)

__all__ = ["AccessLogWriter", "LogSink", "stream_name"]

QUEUE_LINES = 10_000
"""The most lines waiting to be written; more are dropped (a stalled log store must not grow memory)."""


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


_WORDING = Wording(
    thread="sluiceway-apigw-access-logs",
    queue_full="api gateway: the access log queue is full (%d lines); access log lines are dropped",
    dropped="api gateway: %d access log lines were dropped (the queue was full)",
    gave_up="api gateway: the access log writer did not finish in %.1fs; queued lines are dropped",
    not_started="api gateway: the access log writer could not start",
    not_released="api gateway: the access log writer's connections were not released",
    not_written="api gateway: access log lines were not written",
)


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
        self._missing: set[str] = set()
        """Groups found missing, warned of once until they take lines again (touched on the writer's thread only)."""
        self._writer = BestEffortLogWriter[_Line](
            _by_stream,
            self._write,
            _WORDING,
            logger=logger,
            release=release,
            capacity=capacity,
            thread_factory=thread_factory,
        )

    @property
    def dropped(self) -> int:
        """Lines dropped so far because the queue was full or the writer was closed."""
        return self._writer.dropped

    def submit(self, group: str, stream: str, time_ms: int, message: str) -> None:
        """Queue one event for ``group``'s ``stream`` (never raises, never blocks)."""
        self._writer.submit(_Line(group, stream, time_ms, message))

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every line queued so far is written (or dropped); True if that happened within ``timeout`` seconds."""
        return self._writer.flush(timeout)

    def close(self, timeout: float = 10.0) -> bool:
        """Accept no more lines, write those queued (within ``timeout`` seconds), then stop the writer.

        Returns True if the writer ended in time; otherwise it is told to write nothing more (the
        log store it writes to is about to close) and what is still queued is lost.
        """
        return self._writer.close(timeout)

    def _write(self, group: str, stream: str, events: Sequence[tuple[int, str]]) -> None:
        sink = self._sink()
        if sink is None:
            return
        batch = list(events)
        try:
            sink.put(group, stream, batch)
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
            sink.put(group, stream, batch)
        self._missing.discard(group)


def _by_stream(lines: Sequence[_Line]) -> dict[tuple[str, str], list[tuple[int, str]]]:
    streams: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for line in lines:
        streams.setdefault((line.group, line.stream), []).append((line.time_ms, line.message))
    return streams
