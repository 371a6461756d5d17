"""The local stack's life: one per data dir, scratch left by a killed process cleared, a stop's promises."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sluiceway.asl import parser
from sluiceway.asl.commands import InvokeTask, TaskSucceeded
from sluiceway.asl.model import StateMachine
from sluiceway.backends.local.stacklock import StackLock
from sluiceway.errors import StackRunningError
from sluiceway.runtime.wiring import build_sfn_runtime, build_stack, running_stack
from sluiceway.settings import Settings


def test_one_stack_per_data_dir_and_the_lock_goes_with_the_stack(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "data", workers=1)
    first, second = build_stack(settings), build_stack(settings)
    first.start("first")
    try:
        assert running_stack(settings) is not None and "first" in str(running_stack(settings))
        with pytest.raises(StackRunningError, match=str(settings.data_dir.resolve()).replace("/", ".")):
            second.start("second")
    finally:
        first.close()
        second.close()
    assert running_stack(settings) is None
    third = build_stack(settings)
    third.start("third")  # free again once the first stopped
    third.close()


def test_scratch_left_by_a_killed_process_is_cleared_at_start(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "data", workers=1)
    leftover = settings.scratch_dir / "run-1-chunk-00000-4242"
    leftover.mkdir(parents=True)
    (leftover / "chunk.csv").write_bytes(b"x" * 100)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("mine")
    (settings.scratch_dir / "link").symlink_to(outside)
    stack = build_stack(settings)
    stack.start()
    try:
        assert list(settings.scratch_dir.iterdir()) == []
        assert (outside / "keep").read_text() == "mine"  # a link is removed, never followed
    finally:
        stack.close()


ORPHANING_STACK = textwrap.dedent(
    """
    import sys, threading, uuid
    from pathlib import Path
    from sluiceway.backends.local.stacklock import StackLock
    from sluiceway.ports import Invocation
    from sluiceway.runtime.lambdas.invoker import FunctionSpec, LocalFunctionInvoker

    lock = StackLock(Path(sys.argv[1]))
    lock.acquire("a stack about to be killed")
    invoker = LocalFunctionInvoker([FunctionSpec("Hold", sys.argv[2], timeout_s=60)], workers=1, keep_fds=lambda: (lock.fd,))
    event = {"pid_file": sys.argv[3], "release": sys.argv[3] + ".never"}
    threading.Thread(target=invoker.invoke, args=(Invocation("Hold", event, str(uuid.uuid4())),), daemon=True).start()
    while not Path(sys.argv[3]).exists():
        pass
    print("ready", flush=True)
    sys.stdin.read()
    """
)


def test_a_new_stack_waits_for_the_workers_of_a_killed_one(tmp_path: Path) -> None:
    handlers = (__name__.rpartition(".")[0] + "." if "." in __name__ else "") + "sample_handlers.hold"
    data = tmp_path / "data"
    pid_file = tmp_path / "worker.pid"
    child = subprocess.Popen(
        [sys.executable, "-c", ORPHANING_STACK, str(data), handlers, str(pid_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    worker = int(pid_file.read_text())
    child.send_signal(signal.SIGKILL)  # the stack's process dies; its worker is in the middle of a call
    child.communicate()
    lock = StackLock(data)
    lock.acquire("the next stack")  # waits for the orphan to notice its parent is gone and end
    try:
        assert ended(worker)
    finally:
        lock.release()


def ended(pid: int) -> bool:
    """Whether the process has exited (a zombie nobody reaped yet has: its files are closed)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return status.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def test_a_stack_of_one_app_serves_the_functions_and_workflows_of_every_built_in_app(tmp_path: Path) -> None:
    # A rule stored by a plain `up` (the CSV workflow) keeps working under `up --preset csv-fanout`
    # on the same data dir, and the other way round: its target must be there.
    settings = Settings.load(data_dir=tmp_path / "data", workers=1)
    fanout = build_stack(settings, app="csv-fanout", invoker_mode="thread")
    try:
        assert {"ValidateData", "StoreResults", "CsvProcessor", "SqsConsumer", "JsonRecords"} <= set(fanout.invoker.functions)
        record = fanout.orchestrator.start_execution(settings.state_machine_name, {"detail": {}}, name="served")
        assert record.state_machine == settings.state_machine_name  # registered: an unknown machine raises
        assert [p.mapping.function_name for p in fanout.triggers.pollers] == ["SqsConsumer"]  # provisioned: the selected app alone
    finally:
        fanout.close()


def _one_task(resource: str, parameters: dict[str, object]) -> StateMachine:
    return parser.parse({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "Parameters": parameters, "End": True}}})


def test_sfn_run_mocks_answer_child_starts_too(tmp_path: Path) -> None:
    asked: list[str] = []

    def answer(command: InvokeTask) -> TaskSucceeded | None:
        asked.append(command.resource)
        return TaskSucceeded(command.token, {"Output": {"mocked": True}})

    runtime = build_sfn_runtime(Settings.load(data_dir=tmp_path / "data", workers=1), skip_waits=True, answer=answer)
    try:
        runtime.orchestrator.register("Parent", _one_task("arn:aws:states:::states:startExecution.sync:2", {"StateMachineArn": "nope"}))
        runtime.orchestrator.start()
        done = runtime.orchestrator.wait(runtime.orchestrator.start_execution("Parent", {}).arn, timeout=20)
    finally:
        runtime.close()
    assert (done.status, done.output) == ("SUCCEEDED", {"Output": {"mocked": True}})
    assert asked == ["arn:aws:states:::states:startExecution.sync:2"]


def test_a_dynamodb_task_on_a_table_the_stack_does_not_have_fails_as_on_aws(tmp_path: Path) -> None:
    runtime = build_sfn_runtime(Settings.load(data_dir=tmp_path / "data", workers=1), skip_waits=True)
    try:
        put = _one_task("arn:aws:states:::dynamodb:putItem", {"TableName": "Nope", "Item": {"pk": {"S": "1"}}})
        runtime.orchestrator.register("Put", put)
        runtime.orchestrator.start()
        done = runtime.orchestrator.wait(runtime.orchestrator.start_execution("Put", {}).arn, timeout=20)
    finally:
        runtime.close()
    assert (done.status, done.error) == ("FAILED", "DynamoDB.ResourceNotFoundException")


def test_a_mock_that_cannot_answer_fails_its_task_and_a_mocked_callback_task_completes(tmp_path: Path) -> None:
    def answer(command: InvokeTask) -> TaskSucceeded | None:
        if command.state_name == "Broken":
            raise ValueError("no mocked response for call 2")
        return TaskSucceeded(command.token, {"answered": command.state_name})

    callback = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
    definition = {
        "StartAt": "Callback",
        "States": {
            "Callback": {"Type": "Task", "Resource": callback, "Parameters": {"QueueUrl": "q", "MessageBody": "m"}, "Next": "Broken"},
            "Broken": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:111111111111:function:F", "End": True},
        },
    }
    runtime = build_sfn_runtime(Settings.load(data_dir=tmp_path / "data", workers=1), skip_waits=True, answer=answer)
    try:
        runtime.orchestrator.register("Mocked", parser.parse(definition))
        runtime.orchestrator.start()
        done = runtime.orchestrator.wait(runtime.orchestrator.start_execution("Mocked", {}).arn, timeout=20)
    finally:
        runtime.close()
    assert (done.status, done.error) == ("FAILED", "States.Runtime")  # Callback answered at once; Broken failed
    assert "no mocked response" in (done.cause or "")
