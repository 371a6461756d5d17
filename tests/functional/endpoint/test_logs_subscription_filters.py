"""CloudWatch Logs subscription filters through the endpoint with boto3: the operations and their
errors in AWS's words, and the deliveries their feed makes, each matching event once, to a Lambda
function (an asynchronous invocation with ``awslogs.data``) and to a Kinesis stream (a record)."""

from __future__ import annotations

import gzip
import io
import json
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sluiceway.backends.local._cw_subscription_feed import SubscriptionFeed
from sluiceway.backends.local.async_invocations import SqliteAsyncInvocations
from sluiceway.backends.local.kinesis import KinesisRecord, PutEntry, SqliteKinesis
from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

ACCOUNT = "111111111111"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/logs-role"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:"
STREAM_ARN = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/"


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("lambda_function.py", source)
    return buffer.getvalue()


SINK = _zip(
    "import base64, gzip, json\n"
    "def handler(event, context):\n"
    "    data = json.loads(gzip.decompress(base64.b64decode(event['awslogs']['data'])))\n"
    "    print('got ' + json.dumps(data))\n"
)


class Running:
    """A stack and its endpoint without the stack's alarm evaluator: each test pulls the feed itself."""

    def __init__(self, data_dir: Path) -> None:
        self.stack: Stack = build_stack(Settings.load(data_dir=data_dir, workers=2), invoker_mode="process")
        self.evaluator, self.stack.alarms = self.stack.alarms, None
        self.stack.start("subscription filter tests")
        self.endpoint = Endpoint(self.stack, host="127.0.0.1", port=0)
        self.endpoint.start()
        session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
        config = Config(retries={"max_attempts": 1})
        self.client: Callable[[str], Any] = lambda service: session.client(service, endpoint_url=self.endpoint.url, config=config)

    def feed(self, invocations: SqliteAsyncInvocations | None = None) -> SubscriptionFeed:
        local = self.stack.local
        kinesis = self.stack.kinesis
        assert kinesis is not None
        return SubscriptionFeed(local.cloudwatch, local.logs.path, invocations or local.async_invocations, kinesis, account_id=ACCOUNT)

    def close(self) -> None:
        self.endpoint.close()
        self.stack.close()
        if self.evaluator is not None:
            self.evaluator.close()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    served = Running(tmp_path_factory.mktemp("subscription-filters") / "data")
    try:
        yield served
    finally:
        served.close()


@pytest.fixture(scope="module")
def logs(running: Running) -> Any:
    return running.client("logs")


@pytest.fixture
def feed(running: Running) -> Iterator[SubscriptionFeed]:
    made = running.feed()
    try:
        yield made
    finally:
        made.close()


