"""Step Functions activities through the endpoint: the activity API, and Task states whose workers poll
GetActivityTask and answer with SendTask*; histories as AWS records them (LocalStack's snapshots
recorded against AWS: tests/aws/services/stepfunctions/v2/activities)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sluiceway.asl.commands import TaskSucceeded
from sluiceway.backends.local.activities import SqliteActivities
from sluiceway.clock import FakeClock, SystemClock
from sluiceway.endpoint.server import Endpoint
from sluiceway.ports import ExecutionRecord, ExecutionStore
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

ROLE = "arn:aws:iam::111111111111:role/sfn"


@pytest.fixture(scope="module")
def sfn(aws: Callable[..., Any]) -> Any:
    return aws("stepfunctions", read_timeout=70)


def _client(url: str) -> Any:
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    # One attempt: a call that failed is not made again behind the test's back.
    return session.client("stepfunctions", endpoint_url=url, config=Config(retries={"total_max_attempts": 1}, read_timeout=70))


@pytest.fixture(scope="module")
def timed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, FakeClock, Stack]]:
    """A stack whose time the test moves (timeouts and heartbeats without real-time margins), its client."""
    clock = FakeClock(SystemClock().now())
    settings = Settings.load(data_dir=tmp_path_factory.mktemp("timed") / "data", workers=1)
    built = build_stack(settings, clock=clock, invoker_mode="thread")
    built.start("activities on a fake clock")
    try:
        served = Endpoint(built, host="127.0.0.1", port=0)
        served.start()
        try:
            yield _client(served.url), clock, built
        finally:
            served.close()
    finally:
        built.close()


def _machine(sfn: Any, name: str, activity_arn: str, **task: Any) -> str:
    definition = {"StartAt": "ActivityTask", "States": {"ActivityTask": {"Type": "Task", "Resource": activity_arn, "End": True, **task}}}
    return str(sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"])


def _finished(sfn: Any, execution: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.02)


def _history(sfn: Any, execution: str) -> list[dict[str, Any]]:
    events = sfn.get_execution_history(executionArn=execution)["events"]
    return [{k: v for k, v in e.items() if k not in ("timestamp",)} for e in events]


def _task(sfn: Any, activity_arn: str, **worker: Any) -> dict[str, Any]:
    answer: dict[str, Any] = sfn.get_activity_task(activityArn=activity_arn, **worker)
    answer.pop("ResponseMetadata", None)
    return answer


# -- the activity API ---------------------------------------------------------------------------


def test_create_is_idempotent_by_name_and_describe_list_delete(sfn: Any) -> None:
    made = sfn.create_activity(name="crud-activity.v2", tags=[{"key": "team", "value": "a"}])
    assert made["activityArn"] == "arn:aws:states:us-east-1:111111111111:activity:crud-activity.v2"
    again = sfn.create_activity(name="crud-activity.v2", tags=[{"key": "team", "value": "b"}])
    assert again["activityArn"] == made["activityArn"] and again["creationDate"] == made["creationDate"]
    described = sfn.describe_activity(activityArn=made["activityArn"])
    assert described["name"] == "crud-activity.v2"
    assert described["creationDate"] == made["creationDate"]
    assert described["encryptionConfiguration"] == {"type": "AWS_OWNED_KEY"}
    sfn.delete_activity(activityArn=made["activityArn"])
    sfn.delete_activity(activityArn=made["activityArn"])  # deleting what is gone succeeds, as on AWS
    with pytest.raises(ClientError) as gone:
        sfn.describe_activity(activityArn=made["activityArn"])
    assert gone.value.response["Error"] == {
        "Code": "ActivityDoesNotExist",
        "Message": f"Activity Does Not Exist: '{made['activityArn']}'",
    }
    with pytest.raises(ClientError) as polled:
        sfn.get_activity_task(activityArn=made["activityArn"])
    assert polled.value.response["Error"]["Code"] == "ActivityDoesNotExist"


@pytest.mark.parametrize("name", ["activity name", "activity:name", "activity/name", "activity\x00", "activity~name"])
def test_invalid_names_are_refused(sfn: Any, name: str) -> None:
    with pytest.raises(ClientError) as refused:
        sfn.create_activity(name=name)
    assert refused.value.response["Error"] == {"Code": "InvalidName", "Message": f"Invalid Name: '{name}'"}


def test_an_arn_that_is_not_an_activity_arn_is_invalid(sfn: Any) -> None:
    with pytest.raises(ClientError) as refused:
        sfn.describe_activity(activityArn="no_an_activity_arn")
    assert refused.value.response["Error"] == {"Code": "InvalidArn", "Message": "Invalid Arn: 'Invalid ARN prefix: no_an_activity_arn'"}
    with pytest.raises(ClientError) as polled:
        sfn.get_activity_task(activityArn="no_an_activity_arn")
    assert polled.value.response["Error"]["Code"] == "InvalidArn"


def test_list_activities_pages_by_name(sfn: Any) -> None:
    arns = [sfn.create_activity(name=f"paged-{i}")["activityArn"] for i in range(3)]
    seen: list[str] = []
    token: str | None = None
    while True:
        page = sfn.list_activities(maxResults=2, **({"nextToken": token} if token else {}))
        assert len(page["activities"]) <= 2
        seen += [a["activityArn"] for a in page["activities"] if a["name"].startswith("paged-")]
        token = page.get("nextToken")
        if token is None:
            break
    assert seen == arns
    listed = next(a for a in sfn.list_activities()["activities"] if a["activityArn"] == arns[0])
    assert set(listed) == {"activityArn", "name", "creationDate"}


def test_a_customer_key_without_its_id_is_an_invalid_encryption(sfn: Any) -> None:
    with pytest.raises(ClientError) as refused:
        sfn.create_activity(name="keyless", encryptionConfiguration={"type": "CUSTOMER_MANAGED_KMS_KEY"})
    assert refused.value.response["Error"]["Code"] == "InvalidEncryptionConfiguration"
    made = sfn.create_activity(
        name="keyed",
        encryptionConfiguration={"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": "alias/k", "kmsDataKeyReusePeriodSeconds": 120},
    )
    assert sfn.describe_activity(activityArn=made["activityArn"])["encryptionConfiguration"] == {
        "type": "CUSTOMER_MANAGED_KMS_KEY",
        "kmsKeyId": "alias/k",
        "kmsDataKeyReusePeriodSeconds": 120,
    }
    with pytest.raises(ClientError) as changed:
        sfn.create_activity(name="keyed", encryptionConfiguration={"type": "AWS_OWNED_KEY"})
    assert changed.value.response["Error"]["Code"] == "ActivityAlreadyExists"


def test_a_definition_with_an_activity_resource_is_valid(sfn: Any) -> None:
    definition = {
        "StartAt": "A",
        "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:us-east-1:111111111111:activity:any", "End": True}},
    }
    assert sfn.validate_state_machine_definition(definition=json.dumps(definition))["diagnostics"] == []


# -- activity tasks -----------------------------------------------------------------------------


def test_a_worker_takes_the_task_and_answers_it(sfn: Any) -> None:
    activity = sfn.create_activity(name="worked")["activityArn"]
    machine = _machine(sfn, "worked-machine", activity)
    execution = sfn.start_execution(stateMachineArn=machine, input='{"Value1": "HelloWorld"}')["executionArn"]
    task = _task(sfn, activity, workerName="BASE_ID_ACTIVITY_CONSUMER")
    assert json.loads(task["input"]) == {"Value1": "HelloWorld"}
    sfn.send_task_success(taskToken=task["taskToken"], output=task["input"])
    assert _finished(sfn, execution)["status"] == "SUCCEEDED"
    events = _history(sfn, execution)
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "TaskStateEntered",
        "ActivityScheduled",
        "ActivityStarted",
        "ActivitySucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    assert [(e["id"], e["previousEventId"]) for e in events] == [(1, 0), (2, 0), (3, 2), (4, 3), (5, 4), (6, 5), (7, 6)]
    assert events[2]["activityScheduledEventDetails"] == {
        "resource": activity,
        "input": '{"Value1":"HelloWorld"}',
        "inputDetails": {"truncated": False},
    }
    assert events[3]["activityStartedEventDetails"] == {"workerName": "BASE_ID_ACTIVITY_CONSUMER"}
    assert json.loads(events[4]["activitySucceededEventDetails"]["output"]) == {"Value1": "HelloWorld"}
    # The task was answered: its token answers nothing more.
    with pytest.raises(ClientError) as stale:
        sfn.send_task_success(taskToken=task["taskToken"], output="{}")
    assert stale.value.response["Error"]["Code"] == "TaskTimedOut"


def test_a_waiting_worker_is_woken_by_the_task_and_gets_it_once(sfn: Any, stack: Stack) -> None:
    activity = sfn.create_activity(name="woken")["activityArn"]
    machine = _machine(sfn, "woken-machine", activity)
    got: list[dict[str, Any]] = []
    worker = threading.Thread(target=lambda: got.append(_task(sfn, activity)))
    worker.start()
    queue = stack.orchestrator.activity_queue
    assert isinstance(queue, SqliteActivities)
    assert queue.wait_for_pollers(activity, timeout=10)
    began = time.monotonic()
    execution = sfn.start_execution(stateMachineArn=machine, input="[1]")["executionArn"]
    worker.join(timeout=10)
    assert not worker.is_alive() and time.monotonic() - began < 5
    assert json.loads(got[0]["input"]) == [1]
    started = [e for e in _history(sfn, execution) if e["type"] == "ActivityStarted"]
    assert started == [{"id": 4, "previousEventId": 3, "type": "ActivityStarted", "activityStartedEventDetails": {}}]
    assert queue.waiting(activity) == []  # handed out once: no second worker can have it
    sfn.send_task_failure(taskToken=got[0]["taskToken"], error="Programmatic Error", cause='{"Value1": "HelloWorld"}')
    failed = _finished(sfn, execution)
    assert (failed["status"], failed["error"], failed["cause"]) == ("FAILED", "Programmatic Error", '{"Value1": "HelloWorld"}')
    last = _history(sfn, execution)[-2:]
    assert last[0]["type"] == "ActivityFailed"
    assert last[0]["activityFailedEventDetails"] == {"error": "Programmatic Error", "cause": '{"Value1": "HelloWorld"}'}


def test_heartbeats_keep_a_task_alive_and_their_absence_times_it_out(timed: tuple[Any, FakeClock, Stack]) -> None:
    sfn, clock, _ = timed
    activity = sfn.create_activity(name="beating")["activityArn"]
    machine = _machine(sfn, "beating-machine", activity, TimeoutSeconds=60, HeartbeatSeconds=1)
    kept = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    task = _task(sfn, activity, workerName="w")
    for _ in range(3):
        clock.advance(0.8)  # a worker's pace, below HeartbeatSeconds: 2.4 seconds in all, alive throughout
        sfn.send_task_heartbeat(taskToken=task["taskToken"])
    sfn.send_task_success(taskToken=task["taskToken"], output='"ok"')
    assert _finished(sfn, kept)["status"] == "SUCCEEDED"
    scheduled = next(e for e in _history(sfn, kept) if e["type"] == "ActivityScheduled")
    assert scheduled["activityScheduledEventDetails"]["timeoutInSeconds"] == 60
    assert scheduled["activityScheduledEventDetails"]["heartbeatInSeconds"] == 1

    dropped = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    lost = _task(sfn, activity, workerName="w")
    clock.advance(1.5)  # no heartbeat within HeartbeatSeconds
    failed = _finished(sfn, dropped)
    assert (failed["status"], failed["error"]) == ("FAILED", "States.HeartbeatTimeout")
    timed_out = [e for e in _history(sfn, dropped) if e["type"] == "ActivityTimedOut"]
    assert timed_out[0]["activityTimedOutEventDetails"] == {"error": "States.HeartbeatTimeout"}
    with pytest.raises(ClientError) as stale:
        sfn.send_task_success(taskToken=lost["taskToken"], output="{}")
    assert stale.value.response["Error"]["Code"] == "TaskTimedOut"


def test_a_started_task_times_out_after_timeout_seconds(timed: tuple[Any, FakeClock, Stack]) -> None:
    sfn, clock, _ = timed
    activity = sfn.create_activity(name="slow")["activityArn"]
    machine = _machine(sfn, "slow-machine", activity, TimeoutSeconds=1)
    execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    _task(sfn, activity, workerName="BASE_ID_ACTIVITY_CONSUMER")  # taken with no time passed: before its timeout
    clock.advance(1.5)
    failed = _finished(sfn, execution)
    assert (failed["status"], failed["error"]) == ("FAILED", "States.Timeout")
    events = _history(sfn, execution)
    assert [e["type"] for e in events][2:] == ["ActivityScheduled", "ActivityStarted", "ActivityTimedOut", "ExecutionFailed"]
    assert events[4]["activityTimedOutEventDetails"] == {"error": "States.Timeout"}
    assert events[5]["executionFailedEventDetails"] == {"error": "States.Timeout"}


def test_an_accepted_answer_is_never_lost_to_a_timeout_firing_meanwhile(timed: tuple[Any, FakeClock, Stack]) -> None:
    sfn, clock, stack = timed
    orchestrator = stack.orchestrator
    activity = sfn.create_activity(name="raced")["activityArn"]
    machine = _machine(sfn, "raced-machine", activity, TimeoutSeconds=5)
    execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    task = _task(sfn, activity, workerName="w")
    events = orchestrator._events
    put = events.put

    def timeout_first(item: Any, block: bool = True, timeout: float | None = None) -> None:
        # Were the answer checked, then handed on to be applied later, the task's timeout would fire
        # here, in between: it is made to.
        if item is not None and isinstance(item[1], TaskSucceeded) and item[0] == execution:
            clock.advance(10)
            orchestrator._fire_due_timers()
        put(item, block, timeout)

    events.put = timeout_first  # type: ignore[method-assign]
    try:
        sfn.send_task_success(taskToken=task["taskToken"], output='"in time"')
    finally:
        del events.put
    # Accepted, so applied: the worker's 200 means its answer is the task's.
    done = _finished(sfn, execution)
    assert (done["status"], done.get("output")) == ("SUCCEEDED", '"in time"')

    late = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    task = _task(sfn, activity, workerName="w")
    clock.advance(10)
    assert _finished(sfn, late)["status"] == "FAILED"
    with pytest.raises(ClientError) as stale:  # the timeout came first: the answer is refused, not dropped
        sfn.send_task_success(taskToken=task["taskToken"], output='"too late"')
    assert stale.value.response["Error"]["Code"] == "TaskTimedOut"


def test_a_task_on_a_deleted_activity_fails_the_execution(sfn: Any) -> None:
    activity = sfn.create_activity(name="deleted-before")["activityArn"]
    sfn.delete_activity(activityArn=activity)
    machine = _machine(sfn, "deleted-machine", activity)
    execution = sfn.start_execution(stateMachineArn=machine, input='{"Value1": "HelloWorld"}')["executionArn"]
    failed = _finished(sfn, execution)
    assert failed["status"] == "FAILED"
    events = _history(sfn, execution)
    assert [e["type"] for e in events] == ["ExecutionStarted", "TaskStateEntered", "ExecutionFailed"]
    assert events[2]["executionFailedEventDetails"] == {
        "error": "States.Runtime",
        "cause": "An error occurred while executing the state 'ActivityTask' (entered at the event id #2)."
        f" The activity {activity} does not exist.",
    }


# -- a restart between scheduling and polling --------------------------------------------------


def test_a_task_scheduled_before_a_restart_is_handed_out_after_it(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "data", workers=1)
    first = build_stack(settings, invoker_mode="thread")
    first.start("activities restart 1")
    try:
        served = Endpoint(first, host="127.0.0.1", port=0)
        served.start()
        try:
            sfn = _client(served.url)
            activity = sfn.create_activity(name="durable")["activityArn"]
            machine = _machine(sfn, "durable-machine", activity)
            execution = sfn.start_execution(stateMachineArn=machine, input='{"n": 1}')["executionArn"]
            deadline = time.monotonic() + 10
            while "ActivityScheduled" not in [e["type"] for e in _history(sfn, execution)] and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            served.close()
    finally:
        first.close(grace_s=0)
    second = build_stack(settings, invoker_mode="thread")
    second.start("activities restart 2")
    try:
        served = Endpoint(second, host="127.0.0.1", port=0)
        served.start()
        try:
            sfn = _client(served.url)
            task = _task(sfn, activity, workerName="after")
            assert json.loads(task["input"]) == {"n": 1}
            sfn.send_task_success(taskToken=task["taskToken"], output='{"done": true}')
            done = _finished(sfn, execution)
            assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == {"done": True}
            assert [e["type"] for e in _history(sfn, execution)].count("ActivityScheduled") == 1
        finally:
            served.close()
    finally:
        second.close()


def test_a_poll_left_from_a_stopped_stack_ends_and_takes_nothing_from_the_next(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "data", workers=1)
    first = build_stack(settings, invoker_mode="thread")
    first.start("activities stop 1")
    served = Endpoint(first, host="127.0.0.1", port=0)
    served.start()
    sfn = _client(served.url)
    activity = sfn.create_activity(name="outlived")["activityArn"]
    machine = _machine(sfn, "outlived-machine", activity)
    left: list[dict[str, Any]] = []
    poller = threading.Thread(target=lambda: left.append(_task(sfn, activity, workerName="left over")))
    poller.start()
    queue = first.orchestrator.activity_queue
    assert isinstance(queue, SqliteActivities) and queue.wait_for_pollers(activity, timeout=10)
    try:
        first.close(grace_s=0)
        poller.join(timeout=10)  # a poll is held 60 seconds: only the stop can have ended it this soon
        assert not poller.is_alive() and left == [{}]
        assert queue.poll(activity, 60, lambda: pytest.fail("a poll after the stop looked for a task")) is None
    finally:
        served.close()
    second = build_stack(settings, invoker_mode="thread")
    second.start("activities stop 2")
    try:
        served = Endpoint(second, host="127.0.0.1", port=0)
        served.start()
        try:
            sfn = _client(served.url)
            execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
            task = _task(sfn, activity, workerName="new")
            sfn.send_task_success(taskToken=task["taskToken"], output="{}")
            assert _finished(sfn, execution)["status"] == "SUCCEEDED"
        finally:
            served.close()
    finally:
        second.close()


class _DiesBeforeActivityStarted:
    """The stack's execution store, but the process "dies" as it would commit an ActivityStarted."""

    def __init__(self, store: ExecutionStore) -> None:
        self.store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def advance(self, record: ExecutionRecord, history: Sequence[Mapping[str, Any]]) -> None:
        if any(event["type"] == "ActivityStarted" for event in history):
            raise sqlite3.OperationalError("disk I/O error")
        self.store.advance(record, history)


