"""Pipes whose target is a CloudWatch Logs log group (the stream made when missing) or a FIFO queue
(the target's message group), through the endpoint with a real boto3 client."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sluiceway.endpoint.server import Endpoint
from sluiceway.endpoint.services.pipes import restore
from sluiceway.runtime.stack import Stack

ROLE = "arn:aws:iam::123456789012:role/pipes"
DEADLINE_S = 15.0


@pytest.fixture(scope="module")
def endpoint(stack: Stack) -> Iterator[Endpoint]:
    served = Endpoint(stack, host="127.0.0.1", port=stack.settings.endpoint_port)
    restore(stack, served.shared)
    served.start()
    try:
        yield served
    finally:
        served.close()


def _until(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _queue(aws: Callable[..., Any], name: str, **attributes: str) -> tuple[str, str]:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _group(aws: Callable[..., Any], name: str) -> str:
    logs = aws("logs")
    logs.create_log_group(logGroupName=name)
    [group] = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    return str(group["arn"])


def test_a_pipe_writes_to_a_log_group_in_a_stream_it_makes(aws: Callable[..., Any]) -> None:
    logs = aws("logs")
    source_url, source = _queue(aws, "pipe-logs-source")
    target = _group(aws, "/pipe/target")
    aws("pipes").create_pipe(
        Name="to-logs", Source=source, Target=target, RoleArn=ROLE,
        TargetParameters={"InputTemplate": "Order <$.body.id> status <$.body.status>"},
    )  # fmt: skip
    aws("sqs").send_message(QueueUrl=source_url, MessageBody=json.dumps({"id": "o1", "status": "REJECTED"}))
    events = _until(lambda: logs.filter_log_events(logGroupName="/pipe/target")["events"], "the log event")
    assert [(e["logStreamName"], e["message"]) for e in events] == [("to-logs", "Order o1 status REJECTED")]
    assert [s["logStreamName"] for s in logs.describe_log_streams(logGroupName="/pipe/target")["logStreams"]] == ["to-logs"]


def test_log_stream_and_timestamp_parameters_name_each_events_stream_and_time(aws: Callable[..., Any]) -> None:
    logs = aws("logs")
    source_url, source = _queue(aws, "pipe-streams-source")
    target = _group(aws, "/pipe/streams")
    logs.create_log_stream(logGroupName="/pipe/streams", logStreamName="blue")  # one exists, one does not
    aws("pipes").create_pipe(
        Name="to-streams", Source=source, Target=target, RoleArn=ROLE,
        TargetParameters={"CloudWatchLogsParameters": {"LogStreamName": "$.body.colour", "Timestamp": "$.body.at"}},
    )  # fmt: skip
    sqs = aws("sqs")
    now_ms = int(time.time() * 1000)
    for colour in ("red", "blue"):
        sqs.send_message(QueueUrl=source_url, MessageBody=json.dumps({"colour": colour, "at": now_ms - 1000}))

    def written() -> list[dict[str, Any]]:
        found = logs.filter_log_events(logGroupName="/pipe/streams")["events"]
        return found if len(found) == 2 else []

    events = _until(written, "both log events")
    assert sorted(e["logStreamName"] for e in events) == ["blue", "red"]
    assert {e["timestamp"] for e in events} == {now_ms - 1000}
    streams = logs.describe_log_streams(logGroupName="/pipe/streams")["logStreams"]
    assert sorted(s["logStreamName"] for s in streams) == ["blue", "red"]


def test_a_pipe_sends_to_a_fifo_queue_in_its_message_group(aws: Callable[..., Any]) -> None:
    sqs = aws("sqs")
    source_url, source = _queue(aws, "pipe-fifo-source")
    target_url, target = _queue(aws, "pipe-fifo-target.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    aws("pipes").create_pipe(
        Name="to-fifo", Source=source, Target=target, RoleArn=ROLE,
        TargetParameters={"SqsQueueParameters": {"MessageGroupId": "orders"}},
    )  # fmt: skip
    sqs.send_message(QueueUrl=source_url, MessageBody=json.dumps({"id": "o1"}))
    [message] = _until(
        lambda: sqs.receive_message(QueueUrl=target_url, WaitTimeSeconds=1, AttributeNames=["All"]).get("Messages"), "the message"
    )
    assert message["Attributes"]["MessageGroupId"] == "orders"
    assert json.loads(message["Body"])["body"] == json.dumps({"id": "o1"})
