"""Metric math through the endpoint with boto3: GetMetricData computing CloudWatch's functions over
stored data points, arrays answered one result per series, what is refused, and a metric math alarm
that reads a guarded error rate."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from botocore.exceptions import ClientError

from sluiceway.runtime.alarms import AlarmEvaluator
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The endpoint's stack without its own alarm evaluator: the alarm test turns one on a clock of its choosing."""
    settings = Settings.load(data_dir=tmp_path_factory.mktemp("cloudwatch-math") / "data", workers=2, endpoint_port=free_port())
    built = build_stack(settings, invoker_mode="thread")
    evaluator, built.alarms = built.alarms, None
    built.start("cloudwatch math tests")
    try:
        yield built
    finally:
        built.close()
        if evaluator is not None:
            evaluator.close()


@pytest.fixture(scope="module")
def cw(aws: Any) -> Any:
    return aws("cloudwatch")


BASE = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
"""The first of the four minutes the tests' data points go into (whole minutes, so periods align)."""
ERRORS = {0: 1.0, 1: 0.0, 3: 2.0}
INVOCATIONS = {0: 4.0, 1: 0.0, 2: 5.0, 3: 8.0}


@pytest.fixture(scope="module")
def namespace(cw: Any) -> str:
    name = f"Math{uuid4().hex[:8]}"
    data = [
        {"MetricName": metric, "Value": value, "Timestamp": BASE + timedelta(minutes=minute, seconds=10)}
        for metric, points in (("Errors", ERRORS), ("Invocations", INVOCATIONS))
        for minute, value in points.items()
    ]
    cw.put_metric_data(Namespace=name, MetricData=data)
    return name


def stat(query_id: str, namespace: str, metric: str, **extra: Any) -> dict[str, Any]:
    return {
        "Id": query_id,
        "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": metric}, "Period": 60, "Stat": "Sum"},
        **extra,
    }