def _error(call: Callable[..., Any], **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return str(info.value.response["Error"]["Code"]), str(info.value.response["Error"]["Message"])


def _group(logs: Any, name: str) -> str:
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    return name


def _put(logs: Any, group: str, messages: list[str], stream: str = "s") -> None:
    now = int(datetime.now(UTC).timestamp() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": now, "message": m} for m in messages])


def _function(running: Running, name: str) -> str:
    running.client("lambda").create_function(
        FunctionName=name, Runtime="python3.12", Role=f"arn:aws:iam::{ACCOUNT}:role/lambda", Handler="lambda_function.handler",
        Code={"ZipFile": SINK},
    )  # fmt: skip
    return FUNCTION_ARN + name


def _stream(running: Running, name: str) -> str:
    running.client("kinesis").create_stream(StreamName=name, ShardCount=1)
    return STREAM_ARN + name


def _received(running: Running, function: str, count: int, timeout_s: float = 30) -> list[dict[str, Any]]:
    """The decoded deliveries the sink function printed, once there are ``count``."""
    logs = running.client("logs")
    deadline = time.monotonic() + timeout_s
    got: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}")["events"]
        except ClientError:
            events = []
        got = [json.loads(e["message"].strip()[len("got ") :]) for e in events if e["message"].startswith("got ")]
        if len(got) >= count:
            return got
        time.sleep(0.05)
    pytest.fail(f"{function} received {got}, not {count} deliveries")


def _records(running: Running, stream: str) -> list[tuple[str, dict[str, Any]]]:
    """``(partition key, decoded data)`` of every record in the one-shard stream."""
    kinesis = running.client("kinesis")
    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    records = kinesis.get_records(ShardIterator=iterator)["Records"]
    return [(r["PartitionKey"], json.loads(gzip.decompress(r["Data"]))) for r in records]


# -- deliveries ------------------------------------------------------------------------------


def test_a_function_gets_the_matching_events_of_each_stream_once(running: Running, logs: Any, feed: SubscriptionFeed) -> None:
    arn = _function(running, "sub-sink")
    group = _group(logs, "/app/orders")
    logs.create_log_stream(logGroupName=group, logStreamName="other")
    _put(logs, group, ["ERROR before the filter"])
    logs.put_subscription_filter(logGroupName=group, filterName="errors", filterPattern="ERROR", destinationArn=arn)
    _put(logs, group, ["ERROR one", "all fine", "ERROR two"])
    _put(logs, group, ["ERROR three"], stream="other")
    assert feed.pull() == 2  # one delivery per log stream
    assert feed.pull() == 0
    again = running.feed()  # as after a restart: the cursor was committed with the deliveries
    try:
        assert again.pull() == 0
    finally:
        again.close()
    got = sorted(_received(running, "sub-sink", 2), key=lambda d: str(d["logStream"]))
    assert [list(d) for d in got] == [["messageType", "owner", "logGroup", "logStream", "subscriptionFilters", "logEvents"]] * 2
    assert [(d["messageType"], d["owner"], d["logGroup"], d["logStream"], d["subscriptionFilters"]) for d in got] == [
        ("DATA_MESSAGE", ACCOUNT, group, "other", ["errors"]),
        ("DATA_MESSAGE", ACCOUNT, group, "s", ["errors"]),
    ]
    assert [e["message"] for e in got[1]["logEvents"]] == ["ERROR one", "ERROR two"]
    assert [e["message"] for e in got[0]["logEvents"]] == ["ERROR three"]
    first = got[1]["logEvents"][0]
    assert list(first) == ["id", "timestamp", "message"]
    assert len(first["id"]) == 56 and first["id"].isdigit() and first["id"] < got[1]["logEvents"][1]["id"]
    assert isinstance(first["timestamp"], int)


def test_a_kinesis_stream_gets_a_control_message_then_gzipped_deliveries(running: Running, logs: Any, feed: SubscriptionFeed) -> None:
    arn = _stream(running, "log-sink")
    group = _group(logs, "/app/access")
    logs.put_subscription_filter(
        logGroupName=group, filterName="to-kinesis", filterPattern="[ip, user, status=5*]", destinationArn=arn, roleArn=ROLE
    )
    _put(logs, group, ["10.0.0.1 alice 500", "10.0.0.2 bob 200", "10.0.0.3 carol 503"])
    assert feed.pull() == 1
    records = _records(running, "log-sink")
    assert len(records) == 2
    control = records[0][1]
    assert control["messageType"] == "CONTROL_MESSAGE"
    assert control["logEvents"][0]["message"] == "CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."
    key, data = records[1]
    assert len(key) == 32 and int(key, 16) >= 0
    assert (data["messageType"], data["logGroup"], data["logStream"], data["subscriptionFilters"]) == (
        "DATA_MESSAGE",
        group,
        "s",
        ["to-kinesis"],
    )
    assert [e["message"] for e in data["logEvents"]] == ["10.0.0.1 alice 500", "10.0.0.3 carol 503"]
    # A space-delimited pattern's named fields come with each event, as AWS adds them.
    assert data["logEvents"][0]["extractedFields"] == {"ip": "10.0.0.1", "user": "alice", "status": "500"}


class _FailingKinesis(SqliteKinesis):
    """Puts, then fails on the second put of a pull: a crash part-way through a batch's deliveries."""

    def __init__(self, real: SqliteKinesis) -> None:
        super().__init__(real.db, real.clock, region=real.region, account_id=real.account_id)
        self.calls = 0

    def put(self, stream_arn: str, entries: Sequence[PutEntry]) -> list[KinesisRecord]:
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("crash")
        return super().put(stream_arn, entries)


def test_a_crash_part_way_through_delivers_nothing_and_the_next_pull_everything(running: Running, logs: Any) -> None:
    local, kinesis = running.stack.local, running.stack.kinesis
    assert kinesis is not None
    arn = _stream(running, "crash-sink")
    group = _group(logs, "/app/crash")
    logs.create_log_stream(logGroupName=group, logStreamName="t")
    logs.put_subscription_filter(logGroupName=group, filterName="all", filterPattern="", destinationArn=arn, roleArn=ROLE)
    _put(logs, group, ["a"])
    _put(logs, group, ["b"], stream="t")
    failing = SubscriptionFeed(local.cloudwatch, local.logs.path, local.async_invocations, _FailingKinesis(kinesis), account_id=ACCOUNT)
    try:
        with pytest.raises(RuntimeError):
            failing.pull()
    finally:
        failing.close()
    assert [d["messageType"] for _, d in _records(running, "crash-sink")] == ["CONTROL_MESSAGE"]  # the first put rolled back
    feed = running.feed()
    try:
        assert feed.pull() == 2
        assert feed.pull() == 0
    finally:
        feed.close()
    deliveries = [d for _, d in _records(running, "crash-sink") if d["messageType"] == "DATA_MESSAGE"]
    assert sorted((d["logStream"], [e["message"] for e in d["logEvents"]]) for d in deliveries) == [("s", ["a"]), ("t", ["b"])]


def test_an_updated_filter_delivers_with_its_new_pattern_and_a_deleted_one_nothing(
    running: Running, logs: Any, feed: SubscriptionFeed
) -> None:
    arn = _stream(running, "update-sink")
    group = _group(logs, "/app/update")
    logs.put_subscription_filter(logGroupName=group, filterName="f", filterPattern="old", destinationArn=arn, roleArn=ROLE)
    first = logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"][0]
    logs.put_subscription_filter(logGroupName=group, filterName="f", filterPattern="new", destinationArn=arn, roleArn=ROLE)
    updated = logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]
    assert len(updated) == 1 and updated[0]["filterPattern"] == "new" and updated[0]["creationTime"] == first["creationTime"]
    _put(logs, group, ["old line", "new line"])
    assert feed.pull() == 1
    logs.delete_subscription_filter(logGroupName=group, filterName="f")
    _put(logs, group, ["new again"])
    assert feed.pull() == 0
    deliveries = [d for _, d in _records(running, "update-sink") if d["messageType"] == "DATA_MESSAGE"]
    assert [[e["message"] for e in d["logEvents"]] for d in deliveries] == [["new line"]]


