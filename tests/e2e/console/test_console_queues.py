"""The queues pages: depths, the redrive policy, and a dead-letter queue's preview and redrive from the UI."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from example_harness import RunningApp
from playwright.sync_api import Page, expect


def _name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _dead_letter(app: RunningApp, body: str) -> None:
    """Send ``body`` to Jobs and receive it until SQS moves it to the dead-letter queue (maxReceiveCount 1)."""
    sqs = app.client("sqs")
    jobs, dlq = app.outputs["JobsUrl"], app.outputs["DeadLetterQueueUrl"]
    sqs.send_message(QueueUrl=jobs, MessageBody=body)

    def moved() -> bool:
        # Visibility timeout 0: each receive counts, and the one past maxReceiveCount moves it.
        sqs.receive_message(QueueUrl=jobs, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=0)
        found = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=0)
        return any(m["Body"] == body for m in found.get("Messages", []))

    app.until(moved, f"{body} in the dead-letter queue")


def _take(sqs: Any, url: str, body: str) -> bool:
    """Receive ``url``'s messages; delete the one whose body is ``body`` (True), make the others visible again."""
    for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30, WaitTimeSeconds=0).get("Messages", []):
        if message["Body"] == body:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            return True
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    return False


def test_the_queue_list_shows_depths_and_each_queues_dead_letter_queue(
    page: Page, app: RunningApp, sign_in: Callable[[Page, str], None], shot: Callable[[Page, str], Path]
) -> None:
    jobs, dlq = _name(app.outputs["JobsUrl"]), _name(app.outputs["DeadLetterQueueUrl"])
    sign_in(page, "viewer")
    page.get_by_role("link", name="Queues").click()
    expect(page.get_by_role("heading", name="Queues", level=1)).to_be_visible()
    row = page.locator(f'tr[data-queue="{jobs}"]')
    expect(row.get_by_role("link", name=dlq)).to_be_visible()
    expect(row.locator("td").nth(1)).to_have_text("Standard")
    shot(page, "queues")

    # Live: a message sent now shows in the list's depth without a reload.
    before = int(row.locator("td").nth(2).inner_text())
    marker = f"list-{uuid.uuid4().hex}"
    sqs = app.client("sqs")
    sqs.send_message(QueueUrl=app.outputs["JobsUrl"], MessageBody=marker)
    try:
        expect(row.locator("td").nth(2)).not_to_have_text(str(before))
    finally:
        app.until(lambda: _take(sqs, app.outputs["JobsUrl"], marker), "the list test's message deleted")

    page.get_by_label("Name starts with").fill(dlq)
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(f'tr[data-queue="{dlq}"]')).to_be_visible()
    expect(page.locator(f'tr[data-queue="{jobs}"]')).to_have_count(0)


