"""A state machine's loggingConfiguration: checked as Step Functions checks it, and its executions' history
written to the log group (shapes and errors recorded against AWS)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.runtime.stack import Stack

ROLE = "arn:aws:iam::111111111111:role/test"
PASS = {"StartAt": "State_1", "States": {"State_1": {"Type": "Pass", "Result": {"Arg1": "argument1"}, "End": True}}}
FAIL = {"StartAt": "FailState", "States": {"FailState": {"Type": "Fail", "Error": "SomeFailure", "Cause": "It failed."}}}
VALIDATION_STREAM = "log_stream_created_by_aws_to_validate_log_delivery_subscriptions"


@pytest.fixture(scope="module")
def sfn(aws: Callable[..., Any]) -> Any:
    return aws("stepfunctions", inject_host_prefix=False)


@pytest.fixture(scope="module")
def logs(aws: Callable[..., Any]) -> Any:
    return aws("logs")


def _group(logs: Any, name: str) -> str:
    logs.create_log_group(logGroupName=name)
    return str(logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]["arn"])


def _logging(arn: str, level: str = "ALL", include: bool = False) -> dict[str, Any]:
    return {"level": level, "includeExecutionData": include, "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": arn}}]}


def _machine(sfn: Any, name: str, definition: dict[str, Any], **extra: Any) -> str:
    return str(sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE, **extra)["stateMachineArn"])


def _logged(logs: Any, group: str, count: int, timeout_s: float = 20.0) -> list[dict[str, Any]]:
    """The execution log events of ``group`` once there are ``count`` of them."""
    deadline = time.monotonic() + timeout_s
    while True:
        events = [e for e in logs.filter_log_events(logGroupName=group)["events"] if e["logStreamName"] != VALIDATION_STREAM]
        if len(events) >= count:
            return events
        assert time.monotonic() < deadline, f"{len(events)} of {count} events in {group}"
        time.sleep(0.02)


def _ended(sfn: Any, arn: str, timeout_s: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_all_with_execution_data_logs_every_history_event(sfn: Any, logs: Any) -> None:
    group_arn = _group(logs, "/sfn/all-data")
    arn = _machine(sfn, "logs-all-data", PASS, loggingConfiguration=_logging(group_arn, include=True))
    described = sfn.describe_state_machine(stateMachineArn=arn)["loggingConfiguration"]
    assert described == _logging(group_arn, include=True)
    execution = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    events = _logged(logs, "/sfn/all-data", 4)
    history = sfn.get_execution_history(executionArn=execution)["events"]
    messages = [json.loads(e["message"]) for e in events]
    assert [m["type"] for m in messages] == ["ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"]
    assert [m["id"] for m in messages] == [str(h["id"]) for h in history]
    assert [m["previous_event_id"] for m in messages] == ["0", "0", "2", "3"]
    assert {m["execution_arn"] for m in messages} == {execution}
    assert {m["redrive_count"] for m in messages} == {"0"}
    assert messages[0]["details"] == {"input": "{}", "inputDetails": {"truncated": False}, "roleArn": ROLE}
    assert messages[2]["details"] == {"name": "State_1", "output": '{"Arg1":"argument1"}', "outputDetails": {"truncated": False}}
    for event, logged, recorded in zip(events, messages, history, strict=True):
        ms = int(recorded["timestamp"].timestamp() * 1000)
        assert event["timestamp"] == ms and logged["event_timestamp"] == str(ms)
        assert event["logStreamName"].startswith("states/logs-all-data/") and event["logStreamName"].endswith("/00000000")
    streams = [s["logStreamName"] for s in logs.describe_log_streams(logGroupName="/sfn/all-data")["logStreams"]]
    assert VALIDATION_STREAM in streams
    validation = logs.get_log_events(logGroupName="/sfn/all-data", logStreamName=VALIDATION_STREAM)["events"]
    assert [e["message"] for e in validation] == [
        "Permissions are set correctly to allow AWS CloudWatch Logs to write into your logs while creating a subscription."
    ]


def test_express_machine_logs_without_data(sfn: Any, logs: Any) -> None:
    group_arn = _group(logs, "/sfn/express")
    arn = _machine(sfn, "logs-express", PASS, type="EXPRESS", loggingConfiguration=_logging(group_arn))
    sfn.start_sync_execution(stateMachineArn=arn, input='{"a": 1}')
    messages = [json.loads(e["message"]) for e in _logged(logs, "/sfn/express", 4)]
    assert [m["details"] for m in messages] == [{"roleArn": ROLE}, {"name": "State_1"}, {"name": "State_1"}, {}]


@pytest.mark.parametrize(("level", "types"), [("ERROR", ["FailStateEntered", "ExecutionFailed"]), ("FATAL", ["ExecutionFailed"])])
def test_error_and_fatal_levels_log_only_their_events(sfn: Any, logs: Any, stack: Stack, level: str, types: list[str]) -> None:
    group = f"/sfn/{level.lower()}"
    arn = _machine(sfn, f"logs-{level.lower()}", FAIL, loggingConfiguration=_logging(_group(logs, group), level=level))
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert _ended(sfn, execution)["status"] == "FAILED"
    assert stack.execution_logs is not None and stack.execution_logs.flush(10)  # all the execution's events are written
    events = _logged(logs, group, 0)
    messages = [json.loads(e["message"]) for e in events]
    assert [m["type"] for m in messages] == types
    assert messages[-1]["details"] == {"cause": "It failed.", "error": "SomeFailure"}


def _refused(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


def test_configurations_refused_as_aws_refuses_them(sfn: Any, logs: Any) -> None:
    group_arn = _group(logs, "/sfn/refused")
    one = "Invalid Logging Configuration: Must specify exactly one Log Destination."
    for configuration in ({"level": "ALL"}, {"level": "ERROR", "destinations": []}, {"level": "FATAL"}):
        assert _refused(lambda c=configuration: _machine(sfn, "logs-refused", PASS, loggingConfiguration=c)) == (  # type: ignore[misc]
            "InvalidLoggingConfiguration",
            one,
        )
    two = {**_logging(group_arn), "destinations": _logging(group_arn)["destinations"] * 2}
    assert _refused(lambda: _machine(sfn, "logs-refused", PASS, loggingConfiguration=two))[1] == one
    bare = _logging(group_arn.removesuffix(":*"))
    assert _refused(lambda: _machine(sfn, "logs-refused", PASS, loggingConfiguration=bare))[1] == (
        "Invalid Logging Configuration: Log Group ARN must be provided with '*' qualifier."
    )
    missing = _logging(group_arn.replace("/sfn/refused", "/sfn/no-such-group"))
    assert _refused(lambda: _machine(sfn, "logs-refused", PASS, loggingConfiguration=missing))[1] == (
        "Invalid Logging Configuration: Log Destination not found."
    )
    with pytest.raises(ClientError):
        sfn.describe_state_machine(stateMachineArn="arn:aws:states:us-east-1:111111111111:stateMachine:logs-refused")


def test_incomplete_configurations_are_completed(sfn: Any) -> None:
    arn = _machine(sfn, "logs-incomplete", PASS, loggingConfiguration={})
    assert sfn.describe_state_machine(stateMachineArn=arn)["loggingConfiguration"] == {"level": "OFF", "includeExecutionData": False}
    arn = _machine(sfn, "logs-incomplete-2", PASS, loggingConfiguration={"destinations": []})
    described = sfn.describe_state_machine(stateMachineArn=arn)["loggingConfiguration"]
    assert described == {"level": "OFF", "includeExecutionData": False, "destinations": []}


def test_update_sets_logging_and_a_deleted_group_fails_no_execution(sfn: Any, logs: Any, stack: Stack) -> None:
    arn = _machine(sfn, "logs-updated", PASS)
    group_arn = _group(logs, "/sfn/updated")
    assert _refused(lambda: sfn.update_state_machine(stateMachineArn=arn, loggingConfiguration={"level": "ALL"})) == (
        "InvalidLoggingConfiguration",
        "Invalid Logging Configuration: Must specify exactly one Log Destination.",
    )
    sfn.update_state_machine(stateMachineArn=arn, loggingConfiguration=_logging(group_arn, level="FATAL", include=True))
    described = sfn.describe_state_machine(stateMachineArn=arn)["loggingConfiguration"]
    assert described == _logging(group_arn, level="FATAL", include=True)
    sfn.update_state_machine(stateMachineArn=arn, loggingConfiguration=_logging(group_arn))
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert len(_logged(logs, "/sfn/updated", 4)) == 4
    assert _ended(sfn, execution)["status"] == "SUCCEEDED"

    logs.delete_log_group(logGroupName="/sfn/updated")
    execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert _ended(sfn, execution)["status"] == "SUCCEEDED"
    assert stack.execution_logs is not None and stack.execution_logs.flush(10)  # its events were handled
    assert not logs.describe_log_groups(logGroupNamePrefix="/sfn/updated")["logGroups"]  # not made again


def test_create_again_is_idempotent_over_logging_and_tracing_not_role(sfn: Any, logs: Any) -> None:
    group_arn = _group(logs, "/sfn/idempotent")
    arn = _machine(sfn, "logs-idempotent", PASS)
    # What DescribeStateMachine shows when none was given is the same configuration.
    assert _machine(sfn, "logs-idempotent", PASS, loggingConfiguration={"level": "OFF"}, tracingConfiguration={"enabled": False}) == arn
    exists = ("StateMachineAlreadyExists", f"State Machine Already Exists: '{arn}'")
    assert _refused(lambda: _machine(sfn, "logs-idempotent", PASS, loggingConfiguration=_logging(group_arn))) == exists
    assert _refused(lambda: _machine(sfn, "logs-idempotent", PASS, tracingConfiguration={"enabled": True})) == exists
    # Another role is ignored, and not taken (the API reference's idempotency note).
    other = sfn.create_state_machine(name="logs-idempotent", definition=json.dumps(PASS), roleArn=ROLE + "-other")
    assert other["stateMachineArn"] == arn
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert described["roleArn"] == ROLE
    assert described["loggingConfiguration"] == {"level": "OFF", "includeExecutionData": False}


def test_an_update_to_the_configuration_described_makes_no_revision(sfn: Any, logs: Any) -> None:
    arn = _machine(sfn, "logs-no-change", PASS)
    group_arn = _group(logs, "/sfn/no-change")
    for update in ({"loggingConfiguration": {"level": "OFF", "includeExecutionData": False}}, {"tracingConfiguration": {"enabled": False}}):
        assert "revisionId" not in sfn.update_state_machine(stateMachineArn=arn, **update)
        assert "revisionId" not in sfn.describe_state_machine(stateMachineArn=arn)
    revision = sfn.update_state_machine(stateMachineArn=arn, loggingConfiguration=_logging(group_arn))["revisionId"]
    again = sfn.update_state_machine(stateMachineArn=arn, loggingConfiguration=_logging(group_arn), tracingConfiguration={"enabled": False})
    assert again["revisionId"] == revision == sfn.describe_state_machine(stateMachineArn=arn)["revisionId"]


def test_a_level_outside_the_enum_is_a_validation_error(sfn: Any, logs: Any) -> None:
    group_arn = _group(logs, "/sfn/levels")
    for level in ("BOGUS", "all"):
        assert _refused(lambda lv=level: _machine(sfn, "logs-level", PASS, loggingConfiguration=_logging(group_arn, level=lv))) == (  # type: ignore[misc]
            "ValidationException",
            f"1 validation error detected: Value '{level}' at 'loggingConfiguration.level' failed to satisfy constraint:"
            " Member must satisfy enum value set: [ALL, ERROR, FATAL, OFF]",
        )


def test_logged_messages_keep_awss_member_order(sfn: Any, logs: Any) -> None:
    arn = _machine(sfn, "logs-order", PASS, loggingConfiguration=_logging(_group(logs, "/sfn/order")))
    sfn.start_execution(stateMachineArn=arn, input="{}")
    first = json.loads(_logged(logs, "/sfn/order", 1)[0]["message"])
    assert list(first) == ["id", "type", "details", "previous_event_id", "event_timestamp", "execution_arn", "redrive_count"]


def test_a_machine_that_does_not_log_hands_nothing_to_the_writer(sfn: Any, stack: Stack) -> None:
    writer = stack.execution_logs
    assert writer is not None
    arn = _machine(sfn, "logs-none", PASS)
    looked_up: list[str] = []
    fallback, writer.fallback = writer.fallback, lambda execution, machine: looked_up.append(execution)  # type: ignore[func-returns-value]
    try:
        execution = sfn.start_execution(stateMachineArn=arn)["executionArn"]
        assert _ended(sfn, execution)["status"] == "SUCCEEDED"
        assert writer.flush(10)
    finally:
        writer.fallback = fallback
    assert looked_up == []  # its revision said it does not log: nothing was queued or looked up
