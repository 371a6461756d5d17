"""CloudWatch through the endpoint with boto3: metrics, alarms, their evaluation and actions, the errors."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

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
    """The endpoint's stack without its own alarm evaluator. Each test turns one on a clock of its
    choosing; the stack's, on the real clock, would move the same alarms between the test's turns
    (a datum of the current minute is missing to it: notBreaching, OK) and notify in between."""
    settings = Settings.load(data_dir=tmp_path_factory.mktemp("cloudwatch") / "data", workers=2, endpoint_port=free_port())
    built = build_stack(settings, invoker_mode="thread")
    evaluator, built.alarms = built.alarms, None
    built.start("cloudwatch endpoint tests")
    try:
        yield built
    finally:
        built.close()
        if evaluator is not None:
            evaluator.close()


@pytest.fixture(scope="module")
def cw(aws: Client) -> Any:
    return aws("cloudwatch")


class MinuteAhead:
    """The stack's clock a minute on: only complete periods are evaluated, and the minute the test's
    data went into is complete a minute later."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock

    def now(self) -> datetime:
        return self.clock.now() + timedelta(minutes=1)

    def monotonic(self) -> float:
        return float(self.clock.monotonic())


def now() -> datetime:
    return datetime.now(UTC)


def code_of(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


def test_put_metric_data_then_statistics_list_and_data(cw: Any) -> None:
    dims = [{"Name": "Service", "Value": "checkout"}, {"Name": "Stage", "Value": "dev"}]
    cw.put_metric_data(
        Namespace="Shop",
        MetricData=[
            {"MetricName": "Latency", "Dimensions": dims, "Value": 30.0, "Unit": "Milliseconds"},
            {"MetricName": "Latency", "Dimensions": dims[::-1], "Values": [10.0, 20.0, 90.0], "Counts": [1, 1, 2], "Unit": "Milliseconds"},
            {"MetricName": "Orders", "Dimensions": dims[:1], "StatisticValues": {"SampleCount": 4, "Sum": 8, "Minimum": 1, "Maximum": 3}},
        ],
    )
    listed = cw.list_metrics(Namespace="Shop")["Metrics"]
    # The same dimension set in another order is the same metric.
    assert sorted((m["MetricName"], len(m["Dimensions"])) for m in listed) == [("Latency", 2), ("Orders", 1)]
    assert cw.list_metrics(Namespace="Shop", Dimensions=[{"Name": "Stage"}])["Metrics"][0]["MetricName"] == "Latency"
    assert cw.list_metrics(Namespace="Shop", Dimensions=[{"Name": "Stage", "Value": "prod"}])["Metrics"] == []

    start, end = now() - timedelta(minutes=3), now() + timedelta(minutes=1)
    stats = cw.get_metric_statistics(
        Namespace="Shop", MetricName="Latency", Dimensions=dims, StartTime=start, EndTime=end, Period=300,
        Statistics=["SampleCount", "Sum", "Average", "Minimum", "Maximum"],
    )  # fmt: skip
    [point] = stats["Datapoints"]
    assert stats["Label"] == "Latency"
    assert (point["SampleCount"], point["Sum"], point["Minimum"], point["Maximum"]) == (5.0, 240.0, 10.0, 90.0)
    assert point["Average"] == 48.0 and point["Unit"] == "Milliseconds"
    # Buckets start at StartTime rounded down to the minute.
    assert point["Timestamp"].astimezone(UTC) == start.replace(second=0, microsecond=0)
    percentiles = cw.get_metric_statistics(
        Namespace="Shop", MetricName="Latency", Dimensions=dims, StartTime=start, EndTime=end, Period=300, ExtendedStatistics=["p50", "p99"]
    )["Datapoints"][0]["ExtendedStatistics"]
    assert percentiles == {"p50": 30.0, "p99": 90.0}

    latency = {"Namespace": "Shop", "MetricName": "Latency", "Dimensions": dims}
    orders = {"Namespace": "Shop", "MetricName": "Orders", "Dimensions": dims[:1]}
    data = cw.get_metric_data(
        MetricDataQueries=[
            {"Id": "lat", "MetricStat": {"Metric": latency, "Period": 300, "Stat": "Maximum"}, "ReturnData": False},
            {"Id": "orders", "MetricStat": {"Metric": orders, "Period": 300, "Stat": "Sum"}, "ReturnData": False},
            {"Id": "ratio", "Expression": "lat / orders", "Label": "latency per order"},
        ],
        StartTime=start,
        EndTime=end,
    )["MetricDataResults"]  # fmt: skip
    assert [(r["Id"], r["Label"], r["Values"], r["StatusCode"]) for r in data] == [("ratio", "latency per order", [11.25], "Complete")]


def test_metric_data_errors(cw: Any) -> None:
    with pytest.raises(ClientError) as caught:
        cw.put_metric_data(Namespace="AWS/Lambda", MetricData=[{"MetricName": "Errors", "Value": 1}])
    assert code_of(caught.value) == "InvalidParameterValue"
    with pytest.raises(ClientError) as caught:
        cw.put_metric_data(
            Namespace="Shop",
            MetricData=[{"MetricName": "x", "Value": 1, "StatisticValues": {"SampleCount": 1, "Sum": 1, "Minimum": 1, "Maximum": 1}}],
        )
    assert code_of(caught.value) == "InvalidParameterCombination"
    with pytest.raises(ClientError) as caught:
        cw.put_metric_data(Namespace="Shop", MetricData=[{"MetricName": "x", "Value": i} for i in range(1001)])
    assert code_of(caught.value) == "InvalidParameterValue" and "1000" in str(caught.value)
    with pytest.raises(ClientError) as caught:
        cw.put_metric_data(Namespace="Shop", MetricData=[{"MetricName": "x", "Values": [1, 2], "Counts": [1]}])
    assert code_of(caught.value) == "InvalidParameterCombination"
    with pytest.raises(ClientError) as caught:
        cw.put_metric_data(Namespace="Shop", MetricData=[{"MetricName": "x", "Value": 1, "Timestamp": now() - timedelta(days=15)}])
    assert code_of(caught.value) == "InvalidParameterValue"
    dims31 = [{"Name": f"d{i}", "Value": "v"} for i in range(31)]
    with pytest.raises(ClientError) as caught:
        cw.put_metric_data(Namespace="Shop", MetricData=[{"MetricName": "x", "Value": 1, "Dimensions": dims31}])
    assert code_of(caught.value) == "InvalidParameterValue"
    with pytest.raises(ClientError) as caught:
        cw.get_metric_statistics(
            Namespace="Shop", MetricName="x", StartTime=now() - timedelta(days=2), EndTime=now(), Period=60, Statistics=["Sum"]
        )
    assert code_of(caught.value) == "InvalidParameterCombination" and "1,440" in str(caught.value)
    with pytest.raises(ClientError) as caught:
        cw.get_metric_statistics(Namespace="Shop", MetricName="x", StartTime=now(), EndTime=now(), Period=45, Statistics=["Sum"])
    assert code_of(caught.value) == "InvalidParameterValue"
    with pytest.raises(ClientError) as caught:
        cw.get_metric_data(
            MetricDataQueries=[{"Id": "e", "Expression": "SUM(METRICS())"}], StartTime=now() - timedelta(hours=1), EndTime=now()
        )
    assert code_of(caught.value) == "ValidationError"
    with pytest.raises(ClientError) as caught:
        cw.list_metrics(NextToken="not a token")
    assert code_of(caught.value) == "InvalidNextToken"


def test_put_describe_delete_alarms_and_their_errors(cw: Any) -> None:
    base = {"MetricName": "Orders", "Namespace": "Shop", "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1, "Threshold": 1.0}
    for name in ("list-a", "list-b", "list-c"):
        cw.put_metric_alarm(AlarmName=name, ComparisonOperator="GreaterThanThreshold", AlarmDescription=f"about {name}", **base)
    first = cw.describe_alarms(AlarmNamePrefix="list-", MaxRecords=2)
    assert [a["AlarmName"] for a in first["MetricAlarms"]] == ["list-a", "list-b"]
    second = cw.describe_alarms(AlarmNamePrefix="list-", MaxRecords=2, NextToken=first["NextToken"])
    assert [a["AlarmName"] for a in second["MetricAlarms"]] == ["list-c"] and "NextToken" not in second
    alarm = cw.describe_alarms(AlarmNames=["list-b"])["MetricAlarms"][0]
    assert alarm["StateValue"] == "INSUFFICIENT_DATA"
    assert alarm["StateReason"] == "Unchecked: Initial alarm creation"
    assert alarm["AlarmArn"].endswith(":alarm:list-b") and alarm["AlarmDescription"] == "about list-b"
    assert alarm["ActionsEnabled"] is True and alarm["TreatMissingData"] == "missing"
    assert cw.describe_alarms(StateValue="ALARM", AlarmNamePrefix="list-")["MetricAlarms"] == []
    for_metric = cw.describe_alarms_for_metric(MetricName="Orders", Namespace="Shop", Statistic="Sum")["MetricAlarms"]
    assert {"list-a", "list-b", "list-c"} <= {a["AlarmName"] for a in for_metric}

    cw.disable_alarm_actions(AlarmNames=["list-a"])
    assert cw.describe_alarms(AlarmNames=["list-a"])["MetricAlarms"][0]["ActionsEnabled"] is False
    cw.enable_alarm_actions(AlarmNames=["list-a"])
    assert cw.describe_alarms(AlarmNames=["list-a"])["MetricAlarms"][0]["ActionsEnabled"] is True

    with pytest.raises(ClientError) as caught:
        cw.delete_alarms(AlarmNames=["list-a", "no-such-alarm"])
    assert code_of(caught.value) == "ResourceNotFound"
    assert len(cw.describe_alarms(AlarmNamePrefix="list-")["MetricAlarms"]) == 3  # all or nothing
    cw.delete_alarms(AlarmNames=["list-a", "list-b", "list-c"])
    assert cw.describe_alarms(AlarmNamePrefix="list-")["MetricAlarms"] == []
    history = cw.describe_alarm_history(AlarmName="list-a", HistoryItemType="ConfigurationUpdate")["AlarmHistoryItems"]
    assert [h["HistorySummary"] for h in history] == ['Alarm "list-a" deleted', 'Alarm "list-a" created']

    bad: list[tuple[dict[str, Any], str]] = [
        # A band comparison needs ThresholdMetricId.
        ({**base, "ComparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold"}, "ValidationError"),
        ({**base, "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "sometimes"}, "InvalidParameterValue"),
        ({**base, "ComparisonOperator": "GreaterThanThreshold", "ExtendedStatistic": "p99"}, "InvalidParameterCombination"),
        ({**base, "ComparisonOperator": "GreaterThanThreshold", "DatapointsToAlarm": 2}, "ValidationError"),
        ({**base, "ComparisonOperator": "GreaterThanThreshold", "Period": 45}, "InvalidParameterValue"),
    ]
    for params, code in bad:
        with pytest.raises(ClientError) as caught:
            cw.put_metric_alarm(AlarmName="bad", **params)
        assert code_of(caught.value) == code, params
    with pytest.raises(ClientError) as caught:
        cw.set_alarm_state(AlarmName="no-such-alarm", StateValue="ALARM", StateReason="testing")
    assert code_of(caught.value) == "ResourceNotFound"
    with pytest.raises(ClientError) as caught:
        cw.describe_alarms(NextToken="%%%")
    assert code_of(caught.value) == "InvalidNextToken"


def _queue_on_topic(aws: Client, name: str) -> tuple[str, str]:
    sqs, sns = aws("sqs"), aws("sns")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name=name)["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    return topic, url


def _queue_on_rule(aws: Client, name: str, pattern: dict[str, Any]) -> str:
    sqs, events = aws("sqs"), aws("events")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])
    return str(url)


def _receive(aws: Client, url: str) -> dict[str, Any]:
    messages = aws("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=10).get("Messages", [])
    assert messages, "no notification arrived"
    body: dict[str, Any] = json.loads(messages[0]["Body"])
    return body


def test_evaluation_moves_the_alarm_and_notifies_its_actions(cw: Any, aws: Client, stack: Stack) -> None:
    topic, url = _queue_on_topic(aws, "cw-alarm-actions")
    changes = _queue_on_rule(aws, "cw-alarm-changes", {"source": ["aws.cloudwatch"], "detail": {"alarmName": ["orders-high"]}})
    cw.put_metric_alarm(
        AlarmName="orders-high",
        MetricName="Orders",
        Namespace="Eval",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
        AlarmActions=[topic],
        OKActions=[topic],
    )
    evaluator = AlarmEvaluator(stack.local.cloudwatch, MinuteAhead(stack.local.clock))
    cw.put_metric_data(Namespace="Eval", MetricData=[{"MetricName": "Orders", "Value": 7.0}])
    evaluator.turn()
    alarm = cw.describe_alarms(AlarmNames=["orders-high"])["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM"
    assert alarm["StateReason"].startswith("Threshold Crossed: 1 datapoint [7.0 (")
    assert alarm["StateReason"].endswith(")] was greater than or equal to the threshold (5.0).")
    assert json.loads(alarm["StateReasonData"])["recentDatapoints"] == [7.0]
    note = _receive(aws, url)
    assert (note["AlarmName"], note["OldStateValue"], note["NewStateValue"]) == ("orders-high", "INSUFFICIENT_DATA", "ALARM")
    assert note["NewStateReason"] == alarm["StateReason"] and note["Region"] == "US East (N. Virginia)"
    assert note["Trigger"]["MetricName"] == "Orders" and note["Trigger"]["Statistic"] == "SUM"
    assert note["AlarmArn"] == alarm["AlarmArn"] and note["AWSAccountId"] == stack.settings.account_id
    # Nothing changes, nothing is sent again.
    assert evaluator.turn() == 0

    # SetAlarmState runs the actions too; the next evaluation puts the alarm back.
    cw.set_alarm_state(AlarmName="orders-high", StateValue="OK", StateReason="testing the OK action")
    assert _receive(aws, url)["NewStateReason"] == "testing the OK action"
    evaluator.turn()
    assert cw.describe_alarms(AlarmNames=["orders-high"])["MetricAlarms"][0]["StateValue"] == "ALARM"

    history = cw.describe_alarm_history(AlarmName="orders-high", ScanBy="TimestampAscending")["AlarmHistoryItems"]
    kinds = [(h["HistoryItemType"], h["HistorySummary"]) for h in history]
    assert kinds[:3] == [
        ("ConfigurationUpdate", 'Alarm "orders-high" created'),
        ("StateUpdate", "Alarm updated from INSUFFICIENT_DATA to ALARM"),
        ("Action", f"Successfully executed action {topic}"),
    ]
    assert ("StateUpdate", "Alarm updated from OK to ALARM") in kinds
    # The state changes are events on the default bus too: a rule sends them to a queue.
    event = _receive(aws, changes)
    assert (event["source"], event["detail-type"]) == ("aws.cloudwatch", "CloudWatch Alarm State Change")
    assert event["detail"]["alarmName"] == "orders-high"


def test_disabled_actions_change_state_without_notifying(cw: Any, aws: Client, stack: Stack) -> None:
    topic, url = _queue_on_topic(aws, "cw-quiet-actions")
    cw.put_metric_alarm(
        AlarmName="quiet", MetricName="Quiet", Namespace="Eval", Statistic="Maximum", Period=60, EvaluationPeriods=1,
        Threshold=1.0, ComparisonOperator="GreaterThanThreshold", AlarmActions=[topic], ActionsEnabled=False,
    )  # fmt: skip
    cw.put_metric_data(Namespace="Eval", MetricData=[{"MetricName": "Quiet", "Value": 2.0}])
    AlarmEvaluator(stack.local.cloudwatch, MinuteAhead(stack.local.clock)).turn()
    assert cw.describe_alarms(AlarmNames=["quiet"])["MetricAlarms"][0]["StateValue"] == "ALARM"
    assert aws("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []
