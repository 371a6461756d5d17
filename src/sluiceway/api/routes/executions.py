"""Step Functions executions: list, describe, history; start, stop and redrive (operator).

``GET /executions`` pages through ``ListExecutions``, which filters by state machine and status
only. The name prefix and start times are applied here, over as many ListExecutions pages as it
takes to fill the page or to read :data:`SCAN_LIMIT` executions, so a match deep in a long list
comes back on the first page; the ``nextToken`` is this API's own (see :class:`Position`).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from ..aws import Aws
from ..errors import ApiError
from ..schemas import (
    Execution,
    ExecutionList,
    ExecutionStatus,
    History,
    Redriven,
    StartedExecution,
    StartExecutionRequest,
    StateMachineList,
    StopExecutionRequest,
    Stopped,
)
from ._deps import AwsApi, Operator, Viewer, errors
from ._series import aware

__all__ = ["SCAN_LIMIT", "SCAN_PAGE", "ExecutionFilter", "Position", "filtered_page", "router"]

router = APIRouter(tags=["executions"])

Token = Annotated[str | None, Query(min_length=1, max_length=3096, description="From the previous page")]
MaxResults = Annotated[int, Query(ge=1, le=1000)]
ListToken = Annotated[
    str | None,
    # Room for ListExecutions' own token (at most 3096 characters) and an execution name, base64-encoded.
    Query(min_length=1, max_length=4800, description="From the previous page (this API's own token, not ListExecutions')"),
]

SCAN_PAGE = 1000
"""ListExecutions' largest page: what a filtered listing reads at a time."""
SCAN_LIMIT = 10_000
"""The most executions one filtered request reads before it answers with what it found and a token."""


def state_machine_arn(aws: Aws, arn: str | None, name: str | None) -> str:
    """The state machine's ARN, from its ARN or its name (found with ListStateMachines)."""
    if arn:
        return arn
    if not name:
        raise ApiError(400, "ValidationException", "give stateMachineArn or stateMachineName")
    params: dict[str, Any] = {}
    while True:
        page = aws.call("stepfunctions", "ListStateMachines", params)
        for machine in page.get("stateMachines", []):
            if machine.get("name") == name:
                return str(machine["stateMachineArn"])
        if not page.get("nextToken"):
            raise ApiError(404, "StateMachineDoesNotExist", f"State Machine Does Not Exist: '{name}'")
        params = {"nextToken": page["nextToken"]}


@router.get("/state-machines", response_model=StateMachineList, responses=errors())
def list_state_machines(aws: AwsApi, _: Viewer, nextToken: Token = None, maxResults: MaxResults = 100) -> dict[str, Any]:
    params: dict[str, Any] = {"maxResults": maxResults}
    if nextToken:
        params["nextToken"] = nextToken
    return aws.call("stepfunctions", "ListStateMachines", params)


@router.get("/executions", response_model=ExecutionList, responses=errors(404))
def list_executions(
    aws: AwsApi,
    _: Viewer,
    stateMachineArn: Annotated[str | None, Query(min_length=1, max_length=256)] = None,
    stateMachineName: Annotated[str | None, Query(min_length=1, max_length=80)] = None,
    statusFilter: ExecutionStatus | None = None,
    namePrefix: Annotated[str | None, Query(min_length=1, max_length=80)] = None,
    startedAfter: datetime | None = None,
    startedBefore: datetime | None = None,
    nextToken: ListToken = None,
    maxResults: MaxResults = 100,
) -> dict[str, Any]:
    params: dict[str, Any] = {"stateMachineArn": state_machine_arn(aws, stateMachineArn, stateMachineName)}
    if statusFilter:
        params["statusFilter"] = statusFilter
    wanted = ExecutionFilter(
        name_prefix=namePrefix,
        started_after=aware(startedAfter) if startedAfter is not None else None,
        started_before=aware(startedBefore) if startedBefore is not None else None,
    )
    # Unfiltered, AWS's pages are the answer's pages; filtered, AWS's largest pages cost the fewest calls.
    size = SCAN_PAGE if wanted.active else maxResults
    start = Position.decode(nextToken) if nextToken else Position(token=None, size=size)
    executions, following = filtered_page(aws, params, start, wanted, want=maxResults, size=size)
    return {"executions": executions, "nextToken": following.encode() if following else None}