def test_a_task_whose_hand_out_did_not_commit_is_handed_out_after_a_restart(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "data", workers=1)
    first = build_stack(settings, invoker_mode="thread")
    first.start("activities crash 1")
    try:
        served = Endpoint(first, host="127.0.0.1", port=0)
        served.start()
        try:
            sfn = _client(served.url)
            activity = sfn.create_activity(name="crashed")["activityArn"]
            machine = _machine(sfn, "crashed-machine", activity)
            execution = sfn.start_execution(stateMachineArn=machine, input='{"n": 2}')["executionArn"]
            first.orchestrator.store = _DiesBeforeActivityStarted(first.orchestrator.store)
            with pytest.raises(ClientError):  # what a worker sees of a stack that died mid-answer
                _task(sfn, activity, workerName="lost")
        finally:
            served.close()
    finally:
        first.close(grace_s=0)
    second = build_stack(settings, invoker_mode="thread")
    second.start("activities crash 2")
    try:
        served = Endpoint(second, host="127.0.0.1", port=0)
        served.start()
        try:
            sfn = _client(served.url)
            task = _task(sfn, activity, workerName="after")  # the claim went with the ActivityStarted that failed
            assert json.loads(task["input"]) == {"n": 2}
            sfn.send_task_success(taskToken=task["taskToken"], output="{}")
            assert _finished(sfn, execution)["status"] == "SUCCEEDED"
            started = [e for e in _history(sfn, execution) if e["type"] == "ActivityStarted"]
            assert [e["activityStartedEventDetails"] for e in started] == [{"workerName": "after"}]
        finally:
            served.close()
    finally:
        second.close()


