"""Step Functions executions: list, describe, history; start, stop and redrive (operator).

``GET /executions`` pages through ``ListExecutions``, which filters by state machine and status
only: the name prefix and start times are applied to each page here, so a filtered page may hold
fewer than ``maxResults`` executions while a ``nextToken`` remains (as a DynamoDB Scan with a filter).
"""

from __future__ import annotations

import json
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

__all__ = ["router"]

router = APIRouter(tags=["executions"])

Token = Annotated[str | None, Query(min_length=1, max_length=3096, description="From the previous page")]
MaxResults = Annotated[int, Query(ge=1, le=1000)]


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
    nextToken: Token = None,
    maxResults: MaxResults = 100,
) -> dict[str, Any]:
    params: dict[str, Any] = {"stateMachineArn": state_machine_arn(aws, stateMachineArn, stateMachineName), "maxResults": maxResults}
    if statusFilter:
        params["statusFilter"] = statusFilter
    if nextToken:
        params["nextToken"] = nextToken
    page = aws.call("stepfunctions", "ListExecutions", params)
    kept = [
        e
        for e in page.get("executions", [])
        if (namePrefix is None or str(e.get("name", "")).startswith(namePrefix))
        and (startedAfter is None or aware(e["startDate"]) >= aware(startedAfter))
        and (startedBefore is None or aware(e["startDate"]) <= aware(startedBefore))
    ]
    return {"executions": kept, "nextToken": page.get("nextToken")}


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


@router.post("/executions", status_code=201, response_model=StartedExecution, responses=errors(404, 409))
def start_execution(aws: AwsApi, _: Operator, body: StartExecutionRequest) -> dict[str, Any]:
    params: dict[str, Any] = {
        "stateMachineArn": state_machine_arn(aws, body.stateMachineArn, body.stateMachineName),
        "input": json.dumps(body.input),
    }
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