@dataclass(frozen=True)
class ExecutionFilter:
    """What ListExecutions cannot filter on: the name's start and the start date's bounds (inclusive)."""

    name_prefix: str | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None

    @property
    def active(self) -> bool:
        return self.name_prefix is not None or self.started_after is not None or self.started_before is not None

    def keeps(self, execution: dict[str, Any]) -> bool:
        """Whether the execution (a ListExecutions item) passes the filter."""
        started = aware(execution["startDate"])
        return (
            (self.name_prefix is None or str(execution.get("name", "")).startswith(self.name_prefix))
            and (self.started_after is None or started >= self.started_after)
            and (self.started_before is None or started <= self.started_before)
        )

    def ends(self, execution: dict[str, Any]) -> bool:
        """Whether no execution listed after this one can pass the filter.

        ListExecutions is newest first by the latest of an execution's dates (its stopDate once
        closed, its startDate or redriveDate while running), and no execution starts after its
        own latest date: past one whose dates are all before ``started_after``, none can match.
        (The local endpoint lists newest first by startDate, for which this holds as well.)
        """
        if self.started_after is None:
            return False
        latest = max(aware(execution[key]) for key in ("startDate", "stopDate", "redriveDate") if execution.get(key) is not None)
        return latest < self.started_after


@dataclass(frozen=True)
class Position:
    """Where a listing resumes: in the ListExecutions page ``token`` starts (the first when None),
    read ``size`` at a time, after the execution named ``after`` at index ``offset - 1`` of it.

    The name is looked for first: the first page moves down as executions start, and the one
    read last is found again wherever it went; the offset serves when it is gone from the page.
    """

    token: str | None
    """ListExecutions' nextToken for the page, None for the first page."""
    size: int
    """The maxResults the page was read with (another size would make another page)."""
    after: str | None = None
    """The name of the last execution read from the page; None when none was."""
    offset: int = 0
    """How many of the page's executions were read."""

    def encode(self) -> str:
        doc = {"t": self.token, "s": self.size, "a": self.after, "o": self.offset}
        return base64.urlsafe_b64encode(json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()).decode()

    @classmethod
    def decode(cls, text: str) -> Position:
        """The position a token names.

        Raises:
            ApiError: 400 ``InvalidToken`` for anything :meth:`encode` could not have made.
        """
        try:
            doc = json.loads(base64.urlsafe_b64decode(text.encode("ascii")).decode())
        # RecursionError: a token of deeply nested brackets (a Lambda keeps Python's limit of 1,000).
        except (ValueError, UnicodeError, binascii.Error, RecursionError):
            raise _invalid_token() from None
        if not isinstance(doc, dict) or set(doc) != {"t", "s", "a", "o"}:
            raise _invalid_token()
        token, size, after, offset = doc["t"], doc["s"], doc["a"], doc["o"]
        if token is not None and not (isinstance(token, str) and 1 <= len(token) <= 3096):
            raise _invalid_token()
        if after is not None and not (isinstance(after, str) and 1 <= len(after) <= 80):
            raise _invalid_token()
        if not (_count(size) and 1 <= size <= SCAN_PAGE and _count(offset) and 0 <= offset <= size):
            raise _invalid_token()
        return cls(token=token, size=size, after=after, offset=offset)

    def start_in(self, executions: list[dict[str, Any]]) -> int:
        """The index in ``executions`` (the page this position is in) of the first one not yet read."""
        if self.after is not None:
            for index, execution in enumerate(executions):
                if execution.get("name") == self.after:
                    return index + 1
        return min(self.offset, len(executions))


