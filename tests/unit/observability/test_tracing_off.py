"""Tracing is off by default, and then free: the SDK is never imported and every call does nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from sluiceway.observability.tracing import Tracing, traces_endpoint, tracing_from_environ


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": ""}, None),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "http://collector:4318/v1/traces"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"}, "http://collector:4318/v1/traces"),
        # The signal's own variable is used as it is, and wins.
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:9999/traces"},
            "http://b:9999/traces",
        ),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_SDK_DISABLED": "TRUE"}, None),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_SDK_DISABLED": "false"}, "http://a:4318/v1/traces"),
    ],
)
def test_the_standard_variables_decide(environ: dict[str, str], expected: str | None) -> None:
    assert traces_endpoint(environ) == expected


def test_without_an_endpoint_every_call_is_a_no_op() -> None:
    tracing = tracing_from_environ({"OTEL_SERVICE_NAME": "ignored"})
    assert not tracing.enabled
    # One shared do-nothing context manager: nothing is allocated per span.
    first, second = tracing.span("a", parent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), tracing.span("b")
    assert first is second
    with tracing.server_span("s3", "PutObject", {"traceparent": "junk"}) as span:
        assert span is None
    assert tracing.executions() is None
    assert tracing.trace_header() is None
    assert tracing.current_span() is None
    assert tracing.worker_environment() == {}
    assert tracing.flush()
    tracing.failed(None, "nothing to mark")
    tracing.close()


def test_a_no_op_span_costs_well_under_a_microsecond_or_so() -> None:
    tracing = Tracing()
    rounds = 100_000
    began = time.perf_counter()
    for _ in range(rounds):
        with tracing.span("deliver rule", kind="consumer"):
            pass
    per_call = (time.perf_counter() - began) / rounds
    # A method call and a nullcontext: ~0.2 us here; the bound leaves room for a loaded machine.
    assert per_call < 5e-6, per_call


def test_off_the_sdk_is_never_imported() -> None:
    # A fresh interpreter: this one may have loaded the SDK for another test.
    script = textwrap.dedent(
        """
        import sys
        from sluiceway.runtime.wiring import build_stack
        from sluiceway.runtime.lambdas import worker
        from sluiceway.observability import propagation
        from sluiceway.observability.tracing import tracing_from_environ
        from sluiceway.observability.worker_tracing import worker_tracing_from_environ

        tracing = tracing_from_environ({})
        with tracing.span("x"), tracing.server_span("sqs", "SendMessage", {}):
            assert propagation.current_traceparent() is None and propagation.current_trace_header() is None
        assert worker_tracing_from_environ({}) is None
        heavy = ("opentelemetry.sdk", "opentelemetry.exporter", "opentelemetry.instrumentation")
        loaded = sorted(m for m in sys.modules if m.startswith(heavy))
        print(",".join(loaded))
        """
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ""
