"""Tracing in function workers: the function's own service name, a flush that never times a function out,
and spans whose trouble never reaches the work they trace."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from sluiceway.observability.tracing import Tracing
from sluiceway.observability.worker_tracing import FLUSH_MARGIN_S, FLUSH_TIMEOUT_S, WorkerTracing

ENDPOINT = "http://127.0.0.1:9/v1/traces"


class RecordingProvider:
    """A tracer provider that records its flushes (what the worker asks of one)."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.flushes: list[int] = []

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        self.flushes.append(timeout_millis)
        return True


def worker(environ: dict[str, str]) -> tuple[WorkerTracing, dict[str, RecordingProvider]]:
    made: dict[str, RecordingProvider] = {}

    def make(endpoint: str, service: str) -> Any:
        assert endpoint == ENDPOINT
        made[service] = RecordingProvider(service)
        return made[service]

    return WorkerTracing(ENDPOINT, environ, make_provider=make), made


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
        pass
    environ.update({"AWS_LAMBDA_FUNCTION_NAME": "Checkout", "OTEL_SERVICE_NAME": "shop"})
    with tracing.invocation(None):
        pass
    environ["AWS_LAMBDA_FUNCTION_NAME"] = "Resize"
    del environ["OTEL_SERVICE_NAME"]
    with tracing.invocation(None):
        pass

    assert sorted(made) == ["Resize", "shop"]  # one provider (one resource) per service, made once
    assert len(made["Resize"].flushes) == 2 and len(made["shop"].flushes) == 1


@pytest.mark.parametrize(
    ("remaining_ms", "flushed_ms"),
    [
        (None, [int(FLUSH_TIMEOUT_S * 1000)]),  # bounded even when the remaining time is unknown
        (60_000, [int(FLUSH_TIMEOUT_S * 1000)]),
        (int((FLUSH_MARGIN_S + 0.2) * 1000), [200]),  # never past the invocation's time, less the margin
        (int(FLUSH_MARGIN_S * 1000) - 10, []),  # no time left: the batch processor sends them later
    ],
)
def test_the_flush_never_pushes_an_invocation_past_its_timeout(remaining_ms: int | None, flushed_ms: list[int]) -> None:
    tracing, made = worker({"AWS_LAMBDA_FUNCTION_NAME": "Short"})

    with tracing.invocation(None, remaining_ms=None if remaining_ms is None else (lambda: remaining_ms)):
        pass

    assert made["Short"].flushes == flushed_ms


def test_a_handler_s_exception_leaves_the_invocation_untouched_and_still_flushes() -> None:
    tracing, made = worker({"AWS_LAMBDA_FUNCTION_NAME": "Fails"})

    with pytest.raises(ValueError, match="the handler's own"), tracing.invocation(None):
        raise ValueError("the handler's own")

    assert len(made["Fails"].flushes) == 1


class BrokenTracer:
    """An SDK in trouble: starting a span raises."""

    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the SDK is broken")


class BrokenEnd:
    """An SDK in trouble: ending a span raises."""

    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
        @contextlib.contextmanager
        def span() -> Iterator[str]:
            yield "span"
            raise RuntimeError("the exporter is broken")

        return span()


@pytest.mark.parametrize("tracer", [BrokenTracer(), BrokenEnd()])
def test_a_span_s_own_trouble_never_reaches_the_traced_work(tracer: Any, caplog: pytest.LogCaptureFixture) -> None:
    tracing = Tracing(endpoint=ENDPOINT)
    try:
        tracing._tracer = tracer  # the SDK's place; what it does wrong must stay here
        ran = []
        with caplog.at_level(logging.WARNING, logger="sluiceway.observability.tracing"), tracing.span("deliver rule"):
            ran.append(True)
        assert ran == [True]
        assert len(caplog.records) == 1
        # The block's own exception still passes through, unchanged.
        with pytest.raises(KeyError), tracing.span("deliver rule"):
            raise KeyError("the target's")
    finally:
        tracing._tracer = None
        tracing.close()
