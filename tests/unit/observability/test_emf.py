"""CloudWatch's Embedded Metric Format: read as the specification says, exported as Prometheus metrics."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from sluiceway.observability.emf import MAX_DIMENSIONS, MAX_METRICS, MAX_VALUES, DataPoint, parse_line
from sluiceway.observability.emf_export import EmfExport, exported_name
from sluiceway.observability.exposition import exposition
from sluiceway.observability.metrics import Metrics

NOW = 1_700_000_000_000


def emf(metrics: list[dict[str, Any]], dimensions: list[list[str]] | None = None, **members: Any) -> str:
    """A line as Powertools Metrics prints it."""
    directive = {"Namespace": "Shop", "Dimensions": [["service"]] if dimensions is None else dimensions, "Metrics": metrics}
    return json.dumps({"_aws": {"Timestamp": NOW, "CloudWatchMetrics": [directive]}, "service": "checkout", **members})


def samples(registry: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    _, _, body = exposition(registry)
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in text_string_to_metric_families(body.decode()) for s in f.samples}


def test_a_powertools_line_gives_one_point_per_metric_and_dimension_set() -> None:
    line = emf(
        [{"Name": "Orders", "Unit": "Count"}, {"Name": "Latency", "Unit": "Milliseconds", "StorageResolution": 1}],
        [["service"], ["service", "route"]],
        route="/buy",
        Orders=[1, 2],
        Latency=12.5,
    )

    found = parse_line(line + "\n", now_ms=NOW)

    assert found is not None and found.problem is None
    assert found.points == (
        DataPoint("Shop", "Orders", "Count", (("service", "checkout"),), (1.0, 2.0), NOW),
        DataPoint("Shop", "Orders", "Count", (("service", "checkout"), ("route", "/buy")), (1.0, 2.0), NOW),
        DataPoint("Shop", "Latency", "Milliseconds", (("service", "checkout"),), (12.5,), NOW, 1),
        DataPoint("Shop", "Latency", "Milliseconds", (("service", "checkout"), ("route", "/buy")), (12.5,), NOW, 1),
    )


@pytest.mark.parametrize("dimensions", [[], [[]]])
def test_no_dimension_set_or_an_empty_one_publishes_without_dimensions(dimensions: list[list[str]]) -> None:
    found = parse_line(emf([{"Name": "Orders"}], dimensions, Orders=1))

    assert found is not None and [p.dimensions for p in found.points] == [()]
    assert found.points[0].unit == "None"


@pytest.mark.parametrize(
    "line",
    [
        "START RequestId: 1 Version: $LATEST",
        '[INFO]\t2024-01-01T00:00:00.000Z\t1\t{"_aws": {}}',
        '{"message": "hello", "level": "INFO"}',
        '{"_aws": {"Timestamp": 1}, "note": "no CloudWatchMetrics: not EMF"}',
        '{"_aws": broken json',
        '["_aws"]',
    ],
)
def test_a_line_that_is_not_emf_is_just_a_log_line(line: str) -> None:
    assert parse_line(line) is None


def _with(**changes: Any) -> str:
    document = json.loads(emf([{"Name": "Orders", "Unit": "Count"}], Orders=1))
    for path, value in changes.items():
        target = document
        *parents, last = path.split("__")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value
    return json.dumps(document)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (_with(_aws__Timestamp="now"), "Timestamp"),
        (_with(_aws__Timestamp=True), "Timestamp"),
        (_with(_aws__CloudWatchMetrics={}), "CloudWatchMetrics must be an array"),
        (_with(_aws__CloudWatchMetrics__0__Namespace=""), "Namespace"),
        (_with(_aws__CloudWatchMetrics__0__Dimensions=["service"]), "Dimensions[0]"),
        (_with(_aws__CloudWatchMetrics__0__Dimensions=[[f"d{i}" for i in range(MAX_DIMENSIONS + 1)]]), "at most 30"),
        (_with(_aws__CloudWatchMetrics__0__Dimensions=[["missing"]]), "'missing'"),
        (_with(service=7), "'service'"),
        (_with(service="x" * 1025), "1024"),
        (_with(_aws__CloudWatchMetrics__0__Metrics=[{"Name": f"M{i}"} for i in range(MAX_METRICS + 1)]), "at most 100"),
        (_with(_aws__CloudWatchMetrics__0__Metrics=[{"Name": "Orders", "Unit": "Widgets"}]), "not a CloudWatch unit"),
        (_with(_aws__CloudWatchMetrics__0__Metrics=[{"Name": "Orders", "StorageResolution": 5}]), "StorageResolution"),
        (_with(_aws__CloudWatchMetrics__0__Metrics=[{"Unit": "Count"}]), "Name"),
        (_with(Orders="1"), "number or an array of numbers"),
        (_with(Orders=[1, True]), "number or an array of numbers"),
        (_with(Orders=[]), "number or an array of numbers"),
        (_with(Orders=list(range(MAX_VALUES + 1))), "101 values; at most 100"),
        (
            json.dumps(
                {"_aws": {"Timestamp": NOW, "CloudWatchMetrics": [{"Namespace": "Shop", "Dimensions": [], "Metrics": [{"Name": "Gone"}]}]}}
            ),
            "no value",
        ),
    ],
)
def test_an_invalid_emf_line_yields_no_point_and_says_why(line: str, problem: str) -> None:
    found = parse_line(line, now_ms=NOW)

    assert found is not None and found.points == ()
    assert found.problem is not None and problem in found.problem


def test_nan_is_not_json_so_the_line_is_a_log_line() -> None:
    assert parse_line('{"_aws": {"Timestamp": 1, "CloudWatchMetrics": []}, "Orders": NaN}') is None


@pytest.mark.parametrize("offset_ms", [-15 * 24 * 3600 * 1000, 3 * 3600 * 1000])
def test_a_timestamp_cloudwatch_would_not_take_yields_nothing(offset_ms: int) -> None:
    found = parse_line(emf([{"Name": "Orders"}], Orders=1), now_ms=NOW - offset_ms)

    assert found is not None and found.points == () and "Timestamp" in (found.problem or "")


@pytest.mark.parametrize(
    ("namespace", "name", "unit", "expected"),
    [
        ("Shop", "Orders", "Count", ("Shop_Orders", "counter", 1.0)),
        ("Shop", "orders_total", "Count", ("Shop_orders", "counter", 1.0)),
        ("Shop", "Latency", "Milliseconds", ("Shop_Latency_seconds", "summary", 1e-3)),
        ("Shop", "wait_seconds", "Seconds", ("Shop_wait_seconds", "summary", 1.0)),
        ("Shop", "Payload", "Kilobytes", ("Shop_Payload_bytes", "summary", 1024.0)),
        ("Shop", "Link", "Megabits/Second", ("Shop_Link_bytes_per_second", "summary", 1024.0**2 / 8)),
        ("Shop", "Cpu", "Percent", ("Shop_Cpu_ratio", "summary", 0.01)),
        ("Shop", "Rate", "Count/Second", ("Shop_Rate_per_second", "summary", 1.0)),
        ("Shop", "Score", "None", ("Shop_Score", "summary", 1.0)),
        ("My App/v2", "p99.latency", "Microseconds", ("My_App_v2_p99_latency_seconds", "summary", 1e-6)),
        ("9lives", "a:b", "None", ("_9lives_a_b", "summary", 1.0)),
    ],
)
def test_names_units_and_types(namespace: str, name: str, unit: str, expected: tuple[str, str, float]) -> None:
    target = exported_name(namespace, name, unit)

    assert (target.name, target.kind) == expected[:2]
    assert target.factor == pytest.approx(expected[2])


def test_exported_with_dimensions_as_labels_in_base_units() -> None:
    export = EmfExport()
    registry = CollectorRegistry()
    registry.register(export)
    line = emf(
        [{"Name": "Orders", "Unit": "Count"}, {"Name": "Latency", "Unit": "Milliseconds"}],
        [["service"], ["service", "Route Name"]],
        **{"Route Name": "/buy", "Orders": [1, 2], "Latency": [100, 300]},
    )
    found = parse_line(line)
    assert found is not None

    assert export.add(found.points) == 4
    assert export.add(found.points) == 4
    got = samples(registry)

    service = (("service", "checkout"),)
    both = (("Route_Name", "/buy"), ("service", "checkout"))
    assert got[("Shop_Orders_total", service)] == 6
    assert got[("Shop_Orders_total", both)] == 6
    assert got[("Shop_Latency_seconds_count", service)] == 4
    assert got[("Shop_Latency_seconds_sum", service)] == pytest.approx(0.8)
    assert got[("Shop_Latency_seconds_sum", both)] == pytest.approx(0.8)


def test_label_sets_beyond_the_bound_are_dropped_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    export = EmfExport(max_series=2)
    points = [DataPoint("Shop", "Orders", "Count", (("customer", str(i)),), (1.0,), NOW) for i in range(5)]

    with caplog.at_level(logging.WARNING, logger="sluiceway.observability.emf_export"):
        exported = export.add(points)

    assert exported == 2
    assert [r.getMessage() for r in caplog.records] == ["too many label sets for an EMF metric: new ones are not exported"]
    registry = CollectorRegistry()
    registry.register(export)
    assert sorted(labels for name, labels in samples(registry)) == [(("customer", "0"),), (("customer", "1"),)]


def test_a_name_seen_with_another_kind_of_unit_reserved_names_and_negative_counts_are_dropped(caplog: pytest.LogCaptureFixture) -> None:
    export = EmfExport()
    with caplog.at_level(logging.WARNING, logger="sluiceway.observability.emf_export"):
        assert export.add([DataPoint("Shop", "Orders", "Count", (), (1.0,), NOW)]) == 1
        assert export.add([DataPoint("Shop", "Orders", "None", (), (1.0,), NOW)]) == 0
        assert export.add([DataPoint("sluiceway", "executions", "Count", (), (1.0,), NOW)]) == 0
        assert export.add([DataPoint("Shop", "Refunds", "Count", (), (-1.0,), NOW)]) == 0
        assert export.add([DataPoint("Shop", "Orders", "None", (), (2.0,), NOW)]) == 0
    assert len(caplog.records) == 3  # one warning each, never repeated


def test_metrics_export_a_function_s_emf_lines_and_count_the_invalid_ones() -> None:
    metrics = Metrics()
    good = emf([{"Name": "Orders", "Unit": "Count"}], Orders=3)
    bad = emf([{"Name": "Orders", "Unit": "Widgets"}], Orders=3)

    metrics.function_output("Checkout", [(NOW, "START RequestId: 1\n"), (NOW, good + "\n"), (NOW, bad + "\n"), (NOW, "plain\n")])
    got = samples(metrics.registry)

    assert got[("Shop_Orders_total", (("service", "checkout"),))] == 3
    assert got[("sluiceway_emf_validation_errors_total", (("function", "Checkout"),))] == 1


def test_disabled_metrics_export_nothing() -> None:
    metrics = Metrics(enabled=False)

    metrics.function_output("Checkout", [(NOW, emf([{"Name": "Orders", "Unit": "Count"}], Orders=3))])
    metrics.function_invoked("Checkout", 0.1, error=False, cold_start=True)

    assert samples(metrics.registry) == {}


HUGE = "9" * 400  # valid JSON; Python reads it as an int beyond a float's range


@pytest.mark.parametrize(
    "members",
    [{"Orders": int(HUGE)}, {"Orders": [1, int(HUGE)]}, {"Orders": -(2**361)}, {"Orders": 2.0**361}],
)
def test_a_value_beyond_cloudwatch_s_range_is_a_problem_never_a_raise(members: dict[str, Any]) -> None:
    found = parse_line(emf([{"Name": "Orders", "Unit": "Count"}], **members), now_ms=NOW)

    assert found is not None and found.points == ()
    assert found.problem == "metric 'Orders' must hold a number or an array of numbers"


def test_a_huge_integer_written_as_text_never_raises() -> None:
    line = emf([{"Name": "Orders", "Unit": "Count"}]).removesuffix("}") + ', "Orders": ' + HUGE + "}"

    found = parse_line(line, now_ms=NOW)

    assert found is not None and found.problem is not None


def test_values_at_the_edge_of_cloudwatch_s_range_are_taken() -> None:
    found = parse_line(emf([{"Name": "Orders"}], Orders=[2.0**360, -(2**360)]), now_ms=NOW)

    assert found is not None and found.problem is None and found.points[0].values == (2.0**360, -(2.0**360))


def test_a_timestamp_beyond_a_float_s_range_is_a_problem() -> None:
    line = json.dumps({"_aws": {"Timestamp": int(HUGE), "CloudWatchMetrics": []}})

    found = parse_line(line, now_ms=NOW)

    assert found is not None and found.problem == "_aws.Timestamp must be a number of milliseconds"


def openmetrics(registry: Any) -> list[str]:
    """The family names of the OpenMetrics exposition, read by prometheus_client's strict parser."""
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics

    _, _, body = exposition(registry, {"accept": "application/openmetrics-text"})
    return [family.name for family in parse_openmetrics(body.decode())]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("Orders", "Count"), ("Orders_created", "Count")),  # Shop_Orders_created clashes with Shop_Orders's _created
        (("Orders_created", "Count"), ("Orders", "Count")),
        (("Latency", "None"), ("Latency_count", "Count")),  # a summary's _count
        (("Latency", "None"), ("Latency_sum", "None")),  # a summary's _sum
        (("Orders_total", "None"), ("Orders", "Count")),  # the counter's _total is the summary's own name
    ],
)
def test_emf_names_that_clash_in_openmetrics_keep_the_first_with_one_warning(
    first: tuple[str, str], second: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics()
    with caplog.at_level(logging.WARNING, logger="sluiceway.observability.emf_export"):
        assert metrics.emf.add([DataPoint("Shop", first[0], first[1], (), (1.0,), NOW)]) == 1
        for _ in range(2):
            assert metrics.emf.add([DataPoint("Shop", second[0], second[1], (), (1.0,), NOW)]) == 0

    families = openmetrics(metrics.registry)  # parses: no "Clashing name"

    assert exported_name("Shop", *first).name in families
    assert [r.getMessage() for r in caplog.records] == ["an EMF metric whose Prometheus names clash with another's is not exported"]


def test_emf_names_that_do_not_clash_are_all_exported() -> None:
    metrics = Metrics()
    for name, unit in (("Orders", "Count"), ("Orders_count", "Count"), ("Latency", "Milliseconds"), ("Latency_created_at", "None")):
        assert metrics.emf.add([DataPoint("Shop", name, unit, (), (1.0,), NOW)]) == 1

    assert {"Shop_Orders", "Shop_Orders_count", "Shop_Latency_seconds", "Shop_Latency_created_at"} <= set(openmetrics(metrics.registry))


def test_all_emf_series_together_stop_at_the_global_budget_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    export = EmfExport(max_series=10, max_total_series=5)
    points = [DataPoint("Shop", f"Metric{m}", "Count", (("customer", str(i)),), (1.0,), NOW) for m in range(3) for i in range(3)]

    with caplog.at_level(logging.WARNING, logger="sluiceway.observability.emf_export"):
        exported = export.add(points)
        assert export.add(points[:5]) == 5  # series already exported keep counting

    assert exported == 5
    assert [r.getMessage() for r in caplog.records] == ["too many EMF label sets in all: new ones are not exported"]


def test_a_failing_metrics_hook_never_raises_into_the_caller(caplog: pytest.LogCaptureFixture) -> None:
    metrics = Metrics()

    class Broken(EmfExport):
        def add(self, points: Any) -> int:
            raise OverflowError("a bug in the exporter")

    metrics.emf = Broken()
    with caplog.at_level(logging.WARNING, logger="sluiceway.observability.metrics"):
        for _ in range(2):
            metrics.function_output("Checkout", [(NOW, emf([{"Name": "Orders", "Unit": "Count"}], Orders=3))])

    assert [r.getMessage() for r in caplog.records] == ["metrics hook failed; the work it counts goes on"]  # once
