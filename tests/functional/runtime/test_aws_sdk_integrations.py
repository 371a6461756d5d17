"""AWS SDK service integrations (``arn:aws:states:::aws-sdk:...``) on a running stack, driven by boto3.

The expected outputs, error names and causes are those Step Functions records (LocalStack's
snapshots recorded against AWS: ``test_aws_sdk_task_service``, ``error_handling/test_aws_sdk``).
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.asl.commands import InvokeTask, TaskFailed, TaskSucceeded
from sluiceway.asl.sdk_services import SdkResource, parse_sdk_resource
from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.orchestration.integrations.aws_sdk import in_database
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


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir: Path = tmp_path_factory.mktemp("aws-sdk") / "data"
    built = build_stack(Settings.load(data_dir=data_dir, workers=1, endpoint_port=_free_port()), app=None, invoker_mode="thread")
    built.start("aws-sdk tests")
    try:
        yield built
    finally:
        built.close()


@pytest.fixture(scope="module")
def aws(stack: Stack) -> Iterator[Callable[..., Any]]:
    import boto3
    from botocore.config import Config

    endpoint = Endpoint(stack, host="127.0.0.1", port=stack.settings.endpoint_port)
    endpoint.start()
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")

    def client(service: str) -> Any:
        options: dict[str, Any] = {"retries": {"max_attempts": 1}}
        if service == "s3":
            options["s3"] = {"addressing_style": "path"}
        return session.client(service, endpoint_url=endpoint.url, config=Config(**options))

    try:
        yield client
    finally:
        endpoint.close()


def _run(aws: Callable[..., Any], name: str, states: dict[str, Any], start_at: str, given: Any) -> dict[str, Any]:
    sfn = aws("stepfunctions")
    definition = json.dumps({"StartAt": start_at, "States": states})
    arn = sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(given))["executionArn"]
    deadline = time.monotonic() + 20
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.02)


def _task(resource: str, parameters: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": f"arn:aws:states:::aws-sdk:{resource}", "Parameters": parameters, **more}


def test_dynamodb_put_update_get_item_answers_in_the_apis_shape(aws: Callable[..., Any]) -> None:
    aws("dynamodb").create_table(
        TableName="sdk-items",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    states = {
        "Put": _task(
            "dynamodb:putItem",
            {"TableName": "sdk-items", "Item": {"id": {"S": "id1"}, "data": {"S": "HelloWorld"}}},
            ResultPath="$.put",
            Next="Update",
        ),
        "Update": _task(
            "dynamodb:updateItem",
            {
                "TableName": "sdk-items",
                "Key": {"id": {"S": "id1"}},
                "UpdateExpression": "set S=:r",
                "ExpressionAttributeValues": {":r": {"S": "Updated"}},
                "ReturnValues": "UPDATED_NEW",
            },
            ResultPath="$.update",
            Next="Get",
        ),
        "Get": _task("dynamodb:getItem", {"TableName": "sdk-items", "Key": {"id": {"S": "id1"}}}, ResultPath="$.get", End=True),
    }
    described = _run(aws, "sdk-dynamodb", states, "Put", {})
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output["put"] == {}
    assert output["update"] == {"Attributes": {"S": {"S": "Updated"}}}
    assert output["get"] == {"Item": {"id": {"S": "id1"}, "data": {"S": "HelloWorld"}, "S": {"S": "Updated"}}}


def test_dynamodb_errors_are_named_by_the_sdks_exception(aws: Callable[..., Any]) -> None:
    states = {"Put": _task("dynamodb:putItem", {"TableName": "no-such-table", "Item": {"id": {"S": "x"}}}, End=True)}
    described = _run(aws, "sdk-dynamodb-missing", states, "Put", {})
    assert described["status"] == "FAILED"
    assert described["error"] == "DynamoDb.ResourceNotFoundException"
    assert re.fullmatch(
        r"Requested resource not found \(Service: DynamoDb, Status Code: 400, Request ID: [0-9a-f-]{36}\) \(SDK Attempt Count: 1\)",
        described["cause"],
    ), described["cause"]


def test_s3_put_object_body_is_json_text_and_get_object_returns_it(aws: Callable[..., Any]) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="sdk-bucket")
    states = {
        "Put": _task("s3:putObject", {"Bucket": "sdk-bucket", "Key": "k", "Body.$": "$.body"}, ResultPath="$.put", Next="Get"),
        "Get": _task("s3:getObject", {"Bucket": "sdk-bucket", "Key": "k"}, ResultPath="$.get", End=True),
    }
    described = _run(aws, "sdk-s3", states, "Put", {"body": {"Dict": "Value"}})
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output["put"]["ETag"] == '"49e31cee5aec8faf3345893addb14346"'  # AWS's, for {"Dict":"Value"}
    got = output["get"]
    assert got["Body"] == '{"Dict":"Value"}' and got["ContentLength"] == 16 and got["Metadata"] == {}
    assert got["ContentType"] == "text/plain; charset=UTF-8"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z", got["LastModified"]), got["LastModified"]
    stored = s3.get_object(Bucket="sdk-bucket", Key="k")["Body"].read()
    assert stored == b'{"Dict":"Value"}'


def test_s3_no_such_key_is_caught_by_its_exception_name(aws: Callable[..., Any]) -> None:
    aws("s3").create_bucket(Bucket="sdk-empty")
    states = {
        "Get": _task(
            "s3:getObject",
            {"Bucket": "sdk-empty", "Key": "missing"},
            Catch=[{"ErrorEquals": ["S3.NoSuchKeyException"], "Next": "Caught"}],
            End=True,
        ),
        "Caught": {"Type": "Pass", "End": True},
    }
    described = _run(aws, "sdk-s3-missing", states, "Get", {})
    assert described["status"] == "SUCCEEDED", described
    caught = json.loads(described["output"])
    assert caught["Error"] == "S3.NoSuchKeyException"
    assert caught["Cause"].startswith("The specified key does not exist. (Service: S3, Status Code: 404, Request ID: ")


def test_sqs_send_and_sfn_start_execution_serialise_json_into_strings(aws: Callable[..., Any]) -> None:
    queue_url = aws("sqs").create_queue(QueueName="sdk-queue")["QueueUrl"]
    sfn = aws("stepfunctions")
    child = sfn.create_state_machine(
        name="sdk-child", definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}), roleArn=ROLE
    )["stateMachineArn"]
    states = {
        "Send": _task("sqs:sendMessage", {"QueueUrl": queue_url, "MessageBody": {"hello": "world"}}, ResultPath="$.sent", Next="Start"),
        "Start": _task("sfn:startExecution", {"StateMachineArn": child, "Input": {"key": "value"}}, ResultPath="$.started", End=True),
    }
    described = _run(aws, "sdk-sqs-sfn", states, "Send", {})
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert set(output["sent"]) >= {"MessageId", "MD5OfMessageBody"}
    assert output["started"]["ExecutionArn"].startswith("arn:aws:states:us-east-1:")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z", output["started"]["StartDate"])
    received = aws("sqs").receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"]
    assert received[0]["Body"] == '{"hello":"world"}'
    started = sfn.describe_execution(executionArn=output["started"]["ExecutionArn"])
    assert json.loads(started["input"]) == {"key": "value"}


def test_scheduler_create_schedule_runs(aws: Callable[..., Any]) -> None:
    """The serverless-patterns app stepfunctions-eventbridge-schedule-sam-python's one task."""
    states = {
        "CreateSchedule": _task(
            "scheduler:createSchedule",
            {
                "FlexibleTimeWindow": {"Mode": "OFF"},
                "Name.$": "States.Format('schedule_{}', $$.Execution.Name)",
                "ScheduleExpression.$": "States.Format('at({}T{})', $.scheduleDate, $.scheduleTime)",
                "Target": {
                    "Arn": "arn:aws:lambda:us-east-1:111111111111:function:nothing",
                    "RoleArn": ROLE,
                    "Input": {"scheduleDate.$": "$.scheduleDate"},
                },
            },
            End=True,
        )
    }
    described = _run(aws, "sdk-scheduler", states, "CreateSchedule", {"scheduleDate": "2099-01-01", "scheduleTime": "10:00:00"})
    assert described["status"] == "SUCCEEDED", described
    arn = json.loads(described["output"])["ScheduleArn"]
    schedule = aws("scheduler").get_schedule(Name=arn.rsplit("/", 1)[1])
    assert json.loads(schedule["Target"]["Input"]) == {"scheduleDate": "2099-01-01"}


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:states:::aws-sdk:nosuchservice:getItem",
        "arn:aws:states:::aws-sdk:dynamodb:GetItem",
        "arn:aws:states:::aws-sdk:dynamodb:getItem.sync",
        "arn:aws:states:::aws-sdk:lambda:invokeAsync",
        "arn:aws:states:::aws-sdk:s3:getObjects",  # a served service's model has no such action
    ],
)
def test_unknown_sdk_resources_are_refused_as_aws_refuses_them(aws: Callable[..., Any], resource: str) -> None:
    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True}}}
    with pytest.raises(ClientError) as refused:
        aws("stepfunctions").create_state_machine(name="sdk-refused", definition=json.dumps(definition), roleArn=ROLE)
    assert refused.value.response["Error"]["Code"] == "InvalidDefinition"
    assert (
        f"SCHEMA_VALIDATION_FAILED: The resource provided {resource} is not recognized. The value is not a valid resource "
        "ARN, or the resource is not available in this region. at /States/T/Resource"
    ) in refused.value.response["Error"]["Message"]


