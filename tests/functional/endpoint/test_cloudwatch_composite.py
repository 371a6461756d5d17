"""CloudWatch composite alarms through the endpoint with boto3: their rules, evaluation, actions, history and errors."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

Client = Callable[..., Any]
BOTH = ["MetricAlarm", "CompositeAlarm"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The endpoint's stack without its alarm evaluator: the tests move the metric alarms with
    SetAlarmState, which the evaluator (finding no data) would move back between their calls."""
    settings = Settings.load(data_dir=tmp_path_factory.mktemp("composite") / "data", workers=2, endpoint_port=free_port())
    built = build_stack(settings, invoker_mode="thread")
    evaluator, built.alarms = built.alarms, None
    built.start("cloudwatch composite endpoint tests")
    try:
        yield built
    finally:
        built.close()
        if evaluator is not None:
            evaluator.close()


@pytest.fixture(scope="module")
def cw(aws: Client) -> Any:
    return aws("cloudwatch")


def code_and_message(error: ClientError) -> tuple[str, str]:
    return str(error.response["Error"]["Code"]), str(error.response["Error"]["Message"])


def put_children(cw: Any, *names: str) -> None:
    for name in names:
        cw.put_metric_alarm(
            AlarmName=name, MetricName="Cpu", Namespace="Composite", Statistic="Sum", Period=60, EvaluationPeriods=1,
            Threshold=30.0, ComparisonOperator="GreaterThanThreshold",
        )  # fmt: skip


def composite(cw: Any, name: str) -> dict[str, Any]:
    found: dict[str, Any] = cw.describe_alarms(AlarmNames=[name], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"][0]
    return found


def queue_on_topic(aws: Client, name: str) -> tuple[str, str]:
    sqs, sns = aws("sqs"), aws("sns")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name=name)["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    return topic, url


def receive(aws: Client, url: str) -> dict[str, Any]:
    messages = aws("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=10).get("Messages", [])
    assert messages, "nothing arrived"
    aws("sqs").delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])
    body: dict[str, Any] = json.loads(messages[0]["Body"])
    return body


