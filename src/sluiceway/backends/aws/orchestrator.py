"""State machine executions on AWS Step Functions."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from ...errors import (
    ExecutionNotFoundError,
)
from ...ports import ExecutionRecord
from ...types import JSON
from ._errors import error_code, translated

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

logger = logging.getLogger(__name__)

__all__ = ["StepFunctionsOrchestrator"]





def _json(text: str | None) -> JSON:
    if text is None:
        return None
    parsed: JSON = json.loads(text)
    return parsed


class StepFunctionsOrchestrator:
    """The :class:`~sluiceway.ports.Orchestrator` port on AWS Step Functions.

    State machines are named by name, as on the local orchestrator, or by ARN. A
    name becomes an ARN from ``region`` and ``account_id`` when both are given
    (no call), otherwise by listing the account's state machines once; answers
    are cached.

    Args:
        client: a Step Functions client; a default one is built when omitted.
        region: the state machines' region (defaults to the client's).
        account_id: the state machines' account; without it names are looked up.
        state_machine_arns: known name -> ARN pairs.
    """

    def __init__(
        self,
        client: SFNClient | None = None,
        *,
        region: str | None = None,
        account_id: str | None = None,
        state_machine_arns: Mapping[str, str] | None = None,
    ) -> None:
        self.client: SFNClient = client if client is not None else boto3.client("stepfunctions")
        self.region = region or self.client.meta.region_name
        self.account_id = account_id
        self._arns: dict[str, str] = dict(state_machine_arns or {})
        self._lock = threading.Lock()

    # -------------------------------------------------------------- machines

    def state_machine_arn(self, state_machine: str) -> str:
        """The ARN of ``state_machine`` (a name or an ARN).

        Raises:
            ExecutionNotFoundError: no state machine has that name (only when it is looked up).
        """
        if state_machine.startswith("arn:"):
            return state_machine
        with self._lock:
            cached = self._arns.get(state_machine)
        if cached is not None:
            return cached
        if self.account_id is not None:
            arn = f"arn:aws:states:{self.region}:{self.account_id}:stateMachine:{state_machine}"
        else:
            arn = self._look_up(state_machine)
        with self._lock:
            self._arns[state_machine] = arn
        return arn

    def _look_up(self, name: str) -> str:
        with translated(f"look up state machine {name}"):
            for page in self.client.get_paginator("list_state_machines").paginate():
                for machine in page["stateMachines"]:
                    if machine["name"] == name:
                        return machine["stateMachineArn"]
        raise ExecutionNotFoundError(f"State Machine Does Not Exist: '{name}'")

    def create_state_machine(self, name: str, definition: str | Mapping[str, Any], role_arn: str) -> str:
        """Create a standard state machine, or update the existing one of that name; return its ARN.

        For tests and small deployments; real deployments go through the SAM template.

        Args:
            name: the state machine's name.
            definition: the ASL document, as JSON text or parsed.
            role_arn: the IAM role the executions run as.

        Raises:
            DefinitionError: Step Functions refused the definition.
        """
        text = definition if isinstance(definition, str) else json.dumps(definition)
        with translated(f"create state machine {name}"):
            try:
                arn = self.client.create_state_machine(name=name, definition=text, roleArn=role_arn)["stateMachineArn"]
                # Some Step Functions emulators answer an existing name with the old
                # machine instead of StateMachineAlreadyExists: check what is deployed.
                current = self.client.describe_state_machine(stateMachineArn=arn)
                stale = current["definition"] != text or current["roleArn"] != role_arn
            except ClientError as exc:
                if error_code(exc) != "StateMachineAlreadyExists":
                    raise
                arn, stale = self.state_machine_arn(name), True
            if stale:
                self.client.update_state_machine(stateMachineArn=arn, definition=text, roleArn=role_arn)
        with self._lock:
            self._arns[name] = arn
        logger.info("state machine deployed", extra={"state_machine": name})
        return arn

    # ------------------------------------------------------------- the port

    def start_execution(self, state_machine: str, input: JSON, *, name: str | None = None) -> ExecutionRecord:
        """StartExecution: idempotent by name, as Step Functions is.

        Starting again with the name and input of a running execution returns that
        execution; the record returned is RUNNING, as every execution is when it starts.

        Args:
            state_machine: a name or an ARN.
            input: the execution's input (sent as JSON).
            name: the execution's name; Step Functions makes one up when omitted.

        Raises:
            ExecutionAlreadyExistsError: the name exists with another input, or its
                execution has ended (Step Functions refuses the name then too).
            ExecutionNotFoundError: no such state machine.
            InvalidNameError: Step Functions refused ``name``.
        """
        arn = self.state_machine_arn(state_machine)
        kwargs: dict[str, Any] = {"name": name} if name is not None else {}
        with translated(f"start an execution of {state_machine}"):
            response = self.client.start_execution(stateMachineArn=arn, input=json.dumps(input), **kwargs)
        execution_arn = response["executionArn"]
        logger.info("execution started", extra={"execution": execution_arn, "state_machine": state_machine})
        return ExecutionRecord(
            arn=execution_arn,
            name=execution_arn.rsplit(":", 1)[-1],
            state_machine=arn.rsplit(":", 1)[-1],
            status="RUNNING",
            input=input,
            started_at=response["startDate"],
        )

    def describe(self, arn: str) -> ExecutionRecord:
        """DescribeExecution, with input and output parsed from JSON.

        Raises:
            ExecutionNotFoundError: no execution has that ARN (or it is no execution ARN).
        """
        with translated(f"describe execution {arn}"):
            response = self.client.describe_execution(executionArn=arn)
        stopped: datetime | None = response.get("stopDate")
        return ExecutionRecord(
            arn=response["executionArn"],
            name=response.get("name") or response["executionArn"].rsplit(":", 1)[-1],
            state_machine=response["stateMachineArn"].rsplit(":", 1)[-1],
            status=response["status"],
            input=_json(response.get("input")),
            started_at=response["startDate"],
            output=_json(response.get("output")),
            error=response.get("error") or None,
            cause=response.get("cause") or None,
            stopped_at=stopped,
        )

    def stop_execution(self, arn: str, *, error: str | None = None, cause: str | None = None) -> None:
        """StopExecution: the execution ends ABORTED (at once on Step Functions).

        Raises:
            ExecutionNotFoundError: no execution has that ARN.
        """
        kwargs: dict[str, Any] = {}
        if error is not None:
            kwargs["error"] = error
        if cause is not None:
            kwargs["cause"] = cause
        with translated(f"stop execution {arn}"):
            self.client.stop_execution(executionArn=arn, **kwargs)
        logger.info("execution stopped", extra={"execution": arn})
