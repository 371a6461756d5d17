"""The local orchestrator on a real SQLite store: durability, idempotent starts, waits, crash recovery."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sluiceway.asl import parser
from sluiceway.asl.commands import InvokeTask, TaskFailed, TaskSucceeded
from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.executions import SqliteExecutionStore
from sluiceway.clock import FakeClock, SystemClock
from sluiceway.errors import ExecutionAlreadyExistsError
from sluiceway.runtime.orchestration.executor import LocalOrchestrator

MACHINE = {
    "StartAt": "Double",
    "States": {
        "Double": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:111111111111:function:double",
            "ResultPath": "$.doubled",
            "Next": "Pause",
        },
        "Pause": {"Type": "Wait", "Seconds": 3600, "Next": "Fan"},
        "Fan": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 2,
            "ItemProcessor": {
                "StartAt": "Each",
                "States": {"Each": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:111111111111:function:double", "End": True}},
            },
            "ResultPath": "$.each",
            "End": True,
        },
    },
}


def double(command: InvokeTask) -> TaskSucceeded | TaskFailed:
    payload = command.payload
    if isinstance(payload, dict) and "items" in payload:
        return TaskSucceeded(command.token, len(payload["items"]) * 2)
    return TaskSucceeded(command.token, payload * 2)


@pytest.fixture
def db(tmp_path: Path) -> Any:
    database = Database(tmp_path / "state.db")
    yield database
    database.close()


def orchestrator(db: Database, clock: Any, run_task: Any = double, *, skip_waits: bool = True) -> LocalOrchestrator:
    orch = LocalOrchestrator(SqliteExecutionStore(db), run_task, clock, skip_waits=skip_waits)
    orch.register("Machine", parser.parse(MACHINE))
    return orch


def test_runs_to_completion_and_keeps_history(db: Database) -> None:
    with orchestrator(db, FakeClock()) as orch:
        record = orch.start_execution("Machine", {"items": [1, 2, 3]}, name="first")
        done = orch.wait(record.arn, timeout=10)
    assert done.status == "SUCCEEDED"
    assert done.output == {"items": [1, 2, 3], "doubled": 6, "each": [2, 4, 6]}
    history = SqliteExecutionStore(db).history(record.arn)
    types = [e["type"] for e in history]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded"
    assert types.count("MapIterationSucceeded") == 3
    assert [e["id"] for e in history] == list(range(1, len(history) + 1))
    waits = [e for e in history if e["type"] == "WaitStateExited"]
    entered = [e for e in history if e["type"] == "WaitStateEntered"]
    # The virtual clock jumped the hour: the exit is an hour after the entry.
    gap = _ts(waits[0]["timestamp"]) - _ts(entered[0]["timestamp"])
    assert 3600 <= gap < 3700


def _ts(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_start_is_idempotent_by_name(db: Database) -> None:
    release = threading.Event()

    def held(command: InvokeTask) -> TaskSucceeded | TaskFailed:
        release.wait(30)  # the first execution is still running when the second start comes
        return double(command)

    with orchestrator(db, FakeClock(), held) as orch:
        one = orch.start_execution("Machine", {"items": []}, name="same")
        two = orch.start_execution("Machine", {"items": []}, name="same")
        assert one.arn == two.arn and orch.describe(one.arn).status == "RUNNING"
        release.set()
        orch.wait(one.arn, timeout=30)
        with pytest.raises(ExecutionAlreadyExistsError):  # Step Functions: a closed execution's name is taken
            orch.start_execution("Machine", {"items": []}, name="same")
        with pytest.raises(ExecutionAlreadyExistsError):
            orch.start_execution("Machine", {"items": [1]}, name="same")
    assert len(SqliteExecutionStore(db).list()) == 1


def test_task_failure_fails_execution_with_lambda_cause(db: Database) -> None:
    def broken(command: InvokeTask) -> TaskSucceeded | TaskFailed:
        return TaskFailed(command.token, "ValueError", json.dumps({"errorMessage": "bad", "errorType": "ValueError"}))

    with orchestrator(db, FakeClock(), broken) as orch:
        record = orch.start_execution("Machine", {"items": []}, name="broken")
        done = orch.wait(record.arn, timeout=10)
    assert done.status == "FAILED"
    assert done.error == "ValueError"
    assert json.loads(done.cause or "{}")["errorMessage"] == "bad"


def test_interpreter_bug_fails_the_execution_instead_of_hanging(db: Database) -> None:
    def nonsense(command: InvokeTask) -> TaskSucceeded | TaskFailed:
        return TaskSucceeded(command.token, object())  # not JSON: the interpreter cannot measure it

    with orchestrator(db, FakeClock(), nonsense) as orch:
        record = orch.start_execution("Machine", {"items": []}, name="bug")
        done = orch.wait(record.arn, timeout=10)
    assert done.status == "FAILED"
    assert done.error == "States.Runtime"
    assert "internal error" in (done.cause or "")


CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from sluiceway.asl import parser
    from sluiceway.asl.commands import TaskSucceeded
    from sluiceway.backends.local._sqlite import Database
    from sluiceway.backends.local.executions import SqliteExecutionStore
    from sluiceway.clock import SystemClock
    from sluiceway.runtime.orchestration.executor import LocalOrchestrator
    import json

    marker = Path(sys.argv[2])
    def slow(command):
        marker.write_text(command.state_name)
        time.sleep(60)
        return TaskSucceeded(command.token, 0)

    orch = LocalOrchestrator(SqliteExecutionStore(Database(sys.argv[1])), slow, SystemClock())
    orch.register("Machine", parser.parse(json.loads(sys.argv[3])))
    orch.start()
    orch.start_execution("Machine", {"items": [1, 2]}, name="survivor")
    time.sleep(60)
    """
)