# -- the operations --------------------------------------------------------------------------


def test_describe_answers_aws_shape_with_prefix_and_pages(running: Running, logs: Any) -> None:
    arn = _function(running, "describe-sink")
    stream = _stream(running, "describe-stream")
    group = _group(logs, "/app/describe")
    assert logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"] == []
    logs.put_subscription_filter(logGroupName=group, filterName="b-lambda", filterPattern="", destinationArn=arn)
    logs.put_subscription_filter(
        logGroupName=group, filterName="a-kinesis", filterPattern="[...]", destinationArn=stream, roleArn=ROLE, distribution="Random"
    )
    found = logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]
    assert [f["filterName"] for f in found] == ["a-kinesis", "b-lambda"]
    lam = found[1]
    created = lam.pop("creationTime")
    assert isinstance(created, int) and created > 0
    assert lam == {
        "filterName": "b-lambda",
        "logGroupName": group,
        "filterPattern": "",
        "destinationArn": arn,
        "distribution": "ByLogStream",
        "applyOnTransformedLogs": False,
    }
    assert found[0]["roleArn"] == ROLE and found[0]["distribution"] == "Random"
    assert [
        f["filterName"] for f in logs.describe_subscription_filters(logGroupName=group, filterNamePrefix="b")["subscriptionFilters"]
    ] == ["b-lambda"]
    page = logs.describe_subscription_filters(logGroupName=group, limit=1)
    assert [f["filterName"] for f in page["subscriptionFilters"]] == ["a-kinesis"]
    rest = logs.describe_subscription_filters(logGroupName=group, limit=1, nextToken=page["nextToken"])
    assert [f["filterName"] for f in rest["subscriptionFilters"]] == ["b-lambda"] and "nextToken" not in rest


