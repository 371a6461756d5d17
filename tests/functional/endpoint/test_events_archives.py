"""EventBridge archives and replays through the endpoint with a real boto3 client."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

DEADLINE_S = 10.0


def _receive(aws: Callable[..., Any], url: str, count: int) -> list[dict[str, Any]]:
    sqs = aws("sqs")
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + DEADLINE_S
    while len(got) < count:
        assert time.monotonic() < deadline, f"only {len(got)} of {count} messages arrived"
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            got.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return got


def _until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        time.sleep(0.05)


def _error(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_archive_and_replay(aws: Callable[..., Any]) -> None:
    events, sqs = aws("events"), aws("sqs")
    url = sqs.create_queue(QueueName="replayed")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus_arn = events.create_event_bus(Name="archived-bus")["EventBusArn"]
    archive_arn = events.create_archive(ArchiveName="kept", EventSourceArn=bus_arn, EventPattern='{"source": ["keep"]}', RetentionDays=3)[
        "ArchiveArn"
    ]
    events.put_rule(Name="to-queue", EventBusName="archived-bus", EventPattern='{"detail-type": ["T"]}')
    events.put_targets(Rule="to-queue", EventBusName="archived-bus", Targets=[{"Id": "q", "Arn": arn}])
    start = datetime.now(UTC) - timedelta(seconds=5)
    events.put_events(
        Entries=[
            {"Source": "keep", "DetailType": "T", "Detail": '{"n": 1}', "EventBusName": "archived-bus"},
            {"Source": "skip", "DetailType": "T", "Detail": '{"n": 2}', "EventBusName": "archived-bus"},
        ]
    )
    assert sorted(e["detail"]["n"] for e in _receive(aws, url, 2)) == [1, 2]
    described = events.describe_archive(ArchiveName="kept")
    assert (described["ArchiveArn"], described["EventCount"], described["State"], described["RetentionDays"]) == (
        archive_arn,
        1,
        "ENABLED",
        3,
    )
    assert [a["ArchiveName"] for a in events.list_archives(EventSourceArn=bus_arn)["Archives"]] == ["kept"]

    end = datetime.now(UTC)
    started = events.start_replay(
        ReplayName="again", EventSourceArn=archive_arn, EventStartTime=start, EventEndTime=end, Destination={"Arn": bus_arn}
    )
    assert started["State"] == "STARTING" and started["ReplayArn"].endswith(":replay/again")
    [replayed] = _receive(aws, url, 1)
    assert (replayed["detail"], replayed["replay-name"]) == ({"n": 1}, "again")
    _until(lambda: events.describe_replay(ReplayName="again")["State"] == "COMPLETED")
    replay = events.describe_replay(ReplayName="again")
    assert replay["EventSourceArn"] == archive_arn and replay["Destination"] == {"Arn": bus_arn}
    assert [r["ReplayName"] for r in events.list_replays(NamePrefix="aga")["Replays"]] == ["again"]
    assert _error(lambda: events.cancel_replay(ReplayName="again")) == (
        "IllegalStatusException",
        "Replay again is not in a valid state for this operation.",
    )
    assert _error(
        lambda: events.start_replay(
            ReplayName="again", EventSourceArn=archive_arn, EventStartTime=start, EventEndTime=end, Destination={"Arn": bus_arn}
        )
    ) == ("ResourceAlreadyExistsException", "Replay again already exists.")


def test_replay_refusals(aws: Callable[..., Any]) -> None:
    events = aws("events")
    default_arn = events.describe_event_bus()["Arn"]
    other_arn = events.create_event_bus(Name="elsewhere")["EventBusArn"]
    archive_arn = events.create_archive(ArchiveName="all-default", EventSourceArn=default_arn)["ArchiveArn"]
    now = datetime.now(UTC)

    def start(**changes: Any) -> Any:
        request = {
            "ReplayName": "r",
            "EventSourceArn": archive_arn,
            "EventStartTime": now - timedelta(hours=1),
            "EventEndTime": now - timedelta(minutes=1),
            "Destination": {"Arn": default_arn},
            **changes,
        }
        return events.start_replay(**request)

    assert _error(lambda: start(Destination={"Arn": other_arn})) == (
        "ValidationException",
        "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.",
    )
    assert _error(lambda: start(EventStartTime=now - timedelta(minutes=1), EventEndTime=now - timedelta(hours=1))) == (
        "ValidationException",
        "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.",
    )
    assert _error(lambda: start(EventSourceArn=archive_arn.replace("all-default", "nope"))) == (
        "ValidationException",
        "Parameter EventSourceArn is not valid. Reason: Archive nope does not exist.",
    )
    assert _error(lambda: events.create_archive(ArchiveName="all-default", EventSourceArn=default_arn)) == (
        "ResourceAlreadyExistsException",
        "Archive all-default already exists.",
    )
    events.delete_archive(ArchiveName="all-default")
    assert _error(lambda: events.describe_archive(ArchiveName="all-default")) == (
        "ResourceNotFoundException",
        "Archive all-default does not exist.",
    )
