"""CloudWatch Logs metric filters through the endpoint with boto3: the operations, their errors,
and the metrics their feed derives from the events put into a group, counted once."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.backends.local._cw_metric_filter_feed import MetricFilterFeed
from sluiceway.runtime.alarms import AlarmEvaluator
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

Client = Callable[..., Any]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The endpoint's stack without its own alarm evaluator: each test pulls the feed itself, so no
    turn on the real clock pulls between a test's steps."""
    settings = Settings.load(data_dir=tmp_path_factory.mktemp("metric-filters") / "data", workers=2, endpoint_port=free_port())
    built = build_stack(settings, invoker_mode="thread")
    evaluator, built.alarms = built.alarms, None
    built.start("metric filter tests")
    try:
        yield built
    finally:
        built.close()
        if evaluator is not None:
            evaluator.close()


@pytest.fixture(scope="module")
def logs(aws: Client) -> Any:
    return aws("logs")


@pytest.fixture(scope="module")
def cw(aws: Client) -> Any:
    return aws("cloudwatch")


@pytest.fixture
def feed(stack: Stack) -> Iterator[MetricFilterFeed]:
    made = MetricFilterFeed(stack.local.cloudwatch, stack.local.logs.path)
    try:
        yield made
    finally:
        made.close()


class MinuteAfter:
    """A clock a minute after the minute of ``stamp_ms`` began: that minute is the complete period an
    alarm evaluates, whenever the test runs."""

    def __init__(self, stamp_ms: int) -> None:
        self.at = datetime.fromtimestamp((stamp_ms - stamp_ms % 60_000 + 61_000) / 1000, UTC)

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return 0.0


def _group(logs: Any, name: str) -> str:
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    return name


def _put(logs: Any, group: str, messages: list[str], stamp_ms: int) -> None:
    logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[{"timestamp": stamp_ms, "message": m} for m in messages])


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def _minute_ms() -> int:
    """The start of the current minute: all of a test's events share that minute, and none is in the future."""
    now = _now_ms()
    return now - now % 60_000


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return str(exc.value.response["Error"]["Code"]), str(exc.value.response["Error"]["Message"])


def _stats(cw: Any, namespace: str, name: str, stamp_ms: int, dims: list[dict[str, str]] | None = None) -> dict[str, float]:
    at = datetime.fromtimestamp(stamp_ms / 1000, UTC)
    answer = cw.get_metric_statistics(
        Namespace=namespace,
        MetricName=name,
        Dimensions=dims or [],
        StartTime=at - timedelta(minutes=2),
        EndTime=at + timedelta(minutes=2),
        Period=60,
        Statistics=["Sum", "SampleCount"],
    )
    points = answer["Datapoints"]
    return {"Sum": sum(p["Sum"] for p in points), "SampleCount": sum(p["SampleCount"] for p in points)}


# -- the metrics ---------------------------------------------------------------------------


def test_matching_events_publish_once_and_an_alarm_on_the_metric_goes_to_alarm(stack: Stack, logs: Any, cw: Any) -> None:
    group = _group(logs, "/app/orders")
    logs.put_metric_filter(
        logGroupName=group,
        filterName="errors",
        filterPattern='{ $.level = "ERROR" }',
        metricTransformations=[{"metricNamespace": "MF/Orders", "metricName": "Errors", "metricValue": "1", "defaultValue": 0}],
    )
    stamp = _minute_ms()
    _put(logs, group, ['{"level": "ERROR"}', '{"level": "INFO"}', '{"level": "ERROR", "id": 2}', '{"level": "ERROR"}'], stamp)
    first = MetricFilterFeed(stack.local.cloudwatch, stack.local.logs.path)
    try:
        assert first.pull() == 3  # the minute had matches: no DefaultValue
        assert first.pull() == 0
    finally:
        first.close()
    # A feeder made again (a restart) reads on from the durable cursor: nothing counts twice.
    again = MetricFilterFeed(stack.local.cloudwatch, stack.local.logs.path)
    try:
        assert again.pull() == 0
        assert _stats(cw, "MF/Orders", "Errors", stamp) == {"Sum": 3.0, "SampleCount": 3.0}
        cw.put_metric_alarm(
            AlarmName="orders-errors",
            Namespace="MF/Orders",
            MetricName="Errors",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=2,
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching",
        )
        AlarmEvaluator(stack.local.cloudwatch, MinuteAfter(stamp), [again]).turn()
    finally:
        again.close()
    assert cw.describe_alarms(AlarmNames=["orders-errors"])["MetricAlarms"][0]["StateValue"] == "ALARM"
    data = cw.get_metric_data(
        MetricDataQueries=[
            {"Id": "e", "MetricStat": {"Metric": {"Namespace": "MF/Orders", "MetricName": "Errors"}, "Period": 60, "Stat": "Sum"}}
        ],
        StartTime=datetime.fromtimestamp(stamp / 1000, UTC) - timedelta(minutes=2),
        EndTime=datetime.fromtimestamp(stamp / 1000, UTC) + timedelta(minutes=2),
    )
    assert data["MetricDataResults"][0]["Values"] == [3.0]


