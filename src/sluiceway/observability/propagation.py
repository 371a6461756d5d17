"""A trace's context as text: what is stored with a message, an event or an invocation to continue its trace.

Two spellings of the same thing, the 128-bit trace id, the 64-bit id of the calling span and
whether the trace is sampled:

- W3C Trace Context's ``traceparent``: ``00-<32 hex trace id>-<16 hex span id>-<2 hex flags>``.
  Sluiceway keeps this one with what it stores (events on a bus, SNS messages, asynchronous
  invocations) and reads it from requests to the endpoint.
- AWS X-Ray's trace header: ``Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=<0|1>`` (the
  ``X-Amzn-Trace-Id`` HTTP header, SQS's ``AWSTraceHeader`` message system attribute, Lambda's
  ``_X_AMZN_TRACE_ID``). Its ``Root`` is the same 128 bits as a W3C trace id: the first 8 hex
  digits (X-Ray's epoch seconds) then the other 24.

:func:`current_traceparent` and :func:`current_trace_header` give the current span's context in
each spelling, for a backend to store with what it commits. They cost one module-global read
while no :class:`~.tracing.Tracing` has turned tracing on in this process
(:func:`activate`): OpenTelemetry is not even imported then.

Pure apart from that flag.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Final

__all__ = [
    "TraceContext",
    "activate",
    "active",
    "current_context",
    "current_trace_header",
    "current_traceparent",
    "parse_trace_header",
    "parse_traceparent",
]

_TRACEPARENT: Final = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
_XRAY_ROOT: Final = re.compile(r"^1-([0-9a-fA-F]{8})-([0-9a-fA-F]{24})$")
_HEX16: Final = re.compile(r"^[0-9a-fA-F]{16}$")

_active = False


@dataclass(frozen=True)
class TraceContext:
    """A span's place in its trace, as carried between processes."""

    trace_id: int
    """128 bits; never 0."""
    span_id: int
    """The 64-bit id of the span to continue (the parent of what the receiver starts); never 0."""
    sampled: bool = True

    @property
    def traceparent(self) -> str:
        """W3C's ``traceparent`` value (version 00)."""
        return f"00-{self.trace_id:032x}-{self.span_id:016x}-{1 if self.sampled else 0:02x}"

    @property
    def trace_header(self) -> str:
        """AWS X-Ray's trace header (``X-Amzn-Trace-Id``, ``AWSTraceHeader``)."""
        text = f"{self.trace_id:032x}"
        return f"Root=1-{text[:8]}-{text[8:]};Parent={self.span_id:016x};Sampled={1 if self.sampled else 0}"


def parse_traceparent(value: str | None) -> TraceContext | None:
    """The context a ``traceparent`` value carries; None for none or a malformed one (W3C: then ignored).

    Example:
        >>> parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").span_id == 0x00F067AA0BA902B7
        True
    """
    if not value:
        return None
    match = _TRACEPARENT.match(value.strip())
    if match is None:
        return None
    version, trace, span, flags, rest = match.groups()
    # Version ff is forbidden; version 00 has nothing after the flags; later versions may.
    if version == "ff" or (version == "00" and rest):
        return None
    trace_id, span_id = int(trace, 16), int(span, 16)
    if not trace_id or not span_id:
        return None
    return TraceContext(trace_id, span_id, bool(int(flags, 16) & 1))


def parse_trace_header(value: str | None) -> TraceContext | None:
    """The context an X-Ray trace header carries; None without both a ``Root`` and a ``Parent``.

    A header with a ``Root`` only (a new trace the caller did not record: an incoming request's
    ``Root=1-...``) has no span to continue, so it gives None too. ``Sampled`` other than ``0``
    (``1``, ``?`` for "decide yourself", missing) counts as sampled.

    Example:
        >>> parse_trace_header("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1").trace_header
        'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1'
    """
    if not value:
        return None
    fields: dict[str, str] = {}
    for part in value.split(";"):
        key, _, item = part.strip().partition("=")
        fields.setdefault(key.strip(), item.strip())
    root = _XRAY_ROOT.match(fields.get("Root", ""))
    parent = fields.get("Parent", "")
    if root is None or not _HEX16.match(parent):
        return None
    trace_id, span_id = int(root.group(1) + root.group(2), 16), int(parent, 16)
    if not trace_id or not span_id:
        return None
    return TraceContext(trace_id, span_id, fields.get("Sampled") != "0")


def activate() -> None:
    """Say that this process traces: from now on the ``current_*`` functions look at the current span."""
    global _active
    _active = True


def active() -> bool:
    """Whether a :class:`~.tracing.Tracing` turned tracing on in this process."""
    return _active


def current_context() -> TraceContext | None:
    """The current span's context, to continue its trace elsewhere; None when nothing traces here."""
    if not _active:
        return None
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return None
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return TraceContext(context.trace_id, context.span_id, context.trace_flags.sampled)


def current_traceparent() -> str | None:
    """:func:`current_context` as a ``traceparent`` value (what backends store with what they commit)."""
    context = current_context()
    return context.traceparent if context is not None else None


def current_trace_header() -> str | None:
    """:func:`current_context` as an X-Ray trace header (SQS's ``AWSTraceHeader``)."""
    context = current_context()
    return context.trace_header if context is not None else None
