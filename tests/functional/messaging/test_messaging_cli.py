"""``sluiceway queues``, ``topics`` and ``publish`` through Typer's test runner, on real local stores."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.queues import SqliteQueueService
from sluiceway.backends.local.topics import SqliteTopic
from sluiceway.cli.messaging import register
from sluiceway.clock import FakeClock
from sluiceway.runtime.messaging.delivery import QueueSender, TopicDeliverer
from sluiceway.settings import Settings

runner = CliRunner()


@dataclass
class Handles:
    queues: SqliteQueueService
    topics: SqliteTopic
    deliverer: TopicDeliverer
    closed: int = 0

    def close(self) -> None:
        self.closed += 1


@pytest.fixture
def handles(tmp_path: Path) -> Iterator[Handles]:
    db = Database(tmp_path / "sluiceway.db")
    clock = FakeClock()
    queues = SqliteQueueService(db, clock)
    topics = SqliteTopic(db, tmp_path / "outbox.jsonl", clock)
    deliverer = TopicDeliverer(
        topics, {"outbox": topics.deliver_outbox, "sqs": QueueSender(queues)}, clock=clock
    )
    yield Handles(queues, topics, deliverer)
    db.close()


@pytest.fixture
def app(handles: Handles) -> typer.Typer:
    seen: list[Settings] = []

    def opener(settings: Settings) -> Handles:
        seen.append(settings)
        return handles

    cli = typer.Typer()
    register(cli, opener)  # type: ignore[arg-type]
    return cli


def run(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def cells_of(row: str) -> list[str]:
    return [c.strip() for c in row.split("│")[1:-1]]


def test_queues_lists_depths_and_dead_letter_queues(app: typer.Typer, handles: Handles) -> None:
    q = handles.queues
    q.create_queue("jobs-dlq")
    q.create_queue("jobs", redrive_policy={"deadLetterTargetArn": "jobs-dlq", "maxReceiveCount": 1})
    q.send("jobs", "a")
    q.send("jobs", "b")
    q.send("jobs", "later", delay_s=60)
    q.receive("jobs")
    q.send("jobs-dlq", "dead")
    code, out, _ = run(app, "queues")
    assert code == 0
    row = next(line for line in out.splitlines() if "│ jobs " in line)
    cells = cells_of(row)
    assert cells == ["jobs", "1", "1", "1", "jobs-dlq", "1", "0s"]
    assert handles.closed == 1


def test_queues_redrive_moves_dead_letters_back(app: typer.Typer, handles: Handles) -> None:
    q = handles.queues
    q.create_queue("jobs-dlq")
    q.create_queue("jobs", redrive_policy={"deadLetterTargetArn": "jobs-dlq", "maxReceiveCount": 1})
    q.send("jobs", "poison")
    q.receive("jobs", visibility_s=0)
    assert q.receive("jobs") == []  # the second receive moved it
    code, out, _ = run(app, "queues", "redrive", "jobs-dlq")
    assert (code, out.strip()) == (0, "moved 1 message from jobs-dlq")
    assert [m.body for m in q.receive("jobs")] == ["poison"]


def test_redrive_by_the_source_queue_name(app: typer.Typer, handles: Handles) -> None:
    q = handles.queues
    q.create_queue("jobs-dlq")
    q.create_queue("jobs", redrive_policy={"deadLetterTargetArn": "jobs-dlq", "maxReceiveCount": 1})
    q.send("jobs-dlq", "sent straight to the DLQ")
    code, out, _ = run(app, "queues", "redrive", "jobs")
    assert (code, out.strip()) == (0, "moved 1 message from jobs-dlq")
    assert [m.body for m in q.receive("jobs")] == ["sent straight to the DLQ"]


def test_redrive_of_a_plain_queue_is_refused(app: typer.Typer, handles: Handles) -> None:
    handles.queues.create_queue("plain")
    code, _, err = run(app, "queues", "redrive", "plain")
    assert code == 2
    assert "must be configured as a Dead Letter Queue" in err


def test_publish_with_attributes_and_delivery(
    app: typer.Typer, handles: Handles, tmp_path: Path
) -> None:
    handles.queues.create_queue("big")
    handles.topics.create_topic("orders")
    handles.topics.subscribe(
        "orders", "sqs", "big", filter_policy={"total": [{"numeric": [">", 100]}]}
    )
    body = tmp_path / "order.json"
    body.write_text('{"id": 1}', encoding="utf-8")
    code, out, _ = run(
        app,
        "publish",
        "orders",
        f"@{body}",
        "--subject",
        "New",
        "-a",
        "total:Number=150",
        "-a",
        "kind=retail",
        "--deliver",
    )
    assert code == 0
    message_id = out.splitlines()[0]
    [received] = handles.queues.receive("big")
    envelope = json.loads(received.body)
    assert (envelope["MessageId"], envelope["Message"], envelope["Subject"]) == (
        message_id,
        '{"id": 1}',
        "New",
    )
    assert envelope["MessageAttributes"]["total"] == {"Type": "Number", "Value": "150"}
    code, out, _ = run(app, "publish", "orders", "small", "-a", "total:Number=5", "--deliver")
    assert code == 0 and handles.queues.receive("big") == []


def test_publish_reports_what_sns_refuses(app: typer.Typer) -> None:
    code, _, err = run(app, "publish", "orders", "x", "-a", "n:Number=lots")
    assert code == 2 and "Could not cast message attribute 'n' value to number." in err
    code, _, err = run(app, "publish", "orders", "x", "-a", "novalue")
    assert code == 2 and "NAME=VALUE" in err


def test_topics_lists_subscriptions_with_delivery_counts(
    app: typer.Typer, handles: Handles
) -> None:
    code, out, _ = run(app, "topics", "create", "orders")
    assert (code, out.strip()) == (0, "arn:aws:sns:us-east-1:111111111111:orders")
    code, out, _ = run(
        app,
        "topics",
        "subscribe",
        "orders",
        "sqs",
        "missing-queue",
        "--filter-policy",
        '{"kind": ["a"]}',
    )
    assert code == 0 and out.startswith("arn:aws:sns:us-east-1:111111111111:orders:")
    code, out, _ = run(app, "topics", "subscribe", "orders", "https", "https://example.test/hook")
    assert code == 0 and "signing secret" in out
    run(app, "publish", "orders", "x", "-a", "kind=a", "--deliver")
    code, out, _ = run(app, "topics")
    assert code == 0
    outbox = next(line for line in out.splitlines() if "│ outbox" in line)
    assert cells_of(outbox)[:8] == ["orders", "outbox", "outbox", "", "", "1", "0", "0"]
    sqs = next(line for line in out.splitlines() if "│ sqs" in line)
    assert cells_of(sqs)[3:8] == ['{"kind":["a"]}', "", "0", "0", "1"]
    https = next(line for line in out.splitlines() if "│ https" in line)
    assert cells_of(https)[5:8] == ["0", "1", "0"]


def test_subscribe_reports_sns_errors(app: typer.Typer) -> None:
    run(app, "topics", "create", "orders")
    code, _, err = run(
        app, "topics", "subscribe", "orders", "sqs", "q", "--filter-policy", '{"a": []}'
    )
    assert code == 2
    assert "FilterPolicy: Empty arrays are not allowed" in err
    code, _, err = run(app, "topics", "subscribe", "nope", "sqs", "q")
    assert code == 1 and "Topic does not exist" in err
