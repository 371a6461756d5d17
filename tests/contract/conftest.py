"""Contract fixtures: each port once on the local backend and once on AWS (a moto server).

A test asks for a port fixture (``objects``, ``table``, ``topic``, ``events``,
``queues``, ``orchestrator``) and
runs twice, ``[local]`` and ``[aws]``, with the same assertions. The AWS side
talks HTTP to one moto server per session on 127.0.0.1 and a free port; its
state is reset before every test that uses it, and the resources the test needs
(bucket, table, topic with a subscribed queue, rule targeting a queue, state
machine) are created in the fixture.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sluiceway.backends.local._sqlite import Database
from sluiceway.clock import FakeClock
from sluiceway.ports import (
    EventPublisher,
    ExecutionRecord,
    MetadataTable,
    ObjectStore,
    Orchestrator,
    Topic,
    TopicMessage,
)
from sluiceway.types import EventDict

REGION = "us-east-1"
BUCKET = "sluiceway-contract"
TABLE = "ProcessingMetadata"
TOPIC = "PipelineNotifications"
EVENT_SOURCE = "sluiceway.contract"
#: Small pages, so that listing and scanning cross page boundaries with a few items.
PAGE_SIZE = 2
#: Small parts, so that a 6 MiB upload is a multipart upload on S3.
PART_SIZE = 5 * 1024 * 1024

BACKENDS = ["local", "aws"]


# ------------------------------------------------------------------ moto server


@dataclass(frozen=True)
class Moto:
    """A running moto server and a way to make clients for it."""

    endpoint: str

    def client(self, service: str, **config: Any) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"mode": "standard", "max_attempts": 2}, **config),
        )

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[Moto]:
    """One moto server for the session, stopped (and its socket closed) at the end."""
    server_module = pytest.importorskip("moto.server")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield Moto(f"http://{host}:{port}")
    finally:
        server.stop()
        # stop() shuts the serve loop down but leaves the listening socket open.
        listener = getattr(server, "_server", None)
        if listener is not None:
            listener.server_close()


@pytest.fixture
def moto(moto_server: Moto) -> Moto:
    """The session's moto server with every service emptied."""
    moto_server.reset()
    return moto_server


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(tmp_path / "sluiceway.db")
    try:
        yield db
    finally:
        db.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))


# ------------------------------------------------------------------ object store


@dataclass(frozen=True)
class ObjectsCase:
    store: ObjectStore
    bucket: str
    backend: str


