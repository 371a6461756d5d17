"""An execution runs to its end with the revision of its state machine it started with: after an
update, across a restart, when redriven, and when its machine was deleted."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sluiceway.asl import parser
from sluiceway.asl.commands import InvokeTask, TaskFailed, TaskSucceeded
from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.executions import SqliteExecutionStore, StateMachineRecord
from sluiceway.clock import FakeClock
from sluiceway.runtime.orchestration.executor import LocalOrchestrator
from sluiceway.runtime.orchestration.revisions import MachineRevisions

ROLE = "arn:aws:iam::111111111111:role/r"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def waiting(result: str) -> dict[str, Any]:
    """A Wait then a Pass whose result names the revision."""
    return {
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "Seconds": 3600, "Next": "P"}, "P": {"Type": "Pass", "Result": result, "End": True}},
    }


def flaky_then(result: str) -> dict[str, Any]:
    return {
        "StartAt": "F",
        "States": {
            "F": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:111111111111:function:flaky", "Next": "P"},
            "P": {"Type": "Pass", "Result": result, "End": True},
        },
    }


def never_called(command: InvokeTask) -> TaskSucceeded | TaskFailed:
    return TaskFailed(command.token, "Unexpected", command.state_name)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "state.db")
    yield database
    database.close()


def create(store: SqliteExecutionStore, name: str, definition: dict[str, Any]) -> StateMachineRecord:
    record, created = store.create_state_machine(name, json.dumps(definition), role_arn=ROLE, type="STANDARD", now=NOW)
    assert created
    return record


def update(store: SqliteExecutionStore, orch: LocalOrchestrator | None, record: StateMachineRecord, definition: dict[str, Any]) -> str:
    """What UpdateStateMachine does: store a new revision, then register its machine (with a running orchestrator)."""
    text = json.dumps(definition)
    stored = store.update_state_machine(
        StateMachineRecord(
            name=record.name,
            definition=text,
            role_arn=record.role_arn,
            type=record.type,
            created_at=record.created_at,
            updated_at=NOW + timedelta(minutes=1),
            revision_id=str(uuid.uuid4()),
        )
    )
    if orch is not None:
        orch.register(record.name, parser.parse(definition))
    return stored


def test_a_restart_mid_wait_after_an_update_ends_with_the_started_revision(db: Database) -> None:
    store = SqliteExecutionStore(db)
    machine = create(store, "M", waiting("v1"))
    # Never started: its execution's Wait is only in the store, as after a crash mid-Wait.
    first = LocalOrchestrator(store, never_called, FakeClock())
    first.register("M", parser.parse(waiting("v1")))
    record = first.start_execution("M", {}, name="across")
    v2 = update(store, first, machine, waiting("v2"))
    assert store.execution_revision(record.arn).revision_id == machine.revision_id  # type: ignore[union-attr]

    second = LocalOrchestrator(SqliteExecutionStore(db), never_called, FakeClock(), skip_waits=True)
    with second:  # registers the stored machines (now v2), then resumes
        assert second.wait(record.arn, timeout=10).output == "v1"
        later = second.start_execution("M", {}, name="later")
        assert second.wait(later.arn, timeout=10).output == "v2"
    assert store.execution_revision(later.arn).revision_id == v2  # type: ignore[union-attr]


def test_a_redrive_after_an_update_runs_the_revision_that_failed(db: Database) -> None:
    store = SqliteExecutionStore(db)
    machine = create(store, "Flaky", flaky_then("v1"))
    broken = {"on": True}

    def flaky(command: InvokeTask) -> TaskSucceeded | TaskFailed:
        return TaskFailed(command.token, "Boom", "down") if broken["on"] else TaskSucceeded(command.token, {})

    with LocalOrchestrator(store, flaky, FakeClock(), skip_waits=True) as orch:  # registers the stored v1
        record = orch.start_execution("Flaky", {}, name="r")
        assert orch.wait(record.arn, timeout=10).status == "FAILED"
        updated = update(store, orch, machine, flaky_then("v2"))
        broken["on"] = False
        orch.redrive_execution(record.arn)
        assert orch.wait(record.arn, timeout=10).output == "v1"
        broken["on"] = True
        other = orch.start_execution("Flaky", {}, name="other")  # at v2
        assert orch.wait(other.arn, timeout=10).status == "FAILED"
    # Updated while no stack runs; the next one registers v3, and redrives `other` with v2.
    current = store.get_state_machine("Flaky")
    assert current is not None and current.revision_id == updated
    update(store, None, current, flaky_then("v3"))
    broken["on"] = False
    with LocalOrchestrator(store, flaky, FakeClock(), skip_waits=True) as orch:
        orch.redrive_execution(other.arn)
        assert orch.wait(other.arn, timeout=10).output == "v2"
        fresh = orch.start_execution("Flaky", {}, name="fresh")
        assert orch.wait(fresh.arn, timeout=10).output == "v3"


def test_an_execution_without_a_recorded_revision_runs_the_current_definition(db: Database) -> None:
    store = SqliteExecutionStore(db)
    machine = create(store, "Old", waiting("v1"))
    first = LocalOrchestrator(store, never_called, FakeClock())
    first.register("Old", parser.parse(waiting("v1")))
    record = first.start_execution("Old", {}, name="before-revisions")
    # As an execution started before the store kept revisions: nothing says what it started with.
    db.connection().execute("DELETE FROM execution_revisions WHERE execution_arn=?", (record.arn,))
    update(store, first, machine, waiting("v2"))
    assert store.execution_revision(record.arn) is None
    with LocalOrchestrator(store, never_called, FakeClock(), skip_waits=True) as second:
        assert second.wait(record.arn, timeout=10).output == "v2"


def test_a_machine_registered_in_code_only_records_no_revision_and_still_resumes(db: Database) -> None:
    store = SqliteExecutionStore(db)
    first = LocalOrchestrator(store, never_called, FakeClock())
    first.register("Code", parser.parse(waiting("code")))
    record = first.start_execution("Code", {}, name="c")
    assert store.execution_revision(record.arn) is None
    second = LocalOrchestrator(store, never_called, FakeClock(), skip_waits=True)
    second.register("Code", parser.parse(waiting("code")))
    with second:
        assert second.wait(record.arn, timeout=10).output == "code"


def test_a_running_execution_of_a_deleted_machine_resumes_with_its_revision(db: Database) -> None:
    store = SqliteExecutionStore(db)
    machine = create(store, "Gone", waiting("v1"))
    first = LocalOrchestrator(store, never_called, FakeClock())
    first.register("Gone", parser.parse(waiting("v1")))
    record = first.start_execution("Gone", {}, name="orphan")
    unused = update(store, first, machine, waiting("v2"))
    assert store.delete_state_machine("Gone")
    kept = [tuple(r) for r in db.connection().execute("SELECT revision_id FROM state_machine_revisions WHERE state_machine='Gone'")]
    assert kept == [(machine.revision_id,)] and unused != machine.revision_id  # only the one an execution needs
    with LocalOrchestrator(store, never_called, FakeClock(), skip_waits=True) as second:
        assert second.wait(record.arn, timeout=10).output == "v1"


def test_revisions_are_immutable_and_tags_make_none(db: Database) -> None:
    store = SqliteExecutionStore(db)
    machine = create(store, "Tags", waiting("v1"))
    assert store.current_revision("Tags").initial  # type: ignore[union-attr]
    # A tag change keeps the revision.
    from dataclasses import replace

    assert store.update_state_machine(replace(machine, tags={"k": "v"})) == machine.revision_id
    # The same id with another definition (an application workflow whose code changed) gets a fresh one.
    changed = store.update_state_machine(replace(machine, definition=json.dumps(waiting("v2")), updated_at=NOW + timedelta(1)))
    assert changed != machine.revision_id
    assert store.get_state_machine("Tags").revision_id == changed  # type: ignore[union-attr]
    first = store.current_revision("Tags")
    assert first is not None and json.loads(first.definition) == waiting("v2") and not first.initial
    rows = db.connection().execute("SELECT revision_id, definition FROM state_machine_revisions WHERE state_machine='Tags'").fetchall()
    assert {r["revision_id"]: json.loads(r["definition"])["States"]["P"]["Result"] for r in rows} == {
        machine.revision_id: "v1",
        changed: "v2",
    }


def test_each_revision_is_parsed_once(db: Database) -> None:
    store = SqliteExecutionStore(db)
    create(store, "Once", waiting("v1"))
    first = LocalOrchestrator(store, never_called, FakeClock())
    first.register("Once", parser.parse(waiting("v1")))
    a = first.start_execution("Once", {}, name="a")
    b = first.start_execution("Once", {}, name="b")
    revisions = MachineRevisions(store)
    machine = revisions.machine_of(a.arn)
    assert machine is not None and machine is revisions.machine_of(b.arn)
    assert machine.states["P"] is not None
