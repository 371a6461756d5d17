"""What :class:`~.tracing.Tracing` does when tracing is on: its spans made current, their failures, their parents.

Imported by :class:`~.tracing.Tracing` only when it traces: the OpenTelemetry SDK and the OTLP
exporter are loaded then, never in a stack that does not trace.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Span, SpanContext, SpanKind, Status, StatusCode

from .. import __version__
from . import propagation
from .otlp_encoding import encode_attributes, encode_request, encode_scope
from .propagation import TraceContext
from .recorded_span import RecordedSpan, SpanFactory, remote
from .span_queue import SpanQueue, queue_settings

logger = logging.getLogger(__name__)

__all__ = ["KINDS", "CurrentSpan", "build", "parent_context", "record_failure", "record_server_failure"]

KINDS: Final = {
    "internal": SpanKind.INTERNAL,
    "server": SpanKind.SERVER,
    "client": SpanKind.CLIENT,
    "producer": SpanKind.PRODUCER,
    "consumer": SpanKind.CONSUMER,
}
"""OpenTelemetry's span kinds by :data:`~.tracing.Kind`."""


class CurrentSpan:
    """A started span made current around a block, ended after it (what ``start_as_current_span`` does, minus its layers)."""

    __slots__ = ("_on_error", "_span", "_token")

    def __init__(self, span: RecordedSpan, *, on_error: Callable[[Span, BaseException], None]) -> None:
        self._span = span
        self._on_error = on_error
        self._token: object = None

    def __enter__(self) -> Span:
        self._token = otel_context.attach(trace.set_span_in_context(self._span))
        return self._span

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        span = self._span
        try:
            otel_context.detach(self._token)  # type: ignore[arg-type]
            if exc is not None and span.is_recording():
                self._on_error(span, exc)
            span.end()
        except Exception:  # tracing's own trouble never replaces the block's outcome
            logger.warning("could not end a span", extra={"span": span.name}, exc_info=True)


def record_failure(span: Span, exc: BaseException) -> None:
    # As OpenTelemetry's use_span: exceptions only (a GeneratorExit, a KeyboardInterrupt are no failure).
    if isinstance(exc, Exception):
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))


def record_server_failure(span: Span, exc: BaseException) -> None:
    status = getattr(exc, "status", 500)
    span.record_exception(exc)
    code = getattr(exc, "code", None)
    if isinstance(code, str):
        span.set_attribute("aws.error.code", code)
    if isinstance(status, int):
        span.set_attribute("http.response.status_code", status)
    if not isinstance(status, int) or status >= 500:
        span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))


def build(endpoint: str, service_name: str, environ: Mapping[str, str]) -> tuple[SpanFactory, SpanQueue]:
    """The span factory and the export queue (its thread, the OTLP/HTTP exporter) of a stack that traces."""
    # The SDK's own pieces where they decide something: the resource (OTEL_RESOURCE_ATTRIBUTES,
    # telemetry.sdk.*), the sampler (OTEL_TRACES_SAMPLER), the exporter's HTTP client (headers,
    # timeout, compression, certificates, retries from OTEL_EXPORTER_OTLP_*). The provider is
    # only asked for its sampler: it never sees a span, so it needs no shutdown.
    resource = encode_attributes(Resource.create({"service.name": service_name}).attributes)
    scope = encode_scope("sluiceway", __version__)
    sampler = TracerProvider(shutdown_on_exit=False).sampler
    exporter = OTLPSpanExporter(endpoint=endpoint)
    # The exporter's public export() takes the SDK's spans and builds a protobuf message tree of
    # them, the cost this path avoids: its HTTP client takes the encoded request as it is. The
    # client is not public: an exporter without it (another release) gets the SDK's spans
    # through export(), slower and the same on the wire, rather than a stack that cannot trace.
    client = getattr(exporter, "_client", None)
    if client is not None and callable(getattr(client, "export", None)):

        def export(spans: list[RecordedSpan]) -> bool:
            return bool(client.export(encode_request(resource, scope, spans)).success)

    else:
        sdk_resource = Resource.create({"service.name": service_name})

        def export(spans: list[RecordedSpan]) -> bool:
            return exporter.export([readable(span, sdk_resource) for span in spans]) is SpanExportResult.SUCCESS

    max_queue, max_batch, delay_s = queue_settings(environ)
    queue = SpanQueue(export, max_queue=max_queue, max_batch=max_batch, delay_s=delay_s, stop=exporter.shutdown)
    return SpanFactory(queue.put, sampler), queue


def parent_context(parent: TraceContext | str | None) -> SpanContext | None:
    """The context a span continues: ``parent`` as a remote span (a header, a stored message), else the current span's."""
    if isinstance(parent, str):
        parent = propagation.parse_traceparent(parent) or propagation.parse_trace_header(parent)
    if parent is None:
        context = trace.get_current_span().get_span_context()
        return context if context.is_valid else None
    return remote(parent.trace_id, parent.span_id, parent.sampled)


def readable(span: RecordedSpan, resource: Resource, scope: InstrumentationScope | None = None) -> ReadableSpan:
    """``span`` as the SDK's own span, for an exporter that takes only those (see :func:`build`)."""
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=resource,
        attributes=span.attributes,
        events=[Event(name, attributes, timestamp) for name, timestamp, attributes in span.events],
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=scope or InstrumentationScope("sluiceway", __version__),
    )