@pytest.fixture(params=BACKENDS)
def objects(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectsCase:
    """An empty bucket ``BUCKET`` behind the ObjectStore port."""
    if request.param == "local":
        from sluiceway.backends.local.objects import FileObjectStore

        local = FileObjectStore(tmp_path / "buckets")
        local.ensure_bucket(BUCKET)
        return ObjectsCase(local, BUCKET, "local")
    from boto3.s3.transfer import TransferConfig

    from sluiceway.backends.aws.objects import S3ObjectStore

    moto: Moto = request.getfixturevalue("moto")
    s3 = moto.client("s3", s3={"addressing_style": "path"})
    s3.create_bucket(Bucket=BUCKET)
    config = TransferConfig(multipart_threshold=PART_SIZE, multipart_chunksize=PART_SIZE)
    store = S3ObjectStore(s3, transfer_config=config, list_page_size=PAGE_SIZE)
    return ObjectsCase(store, BUCKET, "aws")


# ----------------------------------------------------------------- metadata table


@dataclass(frozen=True)
class TableCase:
    table: MetadataTable
    backend: str


def _dynamo_table(moto: Moto, name: str, partition_key: str, sort_key: str | None) -> Any:
    from sluiceway.backends.aws.tables import DynamoTable

    dynamodb = moto.client("dynamodb")
    schema = [{"AttributeName": partition_key, "KeyType": "HASH"}]
    attributes = [{"AttributeName": partition_key, "AttributeType": "S"}]
    if sort_key:
        schema.append({"AttributeName": sort_key, "KeyType": "RANGE"})
        attributes.append({"AttributeName": sort_key, "AttributeType": "S"})
    dynamodb.create_table(
        TableName=name,
        KeySchema=schema,
        AttributeDefinitions=attributes,
        BillingMode="PAY_PER_REQUEST",
    )
    return DynamoTable(
        name, dynamodb, partition_key=partition_key, sort_key=sort_key, scan_page_size=PAGE_SIZE
    )


@pytest.fixture(params=BACKENDS)
def table(request: pytest.FixtureRequest) -> TableCase:
    """An empty table keyed by ``ExecutionId``."""
    if request.param == "local":
        from sluiceway.backends.local.tables import SqliteTable

        db: Database = request.getfixturevalue("database")
        return TableCase(SqliteTable(db, TABLE), "local")
    return TableCase(
        _dynamo_table(request.getfixturevalue("moto"), TABLE, "ExecutionId", None), "aws"
    )


@pytest.fixture(params=BACKENDS)
def sorted_table(request: pytest.FixtureRequest) -> TableCase:
    """An empty table keyed by ``PipelineId`` (partition) and ``RunId`` (sort)."""
    if request.param == "local":
        from sluiceway.backends.local.tables import SqliteTable

        db: Database = request.getfixturevalue("database")
        return TableCase(
            SqliteTable(db, "Runs", partition_key="PipelineId", sort_key="RunId"), "local"
        )
    moto: Moto = request.getfixturevalue("moto")
    return TableCase(_dynamo_table(moto, "Runs", "PipelineId", "RunId"), "aws")


# ------------------------------------------------------------------------ topics


def _drain(sqs: Any, queue_url: str) -> list[str]:
    """Every message body waiting in the queue (deleted as read), oldest first as SQS gives them."""
    bodies: list[str] = []
    while True:
        response = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        )
        messages = response.get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def _queue(sqs: Any, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


@dataclass(frozen=True)
class TopicCase:
    topic: Topic
    name: str
    delivered: Callable[[], list[TopicMessage]]
    """Messages that reached the topic's subscriber so far (drains it on AWS)."""
    backend: str


def _from_sns_envelope(body: str) -> TopicMessage:
    """The message an SQS subscriber got, read from SNS's JSON envelope."""
    envelope = json.loads(body)
    attributes = {
        name: spec["Value"] for name, spec in (envelope.get("MessageAttributes") or {}).items()
    }
    return TopicMessage(
        topic=envelope["TopicArn"].rsplit(":", 1)[-1],
        message=envelope["Message"],
        message_id=envelope["MessageId"],
        timestamp=datetime.fromisoformat(envelope["Timestamp"]),
        subject=envelope.get("Subject"),
        attributes=attributes,
    )


@pytest.fixture(params=BACKENDS)
def topic(request: pytest.FixtureRequest, tmp_path: Path) -> TopicCase:
    """The topic ``TOPIC`` with one subscriber the test can read."""
    if request.param == "local":
        from sluiceway.backends.local.topics import SqliteTopic

        db: Database = request.getfixturevalue("database")
        local = SqliteTopic(db, tmp_path / "outbox.jsonl", request.getfixturevalue("clock"))
        return TopicCase(local, TOPIC, lambda: local.messages(TOPIC), "local")
    from sluiceway.backends.aws.topics import SnsTopic

    moto: Moto = request.getfixturevalue("moto")
    sns, sqs = moto.client("sns"), moto.client("sqs")
    topic_arn = sns.create_topic(Name=TOPIC)["TopicArn"]
    queue_url, queue_arn = _queue(sqs, "notifications-subscriber")
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)

    def delivered() -> list[TopicMessage]:
        return [_from_sns_envelope(body) for body in _drain(sqs, queue_url)]

    return TopicCase(SnsTopic(sns), TOPIC, delivered, "aws")


# ------------------------------------------------------------------------ events


@dataclass(frozen=True)
class EventsCase:
    publisher: EventPublisher
    delivered: Callable[[], list[EventDict]]
    """Events committed for delivery so far: the outbox locally, a rule's SQS target on AWS."""
    backend: str


