"""The resource pages: topics and subscriptions, rules and targets, functions and their logs, the app's resources."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path

from example_harness import RunningApp
from playwright.sync_api import Page, expect

# The local endpoint feeds CloudWatch's AWS/Lambda metrics every few seconds (AWS: about a minute).
METRICS_TIMEOUT_MS = 15_000


def _arn(app: RunningApp, queue_url: str) -> str:
    attributes = app.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


def test_topics_show_their_subscriptions(
    page: Page, app: RunningApp, sign_in: Callable[[Page, str], None], shot: Callable[[Page, str], Path]
) -> None:
    alerts = app.outputs["AlertsTopicArn"].rsplit(":", 1)[-1]
    sign_in(page, "viewer")
    page.get_by_role("link", name="Topics").click()
    topic = page.get_by_role("region", name=alerts)
    expect(topic).to_contain_text(app.outputs["AlertsTopicArn"])
    row = topic.get_by_role("table", name=f"Subscriptions of {alerts}").locator("tbody tr")
    expect(row).to_contain_text("sqs")
    expect(row.get_by_role("link", name=_arn(app, app.outputs["JobsUrl"]))).to_be_visible()
    shot(page, "topics")


def test_a_subscriptions_filter_policy_and_raw_delivery_show(page: Page, app: RunningApp, sign_in: Callable[[Page, str], None]) -> None:
    sns = app.client("sns")
    name = f"console-filtered-{uuid.uuid4().hex[:8]}"
    topic = sns.create_topic(Name=name)["TopicArn"]
    try:
        # To the dead-letter queue: nothing is published to this topic, so nothing reaches it.
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=_arn(app, app.outputs["DeadLetterQueueUrl"]),
            Attributes={"FilterPolicy": json.dumps({"severity": ["high"]}), "RawMessageDelivery": "true"},
        )
        sign_in(page, "viewer")
        page.goto(f"{app.url}/_sluiceway/console#/topics")
        row = page.get_by_role("table", name=f"Subscriptions of {name}").locator("tbody tr")
        expect(row).to_contain_text('"severity"')
        expect(row).to_contain_text("Scope: MessageAttributes")
        expect(row).to_contain_text("Yes")
    finally:
        sns.delete_topic(TopicArn=topic)


def test_rules_show_their_pattern_state_and_targets(
    page: Page, app: RunningApp, sign_in: Callable[[Page, str], None], shot: Callable[[Page, str], Path]
) -> None:
    events = app.client("events")
    name = f"console-rule-{uuid.uuid4().hex[:8]}"
    dlq = _arn(app, app.outputs["DeadLetterQueueUrl"])
    # A source nothing publishes: the rule never sends anything to its target.
    events.put_rule(
        Name=name, EventPattern=json.dumps({"source": ["console.tests"], "detail-type": ["Never sent"]}), Description="Matches nothing"
    )
    events.put_targets(Rule=name, Targets=[{"Id": "to-dead-letters", "Arn": dlq, "InputPath": "$.detail"}])
    disabled = f"{name}-off"
    events.put_rule(Name=disabled, ScheduleExpression="rate(1 day)", State="DISABLED")
    try:
        sign_in(page, "viewer")
        page.get_by_role("link", name="Rules").click()
        expect(page.get_by_label("Event bus", exact=True)).to_have_value("default")
        row = page.locator(f'tr[data-rule="{name}"]')
        expect(row).to_contain_text("ENABLED")
        expect(row).to_contain_text('"console.tests"')
        expect(row).to_contain_text("to-dead-letters")
        expect(row).to_contain_text("$.detail")
        expect(row.get_by_role("link", name=dlq)).to_be_visible()
        scheduled = page.locator(f'tr[data-rule="{disabled}"]')
        expect(scheduled).to_contain_text("DISABLED")
        expect(scheduled).to_contain_text("rate(1 day)")
        shot(page, "rules")

        page.get_by_label("Name starts with").fill(disabled)
        page.get_by_role("button", name="Show").click()
        expect(page.locator(f'tr[data-rule="{disabled}"]')).to_be_visible()
        expect(page.locator(f'tr[data-rule="{name}"]')).to_have_count(0)
    finally:
        events.remove_targets(Rule=name, Ids=["to-dead-letters"])
        events.delete_rule(Name=name)
        events.delete_rule(Name=disabled)


def test_functions_show_metrics_and_the_log_lines_of_a_run(
    page: Page, app: RunningApp, sign_in: Callable[[Page, str], None], shot: Callable[[Page, str], Path]
) -> None:
    function = app.outputs["WorkFunctionName"]
    order = f"fn-{uuid.uuid4().hex[:12]}"
    app.client("stepfunctions").start_execution(
        stateMachineArn=app.outputs["StateMachineArn"], input=json.dumps({"id": order, "kind": "single"})
    )

    sign_in(page, "viewer")
    page.get_by_role("link", name="Functions").click()
    row = page.locator(f'tr[data-function="{function}"]')
    expect(row).to_contain_text("python3.11")
    shot(page, "functions")
    row.get_by_role("link", name=function).click()

    expect(page.get_by_role("heading", name=function, level=1)).to_be_visible()
    # The handler prints {"order": <id>, ...}: its line shows, live, in the recent log lines.
    logs = page.get_by_role("table", name=f"Log lines of {function}")
    expect(logs).to_contain_text(f'"order": "{order}"', timeout=METRICS_TIMEOUT_MS)
    invocations = page.locator(".headline", has_text="Invocations, last hour").locator(".stat")
    expect(invocations).not_to_have_text("0", timeout=METRICS_TIMEOUT_MS)
    expect(page.get_by_role("img", name=re.compile(r"^Invocations, errors and throttles per minute"))).to_have_attribute(
        "aria-label", re.compile(r"Invocations: latest \d+, total [1-9]")
    )
    expect(page.get_by_role("region", name="Configuration")).to_contain_text("work.handler")
    shot(page, "function")


def test_a_window_the_picker_does_not_offer_falls_back_to_an_hour(
    page: Page, app: RunningApp, sign_in: Callable[[Page, str], None]
) -> None:
    function = app.outputs["WorkFunctionName"]
    sign_in(page, "viewer")
    for odd in ("7", "99999", "-5", "abc"):
        page.goto(f"{app.url}/_sluiceway/console#/functions?minutes={odd}")
        expect(page.get_by_label("Window", exact=True)).to_have_value("60")
        expect(page.get_by_role("table", name="Functions and their metrics over the last hour")).to_be_visible()
    page.goto(f"{app.url}/_sluiceway/console#/functions/{function}?minutes=100000")
    expect(page.get_by_label("Window", exact=True)).to_have_value("60")
    expect(page.locator(".headline", has_text="Invocations, last hour")).to_be_visible()
    # A window the picker offers is kept.
    page.goto(f"{app.url}/_sluiceway/console#/functions?minutes=15")
    expect(page.get_by_label("Window", exact=True)).to_have_value("15")
    expect(page.get_by_role("table", name="Functions and their metrics over the last 15 minutes")).to_be_visible()


def test_resources_list_the_templates_resources_and_filter_by_type(
    page: Page, app: RunningApp, sign_in: Callable[[Page, str], None], shot: Callable[[Page, str], Path]
) -> None:
    sign_in(page, "viewer")
    page.get_by_role("link", name="Resources").click()
    stack = page.get_by_role("region", name=f"Stack {app.stack_name}")
    expect(stack.get_by_role("heading", level=2)).to_contain_text(app.stack_name)
    for logical in ("FlagBucket", "WorkFunction", "Orders", "Jobs", "JobsDeadLetterQueue", "Alerts", "JobsPolicy"):
        expect(stack.locator(f'tr[data-logical-id="{logical}"]')).to_be_visible()
    expect(stack.locator('tr[data-logical-id="Jobs"]')).to_contain_text("AWS::SQS::Queue")
    expect(stack.locator('tr[data-logical-id="Jobs"]')).to_contain_text(app.outputs["JobsUrl"])
    expect(stack.get_by_role("table", name=f"Outputs of {app.stack_name}")).to_contain_text(app.outputs["StateMachineArn"])
    shot(page, "resources")

    page.get_by_label("Resource type").select_option("AWS::SQS::Queue")
    expect(page).to_have_url(re.compile(r"#/resources\?type=AWS%3A%3ASQS%3A%3AQueue$"))
    expect(stack.locator("tbody tr[data-logical-id]")).to_have_count(2)
    expect(stack.locator('tr[data-logical-id="JobsDeadLetterQueue"]')).to_be_visible()
