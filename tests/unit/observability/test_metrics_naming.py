"""Every metric the stack registers follows Prometheus's naming conventions (checked by walking the registry)."""

from __future__ import annotations

import logging
import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sluiceway.observability.exposition import OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE, exposition
from sluiceway.observability.gauges import QueueDepth
from sluiceway.observability.metrics import Metrics, task_integration

NAME = re.compile(r"^sluiceway_[a-z][a-z0-9_]*[a-z0-9]$")
LABEL = re.compile(r"^[a-z][a-z0-9_]*$")
#: Labels whose values are unbounded (one per execution, request or object): never allowed.
UNBOUNDED = {"execution", "execution_name", "execution_arn", "request_id", "key", "object_key", "message_id", "event_id", "trace_id"}
#: Units Prometheus does not want in names: base units only.
NOT_BASE_UNITS = ("_milliseconds", "_ms", "_microseconds", "_minutes", "_hours", "_kilobytes", "_megabytes", "_kb", "_mb", "_percent")
UNIT_SUFFIXES = ("_seconds", "_bytes", "_ratio")
#: What issue 15 asks for (counters without the ``_total`` their samples carry).
EXPECTED = {
    "sluiceway_executions_started",
    "sluiceway_executions",
    "sluiceway_executions_redriven",
    "sluiceway_execution_duration_seconds",
    "sluiceway_state_transitions",
    "sluiceway_task_duration_seconds",
    "sluiceway_function_invocations",
    "sluiceway_function_errors",
    "sluiceway_function_throttles",
    "sluiceway_function_cold_starts",
    "sluiceway_function_duration_seconds",
    "sluiceway_emf_validation_errors",
    "sluiceway_events_put",
    "sluiceway_events_matched",
    "sluiceway_events_delivered",
    "sluiceway_events_failed",
    "sluiceway_events_dead_lettered",
    "sluiceway_events_dropped",
    "sluiceway_event_delivery_lag_seconds",
    "sluiceway_pipeline_rows_read",
    "sluiceway_pipeline_rows_valid",
    "sluiceway_pipeline_rows_rejected",
    "sluiceway_endpoint_requests",
    "sluiceway_endpoint_request_duration_seconds",
    "sluiceway_queue_messages",
    "sluiceway_queue_oldest_message_age_seconds",
    "sluiceway_dead_letter_queue_messages",
    "sluiceway_dead_letter_queue_oldest_message_age_seconds",
    "sluiceway_executions_running",
    "sluiceway_trace_spans_dropped",
}


def exercised() -> Metrics:
    """Metrics with every hook called once, so that every family has samples."""
    metrics = Metrics()
    metrics.watch_stores(
        queues=lambda: [QueueDepth("orders", 1, 2, 3, 4.5), QueueDepth("orders-dlq", 1, 0, 0, 9.0, dead_letter=True)],
        running=lambda: {"Flow": 2},
    )
    metrics.watch_tracing(lambda: 3)
    metrics.execution_started("Flow")
    metrics.execution_redriven("Flow")
    metrics.execution_ended("Flow", "SUCCEEDED", 1.5)
    metrics.states_entered("Flow", [{"type": "TaskStateEntered"}, {"type": "TaskStateExited"}, {"type": "PassStateEntered"}])
    metrics.task_finished("Flow", "arn:aws:states:::sns:publish", True, 0.01)
    metrics.function_invoked("Fn", 0.2, error=True, cold_start=True)
    metrics.function_throttled("Fn")
    metrics.function_output("Fn", [(0, '{"_aws": {"Timestamp": 0, "CloudWatchMetrics": "bad"}}')])
    metrics.event_routed("default", ["r1", "r1", "r2"])
    metrics.event_delivered("default", "r1", "state-machine", 0.1)
    metrics.event_failed("default", "r1", "function")
    metrics.event_dead_lettered("default", "r1", "function")
    metrics.event_dropped("default", "r2", "queue")
    metrics.pipeline_rows("sales", read=10, valid=8, rejected=2)
    metrics.endpoint_request("s3", "PutObject", 200, 0.003)
    return metrics


def families() -> list[object]:
    return list(exercised().registry.collect())


def test_every_family_is_named_documented_and_typed_as_prometheus_wants() -> None:
    found = families()
    assert {f.name for f in found} == EXPECTED  # type: ignore[attr-defined]

    for family in found:
        name, kind = family.name, family.type  # type: ignore[attr-defined]
        assert NAME.match(name), name
        assert family.documentation.strip(), name  # type: ignore[attr-defined]
        assert not name.endswith(NOT_BASE_UNITS) and not any(f"{u}_" in name for u in NOT_BASE_UNITS), name
        if kind == "counter":
            # prometheus_client keeps a counter's name without the suffix; its samples carry it.
            assert not name.endswith("_total"), name
            assert {s.name for s in family.samples} <= {name + "_total", name + "_created"}, name  # type: ignore[attr-defined]
        elif kind == "histogram":
            assert name.endswith(UNIT_SUFFIXES), f"{name}: a histogram says its unit"
        elif kind == "gauge":
            assert not name.endswith("_total"), name
        else:
            pytest.fail(f"{name}: unexpected type {kind}")
        assert family.samples, f"{name} was never exercised"  # type: ignore[attr-defined]
        for sample in family.samples:  # type: ignore[attr-defined]
            for label in sample.labels:
                if label in ("le",):
                    continue
                assert LABEL.match(label), (name, label)
                assert label not in UNBOUNDED, (name, label)