def test_an_operator_previews_and_redrives_a_dead_letter_queue(
    page: Page, app: RunningApp, sign_in: Callable[[Page, str], None], shot: Callable[[Page, str], Path]
) -> None:
    sqs = app.client("sqs")
    jobs_url, dlq_url = app.outputs["JobsUrl"], app.outputs["DeadLetterQueueUrl"]
    body = f'{{"job": "{uuid.uuid4().hex}"}}'
    _dead_letter(app, body)

    sign_in(page, "operator")
    page.goto(f"{app.url}/_sluiceway/console#/queues/{_name(dlq_url)}")
    expect(page.get_by_role("heading", name=_name(dlq_url), level=1)).to_be_visible()
    expect(page.get_by_role("link", name=_name(jobs_url), exact=True)).to_be_visible()  # "Dead-letter queue of"
    available = page.locator('[data-depth="available"]')
    expect(available).not_to_have_text("0")

    page.get_by_role("button", name="Poll for messages").click()
    preview = page.get_by_role("table", name="Messages received for the preview")
    expect(preview).to_contain_text(body.split('"')[3])
    shot(page, "queue-dead-letter")

    page.get_by_role("button", name="Redrive", exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(_name(jobs_url))
    dialog.get_by_role("button", name="Redrive").click()
    expect(dialog).to_have_count(0)

    # The depth shown drops as SQS moves the messages, without a reload; the message is back in Jobs.
    expect(available).to_have_text("0")
    app.until(lambda: _take(sqs, jobs_url, body), "the redriven message in Jobs")


def test_a_viewer_sees_no_redrive_and_no_preview(page: Page, app: RunningApp, sign_in: Callable[[Page, str], None]) -> None:
    dlq = _name(app.outputs["DeadLetterQueueUrl"])
    sign_in(page, "viewer")
    page.goto(f"{app.url}/_sluiceway/console#/queues/{dlq}")
    # Wait for what the page draws last (the live depth), then look for what it must not draw.
    expect(page.locator('[data-depth="available"]')).to_be_visible()
    expect(page.get_by_role("link", name=_name(app.outputs["JobsUrl"]), exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Redrive")).to_have_count(0)
    expect(page.get_by_role("button", name="Poll for messages")).to_have_count(0)
    expect(page.get_by_role("heading", name="Message preview")).to_have_count(0)


def test_a_queue_shows_its_redrive_policy(page: Page, app: RunningApp, sign_in: Callable[[Page, str], None]) -> None:
    jobs, dlq = _name(app.outputs["JobsUrl"]), _name(app.outputs["DeadLetterQueueUrl"])
    sign_in(page, "viewer")
    page.goto(f"{app.url}/_sluiceway/console#/queues/{jobs}")
    policy = page.get_by_role("region", name="Redrive policy")
    expect(policy).to_contain_text("Maximum receives")
    expect(policy).to_contain_text("1")
    expect(policy.get_by_role("link", name=dlq)).to_be_visible()
    page.get_by_role("link", name="Queues", exact=True).first.click()
    expect(page.get_by_role("heading", name="Queues", level=1)).to_be_visible()


def test_the_queue_list_pages_through_sqs_next_token(page: Page, app: RunningApp, sign_in: Callable[[Page, str], None]) -> None:
    sqs = app.client("sqs")
    prefix = f"paging-{uuid.uuid4().hex[:8]}-"
    # One more than the list's page (100 queues): ListQueues answers a NextToken for the last.
    urls = [sqs.create_queue(QueueName=f"{prefix}{n:03d}")["QueueUrl"] for n in range(101)]
    try:
        sign_in(page, "viewer")
        page.goto(f"{app.url}/_sluiceway/console#/queues?prefix={prefix}")
        rows = page.locator(f'tr[data-queue^="{prefix}"]')
        previous, following = page.get_by_role("button", name="Previous page"), page.get_by_role("button", name="Next page")
        expect(rows).to_have_count(100)
        expect(previous).to_be_disabled()
        following.click()
        expect(rows).to_have_count(1)
        expect(following).to_be_disabled()
        expect(previous).to_be_enabled()
        shown_second = rows.first.get_attribute("data-queue")
        previous.click()
        expect(rows).to_have_count(100)
        expect(page.locator(f'tr[data-queue="{shown_second}"]')).to_have_count(0)
        expect(following).to_be_enabled()
    finally:
        for url in urls:
            sqs.delete_queue(QueueUrl=url)


def test_a_dead_letter_queue_with_its_own_redrive_policy_says_what_its_redrive_moves(
    page: Page, app: RunningApp, sign_in: Callable[[Page, str], None]
) -> None:
    """work -> middle -> last: middle is a dead-letter queue and has one; the API moves last's messages back to middle."""
    sqs = app.client("sqs")
    stem = f"chain-{uuid.uuid4().hex[:8]}"

    def made(name: str, dead_letter: str | None) -> tuple[str, str]:
        attributes = {}
        if dead_letter is not None:
            attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": dead_letter, "maxReceiveCount": "1"})
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    last_url, last_arn = made(f"{stem}-last", None)
    middle_url, middle_arn = made(f"{stem}-middle", last_arn)
    work_url, _ = made(f"{stem}-work", middle_arn)
    try:
        sign_in(page, "operator")
        page.goto(f"{app.url}/_sluiceway/console#/queues/{stem}-middle")
        expect(page.get_by_role("link", name=f"{stem}-work", exact=True)).to_be_visible()  # "Dead-letter queue of"
        expect(page.get_by_text(f"Moves the messages of {stem}-last back to this queue.", exact=True)).to_be_visible()

        page.get_by_role("button", name="Redrive", exact=True).click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text(f"Move the messages of {stem}-last back to {stem}-middle?")
        dialog.get_by_role("button", name="Redrive").click()
        # What the API answered it moves: from the last queue, as the label said.
        expect(page.get_by_text(f"Redrive started from {stem}-last")).to_be_visible()
    finally:
        for url in (work_url, middle_url, last_url):
            sqs.delete_queue(QueueUrl=url)
