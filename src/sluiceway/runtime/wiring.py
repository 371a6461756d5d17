"""The composition root: the only place that picks backends from settings.

:func:`build_services` gives the ports a function needs (in a worker process or
a Lambda); :func:`build_stack` adds what runs the pipeline locally: the function
worker pool, the orchestrator, the event bus and its router.
"""

from __future__ import annotations

import functools
import json
import logging
import shutil
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..asl import parser
from ..asl.commands import InvokeTask, TaskFailed, TaskSucceeded
from ..asl.model import StateMachine
from ..backends.local.journal import SqliteTaskJournal
from ..backends.local.stacklock import StackLock
from ..errors import ExecutionAlreadyExistsError, ExecutionNotFoundError, NotFoundError
from ..events.patterns import compile_pattern
from ..events.rules import Delivery, RetryPolicy, Rule, Target, target_kind
from ..ports import Clock, ExecutionStore, FunctionInvoker, Invocation, MetadataTable, ObjectStore, Queue, Topic
from ..ports.events import DeadLetterSender, Deliver, EventStore, EventTrail
from ..settings import Settings
from .clock import FakeClock, SystemClock
from .delivery import FunctionSender, QueueSender, Sender, SmtpConfig, SmtpSender, TopicDeliverer, WebhookSender
from .dynamodb_integration import DynamoDbTasks
from .eventing import EventingObjectStore
from .executor import LocalOrchestrator
from .integrations import TaskRunner
from .invoker import FunctionSpec, LocalFunctionInvoker
from .router import EventRouter
from .triggers import EventSourceMappings

if TYPE_CHECKING:
    from ..backends.local._sqlite import Database
    from ..backends.local.objects import FileObjectStore
    from ..backends.local.queues import SqliteQueueService
    from ..backends.local.topics import SqliteTopic
    from ..config import PipelineConfig

logger = logging.getLogger(__name__)

__all__ = [
    "FUNCTIONS",
    "Messaging",
    "Services",
    "Stack",
    "build_messaging",
    "build_services",
    "build_stack",
    "get_services",
    "open_event_bus",
    "open_local_read",
    "open_messaging",
    "smtp_config",
    "workflow_definition",
]

#: The pipeline's functions: name -> handler (the same names become Lambda functions on AWS).
FUNCTIONS: Mapping[str, str] = {
    "ValidateData": "sluiceway.functions.validate.handler",
    "ProcessChunk": "sluiceway.functions.process_chunk.handler",
    "AggregateData": "sluiceway.functions.aggregate.handler",
    "StoreResults": "sluiceway.functions.store_results.handler",
    "ErrorHandler": "sluiceway.functions.error_handler.handler",
}

#: The presets' functions (the "csv-fanout" and "json-records" pipelines), run locally beside the workflow's.
PRESET_FUNCTIONS: Mapping[str, str] = {
    "CsvProcessor": "sluiceway.functions.csv_processor.handler",
    "SqsConsumer": "sluiceway.functions.sqs_consumer.handler",
    "JsonRecords": "sluiceway.functions.json_records.handler",
}

WORKFLOW_FILE = "data_processing.asl.json"
STOP_GRACE_S = 5.0
"""How long a stop lets tasks in flight finish (and commit) before it stops committing."""


@dataclass(frozen=True)
class Services:
    """The ports and configuration a function (or any caller) works with."""

    settings: Settings
    objects: ObjectStore
    table: MetadataTable
    topic: Topic
    clock: Clock
    pipeline: PipelineConfig
    db: Database | None = None
    tables: Callable[[str, str], MetadataTable] | None = None
    """Open another table by name and partition key (the presets' tables)."""

    def table_named(self, name: str, partition_key: str) -> MetadataTable:
        if self.tables is None:
            raise ValueError("this backend cannot open other tables")
        return self.tables(name, partition_key)


