"""An execution keeps the definition it started with, as on AWS: UpdateStateMachine changes the
machine, not its running executions; DescribeStateMachineForExecution and RedriveExecution use
the execution's own revision; a restart or an old data dir changes none of that."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.lambdas.invoker import FunctionSpec
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

HANDLERS = (__name__.rpartition(".")[0] + "." if "." in __name__ else "") + "lambda_handlers"
ROLE = "arn:aws:iam::111111111111:role/test"
OTHER_ROLE = "arn:aws:iam::111111111111:role/other"


def held(result: str) -> dict[str, Any]:
    """Holds on a task token (so the test decides when it goes on), then a Pass naming the revision."""
    return {
        "StartAt": "Ask",
        "States": {
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "ExecDefEcho", "Payload": {"token.$": "$$.Task.Token"}},
                "Next": "Say",
            },
            "Say": {"Type": "Pass", "Result": result, "End": True},
        },
    }


def waiting(result: str, seconds: int) -> dict[str, Any]:
    return {
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "Seconds": seconds, "Next": "Say"}, "Say": {"Type": "Pass", "Result": result, "End": True}},
    }


@pytest.fixture(scope="module")
def sfn(aws: Callable[..., Any], stack: Stack) -> Any:
    stack.invoker.register(FunctionSpec("ExecDefEcho", f"{HANDLERS}.echo", timeout_s=10))
    return aws("stepfunctions")


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _until_done(sfn: Any, arn: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        assert time.monotonic() < deadline, f"{arn} still RUNNING"
        time.sleep(0.02)


def _token(sfn: Any, arn: str, scheduled: int = 1, timeout: float = 20.0) -> str:
    """The task token of the execution's ``scheduled``-th TaskScheduled event (its latest task)."""
    deadline = time.monotonic() + timeout
    while True:
        events = [e for e in sfn.get_execution_history(executionArn=arn)["events"] if e["type"] == "TaskScheduled"]
        if len(events) >= scheduled:
            return str(json.loads(events[scheduled - 1]["taskScheduledEventDetails"]["parameters"])["Payload"]["token"])
        assert time.monotonic() < deadline, f"no TaskScheduled #{scheduled} in {arn}"
        time.sleep(0.02)


def test_an_update_during_a_run_changes_neither_its_definition_nor_its_output(sfn: Any) -> None:
    arn = sfn.create_state_machine(name="exec-def-update", definition=json.dumps(held("v1")), roleArn=ROLE)["stateMachineArn"]
    created = sfn.describe_state_machine(stateMachineArn=arn)
    assert "revisionId" not in created  # AWS gives the revision CreateStateMachine made no id
    first = sfn.start_execution(stateMachineArn=arn, name="first")["executionArn"]
    token = _token(sfn, first)
    updated = sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(held("v2")), roleArn=OTHER_ROLE)

    mine = sfn.describe_state_machine_for_execution(executionArn=first)
    assert json.loads(mine["definition"]) == held("v1") and mine["roleArn"] == ROLE
    assert mine["updateDate"] == created["creationDate"] and "revisionId" not in mine
    assert (mine["stateMachineArn"], mine["name"]) == (arn, "exec-def-update")
    now = sfn.describe_state_machine(stateMachineArn=arn)
    assert json.loads(now["definition"]) == held("v2") and now["revisionId"] == updated["revisionId"]

    # On the wire, only the members the operation's output has (boto3 would drop others unseen).
    raw: dict[str, Any] = {}
    sfn.meta.events.register(
        "after-call.states.DescribeStateMachineForExecution", lambda http_response, **_: raw.update(json.loads(http_response.content))
    )
    sfn.describe_state_machine_for_execution(executionArn=first)
    allowed = set(sfn.meta.service_model.operation_model("DescribeStateMachineForExecution").output_shape.members)
    assert raw and set(raw) <= allowed, set(raw) - allowed

    second = sfn.start_execution(stateMachineArn=arn, name="second")["executionArn"]
    theirs = sfn.describe_state_machine_for_execution(executionArn=second)
    assert json.loads(theirs["definition"]) == held("v2") and theirs["roleArn"] == OTHER_ROLE
    assert theirs["revisionId"] == updated["revisionId"] and theirs["updateDate"] == updated["updateDate"]

    sfn.send_task_success(taskToken=token, output="{}")
    sfn.send_task_success(taskToken=_token(sfn, second), output="{}")
    assert json.loads(_until_done(sfn, first)["output"]) == "v1"
    assert json.loads(_until_done(sfn, second)["output"]) == "v2"


