"""examples/api-workflow's CloudWatch alarms, evaluated locally: a job whose ProcessJob fails fails its
execution, JobWorkflow's ExecutionsFailed alarm goes to ALARM and CloudWatch's notification reaches a
queue subscribed to the app's alarm topic.

The app runs as a user runs it (``sluiceway up --template``, see example_harness). Its stack evaluates
the alarms every few seconds against complete minutes, so a failure shows about a minute later; the test
does not wait that minute: it opens the same data dir (as ``sluiceway alarms`` does) and turns an
evaluator of its own whose clock stands a minute after the failure, so the failure's minute is complete.
The feeds and the alarm store are shared through the data dir (each data point counted once, whichever
process pulls it).

The static checks read every alarmed example's template (api-workflow, csv-fanout, csv-workflow): an
alarm on each failure path the resources declare (failed executions, dead-letter queues, functions'
errors and throttles), each notifying the KMS-encrypted alarm topic, and a dashboard over them.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from example_harness import RunningApp, run_example

from sluiceway.backends.local.cloudwatch_feeds import metric_feeds
from sluiceway.runtime.alarms import AlarmEvaluator, parse_emf
from sluiceway.runtime.wiring import open_local
from sluiceway.settings import Settings

EXAMPLES = Path(str(resources.files("sluiceway").joinpath("examples")))
#: The apps whose templates carry alarms, an alarm topic and a dashboard.
ALARMED_APPS = ["api-workflow", "csv-fanout", "csv-workflow"]


class MinuteAfter:
    """A clock standing a minute after ``moment``: the minute that holds ``moment`` is the complete
    period an alarm evaluation sees (CloudWatch evaluates complete periods only)."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment + timedelta(minutes=1)

    def now(self) -> datetime:
        return self.moment

    def monotonic(self) -> float:
        return time.monotonic()


class _Tags(yaml.SafeLoader):
    """YAML with CloudFormation's short forms (!Ref, !Sub ...) read as their long forms."""


_Tags.add_multi_constructor(
    "!",
    lambda loader, suffix, node: {
        ("Ref" if suffix == "Ref" else f"Fn::{suffix}"): loader.construct_scalar(node)
        if isinstance(node, yaml.ScalarNode)
        else loader.construct_sequence(node, deep=True)
        if isinstance(node, yaml.SequenceNode)
        else loader.construct_mapping(node, deep=True)
    },
)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    with run_example("api-workflow", tmp_path_factory.mktemp("api-workflow-alarms")) as app:
        yield app


def _alarm(running: RunningApp, name: str) -> dict[str, Any]:
    [alarm] = running.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return dict(alarm)


def test_the_template_s_alarms_and_dashboard_are_made(running: RunningApp) -> None:
    cw = running.client("cloudwatch")
    alarms = cw.describe_alarms()["MetricAlarms"]
    # ExecutionsFailed for the state machine, Errors and Throttles for each of the four functions.
    assert sorted((a["Namespace"], a["MetricName"]) for a in alarms) == [("AWS/Lambda", "Errors")] * 4 + [
        ("AWS/Lambda", "Throttles")
    ] * 4 + [("AWS/States", "ExecutionsFailed")]
    topic = running.outputs["AlarmTopicArn"]
    assert all(a["AlarmActions"] == [topic] and a["OKActions"] == [topic] for a in alarms)
    failed = _alarm(running, running.outputs["JobWorkflowFailedAlarmName"])
    assert failed["Dimensions"] == [{"Name": "StateMachineArn", "Value": running.outputs["StateMachineArn"]}]
    assert (failed["Statistic"], failed["Period"], failed["Threshold"], failed["TreatMissingData"]) == ("Sum", 60, 1.0, "notBreaching")
    assert running.outputs["DashboardName"] == f"{running.stack_name}-api-workflow"


def _template(app: str) -> dict[str, Any]:
    text = (EXAMPLES / app / "template.yaml").read_text(encoding="utf-8")
    template: dict[str, Any] = yaml.load(text, Loader=_Tags)  # noqa: S506
    return template