def build_services(settings: Settings, *, clock: Clock | None = None) -> Services:
    """Wire the ports from ``settings`` (local: folders and SQLite under ``data_dir``)."""
    from ..config import load_config, packaged_config_path

    clock = clock or SystemClock()
    pipeline = load_config(settings.pipeline_config or packaged_config_path())
    if settings.backend == "aws":
        from ..backends.aws import build as build_aws  # boto3 stays out of local installs
        from ..backends.aws.tables import DynamoTable

        objects, table, topic = build_aws(settings, endpoint_url=settings.aws_endpoint_url)
        client = getattr(table, "client", None)
        return Services(
            settings,
            objects,
            table,
            topic,
            clock,
            pipeline,
            tables=lambda name, key: DynamoTable(name, client, partition_key=key),
        )
    from ..backends.local._sqlite import Database
    from ..backends.local.events import SqliteEventBus
    from ..backends.local.objects import FileObjectStore
    from ..backends.local.tables import SqliteTable
    from ..backends.local.topics import SqliteTopic

    db = Database(settings.db_path)
    store = FileObjectStore(settings.buckets_dir)
    for bucket in (settings.input_bucket, settings.output_bucket):
        store.ensure_bucket(bucket)
    # Every write through Sluiceway (CLI, functions in worker processes) commits its S3 event
    # to the shared SQLite bus, as S3 does with EventBridge notifications on; the router of
    # the running stack picks them up.
    local_objects = EventingObjectStore(store, SqliteEventBus(db, clock), clock, region=settings.region, account=settings.account_id)
    return Services(
        settings=settings,
        objects=local_objects,
        table=SqliteTable(db, settings.table_name),
        topic=SqliteTopic(db, settings.outbox_path, clock, region=settings.region, account_id=settings.account_id),
        clock=clock,
        pipeline=pipeline,
        db=db,
        tables=lambda name, key: SqliteTable(db, name, partition_key=key),
    )


_services_lock = threading.Lock()


@functools.cache
def _cached_services() -> Services:
    return build_services(Settings())


def get_services() -> Services:
    """The process's services, built once from the environment (worker processes, Lambda)."""
    with _services_lock:
        return _cached_services()


def table_keys(settings: Settings) -> dict[str, str]:
    """The tables the local stack knows, with their partition keys (for the dynamodb:* task integrations)."""
    return {settings.table_name: "ExecutionId", "events": "pk"}


def workflow_definition() -> str:
    """The text of the packaged DataProcessingWorkflow ASL file (with ``${...}`` placeholders)."""
    return resources.files("sluiceway.workflows").joinpath(WORKFLOW_FILE).read_text(encoding="utf-8")


def substitutions(settings: Settings) -> dict[str, str]:
    """DefinitionSubstitutions for the workflow, as the SAM template passes them on AWS."""
    values = {f"{name}FunctionArn": settings.arn("lambda", f"function:{name}") for name in FUNCTIONS}
    values["NotificationTopicArn"] = settings.arn("sns", settings.topic_name)
    return values


def load_workflow(settings: Settings) -> StateMachine:
    return parser.parse_text(workflow_definition(), substitutions(settings))