def test_a_group_holds_two_filters_and_takes_them_when_deleted(running: Running, logs: Any) -> None:
    arn = _function(running, "limit-sink")
    group = _group(logs, "/app/limit")
    logs.put_subscription_filter(logGroupName=group, filterName="one", filterPattern="", destinationArn=arn)
    logs.put_subscription_filter(logGroupName=group, filterName="two", filterPattern="[...]", destinationArn=arn)
    assert _error(logs.put_subscription_filter, logGroupName=group, filterName="three", filterPattern="", destinationArn=arn) == (
        "LimitExceededException",
        "Resource limit exceeded.",
    )
    logs.put_subscription_filter(logGroupName=group, filterName="two", filterPattern="x", destinationArn=arn)  # an update is no third
    logs.delete_log_group(logGroupName=group)
    _group(logs, group)
    assert logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"] == []


def test_the_errors_are_aws_errors(running: Running, logs: Any) -> None:
    arn = _function(running, "error-sink")
    group = _group(logs, "/app/errors")
    put = logs.put_subscription_filter
    base = {"logGroupName": group, "filterName": "f", "filterPattern": ""}
    assert _error(logs.describe_subscription_filters, logGroupName="not-existing-log-group") == (
        "ResourceNotFoundException",
        "The specified log group does not exist.",
    )
    assert _error(logs.delete_subscription_filter, logGroupName="not-existing-log-group", filterName="f") == (
        "ResourceNotFoundException",
        "The specified log group does not exist.",
    )
    assert _error(logs.delete_subscription_filter, logGroupName=group, filterName="wrong-filter-name") == (
        "ResourceNotFoundException",
        "The specified subscription filter does not exist.",
    )
    cross = (
        "Cross-account lambda invocation passing is not allowed. You must use DestinationPolicies to create cross account lambda triggers."
    )
    # Another account's function is refused before the group is looked at, as AWS does.
    assert _error(
        put, **{**base, "logGroupName": "not-existing-log-group"}, destinationArn="arn:aws:lambda:us-east-1:123456789012:function:test"
    ) == (
        "AccessDeniedException",
        cross,
    )
    assert _error(put, **{**base, "logGroupName": "not-existing-log-group"}, destinationArn=arn) == (
        "ResourceNotFoundException",
        "The specified log group does not exist.",
    )
    assert _error(put, **base, destinationArn=STREAM_ARN + "unknown-stream") == (
        "InvalidParameterException",
        "destinationArn for vendor kinesis cannot be used without roleArn",
    )
    assert _error(put, **base, destinationArn=arn, roleArn=ROLE) == (
        "InvalidParameterException",
        "destinationArn for vendor lambda cannot be used with roleArn",
    )
    assert _error(put, **base, destinationArn=FUNCTION_ARN + "not-existing") == (
        "InvalidParameterException",
        "Could not execute the lambda function. Make sure you have given CloudWatch Logs permission to execute your function.",
    )
    unreachable = (
        "InvalidParameterException",
        "Could not deliver test message to specified destination. Check if the destination is valid.",
    )
    assert _error(put, **base, destinationArn=STREAM_ARN + "unknown-stream", roleArn=ROLE) == unreachable
    # Firehose is not served: no delivery stream exists locally.
    assert _error(put, **base, destinationArn=f"arn:aws:firehose:us-east-1:{ACCOUNT}:deliverystream/d", roleArn=ROLE) == unreachable
    code, message = _error(put, **base, destinationArn=arn, distribution="Sideways")
    assert code == "InvalidParameterException"
    assert message == (
        "1 validation error detected: Value 'Sideways' at 'distribution' failed to satisfy constraint:"
        " Member must satisfy enum value set: [Random, ByLogStream]"
    )
    code, message = _error(put, **{**base, "filterName": "a:b"}, destinationArn=arn)
    assert (code, message) == (
        "InvalidParameterException",
        "1 validation error detected: Value 'a:b' at 'filterName' failed to satisfy constraint:"
        " Member must satisfy regular expression pattern: [^:*]*",
    )
    assert logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"] == []
