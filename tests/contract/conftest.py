"""Contract fixtures: each port on the local backend, on AWS (a moto server) and on our endpoint.

A test asks for a port fixture (``objects``, ``table``, ``topic``, ``events``,
``queues``, ``orchestrator``) and runs three times, ``[local]``, ``[aws]`` and
``[endpoint]``, with the same assertions. ``aws`` and ``endpoint`` are the same
AWS adapters (``backends/aws/``) over boto3: ``aws`` talks HTTP to one moto server
per session, ``endpoint`` to one Sluiceway endpoint per session, served by a
started local stack on a temporary data dir. The resources a test needs (bucket,
table, topic with a subscribed queue, rule targeting a queue, state machine) are
created through boto3 in the fixture, the same way on both.

Between tests moto is reset through its reset API. The endpoint has no such API
(AWS has none either): its fixtures give each test's resources fresh names and
delete them afterwards, and the ``queues`` fixture, whose tests name their
queues themselves, deletes every queue but the stack's own before and after the test.
"""

from __future__ import annotations

import itertools
import json
import socket
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

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

if TYPE_CHECKING:
    from sluiceway.runtime.stack import Stack

REGION = "us-east-1"
BUCKET = "sluiceway-contract"
TABLE = "ProcessingMetadata"
TOPIC = "PipelineNotifications"
EVENT_SOURCE = "sluiceway.contract"
#: Small pages, so that listing and scanning cross page boundaries with a few items.
PAGE_SIZE = 2
#: Small parts, so that a 6 MiB upload is a multipart upload on S3.
PART_SIZE = 5 * 1024 * 1024

BACKENDS = ["local", "aws", "endpoint"]
"""Every port fixture's backends: ``aws`` is the AWS adapters on moto, ``endpoint`` the same adapters on our endpoint."""


# ------------------------------------------------------------------ AWS-compatible servers


@dataclass(frozen=True)
class Remote:
    """A running AWS-compatible server and a way to make clients for it."""

    endpoint: str
    persistent: ClassVar[bool] = False
    """Whether resources outlive the test that made them (then its fixtures delete them)."""

    def client(self, service: str, **config: Any) -> Any:
        import boto3
        from botocore.config import Config

        # boto3's stubs type client() per service name; the service here is any of them.
        make: Callable[..., Any] = boto3.client
        return make(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"mode": "standard", "max_attempts": 2}, **config),
        )

    def name(self, base: str) -> str:
        """The name this test gives the resource ``base`` names."""
        return base

    def settle(self) -> None:
        """Let what was published so far reach its subscribers (moto delivers before it answers)."""


@dataclass(frozen=True)
class Moto(Remote):
    """A running moto server: reset before every test, so every test may use the same names."""

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


@dataclass(frozen=True)
class SluicewayEndpoint(Remote):
    """A Sluiceway endpoint on a running local stack, shared by the session's tests.

    Nothing resets it: tests get fresh names (:meth:`name`) and delete what they made.
    Fresh names also keep clear of the stack's own application, which has a table
    ``ProcessingMetadata`` and a topic ``PipelineNotifications`` of its own.
    """

    stack: Stack
    stack_queues: frozenset[str] = frozenset()
    """The URLs of the queues the stack's own application made (its dead-letter queue): kept."""
    persistent: ClassVar[bool] = True
    _serial: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False, compare=False)

    def name(self, base: str) -> str:
        return f"{base}-{next(self._serial)}"

    def settle(self) -> None:
        """Let every event and message committed so far reach its target.

        EventBridge and SNS deliver after PutEvents and Publish have answered, as on AWS;
        a pass of each delivery loop (which waits for the pass in progress) makes the
        deliveries of everything committed before it, so what a test reads next is
        complete, without sleeping.
        """
        self.stack.router.deliver_pending()
        self.stack.deliverer.deliver_pending()


def _free_port() -> int:
    """A free port now: the stack's functions are told it before the endpoint binds it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def sluiceway_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SluicewayEndpoint]:
    """One endpoint per module, on a stack of its own temporary data dir.

    Per module, not per session: a stack whose functions run in threads writes its settings
    into this process's environment while it lives (``SLUICEWAY_*``, as its workers would get
    them), and every ``Settings.load`` meanwhile reads them as given. A session's stack would
    hand its settings to every later test's stack.
    """
    from sluiceway.endpoint.server import Endpoint
    from sluiceway.runtime.wiring import build_stack
    from sluiceway.settings import Settings

    data_dir = tmp_path_factory.mktemp("contract-endpoint") / "data"
    settings = Settings.load(data_dir=data_dir, workers=1, endpoint_port=_free_port())
    stack = build_stack(settings, invoker_mode="thread")
    stack.start("contract tests")
    try:
        served = Endpoint(stack, host="127.0.0.1", port=settings.endpoint_port)
        served.start()
        try:
            stack_queues = frozenset(_queue_urls(Remote(served.url).client("sqs")))
            yield SluicewayEndpoint(served.url, stack, stack_queues)
        finally:
            served.close()
    finally:
        stack.close()


def remote_for(request: pytest.FixtureRequest) -> Remote:
    """The server behind a port fixture's ``aws`` or ``endpoint`` case."""
    if request.param == "aws":
        moto: Moto = request.getfixturevalue("moto")
        return moto
    endpoint: SluicewayEndpoint = request.getfixturevalue("sluiceway_endpoint")
    return endpoint


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