def get(cw: Any, queries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    answer = cw.get_metric_data(MetricDataQueries=queries, StartTime=BASE, EndTime=BASE + timedelta(minutes=4), ScanBy="TimestampAscending")
    return list(answer["MetricDataResults"])


def minutes(result: dict[str, Any]) -> list[int]:
    return [int((ts - BASE).total_seconds() // 60) for ts in result["Timestamps"]]


def test_a_guarded_error_rate(cw: Any, namespace: str) -> None:
    [rate] = get(
        cw,
        [
            stat("errors", namespace, "Errors", ReturnData=False),
            stat("invocations", namespace, "Invocations", ReturnData=False),
            {"Id": "rate", "Expression": "IF(invocations > 0, 100 * errors / invocations, 0)"},
        ],
    )
    # An expression without a Label is labelled with its Id.
    assert (rate["Id"], rate["Label"], rate["StatusCode"]) == ("rate", "rate", "Complete")
    assert (minutes(rate), rate["Values"]) == ([0, 1, 2, 3], [25.0, 0.0, 0.0, 25.0])


def test_functions_over_one_series(cw: Any, namespace: str) -> None:
    expressions = {
        "zeros": "FILL(errors, 0)",
        "repeat": "FILL(errors, REPEAT)",
        "linear": "FILL(errors, LINEAR)",
        "rate": "RATE(invocations)",
        "diff": "DIFF(invocations)",
        "running": "RUNNING_SUM(invocations)",
        "centred": "invocations - AVG(invocations)",
        "flat": "TIME_SERIES(MAX(invocations))",
        "power": "2 ^ errors",
    }
    queries = [stat("errors", namespace, "Errors", ReturnData=False), stat("invocations", namespace, "Invocations", ReturnData=False)]
    results = get(cw, queries + [{"Id": key, "Expression": text, "Label": key} for key, text in expressions.items()])
    found = {r["Id"]: (minutes(r), r["Values"]) for r in results}
    assert found == {
        "zeros": ([0, 1, 2, 3], [1.0, 0.0, 0.0, 2.0]),
        "repeat": ([0, 1, 2, 3], [1.0, 0.0, 0.0, 2.0]),
        "linear": ([0, 1, 2, 3], [1.0, 0.0, 1.0, 2.0]),
        "rate": ([1, 2, 3], [-4 / 60, 5 / 60, 3 / 60]),
        "diff": ([1, 2, 3], [-4.0, 5.0, 3.0]),
        "running": ([0, 1, 2, 3], [4.0, 4.0, 9.0, 17.0]),
        "centred": ([0, 1, 2, 3], [-0.25, -4.25, 0.75, 3.75]),
        "flat": ([0, 1, 2, 3], [8.0] * 4),
        "power": ([0, 1, 3], [2.0, 1.0, 4.0]),
    }


def test_arrays_of_series(cw: Any, namespace: str) -> None:
    results = get(
        cw,
        [
            stat("errors", namespace, "Errors", ReturnData=False, Label="Errors"),
            stat("invocations", namespace, "Invocations", ReturnData=False),
            {"Id": "total", "Expression": "SUM(METRICS())"},
            {"Id": "filled", "Expression": "FILL(METRICS(), 0)", "Label": "Filled With 0:"},
            {"Id": "top", "Expression": "SORT(METRICS(), SUM, DESC, 1)"},
            {"Id": "only", "Expression": 'SUM(METRICS("inv")) * 2'},
        ],
    )
    shown = [(r["Id"], r["Label"], r["Values"]) for r in results]
    assert shown == [
        ("total", "total", [5.0, 0.0, 5.0, 10.0]),
        # One result per series of an array, each with the expression's Id.
        ("filled", "Filled With 0: Errors", [1.0, 0.0, 0.0, 2.0]),
        ("filled", "Filled With 0: Invocations", [4.0, 0.0, 5.0, 8.0]),
        ("top", "Invocations", [4.0, 0.0, 5.0, 8.0]),
        ("only", "only", [8.0, 0.0, 10.0, 16.0]),
    ]


def test_a_division_by_zero_drops_the_point(cw: Any, namespace: str) -> None:
    [ratio] = get(
        cw,
        [
            stat("errors", namespace, "Errors", ReturnData=False),
            stat("invocations", namespace, "Invocations", ReturnData=False),
            {"Id": "ratio", "Expression": "errors / invocations"},
        ],
    )
    assert (minutes(ratio), ratio["Values"]) == ([0, 2, 3], [0.25, 0.0, 0.25])


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("SEARCH('{AWS/Lambda} Errors', 'Sum', 60)", "SEARCH is not computed locally"),
        ("ANOMALY_DETECTION_BAND(errors) * 2", "ANOMALY_DETECTION_BAND must be the whole expression"),
        ("ANOMALY_DETECTION_BAND(errors, 0)", "must be a positive number"),
        ("AVG(errors)", "computes a number"),
        ("errors +", "ends too soon"),
        ("NOPE(errors)", "Unrecognized function NOPE"),
        ("missing * 2", "Unrecognized id 'missing'"),
        ("SLICE(METRICS(), 1/0)", "SLICE takes a finite number here, not inf"),
        ("SORT(METRICS(), SUM, DESC, 0/0)", "SORT takes a finite number here, not nan"),
    ],
)
def test_what_is_not_computed_is_a_validation_error(cw: Any, namespace: str, expression: str, words: str) -> None:
    with pytest.raises(ClientError) as caught:
        get(cw, [stat("errors", namespace, "Errors", ReturnData=False), {"Id": "e1", "Expression": expression}])
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert words in caught.value.response["Error"]["Message"]


class Later:
    """The stack's clock moved to a given time (the alarm's periods are those before it)."""

    def __init__(self, clock: Any, at: datetime) -> None:
        self.clock, self.at = clock, at

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return float(self.clock.monotonic())


def test_a_metric_math_alarm_computes_its_expression(cw: Any, namespace: str, stack: Stack) -> None:
    name = f"error-rate-{namespace}"
    cw.put_metric_alarm(
        AlarmName=name,
        EvaluationPeriods=2,
        Threshold=20.0,
        ComparisonOperator="GreaterThanThreshold",
        Metrics=[
            stat("errors", namespace, "Errors", ReturnData=False),
            stat("invocations", namespace, "Invocations", ReturnData=False),
            {"Id": "rate", "Expression": "IF(invocations > 0, 100 * FILL(errors, 0) / invocations, 0)", "ReturnData": True},
        ],
    )
    # The two periods before BASE + 4 minutes: minute 2 (0 %) and minute 3 (25 %): one breaching, not two.
    evaluator = AlarmEvaluator(stack.local.cloudwatch, Later(stack.local.clock, BASE + timedelta(minutes=4)))
    evaluator.turn()
    alarm = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    assert alarm["StateValue"] == "OK"
    # One period before BASE + 4 minutes: minute 3, 25 % > 20 %.
    cw.put_metric_alarm(
        AlarmName=name,
        EvaluationPeriods=1,
        Threshold=20.0,
        ComparisonOperator="GreaterThanThreshold",
        Metrics=alarm["Metrics"],
    )
    evaluator.turn()
    alarm = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM"
    assert "[25.0 (" in alarm["StateReason"]


def test_a_division_by_zero_drops_its_point_and_says_so_in_the_results_messages(cw: Any, namespace: str) -> None:
    ratio, guarded = get(
        cw,
        [
            stat("e", namespace, "Errors", ReturnData=False),
            stat("i", namespace, "Invocations", ReturnData=False),
            {"Id": "ratio", "Expression": "e / i"},
            {"Id": "guarded", "Expression": "IF(i > 0, e / i, 0)"},
        ],
    )
    assert 1 not in minutes(ratio)  # 0 / 0 at minute 1: no value there
    assert [m["Code"] for m in ratio["Messages"]] == ["ArithmeticError"]
    assert guarded["Messages"] == []
    assert dict(zip(minutes(guarded), guarded["Values"], strict=True))[1] == 0.0


def test_a_sum_of_a_hundred_and_twenty_metrics_is_one_flat_chain(cw: Any, namespace: str) -> None:
    queries = [stat(f"m{i}", namespace, "Errors" if i % 2 else "Invocations", ReturnData=False) for i in range(120)]
    expression = "+".join(f"m{i}" for i in range(120))
    assert len(expression) < 500
    [total] = get(cw, [*queries, {"Id": "total", "Expression": expression}])
    # Minute 0: 60 x 4 invocations + 60 x 1 error.
    assert (minutes(total)[0], total["Values"][0]) == (0, 300.0)


def test_a_query_longer_than_the_model_allows_is_refused_as_aws_validates_it(cw: Any, namespace: str) -> None:
    expression = "errors+" * 292 + "errors12"  # 2052 characters
    long_id = "a" * 256
    queries = [stat("errors", namespace, "Errors", ReturnData=False), {"Id": long_id, "Expression": expression}]
    with pytest.raises(ClientError) as caught:
        get(cw, queries)
    assert (caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]) == (
        "ValidationError",
        f"2 validation errors detected: Value '{long_id}' at 'metricDataQueries.2.member.id' failed to satisfy constraint:"
        " Member must have length less than or equal to 255;"
        f" Value '{expression}' at 'metricDataQueries.2.member.expression' failed to satisfy constraint:"
        " Member must have length less than or equal to 2048",
    )
    with pytest.raises(ClientError) as caught:
        cw.put_metric_alarm(
            AlarmName="too-long", EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
            Metrics=[queries[0], {"Id": "e1", "Expression": expression, "ReturnData": True}],
        )  # fmt: skip
    assert caught.value.response["Error"]["Message"] == (
        f"1 validation error detected: Value '{expression}' at 'metrics.2.member.expression' failed to satisfy constraint:"
        " Member must have length less than or equal to 2048"
    )
    # At the limit, it computes.
    at_limit = "errors+" * 291 + "errors*1.00"
    assert len(at_limit) == 2048
    [total] = get(cw, [queries[0], {"Id": "e1", "Expression": at_limit}])
    assert total["Values"][0] == 292.0