@dataclass
class Stack:
    """Everything the local pipeline runs on, started and stopped together."""

    settings: Settings
    services: Services
    objects: EventingObjectStore
    invoker: LocalFunctionInvoker
    orchestrator: LocalOrchestrator
    router: EventRouter
    bus: Any
    lock: StackLock
    """The data dir's: taken by :meth:`start`; the stack's worker processes hold it too."""
    messaging: Messaging | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def start(self, command: str = "sluiceway") -> None:
        """Take the data dir (one stack at a time: StackRunningError otherwise) and start running.

        Args:
            command: what runs, for the message a second stack on this data dir gets.
        """
        self.lock.acquire(command)
        try:
            # Only the stack's own functions use scratch space, and none runs yet: what is
            # there was left by a process that was killed. So were staged writes nobody holds.
            clear_folder(self.settings.scratch_dir)
            files: FileObjectStore = self.objects.inner  # type: ignore[assignment]  # the local stack's buckets are folders
            for bucket in (self.settings.input_bucket, self.settings.output_bucket):
                files.clear_staging(bucket)
            self.orchestrator.start()
            self.router.start()
            self.router.notify()
            if self.messaging is not None:
                self.messaging.start()
        except BaseException:
            self.lock.release()
            raise

    def close(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop; tasks still running after ``grace_s`` run again at the next start (see LocalOrchestrator.close)."""
        watcher = self.extra.pop("watcher", None)
        if watcher is not None:
            watcher.stop()
        self.router.close()
        if self.messaging is not None:
            self.messaging.close()  # before the invoker: pollers call functions
        self.orchestrator.close(grace_s)
        self.invoker.close()
        self.orchestrator.join_tasks()
        if self.services.db is not None:
            self.services.db.close()
        self.lock.release()

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def upload(self, path: str | Path, key: str | None = None) -> str:
        """Put a local file into the input bucket (emitting its Object Created event); return the key."""
        source = Path(path)
        target_key = key or source.name
        self.objects.put_file(self.settings.input_bucket, target_key, str(source), content_type="text/csv")
        return target_key

    def watch(self) -> None:
        """Notice files dropped into the input bucket's folder by other programs."""
        from .watcher import BucketWatcher

        watcher = BucketWatcher(self.objects.inner, self.settings.input_bucket, self.objects.emit_created)
        watcher.start()
        self.extra["watcher"] = watcher


def build_stack(
    settings: Settings,
    *,
    clock: Clock | None = None,
    skip_waits: bool = False,
    invoker_mode: str = "process",
    preset: str | None = None,
) -> Stack:
    """Wire the local pipeline: ports, worker pool, orchestrator, bus and the pipeline's rule.

    With ``preset`` (``csv-fanout`` or ``json-records``) the stack runs that pipeline
    instead of the CSV workflow (see :mod:`sluiceway.runtime.presets`).
    """
    settings = settings.model_copy(update={"data_dir": settings.data_dir.resolve()})
    if skip_waits and clock is None:
        clock = FakeClock(SystemClock().now())
    clock = clock or SystemClock()
    services = build_services(settings, clock=clock)
    from ..backends.local.events import SqliteEventBus

    assert services.db is not None, "the local stack needs the local backends"
    bus = SqliteEventBus(services.db, clock)
    targets = LocalTargets(topic=services.topic)
    router = EventRouter(bus, resolver=targets, clock=clock, region=settings.region, account=settings.account_id)
    objects = services.objects
    assert isinstance(objects, EventingObjectStore)
    objects.on_event = router.notify
    lock = StackLock(settings.data_dir)
    invoker = LocalFunctionInvoker(
        [
            FunctionSpec(name, handler, timeout_s=settings.function_timeout_s, memory_mb=settings.function_memory_mb)
            for name, handler in {**FUNCTIONS, **PRESET_FUNCTIONS}.items()
        ],
        workers=settings.workers,
        env=settings.to_env(),
        mode="process" if invoker_mode == "process" else "thread",
        region=settings.region,
        account_id=settings.account_id,
        keep_fds=lambda: () if lock.fd is None else (lock.fd,),
    )
    from ..backends.local.topics import SqliteTopic

    assert isinstance(services.topic, SqliteTopic)
    messaging = build_messaging(settings, services.db, clock, topics=services.topic, invoker=invoker)
    targets.queues = messaging.queues
    runner = TaskRunner(
        invoker,
        services.topic,
        objects=objects,
        events=bus,
        queues=messaging.queues,
        default_timeout_s=settings.function_timeout_s,
        extra=DynamoDbTasks(lambda name: services.table_named(name, table_keys(settings)[name])).handlers(),
        journal=SqliteTaskJournal(services.db),
    )
    orchestrator = _orchestrator(settings, services.db, runner, runner.run, clock, skip_waits=skip_waits)
    orchestrator.register(settings.state_machine_name, load_workflow(settings))

    targets.orchestrator, targets.invoker = orchestrator, invoker

    if preset is not None:
        from .presets import apply_preset

        stack = Stack(settings, services, objects, invoker, orchestrator, router, bus, lock, messaging)
        apply_preset(stack, preset)
        return stack

    # The pipeline's rule is stored, so `sluiceway rules` and `events replay --rule` see it;
    # a state the user gave it (DISABLED) is kept across restarts.
    pipeline = services.pipeline
    pattern = compile_pattern(trigger_pattern(pipeline.trigger, settings.input_bucket))
    rule_name = f"{pipeline.name}-trigger"[:64]
    try:
        state = bus.get_rule(rule_name).state
    except NotFoundError:
        state = "ENABLED"
    # As the SAM template has it on AWS: a day of retries, then the trigger's dead-letter queue.
    messaging.queues.create_queue(settings.dead_letter_queue)
    workflow = Target(
        "workflow",
        orchestrator.state_machine_arn(settings.state_machine_name),
        retry_policy=RetryPolicy(maximum_retry_attempts=185, maximum_event_age_s=86_400),
        dead_letter_arn=messaging.queues.queue_arn(settings.dead_letter_queue),
    )
    bus.put_rule(Rule(rule_name, pattern, (workflow,), state=state, description=f"Runs {settings.state_machine_name}"))
    return Stack(settings, services, objects, invoker, orchestrator, router, bus, lock, messaging)


@dataclass
class LocalTargets:
    """Stored rules' target ARNs -> the local stack (the router's TargetResolver).

    State machines start executions named ``delivery.execution_name`` (a redelivered
    event starts nothing new); functions are invoked asynchronously, as EventBridge
    invokes Lambda; topics and queues get the target input as JSON text.
    """

    topic: Topic
    orchestrator: LocalOrchestrator | None = None
    invoker: LocalFunctionInvoker | None = None
    queues: Queue | None = None

    def resolve(self, arn: str) -> Deliver:
        kind = target_kind(arn)
        name = arn.rsplit(":", 1)[-1]
        if kind == "state-machine" and self.orchestrator is not None:
            orchestrator = self.orchestrator

            def start(delivery: Delivery) -> None:
                try:
                    orchestrator.start_execution(name, delivery.input, name=delivery.execution_name)
                except ExecutionAlreadyExistsError:
                    # A redelivered event whose execution already ran: exactly-once effect, nothing to do.
                    logger.info("execution for this event exists already", extra={"execution": delivery.execution_name})
                except ExecutionNotFoundError as exc:
                    raise NotFoundError(str(exc)) from exc

            return start
        if kind == "function" and self.invoker is not None and self.invoker.knows(name):
            invoker = self.invoker

            def invoke(delivery: Delivery) -> None:
                call = Invocation(name, delivery.input, new_request_id())
                threading.Thread(target=_invoke_logged, args=(invoker, call), daemon=True).start()

            return invoke
        if kind == "topic":
            return lambda delivery: self._publish(arn, delivery)
        if kind == "queue" and self.queues is not None:
            queues = self.queues
            return lambda delivery: _send(queues, name, json.dumps(delivery.input))
        raise NotFoundError(f"no local {kind} {arn}")

    def dead_letter(self, arn: str) -> DeadLetterSender:
        if self.queues is None:
            raise NotFoundError(f"no local queue {arn}")
        queues, name = self.queues, arn.rsplit(":", 1)[-1]
        return lambda body, attributes: _send(queues, name, body, attributes)

    def _publish(self, arn: str, delivery: Delivery) -> None:
        self.topic.publish(arn, json.dumps(delivery.input))


def _orchestrator(
    settings: Settings,
    db: Database,
    runner: TaskRunner,
    run: Callable[[InvokeTask], TaskSucceeded | TaskFailed],
    clock: Clock,
    *,
    skip_waits: bool,
) -> LocalOrchestrator:
    """The local orchestrator on ``db``, running tasks with ``run``; ``runner`` starts child executions through it."""
    from ..backends.local.executions import SqliteExecutionStore

    orchestrator = LocalOrchestrator(
        SqliteExecutionStore(db),
        run,
        clock,
        region=settings.region,
        account_id=settings.account_id,
        max_payload_bytes=settings.max_payload_bytes,
        skip_waits=skip_waits,
    )
    runner.executions = orchestrator
    return orchestrator


def _send(queues: Queue, name: str, body: str, attributes: Mapping[str, str] | None = None) -> None:
    queues.send(name, body, attributes=attributes)


def _invoke_logged(invoker: LocalFunctionInvoker, call: Invocation) -> None:
    result = invoker.invoke(call)
    if not result.ok:
        logger.warning(
            "function invoked by an event rule failed",
            extra={"function": call.function_name, "error": result.error_type, "cause": result.error_message},
        )


def running_stack(settings: Settings) -> str | None:
    """Who runs a stack on the data dir, for people (`` (pid 12, `sluiceway up`, since ...)``); None when none does."""
    from ..backends.local.stacklock import StackLock, describe

    holder = StackLock(settings.data_dir).holder()
    return None if holder is None else describe(holder)


@dataclass
class EventFollower:
    """Read access to the event bus's deliveries and the executions (``upload --run`` follows its event)."""

    bus: EventTrail
    executions: ExecutionStore
    close: Callable[[], None]


def open_event_follower(settings: Settings) -> EventFollower:
    from ..backends.local._sqlite import Database
    from ..backends.local.events import SqliteEventBus
    from ..backends.local.executions import SqliteExecutionStore

    db = Database(settings.db_path)
    return EventFollower(SqliteEventBus(db, SystemClock()), SqliteExecutionStore(db), db.close)


def clear_folder(folder: Path) -> None:
    """Empty ``folder`` (created if missing), never following a link out of it."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def open_event_bus(settings: Settings) -> tuple[EventStore, Callable[[], None]]:
    """The local event bus (buses, rules, archive) for the CLI, and how to close it."""
    from ..backends.local._sqlite import Database
    from ..backends.local.events import SqliteEventBus

    db = Database(settings.data_dir / "sluiceway.db")
    return SqliteEventBus(db, SystemClock()), db.close


def trigger_pattern(pattern: Mapping[str, Any], input_bucket: str) -> dict[str, Any]:
    """The pipeline's pattern, scoped to the input bucket unless it names buckets itself."""
    scoped = dict(pattern)
    detail = dict(scoped.get("detail") or {})
    if "bucket" not in detail:
        detail["bucket"] = {"name": [input_bucket]}
    scoped["detail"] = detail
    return scoped


def new_request_id() -> str:
    return str(uuid.uuid4())


@dataclass
class SfnRuntime:
    """An orchestrator for ad-hoc state machines (``sluiceway sfn run``)."""

    orchestrator: LocalOrchestrator
    invoker: LocalFunctionInvoker
    db: Database

    def close(self) -> None:
        self.orchestrator.close()
        self.invoker.close()
        self.db.close()


def build_sfn_runtime(
    settings: Settings,
    *,
    skip_waits: bool = False,
    answer: Callable[[InvokeTask], TaskSucceeded | TaskFailed | None] | None = None,
) -> SfnRuntime:
    """Wire an orchestrator on the local store; ``answer`` may mock tasks (None = run for real)."""
    from ..backends.local._sqlite import Database
    from ..backends.local.topics import SqliteTopic

    settings = settings.model_copy(update={"data_dir": settings.data_dir.resolve()})
    clock: Clock = FakeClock(SystemClock().now()) if skip_waits else SystemClock()
    db = Database(settings.db_path)
    invoker = LocalFunctionInvoker(
        [FunctionSpec(name, handler, timeout_s=settings.function_timeout_s) for name, handler in FUNCTIONS.items()],
        workers=settings.workers,
        env=settings.to_env(),
        mode="thread",
        region=settings.region,
        account_id=settings.account_id,
    )
    from ..backends.local.events import SqliteEventBus
    from ..backends.local.objects import FileObjectStore
    from ..backends.local.queues import SqliteQueueService
    from ..backends.local.tables import SqliteTable

    keys = table_keys(settings)
    runner = TaskRunner(
        invoker,
        SqliteTopic(db, settings.outbox_path, clock, region=settings.region, account_id=settings.account_id),
        objects=FileObjectStore(settings.buckets_dir),
        events=SqliteEventBus(db, clock),
        queues=SqliteQueueService(db, clock, region=settings.region, account_id=settings.account_id),
        default_timeout_s=settings.function_timeout_s,
        extra=DynamoDbTasks(lambda name: SqliteTable(db, name, partition_key=keys[name])).handlers(),
        journal=SqliteTaskJournal(db),
    )

    def run_task(command: InvokeTask) -> TaskSucceeded | TaskFailed:
        if answer is not None:
            mocked = answer(command)
            if mocked is not None:
                return mocked
        return runner.run(command)

    orchestrator = _orchestrator(settings, db, runner, run_task, clock, skip_waits=skip_waits)
    return SfnRuntime(orchestrator, invoker, db)


def open_execution_store(settings: Settings) -> tuple[ExecutionStore, Callable[[], None]]:
    """The local execution store (read side for the CLI), and how to close it."""
    from ..backends.local._sqlite import Database
    from ..backends.local.executions import SqliteExecutionStore

    db = Database(settings.data_dir / "sluiceway.db")
    return SqliteExecutionStore(db), db.close


@dataclass
class LocalReader:
    """Read access to local executions and the metadata table (for the CLI and the API)."""

    executions: ExecutionStore
    table: MetadataTable
    close: Callable[[], None]


def open_local_read(settings: Settings) -> LocalReader:
    from ..backends.local._sqlite import Database
    from ..backends.local.executions import SqliteExecutionStore
    from ..backends.local.tables import SqliteTable

    db = Database(settings.data_dir / "sluiceway.db")
    return LocalReader(SqliteExecutionStore(db), SqliteTable(db, settings.table_name), db.close)


def smtp_config(settings: Settings) -> SmtpConfig:
    password = settings.smtp_password
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        starttls=settings.smtp_starttls,
        username=settings.smtp_username,
        password=password.get_secret_value() if password is not None else None,
        sender=settings.smtp_from,
        use_ssl=settings.smtp_ssl,
        ca_file=str(settings.smtp_ca_file) if settings.smtp_ca_file is not None else None,
    )


