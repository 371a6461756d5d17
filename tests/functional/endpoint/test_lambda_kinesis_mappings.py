"""Lambda event source mappings of Kinesis streams through boto3: made, run shard by shard, and refused in Lambda's words."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

ROLE = "arn:aws:iam::111111111111:role/lambda-role"
ACCOUNT = "111111111111"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:"


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("lambda_function.py", source)
    return buffer.getvalue()


RECORDER = _zip(
    "import base64\n"
    "def handler(event, context):\n"
    "    for record in event['Records']:\n"
    "        print('got ' + base64.b64decode(record['kinesis']['data']).decode() + ' ' + record['eventID'].split(':')[0]"
    " + ' ' + record['invokeIdentityArn'])\n"
)


class Running:
    """A stack and its endpoint on one data dir, with boto3 clients of it."""

    def __init__(self, data_dir: Path) -> None:
        self.stack: Stack = build_stack(Settings.load(data_dir=data_dir, workers=2), invoker_mode="process")
        self.stack.start("kinesis mapping tests")
        self.endpoint = Endpoint(self.stack, host="127.0.0.1", port=0)
        self.endpoint.start()
        session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
        config = Config(retries={"max_attempts": 1})
        self.client: Callable[[str], Any] = lambda service: session.client(service, endpoint_url=self.endpoint.url, config=config)

    def close(self) -> None:
        self.endpoint.close()
        self.stack.close()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    served = Running(tmp_path_factory.mktemp("kinesis-esm") / "data")
    try:
        yield served
    finally:
        served.close()


def _error(call: Callable[..., Any], **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    error = info.value.response
    return error["Error"]["Code"], error["Error"]["Message"], error["ResponseMetadata"]["HTTPStatusCode"]


def _logged(running: Running, function: str, count: int, timeout_s: float = 20) -> list[str]:
    logs = running.client("logs")
    deadline = time.monotonic() + timeout_s
    lines: list[str] = []
    while time.monotonic() < deadline:
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}")["events"]
        except ClientError:
            events = []
        lines = [e["message"].strip() for e in events if e["message"].startswith("got ")]
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    pytest.fail(f"{function} logged {lines}, not {count} records")


def test_a_kinesis_mapping_runs_its_function_for_every_shard(running: Running) -> None:
    lam, kinesis = running.client("lambda"), running.client("kinesis")
    kinesis.create_stream(StreamName="esm-clicks", ShardCount=2)
    stream = kinesis.describe_stream_summary(StreamName="esm-clicks")["StreamDescriptionSummary"]["StreamARN"]
    lam.create_function(
        FunctionName="esm-kinesis", Runtime="python3.12", Role=ROLE, Handler="lambda_function.handler", Code={"ZipFile": RECORDER}
    )
    kinesis.put_record(StreamName="esm-clicks", Data=b"left", PartitionKey="a", ExplicitHashKey="0")
    kinesis.put_record(StreamName="esm-clicks", Data=b"right", PartitionKey="b", ExplicitHashKey=str(2**127 + 1))
    made = lam.create_event_source_mapping(EventSourceArn=stream, FunctionName="esm-kinesis", StartingPosition="TRIM_HORIZON")
    assert {k: v for k, v in made.items() if k not in ("ResponseMetadata", "LastModified", "UUID", "EventSourceMappingArn")} == {
        "BatchSize": 100,
        "BisectBatchOnFunctionError": False,
        "DestinationConfig": {"OnFailure": {}},
        "EventSourceArn": stream,
        "FunctionArn": FUNCTION_ARN + "esm-kinesis",
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
    lines = _logged(running, "esm-kinesis", 2)
    identity = ROLE  # the function's execution role, as GetFunctionConfiguration reports it
    assert sorted(lines) == [f"got left shardId-000000000000 {identity}", f"got right shardId-000000000001 {identity}"]
    code, message, status = _error(
        lam.create_event_source_mapping, EventSourceArn=stream, FunctionName="esm-kinesis", StartingPosition="LATEST"
    )
    assert (code, status) == ("ResourceConflictException", 409)
    assert message == (
        f'The event source arn (" {stream} ") and function (" esm-kinesis ") provided mapping already exists.'
        f" Please update or delete the existing mapping with UUID {made['UUID']}"
    )
    # Disabled, then enabled again, each shard resumes after what it handled.
    lam.update_event_source_mapping(UUID=made["UUID"], Enabled=False)
    kinesis.put_record(StreamName="esm-clicks", Data=b"later", PartitionKey="b", ExplicitHashKey=str(2**127 + 1))
    lam.update_event_source_mapping(UUID=made["UUID"], Enabled=True)
    lines = _logged(running, "esm-kinesis", 3)
    assert sorted(line.split()[1] for line in lines) == ["later", "left", "right"]
    assert lam.delete_event_source_mapping(UUID=made["UUID"])["State"] == "Deleting"


def test_kinesis_mappings_are_checked_as_lambda_checks_them(running: Running) -> None:
    lam, kinesis = running.client("lambda"), running.client("kinesis")
    lam.create_function(
        FunctionName="esm-kinesis-checks", Runtime="python3.12", Role=ROLE, Handler="lambda_function.handler", Code={"ZipFile": RECORDER}
    )
    missing = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/esm-no-such-stream"
    assert _error(
        lam.create_event_source_mapping, EventSourceArn=missing, FunctionName="esm-kinesis-checks", StartingPosition="LATEST"
    ) == (
        "InvalidParameterValueException",
        f"Stream not found: {missing}",
        400,
    )
    kinesis.create_stream(StreamName="esm-checked", ShardCount=1)
    stream = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/esm-checked"
    code, message, _ = _error(
        lam.create_event_source_mapping,
        EventSourceArn=stream,
        FunctionName="esm-kinesis-checks",
        StartingPosition="LATEST",
        TumblingWindowInSeconds=60,
    )
    assert code == "InvalidParameterValueException" and "TumblingWindowInSeconds" in message
    since = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    made = lam.create_event_source_mapping(
        EventSourceArn=stream, FunctionName="esm-kinesis-checks", StartingPosition="AT_TIMESTAMP", StartingPositionTimestamp=since
    )
    assert made["StartingPosition"] == "AT_TIMESTAMP" and made["StartingPositionTimestamp"] == since
    assert lam.get_event_source_mapping(UUID=made["UUID"])["StartingPositionTimestamp"] == since
    lam.delete_event_source_mapping(UUID=made["UUID"])


def test_a_kept_mapping_this_run_cannot_start_says_why(tmp_path: Path) -> None:
    from dataclasses import replace

    from sluiceway.backends.local.event_source_mappings import SqliteEventSourceMappings

    first = Running(tmp_path / "data")
    try:
        lam, kinesis = first.client("lambda"), first.client("kinesis")
        kinesis.create_stream(StreamName="windowed", ShardCount=1)
        stream = kinesis.describe_stream_summary(StreamName="windowed")["StreamDescriptionSummary"]["StreamARN"]
        lam.create_function(
            FunctionName="windowed-fn", Runtime="python3.12", Role=ROLE, Handler="lambda_function.handler", Code={"ZipFile": RECORDER}
        )
        made = lam.create_event_source_mapping(EventSourceArn=stream, FunctionName="windowed-fn", StartingPosition="LATEST")
    finally:
        first.close()
    # As an earlier release kept it: with a tumbling window, which this one does not run.
    store = SqliteEventSourceMappings(tmp_path / "data" / "lambda.db")
    kept = store.get(made["UUID"])
    assert kept is not None
    store.replace(replace(kept, config={**kept.config, "TumblingWindowInSeconds": 60}))
    store.close()
    again = Running(tmp_path / "data")
    try:
        shown = again.client("lambda").get_event_source_mapping(UUID=made["UUID"])
        assert shown["LastProcessingResult"].startswith("PROBLEM: TumblingWindowInSeconds 60 is not emulated locally")
    finally:
        again.close()