def _invalid_token() -> ApiError:
    return ApiError(400, "InvalidToken", "Invalid Token: 'Invalid token'")  # ListExecutions' words


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def filtered_page(
    aws: Aws,
    params: dict[str, Any],
    start: Position,
    wanted: ExecutionFilter,
    *,
    want: int,
    size: int,
    limit: int = SCAN_LIMIT,
) -> tuple[list[dict[str, Any]], Position | None]:
    """Up to ``want`` executions that ``wanted`` keeps, read with ListExecutions from ``start`` on.

    Reading stops at ``want`` matches, after ``limit`` executions, at the end of the list, or at
    the first execution after which none can match (:meth:`ExecutionFilter.ends`).

    Args:
        params: ListExecutions' parameters but ``maxResults`` and ``nextToken``.
        size: the maxResults of the pages read after the first (which is ``start.size``).

    Returns:
        The executions kept and where the next page starts (None when nothing is left to read).
    """
    kept: list[dict[str, Any]] = []
    read = 0
    position = start
    while True:
        call = {**params, "maxResults": position.size}
        if position.token is not None:
            call["nextToken"] = position.token
        page = aws.call("stepfunctions", "ListExecutions", call)
        executions: list[dict[str, Any]] = page.get("executions", [])
        following = page.get("nextToken")
        for index in range(position.start_in(executions), len(executions)):
            execution = executions[index]
            if wanted.ends(execution):
                return kept, None
            read += 1
            if wanted.keeps(execution):
                kept.append(execution)
            if len(kept) == want or read >= limit:
                if index + 1 < len(executions):
                    return kept, Position(position.token, position.size, str(execution["name"]), index + 1)
                return kept, Position(str(following), size) if following else None
        if not following:
            return kept, None
        position = Position(str(following), size)


@router.get("/executions/{executionArn}", response_model=Execution, responses=errors(404))
def describe_execution(aws: AwsApi, _: Viewer, executionArn: str) -> dict[str, Any]:
    return aws.call("stepfunctions", "DescribeExecution", {"executionArn": executionArn})


@router.get("/executions/{executionArn}/history", response_model=History, responses=errors(404))
def execution_history(
    aws: AwsApi, _: Viewer, executionArn: str, nextToken: Token = None, maxResults: MaxResults = 100, reverseOrder: bool = False
) -> dict[str, Any]:
    params: dict[str, Any] = {"executionArn": executionArn, "maxResults": maxResults, "reverseOrder": reverseOrder}
    if nextToken:
        params["nextToken"] = nextToken
    return aws.call("stepfunctions", "GetExecutionHistory", params)


def _input_text(body: StartExecutionRequest) -> str:
    """StartExecution's input: ``inputText`` as given (checked to be strict JSON), else ``input`` as JSON."""
    if body.inputText is not None:
        if "input" in body.model_fields_set:
            raise ApiError(400, "ValidationError", "give input or inputText, not both")
        try:
            json.loads(body.inputText, parse_constant=_not_json)
        except (ValueError, RecursionError) as exc:
            raise ApiError(400, "InvalidExecutionInput", f"inputText is not JSON: {exc}") from None
        return body.inputText
    try:
        # A number too big for a float (1e400) reads as infinity: JSON has no text for it.
        return json.dumps(body.input, allow_nan=False)
    except ValueError:
        raise ApiError(400, "InvalidExecutionInput", "the input holds a number JSON cannot carry (too large, or NaN)") from None


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


@router.post("/executions", status_code=201, response_model=StartedExecution, responses=errors(404, 409))
def start_execution(aws: AwsApi, _: Operator, body: StartExecutionRequest) -> dict[str, Any]:
    text = _input_text(body)
    params: dict[str, Any] = {"stateMachineArn": state_machine_arn(aws, body.stateMachineArn, body.stateMachineName), "input": text}
    if body.name:
        params["name"] = body.name
    return aws.call("stepfunctions", "StartExecution", params)


@router.post("/executions/{executionArn}/stop", response_model=Stopped, responses=errors(404))
def stop_execution(aws: AwsApi, _: Operator, executionArn: str, body: StopExecutionRequest | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"executionArn": executionArn}
    if body is not None and body.error is not None:
        params["error"] = body.error
    if body is not None and body.cause is not None:
        params["cause"] = body.cause
    return aws.call("stepfunctions", "StopExecution", params)


@router.post("/executions/{executionArn}/redrive", response_model=Redriven, responses=errors(404, 409))
def redrive_execution(aws: AwsApi, _: Operator, executionArn: str) -> dict[str, Any]:
    return aws.call("stepfunctions", "RedriveExecution", {"executionArn": executionArn})
