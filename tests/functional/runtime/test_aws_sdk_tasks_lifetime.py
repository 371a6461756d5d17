"""AWS SDK tasks across a stack's life: before its endpoint exists, while it stops, after a restart.

A stop never fails an execution, and a task never fails for want of an endpoint that will come: it
waits for one, or runs again at the next start.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from sluiceway.asl import parser
from sluiceway.asl.commands import InvokeTask, TaskFailed, TaskSucceeded
from sluiceway.asl.sdk_services import SdkResource
from sluiceway.clock import FakeClock, SystemClock
from sluiceway.endpoint.server import Endpoint
from sluiceway.errors import OrchestratorStoppedError
from sluiceway.runtime.orchestration.tasks import AwsSdkTasks
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings
from sluiceway.types import JSON

ROLE = "arn:aws:iam::111111111111:role/test"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _client(endpoint: Endpoint, service: str) -> Any:
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    return session.client(service, endpoint_url=endpoint.url, config=Config(retries={"max_attempts": 1}))


@contextmanager
def _stack(settings: Settings, clock: FakeClock | None = None) -> Iterator[Stack]:
    stack = build_stack(settings, app=None, invoker_mode="thread", clock=clock)
    stack.start("aws-sdk lifetime tests")
    try:
        yield stack
    finally:
        stack.close()


@contextmanager
def _endpoint(stack: Stack) -> Iterator[Endpoint]:
    endpoint = Endpoint(stack, host="127.0.0.1", port=stack.settings.endpoint_port)
    endpoint.start()
    try:
        yield endpoint
    finally:
        endpoint.close()


def _until(what: Callable[[], bool], message: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not what():
        assert time.monotonic() < deadline, message
        time.sleep(0.02)


def _scheduled(stack: Stack, arn: str) -> bool:
    return any(event.get("type") == "TaskScheduled" for event in stack.local.executions.history(arn))


def test_a_task_due_before_the_endpoint_exists_waits_for_it_and_a_stop_leaves_it_for_the_next_start(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "data", workers=1, endpoint_port=_free_port())
    with _stack(settings) as first, _endpoint(first) as endpoint:
        sqs = _client(endpoint, "sqs")
        url = sqs.create_queue(QueueName="after-restart")["QueueUrl"]
        definition = {
            "StartAt": "Wait",
            "States": {
                "Wait": {"Type": "Wait", "Seconds": 30, "Next": "Send"},
                "Send": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::aws-sdk:sqs:sendMessage",
                    "Parameters": {"QueueUrl": url, "MessageBody": "hi"},
                    "End": True,
                },
            },
        }
        sfn = _client(endpoint, "stepfunctions")
        machine = sfn.create_state_machine(name="wait-then-send", definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]
        arn = sfn.start_execution(stateMachineArn=machine)["executionArn"]
        _until(lambda: any(e.get("type") == "WaitStateEntered" for e in first.local.executions.history(arn)), "never waited")
    # Down while the Wait fell due: the start fires it at once, before any endpoint exists (as
    # `sluiceway up` starts the stack, then its endpoint; `upload --run` has none at all).
    later = FakeClock(SystemClock().now() + timedelta(minutes=1))
    with _stack(settings, later) as without_endpoint:
        _until(lambda: _scheduled(without_endpoint, arn), "the task was never dispatched")
    # The stop ended the wait for an endpoint: no outcome, never a failure.
    with _stack(settings, later) as second:
        assert second.local.executions.get(arn).status == "RUNNING"
        with _endpoint(second) as endpoint:
            _until(lambda: second.local.executions.get(arn).status != "RUNNING", "the task never ran")
            assert second.local.executions.get(arn).status == "SUCCEEDED"
            received = _client(endpoint, "sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
            assert [m["Body"] for m in received["Messages"]] == ["hi"]


class _Probe:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_what_sdk_tasks_build_lives_until_the_stack_stops_not_the_endpoint(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "data", workers=1, endpoint_port=_free_port())
    with _stack(settings) as stack:
        with _endpoint(stack) as endpoint:
            probe = endpoint.shared.get("probe", _Probe)
            again = Endpoint(stack, host="127.0.0.1", port=stack.settings.endpoint_port)
            assert again.shared is endpoint.shared  # one engine per service for requests and tasks alike
        # The endpoint is gone; a task still calling (in the stop's grace) must find its objects open.
        assert not probe.closed
        definition = {
            "StartAt": "Make",
            "States": {
                "Make": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::aws-sdk:sqs:createQueue",
                    "Parameters": {"QueueName": "made-after-the-endpoint-closed"},
                    "End": True,
                }
            },
        }
        stack.orchestrator.register("late", parser.parse_text(json.dumps(definition), {}))
        arn = stack.orchestrator.start_execution("late", {}).arn
        _until(lambda: stack.local.executions.get(arn).status != "RUNNING", "the task never ran")
        assert stack.local.executions.get(arn).status == "SUCCEEDED"
    assert probe.closed


# -- the runner itself -------------------------------------------------------------------------


def _command(resource: str = "arn:aws:states:::aws-sdk:sqs:listQueues") -> InvokeTask:
    return InvokeTask("t1", resource, {}, "Call")


def _never(command: Any) -> TaskSucceeded | TaskFailed:
    raise AssertionError(f"handed on: {command}")


def _answer(resource: SdkResource, parameters: Mapping[str, Any]) -> JSON:
    return {"Action": resource.action}


def test_a_task_waits_for_the_calls_and_runs_once_they_are_served() -> None:
    runner = AwsSdkTasks(_never)
    outcomes: list[TaskSucceeded | TaskFailed] = []
    waiting = threading.Thread(target=lambda: outcomes.append(runner(_command())))
    waiting.start()
    try:
        runner.serve(_answer)
    finally:
        waiting.join(timeout=10)
    assert outcomes == [TaskSucceeded("t1", {"Action": "listQueues"})]


def test_a_stop_ends_the_wait_without_an_outcome_and_refuses_later_calls() -> None:
    runner = AwsSdkTasks(_never)
    raised: list[BaseException] = []

    def run() -> None:
        try:
            runner(_command())
        except OrchestratorStoppedError as exc:
            raised.append(exc)

    waiting = threading.Thread(target=run)
    waiting.start()
    runner.stop()
    waiting.join(timeout=10)
    assert len(raised) == 1
    runner.serve(_answer)  # too late: the stack is stopping
    with pytest.raises(OrchestratorStoppedError):
        runner(_command())


def test_close_closes_what_makes_the_calls_and_other_commands_are_handed_on() -> None:
    closed: list[bool] = []

    class Closing:
        def __call__(self, resource: SdkResource, parameters: Mapping[str, Any]) -> JSON:
            return {}

        def close(self) -> None:
            closed.append(True)

    handed: list[Any] = []

    def rest(command: Any) -> TaskSucceeded | TaskFailed:
        handed.append(command)
        return TaskSucceeded(command.token, None)

    runner = AwsSdkTasks(rest)
    runner.serve(Closing())
    optimised = _command("arn:aws:states:::sqs:sendMessage")
    assert runner(optimised) == TaskSucceeded("t1", None)
    assert handed == [optimised]
    runner.close()
    assert closed == [True]
    assert runner.call is None