def test_names_are_unique_and_sums_over_labels_are_meaningful() -> None:
    names = [f.name for f in families()]  # type: ignore[attr-defined]
    assert len(names) == len(set(names))
    # Read, valid and rejected rows are families of their own: summing one family never adds
    # read rows to the rows they were split into.
    assert {"sluiceway_pipeline_rows_read", "sluiceway_pipeline_rows_valid", "sluiceway_pipeline_rows_rejected"} <= set(names)


def test_the_exposition_parses_and_carries_the_counts() -> None:
    status, headers, body = exposition(exercised().registry)
    assert status == 200 and headers["Content-Type"] == TEXT_CONTENT_TYPE

    parsed = {f.name: f for f in text_string_to_metric_families(body.decode())}
    values = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in parsed.values() for s in f.samples}

    assert values[("sluiceway_executions_total", (("state_machine", "Flow"), ("status", "SUCCEEDED")))] == 1
    assert values[("sluiceway_state_transitions_total", (("state_machine", "Flow"),))] == 2
    assert values[("sluiceway_events_matched_total", (("bus", "default"), ("rule", "r1")))] == 1
    assert values[("sluiceway_queue_messages", (("queue", "orders"), ("state", "in_flight")))] == 2
    assert values[("sluiceway_dead_letter_queue_messages", (("queue", "orders-dlq"),))] == 1
    assert ("sluiceway_dead_letter_queue_messages", (("queue", "orders"),)) not in values
    assert values[("sluiceway_executions_running", (("state_machine", "Flow"),))] == 2
    assert (
        values[
            ("sluiceway_task_duration_seconds_count", (("integration", "sns:publish"), ("state_machine", "Flow"), ("status", "SUCCEEDED")))
        ]
        == 1
    )
    assert values[("sluiceway_endpoint_requests_total", (("operation", "PutObject"), ("service", "s3"), ("status", "200")))] == 1
    assert not any(name.endswith("_created") for name, _ in values)


def test_openmetrics_when_the_scraper_asks_for_it_and_head_and_other_methods() -> None:
    registry = exercised().registry
    # What Prometheus 2.x sends.
    accept = (
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
        "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
    )

    status, headers, body = exposition(registry, {"accept": accept})
    assert status == 200 and headers["Content-Type"] == OPENMETRICS_CONTENT_TYPE
    assert body.endswith(b"# EOF\n")

    assert exposition(registry, {"accept": "application/openmetrics-text;q=0"})[1]["Content-Type"] == TEXT_CONTENT_TYPE
    status, headers, body = exposition(registry, method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0
    assert exposition(registry, method="POST")[0] == 405


def test_label_sets_beyond_the_bound_are_not_counted_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    metrics = Metrics(max_series=3)
    with caplog.at_level(logging.WARNING, logger="sluiceway.observability.metrics"):
        for index in range(10):
            metrics.function_throttled(f"Fn{index}")

    throttles = [
        s for f in metrics.registry.collect() if f.name == "sluiceway_function_throttles" for s in f.samples if s.name.endswith("_total")
    ]
    assert sorted(s.labels["function"] for s in throttles) == ["Fn0", "Fn1", "Fn2"]
    assert [r.getMessage() for r in caplog.records] == ["too many label sets for a metric: new ones are not counted"]


def test_a_failing_store_leaves_its_gauges_out_of_the_scrape(caplog: pytest.LogCaptureFixture) -> None:
    metrics = Metrics()

    def broken() -> list[QueueDepth]:
        raise OSError("disk gone")

    metrics.watch_stores(queues=broken, running=lambda: {"Flow": 1})
    with caplog.at_level(logging.WARNING):
        status, _, body = exposition(metrics.registry)

    assert status == 200
    assert b'sluiceway_executions_running{state_machine="Flow"} 1.0' in body
    assert b"sluiceway_queue_messages{" not in body
    assert "could not read gauges from the stores" in caplog.text


@pytest.mark.parametrize(
    ("resource", "integration"),
    [
        ("arn:aws:lambda:us-east-1:111111111111:function:Validate", "lambda:invoke"),
        ("arn:aws:lambda:us-east-1:111111111111:function:Validate:live", "lambda:invoke"),
        ("arn:aws:states:::lambda:invoke.waitForTaskToken", "lambda:invoke"),
        ("arn:aws:states:::states:startExecution.sync:2", "states:startExecution"),
        ("arn:aws:states:::sns:publish", "sns:publish"),
        ("arn:aws:states:us-east-1:111111111111:activity:Approve", "activity"),
    ],
)
def test_task_integration_labels_are_bounded_names_not_resources(resource: str, integration: str) -> None:
    assert task_integration(resource) == integration


def test_dropped_spans_are_read_at_each_scrape_and_a_failing_read_leaves_them_out(caplog: pytest.LogCaptureFixture) -> None:
    dropped = [2]
    metrics = Metrics()
    metrics.watch_tracing(lambda: dropped[0])
    assert b"sluiceway_trace_spans_dropped_total 2.0" in exposition(metrics.registry)[2]
    dropped[0] = 5
    assert b"sluiceway_trace_spans_dropped_total 5.0" in exposition(metrics.registry)[2]

    def broken() -> int:
        raise RuntimeError("queue gone")

    failing = Metrics()
    failing.watch_tracing(broken)
    with caplog.at_level(logging.WARNING):
        status, _, body = exposition(failing.registry)
    assert status == 200 and b"sluiceway_trace_spans_dropped" not in body
    assert "could not read the dropped spans" in caplog.text
