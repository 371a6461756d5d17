"""Anomaly detection through the endpoint with boto3: bands in GetMetricData, band alarms that wait for
the model to train and then alarm on a spike (notifying their SNS action), the detectors' API."""

from __future__ import annotations

import json
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
    """The endpoint's stack without its own alarm evaluator: the tests turn one on a clock of their choosing."""
    settings = Settings.load(data_dir=tmp_path_factory.mktemp("cloudwatch-anomaly") / "data", workers=2, endpoint_port=free_port())
    built = build_stack(settings, invoker_mode="thread")
    evaluator, built.alarms = built.alarms, None
    built.start("cloudwatch anomaly tests")
    try:
        yield built
    finally:
        built.close()
        if evaluator is not None:
            evaluator.close()


@pytest.fixture(scope="module")
def cw(aws: Any) -> Any:
    return aws("cloudwatch")


NOW = datetime.now(UTC).replace(second=0, microsecond=0)
"""The minute the alarms are evaluated at (its periods are those before it)."""


class At:
    """The stack's clock moved to a given time."""

    def __init__(self, clock: Any, at: datetime) -> None:
        self.clock, self.at = clock, at

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return float(self.clock.monotonic())


@pytest.fixture(scope="module")
def trained(cw: Any) -> str:
    """A namespace whose Latency has three hours of history, 10 and 11 by turns, a value a minute."""
    name = f"Band{uuid4().hex[:8]}"
    start = NOW - timedelta(hours=3)
    data = [
        {"MetricName": "Latency", "Value": 10.0 + (i % 2), "Timestamp": start + timedelta(minutes=i, seconds=5)}
        for i in range(3 * 60 - 2)  # up to two minutes before NOW: the last minute is the tests'
    ]
    for chunk in range(0, len(data), 500):
        cw.put_metric_data(Namespace=name, MetricData=data[chunk : chunk + 500])
    return name


def metrics(namespace: str, width: str = ", 2") -> list[dict[str, Any]]:
    return [
        {"Id": "m1", "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": "Latency"}, "Period": 60, "Stat": "Average"}},
        {"Id": "ad1", "Expression": f"ANOMALY_DETECTION_BAND(m1{width})"},
    ]


def put_band_alarm(cw: Any, name: str, namespace: str, **extra: Any) -> None:
    cw.put_metric_alarm(
        AlarmName=name,
        EvaluationPeriods=1,
        DatapointsToAlarm=1,
        ComparisonOperator="LessThanLowerOrGreaterThanUpperThreshold",
        ThresholdMetricId="ad1",
        Metrics=metrics(namespace),
        **extra,
    )


def test_get_metric_data_answers_the_band_as_its_lower_and_upper_bounds(cw: Any, trained: str) -> None:
    answer = cw.get_metric_data(
        MetricDataQueries=metrics(trained),
        StartTime=NOW - timedelta(minutes=5),
        EndTime=NOW - timedelta(minutes=2),
        ScanBy="TimestampAscending",
    )
    latency, lower, upper = answer["MetricDataResults"]
    assert [r["Id"] for r in (latency, lower, upper)] == ["m1", "ad1", "ad1"]
    assert (lower["Label"], upper["Label"]) == ("ad1 Lower", "ad1 Upper")
    assert len(lower["Values"]) == len(upper["Values"]) == 3
    # The history alternates 10 and 11: whichever its median, the band holds 10.5 and spans about two.
    assert all(low < 10.5 < high and high - low > 1.5 for low, high in zip(lower["Values"], upper["Values"], strict=True))


def test_a_band_alarm_alarms_on_a_spike_notifies_and_returns_to_ok(cw: Any, aws: Any, stack: Stack, trained: str) -> None:
    sqs, sns = aws("sqs"), aws("sns")
    url = sqs.create_queue(QueueName="band-alarm-actions")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name="band-alarm-actions")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    name = f"spike-{trained}"
    put_band_alarm(cw, name, trained, AlarmActions=[topic])
    alarm = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    assert alarm["ThresholdMetricId"] == "ad1" and "Threshold" not in alarm
    cw.put_metric_data(Namespace=trained, MetricData=[{"MetricName": "Latency", "Value": 100.0, "Timestamp": NOW - timedelta(seconds=50)}])
    AlarmEvaluator(stack.local.cloudwatch, At(stack.local.clock, NOW)).turn()
    alarm = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM"
    assert alarm["StateReason"].startswith("Thresholds Crossed: 1 out of the last 1 datapoints [100.0 (")
    assert "was less than the lower thresholds [" in alarm["StateReason"]
    data = json.loads(alarm["StateReasonData"])
    assert data["recentDatapoints"] == [100.0] and data["recentUpperThresholds"][0] < 100.0
    messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10).get("Messages", [])
    assert messages and json.loads(messages[0]["Body"])["NewStateValue"] == "ALARM"
    # The next minute is back in the band.
    cw.put_metric_data(Namespace=trained, MetricData=[{"MetricName": "Latency", "Value": 10.5, "Timestamp": NOW + timedelta(seconds=10)}])
    AlarmEvaluator(stack.local.cloudwatch, At(stack.local.clock, NOW + timedelta(minutes=1))).turn()
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"] == "OK"


