"""The home page: is the system healthy? Headline figures, per-minute charts and alarms, updating live."""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path

from example_harness import RunningApp
from playwright.sync_api import Page, expect

# The local endpoint feeds CloudWatch's AWS/States metrics every few seconds (AWS: about a minute).
METRICS_TIMEOUT_MS = 15_000
# Home asks for /dashboard (charts, alarms, dead-letter depths) every 5 s: a change shows within two polls.
DASHBOARD_TIMEOUT_MS = 12_000


def test_home_shows_a_new_run_at_once_and_in_the_charts_once_cloudwatch_has_it(
    page: Page, app: RunningApp, sign_in: Callable[[Page, str], None], shot: Callable[[Page, str], Path]
) -> None:
    sign_in(page, "viewer")
    expect(page.get_by_role("heading", name="Is the system healthy?", level=1)).to_be_visible()
    runs = page.get_by_role("link", name=re.compile(r"Runs started, last hour"))
    expect(runs).to_be_visible()
    before = runs.locator(".stat").inner_text()

    name = f"home-{uuid.uuid4().hex[:12]}"
    app.client("stepfunctions").start_execution(
        stateMachineArn=app.outputs["StateMachineArn"], name=name, input=json.dumps({"id": name, "kind": "single"})
    )
    newest = page.get_by_role("table", name="The newest run of each state machine")
    expect(newest.get_by_role("link", name=name)).to_be_visible()

    expect(runs.locator(".stat")).not_to_have_text(before, timeout=METRICS_TIMEOUT_MS)
    chart = page.get_by_role("img", name=re.compile(r"^Runs per minute, 60 minutes from"))
    expect(chart).to_have_attribute("aria-label", re.compile(r"Started: latest \d+, total [1-9]"))
    # The values behind the drawing, as a table for screen readers: one row a minute.
    expect(page.get_by_role("table", name="Runs per minute").locator("tbody tr")).to_have_count(60)
    shot(page, "home")


def test_home_counts_alarms_in_alarm_and_says_the_system_needs_attention(
    page: Page, app: RunningApp, sign_in: Callable[[Page, str], None]
) -> None:
    cloudwatch = app.client("cloudwatch")
    alarm = f"home-alarm-{uuid.uuid4().hex[:8]}"
    # Missing data counts as breaching: the evaluator keeps the alarm in ALARM, SetAlarmState puts it there now.
    cloudwatch.put_metric_alarm(
        AlarmName=alarm,
        Namespace="Console/Tests",
        MetricName=alarm,
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="breaching",
    )
    try:
        cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="set by the console's test")
        sign_in(page, "viewer")
        alarms = page.get_by_role("table", name="Alarms, those in ALARM first")
        row = alarms.locator("tr", has_text=alarm)
        expect(row).to_contain_text("ALARM")
        expect(page.get_by_role("status").filter(has_text="Needs attention")).to_contain_text("in ALARM")
        expect(page.locator(".headline", has_text="Alarms in ALARM").locator(".stat")).not_to_have_text("0")
        # Over time, from the alarm history: this minute had an alarm in ALARM, and the chart says so in words.
        states = page.get_by_role("img", name=re.compile(r"^Alarms in ALARM per minute .*, 60 minutes from"))
        expect(states).to_have_attribute("aria-label", re.compile(r"In ALARM: latest [1-9]\d*, peak [1-9]"))
        expect(states.locator("g.series.tone-bad rect").first).to_be_attached()  # a bar, not a blank chart
        minutes = page.get_by_role("table", name="Alarms in ALARM per minute (at some moment of the minute)")
        expect(minutes.locator("tbody tr")).to_have_count(60)
        expect(minutes.locator("tbody tr").last.locator("td").first).not_to_have_text("0")

        # Live: the alarm deleted, its row goes without a reload.
        cloudwatch.delete_alarms(AlarmNames=[alarm])
        expect(row).to_have_count(0, timeout=DASHBOARD_TIMEOUT_MS)
    finally:
        # Already deleted when the test got that far: DeleteAlarms answers ResourceNotFound then.
        with contextlib.suppress(cloudwatch.exceptions.ResourceNotFound):
            cloudwatch.delete_alarms(AlarmNames=[alarm])


def test_home_lists_dead_letter_queues_and_changes_window(page: Page, app: RunningApp, sign_in: Callable[[Page, str], None]) -> None:
    dlq = app.outputs["DeadLetterQueueUrl"].rsplit("/", 1)[-1]
    jobs = app.outputs["JobsUrl"].rsplit("/", 1)[-1]
    sign_in(page, "viewer")
    queues = page.get_by_role("table", name="Dead-letter queues and their depth now")
    expect(queues.locator("tr", has_text=dlq)).to_contain_text(jobs)
    expect(page.get_by_role("img", name=re.compile(r"^Dead-letter queue depth"))).to_have_attribute("aria-label", re.compile(dlq))

    page.get_by_label("Window").select_option("15")
    expect(page).to_have_url(re.compile(r"#/\?minutes=15$"))
    expect(page.get_by_role("img", name=re.compile(r"^Runs per minute, 15 minutes from"))).to_be_visible()
    page.get_by_role("link", name=re.compile("Dead-letter messages now")).click()
    expect(page.get_by_role("heading", name="Queues", level=1)).to_be_visible()


def test_home_takes_only_a_window_its_picker_offers(page: Page, app: RunningApp, sign_in: Callable[[Page, str], None]) -> None:
    sign_in(page, "viewer")
    for odd in ("7", "525600", "0"):
        page.goto(f"{app.url}/_sluiceway/console#/?minutes={odd}")
        expect(page.get_by_label("Window", exact=True)).to_have_value("60")
        expect(page.get_by_role("img", name=re.compile(r"^Runs per minute, 60 minutes from"))).to_be_visible()
        expect(page.get_by_role("link", name=re.compile(r"Runs started, last hour"))).to_be_visible()