def _of_type(template: dict[str, Any], kind: str) -> list[str]:
    return [name for name, resource in template["Resources"].items() if resource["Type"] == kind]


def _dead_letter_queues(node: Any) -> set[str]:
    """The queues the template sends dead letters to: redrive targets, functions' DeadLetterQueue, rules' DeadLetterConfig."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            target = value.get("TargetArn") if key == "DeadLetterQueue" and isinstance(value, dict) else None
            target = value.get("Arn") if key == "DeadLetterConfig" and isinstance(value, dict) else target
            target = value if key == "deadLetterTargetArn" else target
            if isinstance(target, dict) and "Fn::GetAtt" in target:
                found.add(str(target["Fn::GetAtt"]).split(".")[0])
            found |= _dead_letter_queues(value)
    elif isinstance(node, list):
        for item in node:
            found |= _dead_letter_queues(item)
    return found


def _placeholder(value: Any) -> str:
    """An alarm dimension's value as the dashboard body's ``${...}`` names it (read as ``<...>``)."""
    if "Ref" in value:
        return f"<{value['Ref']}>"
    attribute = value["Fn::GetAtt"]
    return f"<{attribute if isinstance(attribute, str) else '.'.join(attribute)}>"


def _expected_alarms(template: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(namespace, metric, dimension, value, statistic) the app must alarm on, derived from its resources."""
    functions = _of_type(template, "AWS::Serverless::Function")
    return sorted(
        [
            ("AWS/States", "ExecutionsFailed", "StateMachineArn", f"<{m}>", "Sum")
            for m in _of_type(template, "AWS::Serverless::StateMachine")
        ]
        + [("AWS/Lambda", metric, "FunctionName", f"<{f}>", "Sum") for f in functions for metric in ("Errors", "Throttles")]
        # A queue's depth is a gauge: the minute's Maximum.
        + [
            ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", f"<{q}.QueueName>", "Maximum")
            for q in _dead_letter_queues(template["Resources"])
        ]
    )