@pytest.mark.parametrize("treatment", ["missing", "breaching"])
def test_a_band_alarm_waits_in_insufficient_data_until_the_model_has_trained(cw: Any, stack: Stack, treatment: str) -> None:
    fresh = f"Fresh{uuid4().hex[:8]}"
    data = [{"MetricName": "Latency", "Value": 10.0, "Timestamp": NOW - timedelta(minutes=m, seconds=-5)} for m in (1, 2, 3)]
    cw.put_metric_data(Namespace=fresh, MetricData=data)
    put_band_alarm(cw, f"fresh-{fresh}", fresh, TreatMissingData=treatment)
    AlarmEvaluator(stack.local.cloudwatch, At(stack.local.clock, NOW)).turn()
    # The data is there, only not judged yet: not missing data, whatever TreatMissingData says.
    [alarm] = cw.describe_alarms(AlarmNames=[f"fresh-{fresh}"])["MetricAlarms"]
    assert alarm["StateValue"] == "INSUFFICIENT_DATA"
    assert alarm["StateReason"] in ("Unchecked: Initial alarm creation", "Insufficient Data: 1 datapoint was unknown.")
    # The alarm created the metric's detector, still training.
    [detector] = cw.describe_anomaly_detectors(Namespace=fresh)["AnomalyDetectors"]
    assert detector["StateValue"] == "PENDING_TRAINING"
    single = detector["SingleMetricAnomalyDetector"]
    assert single == {"AccountId": single["AccountId"], "Namespace": fresh, "MetricName": "Latency", "Dimensions": [], "Stat": "Average"}
    assert len(single["AccountId"]) == 12 and single["AccountId"].isdigit()


def test_a_detector_is_described_as_cloudwatch_describes_it(cw: Any) -> None:
    # The shape of AWS's answer in LocalStack's snapshot (test_anomaly_detector_lifecycle), but the
    # AnomalyDetectorId, which CloudWatch's API has answered since.
    namespace = f"Shape{uuid4().hex[:8]}"
    dimensions = [{"Name": "DimensionName", "Value": "DimensionValue"}]
    cw.put_anomaly_detector(MetricName="MyMetric", Namespace=namespace, Stat="Sum", Configuration={}, Dimensions=dimensions)
    [detector] = cw.describe_anomaly_detectors(Namespace=namespace)["AnomalyDetectors"]
    account = detector["SingleMetricAnomalyDetector"]["AccountId"]
    assert detector.pop("AnomalyDetectorId")
    assert detector == {
        "Configuration": {"ExcludedTimeRanges": []},
        "Dimensions": dimensions,
        "MetricName": "MyMetric",
        "Namespace": namespace,
        "SingleMetricAnomalyDetector": {
            "AccountId": account,
            "Dimensions": dimensions,
            "MetricName": "MyMetric",
            "Namespace": namespace,
            "Stat": "Sum",
        },
        "Stat": "Sum",
        "StateValue": "PENDING_TRAINING",
    }
    cw.delete_anomaly_detector(MetricName="MyMetric", Namespace=namespace, Stat="Sum", Dimensions=dimensions)


def test_the_detectors_api(cw: Any, trained: str) -> None:
    detector_id = cw.put_anomaly_detector(
        SingleMetricAnomalyDetector={
            "Namespace": trained,
            "MetricName": "Latency",
            "Stat": "p90",
            "Dimensions": [{"Name": "Host", "Value": "a"}],
        },
        Configuration={
            "ExcludedTimeRanges": [{"StartTime": NOW - timedelta(hours=2), "EndTime": NOW - timedelta(hours=1)}],
            "MetricTimezone": "Europe/Paris",
        },
    )["AnomalyDetectorId"]
    cw.put_anomaly_detector(Namespace=trained, MetricName="Latency", Stat="Average")  # the flat, older form
    found = cw.describe_anomaly_detectors(Namespace=trained)["AnomalyDetectors"]
    by_stat = {d["Stat"]: d for d in found}
    assert set(by_stat) == {"Average", "p90"}
    assert by_stat["Average"]["StateValue"] == "TRAINED"
    assert by_stat["p90"]["StateValue"] == "PENDING_TRAINING"  # no Host=a data
    assert by_stat["p90"]["Configuration"]["MetricTimezone"] == "Europe/Paris"
    assert len(by_stat["p90"]["Configuration"]["ExcludedTimeRanges"]) == 1
    page = cw.describe_anomaly_detectors(Namespace=trained, MaxResults=1)
    assert len(page["AnomalyDetectors"]) == 1 and "NextToken" in page
    rest = cw.describe_anomaly_detectors(Namespace=trained, MaxResults=1, NextToken=page["NextToken"])
    assert rest["AnomalyDetectors"][0]["Stat"] != page["AnomalyDetectors"][0]["Stat"]
    assert cw.describe_anomaly_detectors(AnomalyDetectorTypes=["METRIC_MATH"])["AnomalyDetectors"] == []
    cw.delete_anomaly_detector(AnomalyDetectorId=detector_id)
    with pytest.raises(ClientError) as caught:
        cw.delete_anomaly_detector(AnomalyDetectorId=detector_id)
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    cw.delete_anomaly_detector(Namespace=trained, MetricName="Latency", Stat="Average")
    assert cw.describe_anomaly_detectors(Namespace=trained)["AnomalyDetectors"] == []


