"""The console's executions pages in a real browser: the live list and its filters, the graph of a
failed execution, a redrive from the console that succeeds, starting an execution, and what a
viewer may not do.

The app's WorkFunction fails until the object ``ok`` is in FlagBucket. That flag is global to the
session's app, so this module orders its tests: the failed graph first, then the redrive puts the
flag (and the module takes it away again when it is done). Runs with ``{"invalid": true}`` fail
whatever the flag (caught, then the Fail state Rejected).
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from example_harness import RunningApp
from playwright.sync_api import Page, Route, expect

# A run's Lambda task takes a moment locally: statuses get longer than the default 10 s.
SETTLE_MS = 25_000


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def start(app: RunningApp, name: str, payload: dict[str, Any]) -> str:
    sfn = app.client("stepfunctions")
    answer = sfn.start_execution(stateMachineArn=app.outputs["StateMachineArn"], name=name, input=json.dumps(payload))
    return str(answer["executionArn"])


def ended(app: RunningApp, arn: str) -> dict[str, Any]:
    sfn = app.client("stepfunctions")

    def finished() -> dict[str, Any] | None:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        return described if described["status"] != "RUNNING" else None

    described: dict[str, Any] = app.until(finished, f"the end of {arn}")
    return described


def execution_url(app: RunningApp, arn: str) -> str:
    return f"{app.url}/_sluiceway/console#/executions/{quote(arn, safe='')}"


def summary_status(page: Page) -> Any:
    return page.get_by_role("region", name="Summary").locator(".badge")


@pytest.fixture(scope="module")
def flag(app: RunningApp) -> Iterator[Callable[[], None]]:
    """Puts the flag object that lets WorkFunction succeed; removed when the module is done."""
    s3 = app.client("s3")
    bucket = app.outputs["FlagBucketName"]

    def put() -> None:
        s3.put_object(Bucket=bucket, Key="ok", Body=b"ok")

    yield put
    s3.delete_object(Bucket=bucket, Key="ok")


@pytest.fixture(scope="module")
def failed_run(app: RunningApp) -> str:
    """A run that failed in Work because the flag was missing (made before any test puts it)."""
    arn = start(app, unique("no-flag"), {"kind": "single", "id": "o-1"})
    described = ended(app, arn)
    assert described["status"] == "FAILED", described
    return arn


def test_the_graph_of_a_failed_execution_shows_where_and_why(
    page: Page, app: RunningApp, sign_in: Callable[[Page, str], None], failed_run: str, shot: Callable[[Page, str], Path]
) -> None:
    sign_in(page, "viewer")
    page.goto(execution_url(app, failed_run))
    expect(page.get_by_role("heading", level=1)).to_have_text(failed_run.rsplit(":", 1)[1])
    expect(summary_status(page)).to_have_text("FAILED")
    work = page.get_by_role("button", name=re.compile(r"^Work: Failed"))
    expect(work).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"^Classify: Succeeded"))).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"^Checks: Succeeded"))).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"^CheckStock: Succeeded"))).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"^Fanout: Not run"))).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"^Done: Not run"))).to_be_visible()
    # Choice branches carry their rule and Default; the Catch edge its errors.
    expect(page.locator(".graph .edge-label", has_text="Default")).to_have_count(1)
    expect(page.locator(".graph .edge-label", has_text="InvalidOrder")).to_have_count(1)

    # From the keyboard: focus the state and press Enter.
    work.focus()
    page.keyboard.press("Enter")
    panel = page.get_by_role("complementary", name="Selected state")
    expect(panel.get_by_role("heading", name="State: Work")).to_be_visible()
    expect(panel).to_contain_text("the flag object ok is missing")
    expect(panel.locator(".badge")).to_have_text("FAILED")
    expect(work).to_have_attribute("aria-pressed", "true")

    history = page.get_by_role("region", name="Event history")
    expect(history.get_by_role("table")).to_contain_text("ExecutionStarted")
    history.get_by_label("Failed only").check()
    expect(history.get_by_role("table")).to_contain_text("ExecutionFailed")
    expect(history.get_by_role("table")).not_to_contain_text("ExecutionStarted")
    rows = history.locator("tbody tr")
    assert rows.count() >= 2
    for row in rows.all():
        expect(row).to_have_class(re.compile(r"\bevent-error\b"))
    # Once everything has loaded: not a pipeline run, so no such section.
    expect(page.locator("main")).not_to_have_attribute("aria-busy", "true")
    expect(page.get_by_role("region", name="Data pipeline")).to_have_count(0)
    shot(page, "execution-failed")


def test_a_redrive_from_the_console_runs_live_to_success(
    page: Page,
    app: RunningApp,
    sign_in: Callable[[Page, str], None],
    failed_run: str,
    flag: Callable[[], None],
    shot: Callable[[Page, str], Path],
) -> None:
    sign_in(page, "operator")
    page.goto(execution_url(app, failed_run))
    expect(summary_status(page)).to_have_text("FAILED")
    expect(page.get_by_role("button", name="Stop")).to_have_count(0)
    flag()
    page.get_by_role("button", name="Redrive").click()
    dialog = page.get_by_role("dialog", name="Redrive")
    expect(dialog).to_contain_text("Redrive the execution")
    dialog.get_by_role("button", name="Redrive").click()
    # No reload: the page follows the redriven run on its own.
    expect(summary_status(page)).to_have_text("SUCCEEDED", timeout=SETTLE_MS)
    expect(page.get_by_role("button", name=re.compile(r"^Work: Succeeded"))).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"^Done: Succeeded"))).to_be_visible()
    expect(page.get_by_role("region", name="Summary")).to_contain_text("Redrives")
    expect(page.get_by_role("button", name="Redrive")).to_have_count(0)
    history = page.get_by_role("region", name="Event history").get_by_role("table")
    expect(history).to_contain_text("ExecutionRedriven")
    expect(history).to_contain_text("ExecutionSucceeded")
    described = app.client("stepfunctions").describe_execution(executionArn=failed_run)
    assert described["status"] == "SUCCEEDED" and described["redriveCount"] == 1, described
    shot(page, "execution-succeeded")

    # Start again: a new run of the same state machine with the same input, under a new name.
    page.get_by_role("button", name="Start again").click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(re.compile(rf"^{re.escape(failed_run.rsplit(':', 1)[1])}-again-[0-9a-f]{{6}}$"))
    expect(summary_status(page)).to_have_text("SUCCEEDED", timeout=SETTLE_MS)
    again = f"{failed_run.rsplit(':', 1)[0]}:{heading.inner_text()}"
    original = app.client("stepfunctions").describe_execution(executionArn=failed_run)["input"]
    assert json.loads(app.client("stepfunctions").describe_execution(executionArn=again)["input"]) == json.loads(original)


def test_the_list_is_live_and_filters_by_status(
    page: Page, app: RunningApp, sign_in: Callable[[Page, str], None], flag: Callable[[], None], shot: Callable[[Page, str], Path]
) -> None:
    flag()
    machine = app.outputs["StateMachineArn"]
    sign_in(page, "viewer")
    page.goto(f"{app.url}/_sluiceway/console#/executions?stateMachineArn={quote(machine, safe='')}")
    filters = page.get_by_role("form", name="Filter executions")
    expect(filters.get_by_label("State machine")).to_have_value(machine)
    expect(page.get_by_role("table")).to_be_visible()

    # Started after the page is shown: the list must pick them up on its own.
    good = start(app, unique("list-good"), {"kind": "single", "id": "o-2"})
    bad = start(app, unique("list-bad"), {"kind": "single", "id": "o-3", "invalid": True})
    good_row = page.locator(f'tr[data-arn="{good}"]')
    bad_row = page.locator(f'tr[data-arn="{bad}"]')
    expect(good_row.locator(".badge")).to_have_text("SUCCEEDED", timeout=SETTLE_MS)
    expect(bad_row.locator(".badge")).to_have_text("FAILED", timeout=SETTLE_MS)
    expect(good_row.get_by_role("link")).to_have_attribute("href", f"#/executions/{quote(good, safe='')}")
    shot(page, "executions")

    filters.get_by_label("Status").select_option("FAILED")
    expect(page).to_have_url(re.compile(r"statusFilter=FAILED"))
    expect(bad_row).to_be_visible()
    expect(good_row).to_have_count(0)
    statuses = set(page.locator("table.data tbody .badge").all_text_contents())
    assert statuses == {"FAILED"}, statuses

    # The filtered list is a link: opened afresh, it shows the same.
    page.reload()
    expect(page.get_by_role("form", name="Filter executions").get_by_label("Status")).to_have_value("FAILED")
    expect(bad_row).to_be_visible()
    expect(good_row).to_have_count(0)

    # A page at a time: the two newest runs (these) on pages 1 and 2, and back.
    page.goto(f"{app.url}/_sluiceway/console#/executions?stateMachineArn={quote(machine, safe='')}&maxResults=1")
    rows = page.locator("table.data tbody tr")
    expect(page.get_by_text("Page 1", exact=True)).to_be_visible()
    expect(rows).to_have_count(1)
    first = rows.get_attribute("data-arn")
    assert first in {good, bad}, first
    second = ({good, bad} - {first}).pop()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Page 2", exact=True)).to_be_visible()
    expect(rows).to_have_attribute("data-arn", second)
    # A poll of page 1 in flight when Next was pressed must not draw over page 2: two polls later
    # page 2 is still shown, with Previous enabled.
    for _ in range(2):
        with page.expect_response(lambda answer: "/_sluiceway/api/executions?" in answer.url):
            pass
    expect(rows).to_have_attribute("data-arn", second)
    expect(page.get_by_text("Page 2", exact=True)).to_be_visible()
    page.get_by_role("button", name="Previous").click()
    expect(rows).to_have_attribute("data-arn", str(first))
    expect(page.get_by_text("Page 1", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Previous")).to_be_disabled()

    # A row's link opens the execution.
    page.goto(f"{app.url}/_sluiceway/console#/executions?stateMachineArn={quote(machine, safe='')}&statusFilter=FAILED")
    bad_row.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(bad.rsplit(":", 1)[1])


def test_a_data_pipeline_run_shows_its_rows_rejects_and_files(
    page: Page, app: RunningApp, sign_in: Callable[[Page, str], None], flag: Callable[[], None]
) -> None:
    # A run whose output carries row counts and an s3:// rejects file is a pipeline run, whatever its state machine.
    flag()
    bucket = app.outputs["FlagBucketName"]
    key = f"{unique('rejects')}.csv"
    app.client("s3").put_object(Bucket=bucket, Key=key, Body=b"id,reason\n7,price is negative\n9,no such product\n")
    counts = {"rows_read": 12, "rows_valid": 10, "rows_rejected": 2, "rejects": f"s3://{bucket}/{key}"}
    arn = start(app, unique("pipeline"), {"kind": "single", "id": "o-6", **counts})
    assert ended(app, arn)["status"] == "SUCCEEDED"
    sign_in(page, "viewer")
    page.goto(execution_url(app, arn))
    pipeline = page.get_by_role("region", name="Data pipeline")
    rows = pipeline.locator("dl.pipeline-rows")
    expect(rows).to_contain_text("Rows read12")
    expect(rows).to_contain_text("Rows valid10")
    expect(rows).to_contain_text("Rows rejected2")
    preview = pipeline.get_by_label(f"The first lines of s3://{bucket}/{key}")
    expect(preview).to_have_text("id,reason\n7,price is negative\n9,no such product")
    link = pipeline.get_by_role("link", name=f"s3://{bucket}/{key}")
    answer = page.request.get(str(link.get_attribute("href")))
    assert answer.status == 200 and answer.text().startswith("id,reason"), answer.status


def test_an_operator_starts_an_execution_from_the_form(page: Page, app: RunningApp, sign_in: Callable[[Page, str], None]) -> None:
    sign_in(page, "operator")
    page.goto(f"{app.url}/_sluiceway/console#/executions")
    page.get_by_role("button", name="New execution…").click()
    form = page.get_by_role("form", name="Start an execution")
    form.get_by_label("State machine").select_option(app.outputs["StateMachineArn"])
    name = unique("from-form")

    form.get_by_label("Execution name (optional)").fill("has a space")
    form.get_by_role("button", name="Start execution").click()
    expect(form.get_by_role("alert")).to_have_text("The name cannot contain whitespace.")

    form.get_by_label("Execution name (optional)").fill(name)
    form.get_by_label("Input (JSON)").fill('{"kind": "single",')
    form.get_by_role("button", name="Start execution").click()
    expect(form.get_by_role("alert")).to_contain_text("The input is not valid JSON")
    expect(form.get_by_label("Input (JSON)")).to_have_attribute("aria-invalid", "true")

    # Sent as typed: JSON.parse would round the integer and drop the ".0".
    form.get_by_label("Input (JSON)").fill('{"kind": "single", "id": "o-4", "invalid": true, "big": 9007199254740993, "ratio": 1.0}')
    form.get_by_role("button", name="Start execution").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(summary_status(page)).to_have_text("FAILED", timeout=SETTLE_MS)
    expect(page.get_by_role("button", name=re.compile(r"^Rejected: Failed"))).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"^Work: Caught error"))).to_be_visible()
    arn = f"{app.outputs['StateMachineArn'].replace(':stateMachine:', ':execution:')}:{name}"
    described = app.client("stepfunctions").describe_execution(executionArn=arn)
    assert described["input"] == '{"kind": "single", "id": "o-4", "invalid": true, "big": 9007199254740993, "ratio": 1.0}'
    given = json.loads(described["input"])
    assert isinstance(given["ratio"], float), described["input"]


def test_start_again_sends_the_input_exactly(page: Page, app: RunningApp, sign_in: Callable[[Page, str], None]) -> None:
    # Numbers a browser's JSON.parse would change: 2**53 + 1 (a double rounds it) and 1.0 (becomes 1).
    text = '{"kind": "single", "id": "o-7", "invalid": true, "big": 9007199254740993, "ratio": 1.0, "nested": [1.50, -0.0]}'
    sfn = app.client("stepfunctions")
    name = unique("exact")
    arn = str(sfn.start_execution(stateMachineArn=app.outputs["StateMachineArn"], name=name, input=text)["executionArn"])
    assert ended(app, arn)["status"] == "FAILED"
    sign_in(page, "operator")
    page.goto(execution_url(app, arn))
    expect(summary_status(page)).to_have_text("FAILED")
    page.get_by_role("button", name="Start again").click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(re.compile(rf"^{re.escape(name)}-again-[0-9a-f]{{6}}$"))
    again = f"{arn.rsplit(':', 1)[0]}:{heading.inner_text()}"
    assert sfn.describe_execution(executionArn=again)["input"] == text  # the very text, not just its values
    given = json.loads(text)
    assert given["big"] == 9007199254740993 and isinstance(given["ratio"], float), given
    assert [type(n) for n in given["nested"]] == [float, float] and str(given["nested"][1]) == "-0.0", given


def test_all_state_machines_goes_on_when_one_is_deleted(page: Page, app: RunningApp, sign_in: Callable[[Page, str], None]) -> None:
    sfn = app.client("stepfunctions")
    definition = {"StartAt": "Hold", "States": {"Hold": {"Type": "Pass", "End": True}}}
    role = "arn:aws:iam::000000000000:role/console-test"
    short_lived = sfn.create_state_machine(name=unique("short-lived"), definition=json.dumps(definition), roleArn=role)["stateMachineArn"]
    try:
        doomed = sfn.start_execution(stateMachineArn=short_lived, name=unique("doomed"))["executionArn"]
        sign_in(page, "viewer")
        page.goto(f"{app.url}/_sluiceway/console#/executions")
        expect(page.locator(f'tr[data-arn="{doomed}"]')).to_be_visible()
        sfn.delete_state_machine(stateMachineArn=short_lived)
        # Still live: a run started after the deletion shows, and the page never says it is stale.
        later = start(app, unique("after-delete"), {"kind": "single", "id": "o-8", "invalid": True})
        expect(page.locator(f'tr[data-arn="{later}"]')).to_be_visible()
        expect(page.locator("[data-stale]")).to_have_count(0)
    finally:
        with contextlib.suppress(sfn.exceptions.StateMachineDoesNotExist):
            sfn.delete_state_machine(stateMachineArn=short_lived)


def test_a_list_that_cannot_be_polled_says_it_is_stale_until_it_can(
    page: Page, app: RunningApp, sign_in: Callable[[Page, str], None]
) -> None:
    machine = app.outputs["StateMachineArn"]
    sign_in(page, "viewer")
    page.goto(f"{app.url}/_sluiceway/console#/executions?stateMachineArn={quote(machine, safe='')}")
    expect(page.locator("table.data")).to_be_visible()
    failing = "**/_sluiceway/api/executions?*"

    def unavailable(route: Route) -> None:
        route.fulfill(status=503, content_type="application/json", body=json.dumps({"error": "ServiceUnavailable", "message": "try later"}))

    page.route(failing, unavailable)
    stale = page.locator("[data-stale]")
    expect(stale).to_have_text(re.compile(r"^Not up to date since \d{2}:\d{2}:\d{2}: try later\. Retrying\.$"))
    # Lasting: still there after more failed polls.
    for _ in range(2):
        with page.expect_response(lambda answer: "/_sluiceway/api/executions?" in answer.url):
            pass
    expect(stale).to_have_count(1)
    expect(page.locator("table.data")).to_be_visible()
    page.unroute(failing, unavailable)
    expect(stale).to_have_count(0)


def test_a_state_named_dot_dot_opens_where_a_url_can_carry_it(page: Page, app: RunningApp, sign_in: Callable[[Page, str], None]) -> None:
    # ".." is a valid state name; as a whole path segment a browser resolves it (even as %2E%2E).
    inner = {"StartAt": "..", "States": {"..": {"Type": "Pass", "Result": {"inside": True}, "End": True}}}
    definition = {
        "StartAt": "..",
        "States": {
            "..": {"Type": "Pass", "Result": {"top": True}, "Next": "Both"},
            "Both": {"Type": "Parallel", "Branches": [inner], "End": True},
        },
    }
    sfn = app.client("stepfunctions")
    machine = sfn.create_state_machine(
        name=unique("dots"), definition=json.dumps(definition), roleArn="arn:aws:iam::000000000000:role/console-test"
    )["stateMachineArn"]
    try:
        arn = str(sfn.start_execution(stateMachineArn=machine, name=unique("dots"))["executionArn"])
        assert ended(app, arn)["status"] == "SUCCEEDED"
        sign_in(page, "viewer")
        page.goto(execution_url(app, arn))
        panel = page.get_by_role("complementary", name="Selected state")
        # Inside the Parallel (Both/0/%2E%2E) and at the top (%2E%2E) the id escapes the dots: both open.
        page.locator('.graph [data-id="Both/0/%2E%2E"]').click()
        expect(panel.get_by_label("State output")).to_contain_text('"inside": true')
        page.locator('.graph [data-id="%2E%2E"]').click()
        expect(panel.get_by_label("State output")).to_contain_text('"top": true')
    finally:
        sfn.delete_state_machine(stateMachineArn=machine)


def test_a_viewer_sees_no_actions(page: Page, app: RunningApp, sign_in: Callable[[Page, str], None]) -> None:
    arn = start(app, unique("viewer"), {"kind": "single", "id": "o-5", "invalid": True})
    assert ended(app, arn)["status"] == "FAILED"
    sign_in(page, "viewer")
    page.goto(execution_url(app, arn))
    expect(summary_status(page)).to_have_text("FAILED")
    actions = page.get_by_role("group", name="Actions")
    expect(actions.get_by_role("button", name="Export JSON")).to_be_visible()
    for name in ("Stop", "Redrive", "Start again"):
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
    expect(page.get_by_role("region", name="Event history").get_by_role("table")).to_contain_text("ExecutionFailed")

    # Anyone may export: the description, the whole history and the graph in one file.
    with page.expect_download() as downloading:
        actions.get_by_role("button", name="Export JSON").click()
    exported = json.loads(Path(downloading.value.path()).read_text())
    assert downloading.value.suggested_filename == f"{arn.rsplit(':', 1)[1]}.json"
    assert exported["execution"]["executionArn"] == arn and exported["execution"]["status"] == "FAILED"
    assert exported["history"][0]["type"] == "ExecutionStarted" and exported["history"][-1]["type"] == "ExecutionFailed"
    assert [e["id"] for e in exported["history"]] == list(range(1, len(exported["history"]) + 1))
    assert {n["name"]: n["status"] for n in exported["graph"]["nodes"]}["Rejected"] == "FAILED"

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Executions").click()
    expect(page.get_by_role("heading", name="Executions", level=1)).to_be_visible()
    # All state machines at once: AWS lists one at a time, and the page says what it shows.
    expect(page.get_by_text("AWS lists executions one state machine at a time")).to_be_visible()
    expect(page.locator(f'tr[data-arn="{arn}"] .badge')).to_have_text("FAILED")
    expect(page.get_by_role("heading", name="Start execution")).to_have_count(0)
    expect(page.get_by_role("button", name="New execution…")).to_have_count(0)