@dataclass
class Messaging:
    """Local queues and topics, the topic deliverer and the queue -> function triggers."""

    queues: SqliteQueueService
    topics: SqliteTopic
    deliverer: TopicDeliverer
    triggers: EventSourceMappings | None
    _owned_db: Database | None = field(default=None, repr=False)

    def start(self) -> None:
        self.deliverer.start()
        if self.triggers is not None:
            self.triggers.start()

    def close(self) -> None:
        if self.triggers is not None:
            self.triggers.close()
        self.deliverer.close()
        if self._owned_db is not None:
            self._owned_db.close()


def build_messaging(
    settings: Settings,
    db: Database,
    clock: Clock,
    *,
    topics: SqliteTopic | None = None,
    invoker: FunctionInvoker | None = None,
) -> Messaging:
    from ..backends.local.queues import SqliteQueueService
    from ..backends.local.topics import SqliteTopic

    queues = SqliteQueueService(db, clock, region=settings.region, account_id=settings.account_id)
    topics = topics or SqliteTopic(db, settings.outbox_path, clock, region=settings.region, account_id=settings.account_id)
    email, webhook = SmtpSender(smtp_config(settings)), WebhookSender()
    senders: dict[str, Sender] = {
        "outbox": topics.deliver_outbox,
        "sqs": QueueSender(queues),
        "email": email,
        "email-json": email,
        "http": webhook,
        "https": webhook,
    }
    if invoker is not None:
        senders["lambda"] = FunctionSender(invoker)

    def dead_letter(queue: str, body: str, attributes: Any) -> None:
        queues.send(queue.rsplit(":", 1)[-1], body, attributes=attributes)

    deliverer = TopicDeliverer(topics, senders, clock=clock, dead_letter=dead_letter)
    topics.on_publish = deliverer.notify
    triggers = (
        EventSourceMappings(queues, invoker, clock=clock, region=settings.region, account_id=settings.account_id)
        if invoker is not None
        else None
    )
    return Messaging(queues, topics, deliverer, triggers)


def open_messaging(settings: Settings, *, clock: Clock | None = None) -> Messaging:
    """For the CLI (no functions: Lambda deliveries wait for `sluiceway up`)."""
    from ..backends.local._sqlite import Database

    settings = settings.model_copy(update={"data_dir": settings.data_dir.resolve()})
    db = Database(settings.db_path)
    messaging = build_messaging(settings, db, clock or SystemClock())
    messaging._owned_db = db
    return messaging


def aws_credential_source(env: Mapping[str, str]) -> str | None:
    """Where botocore would find AWS credentials (for ``sluiceway deploy``'s checks), or None."""
    from ..backends.aws.credentials import credential_source

    return credential_source(env)