# -- tags and model limits ------------------------------------------------------------------------


def test_an_activity_is_tagged_untagged_and_listed(sfn: Any) -> None:
    activity = sfn.create_activity(name="tagged", tags=[{"key": "team", "value": "a"}])["activityArn"]
    assert sfn.list_tags_for_resource(resourceArn=activity)["tags"] == [{"key": "team", "value": "a"}]
    sfn.tag_resource(resourceArn=activity, tags=[{"key": "stage", "value": "dev"}, {"key": "team", "value": "b"}])
    assert sorted((t["key"], t["value"]) for t in sfn.list_tags_for_resource(resourceArn=activity)["tags"]) == [
        ("stage", "dev"),
        ("team", "b"),
    ]
    sfn.untag_resource(resourceArn=activity, tagKeys=["team"])
    assert sfn.list_tags_for_resource(resourceArn=activity)["tags"] == [{"key": "stage", "value": "dev"}]
    with pytest.raises(ClientError) as many:
        sfn.tag_resource(resourceArn=activity, tags=[{"key": f"k{i}", "value": "v"} for i in range(50)])
    assert many.value.response["Error"]["Code"] == "TooManyTags"
    missing = activity.replace(":tagged", ":never-made")
    calls: list[Callable[[], Any]] = [
        lambda: sfn.list_tags_for_resource(resourceArn=missing),
        lambda: sfn.tag_resource(resourceArn=missing, tags=[{"key": "k", "value": "v"}]),
        lambda: sfn.untag_resource(resourceArn=missing, tagKeys=["k"]),
    ]
    for call in calls:
        with pytest.raises(ClientError) as gone:
            call()
        assert gone.value.response["Error"] == {"Code": "ResourceNotFound", "Message": f"Resource not found: '{missing}'"}


