"""What a handler writes, captured as CloudWatch log events the way Lambda's Python runtime does.

Each line written to standard output or standard error is one event (``print`` in a
handler); each ``logging`` record is one event formatted as the runtime formats it
(``[LEVEL]\\t<time>Z\\t<request id>\\t<message>``, a traceback included); an unhandled
error is one ``[ERROR] Type: message`` event with its traceback. Writes still reach the
original streams, so the console shows them as before.

Capturing is cheap (a list append per line) and nothing is written anywhere until the
invocation ends: the runner hands the events over with the result, and the invoker stores
them in one transaction.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

__all__ = ["CallLogs", "Capture", "capturing", "error_event", "install"]

_LEVEL_TIME = "%Y-%m-%dT%H:%M:%S"


@dataclass
class CallLogs:
    """What one invocation logged, filled in by the runner that ran it."""

    stream: str = ""
    """The log stream of the execution environment (worker) that ran it."""
    started_ms: int = 0
    ended_ms: int = 0
    events: list[tuple[int, str]] = field(default_factory=list)
    """``(timestamp ms, message)`` the handler wrote, in order."""
    max_memory_mb: int | None = None
    init_ms: float | None = None
    """The cold start's import time, when this invocation paid for one."""


def _now_ms() -> int:
    return int(time.time() * 1000)


class Capture:
    """The events of one invocation (thread-safe: a handler may print from threads of its own)."""

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.events: list[tuple[int, str]] = []
        self._partial: dict[int, str] = {}
        self._lock = threading.Lock()

    def write(self, text: str, channel: int) -> None:
        """Text written to stream ``channel`` (1 stdout, 2 stderr): complete lines become events."""
        with self._lock:
            pending = self._partial.pop(channel, "") + text
            *lines, rest = pending.split("\n")
            now = _now_ms()
            self.events.extend((now, line + "\n") for line in lines)
            if rest:
                self._partial[channel] = rest

    def record(self, message: str) -> None:
        """One whole event (a logging record, an error report)."""
        with self._lock:
            self.events.append((_now_ms(), message if message.endswith("\n") else message + "\n"))

    def finish(self) -> list[tuple[int, str]]:
        """The events, an unfinished last line included."""
        with self._lock:
            now = _now_ms()
            for channel in sorted(self._partial):
                self.events.append((now, self._partial[channel] + "\n"))
            self._partial.clear()
            return list(self.events)


# -- routing writes to the invocation that made them -----------------------------------------

_state = threading.local()
_process_wide: Capture | None = None
_install_lock = threading.Lock()


def _current() -> Capture | None:
    found: Capture | None = getattr(_state, "capture", None)
    return found if found is not None else _process_wide


class _Tee(io.TextIOBase):
    """A standard stream that also feeds the current invocation's capture."""

    def __init__(self, original: TextIO, channel: int) -> None:
        self.original = original
        self.channel = channel

    def write(self, text: str) -> int:
        capture = _current()
        if capture is not None:
            capture.write(text, self.channel)
        return self.original.write(text)

    def flush(self) -> None:
        self.original.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.original.isatty()

    def fileno(self) -> int:
        return self.original.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self.original, "encoding", "utf-8"))


class _LambdaHandler(logging.Handler):
    """The runtime's root handler: a record of an invocation becomes one event of it."""

    def emit(self, record: logging.LogRecord) -> None:
        capture = _current()
        if capture is None:
            return
        try:
            message = self.format(record)
        except Exception:  # a record that cannot be formatted is lost, as in logging itself
            return
        stamp = time.strftime(_LEVEL_TIME, time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        capture.record(f"[{record.levelname}]\t{stamp}\t{capture.request_id}\t{message}")


_handler = _LambdaHandler()


def install() -> None:
    """Route standard output, standard error and root logging records to the current capture.

    Idempotent; it installs again if something (a test runner) replaced the streams since.
    """
    with _install_lock:
        if not isinstance(sys.stdout, _Tee):
            sys.stdout = _Tee(sys.stdout, 1)
        if not isinstance(sys.stderr, _Tee):
            sys.stderr = _Tee(sys.stderr, 2)
        root = logging.getLogger()
        if _handler not in root.handlers:
            root.addHandler(_handler)


def uninstall() -> None:
    """Put the original streams back and remove the logging handler."""
    with _install_lock:
        if isinstance(sys.stdout, _Tee):
            sys.stdout = sys.stdout.original
        if isinstance(sys.stderr, _Tee):
            sys.stderr = sys.stderr.original
        logging.getLogger().removeHandler(_handler)


class capturing:  # noqa: N801 - used as a context manager, like contextlib's
    """``with capturing(request_id, process_wide=...) as capture:`` around a handler call."""

    def __init__(self, request_id: str, *, process_wide: bool) -> None:
        self.capture = Capture(request_id)
        self.process_wide = process_wide

    def __enter__(self) -> Capture:
        global _process_wide
        install()
        if self.process_wide:
            _process_wide = self.capture
        else:
            _state.capture = self.capture
        return self.capture

    def __exit__(self, *exc: object) -> None:
        global _process_wide
        if self.process_wide:
            _process_wide = None
        else:
            _state.capture = None


def error_event(body: bytes) -> str:
    """The event Lambda's runtime logs for an unhandled error (``body`` is Lambda's error JSON)."""
    error: dict[str, Any] = json.loads(body)
    text = f"[ERROR] {error.get('errorType')}: {error.get('errorMessage')}"
    trace = error.get("stackTrace") or []
    if trace:
        text += "\nTraceback (most recent call last):\n" + "".join(trace)
    return text.rstrip("\n") + "\n"