def test_kill_9_mid_task_resumes_and_reruns_the_task(tmp_path: Path) -> None:
    db_path = tmp_path / "state.db"
    marker = tmp_path / "task-started"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(db_path), str(marker), json.dumps(MACHINE)])
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert time.monotonic() < deadline, "the child never started its task"
            assert child.poll() is None, "the child died"
            time.sleep(0.05)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    db = Database(db_path)
    try:
        calls: list[str] = []

        def counting(command: InvokeTask) -> TaskSucceeded | TaskFailed:
            calls.append(command.state_name)
            return double(command)

        orch = LocalOrchestrator(SqliteExecutionStore(db), counting, FakeClock(), skip_waits=True)
        orch.register("Machine", parser.parse(MACHINE))
        with orch:
            arn = orch.store.get("survivor").arn
            done = orch.wait(arn, timeout=20)
        assert done.status == "SUCCEEDED"
        assert done.output["doubled"] == 4
        # The in-flight task ran again (at-least-once), then the rest once each.
        assert calls == ["Double", "Each", "Each"]
        history = SqliteExecutionStore(db).history(arn)
        assert [e["type"] for e in history].count("ExecutionStarted") == 1
    finally:
        db.close()


def test_real_clock_wait_honoured_after_restart(tmp_path: Path) -> None:
    definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}}
    db = Database(tmp_path / "s.db")
    try:
        first = LocalOrchestrator(SqliteExecutionStore(db), double, SystemClock())
        first.register("M", parser.parse(definition))
        record = first.start_execution("M", {}, name="timer")  # not started: the timer is only in the store
        second = LocalOrchestrator(SqliteExecutionStore(db), double, SystemClock())
        second.register("M", parser.parse(definition))
        with second:
            done = second.wait(record.arn, timeout=10)
        first.close()
        assert done.status == "SUCCEEDED"
        assert done.stopped_at is not None and (done.stopped_at - done.started_at).total_seconds() >= 1
    finally:
        db.close()