def test_a_closed_minute_without_a_match_publishes_the_default_value_once(stack: Stack, logs: Any, cw: Any, feed: MetricFilterFeed) -> None:
    group = _group(logs, "/app/quiet")
    logs.put_metric_filter(
        logGroupName=group,
        filterName="quiet-errors",
        filterPattern="ERROR",
        metricTransformations=[
            {"metricNamespace": "MF/Quiet", "metricName": "Errors", "metricValue": "1", "defaultValue": 0, "unit": "Count"}
        ],
    )
    stamp = _minute_ms() - 3 * 60_000  # a minute that ended longer ago than the grace for late events
    _put(logs, group, ["all good", "still good", "fine"], stamp)
    assert feed.pull() == 1
    _put(logs, group, ["later, same minute"], stamp + 10)
    assert feed.pull() == 0  # that minute's DefaultValue is published already
    assert _stats(cw, "MF/Quiet", "Errors", stamp) == {"Sum": 0.0, "SampleCount": 1.0}


def test_an_open_minute_fed_in_two_pulls_publishes_only_its_matches(stack: Stack, logs: Any, cw: Any, feed: MetricFilterFeed) -> None:
    group = _group(logs, "/app/split")
    logs.put_metric_filter(
        logGroupName=group,
        filterName="split-errors",
        filterPattern="ERROR",
        metricTransformations=[{"metricNamespace": "MF/Split", "metricName": "Errors", "metricValue": "1", "defaultValue": 0}],
    )
    stamp = _minute_ms()
    _put(logs, group, ["all good"], stamp)
    assert feed.pull() == 0  # the minute is open: no DefaultValue yet
    _put(logs, group, ["ERROR boom"], stamp + 10)
    assert feed.pull() == 1
    assert _stats(cw, "MF/Split", "Errors", stamp) == {"Sum": 1.0, "SampleCount": 1.0}  # as AWS: the match only


def test_values_and_dimensions_come_from_the_fields_of_space_delimited_events(
    stack: Stack, logs: Any, cw: Any, feed: MetricFilterFeed
) -> None:
    group = _group(logs, "/app/access")
    logs.put_metric_filter(
        logGroupName=group,
        filterName="bytes",
        filterPattern="[ip, user, username, timestamp, request, status_code, bytes]",
        metricTransformations=[
            {
                "metricNamespace": "MF/Access",
                "metricName": "Bytes",
                "metricValue": "$bytes",
                "unit": "Bytes",
                "dimensions": {"Status": "$status_code"},
            }
        ],
    )
    stamp = _minute_ms()
    _put(
        logs,
        group,
        [
            '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /a.gif HTTP/1.0" 200 1534',
            '127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /b.gif HTTP/1.0" 500 5324',
            '127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /c.gif HTTP/1.0" 200 -',  # no number: nothing
            "too few fields",
        ],
        stamp,
    )
    assert feed.pull() == 2
    assert _stats(cw, "MF/Access", "Bytes", stamp, [{"Name": "Status", "Value": "200"}]) == {"Sum": 1534.0, "SampleCount": 1.0}
    assert _stats(cw, "MF/Access", "Bytes", stamp, [{"Name": "Status", "Value": "500"}]) == {"Sum": 5324.0, "SampleCount": 1.0}


