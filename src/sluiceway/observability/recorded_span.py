"""The stack's spans as plain records: what a span costs on the work's own path when tracing is on.

The OpenTelemetry SDK's span does much per span that the stack does not need: a lock, a
sampler chain, a bounded attribute set that validates each value, span processors called on
start and end, a ``ReadableSpan`` copy at the end, and then a protobuf message tree built for
export. Profiling the small-file benchmark put that at most of tracing's cost in the stack's
process. A :class:`RecordedSpan` is an OpenTelemetry API span (it goes in OpenTelemetry's
context, so the current span, :mod:`.propagation` and anything calling
``opentelemetry.trace.get_current_span()`` see it) holding only its fields; ending it hands it
to a sink (:class:`.span_queue.SpanQueue`), whose thread encodes it
(:mod:`.otlp_encoding`) exactly as the SDK's OTLP exporter would.

Ids are drawn as the SDK's ``RandomIdGenerator`` draws them, times are ``time.time_ns()``,
and the sampler is the SDK's own (``OTEL_TRACES_SAMPLER``), asked only when it is not the
default ``parentbased_always_on`` (whose answer is the parent's sampled flag, else sampled).

No span limits: the stack's spans carry a handful of attributes, and an exception event at most.

Imported only when tracing is on (the SDK is loaded by then).
"""

from __future__ import annotations

import random
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Final

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import DEFAULT_ON, Decision, Sampler
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.util import types

__all__ = ["RecordedSpan", "SpanEvent", "SpanFactory", "remote"]

_SAMPLED: Final = TraceFlags(TraceFlags.SAMPLED)
_NOT_SAMPLED: Final = TraceFlags(TraceFlags.DEFAULT)
_UNSET: Final = Status(StatusCode.UNSET)

SpanEvent = tuple[str, int, Mapping[str, types.AnyValue]]
"""An event of a span: its name, its time (ns since the epoch) and its attributes."""


class RecordedSpan(trace.Span):
    """One span's fields; :meth:`end` hands it to its sink once (later calls do nothing)."""

    __slots__ = ("_sink", "attributes", "context", "end_time", "events", "kind", "name", "parent", "start_time", "status")

    def __init__(
        self,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        kind: SpanKind,
        attributes: dict[str, types.AnyValue],
        start_time: int,
        sink: Callable[[RecordedSpan], None] | None,
    ) -> None:
        self.name = name
        self.context = context
        self.parent = parent
        """The parent's context (``is_remote`` when it came from another process or a stored message); None: a root."""
        self.kind = kind
        self.attributes = attributes
        self.start_time = start_time
        self.end_time: int | None = None
        self.events: list[SpanEvent] = []
        self.status = _UNSET
        self._sink = sink
        """Where the ended span goes; None once ended, and for a span that is not sampled (not recording)."""

    # -- OpenTelemetry's Span API -------------------------------------------------------

    def get_span_context(self) -> SpanContext:
        return self.context

    def is_recording(self) -> bool:
        return self._sink is not None

    def end(self, end_time: int | None = None) -> None:
        sink, self._sink = self._sink, None
        if sink is not None:
            self.end_time = end_time if end_time is not None else time.time_ns()
            sink(self)

    def set_attribute(self, key: str, value: types.AnyValue) -> None:
        if self._sink is not None:
            self.attributes[key] = value

    def set_attributes(self, attributes: Mapping[str, types.AnyValue]) -> None:
        if self._sink is not None:
            self.attributes.update(attributes)

    def add_event(self, name: str, attributes: types.Attributes = None, timestamp: int | None = None) -> None:
        if self._sink is not None:
            self.events.append((name, timestamp if timestamp is not None else time.time_ns(), dict(attributes or {})))

    def update_name(self, name: str) -> None:
        if self._sink is not None:
            self.name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        # As the SDK: an OK status is final, and UNSET is never set.
        if self._sink is None or self.status.status_code is StatusCode.OK:
            return
        if isinstance(status, StatusCode):
            status = Status(status, description)
        if status.status_code is not StatusCode.UNSET:
            self.status = status

    def record_exception(
        self, exception: BaseException, attributes: types.Attributes = None, timestamp: int | None = None, escaped: bool = False
    ) -> None:
        # The SDK's event, attribute for attribute (OpenTelemetry's exception conventions).
        if self._sink is None:
            return
        kind = type(exception)
        module = kind.__module__
        recorded: dict[str, types.AnyValue] = {
            "exception.type": f"{module}.{kind.__qualname__}" if module and module != "builtins" else kind.__qualname__,
            "exception.message": str(exception),
            "exception.stacktrace": "".join(traceback.format_exception(exception)),
            "exception.escaped": str(escaped),
        }
        if attributes:
            recorded.update(attributes)
        self.add_event("exception", recorded, timestamp)

    def __repr__(self) -> str:
        return f"RecordedSpan({self.name!r}, span_id={self.context.span_id:016x})"


