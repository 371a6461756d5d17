"""A start that races UpdateStateMachine records the revision it runs, not the one stored meanwhile.

UpdateStateMachine stores the new revision, then registers the new machine: a start in
between runs the machine still registered (the old definition), and a resume or a redrive
of it must run that definition too.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sluiceway.asl import parser
from sluiceway.asl.commands import InvokeTask, TaskFailed, TaskSucceeded
from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.executions import SqliteExecutionStore
from sluiceway.clock import FakeClock
from sluiceway.runtime.orchestration.executor import LocalOrchestrator

ROLE = "arn:aws:iam::111111111111:role/r"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def waiting(result: str) -> dict[str, Any]:
    return {
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "Seconds": 3600, "Next": "P"}, "P": {"Type": "Pass", "Result": result, "End": True}},
    }


def never_called(command: InvokeTask) -> TaskSucceeded | TaskFailed:
    return TaskFailed(command.token, "Unexpected", command.state_name)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteExecutionStore]:
    database = Database(tmp_path / "state.db")
    yield SqliteExecutionStore(database)
    database.close()


def test_a_start_inside_the_update_window_records_the_revision_it_runs(store: SqliteExecutionStore) -> None:
    machine, _ = store.create_state_machine("Race", json.dumps(waiting("v1")), role_arn=ROLE, type="STANDARD", now=NOW)
    first = LocalOrchestrator(store, never_called, FakeClock())
    first.register("Race", parser.parse(waiting("v1")))
    # The update's first half: v2 is the stored, current revision; v1 is still what runs.
    v2 = store.update_state_machine(
        replace(machine, definition=json.dumps(waiting("v2")), updated_at=NOW + timedelta(minutes=1), revision_id=str(uuid.uuid4()))
    )
    record = first.start_execution("Race", {}, name="in-the-window")
    started = store.execution_revision(record.arn)
    assert started is not None and started.revision_id == machine.revision_id != v2
    # The second half, then a restart: the execution ends with the definition it started with.
    first.register("Race", parser.parse(waiting("v2")))
    with LocalOrchestrator(store, never_called, FakeClock(), skip_waits=True) as second:
        assert second.wait(record.arn, timeout=10).output == "v1"
        later = second.start_execution("Race", {}, name="after")
        assert second.wait(later.arn, timeout=10).output == "v2"
    assert store.execution_revision(later.arn).revision_id == v2  # type: ignore[union-attr]


def test_a_definition_back_to_an_older_one_records_the_newest_revision_of_it(store: SqliteExecutionStore) -> None:
    machine, _ = store.create_state_machine("Back", json.dumps(waiting("v1")), role_arn=ROLE, type="STANDARD", now=NOW)
    v2 = replace(machine, definition=json.dumps(waiting("v2")), updated_at=NOW + timedelta(minutes=1), revision_id=str(uuid.uuid4()))
    store.update_state_machine(v2)
    v3 = store.update_state_machine(
        replace(v2, definition=json.dumps(waiting("v1")), updated_at=NOW + timedelta(minutes=2), revision_id=str(uuid.uuid4()))
    )
    store.update_state_machine(replace(v2, updated_at=NOW + timedelta(minutes=3), revision_id=str(uuid.uuid4())))
    orch = LocalOrchestrator(store, never_called, FakeClock())
    orch.register("Back", parser.parse(waiting("v1")))  # still v1 while v2 is current again
    record = orch.start_execution("Back", {}, name="b")
    assert store.execution_revision(record.arn).revision_id == v3  # type: ignore[union-attr]


def test_a_machine_whose_definition_no_revision_has_records_none(store: SqliteExecutionStore) -> None:
    store.create_state_machine("Code", json.dumps(waiting("stored")), role_arn=ROLE, type="STANDARD", now=NOW)
    orch = LocalOrchestrator(store, never_called, FakeClock())
    orch.register("Code", parser.parse(waiting("changed in code")))
    record = orch.start_execution("Code", {}, name="c")
    assert store.execution_revision(record.arn) is None
