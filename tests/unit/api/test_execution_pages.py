"""The executions list's own pages over ListExecutions: how far one request reads, where it stops, where it resumes."""

from __future__ import annotations

import base64
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sluiceway.api.errors import ApiError
from sluiceway.api.routes.executions import ExecutionFilter, Position, filtered_page

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ARN = "arn:aws:states:us-east-1:111111111111:stateMachine:m"


class ListExecutions:
    """ListExecutions over a fixed list in AWS's order (newest first by the latest date), counting its calls."""

    def __init__(self, executions: list[dict[str, Any]]) -> None:
        self.executions = executions
        self.calls: list[dict[str, Any]] = []

    def call(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        assert (service, operation) == ("stepfunctions", "ListExecutions")
        assert 1 <= params["maxResults"] <= 1000  # AWS's PageSize
        self.calls.append(params)
        start = int(params.get("nextToken", "0"))
        end = start + params["maxResults"]
        page: dict[str, Any] = {"executions": self.executions[start:end]}
        if end < len(self.executions):
            page["nextToken"] = str(end)
        return page


def _closed(name: str, started: datetime, stopped: datetime) -> dict[str, Any]:
    return {
        "executionArn": f"{ARN}:{name}",
        "stateMachineArn": ARN,
        "name": name,
        "status": "SUCCEEDED",
        "startDate": started,
        "stopDate": stopped,
    }


def _many(count: int) -> list[dict[str, Any]]:
    return [_closed(f"run-{n:05d}", T0 - timedelta(seconds=n), T0 - timedelta(seconds=n) + timedelta(milliseconds=5)) for n in range(count)]


def test_a_filtered_request_reads_at_most_its_limit_and_resumes_where_it_stopped() -> None:
    aws = ListExecutions(_many(3000))
    wanted = ExecutionFilter(name_prefix="run-02999")
    position: Position | None = Position(token=None, size=1000)
    answers: list[list[str]] = []
    while position is not None:
        kept, position = filtered_page(aws, {"stateMachineArn": ARN}, position, wanted, want=100, size=1000, limit=1000)
        answers.append([e["name"] for e in kept])
    # Each request read 1,000 executions (one page) and answered; the third found the match at the end.
    assert answers == [[], [], ["run-02999"]]
    assert [c.get("nextToken") for c in aws.calls] == [None, "1000", "2000"]


def test_a_limit_reached_inside_a_page_resumes_inside_it() -> None:
    aws = ListExecutions(_many(1000))
    wanted = ExecutionFilter(name_prefix="run-009")
    kept, position = filtered_page(aws, {"stateMachineArn": ARN}, Position(None, 1000), wanted, want=100, size=1000, limit=905)
    assert [e["name"] for e in kept] == [f"run-{n:05d}" for n in range(900, 905)]
    assert position == Position(None, 1000, "run-00904", 905)
    rest, end = filtered_page(aws, {"stateMachineArn": ARN}, position, wanted, want=100, size=1000, limit=905)
    assert [e["name"] for e in rest] == [f"run-{n:05d}" for n in range(905, 1000)]
    assert end is None


def test_started_after_stops_only_past_an_execution_whose_dates_are_all_before_it() -> None:
    cutoff = T0 - timedelta(hours=1)
    listed = [
        # Started before the cutoff but stopped just now: AWS lists it first, by its stopDate.
        _closed("long", cutoff - timedelta(hours=5), T0),
        _closed("after", cutoff + timedelta(minutes=10), T0 - timedelta(minutes=5)),
        {
            **_closed("redriven", cutoff + timedelta(minutes=1), T0),
            "stopDate": None,
            "status": "RUNNING",
            "redriveDate": T0 - timedelta(minutes=6),
        },
        _closed("before", cutoff - timedelta(minutes=20), cutoff - timedelta(minutes=10)),
        _closed("older", cutoff - timedelta(minutes=30), cutoff - timedelta(minutes=25)),
    ]
    aws = ListExecutions(listed)
    kept, position = filtered_page(
        aws, {"stateMachineArn": ARN}, Position(None, 1), ExecutionFilter(started_after=cutoff), want=100, size=1
    )
    assert [e["name"] for e in kept] == ["after", "redriven"]
    assert position is None
    assert len(aws.calls) == 4  # "older" was never read: nothing after "before" can have started later


def test_an_unfiltered_page_is_listexecutions_page() -> None:
    aws = ListExecutions(_many(250))
    kept, position = filtered_page(aws, {"stateMachineArn": ARN}, Position(None, 100), ExecutionFilter(), want=100, size=100)
    assert len(kept) == 100 and position == Position("100", 100)
    assert [c["maxResults"] for c in aws.calls] == [100]


def test_a_position_finds_its_execution_again_or_falls_back_to_its_offset() -> None:
    page = [{"name": name} for name in ("new", "a", "b", "c")]
    assert Position(None, 1000, "a", 1).start_in(page) == 2  # "new" started since: "a" moved down
    assert Position(None, 1000, "gone", 3).start_in(page) == 3
    assert Position(None, 1000, "gone", 9).start_in(page) == 4
    assert Position("t", 1000).start_in(page) == 0


def test_a_position_round_trips_through_its_token() -> None:
    position = Position("AAAA/bbb+ccc==", 1000, "déjà-vu", 17)
    assert Position.decode(position.encode()) == position


@pytest.mark.parametrize("token", ["", "!!!", "e30=", "bnVsbA=="])  # "", junk, {}, null
def test_a_token_that_is_not_a_position_is_invalid(token: str) -> None:
    with pytest.raises(ApiError) as caught:
        Position.decode(token)
    assert (caught.value.status, caught.value.code) == (400, "InvalidToken")


def test_a_token_of_deeply_nested_json_is_invalid_even_at_pythons_default_recursion_limit() -> None:
    # The Lambda runs at Python's default limit of 1,000 (the local endpoint's is raised elsewhere).
    token = base64.urlsafe_b64encode(b"[" * 3500).decode()
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        with pytest.raises(ApiError) as caught:
            Position.decode(token)
    finally:
        sys.setrecursionlimit(limit)
    assert (caught.value.status, caught.value.code) == (400, "InvalidToken")
