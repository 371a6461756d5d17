"""The Orchestrator contract, on the local orchestrator and on Step Functions (moto).

moto does not run states: its executions stay RUNNING until stopped. The contract
machine is one long Wait state, so local executions stay RUNNING as well, and the
assertions hold for both without a clock moving.
"""

from __future__ import annotations

import pytest

from sluiceway.errors import ExecutionAlreadyExistsError, ExecutionNotFoundError

from .conftest import OrchestratorCase

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