CALLBACK = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
            "Parameters": {"TopicArn": "t", "Message.$": "$$.Task.Token"},
            "HeartbeatSeconds": 60,
            "End": True,
        }
    },
}


def test_wait_for_task_token_success_failure_and_heartbeat(db: Database) -> None:
    from sluiceway.runtime.orchestration.executor import TaskTokenError

    tokens: list[str] = []

    def publish(command: InvokeTask) -> TaskSucceeded | TaskFailed:
        tokens.append(command.payload["Message"])
        return TaskSucceeded(command.token, {"MessageId": "m"})

    clock = FakeClock()
    orch = LocalOrchestrator(SqliteExecutionStore(db), publish, clock, skip_waits=False)
    orch.register("Callback", parser.parse(CALLBACK))
    with orch:
        ok = orch.start_execution("Callback", {}, name="ok")
        _until(lambda: len(tokens) == 1)
        orch.send_task_heartbeat(tokens[0])
        orch.send_task_success(tokens[0], {"approved": True})
        assert orch.wait(ok.arn, timeout=10).output == {"approved": True}
        with pytest.raises(TaskTokenError):
            orch.send_task_success(tokens[0], {})  # already answered
        with pytest.raises(TaskTokenError):
            orch.send_task_success(tokens[0][:-1] + "x", {})  # forged

        no = orch.start_execution("Callback", {}, name="no")
        _until(lambda: len(tokens) == 2)
        orch.send_task_failure(tokens[1], error="Rejected", cause="nope")
        done = orch.wait(no.arn, timeout=10)
        assert (done.status, done.error, done.cause) == ("FAILED", "Rejected", "nope")

        silent = orch.start_execution("Callback", {}, name="silent")
        _until(lambda: len(tokens) == 3)
        clock.advance(61)  # no heartbeat within HeartbeatSeconds
        done = orch.wait(silent.arn, timeout=10)
        assert (done.status, done.error) == ("FAILED", "States.HeartbeatTimeout")


def _until(condition: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_redrive_resumes_from_the_failed_state(db: Database) -> None:
    from sluiceway.errors import ExecutionError

    definition = {
        "StartAt": "Count",
        "States": {
            "Count": {"Type": "Pass", "Assign": {"seen": 1}, "Next": "Flaky"},
            "Flaky": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:111111111111:function:flaky",
                "Parameters": {"seen.$": "$seen"},
                "End": True,
            },
        },
    }
    broken = {"on": True}
    calls: list[str] = []

    def flaky(command: InvokeTask) -> TaskSucceeded | TaskFailed:
        calls.append(command.state_name)
        if broken["on"]:
            return TaskFailed(command.token, "Boom", "down")
        return TaskSucceeded(command.token, command.payload)

    with LocalOrchestrator(SqliteExecutionStore(db), flaky, FakeClock(), skip_waits=True) as orch:
        orch.register("Redrivable", parser.parse(definition))
        record = orch.start_execution("Redrivable", {}, name="r")
        assert orch.wait(record.arn, timeout=10).status == "FAILED"
        broken["on"] = False
        orch.redrive_execution(record.arn)
        done = orch.wait(record.arn, timeout=10)
        assert done.status == "SUCCEEDED"
        assert done.output == {"seen": 1}  # the variable assigned before the failure survived
        assert calls == ["Flaky", "Flaky"]  # Count did not run again
        assert done.state["context"]["Execution"]["RedriveCount"] == 1
        with pytest.raises(ExecutionError):
            orch.redrive_execution(record.arn)
    types = [e["type"] for e in SqliteExecutionStore(db).history(record.arn)]
    assert types.count("ExecutionRedriven") == 1 and types[-1] == "ExecutionSucceeded"


