"""``AWS/Lambda`` ``Throttles`` end to end: Invoke through the endpoint refused with Lambda's 429, and
the throttle read back with CloudWatch's GetMetricStatistics and ListMetrics, as on AWS."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.lambdas.invoker import FunctionSpec
from sluiceway.runtime.stack import Stack

_entered = threading.Event()
_release = threading.Event()


def hold(event: Any, context: Any) -> str:
    """Stays in flight until the test lets it go (the stack runs functions in threads: this module)."""
    _entered.set()
    _release.wait(20)
    return "done"


def quick(event: Any, context: Any) -> str:
    return "done"


@pytest.fixture
def function(stack: Stack) -> Iterator[Callable[[str, str, int | None], str]]:
    """``function(name, handler, reserved)`` registers a function as a template's is registered; its name."""
    names: list[str] = []

    def register(name: str, handler: str, reserved: int | None) -> str:
        stack.invoker.register(FunctionSpec(name, f"{__name__}.{handler}", reserved_concurrency=reserved))
        names.append(name)
        return name

    yield register
    for name in names:
        stack.invoker.unregister(name)


@pytest.fixture
def lam(endpoint: Endpoint) -> Any:
    """A Lambda client that does not try again: botocore retries a 429, and each try is a throttle of its own."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    return session.client("lambda", endpoint_url=endpoint.url, config=Config(retries={"total_max_attempts": 1}))


def throttles(aws: Callable[..., Any], function: str) -> dict[str, Any] | None:
    """The function's ``Throttles`` statistics over the last hour in one datapoint; None without data."""
    now = datetime.now(UTC)
    answer = aws("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="Throttles",
        Dimensions=[{"Name": "FunctionName", "Value": function}],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(minutes=1),
        Period=3900,
        Statistics=["Sum", "SampleCount", "Maximum"],
    )
    points = answer["Datapoints"]
    assert len(points) <= 1
    return points[0] if points else None


def test_two_invokes_at_once_at_reserved_concurrency_one_are_one_throttle(
    aws: Callable[..., Any], lam: Any, function: Callable[[str, str, int | None], str]
) -> None:
    name = function("ThrottledSync", "hold", 1)
    _entered.clear()
    _release.clear()
    first: list[Any] = []
    running = threading.Thread(target=lambda: first.append(lam.invoke(FunctionName=name, Payload=b"{}")))
    running.start()
    try:
        assert _entered.wait(20), "the first invocation never started"
        with pytest.raises(ClientError) as refused:
            lam.invoke(FunctionName=name, Payload=b"{}")
    finally:
        _release.set()
        running.join(20)

    error = refused.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error["Error"]["Code"] == "TooManyRequestsException"
    assert [json.loads(answer["Payload"].read()) for answer in first] == ["done"]
    # Put at the refusal, before the 429 is sent: there at once.
    point = throttles(aws, name)
    assert point is not None
    assert (point["Sum"], point["SampleCount"], point["Maximum"], point["Unit"]) == (1.0, 1.0, 1.0, "Count")
    listed = aws("cloudwatch").list_metrics(Namespace="AWS/Lambda", MetricName="Throttles")["Metrics"]
    assert {"Namespace": "AWS/Lambda", "MetricName": "Throttles", "Dimensions": [{"Name": "FunctionName", "Value": name}]} in listed


def test_an_event_invocation_counts_each_throttled_try(
    stack: Stack, aws: Callable[..., Any], function: Callable[[str, str, int | None], str]
) -> None:
    name = function("ThrottledEvent", "quick", 0)
    assert aws("lambda").invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")["StatusCode"] == 202

    # Lambda keeps the event and tries again (a second later at first): each try is a throttle.
    deadline = time.monotonic() + 20
    while ((seen := throttles(aws, name)) is None or seen["Sum"] < 2) and time.monotonic() < deadline:
        time.sleep(0.1)
    stack.invoker.register(FunctionSpec(name, f"{__name__}.quick"))  # room at last: no more throttles

    assert seen is not None and seen["Sum"] >= 2
    assert seen["SampleCount"] == seen["Sum"] and seen["Maximum"] == 1.0
