"""CloudWatch operations answer what they cannot take with AWS's 400s, never with an unexpected exception
(a 500): JSON nested deeper than Python's stack, metric math nested as deep, numbers beyond a double.

The operations are called directly: each check comes before the store is read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from sluiceway.clock import FakeClock
from sluiceway.endpoint.errors import AwsError
from sluiceway.endpoint.json_nesting import MAX_JSON_NESTING, nesting
from sluiceway.endpoint.services._cloudwatch_metrics import put_metric_data
from sluiceway.endpoint.services.cloudwatch import put_metric_alarm, set_alarm_state

NO_STORE: Any = None

ALARM = {
    "AlarmName": "a",
    "EvaluationPeriods": 1,
    "Threshold": 1.0,
    "ComparisonOperator": "GreaterThanThreshold",
}
SINGLE = {**ALARM, "Namespace": "Shop", "MetricName": "Orders", "Statistic": "Sum", "Period": 60}


def status_code(raised: pytest.ExceptionInfo[AwsError]) -> tuple[int, str]:
    return raised.value.status, raised.value.code


@pytest.mark.parametrize("depth", [MAX_JSON_NESTING + 1, 1500, 2000])
def test_set_alarm_state_with_deeply_nested_reason_data_is_invalid_format(depth: int) -> None:
    # At most 4000 characters (StateReasonData's limit). Whether Python's parser would manage
    # depends on the process's recursion limit (jsonata raises it to 10000): the answer must not.
    data = "[" * depth + "]" * depth
    with pytest.raises(AwsError) as raised:
        set_alarm_state(NO_STORE, {"AlarmName": "a", "StateValue": "ALARM", "StateReason": "x", "StateReasonData": data})
    assert status_code(raised) == (400, "InvalidFormat")


@pytest.mark.parametrize(
    ("text", "depth"),
    [("{}", 1), ('{"a": [1, {"b": []}]}', 4), ('{"a": "[[[[{{{"}', 1), ('["\\"", ["]"]]', 2), ("[" * 1000 + "]" * 1000, 1000)],
)
def test_the_nesting_check_skips_strings(text: str, depth: int) -> None:
    assert nesting(text) == depth


# A flat chain (m1 + m1 + ... ) is no nesting: only parentheses, calls and unary minus count.
@pytest.mark.parametrize("expression", ["(" * 600 + "m1" + ")" * 600, "-" * 1000 + "m1", "ABS(" * 150 + "m1" + ")" * 150])
def test_a_metric_math_alarm_nested_too_deep_is_a_validation_error(expression: str) -> None:
    queries = [
        {
            "Id": "m1",
            "MetricStat": {"Metric": {"Namespace": "Shop", "MetricName": "Orders"}, "Period": 60, "Stat": "Sum"},
            "ReturnData": False,
        },
        {"Id": "e1", "Expression": expression, "ReturnData": True},
    ]
    with pytest.raises(AwsError) as raised:
        put_metric_alarm(NO_STORE, {**ALARM, "Metrics": queries})
    assert raised.value.status == 400
    assert "nests more than" in raised.value.message


@pytest.mark.parametrize("threshold", [float("nan"), float("inf"), float("-inf")])
def test_an_alarm_threshold_that_is_not_a_finite_number_is_invalid(threshold: float) -> None:
    with pytest.raises(AwsError) as raised:
        put_metric_alarm(NO_STORE, {**SINGLE, "Threshold": threshold})
    assert status_code(raised) == (400, "InvalidParameterValue")


@pytest.mark.parametrize("item", [{"Value": 10**400}, {"Values": [1.0, 10**400]}, {"Values": [1.0], "Counts": [10**400]}])
def test_a_metric_value_beyond_a_double_is_invalid(item: dict[str, Any]) -> None:
    ctx: Any = SimpleNamespace(stack=SimpleNamespace(local=SimpleNamespace(clock=FakeClock(datetime(2026, 5, 12, tzinfo=UTC)))))
    with pytest.raises(AwsError) as raised:
        put_metric_data(ctx, {"Namespace": "Shop", "MetricData": [{"MetricName": "Orders", **item}]})
    assert status_code(raised) == (400, "InvalidParameterValue")
