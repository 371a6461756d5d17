"""``sluiceway sfn run`` and activity tasks: no endpoint serves activities beside it, so an activity task
fails at once with States.Runtime (never hangs), worded as Step Functions words a missing activity."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sluiceway.asl import parser
from sluiceway.asl.commands import InvokeTask, TaskFailed, TaskSucceeded
from sluiceway.backends.local.activities import SqliteActivities
from sluiceway.runtime.wiring import build_sfn_runtime
from sluiceway.settings import Settings

ACTIVITY = "arn:aws:states:us-east-1:111111111111:activity:workers"
WAIT_S = 30.0
"""Only a bound for a hang: the execution ends as soon as its task is refused."""


Answer = Callable[[InvokeTask], TaskSucceeded | TaskFailed | None]


def _run(settings: Settings, answer: Answer | None = None) -> tuple[str, str | None, str | None]:
    machine = parser.parse({"StartAt": "Work", "States": {"Work": {"Type": "Task", "Resource": ACTIVITY, "End": True}}})
    runtime = build_sfn_runtime(settings, answer=answer)
    try:
        runtime.orchestrator.register("m", machine)
        runtime.orchestrator.start(resume=False)
        record = runtime.orchestrator.wait(runtime.orchestrator.start_execution("m", {}).arn, timeout=WAIT_S)
        return record.status, record.error, record.cause
    finally:
        runtime.close()


def test_a_task_on_a_missing_activity_fails_as_on_aws(tmp_path: Path) -> None:
    status, error, cause = _run(Settings.load(data_dir=tmp_path / "data", workers=1))
    assert (status, error) == ("FAILED", "States.Runtime")
    assert cause == (
        f"An error occurred while executing the state 'Work' (entered at the event id #2). The activity {ACTIVITY} does not exist."
    )


def test_a_task_on_an_existing_activity_fails_at_once_saying_why(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "data", workers=1)
    runtime = build_sfn_runtime(settings)
    SqliteActivities(runtime.local.db, runtime.local.clock).create(ACTIVITY, "workers", {"type": "AWS_OWNED_KEY"}, {})
    runtime.close()
    status, error, cause = _run(settings)
    assert (status, error) == ("FAILED", "States.Runtime")
    assert cause is not None and "serves no activities" in cause and "--mock-config" in cause
    # Nothing was queued: a stack's endpoint on this data dir has no task of this execution to hand out.
    runtime = build_sfn_runtime(settings)
    try:
        assert SqliteActivities(runtime.local.db, runtime.local.clock).waiting(ACTIVITY) == []
    finally:
        runtime.close()


def test_a_mocked_activity_task_takes_the_mock_answer(tmp_path: Path) -> None:
    def answer(command: InvokeTask) -> TaskSucceeded | TaskFailed | None:
        return TaskSucceeded(command.token, {"mocked": True})

    status, error, _ = _run(Settings.load(data_dir=tmp_path / "data", workers=1), answer)
    assert (status, error) == ("SUCCEEDED", None)