def test_a_json_field_is_the_value_and_events_before_the_filter_are_not_counted(
    stack: Stack, logs: Any, cw: Any, feed: MetricFilterFeed
) -> None:
    group = _group(logs, "/app/latency")
    stamp = _minute_ms()
    _put(logs, group, ['{"latency": 1000}'], stamp)  # before the filter: never its
    logs.put_metric_filter(
        logGroupName=group,
        filterName="latency",
        filterPattern="{ $.latency = * }",
        metricTransformations=[{"metricNamespace": "MF/Latency", "metricName": "Latency", "metricValue": "$.latency"}],
    )
    _put(logs, group, ['{"latency": 120}', '{"latency": "80"}', '{"other": 1}'], stamp + 1)
    assert feed.pull() == 2
    assert _stats(cw, "MF/Latency", "Latency", stamp) == {"Sum": 200.0, "SampleCount": 2.0}


# -- the operations ------------------------------------------------------------------------


def test_describe_filters_by_group_prefix_and_metric_with_pages(logs: Any) -> None:
    for group in ("/describe/a", "/describe/b"):
        logs.create_log_group(logGroupName=group)
    for index, group in enumerate(("/describe/a", "/describe/b", "/describe/a")):
        logs.put_metric_filter(
            logGroupName=group,
            filterName=f"dfilter-{index}",
            filterPattern=f"term{index}",
            metricTransformations=[{"metricNamespace": "Describe", "metricName": f"m{index % 2}", "metricValue": "1"}],
        )
    found = logs.describe_metric_filters(logGroupName="/describe/a")["metricFilters"]
    assert [f["filterName"] for f in found] == ["dfilter-0", "dfilter-2"]
    assert found[0] == {
        "filterName": "dfilter-0",
        "filterPattern": "term0",
        "metricTransformations": [{"metricName": "m0", "metricNamespace": "Describe", "metricValue": "1"}],
        "creationTime": found[0]["creationTime"],
        "logGroupName": "/describe/a",
        "applyOnTransformedLogs": False,
    }
    by_prefix = logs.describe_metric_filters(filterNamePrefix="dfilter-")["metricFilters"]
    assert [(f["filterName"], f["logGroupName"]) for f in by_prefix] == [
        ("dfilter-0", "/describe/a"),
        ("dfilter-1", "/describe/b"),
        ("dfilter-2", "/describe/a"),
    ]
    by_metric = logs.describe_metric_filters(metricName="m1", metricNamespace="Describe")["metricFilters"]
    assert [f["filterName"] for f in by_metric] == ["dfilter-1"]
    page = logs.describe_metric_filters(filterNamePrefix="dfilter-", limit=2)
    assert len(page["metricFilters"]) == 2
    rest = logs.describe_metric_filters(filterNamePrefix="dfilter-", limit=2, nextToken=page["nextToken"])
    assert [f["filterName"] for f in rest["metricFilters"]] == ["dfilter-2"]
    assert "nextToken" not in rest
    groups = {g["logGroupName"]: g["metricFilterCount"] for g in logs.describe_log_groups(logGroupNamePrefix="/describe/")["logGroups"]}
    assert groups == {"/describe/a": 2, "/describe/b": 1}


def test_put_replaces_a_filter_and_delete_removes_it(logs: Any) -> None:
    logs.create_log_group(logGroupName="/replace")
    for pattern in ("one", "two"):
        logs.put_metric_filter(
            logGroupName="/replace",
            filterName="f",
            filterPattern=pattern,
            metricTransformations=[{"metricNamespace": "R", "metricName": "m", "metricValue": "2.5", "defaultValue": 1}],
        )
    found = logs.describe_metric_filters(logGroupName="/replace")["metricFilters"]
    assert [(f["filterPattern"], f["metricTransformations"][0]["defaultValue"]) for f in found] == [("two", 1.0)]
    logs.delete_metric_filter(logGroupName="/replace", filterName="f")
    assert logs.describe_metric_filters(logGroupName="/replace")["metricFilters"] == []
    with pytest.raises(ClientError) as gone:
        logs.delete_metric_filter(logGroupName="/replace", filterName="f")
    assert _error(gone) == ("ResourceNotFoundException", "The specified metric filter does not exist.")


