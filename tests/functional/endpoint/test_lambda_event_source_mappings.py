"""Lambda event source mappings through boto3: SQS queues and DynamoDB streams wired to API-made functions,
enabled, disabled, updated, deleted, refused in Lambda's words, and kept across a restart."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sluiceway.endpoint.server import Endpoint
from sluiceway.endpoint.services._lambda_mapping_runs import mapping_runs
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

ROLE = "arn:aws:iam::111111111111:role/lambda-role"
ACCOUNT = "111111111111"
QUEUE_ARN = f"arn:aws:sqs:us-east-1:{ACCOUNT}:"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:"


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("lambda_function.py", source)
    return buffer.getvalue()


RECORDER = _zip(
    "def handler(event, context):\n"
    "    for record in event['Records']:\n"
    "        print('got ' + (record.get('body') or record.get('eventName', '')) + ' ' + record['eventSource'])\n"
)


class Running:
    """A stack and its endpoint on one data dir, with boto3 clients of it."""

    def __init__(self, data_dir: Path) -> None:
        self.stack: Stack = build_stack(Settings.load(data_dir=data_dir, workers=2), invoker_mode="process")
        self.stack.start("event source mapping tests")
        self.endpoint = Endpoint(self.stack, host="127.0.0.1", port=0)
        self.endpoint.start()
        session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
        config = Config(retries={"max_attempts": 1})
        self.client: Callable[[str], Any] = lambda service: session.client(service, endpoint_url=self.endpoint.url, config=config)
        self.closed = False

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.endpoint.close()
        self.stack.close()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("esm") / "data"


@pytest.fixture(scope="module")
def running(data_dir: Path) -> Iterator[Running]:
    served = Running(data_dir)
    try:
        yield served
    finally:
        served.close()


@pytest.fixture(scope="module")
def lam(running: Running) -> Any:
    return running.client("lambda")


@pytest.fixture(scope="module")
def sqs(running: Running) -> Any:
    return running.client("sqs")


def _function(lam: Any, name: str) -> None:
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="lambda_function.handler", Code={"ZipFile": RECORDER})


def _queue(sqs: Any, name: str, **attributes: str) -> str:
    return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])


def _logged(client: Callable[[str], Any], function: str, text: str, timeout_s: float = 15) -> None:
    logs = client("logs")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}")["events"]
        except ClientError:
            events = []
        if any(text in e["message"] for e in events):
            return
        time.sleep(0.05)
    pytest.fail(f"{text!r} never reached {function}'s log")


def _waiting(sqs: Any, url: str) -> tuple[int, int]:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def _error(call: Callable[..., Any], **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    error = info.value.response
    return error["Error"]["Code"], error["Error"]["Message"], error["ResponseMetadata"]["HTTPStatusCode"]


def test_an_sqs_mapping_runs_its_function_until_disabled_and_again_when_enabled(running: Running, lam: Any, sqs: Any) -> None:
    _function(lam, "esm-orders")
    url = _queue(sqs, "esm-orders-q")
    made = lam.create_event_source_mapping(EventSourceArn=QUEUE_ARN + "esm-orders-q", FunctionName="esm-orders")
    assert made["ResponseMetadata"]["HTTPStatusCode"] == 202
    mapping_id = made["UUID"]
    assert {k: v for k, v in made.items() if k not in ("ResponseMetadata", "LastModified")} == {
        "UUID": mapping_id,
        "BatchSize": 10,
        "EventSourceArn": QUEUE_ARN + "esm-orders-q",
        "EventSourceMappingArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:event-source-mapping:{mapping_id}",
        "FunctionArn": FUNCTION_ARN + "esm-orders",
        "FunctionResponseTypes": [],
        "MaximumBatchingWindowInSeconds": 0,
        "State": "Creating",
        "StateTransitionReason": "USER_INITIATED",
    }
    assert lam.get_event_source_mapping(UUID=mapping_id)["State"] == "Enabled"

    sqs.send_message(QueueUrl=url, MessageBody="first")
    _logged(running.client, "esm-orders", "got first aws:sqs")

    disabling = lam.update_event_source_mapping(UUID=mapping_id, Enabled=False)
    assert disabling["State"] == "Disabling" and disabling["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert lam.get_event_source_mapping(UUID=mapping_id)["State"] == "Disabled"
    sqs.send_message(QueueUrl=url, MessageBody="while-disabled")
    # The poller stopped before the update returned: nothing receives the message.
    assert _waiting(sqs, url) == (1, 0)

    assert lam.update_event_source_mapping(UUID=mapping_id, Enabled=True)["State"] == "Enabling"
    _logged(running.client, "esm-orders", "got while-disabled aws:sqs")

    updated = lam.update_event_source_mapping(UUID=mapping_id, BatchSize=50, MaximumBatchingWindowInSeconds=1)
    assert (updated["State"], updated["BatchSize"], updated["MaximumBatchingWindowInSeconds"]) == ("Updating", 50, 1)

    deleting = lam.delete_event_source_mapping(UUID=mapping_id)
    assert deleting["State"] == "Deleting" and deleting["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert _error(lam.get_event_source_mapping, UUID=mapping_id) == (
        "ResourceNotFoundException",
        "The resource you requested does not exist.",
        404,
    )
    sqs.send_message(QueueUrl=url, MessageBody="after-delete")
    assert _waiting(sqs, url) == (1, 0)
    # Deleted, the same queue and function may be mapped again.
    again = lam.create_event_source_mapping(EventSourceArn=QUEUE_ARN + "esm-orders-q", FunctionName="esm-orders", Enabled=False)
    assert again["State"] == "Disabled"
    lam.delete_event_source_mapping(UUID=again["UUID"])


def test_a_second_mapping_of_a_queue_to_the_same_function_conflicts(lam: Any, sqs: Any) -> None:
    _function(lam, "esm-dup")
    _queue(sqs, "esm-dup-q")
    first = lam.create_event_source_mapping(EventSourceArn=QUEUE_ARN + "esm-dup-q", FunctionName="esm-dup", Enabled=False)
    code, message, status = _error(lam.create_event_source_mapping, EventSourceArn=QUEUE_ARN + "esm-dup-q", FunctionName="esm-dup")
    assert (code, status) == ("ResourceConflictException", 409)
    assert message == (
        f'An event source mapping with SQS arn (" {QUEUE_ARN}esm-dup-q ") and function (" esm-dup ") already exists.'
        f" Please update or delete the existing mapping with UUID {first['UUID']}"
    )


@pytest.fixture(scope="module")
def checked(lam: Any, sqs: Any) -> None:
    _function(lam, "esm-checks")
    _queue(sqs, "esm-checks-q")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ("InvalidParameterValueException", "Unrecognized event source.", 400)),
        (
            {"EventSourceArn": QUEUE_ARN + "esm-checks-q", "StartingPosition": "LATEST"},
            ("InvalidParameterValueException", "StartingPosition is not valid for SQS event sources.", 400),
        ),
        (
            {"EventSourceArn": QUEUE_ARN + "esm-checks-q", "BatchSize": 11},
            (
                "InvalidParameterValueException",
                "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10",
                400,
            ),
        ),
        (
            {"EventSourceArn": QUEUE_ARN + "esm-checks-q", "BatchSize": 10001, "MaximumBatchingWindowInSeconds": 1},
            (
                "ValidationException",
                "1 validation error detected: Value '10001' at 'batchSize' failed to satisfy constraint:"
                " Member must have value less than or equal to 10000",
                400,
            ),
        ),
        (
            {"EventSourceArn": QUEUE_ARN + "esm-checks-q", "DestinationConfig": {"OnSuccess": {"Destination": QUEUE_ARN + "x"}}},
            ("InvalidParameterValueException", "Unsupported DestinationConfig parameter for given event source mapping type.", 400),
        ),
        (
            {"EventSourceArn": QUEUE_ARN + "esm-checks-q", "FilterCriteria": {"Filters": [{"Pattern": "not json"}]}},
            ("InvalidParameterValueException", "Invalid filter pattern definition.", 400),
        ),
        (
            {"EventSourceArn": QUEUE_ARN + "esm-no-such-queue"},
            (
                "InvalidParameterValueException",
                "Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue."
                " SQS Error Message: The specified queue does not exist.",
                400,
            ),
        ),
        (
            {"EventSourceArn": QUEUE_ARN + "esm-checks-q", "FunctionName": "esm-no-such-function"},
            ("InvalidParameterValueException", "Function does not exist", 400),
        ),
    ],
)
def test_create_refusals_in_lambdas_words(lam: Any, checked: None, params: dict[str, Any], expected: tuple[str, str, int]) -> None:
    assert _error(lam.create_event_source_mapping, **{"FunctionName": "esm-checks", **params}) == expected


def test_other_event_sources_are_refused_naming_the_source(lam: Any) -> None:
    broker = f"arn:aws:mq:us-east-1:{ACCOUNT}:broker:b:b-1234abcd"
    code, message, status = _error(lam.create_event_source_mapping, EventSourceArn=broker, FunctionName="x")
    assert (code, status) == ("InvalidParameterValueException", 400) and broker in message


def test_unknown_uuids_are_not_found(lam: Any) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    expected = ("ResourceNotFoundException", "The resource you requested does not exist.", 404)
    assert _error(lam.get_event_source_mapping, UUID=missing) == expected
    assert _error(lam.update_event_source_mapping, UUID=missing, Enabled=False) == expected
    assert _error(lam.delete_event_source_mapping, UUID=missing) == expected


def test_a_dynamodb_stream_mapping_runs_its_function(running: Running, lam: Any) -> None:
    dynamodb = running.client("dynamodb")
    table = dynamodb.create_table(
        TableName="esm-orders-t",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]
    stream = table["LatestStreamArn"]
    _function(lam, "esm-stream")
    expected = (
        "InvalidParameterValueException",
        "1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: Member must not be null.",
        400,
    )
    assert _error(lam.create_event_source_mapping, EventSourceArn=stream, FunctionName="esm-stream") == expected
    assert _error(lam.create_event_source_mapping, EventSourceArn=stream, FunctionName="esm-stream", StartingPosition="AT_TIMESTAMP") == (
        "InvalidParameterValueException",
        f"Unsupported starting position for arn type: {stream}",
        400,
    )
    made = lam.create_event_source_mapping(EventSourceArn=stream, FunctionName="esm-stream", StartingPosition="TRIM_HORIZON", BatchSize=1)
    assert {k: v for k, v in made.items() if k not in ("ResponseMetadata", "LastModified", "UUID", "EventSourceMappingArn")} == {
        "BatchSize": 1,
        "BisectBatchOnFunctionError": False,
        "DestinationConfig": {"OnFailure": {}},
        "EventSourceArn": stream,
        "FunctionArn": FUNCTION_ARN + "esm-stream",
        "FunctionResponseTypes": [],
        "LastProcessingResult": "No records processed",
        "MaximumBatchingWindowInSeconds": 0,
        "MaximumRecordAgeInSeconds": -1,
        "MaximumRetryAttempts": -1,
        "ParallelizationFactor": 1,
        "StartingPosition": "TRIM_HORIZON",
        "State": "Creating",
        "StateTransitionReason": "User action",
        "TumblingWindowInSeconds": 0,
    }
    code, message, status = _error(
        lam.create_event_source_mapping, EventSourceArn=stream, FunctionName="esm-stream", StartingPosition="LATEST"
    )
    assert (code, status) == ("ResourceConflictException", 409) and made["UUID"] in message
    dynamodb.put_item(TableName="esm-orders-t", Item={"id": {"S": "o-1"}})
    _logged(running.client, "esm-stream", "got INSERT aws:dynamodb")
    # Disabled, then enabled again, the mapping resumes after what it handled: nothing is read twice.
    assert lam.update_event_source_mapping(UUID=made["UUID"], Enabled=False)["State"] == "Disabling"
    dynamodb.put_item(TableName="esm-orders-t", Item={"id": {"S": "o-1"}, "n": {"N": "2"}})
    assert lam.update_event_source_mapping(UUID=made["UUID"], Enabled=True)["State"] == "Enabling"
    _logged(running.client, "esm-stream", "got MODIFY aws:dynamodb")
    events = running.client("logs").filter_log_events(logGroupName="/aws/lambda/esm-stream")["events"]
    assert sum("got INSERT" in e["message"] for e in events) == 1
    assert lam.delete_event_source_mapping(UUID=made["UUID"])["State"] == "Deleting"


def test_list_filters_and_pages(lam: Any, sqs: Any) -> None:
    _function(lam, "esm-list")
    made = []
    for index in range(3):
        _queue(sqs, f"esm-list-{index}")
        made.append(lam.create_event_source_mapping(EventSourceArn=f"{QUEUE_ARN}esm-list-{index}", FunctionName="esm-list", Enabled=False))
    by_function = lam.list_event_source_mappings(FunctionName="esm-list")["EventSourceMappings"]
    assert sorted(m["UUID"] for m in by_function) == sorted(m["UUID"] for m in made)
    assert all(m["State"] == "Disabled" for m in by_function)
    by_source = lam.list_event_source_mappings(EventSourceArn=f"{QUEUE_ARN}esm-list-1")["EventSourceMappings"]
    assert [m["UUID"] for m in by_source] == [made[1]["UUID"]]
    first = lam.list_event_source_mappings(FunctionName=f"{FUNCTION_ARN}esm-list", MaxItems=2)
    second = lam.list_event_source_mappings(FunctionName="esm-list", MaxItems=2, Marker=first["NextMarker"])
    assert "NextMarker" not in second
    assert sorted(m["UUID"] for m in first["EventSourceMappings"] + second["EventSourceMappings"]) == sorted(m["UUID"] for m in made)


def test_tags_made_with_a_mapping_and_after(lam: Any, sqs: Any) -> None:
    _function(lam, "esm-tags")
    _queue(sqs, "esm-tags-q")
    made = lam.create_event_source_mapping(EventSourceArn=QUEUE_ARN + "esm-tags-q", FunctionName="esm-tags", Enabled=False, Tags={"a": "1"})
    arn = made["EventSourceMappingArn"]
    assert lam.list_tags(Resource=arn)["Tags"] == {"a": "1"}
    lam.tag_resource(Resource=arn, Tags={"b": "2"})
    lam.untag_resource(Resource=arn, TagKeys=["a"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"b": "2"}
    lam.delete_event_source_mapping(UUID=made["UUID"])
    assert _error(lam.list_tags, Resource=arn) == ("ResourceNotFoundException", f"Event source mapping not found: {arn}", 404)


def test_a_mapping_outlives_a_restart(tmp_path: Path) -> None:
    # Its own data dir and stack: closing them leaves the module's stack to the other tests.
    first = Running(tmp_path / "data")
    try:
        lam, sqs = first.client("lambda"), first.client("sqs")
        _function(lam, "esm-kept")
        _queue(sqs, "esm-kept-q")
        made = lam.create_event_source_mapping(EventSourceArn=QUEUE_ARN + "esm-kept-q", FunctionName="esm-kept", BatchSize=5)
    finally:
        first.close()
    again = Running(tmp_path / "data")
    try:
        kept = again.client("lambda").get_event_source_mapping(UUID=made["UUID"])
        assert (kept["State"], kept["BatchSize"], kept["FunctionArn"]) == ("Enabled", 5, FUNCTION_ARN + "esm-kept")
        url = again.client("sqs").get_queue_url(QueueName="esm-kept-q")["QueueUrl"]
        again.client("sqs").send_message(QueueUrl=url, MessageBody="after-restart")
        _logged(again.client, "esm-kept", "got after-restart aws:sqs")
    finally:
        again.close()


SLOW = _zip(
    "import time\n"
    "def handler(event, context):\n"
    "    for record in event['Records']:\n"
    "        key = record.get('body') or record['dynamodb']['Keys']['id']['S']\n"
    "        print('start ' + key)\n"
    "        time.sleep(float(key.split('-')[-1]))\n"
    "        print('done ' + key)\n"
)
"""Sleeps as many seconds as its record's key ends with (``slow-2``: two seconds)."""


