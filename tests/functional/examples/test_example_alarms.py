"""examples/api-workflow's CloudWatch alarms, evaluated locally: a job whose ProcessJob fails fails its
execution, JobWorkflow's ExecutionsFailed alarm goes to ALARM and CloudWatch's notification reaches a
queue subscribed to the app's alarm topic.

The app runs as a user runs it (``sluiceway up --template``, see example_harness). Its stack evaluates
the alarms every few seconds against complete minutes, so a failure shows about a minute later; the test
does not wait that minute: it opens the same data dir (as ``sluiceway alarms`` does) and turns an
evaluator of its own whose clock stands a minute after the failure, so the failure's minute is complete.
The feeds and the alarm store are shared through the data dir (each data point counted once, whichever
process pulls it).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import yaml
from example_harness import RunningApp, run_example

from sluiceway.backends.local.cloudwatch_feeds import metric_feeds
from sluiceway.runtime.alarms import AlarmEvaluator, parse_emf
from sluiceway.runtime.wiring import open_local
from sluiceway.settings import Settings


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


def test_the_dashboard_body_is_json_over_the_alarmed_metrics(running: RunningApp) -> None:
    # The local endpoint keeps no dashboards (CloudWatch's console renders them): the body is read from the template.
    template = yaml.load((running.app_dir / "template.yaml").read_text(encoding="utf-8"), Loader=_Tags)  # noqa: S506
    text = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    names = set(re.findall(r"\$\{([^}]+)\}", text))
    assert names - {"AWS::Region"} <= {n for n in template["Resources"]} | {f"{n}.Arn" for n in template["Resources"]}, names
    body = json.loads(re.sub(r"\$\{([^}]+)\}", r"<\1>", text))
    metrics = {(m[0], m[1], m[3]) for w in body["widgets"] if w["type"] == "metric" for m in w["properties"]["metrics"]}
    assert ("AWS/States", "ExecutionsFailed", "<JobWorkflow>") in metrics
    functions = [n for n, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"]
    assert {("AWS/Lambda", metric, f"<{f}>") for f in functions for metric in ("Errors", "Throttles")} <= metrics
    [alarm_widget] = [w for w in body["widgets"] if w["type"] == "alarm"]
    alarms = [n for n, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert sorted(alarm_widget["properties"]["alarms"]) == sorted(f"<{n}.Arn>" for n in alarms)


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
