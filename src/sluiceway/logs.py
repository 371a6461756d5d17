"""Logging set-up for entrypoints (CLI, API, Lambda handlers); library code only logs.

The message is a fixed phrase and the data goes in ``extra``. Two formats:

* ``json`` (``SLUICEWAY_LOG_FORMAT=json``): one JSON object per line shaped as Powertools for AWS
  Lambda's ``Logger`` shapes it, so that one CloudWatch Logs Insights query, one log collector
  parser, reads Sluiceway's lines and a handler's Powertools lines alike::

      {"level":"INFO","location":"start:88","message":"execution started",
       "timestamp":"2026-12-05 01:02:03,456+0000","service":"sluiceway",
       "execution_arn":"arn:aws:states:...","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}

  The keys, in Powertools' order: ``level``, ``location`` (``function:line``), ``message``,
  ``timestamp`` (Powertools' default format, in UTC as on Lambda), ``service``; in a Lambda
  handler (:func:`inject_lambda_context`) ``cold_start``, ``function_name``,
  ``function_memory_size``, ``function_arn``, ``function_request_id``; the keys bound with
  :func:`bind` (``execution_arn``...) and the record's extras; ``exception``, ``exception_name``
  and ``stack_trace`` for a record with an exception; ``xray_trace_id`` when the process has an
  X-Ray trace header (``_X_AMZN_TRACE_ID``, set per invocation by Lambda and by Sluiceway's
  workers); ``trace_id``, the current OpenTelemetry span's trace, when there is one. Keys whose
  value is None are left out, as Powertools leaves them out.
* ``console``: ``HH:MM:SS LEVEL logger: message key=value ...`` for people.

Keys bound with :func:`bind` live in a context variable: they follow a thread or an asyncio task,
never leak into another's lines, and both formats show them.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TypeVar

__all__ = [
    "DEFAULT_SERVICE",
    "SERVICE_ENV",
    "ConsoleFormatter",
    "JsonFormatter",
    "bind",
    "bound",
    "configure",
    "inject_lambda_context",
    "lambda_context_keys",
]

SERVICE_ENV = ("SLUICEWAY_SERVICE_NAME", "POWERTOOLS_SERVICE_NAME")
"""Where the ``service`` key comes from, first set wins (Powertools reads the second)."""
DEFAULT_SERVICE = "sluiceway"
XRAY_TRACE_ENV = "_X_AMZN_TRACE_ID"
"""The trace header Lambda sets for each invocation: ``Root=1-...;Parent=...;Sampled=0``."""
_INITIALIZATION_TYPE_ENV = "AWS_LAMBDA_INITIALIZATION_TYPE"

# Powertools' default: time.strftime codes, %F standing for the milliseconds ('2021-04-17 18:19:57,656+0000').
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S,{msecs}%z"
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_BOUND: ContextVar[Mapping[str, Any]] = ContextVar("sluiceway_log_keys", default=MappingProxyType({}))
_F = TypeVar("_F", bound=Callable[..., Any])


# -- bound keys -------------------------------------------------------------------------------


@contextmanager
def bind(**keys: Any) -> Iterator[None]:
    """Add ``keys`` to every line logged in this thread or task until the block ends.

    Example:
        >>> with bind(execution_arn="arn:aws:states:us-east-1:111111111111:execution:m:e"):
        ...     bound()["execution_arn"]
        'arn:aws:states:us-east-1:111111111111:execution:m:e'
    """
    token = _BOUND.set({**_BOUND.get(), **keys})
    try:
        yield
    finally:
        _BOUND.reset(token)


def bound() -> dict[str, Any]:
    """The keys bound in this thread or task (a copy)."""
    return dict(_BOUND.get())


# -- Lambda handlers --------------------------------------------------------------------------

_cold_start = True


def _take_cold_start() -> bool:
    """True for the first invocation an execution environment (a process) runs, as Powertools counts it."""
    global _cold_start
    if os.environ.get(_INITIALIZATION_TYPE_ENV) == "provisioned-concurrency":
        # Powertools' rule: a provisioned environment was initialised before any request waited on it.
        _cold_start = False
        return False
    cold, _cold_start = _cold_start, False
    return cold


def lambda_context_keys(context: Any, *, cold_start: bool) -> dict[str, Any]:
    """The keys Powertools' ``inject_lambda_context`` adds for an invocation, from a Lambda ``context``.

    ``function_memory_size`` is the context's ``memory_limit_in_mb`` as it is: a string on
    Lambda's Python runtime, so a string in the line too.
    """
    return {
        "cold_start": cold_start,
        "function_name": context.function_name,
        "function_memory_size": context.memory_limit_in_mb,
        "function_arn": context.invoked_function_arn,
        "function_request_id": context.aws_request_id,
    }


def inject_lambda_context(handler: _F) -> _F:
    """Decorate a Lambda handler ``(event, context)`` so that its lines carry the invocation's keys.

    What Powertools' ``@logger.inject_lambda_context`` does for its lines, for Sluiceway's: the
    function's name, memory, ARN and request id, and whether this invocation is a cold start.
    """

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
        with bind(**lambda_context_keys(context, cold_start=_take_cold_start())):
            return handler(event, context, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


# -- formatters -------------------------------------------------------------------------------


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _RESERVED and not k.startswith("_")}


def _xray_trace_id() -> str | None:
    # Read per line, as Powertools does: Lambda (and a Sluiceway worker) sets it for each invocation.
    header = os.environ.get(XRAY_TRACE_ENV)
    return header.split(";")[0].replace("Root=", "") if header else None


def _otel_trace_id() -> str | None:
    # Only when the process traces (the API is imported by whoever starts spans): logging must not
    # pull OpenTelemetry in, and a process without it pays one dictionary lookup.
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return None
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else None


def _stack_trace(exc_info: Any) -> dict[str, Any]:
    kind, value, tb = exc_info
    return {
        "type": kind.__name__,
        "value": str(value),
        "module": type(value).__module__,
        "frames": [
            {"file": frame.filename, "line": frame.lineno, "function": frame.name, "statement": frame.line}
            for frame in traceback.extract_tb(tb)
        ],
    }


def _service_from_env() -> str:
    for name in SERVICE_ENV:
        value = os.environ.get(name)
        if value:
            return value
    return DEFAULT_SERVICE


class JsonFormatter(logging.Formatter):
    """One JSON object per line with Powertools Logger's keys, formats and order (see the module docstring)."""

    def __init__(self, service: str | None = None) -> None:
        super().__init__()
        self.service = service or _service_from_env()

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        """Powertools' default timestamp, ``2026-12-05 01:02:03,456+0000``, in UTC (Lambda's zone)."""
        stamp = time.gmtime(record.created)
        return time.strftime(_TIME_FORMAT.format(msecs="%03d" % record.msecs), stamp)  # noqa: UP031 - Powertools' rounding

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "level": record.levelname,
            "location": f"{record.funcName}:{record.lineno}",
            "message": record.msg if isinstance(record.msg, dict) else record.getMessage(),
            "timestamp": self.formatTime(record),
            "service": self.service,
        }
        line.update(_BOUND.get())
        line.update(_extras(record))
        if isinstance(record.exc_info, tuple) and hasattr(record.exc_info[0], "__name__"):
            line.setdefault("exception", self.formatException(record.exc_info))
            line.setdefault("exception_name", record.exc_info[0].__name__)  # type: ignore[union-attr]
            line.setdefault("exception_notes", getattr(record.exc_info[1], "__notes__", None))
            line["stack_trace"] = _stack_trace(record.exc_info)
        line["xray_trace_id"] = _xray_trace_id()
        line.setdefault("trace_id", _otel_trace_id())
        return json.dumps(
            {k: v for k, v in line.items() if v is not None},
            default=str,
            separators=(",", ":"),
            ensure_ascii=False,
        )


class ConsoleFormatter(logging.Formatter):
    """``HH:MM:SS LEVEL logger: message key=value ...``."""

    def format(self, record: logging.LogRecord) -> str:
        keys = {**_BOUND.get(), **_extras(record)}
        extras = " ".join(f"{k}={v}" for k, v in keys.items())
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S")
        line = f"{stamp} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if extras:
            line += f" {extras}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure(level: str = "INFO", fmt: str = "console", stream: Any = None, *, service: str | None = None) -> None:
    """Send the ``sluiceway`` logger's records to ``stream`` (stderr) in ``fmt``.

    Args:
        level: the lowest level shown.
        fmt: ``"json"`` (Powertools-shaped lines) or ``"console"``.
        stream: where lines go; standard error by default.
        service: the JSON lines' ``service``; by default ``SLUICEWAY_SERVICE_NAME``, else
            ``POWERTOOLS_SERVICE_NAME``, else ``sluiceway``.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(service) if fmt == "json" else ConsoleFormatter())
    root = logging.getLogger("sluiceway")
    for existing in list(root.handlers):
        if not isinstance(existing, logging.NullHandler):
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