def test_a_deleted_group_takes_its_filters(logs: Any) -> None:
    logs.create_log_group(logGroupName="/doomed")
    logs.put_metric_filter(
        logGroupName="/doomed",
        filterName="f",
        filterPattern="",
        metricTransformations=[{"metricNamespace": "D", "metricName": "m", "metricValue": "1"}],
    )
    logs.delete_log_group(logGroupName="/doomed")
    logs.create_log_group(logGroupName="/doomed")
    assert logs.describe_metric_filters(logGroupName="/doomed")["metricFilters"] == []


def _put_filter(logs: Any, **overrides: Any) -> None:
    params: dict[str, Any] = {
        "logGroupName": "/errors",
        "filterName": "f",
        "filterPattern": "ERROR",
        "metricTransformations": [{"metricNamespace": "E", "metricName": "m", "metricValue": "1"}],
    }
    params.update(overrides)
    logs.put_metric_filter(**params)


def test_the_errors_are_aws_errors(logs: Any) -> None:
    logs.create_log_group(logGroupName="/errors")
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"logGroupName": "/missing"}, "ResourceNotFoundException", "The specified log group does not exist."),
        ({"filterPattern": '{ $.a = "x"'}, "InvalidParameterException", "Invalid metric filter pattern"),
        (
            {"filterName": "X" * 513},
            "InvalidParameterException",
            f"1 validation error detected: Value '{'X' * 513}' at 'filterName' failed to satisfy constraint:"
            " Member must have length less than or equal to 512",
        ),
        (
            {"filterPattern": "X" * 1025},
            "InvalidParameterException",
            f"1 validation error detected: Value '{'X' * 1025}' at 'filterPattern' failed to satisfy constraint:"
            " Member must have length less than or equal to 1024",
        ),
        (
            {
                "metricTransformations": [
                    {"metricNamespace": "namespace1", "metricName": "metric1", "metricValue": "1"},
                    {"metricNamespace": "namespace2", "metricName": "metric2", "metricValue": "1"},
                ]
            },
            "InvalidParameterException",
            "1 validation error detected: Value '[MetricTransformation(metricName=metric1, metricNamespace=namespace1,"
            " metricValue=1, defaultValue=null, unit=null, dimensions=null), MetricTransformation(metricName=metric2,"
            " metricNamespace=namespace2, metricValue=1, defaultValue=null, unit=null, dimensions=null)]' at"
            " 'metricTransformations' failed to satisfy constraint: Member must have length less than or equal to 1",
        ),
        (
            {"metricTransformations": [{"metricNamespace": "E", "metricName": "m", "metricValue": "1", "dimensions": {"D": "$.d"}}]},
            "InvalidParameterException",
            "The specified filter pattern does not support dimensions",
        ),
        (
            {
                "filterPattern": "{ $.d = * }",
                "metricTransformations": [
                    {"metricNamespace": "E", "metricName": "m", "metricValue": "1", "defaultValue": 0, "dimensions": {"D": "$.d"}}
                ],
            },
            "InvalidParameterException",
            "Invalid metric transformation: dimensions and default value are mutually exclusive properties",
        ),
    ]
    for overrides, code, message in cases:
        with pytest.raises(ClientError) as refused:
            _put_filter(logs, **overrides)
        assert _error(refused) == (code, message), overrides
    # Outside CloudWatch's regex subset (a group, "!", a multi-byte character, a quantifier on a
    # quantifier), or more than two regexes in a pattern.
    for pattern in ("%(a+)+$%", "%something!%", "%caf\u00e9%", "%a**%", "%a+*%", "[a = %x%, b = %y%, c = %z%]"):
        with pytest.raises(ClientError) as refused:
            _put_filter(logs, filterPattern=pattern)
        assert _error(refused) == ("InvalidParameterException", "Invalid metric filter pattern"), pattern
        with pytest.raises(ClientError) as refused:
            logs.test_metric_filter(filterPattern=pattern, logEventMessages=["a" * 27 + "!"])
        assert _error(refused) == ("InvalidParameterException", "Invalid metric filter pattern"), pattern
        with pytest.raises(ClientError) as refused:
            logs.filter_log_events(logGroupName="/errors", filterPattern=pattern)
        assert _error(refused)[0] == "InvalidParameterException", pattern
    for value in ("abc", "$.latency", "$missing"):
        with pytest.raises(ClientError) as refused:
            _put_filter(logs, metricTransformations=[{"metricNamespace": "E", "metricName": "m", "metricValue": value}])
        assert _error(refused)[0] == "InvalidParameterException", value
    with pytest.raises(ClientError) as refused:
        logs.describe_metric_filters(metricName="m")
    assert _error(refused)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as refused:
        logs.describe_metric_filters(logGroupName="/missing")
    assert _error(refused)[0] == "ResourceNotFoundException"