@pytest.fixture(scope="module")
def unchecked(endpoint: Endpoint) -> Any:
    """A client that sends what the model forbids (botocore checks only a few constraints itself)."""
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    return session.client(
        "stepfunctions", endpoint_url=endpoint.url, config=Config(parameter_validation=False, retries={"max_attempts": 1})
    )


def test_the_model_limits_are_checked_first(sfn: Any, unchecked: Any) -> None:
    activity = sfn.create_activity(name="limited")["activityArn"]
    with pytest.raises(ClientError) as worker:
        unchecked.get_activity_task(activityArn=activity, workerName="w" * 81)
    assert worker.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "1 validation error detected: Value '" + "w" * 81 + "' at 'workerName' failed to satisfy constraint:"
        " Member must have length less than or equal to 80",
    }
    long_arn = "arn:aws:states:us-east-1:111111111111:activity:" + "x" * 250
    with pytest.raises(ClientError) as arn:
        unchecked.describe_activity(activityArn=long_arn)
    assert arn.value.response["Error"]["Code"] == "ValidationException"
    assert (
        "at 'activityArn' failed to satisfy constraint: Member must have length less than or equal to 256"
        in (arn.value.response["Error"]["Message"])
    )
    with pytest.raises(ClientError) as key:
        unchecked.create_activity(name="long-tag", tags=[{"key": "k" * 129, "value": "v"}])
    assert "at 'tags.1.member.key' failed to satisfy constraint" in key.value.response["Error"]["Message"]


@pytest.mark.parametrize("token", ["!!!", "cGFnZWQ", "===="])  # not base64, unpadded, nothing encoded
def test_a_next_token_list_activities_did_not_make_is_invalid(sfn: Any, token: str) -> None:
    with pytest.raises(ClientError) as refused:
        sfn.list_activities(nextToken=token)
    assert refused.value.response["Error"] == {"Code": "InvalidToken", "Message": "Invalid Token: 'Invalid token'"}
