"""Rule targets that are FIFO queues: SqsParameters' message group, the event id as deduplication id,
and PutTargets refusing a FIFO queue without SqsParameters."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.queues import SqliteQueueService
from sluiceway.clock import FakeClock
from sluiceway.endpoint.server import Endpoint
from sluiceway.events.rules import Delivery, Target
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import LocalTargets, build_stack
from sluiceway.settings import Settings

REGION, ACCOUNT = "us-east-1", "111111111111"
RULE = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/orders"
DEADLINE_S = 15.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- the target resolver on its own ------------------------------------------------------------


@pytest.fixture
def queues(tmp_path: Path) -> Iterator[SqliteQueueService]:
    db = Database(tmp_path / "queues.db")
    try:
        yield SqliteQueueService(db, FakeClock(), region=REGION, account_id=ACCOUNT)
    finally:
        db.close()


def _delivery(event_id: str, *, group: str | None, target: str, attempt: int = 1) -> Delivery:
    event = {"id": event_id, "source": "shop", "detail": {"order": event_id}}
    return Delivery(event, event, "orders", RULE, "q", target, attempt, message_group_id=group)


def test_a_fifo_queue_gets_the_group_and_each_event_once(queues: SqliteQueueService) -> None:
    # No content-based deduplication: the event id is the deduplication id, so this works at all.
    queues.create_queue("orders.fifo", fifo=True)
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders.fifo"
    deliver = LocalTargets(None, None, None, queues, None).resolve(arn)  # type: ignore[arg-type]
    deliver(_delivery("e-1", group="DEFAULT", target=arn))
    deliver(_delivery("e-1", group="DEFAULT", target=arn, attempt=2))  # the same delivery made again
    deliver(_delivery("e-2", group="DEFAULT", target=arn))
    got = queues.receive("orders.fifo", max_messages=10)
    assert [(m.group_id, json.loads(m.body)["id"]) for m in got] == [("DEFAULT", "e-1"), ("DEFAULT", "e-2")]


def test_a_standard_queue_takes_the_group_without_a_deduplication_id(queues: SqliteQueueService) -> None:
    queues.create_queue("plain")
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:plain"
    deliver = LocalTargets(None, None, None, queues, None).resolve(arn)  # type: ignore[arg-type]
    deliver(_delivery("e-1", group=None, target=arn))
    deliver(_delivery("e-1", group="tenant-a", target=arn, attempt=2))  # standard queues do not deduplicate
    got = queues.receive("plain", max_messages=10)
    assert sorted((m.group_id or "") for m in got) == ["", "tenant-a"]


def test_sqs_parameters_round_trip_through_the_targets_json() -> None:
    given = {"Id": "q", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:in.fifo", "SqsParameters": {"MessageGroupId": "DEFAULT"}}
    target = Target.from_json(given)
    assert target.message_group_id == "DEFAULT"
    assert target.to_json()["SqsParameters"] == {"MessageGroupId": "DEFAULT"}
    assert "SqsParameters" not in Target.from_json({"Id": "q", "Arn": given["Arn"]}).to_json()


# -- through the endpoint --------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    settings = Settings.load(data_dir=tmp_path_factory.mktemp("fifo") / "data", workers=1, endpoint_port=_free_port())
    built = build_stack(settings, invoker_mode="thread")
    built.start("fifo target tests")
    try:
        yield built
    finally:
        built.close()


@pytest.fixture(scope="module")
def aws(stack: Stack) -> Iterator[Callable[[str], Any]]:
    import boto3
    from botocore.config import Config

    served = Endpoint(stack, host="127.0.0.1", port=stack.settings.endpoint_port)
    served.start()
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)
    try:
        yield lambda service: session.client(service, endpoint_url=served.url, config=Config(retries={"max_attempts": 1}))
    finally:
        served.close()


def test_put_targets_refuses_a_fifo_queue_without_sqs_parameters(aws: Callable[[str], Any]) -> None:
    events, sqs = aws("events"), aws("sqs")
    url = sqs.create_queue(QueueName="refused.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="fifo-refused", EventPattern=json.dumps({"source": ["shop"]}))
    with pytest.raises(ClientError) as caught:
        events.put_targets(
            Rule="fifo-refused", Targets=[{"Id": "ok", "Arn": arn, "SqsParameters": {"MessageGroupId": "g"}}, {"Id": "bad", "Arn": arn}]
        )
    error = caught.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("ValidationException", "Parameter(s) SqsParameters must be specified for target: bad.")
    assert events.list_targets_by_rule(Rule="fifo-refused")["Targets"] == []  # the whole request failed


def test_a_rule_sends_to_a_fifo_queue_in_the_targets_group(aws: Callable[[str], Any]) -> None:
    events, sqs = aws("events"), aws("sqs")
    url = sqs.create_queue(QueueName="in.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="to-fifo", EventPattern=json.dumps({"source": ["my-app"]}))
    events.put_targets(Rule="to-fifo", Targets=[{"Id": "q", "Arn": arn, "SqsParameters": {"MessageGroupId": "DEFAULT"}}])
    [listed] = events.list_targets_by_rule(Rule="to-fifo")["Targets"]
    assert listed["SqsParameters"] == {"MessageGroupId": "DEFAULT"}

    put = events.put_events(Entries=[{"Source": "my-app", "DetailType": "x", "Detail": json.dumps({"a": n})} for n in (1, 2)])
    ids = [entry["EventId"] for entry in put["Entries"]]
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + DEADLINE_S
    while len(got) < 2 and time.monotonic() < deadline:
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]).get("Messages", [])
        for message in received:
            # A FIFO group holds its next message back while one is in flight: delete what came.
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        got += received
    assert len(got) == 2, got
    assert [m["Attributes"]["MessageGroupId"] for m in got] == ["DEFAULT", "DEFAULT"]
    assert sorted(m["Attributes"]["MessageDeduplicationId"] for m in got) == sorted(ids)
    assert sorted(json.loads(m["Body"])["id"] for m in got) == sorted(ids)