def _slow_function(lam: Any, name: str) -> None:
    lam.create_function(
        FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="lambda_function.handler", Code={"ZipFile": SLOW}, Timeout=30
    )


def _table(dynamodb: Any, name: str) -> str:
    created = dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    return str(created["TableDescription"]["LatestStreamArn"])


def _count(client: Callable[[str], Any], function: str, text: str) -> int:
    events = client("logs").filter_log_events(logGroupName=f"/aws/lambda/{function}")["events"]
    return sum(text in e["message"] for e in events)


def test_disabling_a_stream_mapping_answers_at_once_and_never_sends_the_running_batch_again(running: Running, lam: Any) -> None:
    dynamodb = running.client("dynamodb")
    _slow_function(lam, "esm-slow-stream")
    stream = _table(dynamodb, "esm-slow-t")
    made = lam.create_event_source_mapping(
        EventSourceArn=stream, FunctionName="esm-slow-stream", StartingPosition="TRIM_HORIZON", BatchSize=1
    )
    dynamodb.put_item(TableName="esm-slow-t", Item={"id": {"S": "slow-2"}})
    _logged(running.client, "esm-slow-stream", "start slow-2")
    began = time.monotonic()
    assert lam.update_event_source_mapping(UUID=made["UUID"], Enabled=False)["State"] == "Disabling"
    assert lam.list_event_source_mappings(FunctionName="esm-slow-stream")["EventSourceMappings"]  # nothing frozen meanwhile
    assert time.monotonic() - began < 1.5, "the disable waited for the running batch"
    _logged(running.client, "esm-slow-stream", "done slow-2")
    # The batch in flight moved the checkpoint as it ended: enabled again, the mapping reads on after it.
    assert lam.update_event_source_mapping(UUID=made["UUID"], Enabled=True)["State"] == "Enabling"
    dynamodb.put_item(TableName="esm-slow-t", Item={"id": {"S": "next-0"}})
    _logged(running.client, "esm-slow-stream", "done next-0")
    assert _count(running.client, "esm-slow-stream", "start slow-2") == 1
    assert lam.get_event_source_mapping(UUID=made["UUID"])["LastProcessingResult"] == "OK"
    lam.delete_event_source_mapping(UUID=made["UUID"])