def _delete_bucket(s3: Any, bucket: str) -> None:
    """Empty ``bucket`` (objects and unfinished uploads) and delete it, as S3 requires."""
    for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
        for upload in page.get("Uploads", []):
            s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
    s3.delete_bucket(Bucket=bucket)


@pytest.fixture(params=BACKENDS)
def objects(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectsCase]:
    """An empty bucket behind the ObjectStore port (``BUCKET``, or a fresh name on the endpoint)."""
    if request.param == "local":
        from sluiceway.backends.local.objects import FileObjectStore

        local = FileObjectStore(tmp_path / "buckets")
        local.ensure_bucket(BUCKET)
        yield ObjectsCase(local, BUCKET, "local")
        return
    from boto3.s3.transfer import TransferConfig

    from sluiceway.backends.aws.objects import S3ObjectStore

    remote = remote_for(request)
    s3 = remote.client("s3", s3={"addressing_style": "path"})
    bucket = remote.name(BUCKET)
    s3.create_bucket(Bucket=bucket)
    config = TransferConfig(multipart_threshold=PART_SIZE, multipart_chunksize=PART_SIZE)
    store = S3ObjectStore(s3, transfer_config=config, list_page_size=PAGE_SIZE)
    yield ObjectsCase(store, bucket, request.param)
    if remote.persistent:
        _delete_bucket(s3, bucket)


# ----------------------------------------------------------------- metadata table


@dataclass(frozen=True)
class TableCase:
    table: MetadataTable
    backend: str


def _dynamo_table(remote: Remote, name: str, partition_key: str, sort_key: str | None) -> Any:
    from sluiceway.backends.aws.tables import DynamoTable

    dynamodb = remote.client("dynamodb")
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


def _remote_table(
    request: pytest.FixtureRequest, base: str, partition_key: str, sort_key: str | None
) -> Iterator[TableCase]:
    remote = remote_for(request)
    name = remote.name(base)
    yield TableCase(_dynamo_table(remote, name, partition_key, sort_key), request.param)
    if remote.persistent:
        remote.client("dynamodb").delete_table(TableName=name)


@pytest.fixture(params=BACKENDS)
def table(request: pytest.FixtureRequest) -> Iterator[TableCase]:
    """An empty table keyed by ``ExecutionId``."""
    if request.param == "local":
        from sluiceway.backends.local.tables import SqliteTable

        db: Database = request.getfixturevalue("database")
        yield TableCase(SqliteTable(db, TABLE), "local")
        return
    yield from _remote_table(request, TABLE, "ExecutionId", None)


@pytest.fixture(params=BACKENDS)
def sorted_table(request: pytest.FixtureRequest) -> Iterator[TableCase]:
    """An empty table keyed by ``PipelineId`` (partition) and ``RunId`` (sort)."""
    if request.param == "local":
        from sluiceway.backends.local.tables import SqliteTable

        db: Database = request.getfixturevalue("database")
        yield TableCase(SqliteTable(db, "Runs", partition_key="PipelineId", sort_key="RunId"), "local")
        return
    yield from _remote_table(request, "Runs", "PipelineId", "RunId")


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
def topic(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TopicCase]:
    """A topic (``TOPIC``, or a fresh name on the endpoint) with one subscriber the test can read."""
    if request.param == "local":
        from sluiceway.backends.local.topics import SqliteTopic

        db: Database = request.getfixturevalue("database")
        local = SqliteTopic(db, tmp_path / "outbox.jsonl", request.getfixturevalue("clock"))
        yield TopicCase(local, TOPIC, lambda: local.messages(TOPIC), "local")
        return
    from sluiceway.backends.aws.topics import SnsTopic

    remote = remote_for(request)
    sns, sqs = remote.client("sns"), remote.client("sqs")
    name = remote.name(TOPIC)
    topic_arn = sns.create_topic(Name=name)["TopicArn"]
    queue_url, queue_arn = _queue(sqs, remote.name("notifications-subscriber"))
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)

    def delivered() -> list[TopicMessage]:
        remote.settle()
        return [_from_sns_envelope(body) for body in _drain(sqs, queue_url)]

    yield TopicCase(SnsTopic(sns), name, delivered, request.param)
    if remote.persistent:
        sns.delete_topic(TopicArn=topic_arn)  # and its subscriptions, as on AWS
        sqs.delete_queue(QueueUrl=queue_url)


# ------------------------------------------------------------------------ events


