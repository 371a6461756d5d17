"""Writing a stage's access log: one event per request, after the response, never in its way.

Lines are queued by the request's thread and written by a writer thread that runs while there is
something to write (it ends when the queue is empty, so nothing needs closing). As on AWS, access
logging is best effort: a log group that does not exist (deleted, or never made) drops its lines
with a warning, and no failure reaches the request. The stream is made on first use, as API
Gateway makes its streams in the destination group.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ...errors import ConflictError, NotFoundError

logger = logging.getLogger(__name__)

__all__ = ["AccessLogWriter", "LogSink", "stream_name"]


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


class AccessLogWriter:
    """Queues access log lines and writes them to the log store on a thread of its own."""

    def __init__(self, sink: Callable[[], LogSink | None]) -> None:
        """``sink`` gives the stack's log store at write time (None when the stack has none)."""
        self._sink = sink
        self._lock = threading.Lock()
        self._queue: list[_Line] = []
        self._running = False
        self._missing: set[str] = set()

    def submit(self, group: str, stream: str, time_ms: int, message: str) -> None:
        """Queue one event for ``group``'s ``stream`` (never raises, never blocks on the store)."""
        with self._lock:
            self._queue.append(_Line(group, stream, time_ms, message))
            if self._running:
                return
            self._running = True
        threading.Thread(target=self._drain, name="apigw-access-logs", daemon=True).start()

    def _drain(self) -> None:
        while True:
            with self._lock:
                lines, self._queue = self._queue, []
                if not lines:
                    self._running = False
                    return
            batches: dict[tuple[str, str], list[tuple[int, str]]] = {}
            for line in lines:
                batches.setdefault((line.group, line.stream), []).append((line.time_ms, line.message))
            for (group, stream), events in batches.items():
                try:
                    self._write(group, stream, events)
                except Exception:
                    logger.exception("api gateway: access log lines for %s were not written", group)

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