@pytest.mark.parametrize("app", ALARMED_APPS)
def test_every_failure_path_has_an_alarm_notifying_the_encrypted_alarm_topic(app: str) -> None:
    template = _template(app)
    declared = template["Resources"]
    alarms = {name: declared[name]["Properties"] for name in _of_type(template, "AWS::CloudWatch::Alarm")}
    made = sorted(
        (a["Namespace"], a["MetricName"], d["Name"], _placeholder(d["Value"]), a["Statistic"])
        for a in alarms.values()
        for d in a["Dimensions"]
    )
    assert made == _expected_alarms(template)
    assert all(len(a["Dimensions"]) == 1 for a in alarms.values()), alarms
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": "AlarmTopic"}], name
        shape = (alarm["Period"], alarm["EvaluationPeriods"], alarm["Threshold"], alarm["ComparisonOperator"])
        assert shape == (60, 1, 1, "GreaterThanOrEqualToThreshold"), name
        assert alarm["TreatMissingData"] == "notBreaching", name
        assert alarm["AlarmDescription"], name

    # CloudWatch cannot use the AWS managed SNS key: a customer managed one, rotated, that CloudWatch may use.
    assert declared["AlarmTopic"]["Type"] == "AWS::SNS::Topic"
    assert declared["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "AlarmsKey"}
    key = declared["AlarmsKey"]
    assert key["Type"] == "AWS::KMS::Key" and key["Properties"]["EnableKeyRotation"] is True
    [cloudwatch] = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch["Effect"] == "Allow" and set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}

    outputs = template["Outputs"]
    assert outputs["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}
    assert outputs["DashboardName"]["Value"] == {"Ref": "Dashboard"}
    assert declared["Dashboard"]["Properties"]["DashboardName"] == {"Fn::Sub": f"${{AWS::StackName}}-{app}"}


@pytest.mark.parametrize("app", ALARMED_APPS)
def test_the_dashboard_body_is_json_over_the_alarmed_metrics(app: str) -> None:
    # The local endpoint keeps no dashboards (CloudWatch's console renders them): the body is read from the template.
    template = _template(app)
    declared = template["Resources"]
    text = declared["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    names = set(re.findall(r"\$\{([^}]+)\}", text)) - {"AWS::Region"}
    assert {n.split(".")[0] for n in names} <= set(declared), names
    assert {n.split(".")[1] for n in names if "." in n} <= {"Arn", "QueueName"}, names
    body = json.loads(re.sub(r"\$\{([^}]+)\}", r"<\1>", text))
    metrics = {(m[0], m[1], m[3]) for w in body["widgets"] if w["type"] == "metric" for m in w["properties"]["metrics"]}
    assert {(namespace, metric, value) for namespace, metric, _, value, _ in _expected_alarms(template)} <= metrics
    [alarm_widget] = [w for w in body["widgets"] if w["type"] == "alarm"]
    alarms = _of_type(template, "AWS::CloudWatch::Alarm")
    assert sorted(alarm_widget["properties"]["alarms"]) == sorted(f"<{n}.Arn>" for n in alarms)
    # CloudWatch's grid is 24 units wide.
    assert all(w["x"] + w["width"] <= 24 for w in body["widgets"]), body


def test_a_failed_job_trips_the_executions_failed_alarm_and_notifies_its_topic(running: RunningApp) -> None:
    inbox = running.inbox(running.outputs["AlarmTopicArn"])
    name = running.outputs["JobWorkflowFailedAlarmName"]

    # No "numbers": ProcessJob raises, the Catch routes to ProcessingFailed and the execution fails.
    sfn = running.client("stepfunctions")
    started = sfn.start_execution(
        stateMachineArn=running.outputs["StateMachineArn"],
        name=str(uuid.uuid4()),
        input=json.dumps({"jobId": "broken", "operation": "sum"}),
    )

    def ended() -> dict[str, Any] | None:
        described: dict[str, Any] = sfn.describe_execution(executionArn=started["executionArn"])
        return described if described["status"] != "RUNNING" else None

    execution = running.until(ended, "the broken job's end")
    assert execution["status"] == "FAILED", execution

    settings = Settings.load(data_dir=running.app_dir.parent / "data")
    local = open_local(settings)
    feeds = metric_feeds(
        local.cloudwatch,
        logs_path=local.logs.path,
        executions=local.executions,
        queues=local.queues,
        clock=local.clock,
        region=settings.region,
        account_id=settings.account_id,
        parse_emf=parse_emf,
    )
    evaluator = AlarmEvaluator(local.cloudwatch, MinuteAfter(execution["stopDate"]), feeds)
    try:
        evaluator.turn()
    finally:
        evaluator.close()
        local.close()

    # The running stack turns its own evaluator on the real clock too (a minute later it would reach
    # ALARM itself, or turn back to OK while the failure's minute is still open): the history, not the
    # current state, says what this evaluation did.
    history = running.client("cloudwatch").describe_alarm_history(AlarmName=name, HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    assert any(item["HistorySummary"].endswith("to ALARM") for item in history), history

    def alarm_note() -> dict[str, Any] | None:
        for message in running.drain(inbox, expect=1, what="an alarm notification", settle=0.2):
            envelope = json.loads(message["Body"])
            note: dict[str, Any] = json.loads(envelope["Message"])
            if note["NewStateValue"] == "ALARM":
                return {**note, "Subject": envelope.get("Subject", "")}
        return None

    note = running.until(alarm_note, "CloudWatch's ALARM notification on the alarm topic")
    assert note["AlarmName"] == name
    assert note["AlarmArn"] == _alarm(running, name)["AlarmArn"]
    assert note["NewStateReason"].startswith("Threshold Crossed: 1 datapoint [1.0 (")
    assert note["Trigger"]["MetricName"] == "ExecutionsFailed" and note["Trigger"]["Namespace"] == "AWS/States"
    assert note["Trigger"]["Dimensions"] == [{"value": running.outputs["StateMachineArn"], "name": "StateMachineArn"}]
    assert note["Subject"].startswith(f'ALARM: "{name}" in ')