def test_a_group_holds_at_most_100_filters(logs: Any) -> None:
    logs.create_log_group(logGroupName="/crowded")
    for index in range(100):
        _put_filter(logs, logGroupName="/crowded", filterName=f"f{index:03d}")
    with pytest.raises(ClientError) as refused:
        _put_filter(logs, logGroupName="/crowded", filterName="f100")
    assert _error(refused)[0] == "LimitExceededException"
    _put_filter(logs, logGroupName="/crowded", filterName="f000", filterPattern="changed")  # replacing one is no new filter


def test_a_group_holds_at_most_5_filters_with_a_regex(logs: Any) -> None:
    logs.create_log_group(logGroupName="/regexes")
    for index in range(5):
        _put_filter(logs, logGroupName="/regexes", filterName=f"r{index}", filterPattern=f"%ERR{index}%")
    _put_filter(logs, logGroupName="/regexes", filterName="plain")  # no regex: not counted
    with pytest.raises(ClientError) as refused:
        _put_filter(logs, logGroupName="/regexes", filterName="r5", filterPattern="%ERR5%")
    assert _error(refused)[0] == "LimitExceededException"
    _put_filter(logs, logGroupName="/regexes", filterName="r0", filterPattern="%ERR[0-9]%")  # replacing one is no new one


def test_a_namespace_may_hold_a_colon_as_on_aws(logs: Any) -> None:
    logs.create_log_group(logGroupName="/namespaces")
    namespace = "A.B-c_d/1#2:metricNamespace"
    _put_filter(
        logs,
        logGroupName="/namespaces",
        metricTransformations=[{"metricNamespace": namespace, "metricName": "metricName", "metricValue": "1"}],
    )
    [found] = logs.describe_metric_filters(logGroupName="/namespaces")["metricFilters"]
    assert found["metricTransformations"][0]["metricNamespace"] == namespace
    [by_metric] = logs.describe_metric_filters(metricName="metricName", metricNamespace=namespace)["metricFilters"]
    assert by_metric["logGroupName"] == "/namespaces"


def test_test_metric_filter_answers_the_matches_with_their_fields(logs: Any) -> None:
    answer = logs.test_metric_filter(
        filterPattern="[ip, user, username, timestamp, request, status_code, bytes > 1000]",
        logEventMessages=[
            '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534',
            '127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 534',
        ],
    )
    assert answer["matches"] == [
        {
            "eventNumber": 1,
            "eventMessage": '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534',
            "extractedValues": {
                "$ip": "127.0.0.1",
                "$user": "-",
                "$username": "frank",
                "$timestamp": "10/Oct/2000:13:25:15 -0700",
                "$request": "GET /apache_pb.gif HTTP/1.0",
                "$status_code": "200",
                "$bytes": "1534",
            },
        }
    ]
    json_answer = logs.test_metric_filter(
        filterPattern='{ $.level = "ERROR" }', logEventMessages=['{"level": "INFO"}', '{"level": "ERROR"}']
    )
    assert json_answer["matches"] == [{"eventNumber": 2, "eventMessage": '{"level": "ERROR"}', "extractedValues": {}}]
