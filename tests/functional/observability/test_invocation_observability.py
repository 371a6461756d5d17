"""Observability never fails an invocation: a metric line it cannot read, or a broken metrics hook, leaves
the invocation's result and its logs as they are (the logs are stored before any metric is read)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sluiceway.observability.metrics import Metrics
from sluiceway.ports import Invocation
from sluiceway.runtime.lambdas.invoker import FunctionSpec, LocalFunctionInvoker


class Logs:
    """A log sink that keeps what it is given (CloudWatch Logs' place)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def put(self, group: str, stream: str, events: Sequence[tuple[int, str]], *, create: bool = False) -> None:
        self.events.extend((group, message) for _, message in events)


class BrokenMetrics(Metrics):
    """Metrics whose hooks raise (as a bug would), past the hooks' own guard."""

    def function_invoked(self, function: str, seconds: float, *, error: bool, cold_start: bool) -> None:
        raise OverflowError("a bug in a metrics hook")

    def function_output(self, function: str, events: Iterable[tuple[int, str]]) -> None:
        raise OverflowError("a bug in a metrics hook")


def invoke(handler: str, metrics: Metrics, logs: Logs) -> tuple[Any, str]:
    with LocalFunctionInvoker(
        [FunctionSpec("Observed", f"observed_handlers.{handler}")], workers=1, mode="thread", metrics=metrics, logs=logs
    ) as invoker:
        return invoker.invoke_with_log(Invocation("Observed", {}, str(uuid.uuid4())))


def test_an_invocation_that_prints_a_huge_emf_value_still_succeeds_with_its_logs() -> None:
    metrics, logs = Metrics(), Logs()

    result, tail = invoke("huge_emf", metrics, logs)

    assert result.ok, result
    assert "after the metric line" in tail
    assert any("after the metric line" in message for _, message in logs.events)
    exposed = metrics.registry.get_sample_value("sluiceway_emf_validation_errors_total", {"function": "Observed"})
    assert exposed == 1.0  # CloudWatch would reject the line: counted as such, nothing exported


def test_a_broken_metrics_hook_neither_fails_the_invocation_nor_loses_its_logs() -> None:
    logs = Logs()

    result, tail = invoke("orders", BrokenMetrics(), logs)

    assert result.ok and result.payload == {"ok": True}, result
    assert '"Orders": 2' in tail
    assert [group for group, _ in logs.events].count("/aws/lambda/Observed") == len(logs.events) > 0
