"""Tracing inside a function's worker process: handlers' AWS calls as spans of their invocation's trace.

What an OpenTelemetry Lambda layer does on AWS, done by the worker: when the stack traces (its
invoker hands the workers the ``OTEL_*`` variables of :meth:`.tracing.Tracing.worker_environment`),
:func:`worker_tracing_from_environ` sets up the SDK once per worker process, as the process's
global tracer provider (a handler's own ``opentelemetry.trace.get_tracer`` spans go there too),
and instruments botocore, so every boto3 call a handler makes is a client span.

:meth:`WorkerTracing.invocation` wraps one call: the invocation's ``_X_AMZN_TRACE_ID`` (which
continues the invoker's span) becomes the current context, so the handler's spans are its
children; and, as Lambda's OpenTelemetry layer does before an environment may be frozen, the
spans are exported before the result goes back.

The trace reaches the endpoint through the request's ``X-Amzn-Trace-Id`` header: botocore adds
it from ``_X_AMZN_TRACE_ID`` inside a Lambda function (its recursion detection), and the
instrumentation then leaves the header as it is, so the endpoint's span is a child of the
invocation's span (a sibling of the client span). The instrumentation's propagator is W3C's
``traceparent``, Sluiceway's own; the endpoint reads either.

Without the variables nothing of OpenTelemetry is imported here.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from . import propagation
from .tracing import DEFAULT_SERVICE_NAME, SERVICE_NAME_ENV, traces_endpoint

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

logger = logging.getLogger(__name__)

__all__ = ["FLUSH_TIMEOUT_S", "WorkerTracing", "worker_tracing_from_environ"]

FLUSH_TIMEOUT_S = 2.0
"""How long an invocation's end waits for its spans to be exported: a collector that hangs costs this, once per call."""


class WorkerTracing:
    """One worker process's tracing (see the module docstring)."""

    def __init__(self, provider: TracerProvider) -> None:
        self._provider = provider

    @contextlib.contextmanager
    def invocation(self, trace_header: str | None) -> Iterator[None]:
        """Run one invocation with ``trace_header`` (Lambda's ``_X_AMZN_TRACE_ID``) as the current context."""
        from opentelemetry import context, trace

        parent = propagation.parse_trace_header(trace_header)
        token = None
        if parent is not None:
            flags = trace.TraceFlags(trace.TraceFlags.SAMPLED if parent.sampled else trace.TraceFlags.DEFAULT)
            remote = trace.NonRecordingSpan(trace.SpanContext(parent.trace_id, parent.span_id, is_remote=True, trace_flags=flags))
            token = context.attach(trace.set_span_in_context(remote))
        try:
            yield
        finally:
            if token is not None:
                context.detach(token)
            try:
                self._provider.force_flush(int(FLUSH_TIMEOUT_S * 1000))
            except Exception:  # a collector's trouble never fails an invocation
                logger.debug("could not export an invocation's spans", exc_info=True)


def worker_tracing_from_environ(environ: Mapping[str, str]) -> WorkerTracing | None:
    """Set up tracing in this worker process when the standard variables ask for it; None otherwise."""
    endpoint = traces_endpoint(environ)
    if endpoint is None:
        return None
    try:
        return WorkerTracing(_setup(endpoint, environ.get(SERVICE_NAME_ENV, "").strip() or DEFAULT_SERVICE_NAME))
    except Exception:  # a worker without traces still runs its functions
        logger.warning("could not set up tracing in a function worker", exc_info=True)
        return None


def _setup(endpoint: str, service_name: str) -> TracerProvider:
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    instrumentor: Any = BotocoreInstrumentor()  # type: ignore[no-untyped-call]
    instrumentor.instrument(tracer_provider=provider, propagator=TraceContextTextMapPropagator())
    propagation.activate()
    return provider