@pytest.mark.parametrize(
    "expression",
    ["METRICS()", "[errors, invocations]", "SORT(METRICS(), SUM, DESC)", "SLICE(METRICS(), 0, 1)", "FILL(METRICS(), 0)", "-METRICS()"],
)
def test_an_alarm_must_watch_a_single_series(cw: Any, namespace: str, expression: str) -> None:
    with pytest.raises(ClientError) as caught:
        cw.put_metric_alarm(
            AlarmName="on-an-array", EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
            Metrics=[
                stat("errors", namespace, "Errors", ReturnData=False),
                stat("invocations", namespace, "Invocations", ReturnData=False),
                {"Id": "e1", "Expression": expression, "ReturnData": True},
            ],
        )  # fmt: skip
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert "must return a single time series" in caught.value.response["Error"]["Message"]
    assert cw.describe_alarms(AlarmNames=["on-an-array"])["MetricAlarms"] == []


def test_an_alarm_may_watch_one_series_of_an_array(cw: Any, namespace: str) -> None:
    name = f"first-{namespace}"
    cw.put_metric_alarm(
        AlarmName=name, EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
        Metrics=[
            stat("errors", namespace, "Errors", ReturnData=False),
            {"Id": "all", "Expression": "REMOVE_EMPTY(METRICS())", "ReturnData": False},
            {"Id": "e1", "Expression": "FIRST(SORT(all, MAX, DESC)) + SUM(all) * 0", "ReturnData": True},
        ],
    )  # fmt: skip
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["Metrics"][2]["Id"] == "e1"


def test_exactly_one_query_of_an_alarm_returns_data(cw: Any, namespace: str) -> None:
    with pytest.raises(ClientError) as caught:
        cw.put_metric_alarm(
            AlarmName="two-returned", EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
            Metrics=[stat("errors", namespace, "Errors"), {"Id": "e1", "Expression": "errors * 2"}],
        )  # fmt: skip
    error = caught.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("ValidationError", "Exactly one element of the metrics list should return data.")