class SpanFactory:
    """Starts :class:`RecordedSpan` s with fresh ids, sampled as ``sampler`` says, ended into ``sink``.

    Args:
        sink: what an ended, sampled span is handed to.
        sampler: the SDK's sampler (``TracerProvider().sampler`` reads ``OTEL_TRACES_SAMPLER``).
    """

    def __init__(self, sink: Callable[[RecordedSpan], None], sampler: Sampler = DEFAULT_ON) -> None:
        self._sink = sink
        self._sampler = None if sampler is DEFAULT_ON else sampler

    def start(
        self,
        name: str,
        parent: SpanContext | None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, types.AnyValue] | None = None,
        start_time: int | None = None,
    ) -> RecordedSpan:
        """A new span, child of ``parent`` (None or an invalid context: a new trace's root)."""
        if parent is not None and not parent.is_valid:
            parent = None
        trace_id = parent.trace_id if parent is not None else _trace_id()
        recorded = dict(attributes) if attributes else {}
        sink: Callable[[RecordedSpan], None] | None
        if self._sampler is None:
            sampled = parent is None or parent.trace_flags.sampled
            sink = self._sink if sampled else None
        else:
            sampled, recording, recorded = self._ask(name, parent, trace_id, kind, recorded)
            # As the SDK's span processors: a span recorded but not sampled is never exported.
            sink = self._sink if sampled else _discard if recording else None
        context = SpanContext(trace_id, _span_id(), is_remote=False, trace_flags=_SAMPLED if sampled else _NOT_SAMPLED)
        started = start_time if start_time is not None else time.time_ns()
        return RecordedSpan(name, context, parent, kind, recorded, started, sink)

    def _ask(
        self, name: str, parent: SpanContext | None, trace_id: int, kind: SpanKind, attributes: dict[str, types.AnyValue]
    ) -> tuple[bool, bool, dict[str, types.AnyValue]]:
        assert self._sampler is not None
        context: Context | None = trace.set_span_in_context(trace.NonRecordingSpan(parent)) if parent is not None else None
        result = self._sampler.should_sample(context, trace_id, name, kind, attributes)
        # As the SDK: the span keeps the attributes the sampler answers with.
        decision = result.decision
        sampled = decision is Decision.RECORD_AND_SAMPLE
        return sampled, sampled or decision is Decision.RECORD_ONLY, dict(result.attributes or {})


def _discard(span: RecordedSpan) -> None:
    pass


def _trace_id() -> int:
    # As the SDK's RandomIdGenerator: 128 random bits, never the invalid 0.
    while True:
        found = random.getrandbits(128)
        if found:
            return found


def _span_id() -> int:
    while True:
        found = random.getrandbits(64)
        if found:
            return found


def remote(trace_id: int, span_id: int, sampled: bool) -> SpanContext:
    """A parent's context as carried from elsewhere (a header, a stored message)."""
    return SpanContext(trace_id, span_id, is_remote=True, trace_flags=_SAMPLED if sampled else _NOT_SAMPLED)