def test_deleting_a_mapping_answers_while_its_batch_runs(running: Running, lam: Any, sqs: Any) -> None:
    _slow_function(lam, "esm-slow-queue")
    url = _queue(sqs, "esm-slow-q", VisibilityTimeout="60")
    made = lam.create_event_source_mapping(EventSourceArn=QUEUE_ARN + "esm-slow-q", FunctionName="esm-slow-queue")
    sqs.send_message(QueueUrl=url, MessageBody="slow-4")
    _logged(running.client, "esm-slow-queue", "start slow-4")
    began = time.monotonic()
    assert lam.delete_event_source_mapping(UUID=made["UUID"])["State"] == "Deleting"
    assert time.monotonic() - began < 3, "the delete waited for the running batch"
    # The batch in flight still ends and deletes its message.
    _logged(running.client, "esm-slow-queue", "done slow-4")
    deadline = time.monotonic() + 10
    while _waiting(sqs, url) != (0, 0):
        assert time.monotonic() < deadline, "the running batch's message was never deleted"
        time.sleep(0.05)


def test_a_deleted_mapping_is_never_started_again(running: Running, lam: Any, sqs: Any) -> None:
    # What an endpoint listed before a delete must not start after it (a sync racing the delete).
    _function(lam, "esm-gone")
    _queue(sqs, "esm-gone-q")
    made = lam.create_event_source_mapping(EventSourceArn=QUEUE_ARN + "esm-gone-q", FunctionName="esm-gone", Enabled=False)
    runs = mapping_runs(running.stack, running.endpoint.shared)
    listed = runs.store.get(made["UUID"])
    assert listed is not None
    runs.store.replace(replace(listed, enabled=True))
    lam.delete_event_source_mapping(UUID=made["UUID"])
    runs.start(made["UUID"])
    assert not runs.running(made["UUID"])
    assert all(p.mapping.queue_name != "esm-gone-q" for p in running.stack.triggers.pollers)


def test_a_stream_mapping_takes_an_s3_on_failure_destination(running: Running, lam: Any) -> None:
    # As Lambda does (LocalStack's recording of test_dynamodb_event_source_mapping_with_s3_on_failure_destination).
    dynamodb = running.client("dynamodb")
    _function(lam, "esm-s3-failures")
    stream = _table(dynamodb, "esm-s3-failures-t")
    destination = {"OnFailure": {"Destination": "arn:aws:s3:::esm-failures"}}
    made = lam.create_event_source_mapping(
        EventSourceArn=stream, FunctionName="esm-s3-failures", StartingPosition="LATEST", DestinationConfig=destination
    )
    assert made["ResponseMetadata"]["HTTPStatusCode"] == 202 and made["DestinationConfig"] == destination
    assert lam.get_event_source_mapping(UUID=made["UUID"])["DestinationConfig"] == destination
    lam.delete_event_source_mapping(UUID=made["UUID"])
