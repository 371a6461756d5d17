"""Tracing in function workers: the function's own service name, spans exported without ever holding up
an invocation, and spans whose trouble never reaches the work they trace."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from sluiceway.observability.tracing import Tracing
from sluiceway.observability.worker_tracing import FLUSH_TIMEOUT_S, WorkerTracing

ENDPOINT = "http://127.0.0.1:9/v1/traces"


class RecordingProvider:
    """A tracer provider that records its flushes (what the worker asks of one) and may hold them up."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.flushes: list[int] = []
        self.entered = 0
        self.release = threading.Event()
        self.release.set()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        self.entered += 1
        self.release.wait(10)  # a collector that answers only when the test says so
        self.flushes.append(timeout_millis)
        return True

    def get_tracer(self, *args: Any) -> str:
        return f"tracer of {self.service}"


def worker(environ: dict[str, str]) -> tuple[WorkerTracing, dict[str, RecordingProvider]]:
    made: dict[str, RecordingProvider] = {}

    def make(endpoint: str, service: str) -> Any:
        assert endpoint == ENDPOINT
        made[service] = RecordingProvider(service)
        return made[service]

    return WorkerTracing(ENDPOINT, environ, make_provider=make), made


def eventually(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the deadline"
        time.sleep(0.005)


def test_the_stack_hands_workers_where_spans_go_and_nothing_else() -> None:
    tracing = Tracing(endpoint=ENDPOINT, service_name="my-stack")
    try:
        assert tracing.worker_environment() == {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": ENDPOINT, "OTEL_SDK_DISABLED": "false"}
    finally:
        tracing.close()


def test_each_function_is_its_own_service_unless_it_names_one() -> None:
    environ = {"AWS_LAMBDA_FUNCTION_NAME": "Resize"}  # what the worker sets before each call
    tracing, made = worker(environ)

    with tracing.invocation(None):
        assert tracing.tracer("botocore", None, None) == "tracer of Resize"
    environ.update({"AWS_LAMBDA_FUNCTION_NAME": "Checkout", "OTEL_SERVICE_NAME": "shop"})
    with tracing.invocation(None):
        assert tracing.tracer("botocore", None, None) == "tracer of shop"
    environ["AWS_LAMBDA_FUNCTION_NAME"] = "Resize"
    del environ["OTEL_SERVICE_NAME"]
    with tracing.invocation(None):
        assert tracing.tracer("botocore", None, None) == "tracer of Resize"

    assert sorted(made) == ["Resize", "shop"]  # one provider (one resource) per service, made once
    # Each service's spans are flushed (two invocations ending before the flush share it).
    eventually(lambda: len(made["Resize"].flushes) >= 1 and len(made["shop"].flushes) == 1)
    assert made["shop"].flushes == [round(FLUSH_TIMEOUT_S * 1000)]


def test_an_invocation_never_waits_for_its_spans_to_be_exported() -> None:
    tracing, made = worker({"AWS_LAMBDA_FUNCTION_NAME": "Slow"})
    with tracing.invocation(None):
        tracing.tracer("botocore", None, None)
    eventually(lambda: made["Slow"].flushes == [round(FLUSH_TIMEOUT_S * 1000)])
    made["Slow"].release.clear()  # from now on the collector hangs

    took = []
    for n in range(3):
        started = time.monotonic()
        with tracing.invocation(None):
            tracing.tracer("botocore", None, None)
        took.append(time.monotonic() - started)
        if n == 0:
            eventually(lambda: made["Slow"].entered == 2)  # the flusher is stuck in the first one's export

    assert max(took) < 1, took  # the collector hangs for up to 10 s: not one invocation waited for it
    assert len(made["Slow"].flushes) == 1
    made["Slow"].release.set()
    # The hung export ends, then the spans of the two invocations that ended meanwhile go out in one flush.
    eventually(lambda: len(made["Slow"].flushes) == 3)
    assert made["Slow"].entered == 3


def test_an_invocation_that_started_no_span_flushes_nothing() -> None:
    tracing, made = worker({"AWS_LAMBDA_FUNCTION_NAME": "Quiet"})
    with tracing.invocation(None):
        pass
    assert tracing._flusher is None  # nothing was ever due: not even the flushing thread was started

    made["Quiet"].release.clear()
    with tracing.invocation(None):
        tracing.tracer("botocore", None, None)
    eventually(lambda: made["Quiet"].entered == 1)  # the flusher is busy with that one's spans
    with tracing.invocation(None):
        pass
    with tracing._wake:
        assert tracing._due == []  # the quiet one asked for no flush
    made["Quiet"].release.set()
    eventually(lambda: len(made["Quiet"].flushes) == 1)


def test_a_handler_s_exception_leaves_the_invocation_untouched_and_still_flushes() -> None:
    tracing, made = worker({"AWS_LAMBDA_FUNCTION_NAME": "Fails"})

    with pytest.raises(ValueError, match="the handler's own"), tracing.invocation(None):
        tracing.tracer("botocore", None, None)
        raise ValueError("the handler's own")

    eventually(lambda: len(made["Fails"].flushes) == 1)


class BrokenFactory:
    """Tracing in trouble: starting a span raises."""

    def start(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the span factory is broken")


class BrokenEnd:
    """Tracing in trouble: ending a span raises."""

    def start(self, *args: Any, **kwargs: Any) -> Any:
        from opentelemetry.trace import SpanContext

        from sluiceway.observability.recorded_span import RecordedSpan

        def broken(span: RecordedSpan) -> None:
            raise RuntimeError("the exporter is broken")

        return RecordedSpan("deliver rule", SpanContext(1, 2, False), None, args[2], {}, 0, broken)


@pytest.mark.parametrize("factory", [BrokenFactory(), BrokenEnd()])
def test_a_span_s_own_trouble_never_reaches_the_traced_work(factory: Any, caplog: pytest.LogCaptureFixture) -> None:
    tracing = Tracing(endpoint=ENDPOINT)
    working = tracing._factory
    try:
        tracing._factory = factory  # what it does wrong must stay here
        ran = []
        with caplog.at_level(logging.WARNING, logger="sluiceway.observability"), tracing.span("deliver rule"):
            ran.append(True)
        assert ran == [True]
        assert len(caplog.records) == 1
        # The block's own exception still passes through, unchanged.
        with pytest.raises(KeyError), tracing.span("deliver rule"):
            raise KeyError("the target's")
    finally:
        tracing._factory = working
        tracing.close()
