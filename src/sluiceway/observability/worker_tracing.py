"""Tracing inside a function's worker process: handlers' AWS calls as spans of their invocation's trace.

What an OpenTelemetry Lambda layer does on AWS, done by the worker: when the stack traces (its
invoker hands the workers the ``OTEL_*`` variables of :meth:`.tracing.Tracing.worker_environment`),
:func:`worker_tracing_from_environ` sets up tracing once per worker process: a global tracer
provider (a handler's own ``opentelemetry.trace.get_tracer`` spans go there too) and botocore's
instrumentation, so every boto3 call a handler makes is a client span.

**service.name** is the function's, as the Lambda layer names it: the function's own
``OTEL_SERVICE_NAME`` when its configuration sets one, else its name. The environment is read
when an invocation starts (the function's variables are set by then), and each service gets a
provider of its own (a resource names one service), since one worker runs many packaged
functions; the global provider hands each span to the current invocation's.

:meth:`WorkerTracing.invocation` wraps one call: the invocation's ``_X_AMZN_TRACE_ID`` (which
continues the invoker's span) becomes the current context, so the handler's spans are its
children. At its end its spans are exported at once, as Lambda's layer does before an environment
may be frozen, but by a thread of the worker's own and never waited for: the export is an HTTP
POST (about a millisecond to a collector on the same host, more across a network, up to the
exporter's timeout for one that hangs), and the SDK's ``force_flush`` does not honour its timeout,
so a flush on the invocation's path would cost every invocation that made a span that much, and a
slow collector could time a function out. The result goes back while the spans go out; a local
worker is not frozen, and one that exits (the stack's stop) exports what is left as it does. An
invocation that started no span (a handler without AWS calls) has nothing to flush and costs nothing.

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
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

from . import propagation
from .tracing import DEFAULT_SERVICE_NAME, SERVICE_NAME_ENV, traces_endpoint

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer

logger = logging.getLogger(__name__)

__all__ = ["FLUSH_TIMEOUT_S", "WorkerTracing", "worker_tracing_from_environ"]

FLUSH_TIMEOUT_S: Final = 5.0
"""What the flushing thread asks of a provider's ``force_flush`` (for a span processor that honours it)."""
FUNCTION_NAME_ENV: Final = "AWS_LAMBDA_FUNCTION_NAME"