def test_data_limit_exceeded_is_never_retried_but_can_be_caught(db: Database) -> None:
    definition = {
        "StartAt": "Big",
        "States": {
            "Big": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:111111111111:function:big",
                "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    calls: list[str] = []

    def big(command: InvokeTask) -> TaskSucceeded | TaskFailed:
        calls.append(command.state_name)
        return TaskSucceeded(command.token, "x" * 300_000)  # over the 256 KiB payload limit

    with LocalOrchestrator(SqliteExecutionStore(db), big, FakeClock(), skip_waits=True) as orch:
        orch.register("Big", parser.parse(definition))
        record = orch.start_execution("Big", {}, name="big")
        done = orch.wait(record.arn, timeout=10)
    assert calls == ["Big"]  # not retried
    assert done.status == "SUCCEEDED" and done.output["Error"] == "States.DataLimitExceeded"


def test_a_stop_commits_no_outcome_of_the_tasks_it_stops(db: Database) -> None:
    started, stopped = threading.Event(), threading.Event()

    def killed_by_the_stop(command: InvokeTask) -> TaskSucceeded | TaskFailed:
        started.set()
        stopped.wait(30)
        # What a worker that the stop killed reports: a crash, which Retry/Catch would act on.
        return TaskFailed(command.token, "Runtime.ExitError", '{"errorMessage": "signal: killed"}')

    orch = orchestrator(db, FakeClock(), killed_by_the_stop)
    orch.start()
    record = orch.start_execution("Machine", {"items": [1]}, name="stopped")
    assert started.wait(30)
    orch.close(grace_s=0)  # the dispatcher stops before the task reports
    stopped.set()
    orch.join_tasks()
    stored = SqliteExecutionStore(db).get(record.arn)
    assert stored.status == "RUNNING" and "Runtime.ExitError" not in json.dumps(SqliteExecutionStore(db).history(record.arn))
    with orchestrator(db, FakeClock()) as again:  # the next start runs the task again, to success
        assert again.wait(record.arn, timeout=30).status == "SUCCEEDED"


def test_a_stop_lets_tasks_that_finish_within_the_grace_commit(db: Database) -> None:
    release = threading.Event()

    def slow(command: InvokeTask) -> TaskSucceeded | TaskFailed:
        release.wait(30)
        return double(command)

    orch = orchestrator(db, SystemClock(), slow, skip_waits=False)  # then waits an hour in Pause, whatever the order below
    orch.start()
    record = orch.start_execution("Machine", {"items": [1]}, name="graceful")
    closing = threading.Thread(target=orch.close, kwargs={"grace_s": 30})
    closing.start()
    release.set()
    closing.join()
    orch.join_tasks()
    history = [e["type"] for e in SqliteExecutionStore(db).history(record.arn)]
    assert "LambdaFunctionSucceeded" in history  # committed within the grace; nothing new was dispatched
    assert SqliteExecutionStore(db).get(record.arn).status == "RUNNING"


def test_lines_logged_while_an_execution_runs_carry_its_arn(db: Database) -> None:
    """JSON logs' correlation key: what a task and the execution's end log names the execution."""
    import io
    import logging

    from sluiceway import logs

    task_logger = logging.getLogger("sluiceway.tests.task")

    def logging_double(command: InvokeTask) -> TaskSucceeded | TaskFailed:
        task_logger.info("task ran")
        return double(command)

    stream = io.StringIO()
    root = logging.getLogger("sluiceway")
    saved = (list(root.handlers), root.level, root.propagate)
    logs.configure("INFO", "json", stream)
    try:
        with orchestrator(db, FakeClock(), logging_double) as orch:
            record = orch.start_execution("Machine", {"items": [1]}, name="correlated")
            assert orch.wait(record.arn, timeout=10).status == "SUCCEEDED"
    finally:
        root.handlers[:], root.level, root.propagate = saved
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    ran = [line for line in lines if line["message"] == "task ran"]
    assert len(ran) == 2 and {line["execution_arn"] for line in ran} == {record.arn}  # Double, and the Map's one item
    ended = [line for line in lines if line.get("execution") == record.arn and line["message"] != "execution started"]
    assert ended and all(line["execution_arn"] == record.arn for line in ended)
