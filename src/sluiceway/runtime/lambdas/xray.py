"""The X-Ray trace header Lambda gives each invocation, and what tracing a local execution environment has.

Lambda sets ``_X_AMZN_TRACE_ID`` before every invocation, whether or not the function has active
tracing: ``Root=1-<8 hex: epoch seconds>-<24 hex>;Parent=<16 hex>;Sampled=0|1``. Powertools'
Logger copies its ``Root`` into every line (``xray_trace_id``), and the X-Ray SDK starts the
function's segment from it. Sluiceway's workers set one per invocation the same way
(:func:`trace_header`): fresh, or continuing the OpenTelemetry trace the invocation belongs to
(an X-Ray trace id is the same 128 bits as a W3C trace id, written ``1-`` + 8 hex + ``-`` + 24 hex).

Tracing itself stays off locally unless a function asks for it (:data:`ENVIRONMENT_DEFAULTS`):
there is no X-Ray daemon here, and Powertools' Tracer, enabled, patches botocore and every HTTP
library in the function and sends sampled segments over UDP to ``127.0.0.1:2000``, where nothing
listens (or, worse, a developer's own daemon forwards them to their AWS account). Sluiceway's
own traces are OpenTelemetry's. A function opts in with ``POWERTOOLS_TRACE_DISABLED: "false"`` in its
``Environment.Variables``, for a daemon the developer runs (``AWS_XRAY_DAEMON_ADDRESS``).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping

__all__ = ["ENVIRONMENT_DEFAULTS", "TRACE_HEADER_ENV", "root_of", "trace_header"]

TRACE_HEADER_ENV = "_X_AMZN_TRACE_ID"
"""The variable Lambda's runtime sets to the invocation's trace header."""

ENVIRONMENT_DEFAULTS: Mapping[str, str] = {
    # Lambda's own value: a segment opened outside a traced context logs an error instead of raising.
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    # No X-Ray daemon here (see the module docstring); a function's own environment may say "false".
    "POWERTOOLS_TRACE_DISABLED": "true",
}
"""Variables every local execution environment starts with; a function's ``Environment.Variables`` override them."""


def trace_header(trace_id: int | None = None, parent_id: int | None = None, *, sampled: bool = False, now: float | None = None) -> str:
    """An invocation's ``_X_AMZN_TRACE_ID``, in Lambda's shape.

    Args:
        trace_id: the 128-bit trace to continue (an OpenTelemetry span's ``trace_id``); a new one
            (epoch seconds, then 96 random bits, as X-Ray makes them) when None.
        parent_id: the 64-bit id of the calling span; random when None (Lambda names the segment
            of the function's invocation).
        sampled: whether the trace is recorded (``Sampled=1``). Lambda says 0 unless the function
            has active tracing and the caller's sampling decision allows it.
        now: the epoch seconds a new trace id starts with.

    Example:
        >>> trace_header(0x6752A5F30B6E1D2C3F4A5B6C7D8E9F01, 0x53995C3F42CD8AD8)
        'Root=1-6752a5f3-0b6e1d2c3f4a5b6c7d8e9f01;Parent=53995c3f42cd8ad8;Sampled=0'
    """
    if trace_id is None:
        seconds = int(time.time() if now is None else now) & 0xFFFFFFFF
        trace_id = (seconds << 96) | secrets.randbits(96)
    if parent_id is None:
        parent_id = secrets.randbits(64) or 1  # an all-zero id means "none" to X-Ray and W3C alike
    text = format(trace_id, "032x")
    return f"Root=1-{text[:8]}-{text[8:]};Parent={parent_id:016x};Sampled={1 if sampled else 0}"


def root_of(header: str) -> str | None:
    """The ``Root`` of a trace header (``1-6752a5f3-...``), as Powertools' Logger logs it; None without one.

    Example:
        >>> root_of("Root=1-6752a5f3-0b6e1d2c3f4a5b6c7d8e9f01;Parent=53995c3f42cd8ad8;Sampled=0")
        '1-6752a5f3-0b6e1d2c3f4a5b6c7d8e9f01'
    """
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == "Root" and value:
            return value
    return None