class WorkerTracing:
    """One worker process's tracing (see the module docstring).

    Args:
        endpoint: the OTLP/HTTP traces URL.
        environ: the process's environment, read when each invocation starts (``os.environ``:
            the function's own variables are set by then).
        make_provider: ``(endpoint, service name) -> TracerProvider`` (an OTLP exporter behind a
            batch processor by default).

    :func:`worker_tracing_from_environ` also makes it the process's tracing; made directly, it is not.
    """

    def __init__(
        self, endpoint: str, environ: Mapping[str, str], *, make_provider: Callable[[str, str], TracerProvider] | None = None
    ) -> None:
        self._endpoint = endpoint
        self._environ = environ
        self._make_provider = make_provider or _provider
        self._providers: dict[str, TracerProvider] = {}
        self._current: TracerProvider | None = None
        self._lock = threading.Lock()
        self._due: list[TracerProvider] = []
        """Providers whose invocations ended since the flushing thread last looked (each once)."""
        self._wake = threading.Condition()
        self._flusher: threading.Thread | None = None
        self._traced = False
        """Whether a span was started since the current invocation began (else nothing is flushed)."""

    def service_name(self) -> str:
        """The current function's ``service.name``: its ``OTEL_SERVICE_NAME``, else its name."""
        own = self._environ.get(SERVICE_NAME_ENV, "").strip()
        return own or self._environ.get(FUNCTION_NAME_ENV, "").strip() or DEFAULT_SERVICE_NAME

    def provider(self) -> TracerProvider:
        """The tracer provider of the current function's service (made on first use)."""
        current = self._current
        if current is not None:
            return current
        name = self.service_name()
        with self._lock:
            found = self._providers.get(name)
            if found is None:
                found = self._providers[name] = self._make_provider(self._endpoint, name)
        return found

    @contextlib.contextmanager
    def invocation(self, trace_header: str | None) -> Iterator[None]:
        """Run one invocation with ``trace_header`` (Lambda's ``_X_AMZN_TRACE_ID``) as the current context.

        Its spans are exported when it ends, without waiting for them (see the module docstring).
        """
        from opentelemetry import context, trace

        self._traced = False
        try:
            self._current = None
            self._current = self.provider()
        except Exception:  # the handler still runs; its spans go nowhere
            logger.warning("could not set up a function's tracing", exc_info=True)
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
            if self._traced:
                self._flush_soon()

    def _flush_soon(self) -> None:
        """Have the flushing thread export the current function's spans; returns at once."""
        provider = self._current
        if provider is None:
            return
        try:
            with self._wake:
                if provider not in self._due:
                    self._due.append(provider)
                if self._flusher is None:
                    self._flusher = threading.Thread(target=self._flush_forever, name="sluiceway-span-flush", daemon=True)
                    self._flusher.start()
                self._wake.notify()
        except Exception:  # a thread that cannot start leaves the spans to the batch processor's schedule
            logger.debug("could not hand an invocation's spans to the flushing thread", exc_info=True)

    def _flush_forever(self) -> None:
        # A daemon: the interpreter's exit does not wait for it, the providers' own shutdown exports what is left.
        while True:
            with self._wake:
                while not self._due:
                    self._wake.wait()
                due, self._due = self._due, []
            for provider in due:
                try:
                    provider.force_flush(round(FLUSH_TIMEOUT_S * 1000))
                except Exception:  # a collector's trouble stays here
                    logger.debug("could not export an invocation's spans", exc_info=True)

    def tracer(self, name: str, version: str | None, schema_url: str | None) -> Tracer:
        """The current function's tracer for instrumentation ``name`` (to start a span with)."""
        self._traced = True
        return self.provider().get_tracer(name, version, schema_url)


def worker_tracing_from_environ(environ: Mapping[str, str]) -> WorkerTracing | None:
    """Set up tracing in this worker process when the standard variables ask for it; None otherwise.

    ``environ`` is read again as each invocation starts (pass ``os.environ``).
    """
    endpoint = traces_endpoint(environ)
    if endpoint is None:
        return None
    try:
        worker = WorkerTracing(endpoint, environ)
        _install(worker)
        return worker
    except Exception:  # a worker without traces still runs its functions
        logger.warning("could not set up tracing in a function worker", exc_info=True)
        return None


def _provider(endpoint: str, service_name: str) -> TracerProvider:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def _install(worker: WorkerTracing) -> None:
    """Make ``worker``'s switching provider the process's global one and instrument botocore with it."""
    from opentelemetry import trace
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    switching = _switching_provider(worker)
    trace.set_tracer_provider(switching)
    instrumentor: Any = BotocoreInstrumentor()  # type: ignore[no-untyped-call]
    instrumentor.instrument(tracer_provider=switching, propagator=TraceContextTextMapPropagator())
    propagation.activate()


def _switching_provider(worker: WorkerTracing) -> Any:
    """A tracer provider whose tracers start each span with the current function's provider.

    Instrumentations keep the tracer they get once; the span must still go to the resource of the
    function that makes it.
    """
    from opentelemetry import trace

    class SwitchingTracer(trace.Tracer):
        def __init__(self, name: str, version: str | None, schema_url: str | None) -> None:
            self._key = (name, version, schema_url)

        def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
            return worker.tracer(*self._key).start_span(*args, **kwargs)

        def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
            return worker.tracer(*self._key).start_as_current_span(*args, **kwargs)

    class SwitchingProvider(trace.TracerProvider):
        def get_tracer(
            self,
            instrumenting_module_name: str,
            instrumenting_library_version: str | None = None,
            schema_url: str | None = None,
            attributes: Any = None,
        ) -> trace.Tracer:
            return SwitchingTracer(instrumenting_module_name, instrumenting_library_version, schema_url)

    return SwitchingProvider()
