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
from ...asl.limits import load_json
from ...errors import ExecutionAlreadyExistsError, ExecutionNotFoundError
from ...ports.executions import ChildExecutions
from ...types import JSON
from .integrations.base import TaskError
from .json_reasons import EMPTY_INPUT, jackson_reason

__all__ = ["IAM_ACTIONS", "IAM_ACTIONS_SYNC", "MAP_RUN_IAM_ACTIONS", "RESOURCE", "child_input", "is_child_start", "start_child"]

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


def child_input(value: Any) -> tuple[JSON, str]:
    """The child's input and the text it is described with, from the task's ``Input`` parameter.

    StartExecution takes its input as a string, and Step Functions hands that string over
    unchanged: a string ``Input`` is the child's input text as written (it must be JSON). Any
    other value is serialised as compact JSON, and no ``Input`` (or null) is ``{}``, the
    input StartExecution defaults to.

    Raises:
        TaskError: a string ``Input`` that is not JSON.
    """
    if value is None:
        return {}, "{}"
    if isinstance(value, str):
        if not value.strip():
            raise _sdk_error("InvalidExecutionInput", f"Invalid State Machine Execution Input: '{EMPTY_INPUT}'")
        try:
            return load_json(value, parse_constant=_not_json), value
        except ValueError as exc:
            reason = jackson_reason(value, exc)
            raise _sdk_error("InvalidExecutionInput", f"Invalid State Machine Execution Input: '{reason}'") from None
    return value, _compact(value)


def _sdk_error(code: str, message: str) -> TaskError:
    """A StartExecution error as the task sees it on AWS: ``StepFunctions.<code>Exception``, with
    the AWS SDK's description of the failed call as the cause (recorded)."""
    return TaskError(
        f"StepFunctions.{code}Exception",
        f"{message} (Service: AWSStepFunctions; Status Code: 400; Error Code: {code}; Request ID: {uuid.uuid4()}; Proxy: null)",
    )


def _not_json(constant: str) -> Any:
    # Python's decoder takes NaN and Infinity; JSON (and StartExecution) does not.
    raise ValueError(f"{constant} is not a JSON value")


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


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
    payload, text = child_input(params.get("Input"))
    name = params.get("Name")
    if not isinstance(name, str):
        # AWS names it with a UUID; one derived from the task makes a run of the task after a
        # crash find the child it started instead of starting a second one.
        name = str(uuid.uuid5(uuid.NAMESPACE_URL, command.idempotency_key)) if command.idempotency_key else None
    try:
        record = executions.start_execution(arn.rsplit(":", 1)[-1], payload, name=name, input_text=text)
    except ExecutionNotFoundError:
        raise _sdk_error("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'") from None
    except ExecutionAlreadyExistsError:
        execution_arn = f"{arn.replace(':stateMachine:', ':execution:', 1)}:{name}"
        record = executions.describe(execution_arn)
        if not command.idempotency_key or record.input != payload:
            raise _sdk_error("ExecutionAlreadyExists", f"Execution Already Exists: '{execution_arn}'") from None
        # This task started it before a crash, and it has ended since: the task's start stands.
    started = record.started_at.isoformat()
    if not command.resource.endswith((".sync", ".sync:2")):
        return {"ExecutionArn": record.arn, "StartDate": started}
    done = executions.wait(record.arn, None)
    result: dict[str, Any] = {
        "ExecutionArn": done.arn,
        # .sync answers as DescribeExecution does (the input text the child was given); .sync:2 parses it.
        "Input": done.input if command.resource.endswith(":2") else text,
        "Name": done.name,
        "StartDate": started,
        "StateMachineArn": arn,
        "Status": done.status,
        "StopDate": done.stopped_at.isoformat() if done.stopped_at else None,
    }
    if done.status == "SUCCEEDED":
        result["Output"] = done.output if command.resource.endswith(":2") else _compact(done.output)
        return result
    result["Error"] = done.error
    result["Cause"] = done.cause
    raise TaskError("States.TaskFailed", json.dumps(result))
