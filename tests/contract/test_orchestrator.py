"""The Orchestrator contract, on the local orchestrator and on Step Functions (moto).

moto does not run states: its executions stay RUNNING until stopped. The contract
machine is one long Wait state, so local executions stay RUNNING as well, and the
assertions hold for both without a clock moving.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from sluiceway.backends.aws import build_orchestrator
from sluiceway.backends.aws.orchestrator import StepFunctionsOrchestrator
from sluiceway.errors import ExecutionAlreadyExistsError, ExecutionNotFoundError
from sluiceway.settings import Settings

from .conftest import REGION, ROLE_ARN, STATE_MACHINE, WAITING_DEFINITION, Moto, OrchestratorCase

INPUT = {"bucket": "in", "key": "data/sales.csv", "sizes": [1, 2.5], "ok": True, "none": None}


def test_start_returns_a_running_record_that_describe_agrees_with(orchestrator: OrchestratorCase) -> None:
    orch = orchestrator.orchestrator

    started = orch.start_execution(orchestrator.state_machine, INPUT, name="run-1")
    described = orch.describe(started.arn)

    assert started.status == "RUNNING"
    assert started.name == "run-1"
    assert started.arn.startswith("arn:aws:states:")
    assert started.arn.endswith(f":execution:{orchestrator.state_machine}:run-1")
    assert started.state_machine == orchestrator.state_machine
    assert started.input == INPUT
    assert started.started_at.tzinfo is not None
    assert (described.arn, described.name, described.state_machine) == (started.arn, "run-1", orchestrator.state_machine)
    assert described.status == "RUNNING"
    assert described.input == INPUT
    assert (described.output, described.error, described.stopped_at) == (None, None, None)


def test_start_without_a_name_makes_one_up(orchestrator: OrchestratorCase) -> None:
    first = orchestrator.orchestrator.start_execution(orchestrator.state_machine, {})
    second = orchestrator.orchestrator.start_execution(orchestrator.state_machine, {})

    assert first.name and second.name
    assert first.arn != second.arn


def test_same_name_and_input_is_the_same_execution(orchestrator: OrchestratorCase) -> None:
    orch = orchestrator.orchestrator

    first = orch.start_execution(orchestrator.state_machine, INPUT, name="once")
    again = orch.start_execution(orchestrator.state_machine, dict(INPUT), name="once")

    assert again.arn == first.arn
    assert again.status == "RUNNING"


def test_same_name_with_other_input_is_refused(orchestrator: OrchestratorCase) -> None:
    orch = orchestrator.orchestrator
    first = orch.start_execution(orchestrator.state_machine, INPUT, name="taken")

    with pytest.raises(ExecutionAlreadyExistsError):
        orch.start_execution(orchestrator.state_machine, {"other": 1}, name="taken")
    assert orch.describe(first.arn).input == INPUT


def test_describe_of_an_unknown_execution_is_not_found(orchestrator: OrchestratorCase) -> None:
    arn = orchestrator.orchestrator.start_execution(orchestrator.state_machine, {}, name="known").arn
    unknown = arn.rsplit(":", 1)[0] + ":never-started"

    with pytest.raises(ExecutionNotFoundError):
        orchestrator.orchestrator.describe(unknown)
    with pytest.raises(ExecutionNotFoundError):
        orchestrator.orchestrator.describe("arn:aws:states:us-east-1:123456789012:execution:NoSuchMachine:x")


def test_start_of_an_unknown_state_machine_is_not_found(orchestrator: OrchestratorCase) -> None:
    with pytest.raises(ExecutionNotFoundError):
        orchestrator.orchestrator.start_execution("NoSuchMachine", {}, name="x")


def test_stop_aborts_a_running_execution(orchestrator: OrchestratorCase) -> None:
    orch = orchestrator.orchestrator
    started = orch.start_execution(orchestrator.state_machine, INPUT, name="to-stop")

    orch.stop_execution(started.arn, error="Operator.Stop", cause="stopped by the contract test")
    stopped = orchestrator.settled(started.arn)

    assert stopped.status == "ABORTED"
    assert stopped.stopped_at is not None and stopped.stopped_at >= stopped.started_at
    assert stopped.input == INPUT


def test_stop_of_an_unknown_execution_is_not_found(orchestrator: OrchestratorCase) -> None:
    arn = orchestrator.orchestrator.start_execution(orchestrator.state_machine, {}, name="known").arn

    with pytest.raises(ExecutionNotFoundError):
        orchestrator.orchestrator.stop_execution(arn.rsplit(":", 1)[0] + ":never-started")


def test_a_stopped_execution_name_cannot_start_another_input(orchestrator: OrchestratorCase) -> None:
    orch = orchestrator.orchestrator
    started = orch.start_execution(orchestrator.state_machine, INPUT, name="ended")
    orch.stop_execution(started.arn)
    orchestrator.settled(started.arn)

    with pytest.raises(ExecutionAlreadyExistsError):
        orch.start_execution(orchestrator.state_machine, {"other": 1}, name="ended")


def test_build_orchestrator_makes_arns_from_the_account_without_a_lookup(moto: Moto, tmp_path: Path) -> None:
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    settings = Settings(region=REGION, data_dir=tmp_path)
    # moto's account; the ARN is made from it, so a wrong account would not be found.
    orch = build_orchestrator(settings, account_id="123456789012", endpoint_url=moto.endpoint, session=session)
    wrong = build_orchestrator(settings, account_id="999999999999", endpoint_url=moto.endpoint, session=session)
    arn = orch.create_state_machine(STATE_MACHINE, WAITING_DEFINITION, ROLE_ARN)

    assert orch.state_machine_arn(STATE_MACHINE) == arn
    assert orch.start_execution(STATE_MACHINE, {"a": 1}, name="by-account").status == "RUNNING"
    with pytest.raises(ExecutionNotFoundError):
        wrong.start_execution(STATE_MACHINE, {"a": 1}, name="by-account")


def test_create_state_machine_again_updates_it(moto: Moto) -> None:
    orch = StepFunctionsOrchestrator(moto.client("stepfunctions"))
    first = orch.create_state_machine(STATE_MACHINE, WAITING_DEFINITION, ROLE_ARN)
    passing = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}

    assert orch.create_state_machine(STATE_MACHINE, json.dumps(passing), ROLE_ARN) == first
    described = moto.client("stepfunctions").describe_state_machine(stateMachineArn=first)
    assert json.loads(described["definition"]) == passing
