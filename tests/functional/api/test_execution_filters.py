"""``GET /executions`` filters by name and start time over the whole list, not one ListExecutions page at a time.

2,503 executions of a Pass machine: three named ``deep-*`` started first (the end of the newest-first
list), 2,450 ``bulk-*``, then, after a cutoff, 50 ``late-*``.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from management_api_helpers import API, Pool, make_user, sign_in

from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.stack import Stack

PASS = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
BULK, LATE = 2450, 50


@dataclass(frozen=True)
class Listing:
    machine: str
    cutoff: datetime
    """After every ``deep-*`` and ``bulk-*`` date, before every ``late-*`` start."""
    newest_first: list[str]


def _create(aws: Callable[..., Any], name: str) -> str:
    arn: str = aws("stepfunctions").create_state_machine(
        name=name, definition=json.dumps(PASS), roleArn="arn:aws:iam::000000000000:role/sfn"
    )["stateMachineArn"]
    return arn


def _all_ended(stack: Stack, machine: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while stack.local.executions.page(state_machine=machine, status="RUNNING", limit=1):
        assert time.monotonic() < deadline, "executions still running"
        time.sleep(0.02)


def _start(stack: Stack, machine: str, names: list[str]) -> None:
    # In process: 2,500 StartExecution calls over HTTP would cost the test seconds for nothing it checks.
    for name in names:
        stack.orchestrator.start_execution(machine, {"name": name}, name=name)
    _all_ended(stack, machine)


@pytest.fixture(scope="module")
def viewer(aws: Callable[..., Any], pool: Pool) -> str:
    return sign_in(aws, pool.client_id, make_user(aws, pool.pool_id, "viewer"))["AccessToken"]


@pytest.fixture(scope="module")
def listing(stack: Stack, aws: Callable[..., Any]) -> Listing:
    arn = _create(aws, "filters")
    early = [f"deep-{n}" for n in (1, 2, 3)] + [f"bulk-{n:05d}" for n in range(BULK)]
    _start(stack, "filters", early)
    # A whole millisecond (AWS's dates have milliseconds) after every date so far and before any start to come.
    later = datetime.now(UTC) + timedelta(milliseconds=2)
    cutoff = later.replace(microsecond=later.microsecond // 1000 * 1000)
    deadline = time.monotonic() + 5
    while datetime.now(UTC) <= cutoff + timedelta(milliseconds=1):
        assert time.monotonic() < deadline, "the clock does not move"
        time.sleep(0.001)
    late = [f"late-{n:03d}" for n in range(LATE)]
    _start(stack, "filters", late)
    return Listing(arn, cutoff, list(reversed(early + late)))


def _list(endpoint: Endpoint, token: str, **params: Any) -> dict[str, Any]:
    answer = httpx.get(f"{endpoint.url}{API}/executions", params=params, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def _every_page(endpoint: Endpoint, token: str, **params: Any) -> list[list[str]]:
    pages: list[list[str]] = []
    while True:
        page = _list(endpoint, token, **params)
        pages.append([e["name"] for e in page["executions"]])
        if page["nextToken"] is None:
            return pages
        assert len(pages) < 100, "the listing does not end"
        params = {**params, "nextToken": page["nextToken"]}


def test_a_name_prefix_deep_in_the_list_is_found_on_the_first_page(endpoint: Endpoint, viewer: str, listing: Listing) -> None:
    page = _list(endpoint, viewer, stateMachineArn=listing.machine, namePrefix="deep-", maxResults=100)
    assert [e["name"] for e in page["executions"]] == ["deep-3", "deep-2", "deep-1"]
    assert page["nextToken"] is None  # the whole list was read: nothing is left to ask for


def test_started_after_ends_the_listing_at_the_cutoff(endpoint: Endpoint, viewer: str, listing: Listing) -> None:
    page = _list(endpoint, viewer, stateMachineArn=listing.machine, startedAfter=listing.cutoff.isoformat(), maxResults=100)
    assert [e["name"] for e in page["executions"]] == listing.newest_first[:LATE]
    assert page["nextToken"] is None
    pages = _every_page(endpoint, viewer, stateMachineName="filters", startedAfter=listing.cutoff.isoformat(), maxResults=20)
    assert [len(p) for p in pages] == [20, 20, 10]


def test_started_before_skips_the_newest(endpoint: Endpoint, viewer: str, listing: Listing) -> None:
    page = _list(endpoint, viewer, stateMachineArn=listing.machine, startedBefore=listing.cutoff.isoformat(), maxResults=1000)
    assert [e["name"] for e in page["executions"]] == listing.newest_first[LATE : LATE + 1000]
    assert page["nextToken"]


def test_filtered_tokens_resume_without_duplicates_or_gaps(endpoint: Endpoint, viewer: str, listing: Listing) -> None:
    # bulk-01000 to bulk-01999: 1,000 matches in the middle of the list, read 300 at a time.
    pages = _every_page(endpoint, viewer, stateMachineArn=listing.machine, namePrefix="bulk-01", maxResults=300)
    assert [len(p) for p in pages] == [300, 300, 300, 100]
    assert [name for p in pages for name in p] == [n for n in listing.newest_first if n.startswith("bulk-01")]


def test_unfiltered_tokens_read_the_whole_list_once(endpoint: Endpoint, viewer: str, listing: Listing) -> None:
    pages = _every_page(endpoint, viewer, stateMachineArn=listing.machine, maxResults=700)
    assert [len(p) for p in pages] == [700, 700, 700, 403]
    assert [name for p in pages for name in p] == listing.newest_first


def test_executions_started_between_pages_do_not_repeat_the_first_page(
    endpoint: Endpoint, viewer: str, stack: Stack, aws: Callable[..., Any]
) -> None:
    arn = _create(aws, "filters-live")
    _start(stack, "filters-live", [f"run-{n:03d}" for n in range(300)])
    first = _list(endpoint, viewer, stateMachineArn=arn, namePrefix="run-", maxResults=120)
    assert [e["name"] for e in first["executions"]] == [f"run-{n:03d}" for n in range(299, 179, -1)]
    # New executions push the first page down: the next page still starts after run-180.
    _start(stack, "filters-live", [f"run-new-{n}" for n in range(5)])
    rest = _list(endpoint, viewer, stateMachineArn=arn, namePrefix="run-", maxResults=1000, nextToken=first["nextToken"])
    assert [e["name"] for e in rest["executions"]] == [f"run-{n:03d}" for n in range(179, -1, -1)]
    assert rest["nextToken"] is None


def _token(doc: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode()


@pytest.mark.parametrize(
    "token",
    [
        "not base64!",
        _token(["a", 1]),
        _token({"t": None, "s": 0, "a": None, "o": 0}),
        _token({"t": None, "s": 1000, "a": None, "o": 1001}),
        _token({"t": None, "s": 1000, "a": None, "o": True}),
        _token({"t": "", "s": 1000, "a": None, "o": 0}),
        _token({"t": None, "s": 1000, "a": "x" * 81, "o": 0}),
        _token({"t": None, "s": 1000, "a": None, "o": 0, "extra": 1}),
    ],
)
def test_a_token_this_api_did_not_make_is_invalid(endpoint: Endpoint, viewer: str, listing: Listing, token: str) -> None:
    answer = httpx.get(
        f"{endpoint.url}{API}/executions",
        params={"stateMachineArn": listing.machine, "nextToken": token},
        headers={"Authorization": f"Bearer {viewer}"},
        timeout=30,
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "InvalidToken"
