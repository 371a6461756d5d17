"""Composite alarms whose rule is AT_LEAST, through the endpoint with boto3: the children move with
SetAlarmState and the composite follows, in the same call."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

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
    """The endpoint's stack without its alarm evaluator: the tests move the metric alarms with
    SetAlarmState, which the evaluator (finding no data) would move back between their calls."""
    settings = Settings.load(data_dir=tmp_path_factory.mktemp("at-least") / "data", workers=2, endpoint_port=free_port())
    built = build_stack(settings, invoker_mode="thread")
    evaluator, built.alarms = built.alarms, None
    built.start("cloudwatch at-least endpoint tests")
    try:
        yield built
    finally:
        built.close()
        if evaluator is not None:
            evaluator.close()


@pytest.fixture(scope="module")
def cw(aws: Client) -> Any:
    return aws("cloudwatch")


def put_children(cw: Any, *names: str) -> None:
    for name in names:
        cw.put_metric_alarm(
            AlarmName=name, MetricName="Cpu", Namespace="AtLeast", Statistic="Sum", Period=60, EvaluationPeriods=1,
            Threshold=30.0, ComparisonOperator="GreaterThanThreshold",
        )  # fmt: skip


def state(cw: Any, name: str) -> str:
    found = cw.describe_alarms(AlarmNames=[name], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"][0]
    return str(found["StateValue"])


def move(cw: Any, name: str, value: str) -> None:
    cw.set_alarm_state(AlarmName=name, StateValue=value, StateReason=f"{name} set to {value}")


def test_a_count_of_children_in_alarm(cw: Any) -> None:
    put_children(cw, "node-1", "node-2", "node-3")
    arn_2 = cw.describe_alarms(AlarmNames=["node-2"])["MetricAlarms"][0]["AlarmArn"]
    rule = f'AT_LEAST(2, ALARM, (node-1, "{arn_2}", node-3))'
    cw.put_composite_alarm(AlarmName="two-nodes", AlarmRule=rule)
    assert state(cw, "two-nodes") == "OK"

    move(cw, "node-1", "ALARM")
    assert state(cw, "two-nodes") == "OK"  # one of three is not two
    move(cw, "node-2", "ALARM")
    shown = cw.describe_alarms(AlarmNames=["two-nodes"], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"][0]
    assert (shown["StateValue"], shown["AlarmRule"]) == ("ALARM", rule)
    assert shown["StateReason"].startswith(f"{arn_2} transitioned to ALARM at ")
    assert [t["arn"] for t in json.loads(shown["StateReasonData"])["triggeringAlarms"]] == [arn_2]
    move(cw, "node-1", "INSUFFICIENT_DATA")
    assert state(cw, "two-nodes") == "OK"

    # Every alarm the list names is a child: described as one, and not deletable while referenced.
    kids = cw.describe_alarms(ChildrenOfAlarmName="two-nodes")["MetricAlarms"]
    assert sorted(a["AlarmName"] for a in kids) == ["node-1", "node-2", "node-3"]
    parents = cw.describe_alarms(ParentsOfAlarmName="node-3")["CompositeAlarms"]
    assert [a["AlarmName"] for a in parents] == ["two-nodes"]
    with pytest.raises(ClientError) as caught:
        cw.delete_alarms(AlarmNames=["node-3"])
    assert caught.value.response["Error"]["Code"] == "ValidationError"


def test_a_percentage_of_children_not_ok_nested_in_a_rule(cw: Any) -> None:
    put_children(cw, "disk-1", "disk-2", "disk-3", "maintenance")
    # 60% of three is 1.8: two disks out of OK are needed (INSUFFICIENT_DATA is out of OK).
    cw.put_composite_alarm(AlarmName="disks", AlarmRule="AT_LEAST(60%, NOT OK , (disk-1, disk-2, disk-3)) AND NOT ALARM(maintenance)")
    for name in ("disk-1", "disk-2", "disk-3"):
        move(cw, name, "OK")
    assert state(cw, "disks") == "OK"
    move(cw, "disk-3", "ALARM")
    assert state(cw, "disks") == "OK"
    move(cw, "disk-1", "INSUFFICIENT_DATA")
    assert state(cw, "disks") == "ALARM"
    move(cw, "maintenance", "ALARM")
    assert state(cw, "disks") == "OK"

    # A composite alarm over it follows in the same call.
    cw.put_composite_alarm(AlarmName="disks-page", AlarmRule="AT_LEAST(1, ALARM, (disks))")
    assert state(cw, "disks-page") == "OK"
    move(cw, "maintenance", "OK")
    assert [state(cw, n) for n in ("disks", "disks-page")] == ["ALARM", "ALARM"]


def test_refused_at_least_rules(cw: Any) -> None:
    put_children(cw, "bad-a", "bad-b")
    refused = [
        (
            "AT_LEAST(3, ALARM, (bad-a, bad-b))",
            "Error in AlarmRule [The AT_LEAST count at char 9 must be from 1 to the number of alarms listed (2)]",
        ),
        ("AT_LEAST(2 ALARM, (bad-a, bad-b))", "Error in AlarmRule [Unsupported token 'ALARM' at char 11, must be: ',']"),
        ("AT_LEAST(1, ALARM, (bad-a, nope))", "Could not save the composite alarm as alarms [nope] in the alarm rule do not exist"),
    ]
    for rule, message in refused:
        with pytest.raises(ClientError) as caught:
            cw.put_composite_alarm(AlarmName="bad-x", AlarmRule=rule)
        error = caught.value.response["Error"]
        assert (error["Code"], error["Message"]) == ("ValidationError", message), rule
    assert cw.describe_alarms(AlarmNames=["bad-x"], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"] == []
