"""The stack's OpenTelemetry traces: one small call for each span, free when tracing is off.

A :class:`Tracing` is made per stack (``runtime/wiring.py``, :func:`tracing_from_environ`) and
handed to the pieces that start spans, beside their :class:`~.metrics.Metrics`:

=====================  ==========================================  ==================================
span                   started by                                  parent
=====================  ==========================================  ==================================
``S3.PutObject`` ...   the endpoint (:meth:`Tracing.server_span`)  the request's ``traceparent``, else
                                                                   its ``X-Amzn-Trace-Id``
``deliver <rule>``     the event router, per target                the context stored with the event
``execution <sm>``     the orchestrator (:mod:`.execution_spans`)  whoever started the execution
``state <name>``       the orchestrator                            the execution, or the Map/Parallel
``task <integration>`` the orchestrator's task threads             the state
``invoke <function>``  the Lambda invoker                          the current span (a task, a
                                                                   delivery, a poller...)
``deliver <topic>``    the SNS deliverer, per subscription         the context stored with the message
``receive <queue>``    the SQS event source mappings               the first message's ``AWSTraceHeader``
=====================  ==========================================  ==================================

Inside a worker process (:mod:`.worker_tracing`) handlers' boto3 calls are spans too, children of
their invocation (Lambda's ``_X_AMZN_TRACE_ID`` carries it there), and the endpoint continues them.
What is committed for later (an event, a message, an asynchronous invocation) keeps the context
of the span that committed it (:mod:`.propagation`), so one upload is one trace from its
``PutObject`` to its notification.

**Off by default**, and then free: tracing is on only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set and ``OTEL_SDK_DISABLED`` is not ``true``. Off, the
OpenTelemetry SDK is not imported, :meth:`Tracing.span` returns one shared do-nothing context
manager, and nothing extra is read from or written to the stores. On, spans go through a
``BatchSpanProcessor`` to the OTLP/HTTP (protobuf) exporter, which reads the other standard
``OTEL_EXPORTER_OTLP_*`` variables (headers, timeout, compression) itself; ``OTEL_SERVICE_NAME``
names the service (``sluiceway`` by default) and ``OTEL_TRACES_SAMPLER`` samples as usual.
:meth:`Tracing.close` (the stack's close) exports what is left.

Each stack has a tracer provider of its own, never OpenTelemetry's global one: several stacks
may run in one process (tests). The current span is OpenTelemetry's context, so it follows a
thread's calls, not a hop to another thread: what is handed to a thread pool carries its parent.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal

from . import propagation
from .propagation import TraceContext

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span, Tracer

    from .execution_spans import ExecutionSpans

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_SERVICE_NAME",
    "ENDPOINT_ENV",
    "SDK_DISABLED_ENV",
    "SERVICE_NAME_ENV",
    "TRACES_ENDPOINT_ENV",
    "Kind",
    "Tracing",
    "traces_endpoint",
    "tracing_from_environ",
]

ENDPOINT_ENV: Final = "OTEL_EXPORTER_OTLP_ENDPOINT"
"""The OTLP endpoint for every signal; traces go to ``<it>/v1/traces``."""
TRACES_ENDPOINT_ENV: Final = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
"""The OTLP endpoint for traces, used as it is (it wins over :data:`ENDPOINT_ENV`)."""
SDK_DISABLED_ENV: Final = "OTEL_SDK_DISABLED"
SERVICE_NAME_ENV: Final = "OTEL_SERVICE_NAME"
DEFAULT_SERVICE_NAME: Final = "sluiceway"

Kind = Literal["internal", "server", "client", "producer", "consumer"]

_NOOP: Final = contextlib.nullcontext()
"""What every span call returns when tracing is off (one object: entering it costs nothing)."""


def traces_endpoint(environ: Mapping[str, str]) -> str | None:
    """Where OTLP/HTTP traces go by the standard variables; None when tracing is off.

    As the OpenTelemetry specification says: ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` as it is,
    else ``OTEL_EXPORTER_OTLP_ENDPOINT`` with ``/v1/traces`` appended; none when
    ``OTEL_SDK_DISABLED`` is ``true`` (any case).
    """
    if environ.get(SDK_DISABLED_ENV, "").strip().lower() == "true":
        return None
    specific = environ.get(TRACES_ENDPOINT_ENV, "").strip()
    if specific:
        return specific
    generic = environ.get(ENDPOINT_ENV, "").strip()
    if generic:
        return generic.rstrip("/") + "/v1/traces"
    return None


def tracing_from_environ(environ: Mapping[str, str]) -> Tracing:
    """The stack's :class:`Tracing` as the standard ``OTEL_*`` variables say (off unless an endpoint is set)."""
    endpoint = traces_endpoint(environ)
    if endpoint is None:
        return Tracing()
    return Tracing(endpoint=endpoint, service_name=environ.get(SERVICE_NAME_ENV, "").strip() or DEFAULT_SERVICE_NAME)


class Tracing:
    """One stack's spans (see the module docstring).

    Args:
        endpoint: the OTLP/HTTP traces URL (``http://collector:4318/v1/traces``); None: off.
        service_name: the ``service.name`` resource attribute.
    """

    def __init__(self, *, endpoint: str | None = None, service_name: str = DEFAULT_SERVICE_NAME) -> None:
        self.enabled = endpoint is not None
        self.endpoint = endpoint
        self.service_name = service_name
        self._provider: TracerProvider | None = None
        self._tracer: Tracer | None = None
        if endpoint is not None:
            self._provider, self._tracer = _sdk(endpoint, service_name)
            propagation.activate()

    # -- spans ---------------------------------------------------------------------------

    def span(
        self,
        name: str,
        *,
        parent: TraceContext | str | None = None,
        kind: Kind = "internal",
        attributes: Mapping[str, Any] | None = None,
    ) -> contextlib.AbstractContextManager[Span | None]:
        """A span around a block, current inside it; an exception leaving the block marks it failed.

        Args:
            parent: the context to continue (a ``traceparent`` or an X-Ray trace header as
                stored, or parsed); None: the current span, if any, else a new trace.
        """
        if self._tracer is None:
            return _NOOP
        return self._span(name, parent, kind, attributes)

    @contextlib.contextmanager
    def _span(
        self, name: str, parent: TraceContext | str | None, kind: Kind, attributes: Mapping[str, Any] | None
    ) -> Iterator[Span | None]:
        # The block is a delivery, an invocation, an execution's step: tracing's own trouble (an
        # unreadable parent, the SDK) is logged and the block runs untraced; the block's own
        # exceptions pass through untouched.
        tracer = self._tracer
        assert tracer is not None
        try:
            # The attributes as they are: the SDK copies them into the span's own bounded set.
            manager = tracer.start_as_current_span(name, context=_context(parent), kind=_kind(kind), attributes=attributes)
            span = manager.__enter__()
        except Exception:
            logger.warning("could not start a span; the work goes on untraced", extra={"span": name}, exc_info=True)
            yield None
            return
        try:
            yield span
        except BaseException as exc:
            _exit_quietly(manager, name, exc)
            raise
        _exit_quietly(manager, name, None)

    def server_span(
        self, service: str, operation: str, headers: Mapping[str, str], *, request_id: str | None = None
    ) -> contextlib.AbstractContextManager[Span | None]:
        """The endpoint's span for one request of ``service``'s ``operation`` (botocore's names: ``s3``, ``PutObject``).

        Continues the caller's trace: a ``traceparent`` header (W3C, what OpenTelemetry clients
        send), else ``X-Amzn-Trace-Id`` (what AWS SDKs send from inside a Lambda function, and
        what OpenTelemetry's botocore instrumentation sends). ``headers`` are the request's, with
        lower-case names. An exception leaving the block marks the span failed when it is a
        server fault: an error whose ``status`` is below 500 (a client's mistake) is recorded
        as an event only, as OpenTelemetry's HTTP conventions say for server spans.

        Usage (``endpoint/server.py``)::

            with self.stack.tracing.server_span(service, operation.name, request.headers, request_id=request_id):
                output = handler(context, params)

        Args:
            request_id: the ``x-amzn-RequestId`` the answer carries (``aws.request_id``).
        """
        if self._tracer is None:
            return _NOOP
        return self._server_span(service, operation, headers, request_id)

    @contextlib.contextmanager
    def _server_span(self, service: str, operation: str, headers: Mapping[str, str], request_id: str | None) -> Iterator[Span]:
        from opentelemetry import trace
        from opentelemetry.trace import Status, StatusCode

        assert self._tracer is not None
        parent = propagation.parse_traceparent(headers.get("traceparent")) or propagation.parse_trace_header(headers.get("x-amzn-trace-id"))
        attributes = {"rpc.system": "aws-api", "rpc.service": service, "rpc.method": operation}
        if request_id is not None:
            attributes["aws.request_id"] = request_id
        span = self._tracer.start_span(
            f"{_service_title(service)}.{operation}", context=_context(parent), kind=trace.SpanKind.SERVER, attributes=attributes
        )
        with trace.use_span(span, end_on_exit=True, record_exception=False, set_status_on_exception=False):
            try:
                yield span
            except BaseException as exc:
                status = getattr(exc, "status", 500)
                span.record_exception(exc)
                code = getattr(exc, "code", None)
                if isinstance(code, str):
                    span.set_attribute("aws.error.code", code)
                if isinstance(status, int):
                    span.set_attribute("http.response.status_code", status)
                if not isinstance(status, int) or status >= 500:
                    span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
                raise

    def current_span(self) -> Span | None:
        """This thread's current span when it is one of ours being recorded; None otherwise (and when off)."""
        if self._tracer is None:
            return None
        from opentelemetry import trace

        span = trace.get_current_span()
        return span if span.is_recording() else None

    def failed(self, span: Span | None, message: str) -> None:
        """Mark ``span`` failed without an exception (a handler's error answer); nothing for None."""
        if span is None:
            return
        from opentelemetry.trace import Status, StatusCode

        span.set_status(Status(StatusCode.ERROR, message))

    def executions(self) -> ExecutionSpans | None:
        """The orchestrator's spans of executions, states and tasks; None when tracing is off."""
        if self._tracer is None:
            return None
        from .execution_spans import ExecutionSpans

        return ExecutionSpans(self._tracer)

    # -- context for elsewhere -------------------------------------------------------------

    def trace_header(self) -> str | None:
        """The current span as an X-Ray trace header (a Lambda invocation's ``_X_AMZN_TRACE_ID``); None when off or outside a span."""
        if self._tracer is None:
            return None
        return propagation.current_trace_header()

    def worker_environment(self) -> dict[str, str]:
        """What a function's worker process needs to trace its handlers' AWS calls the same way (empty when off).

        Only where spans go: the function's environment stays as Lambda sets it. ``service.name``
        is the function's own (its ``OTEL_SERVICE_NAME``, else its name: see :mod:`.worker_tracing`),
        never the stack's.
        """
        if self.endpoint is None:
            return {}
        return {TRACES_ENDPOINT_ENV: self.endpoint, SDK_DISABLED_ENV: "false"}

    # -- life --------------------------------------------------------------------------------

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Export the spans ended so far; True when all went out within ``timeout_s``."""
        if self._provider is None:
            return True
        return bool(self._provider.force_flush(int(timeout_s * 1000)))

    def close(self) -> None:
        """Export what is left and stop (idempotent); spans started later are not recorded."""
        provider, self._provider, self._tracer = self._provider, None, None
        if provider is not None:
            try:
                provider.shutdown()
            except Exception:  # a collector that went away must not fail the stack's stop
                logger.warning("could not export the last spans", exc_info=True)


def _exit_quietly(manager: contextlib.AbstractContextManager[Any], name: str, exc: BaseException | None) -> None:
    """End a span's context, logging a failure of its own instead of raising it over the block's outcome."""
    try:
        manager.__exit__(type(exc) if exc is not None else None, exc, exc.__traceback__ if exc is not None else None)
    except BaseException as failure:
        if failure is exc:
            return  # the block's own exception, handed back: the caller raises it
        if not isinstance(failure, Exception):
            raise
        logger.warning("could not end a span", extra={"span": name}, exc_info=True)


def _sdk(endpoint: str, service_name: str) -> tuple[TracerProvider, Tracer]:
    # Imported here only: a stack that does not trace never loads the SDK or the exporter.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from .. import __version__

    # shutdown_on_exit=False: the stack's close shuts it down; an interpreter exit without one
    # (a killed stack) must not hang on a collector that does not answer.
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}), shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider, provider.get_tracer("sluiceway", __version__)


def _context(parent: TraceContext | str | None) -> Any:
    """OpenTelemetry's context holding ``parent`` as the remote parent span; None: the current context."""
    if isinstance(parent, str):
        parent = propagation.parse_traceparent(parent) or propagation.parse_trace_header(parent)
    if parent is None:
        return None
    from opentelemetry import trace

    span_context = trace.SpanContext(
        trace_id=parent.trace_id,
        span_id=parent.span_id,
        is_remote=True,
        trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED if parent.sampled else trace.TraceFlags.DEFAULT),
    )
    return trace.set_span_in_context(trace.NonRecordingSpan(span_context))


_KINDS: dict[str, Any] = {}
"""OpenTelemetry's span kinds by our names, filled when the first span starts (the SDK is loaded by then)."""


def _kind(kind: Kind) -> Any:
    if not _KINDS:
        from opentelemetry.trace import SpanKind

        _KINDS.update(
            internal=SpanKind.INTERNAL,
            server=SpanKind.SERVER,
            client=SpanKind.CLIENT,
            producer=SpanKind.PRODUCER,
            consumer=SpanKind.CONSUMER,
        )
    return _KINDS[kind]


_TITLES: Final = {
    "s3": "S3",
    "sqs": "SQS",
    "sns": "SNS",
    "dynamodb": "DynamoDB",
    "events": "EventBridge",
    "stepfunctions": "SFN",
    "lambda": "Lambda",
    "logs": "CloudWatchLogs",
    "cloudwatch": "CloudWatch",
    "sts": "STS",
    "cognito-idp": "CognitoIdentityProvider",
    "scheduler": "Scheduler",
    "cloudformation": "CloudFormation",
}


def _service_title(service: str) -> str:
    """A service's name as botocore's instrumentation names its spans (``S3.PutObject``, ``SQS.SendMessage``)."""
    return _TITLES.get(service, service)