def test_validate_state_machine_definition_names_an_action_the_service_lacks(aws: Callable[..., Any]) -> None:
    resource = "arn:aws:states:::aws-sdk:s3:getObjects"
    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True}}}
    answer = aws("stepfunctions").validate_state_machine_definition(definition=json.dumps(definition))
    assert answer["result"] == "FAIL"
    assert [(d["code"], d["location"]) for d in answer["diagnostics"]] == [("SCHEMA_VALIDATION_FAILED", "/States/T/Resource")]


class _Crash(BaseException):
    """The process dying between a call and its record: nothing catches it."""


def _never(command: Any) -> TaskSucceeded | TaskFailed:
    raise AssertionError(f"handed on: {command}")


def test_an_sqs_send_is_had_once_across_a_crash_before_its_record(stack: Stack, aws: Callable[..., Any]) -> None:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName="sdk-once")["QueueUrl"]
    assert stack.sdk_tasks is not None and stack.sdk_tasks.call is not None
    call = stack.sdk_tasks.call
    crashed: list[bool] = []

    def crashing_once(resource: SdkResource, parameters: Mapping[str, Any]) -> JSON:
        answer = call(resource, parameters)
        if not crashed:
            crashed.append(True)
            raise _Crash
        return answer

    runner = AwsSdkTasks(_never, stack.local.journal)
    runner.serve(crashing_once)
    command = InvokeTask(
        "t1",
        "arn:aws:states:::aws-sdk:sqs:sendMessage",
        {"QueueUrl": url, "MessageBody": "once"},
        "Send",
        idempotency_key="arn:aws:states:us-east-1:111111111111:execution:crash:once#t1",
    )
    with pytest.raises(_Crash):
        runner(command)
    outcome = runner(command)  # the task run again, as after a restart
    assert isinstance(outcome, TaskSucceeded)
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    assert [m["Body"] for m in received["Messages"]] == ["once"]
    assert runner(command) == outcome  # recorded: a third run returns the same answer and sends nothing
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)


@pytest.mark.parametrize(
    ("resource", "once"),
    [
        ("sqs:sendMessage", True),
        ("sns:publish", True),
        ("eventbridge:putEvents", True),
        ("dynamodb:putItem", True),
        ("scheduler:createSchedule", True),
        ("sqs:receiveMessage", False),  # a long poll waits for senders, which the transaction would keep out
        ("s3:putObject", False),  # a file
        ("cloudwatchlogs:putLogEvents", False),  # another database
        ("sfn:startExecution", False),  # runs on the orchestrator's threads
    ],
)
def test_only_calls_whose_effects_are_rows_of_the_journals_database_are_atomic(resource: str, once: bool) -> None:
    parsed = parse_sdk_resource(f"arn:aws:states:::aws-sdk:{resource}")
    assert parsed is not None
    assert in_database(parsed) is once