@pytest.fixture(params=BACKENDS)
def events(request: pytest.FixtureRequest) -> EventsCase:
    """An event publisher whose events with source ``EVENT_SOURCE`` can be read back."""
    if request.param == "local":
        from sluiceway.backends.local.events import SqliteEventBus

        db: Database = request.getfixturevalue("database")
        bus = SqliteEventBus(db, request.getfixturevalue("clock"))
        return EventsCase(bus, lambda: [event for _, event in bus.pending(limit=10_000)], "local")
    from sluiceway.backends.aws.events import EventBridgePublisher

    moto: Moto = request.getfixturevalue("moto")
    eventbridge, sqs = moto.client("events"), moto.client("sqs")
    queue_url, queue_arn = _queue(sqs, "events-target")
    eventbridge.put_rule(Name="contract", EventPattern=json.dumps({"source": [EVENT_SOURCE]}))
    eventbridge.put_targets(Rule="contract", Targets=[{"Id": "queue", "Arn": queue_arn}])

    def delivered() -> list[EventDict]:
        return [json.loads(body) for body in _drain(sqs, queue_url)]

    return EventsCase(EventBridgePublisher(eventbridge), delivered, "aws")


# ------------------------------------------------------------------------ queues


@dataclass(frozen=True)
class QueuesCase:
    service: Any
    """The Queue port plus queue management (``create_queue``, ``queue_attributes``):
    a SqliteQueueService or an SqsQueue. No queue exists yet."""
    backend: str


@pytest.fixture(params=BACKENDS)
def queues(request: pytest.FixtureRequest) -> QueuesCase:
    """A queue service with no queues, locally on a FakeClock that nobody advances."""
    if request.param == "local":
        from sluiceway.backends.local.queues import SqliteQueueService

        db: Database = request.getfixturevalue("database")
        return QueuesCase(SqliteQueueService(db, request.getfixturevalue("clock")), "local")
    from sluiceway.backends.aws.queues import SqsQueue

    moto: Moto = request.getfixturevalue("moto")
    return QueuesCase(SqsQueue(moto.client("sqs")), "aws")


# ------------------------------------------------------------------ orchestrator

STATE_MACHINE = "ContractMachine"
#: One Wait state of an hour: locally it keeps the execution RUNNING (the clock is
#: fake and never skips ahead); moto does not run states and keeps it RUNNING too.
WAITING_DEFINITION: dict[str, Any] = {
    "StartAt": "Hold",
    "States": {"Hold": {"Type": "Wait", "Seconds": 3600, "End": True}},
}
ROLE_ARN = "arn:aws:iam::123456789012:role/sluiceway-contract"


@dataclass(frozen=True)
class OrchestratorCase:
    orchestrator: Orchestrator
    state_machine: str
    """A registered state machine whose executions stay RUNNING until stopped."""
    settled: Callable[[str], ExecutionRecord]
    """The execution's record once a stop has taken effect (local stops are applied
    by the dispatcher thread, Step Functions' at once)."""
    backend: str


@pytest.fixture(params=BACKENDS)
def orchestrator(request: pytest.FixtureRequest) -> Iterator[OrchestratorCase]:
    """The orchestrator with ``STATE_MACHINE`` registered."""
    if request.param == "local":
        from sluiceway.asl.parser import parse
        from sluiceway.backends.local.executions import SqliteExecutionStore
        from sluiceway.runtime.orchestration.executor import LocalOrchestrator

        def no_tasks(command: Any) -> Any:
            raise AssertionError(f"the contract machine has no Task state: {command!r}")

        db: Database = request.getfixturevalue("database")
        local = LocalOrchestrator(SqliteExecutionStore(db), no_tasks, request.getfixturevalue("clock"))
        local.register(STATE_MACHINE, parse(WAITING_DEFINITION))
        local.start()
        try:
            yield OrchestratorCase(local, STATE_MACHINE, lambda arn: local.wait(arn, timeout=10), "local")
        finally:
            local.close()
        return
    from sluiceway.backends.aws.orchestrator import StepFunctionsOrchestrator

    moto: Moto = request.getfixturevalue("moto")
    remote = StepFunctionsOrchestrator(moto.client("stepfunctions"))
    remote.create_state_machine(STATE_MACHINE, WAITING_DEFINITION, ROLE_ARN)
    yield OrchestratorCase(remote, STATE_MACHINE, remote.describe, "aws")