@dataclass(frozen=True)
class EventsCase:
    publisher: EventPublisher
    delivered: Callable[[], list[EventDict]]
    """Events committed for delivery so far: the outbox locally, a rule's SQS target on AWS."""
    backend: str


@pytest.fixture(params=BACKENDS)
def events(request: pytest.FixtureRequest) -> Iterator[EventsCase]:
    """An event publisher whose events with source ``EVENT_SOURCE`` can be read back."""
    if request.param == "local":
        from sluiceway.backends.local.events import SqliteEventBus

        db: Database = request.getfixturevalue("database")
        bus = SqliteEventBus(db, request.getfixturevalue("clock"))
        yield EventsCase(bus, lambda: [event for _, event in bus.pending(limit=10_000)], "local")
        return
    from sluiceway.backends.aws.events import EventBridgePublisher

    remote = remote_for(request)
    eventbridge, sqs = remote.client("events"), remote.client("sqs")
    queue_url, queue_arn = _queue(sqs, remote.name("events-target"))
    rule = remote.name("contract")
    eventbridge.put_rule(Name=rule, EventPattern=json.dumps({"source": [EVENT_SOURCE]}))
    eventbridge.put_targets(Rule=rule, Targets=[{"Id": "queue", "Arn": queue_arn}])

    def delivered() -> list[EventDict]:
        remote.settle()
        return [json.loads(body) for body in _drain(sqs, queue_url)]

    yield EventsCase(EventBridgePublisher(eventbridge), delivered, request.param)
    if remote.persistent:
        eventbridge.remove_targets(Rule=rule, Ids=["queue"])
        eventbridge.delete_rule(Name=rule)
        sqs.delete_queue(QueueUrl=queue_url)


# ------------------------------------------------------------------------ queues


@dataclass(frozen=True)
class QueuesCase:
    service: Any
    """The Queue port plus queue management (``create_queue``, ``queue_attributes``):
    a SqliteQueueService or an SqsQueue. No queue exists yet."""
    backend: str


def _queue_urls(sqs: Any) -> list[str]:
    return [url for page in sqs.get_paginator("list_queues").paginate() for url in page.get("QueueUrls", [])]


def _delete_queues(sqs: Any, keep: frozenset[str]) -> None:
    for url in _queue_urls(sqs):
        if url not in keep:
            sqs.delete_queue(QueueUrl=url)


@pytest.fixture(params=BACKENDS)
def queues(request: pytest.FixtureRequest) -> Iterator[QueuesCase]:
    """A queue service with no queues, locally on a FakeClock that nobody advances."""
    if request.param == "local":
        from sluiceway.backends.local.queues import SqliteQueueService

        db: Database = request.getfixturevalue("database")
        yield QueuesCase(SqliteQueueService(db, request.getfixturevalue("clock")), "local")
        return
    from sluiceway.backends.aws.queues import SqsQueue

    remote = remote_for(request)
    sqs = remote.client("sqs")
    # The tests name their queues themselves ("work", "dlq"), the same in every test, and
    # expect no queue of theirs to exist: on the endpoint, every queue but the stack's goes.
    keep = remote.stack_queues if isinstance(remote, SluicewayEndpoint) else frozenset()
    if remote.persistent:
        _delete_queues(sqs, keep)
    yield QueuesCase(SqsQueue(sqs), request.param)
    if remote.persistent:
        _delete_queues(sqs, keep)


# ------------------------------------------------------------------ orchestrator

STATE_MACHINE = "ContractMachine"
#: One Wait state of an hour: locally it keeps the execution RUNNING (the clock is
#: fake and never skips ahead); moto does not run states and keeps it RUNNING too,
#: and the endpoint's stack, whose clock is real, for the hour.
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
    by the dispatcher thread; Step Functions', and so the endpoint's, at once)."""
    backend: str


def _delete_state_machine(sfn: Any, arn: str) -> None:
    """Stop the machine's running executions (a deleted machine's would run on) and delete it."""
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn, statusFilter="RUNNING"):
        for execution in page["executions"]:
            sfn.stop_execution(executionArn=execution["executionArn"])
    sfn.delete_state_machine(stateMachineArn=arn)


@pytest.fixture(params=BACKENDS)
def orchestrator(request: pytest.FixtureRequest) -> Iterator[OrchestratorCase]:
    """The orchestrator with a state machine (``STATE_MACHINE``, or a fresh name on the endpoint)."""
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

    remote = remote_for(request)
    sfn = remote.client("stepfunctions")
    remote_orchestrator = StepFunctionsOrchestrator(sfn)
    name = remote.name(STATE_MACHINE)
    arn = remote_orchestrator.create_state_machine(name, WAITING_DEFINITION, ROLE_ARN)
    yield OrchestratorCase(remote_orchestrator, name, remote_orchestrator.describe, request.param)
    if remote.persistent:
        _delete_state_machine(sfn, arn)