def test_the_rule_follows_its_children_and_notifies(cw: Any, aws: Client) -> None:
    put_children(cw, "cpu-a", "cpu-b")
    arn_a = cw.describe_alarms(AlarmNames=["cpu-a"])["MetricAlarms"][0]["AlarmArn"]
    topic, url = queue_on_topic(aws, "composite-actions")
    sqs, events = aws("sqs"), aws("events")
    changes = sqs.create_queue(QueueName="composite-changes")["QueueUrl"]
    changes_arn = sqs.get_queue_attributes(QueueUrl=changes, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="composite-changes", EventPattern=json.dumps({"source": ["aws.cloudwatch"], "detail": {"alarmName": ["either"]}}))
    events.put_targets(Rule="composite-changes", Targets=[{"Id": "queue", "Arn": changes_arn}])

    rule = f'ALARM("{arn_a}") OR ALARM(cpu-b)'
    cw.put_composite_alarm(AlarmName="either", AlarmRule=rule, AlarmDescription="cpu is high", AlarmActions=[topic], OKActions=[topic])
    # Evaluated at creation: no child is in ALARM, so OK at once, with every child as a trigger.
    created = composite(cw, "either")
    assert (created["StateValue"], created["AlarmRule"], created["ActionsEnabled"]) == ("OK", rule, True)
    assert created["AlarmArn"].endswith(":alarm:either") and created["InsufficientDataActions"] == []
    assert "ActionsSuppressor" not in created
    assert [t["arn"].rsplit(":", 1)[1] for t in json.loads(created["StateReasonData"])["triggeringAlarms"]] == ["cpu-a", "cpu-b"]
    assert receive(aws, url)["NewStateValue"] == "OK"
    # Without AlarmTypes, only metric alarms are described.
    assert cw.describe_alarms(AlarmNames=["either"])["MetricAlarms"] == []

    cw.set_alarm_state(AlarmName="cpu-a", StateValue="ALARM", StateReason="trigger a")
    moved = composite(cw, "either")
    assert moved["StateValue"] == "ALARM"
    assert moved["StateReason"].startswith(f"{arn_a} transitioned to ALARM at ") and moved["StateReason"].endswith(" UTC")
    [trigger] = json.loads(moved["StateReasonData"])["triggeringAlarms"]
    assert (trigger["arn"], trigger["state"]["value"]) == (arn_a, "ALARM")
    note = receive(aws, url)
    assert (note["AlarmName"], note["OldStateValue"], note["NewStateValue"]) == ("either", "OK", "ALARM")
    assert note["AlarmRule"] == rule and note["AlarmDescription"] == "cpu is high" and "Trigger" not in note
    assert note["TriggeringChildren"] == [{"Arn": arn_a, "State": {"Value": "ALARM", "Timestamp": trigger["state"]["timestamp"]}}]

    # Another child in ALARM changes nothing: the rule still holds.
    cw.set_alarm_state(AlarmName="cpu-b", StateValue="ALARM", StateReason="trigger b")
    assert composite(cw, "either")["StateReason"] == moved["StateReason"]
    cw.set_alarm_state(AlarmName="cpu-a", StateValue="OK", StateReason="a is fine")
    cw.set_alarm_state(AlarmName="cpu-b", StateValue="OK", StateReason="b is fine")
    back = composite(cw, "either")
    assert back["StateValue"] == "OK" and "cpu-b transitioned to OK" in back["StateReason"]
    assert receive(aws, url)["NewStateValue"] == "OK"

    history = cw.describe_alarm_history(AlarmName="either", AlarmTypes=["CompositeAlarm"], ScanBy="TimestampAscending")["AlarmHistoryItems"]
    assert {h["AlarmType"] for h in history} == {"CompositeAlarm"}
    assert [h["HistorySummary"] for h in history if h["HistoryItemType"] != "Action"] == [
        'Alarm "either" created',
        "Alarm updated from INSUFFICIENT_DATA to OK",
        "Alarm updated from OK to ALARM",
        "Alarm updated from ALARM to OK",
    ]
    assert cw.describe_alarm_history(AlarmName="either")["AlarmHistoryItems"] == []  # metric alarms only, by default

    messages = sqs.receive_message(QueueUrl=changes, WaitTimeSeconds=10, MaxNumberOfMessages=10)["Messages"]
    event = json.loads(messages[0]["Body"])
    assert event["detail-type"] == "CloudWatch Alarm State Change" and event["resources"] == [created["AlarmArn"]]
    assert event["detail"]["configuration"] == {"description": "cpu is high", "alarmRule": rule}
    assert "triggeringAlarms" in event["detail"]["state"]["reasonData"]


def test_nested_not_and_constants(cw: Any) -> None:
    put_children(cw, "deploying", "errors")
    cw.put_composite_alarm(AlarmName="inner", AlarmRule="ALARM(errors) AND NOT ALARM(deploying)")
    cw.put_composite_alarm(AlarmName="outer", AlarmRule='(ALARM("inner") OR FALSE) AND TRUE', ActionsEnabled=False)
    assert composite(cw, "outer")["StateValue"] == "OK"
    cw.set_alarm_state(AlarmName="errors", StateValue="ALARM", StateReason="errors")
    assert [composite(cw, n)["StateValue"] for n in ("inner", "outer")] == ["ALARM", "ALARM"]
    cw.set_alarm_state(AlarmName="deploying", StateValue="ALARM", StateReason="deploying")
    assert [composite(cw, n)["StateValue"] for n in ("inner", "outer")] == ["OK", "OK"]
    # An update keeps the state until the new rule says otherwise; TRUE alone holds at once.
    cw.put_composite_alarm(AlarmName="outer", AlarmRule="TRUE")
    assert composite(cw, "outer")["StateValue"] == "ALARM"
    cw.set_alarm_state(AlarmName="outer", StateValue="OK", StateReason="set by hand")
    assert composite(cw, "outer")["StateReason"] == "set by hand"

    kids = cw.describe_alarms(ChildrenOfAlarmName="inner")
    assert sorted(a["AlarmName"] for a in kids["MetricAlarms"]) == ["deploying", "errors"]
    assert set(kids["MetricAlarms"][0]) == {"AlarmName", "AlarmArn", "StateValue", "StateUpdatedTimestamp"}
    cw.put_composite_alarm(AlarmName="outer", AlarmRule="ALARM(inner)")
    parents = cw.describe_alarms(ParentsOfAlarmName="inner")
    assert parents["MetricAlarms"] == [] and [a["AlarmName"] for a in parents["CompositeAlarms"]] == ["outer"]