def test_a_band_comparison_without_threshold_metric_id_is_refused_in_aws_words(cw: Any, trained: str) -> None:
    with pytest.raises(ClientError) as caught:
        cw.put_metric_alarm(
            AlarmName="no-threshold-metric", EvaluationPeriods=1, ComparisonOperator="GreaterThanUpperThreshold", Metrics=metrics(trained)
        )
    error = caught.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("ValidationError", "ComparisonOperators for ranges require ThresholdMetricId to be set")


def test_a_band_over_ten_second_fill_is_accepted_and_evaluated(cw: Any, stack: Stack) -> None:
    # The band's two weeks of history at 10-second periods would exceed what FILL may span: it is cut.
    name = f"Fill{uuid4().hex[:8]}"
    data = [
        {"MetricName": "Latency", "Value": 10.0 + i % 2, "Timestamp": NOW - timedelta(seconds=10 * i + 5), "StorageResolution": 1}
        for i in range(1, 400)
    ]
    for chunk in range(0, len(data), 500):
        cw.put_metric_data(Namespace=name, MetricData=data[chunk : chunk + 500])
    m1 = {
        "Id": "m1",
        "MetricStat": {"Metric": {"Namespace": name, "MetricName": "Latency"}, "Period": 10, "Stat": "Average"},
        "ReturnData": False,
    }
    cw.put_metric_alarm(
        AlarmName=f"fill-{name}",
        EvaluationPeriods=1,
        ComparisonOperator="LessThanLowerOrGreaterThanUpperThreshold",
        ThresholdMetricId="ad1",
        Metrics=[m1, {"Id": "e1", "Expression": "FILL(m1, 0)", "Period": 10}, {"Id": "ad1", "Expression": "ANOMALY_DETECTION_BAND(e1, 2)"}],
    )
    AlarmEvaluator(stack.local.cloudwatch, At(stack.local.clock, NOW)).turn()
    assert cw.describe_alarms(AlarmNames=[f"fill-{name}"])["MetricAlarms"][0]["StateValue"] == "OK"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"Threshold": 1.0}, "InvalidParameterCombination"),
        ({"ComparisonOperator": "GreaterThanThreshold", "Threshold": 1.0}, "ValidationError"),
        ({"ThresholdMetricId": "m1"}, "ValidationError"),
        ({"ThresholdMetricId": None}, "ValidationError"),
        ({"Metrics": "width 0"}, "ValidationError"),
        ({"Metrics": "array"}, "ValidationError"),
    ],
)
def test_band_alarms_are_validated(cw: Any, trained: str, change: dict[str, Any], code: str) -> None:
    params: dict[str, Any] = {
        "AlarmName": "invalid-band",
        "EvaluationPeriods": 1,
        "ComparisonOperator": "GreaterThanUpperThreshold",
        "ThresholdMetricId": "ad1",
        "Metrics": metrics(trained),
    }
    params.update(change)
    if params["Metrics"] == "width 0":
        params["Metrics"] = metrics(trained, ", 0")
    elif params["Metrics"] == "array":  # a band over an array of series: no evaluation could compute it
        m1, _ = metrics(trained)
        params["Metrics"] = [
            {**m1, "ReturnData": False},
            {"Id": "e1", "Expression": "[m1, m1 * 2]", "Period": 60},
            {"Id": "ad1", "Expression": "ANOMALY_DETECTION_BAND(e1)"},
        ]
    params = {k: v for k, v in params.items() if v is not None}
    with pytest.raises(ClientError) as caught:
        cw.put_metric_alarm(**params)
    assert caught.value.response["Error"]["Code"] == code
    assert cw.describe_alarms(AlarmNames=["invalid-band"])["MetricAlarms"] == []
    with pytest.raises(ClientError) as caught:
        cw.put_anomaly_detector(Namespace=trained, MetricName="Latency", Stat="Average", Configuration={"MetricTimezone": "Mars/Base"})
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