def test_a_redrive_after_an_update_runs_the_states_the_execution_started_with(sfn: Any) -> None:
    arn = sfn.create_state_machine(name="exec-def-redrive", definition=json.dumps(held("v1")), roleArn=ROLE)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, name="failing")["executionArn"]
    sfn.send_task_failure(taskToken=_token(sfn, execution), error="Rejected", cause="first attempt")
    assert _until_done(sfn, execution)["status"] == "FAILED"
    # v2 has no task at all: a redrive with it could not schedule one.
    v2 = {"StartAt": "Ask", "States": {"Ask": {"Type": "Pass", "Result": "v2", "End": True}}}
    sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(v2))
    sfn.redrive_execution(executionArn=execution)
    sfn.send_task_success(taskToken=_token(sfn, execution, scheduled=2), output="{}")
    done = _until_done(sfn, execution)
    assert (done["status"], json.loads(done["output"]), done["redriveCount"]) == ("SUCCEEDED", "v1", 1)
    assert json.loads(sfn.describe_state_machine_for_execution(executionArn=execution)["definition"]) == held("v1")


def test_an_execution_of_a_deleted_machine_still_describes_its_machine(sfn: Any) -> None:
    arn = sfn.create_state_machine(name="exec-def-deleted", definition=json.dumps(held("v1")), roleArn=ROLE)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    sfn.send_task_success(taskToken=_token(sfn, execution), output="{}")
    _until_done(sfn, execution)
    sfn.delete_state_machine(stateMachineArn=arn)
    with pytest.raises(ClientError) as exc:
        sfn.describe_state_machine(stateMachineArn=arn)
    assert _code(exc) == "StateMachineDoesNotExist"
    described = sfn.describe_state_machine_for_execution(executionArn=execution)
    assert json.loads(described["definition"]) == held("v1") and described["name"] == "exec-def-deleted"


# -- a stack of its own, restarted on the same data dir ----------------------------------------------


@contextmanager
def _served(settings: Settings, label: str) -> Iterator[tuple[Stack, Any]]:
    stack = build_stack(settings, invoker_mode="thread")
    stack.start(label)
    try:
        stack.invoker.register(FunctionSpec("ExecDefEcho", f"{HANDLERS}.echo", timeout_s=10))
        endpoint = Endpoint(stack, host="127.0.0.1", port=0)
        endpoint.start()
        try:
            session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
            yield stack, session.client("stepfunctions", endpoint_url=endpoint.url, config=Config(retries={"max_attempts": 1}))
        finally:
            endpoint.close()
    finally:
        stack.close(grace_s=0)  # what is still running resumes at the next start


def test_a_restart_after_an_update_ends_the_execution_with_its_own_definition(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "data", workers=1)
    with _served(settings, "before restart") as (_, sfn):
        arn = sfn.create_state_machine(name="across", definition=json.dumps(waiting("v1", 2)), roleArn=ROLE)["stateMachineArn"]
        waited = sfn.start_execution(stateMachineArn=arn, name="waited")["executionArn"]
        sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(waiting("v2", 0)))
        # The stack stops within the 2 s Wait (a failure here means a slow machine, not a wrong answer).
        assert sfn.describe_execution(executionArn=waited)["status"] == "RUNNING"
    with _served(settings, "after restart") as (_, sfn):
        done = _until_done(sfn, waited)
        assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", "v1")
        assert json.loads(sfn.describe_state_machine_for_execution(executionArn=waited)["definition"]) == waiting("v1", 2)
        assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"]) == waiting("v2", 0)


def test_a_data_dir_from_before_revisions_still_runs_and_describes(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "data", workers=1)
    with _served(settings, "old layout") as (stack, sfn):
        arn = sfn.create_state_machine(name="old", definition=json.dumps(held("v1")), roleArn=ROLE)["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=arn, name="old-run")["executionArn"]
        _token(sfn, execution)
        database = Path(stack.local.executions.db.path)
    # The data dir as a Sluiceway without revisions left it.
    with sqlite3.connect(database) as conn:
        conn.execute("DROP TABLE execution_revisions")
        conn.execute("DROP TABLE state_machine_revisions")
        # Only revisions' own migration is undone (later ones need not be safe to replay).
        conn.execute("DELETE FROM schema_version WHERE version = 76")
    conn.close()
    with _served(settings, "upgraded") as (_, sfn):
        # No recorded revision: described (and resumed) with the machine's current definition.
        described = sfn.describe_state_machine_for_execution(executionArn=execution)
        assert json.loads(described["definition"]) == held("v1") and "revisionId" not in described
        assert "revisionId" not in sfn.describe_state_machine(stateMachineArn=arn)  # backfilled as the initial revision
        sfn.send_task_success(taskToken=_token(sfn, execution), output="{}")
        assert json.loads(_until_done(sfn, execution)["output"]) == "v1"
        # Started after the upgrade: it references the backfilled revision, which an update leaves alone.
        later = sfn.start_execution(stateMachineArn=arn, name="new-run")["executionArn"]
        token = _token(sfn, later)
        sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(held("v2")))
        assert json.loads(sfn.describe_state_machine_for_execution(executionArn=later)["definition"]) == held("v1")
        sfn.send_task_success(taskToken=token, output="{}")
        assert json.loads(_until_done(sfn, later)["output"]) == "v1"