def test_rule_and_delete_errors_in_cloudwatch_words(cw: Any) -> None:
    put_children(cw, "err-a")
    bad = [
        ("()", "Error in AlarmRule [Unsupported token ')' at char 1]"),
        ("ALARM(Oldest Age)", "Error in AlarmRule [Unsupported token 'Age' at char 13, must be: ')']"),
        ("ALARM(err-a) AND", "Error in AlarmRule [Unexpected end of rule at char 16]"),
        (" ALARM(err-a)", "AlarmRule must not contain leading or trailing whitespace or be null"),
        ("ALARM(err-a) OR ALARM(nope)", "Could not save the composite alarm as alarms [nope] in the alarm rule do not exist"),
    ]
    for rule, message in bad:
        with pytest.raises(ClientError) as caught:
            cw.put_composite_alarm(AlarmName="err-x", AlarmRule=rule)
        assert code_and_message(caught.value) == ("ValidationError", message), rule
    with pytest.raises(ClientError) as caught:
        cw.put_composite_alarm(AlarmName="err-x", AlarmRule="ALARM(err-a)", ActionsSuppressor="err-a")
    assert code_and_message(caught.value)[0] == "ValidationError"
    with pytest.raises(ClientError) as caught:
        cw.put_composite_alarm(
            AlarmName="err-x", AlarmRule="ALARM(err-a)", AlarmActions=[f"arn:aws:sns:us-east-1:000000000000:t{i}" for i in range(6)]
        )
    assert code_and_message(caught.value)[0] == "ValidationError"

    cw.put_composite_alarm(
        AlarmName="err-p1", AlarmRule="ALARM(err-a)", ActionsSuppressor="err-a", ActionsSuppressorWaitPeriod=60,
        ActionsSuppressorExtensionPeriod=90,
    )  # fmt: skip
    shown = composite(cw, "err-p1")
    assert (shown["ActionsSuppressor"], shown["ActionsSuppressorWaitPeriod"], shown["ActionsSuppressorExtensionPeriod"]) == (
        "err-a",
        60,
        90,
    )
    # Its move to OK at creation waits for the suppressor (60 seconds) before its actions run.
    assert (shown["ActionsSuppressedBy"], shown["ActionsSuppressedReason"]) == ("WaitPeriod", "Actions suppressed by WaitPeriod")
    cw.put_composite_alarm(AlarmName="err-p2", AlarmRule="OK(err-a)")
    with pytest.raises(ClientError) as caught:
        cw.delete_alarms(AlarmNames=["err-a"])
    assert code_and_message(caught.value) == ("ValidationError", "Cannot delete err-a as there are composite alarm(s) depending on it.")
    with pytest.raises(ClientError) as caught:
        cw.delete_alarms(AlarmNames=["err-p1", "err-p2"])
    assert code_and_message(caught.value)[0] == "ValidationError"
    assert len(cw.describe_alarms(AlarmNamePrefix="err-", AlarmTypes=BOTH)["CompositeAlarms"]) == 2  # nothing deleted
    cw.delete_alarms(AlarmNames=["err-p1"])
    cw.delete_alarms(AlarmNames=["err-p2", "err-a"])  # a composite alarm and the alarm only it depends on
    assert cw.describe_alarms(AlarmNamePrefix="err-", AlarmTypes=BOTH)["CompositeAlarms"] == []
    deleted = cw.describe_alarm_history(AlarmName="err-p2", AlarmTypes=["CompositeAlarm"], HistoryItemType="ConfigurationUpdate")
    assert deleted["AlarmHistoryItems"][0]["HistorySummary"] == 'Alarm "err-p2" deleted'


