"""``states:startExecution`` (``.sync``, ``.sync:2``): a Task that runs another execution on the same orchestrator.

On AWS this integration is Step Functions' own; locally it is the orchestrator's, which
runs the child, and it needs nothing else from the runtime.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from ...asl.commands import InvokeTask
from ...errors import ExecutionAlreadyExistsError
from ...ports.executions import ChildExecutions
from ...types import JSON
from .integrations.base import TaskError

__all__ = ["IAM_ACTIONS", "IAM_ACTIONS_SYNC", "MAP_RUN_IAM_ACTIONS", "RESOURCE", "is_child_start", "start_child"]

RESOURCE = "arn:aws:states:::states:startExecution"
IAM_ACTIONS = ("states:StartExecution",)
"""What the parent state machine needs on AWS to start a child."""
IAM_ACTIONS_SYNC = (
    *IAM_ACTIONS,
    "states:DescribeExecution",
    "states:StopExecution",
    # .sync has Step Functions watch the child through a managed EventBridge rule.
    "events:PutTargets",
    "events:PutRule",
    "events:DescribeRule",
)
"""What it needs to start a child and wait for it (``.sync``, ``.sync:2``)."""
MAP_RUN_IAM_ACTIONS = ("states:StartExecution", "states:DescribeExecution", "states:StopExecution")
"""What a Distributed Map needs: it runs its items as child executions of its own state machine."""


def is_child_start(resource: str) -> bool:
    return resource == RESOURCE or resource.startswith(RESOURCE + ".")


def start_child(executions: ChildExecutions, command: InvokeTask) -> JSON:
    """Start the child execution the task names (and, for ``.sync``, wait for it); return StartExecution's result.

    Raises:
        TaskError: a bad parameter, or (``.sync``) the child did not succeed: ``States.TaskFailed``
            with the child's description as the cause, as AWS reports it.
        OrchestratorStoppedError: the orchestrator stopped while the task waited for the child.
    """
    params: Mapping[str, Any] = command.payload if isinstance(command.payload, Mapping) else {}
    arn = params.get("StateMachineArn")
    if not isinstance(arn, str):
        raise TaskError("StepFunctions.InvalidArnException", "StateMachineArn is required")
    payload = params.get("Input", {})
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError:
            raise TaskError("StepFunctions.InvalidExecutionInputException", "Input is not valid JSON") from None
    name = params.get("Name")
    if not isinstance(name, str):
        # AWS names it with a UUID; one derived from the task makes a run of the task after a
        # crash find the child it started instead of starting a second one.
        name = str(uuid.uuid5(uuid.NAMESPACE_URL, command.idempotency_key)) if command.idempotency_key else None
    try:
        record = executions.start_execution(arn.rsplit(":", 1)[-1], payload, name=name)
    except ExecutionAlreadyExistsError:
        if not command.idempotency_key or name is None:
            raise
        record = executions.describe(f"{arn.replace(':stateMachine:', ':execution:', 1)}:{name}")  # ended already
    started = record.started_at.isoformat()
    if not command.resource.endswith((".sync", ".sync:2")):
        return {"ExecutionArn": record.arn, "StartDate": started}
    done = executions.wait(record.arn, None)
    result: dict[str, Any] = {
        "ExecutionArn": done.arn,
        "Input": done.input if command.resource.endswith(":2") else json.dumps(done.input),
        "Name": done.name,
        "StartDate": started,
        "StateMachineArn": arn,
        "Status": done.status,
        "StopDate": done.stopped_at.isoformat() if done.stopped_at else None,
    }
    if done.status == "SUCCEEDED":
        result["Output"] = done.output if command.resource.endswith(":2") else json.dumps(done.output)
        return result
    result["Error"] = done.error
    result["Cause"] = done.cause
    raise TaskError("States.TaskFailed", json.dumps(result))
