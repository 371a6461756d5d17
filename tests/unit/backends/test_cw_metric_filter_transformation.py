"""What one matching log event publishes for a metric filter's transformation."""

from __future__ import annotations

import json

from sluiceway.backends.local._cw_metric_filter_feed import Transformation
from sluiceway.backends.local._cw_values import MetricKey


def _observe(pattern: str, transformation: dict[str, object], message: str) -> tuple[MetricKey, float] | None:
    made = Transformation.of(pattern, {"metricNamespace": "N", "metricName": "M", **transformation})
    matched = made.pattern.match(message)
    assert matched is not None
    return made.observe(matched)


def test_a_literal_value_is_published_for_every_match() -> None:
    assert _observe("ERROR", {"metricValue": "2.5"}, "an ERROR") == (MetricKey("N", "M"), 2.5)


def test_json_references_give_the_value_and_the_dimensions() -> None:
    message = json.dumps({"latency": 120, "route": "/orders", "status": 200})
    found = _observe("{ $.latency = * }", {"metricValue": "$.latency", "dimensions": {"Status": "$.status", "Route": "$.route"}}, message)
    assert found == (MetricKey("N", "M", (("Route", "/orders"), ("Status", "200"))), 120.0)


def test_a_reference_without_a_number_or_a_dimension_without_a_value_publishes_nothing() -> None:
    assert _observe("{ $.a = * }", {"metricValue": "$.a"}, json.dumps({"a": "slow"})) is None
    assert _observe("{ $.a = * }", {"metricValue": "$.a"}, json.dumps({"a": True})) is None
    assert _observe("{ $.a = * }", {"metricValue": "1", "dimensions": {"D": "$.missing"}}, json.dumps({"a": 1})) is None


def test_space_delimited_fields_give_the_value() -> None:
    found = _observe("[verb, path, bytes]", {"metricValue": "$bytes", "dimensions": {"Verb": "$verb"}}, "GET /a 512")
    assert found == (MetricKey("N", "M", (("Verb", "GET"),)), 512.0)