def test_pages_run_through_metric_then_composite_alarms(cw: Any) -> None:
    put_children(cw, "page-m1", "page-m2")
    for name in ("page-c1", "page-c2", "page-c3"):
        cw.put_composite_alarm(AlarmName=name, AlarmRule="ALARM(page-m1)")
    pages: list[list[str]] = []
    token: dict[str, str] = {}
    while True:
        found = cw.describe_alarms(AlarmNamePrefix="page-", AlarmTypes=BOTH, MaxRecords=2, **token)
        pages.append([a["AlarmName"] for a in found["MetricAlarms"] + found["CompositeAlarms"]])
        if "NextToken" not in found:
            break
        token = {"NextToken": found["NextToken"]}
    assert pages == [["page-m1", "page-m2"], ["page-c1", "page-c2"], ["page-c3"]]
    cw.disable_alarm_actions(AlarmNames=["page-c1"])
    assert composite(cw, "page-c1")["ActionsEnabled"] is False
    assert [
        a["AlarmName"]
        for a in cw.describe_alarms(AlarmNamePrefix="page-", AlarmTypes=["CompositeAlarm"], StateValue="OK")["CompositeAlarms"]
    ] == [
        "page-c1",
        "page-c2",
        "page-c3",
    ]


def query(endpoint: Endpoint, form: dict[str, str]) -> tuple[int, str]:
    """CloudWatch's query protocol, as older SDKs speak it."""
    request = urllib.request.Request(
        endpoint.url + "/", data=urllib.parse.urlencode(form).encode(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_query_protocol(cw: Any, endpoint: Endpoint) -> None:
    put_children(cw, "query-a")
    form = {"Action": "PutCompositeAlarm", "Version": "2010-08-01", "AlarmName": "query-c", "AlarmRule": "ALARM(query-a)"}
    assert query(endpoint, form)[0] == 200
    status, body = query(
        endpoint,
        {"Action": "DescribeAlarms", "Version": "2010-08-01", "AlarmTypes.member.1": "CompositeAlarm", "AlarmNamePrefix": "query-"},
    )
    assert status == 200 and "<AlarmRule>ALARM(query-a)</AlarmRule>" in body and "<StateValue>OK</StateValue>" in body
    status, body = query(endpoint, {"Action": "DeleteAlarms", "Version": "2010-08-01", "AlarmNames.member.1": "query-a"})
    assert status == 400 and "<Code>ValidationError</Code>" in body and "composite alarm(s) depending on it" in body


def test_set_alarm_state_reason_data_on_a_suppressed_composite_alarm(cw: Any, aws: Client) -> None:
    put_children(cw, "held-child", "held-suppressor")
    topic, url = queue_on_topic(aws, "held-actions")
    cw.put_composite_alarm(
        AlarmName="held", AlarmRule="ALARM(held-child)", AlarmActions=[topic], ActionsSuppressor="held-suppressor",
        ActionsSuppressorWaitPeriod=0, ActionsSuppressorExtensionPeriod=0,
    )  # fmt: skip
    cw.set_alarm_state(AlarmName="held-suppressor", StateValue="ALARM", StateReason="maintenance")
    cw.set_alarm_state(AlarmName="held", StateValue="ALARM", StateReason="by hand", StateReasonData='{"ticket": "OPS-1"}')
    assert composite(cw, "held")["ActionsSuppressedBy"] == "Alarm"
    # The suppressor leaves ALARM with no extension period: the held actions run at the next look.
    cw.set_alarm_state(AlarmName="held-suppressor", StateValue="OK", StateReason="done")
    shown = composite(cw, "held")
    assert shown["StateValue"] == "ALARM" and "ActionsSuppressedBy" not in shown
    assert json.loads(shown["StateReasonData"]) == {"ticket": "OPS-1"}
    note = receive(aws, url)
    assert (note["NewStateValue"], note["TriggeringChildren"]) == ("ALARM", [])
