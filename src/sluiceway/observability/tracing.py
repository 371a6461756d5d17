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
manager, and nothing extra is read from or written to the stores. On, a span is a plain record
(:mod:`.recorded_span`: what the SDK's span costs is most of what tracing cost the stack), ended
into a queue whose thread encodes the spans as the SDK's OTLP exporter would
(:mod:`.otlp_encoding`) and sends them with that exporter's HTTP client (:mod:`.span_queue`,
:mod:`.span_pipeline`), which reads the other standard ``OTEL_EXPORTER_OTLP_*`` variables (headers,
timeout, compression) itself; ``OTEL_BSP_*`` size the queue and its batches as for the SDK's
batch processor, and spans it could not export are counted (:attr:`Tracing.dropped_spans`) and
logged. ``OTEL_SERVICE_NAME`` names the service (``sluiceway`` by default) and
``OTEL_TRACES_SAMPLER`` samples as usual.
:meth:`Tracing.close` (the stack's close) exports what is left.

Each stack has a span pipeline of its own, never OpenTelemetry's global tracer provider: several stacks
may run in one process (tests). The current span is OpenTelemetry's context, so it follows a
thread's calls, not a hop to another thread: what is handed to a thread pool carries its parent.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Literal

from . import propagation
from .propagation import TraceContext

if TYPE_CHECKING:
    from types import ModuleType

    from opentelemetry.trace import Span

    from .execution_spans import ExecutionSpans
    from .recorded_span import SpanFactory
    from .span_queue import SpanQueue

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
    return Tracing(endpoint=endpoint, service_name=environ.get(SERVICE_NAME_ENV, "").strip() or DEFAULT_SERVICE_NAME, environ=environ)


class Tracing:
    """One stack's spans (see the module docstring).

    Args:
        endpoint: the OTLP/HTTP traces URL (``http://collector:4318/v1/traces``); None: off.
        service_name: the ``service.name`` resource attribute.
        environ: where the ``OTEL_BSP_*`` settings of the export queue are read (the process's
            environment by default).
    """

    def __init__(
        self, *, endpoint: str | None = None, service_name: str = DEFAULT_SERVICE_NAME, environ: Mapping[str, str] | None = None
    ) -> None:
        self.enabled = endpoint is not None
        self.endpoint = endpoint
        self.service_name = service_name
        self._factory: SpanFactory | None = None
        self._queue: SpanQueue | None = None
        self._on: ModuleType | None = None
        """:mod:`.span_pipeline` when tracing is on (imported then only)."""
        if endpoint is not None:
            from . import span_pipeline

            self._on = span_pipeline
            self._factory, self._queue = span_pipeline.build(endpoint, service_name, os.environ if environ is None else environ)
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
        factory = self._factory
        if factory is None:
            return _NOOP
        # The block is a delivery, an invocation, an execution's step: tracing's own trouble (an
        # unreadable parent, a broken factory) is logged and the block runs untraced; the
        # block's own exceptions pass through untouched.
        on = self._on
        assert on is not None
        try:
            span = factory.start(name, on.parent_context(parent), on.KINDS[kind], attributes)
        except Exception:
            logger.warning("could not start a span; the work goes on untraced", extra={"span": name}, exc_info=True)
            return _NOOP
        return on.CurrentSpan(span, on_error=on.record_failure)  # type: ignore[no-any-return]

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
        factory = self._factory
        if factory is None:
            return _NOOP
        on = self._on
        assert on is not None
        name = f"{_service_title(service)}.{operation}"
        try:
            parent = propagation.parse_traceparent(headers.get("traceparent")) or propagation.parse_trace_header(
                headers.get("x-amzn-trace-id")
            )
            attributes: dict[str, Any] = {"rpc.system": "aws-api", "rpc.service": service, "rpc.method": operation}
            if request_id is not None:
                attributes["aws.request_id"] = request_id
            span = factory.start(name, on.parent_context(parent), on.KINDS["server"], attributes)
        except Exception:
            logger.warning("could not start a span; the work goes on untraced", extra={"span": name}, exc_info=True)
            return _NOOP
        return on.CurrentSpan(span, on_error=on.record_server_failure)  # type: ignore[no-any-return]

    def current_span(self) -> Span | None:
        """This thread's current span when it is one of ours being recorded; None otherwise (and when off)."""
        if self._factory is None:
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
        if self._factory is None or self._queue is None:
            return None
        from .execution_spans import ExecutionSpans

        spans = ExecutionSpans(self._factory)
        self._queue.before_export(spans.build)
        return spans

    @property
    def dropped_spans(self) -> int:
        """Spans that ended but were never exported (a full queue, a failed export); 0 when off."""
        return self._queue.dropped if self._queue is not None else 0

    # -- context for elsewhere -------------------------------------------------------------

    def trace_header(self) -> str | None:
        """The current span as an X-Ray trace header (a Lambda invocation's ``_X_AMZN_TRACE_ID``); None when off or outside a span."""
        if self._factory is None:
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
        if self._queue is None:
            return True
        return self._queue.flush(timeout_s)

    def close(self) -> None:
        """Export what is left and stop (idempotent); spans started later are not recorded."""
        queue, self._queue, self._factory, self._on = self._queue, None, None, None
        if queue is not None:
            queue.close()


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
