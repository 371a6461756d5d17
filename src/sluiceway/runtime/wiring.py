"""The local composition root: an application (``apps/``) on the backends of one data dir.

:func:`build_stack` builds every piece once, each given its collaborators when it is
made: the data dir's backends (``backends/local/datadir.py``), the function worker
pool, the orchestrator (which runs child executions itself), the event router and
its target resolver, the topic deliverer and the queue triggers; then it creates
the application's topics, queues, rules and triggers. The two wake-up signals are
made first, so that what commits work (object writes, publishes) can wake what
delivers it without being told of it afterwards.

The CLI's read-side openers (runs, history, the bus, messaging) live here too: they
are the other places that open the local backends.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..apps import APPS, CSV_WORKFLOW, App, build_app
from ..apps.builtin import PIPELINE_FUNCTIONS, csv_workflow
from ..asl import parser
from ..asl.commands import InvokeTask, TaskFailed, TaskSucceeded
from ..asl.model import StateMachine
from ..backends.local._cw_metric_filter_feed import MetricFilterFeed
from ..backends.local._cw_subscription_feed import SubscriptionFeed
from ..backends.local.activities import SqliteActivities
from ..backends.local.api_destinations import SqliteApiDestinations
from ..backends.local.async_invocations import SqliteAsyncInvocations
from ..backends.local.cloudwatch_feeds import LambdaThrottles, metric_feeds
from ..backends.local.datadir import LocalDataDir, open_data_dir
from ..backends.local.dynamodb import LocalDynamoDb
from ..backends.local.dynamodb.stream_source import LocalStreamSource
from ..backends.local.event_forwarding import SqliteEventForwarding
from ..backends.local.function_roles import stored_role
from ..backends.local.kinesis import SqliteKinesis
from ..backends.local.secrets import SqliteSecrets
from ..backends.local.shard_checkpoints import SqliteShardCheckpoints
from ..backends.local.stacklock import StackLock, describe
from ..clock import FakeClock, SystemClock
from ..config import load_config, packaged_config_path
from ..errors import ExecutionAlreadyExistsError, ExecutionNotFoundError, NotFoundError
from ..events.patterns import compile_pattern
from ..events.rules import Delivery, RetryPolicy, Rule, Target, target_kind
from ..observability.gauges import QueueDepth
from ..observability.metrics import Metrics
from ..observability.tracing import Tracing, tracing_from_environ
from ..ports import Clock, ExecutionRecord, ExecutionStore, MetadataTable, Queue, Topic
from ..ports.events import DeadLetterSender, Deliver, EventStore, EventTrail
from ..ports.topics import Sender
from ..services import Services
from ..settings import Settings
from .alarms import AlarmEvaluator, parse_emf
from .bus.bus_and_log_targets import BusAndLogTargets
from .bus.http_targets import HttpTargets
from .bus.router import EventRouter
from .bus.scheduler import ScheduleRunner
from .delivery_loop import ORPHAN_SWEEP_S
from .lambdas.async_invocations import AsyncInvocationDeliverer
from .lambdas.destinations import LocalDestinations
from .lambdas.invoker import FunctionSpec, LocalFunctionInvoker, endpoint_environment
from .messaging.delivery import FunctionSender, QueueSender, SmtpConfig, SmtpSender, TopicDeliverer, WebhookSender
from .messaging.kinesis_source import KinesisSource
from .messaging.streams import StreamMappings
from .messaging.triggers import EventSourceMapping, EventSourceMappings
from .orchestration.execution_logs import ExecutionLogWriter, configurations_in
from .orchestration.executor import LocalOrchestrator
from .orchestration.tasks import AwsSdkTasks, TaskRunner
from .periodic import Periodic
from .stack import Stack

logger = logging.getLogger(__name__)

TEMPLATE_APP = "template"
"""The application name of a stack whose resources come from a template (``build_stack(app=None)``)."""

__all__ = [
    "EventFollower",
    "LocalReader",
    "LocalTargets",
    "Messaging",
    "SfnRuntime",
    "build_sfn_runtime",
    "build_stack",
    "load_workflow",
    "open_event_bus",
    "open_event_follower",
    "open_execution_store",
    "open_local",
    "open_local_read",
    "open_messaging",
    "running_stack",
    "smtp_config",
]


def build_stack(
    settings: Settings,
    *,
    app: str | None = CSV_WORKFLOW,
    clock: Clock | None = None,
    skip_waits: bool = False,
    invoker_mode: str = "process",
) -> Stack:
    """Wire application ``app`` on the data dir's local backends (not started: see :meth:`Stack.start`).

    ``app=None`` provisions no built-in application: a template (``sluiceway.cfn``) brings its
    own resources once the stack runs.

    Raises:
        ValueError: no application of that name.
        ConfigError: the pipeline config is wrong.
    """
    settings = settings.model_copy(update={"data_dir": settings.data_dir.resolve()})
    if skip_waits and clock is None:
        clock = FakeClock(SystemClock().now())
    clock = clock or SystemClock()
    pipeline = load_config(settings.pipeline_config or packaged_config_path())
    application = build_app(app, settings, pipeline) if app is not None else App(TEMPLATE_APP, ())
    # Rules stored in the data dir by a stack of another built-in app (``up --preset`` one day,
    # ``up`` the next) still target that app's functions and workflows: every stack serves all
    # of them, so none of those events is dead-lettered. Only ``app`` is provisioned.
    resident = [application, *(build_app(name, settings, pipeline) for name in APPS if name != app)]
    functions = {f.name: f for a in reversed(resident) for f in a.functions}
    workflows = {w.name: w for a in reversed(resident) for w in a.workflows}
    events_committed, messages_published, schedules_changed = threading.Event(), threading.Event(), threading.Event()
    invocations_queued = threading.Event()
    local = open_data_dir(
        settings,
        clock,
        on_event=events_committed.set,
        on_publish=messages_published.set,
        on_schedule=schedules_changed.set,
        on_async_invoke=invocations_queued.set,
    )
    lock = StackLock(settings.data_dir)
    # SLUICEWAY_METRICS_ENABLED=false turns every metric hook into a return.
    metrics = Metrics(enabled=settings.metrics_enabled)
    # Off unless the standard OTEL_EXPORTER_OTLP_*ENDPOINT names a collector (then the SDK is loaded).
    tracing = tracing_from_environ(os.environ)
    invoker = LocalFunctionInvoker(
        [
            FunctionSpec(f.name, f.handler, timeout_s=settings.function_timeout_s, memory_mb=settings.function_memory_mb)
            for f in functions.values()
        ],
        workers=settings.workers,
        env={**settings.to_env(), **function_aws_env(settings)},
        mode="process" if invoker_mode == "process" else "thread",
        region=settings.region,
        account_id=settings.account_id,
        keep_fds=lambda: () if lock.fd is None else (lock.fd,),
        logs=local.logs,
        metrics=metrics,
        tracing=tracing,
        throttles=LambdaThrottles(local.cloudwatch).record,
    )
    # AWS SDK tasks are served by the endpoint's operations, handed over once an endpoint exists
    # (``sluiceway.endpoint.sdk_tasks``); the runner is in place before the start resumes anything.
    sdk_tasks = AwsSdkTasks(_task_runner(settings, local, invoker, clock).run, local.journal)
    orchestrator = _orchestrator(
        settings,
        local,
        sdk_tasks,
        clock,
        skip_waits=skip_waits,
        metrics=metrics,
        tracing=tracing,
    )
    # Activity tasks (scheduled ones included, after a restart) are queued for workers at once,
    # not only once the endpoint has served its first activity call.
    orchestrator.serve_activities(SqliteActivities(local.db, clock))
    # State machines with a loggingConfiguration log their executions' history to CloudWatch Logs.
    execution_logs = ExecutionLogWriter(local.logs, configurations_in(local.executions), release=local.release_thread)
    orchestrator.on_history(execution_logs)
    for workflow in workflows.values():
        orchestrator.register(workflow.name, parser.parse_text(workflow.definition, workflow.substitutions))
    targets = BusAndLogTargets(
        LocalTargets(local.topics, orchestrator, invoker, local.queues, local.async_invocations),
        SqliteEventForwarding(local.bus.db, clock),
        local.logs,
        clock=clock,
        region=settings.region,
        account=settings.account_id,
        on_event=events_committed.set,
        # API destinations (their credentials in the data dir's Secrets Manager) and, once an endpoint
        # serves them, API Gateway REST APIs.
        http=HttpTargets(
            SqliteApiDestinations(
                local.db,
                clock,
                SqliteSecrets(local.db, clock, account_id=settings.account_id),
                region=settings.region,
                account=settings.account_id,
            ),
            local.bus,
            region=settings.region,
            account=settings.account_id,
        ),
    )
    router = EventRouter(
        local.bus,
        resolver=targets,
        clock=clock,
        region=settings.region,
        account=settings.account_id,
        wakeup=events_committed,
        metrics=metrics,
        tracing=tracing,
        trace_of=local.bus.trace_parent,
    )
    metrics.watch_stores(queues=_queue_depths(local), running=orchestrator.running_by_machine)
    if tracing.enabled:
        metrics.watch_tracing(lambda: tracing.dropped_spans)
    if metrics.enabled:
        orchestrator.on_change(_count_rows(local.table, metrics))
    scheduler = ScheduleRunner(
        local.schedules,
        local.bus,
        resolver=targets,
        clock=clock,
        region=settings.region,
        account=settings.account_id,
        on_rule_fired=router.notify,
        wakeup=schedules_changed,
    )
    deliverer = _deliverer(settings, local, clock, invoker=invoker, wakeup=messages_published, tracing=tracing)
    triggers = EventSourceMappings(
        local.queues, invoker, clock=clock, region=settings.region, account_id=settings.account_id, tracing=tracing
    )
    _provision(application, settings, local, orchestrator, triggers)
    services = Services(settings, local.objects, local.table, local.topics, clock, pipeline, tables=local.table_named, close=local.close)
    # A write whose writer died before announcing it has no row that would wake a loop: looked
    # for at the start and as often as the delivery loops look for claims of processes that died.
    write_recovery = Periodic(local.objects.recover, every_s=ORPHAN_SWEEP_S, name="sluiceway-s3-write-recovery")
    async_invocations = AsyncInvocationDeliverer(
        local.async_invocations,
        local.async_invocations.configs,
        invoker,
        clock,
        destinations=LocalDestinations(local.queues, local.topics, local.bus, local.async_invocations, on_event=events_committed.set),
        concurrency=settings.workers,
        wakeup=invocations_queued,
        tracing=tracing,
        trace_of=local.async_invocations.trace_parent,
    )
    kinesis = SqliteKinesis(local.db, clock, region=settings.region, account_id=settings.account_id)
    # DynamoDB and Kinesis stream -> function mappings: pollers woken by the commit of a table write or a put.
    streams = StreamMappings(
        LocalStreamSource(local.db, clock, region=settings.region, account_id=settings.account_id),
        SqliteShardCheckpoints(local.db, clock),
        invoker,
        queues=local.queues,
        topics=local.topics,
        objects=local.objects,
        clock=clock,
        kinesis=KinesisSource(kinesis, region=settings.region),
        # As GetFunctionConfiguration reports it: an API-made function's Role, else Sluiceway's.
        role_of=lambda name: stored_role(settings.data_dir, name),
        region=settings.region,
        account_id=settings.account_id,
    )
    alarms = AlarmEvaluator(
        local.cloudwatch,
        clock,
        [
            *metric_feeds(
                local.cloudwatch, logs_path=local.logs.path, executions=local.executions, queues=local.queues, clock=clock,
                region=settings.region, account_id=settings.account_id, parse_emf=parse_emf,
            ),
            MetricFilterFeed(local.cloudwatch, local.logs.path),
            # Subscription filters deliver on the same turns (their cursor commits with what they queue or put).
            SubscriptionFeed(local.cloudwatch, local.logs.path, local.async_invocations, kinesis, account_id=settings.account_id),
        ],
    )  # fmt: skip
    return Stack(
        settings,
        application,
        local,
        services,
        invoker,
        orchestrator,
        router,
        deliverer,
        triggers,
        lock,
        write_recovery,
        scheduler,
        async_invocations,
        streams,
        metrics,
        alarms,
        tracing=tracing,
        sdk_tasks=sdk_tasks,
        execution_logs=execution_logs,
        kinesis=kinesis,
    )


def function_aws_env(settings: Settings) -> dict[str, str]:
    """What boto3 inside a function needs to talk to the stack's endpoint, unchanged (as Lambda sets it)."""
    keys = settings.access_keys()
    if keys:  # the endpoint checks signatures: functions sign with a configured key
        key_id, secret = next(iter(keys.items()))
        return endpoint_environment(settings.endpoint_url, key_id, secret)
    return endpoint_environment(settings.endpoint_url)


def _task_runner(settings: Settings, local: LocalDataDir, invoker: LocalFunctionInvoker, clock: Clock) -> TaskRunner:
    keys = table_keys(settings)
    return TaskRunner(
        invoker,
        local.topics,
        objects=local.objects,
        events=local.bus,
        queues=local.queues,
        # The pipeline's own tables through the metadata port; an unknown one raises KeyError, and the
        # task goes to the engine (another table), or fails with ResourceNotFoundException (none).
        tables=lambda name: local.table_named(name, keys[name]),
        dynamodb=_dynamodb_engine(settings, local, clock),
        default_timeout_s=settings.function_timeout_s,
        journal=local.journal,
        region=settings.region,
        account_id=settings.account_id,
        clock=clock,
    )


def _orchestrator(
    settings: Settings,
    local: LocalDataDir,
    run: Callable[[InvokeTask], TaskSucceeded | TaskFailed],
    clock: Clock,
    *,
    skip_waits: bool,
    answer: Callable[[InvokeTask], TaskSucceeded | TaskFailed | None] | None = None,
    metrics: Metrics | None = None,
    tracing: Tracing | None = None,
) -> LocalOrchestrator:
    return LocalOrchestrator(
        local.executions,
        run,
        clock,
        region=settings.region,
        account_id=settings.account_id,
        max_payload_bytes=settings.max_payload_bytes,
        skip_waits=skip_waits,
        answer=answer,
        metrics=metrics,
        tracing=tracing,
    )


def _queue_depths(local: LocalDataDir) -> Callable[[], list[QueueDepth]]:
    """Every queue's counts (GetQueueAttributes'), and which are dead-letter queues, read at each scrape."""
    targets_of_rules: tuple[int | None, frozenset[str]] = (None, frozenset())

    def rule_dead_letters() -> frozenset[str]:
        nonlocal targets_of_rules
        version = local.bus.rules_version()
        if version != targets_of_rules[0]:  # rules are parsed again only when they changed
            arns = (t.dead_letter_arn for r in local.bus.list_rules() for t in r.targets if isinstance(t, Target))
            targets_of_rules = (version, frozenset(arn.rsplit(":", 1)[-1] for arn in arns if arn))
        return targets_of_rules[1]

    def read() -> list[QueueDepth]:
        found = []
        for name in local.queues.list_queues():
            try:
                attributes = local.queues.queue_attributes(name)
            except NotFoundError:
                continue  # deleted since it was listed
            found.append((name, attributes))
        dead_letters = set(rule_dead_letters())
        dead_letters.update(a.config.redrive_policy.dead_letter_queue for _, a in found if a.config.redrive_policy is not None)
        return [
            QueueDepth(name, a.available, a.in_flight, a.delayed, a.oldest_age_s, dead_letter=name in dead_letters) for name, a in found
        ]

    return read


def _count_rows(table: MetadataTable, metrics: Metrics) -> Callable[[ExecutionRecord], None]:
    """Count a pipeline run's records, from the metadata record StoreResults wrote, when its execution succeeds."""

    def count(record: ExecutionRecord) -> None:
        if record.status != "SUCCEEDED":
            return
        item = table.get({"ExecutionId": record.arn})
        if not item or not isinstance(item.get("RowsRead"), int):
            return  # not a data pipeline's execution
        rows = {key: max(0, value) if isinstance(value := item.get(key), int) else 0 for key in ("RowsRead", "RowsValid", "RowsRejected")}
        pipeline = str(item.get("Pipeline") or record.state_machine)
        metrics.pipeline_rows(pipeline, read=rows["RowsRead"], valid=rows["RowsValid"], rejected=rows["RowsRejected"])

    return count


def _provision(app: App, settings: Settings, local: LocalDataDir, orchestrator: LocalOrchestrator, triggers: EventSourceMappings) -> None:
    """Create the application's queues, topics, rules and triggers (idempotent: a restart changes nothing)."""
    for queue in app.queues:
        redrive = None
        if queue.dead_letter_queue is not None:
            redrive = {"deadLetterTargetArn": local.queues.queue_arn(queue.dead_letter_queue), "maxReceiveCount": queue.max_receive_count}
        local.queues.create_queue(queue.name, visibility_timeout_s=queue.visibility_timeout_s, redrive_policy=redrive)
    for topic in app.topics:
        local.topics.create_topic(topic.name)  # idempotent, as CreateTopic is
        for subscription in topic.subscriptions:
            local.topics.subscribe(topic.name, subscription.protocol, subscription.endpoint)
    for rule in app.rules:
        arn = (
            orchestrator.state_machine_arn(rule.target)
            if rule.target_kind == "workflow"
            else settings.arn("lambda", f"function:{rule.target}")
        )
        target = Target(
            rule.target_id,
            arn,
            retry_policy=RetryPolicy(maximum_retry_attempts=rule.max_retry_attempts, maximum_event_age_s=rule.max_event_age_s),
            dead_letter_arn=local.queues.queue_arn(rule.dead_letter_queue) if rule.dead_letter_queue else None,
        )
        # The rule is stored, so `sluiceway rules` and `events replay --rule` see it; a state the
        # user gave it (DISABLED) is kept across restarts.
        try:
            state = local.bus.get_rule(rule.name).state
        except NotFoundError:
            state = "ENABLED"
        local.bus.put_rule(Rule(rule.name, compile_pattern(dict(rule.pattern)), (target,), state=state, description=rule.description))
    for trigger in app.queue_triggers:
        triggers.add(
            EventSourceMapping(
                trigger.queue,
                trigger.function,
                batch_size=trigger.batch_size,
                report_batch_item_failures=trigger.report_batch_item_failures,
            )
        )


@dataclass(frozen=True)
class LocalTargets:
    """Stored rules' target ARNs -> the local stack (the router's TargetResolver).

    State machines start executions named ``delivery.execution_name`` (a redelivered
    event starts nothing new); functions are invoked asynchronously, as EventBridge
    invokes Lambda: the event goes to Lambda's asynchronous queue, committed before the
    delivery counts as made; topics and queues get the target input as JSON text.
    """

    topic: Topic
    orchestrator: LocalOrchestrator
    invoker: LocalFunctionInvoker
    queues: Queue
    invocations: SqliteAsyncInvocations

    def resolve(self, arn: str) -> Deliver:
        kind = target_kind(arn)
        name = arn.rsplit(":", 1)[-1]
        if kind == "state-machine":
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
        if kind == "function" and self.invoker.knows(name):
            invocations = self.invocations
            return lambda delivery: _enqueue(invocations, name, delivery)
        if kind == "topic":

            def publish(delivery: Delivery) -> None:
                self.topic.publish(arn, json.dumps(delivery.input))

            return publish
        if kind == "queue":
            return lambda delivery: _send_event(self.queues, name, delivery)
        raise NotFoundError(f"no local {kind} {arn}")

    def dead_letter(self, arn: str) -> DeadLetterSender:
        name = arn.rsplit(":", 1)[-1]
        return lambda body, attributes: _send(self.queues, name, body, attributes)


def _send(queues: Queue, name: str, body: str, attributes: Mapping[str, str] | None = None) -> None:
    queues.send(name, body, attributes=attributes)


def _send_event(queues: Queue, name: str, delivery: Delivery) -> None:
    # A FIFO queue gets the target's SqsParameters.MessageGroupId and, from a rule, the event's id
    # as its MessageDeduplicationId, as EventBridge sends them (the id is what AWS is seen to send;
    # its docs only ask for content-based deduplication). A delivery made again (a retry, or after
    # a crash) within SQS's five-minute window is then dropped by the queue: once, not twice.
    # Scheduler sends none: its FIFO targets "must have content-based deduplication enabled"
    # (its API reference), so a fire fails on a queue without it, and fires of the same Input
    # within five minutes are one message, as on AWS.
    from_rule = delivery.rule_arn.split(":")[2:3] == ["events"]
    fifo = name.endswith(".fifo")
    queues.send(
        name,
        json.dumps(delivery.input),
        group_id=delivery.message_group_id,
        dedup_id=str(delivery.event["id"]) if fifo and from_rule and "id" in delivery.event else None,
    )


def _enqueue(invocations: SqliteAsyncInvocations, function: str, delivery: Delivery) -> None:
    # The invocation commits here and the router records the delivery in a transaction of its own:
    # killed in between, the router delivers the event again at the next start. A request id derived
    # from the delivery (as execution names are) makes that enqueue find the invocation queued
    # already instead of queueing (and running) it twice; a replay is a new delivery, run again.
    identity = "|".join((str(delivery.event["id"]), delivery.replay_name or "", delivery.rule_arn, delivery.target_id, delivery.target_arn))
    invocations.enqueue(function, delivery.input, request_id=str(uuid.uuid5(uuid.NAMESPACE_URL, identity)))


def _dynamodb_engine(settings: Settings, local: LocalDataDir, clock: Clock) -> Callable[[str, Mapping[str, Any]], dict[str, Any]]:
    """The local DynamoDB engine's operations by name, for the ``dynamodb:*`` tasks on tables other than
    the pipeline's (a template's tables): DynamoDB's JSON in and out, as the endpoint serves them."""
    engine = LocalDynamoDb(local.db, clock, region=settings.region, account_id=settings.account_id)
    operations = {
        "PutItem": engine.put_item,
        "GetItem": engine.get_item,
        "UpdateItem": engine.update_item,
        "DeleteItem": engine.delete_item,
    }

    def call(operation: str, request: Mapping[str, Any]) -> dict[str, Any]:
        return operations[operation](request)

    return call


def table_keys(settings: Settings) -> dict[str, str]:
    """The tables the local stack knows, with their partition keys (for the dynamodb:* task integrations)."""
    return {settings.table_name: "ExecutionId", "events": "pk"}


def load_workflow(settings: Settings) -> StateMachine:
    """The CSV application's DataProcessingWorkflow, parsed with its local substitutions."""
    [workflow] = csv_workflow(settings, load_config(settings.pipeline_config or packaged_config_path())).workflows
    return parser.parse_text(workflow.definition, workflow.substitutions)


# -- the topic deliverer ---------------------------------------------------------------------


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


def _deliverer(
    settings: Settings,
    local: LocalDataDir,
    clock: Clock,
    *,
    invoker: LocalFunctionInvoker | None = None,
    wakeup: threading.Event | None = None,
    tracing: Tracing | None = None,
) -> TopicDeliverer:
    email, webhook = SmtpSender(smtp_config(settings)), WebhookSender()
    senders: dict[str, Sender] = {
        "outbox": local.topics.deliver_outbox,
        "sqs": QueueSender(local.queues),
        "email": email,
        "email-json": email,
        "http": webhook,
        "https": webhook,
    }
    if invoker is not None:
        senders["lambda"] = FunctionSender(invoker)

    def dead_letter(queue: str, body: str, attributes: Any, /, *, group_id: str | None = None, dedup_id: str | None = None) -> None:
        local.queues.send(queue.rsplit(":", 1)[-1], body, attributes=attributes, group_id=group_id, dedup_id=dedup_id)

    return TopicDeliverer(
        local.topics, senders, clock=clock, dead_letter=dead_letter, wakeup=wakeup, tracing=tracing, trace_of=local.topics.trace_parent
    )


# -- ad-hoc state machines (`sluiceway sfn run`) ------------------------------------------------


@dataclass
class SfnRuntime:
    """An orchestrator for ad-hoc state machines (``sluiceway sfn run``)."""

    orchestrator: LocalOrchestrator
    invoker: LocalFunctionInvoker
    local: LocalDataDir

    def close(self) -> None:
        self.orchestrator.close()
        self.invoker.close()
        self.local.close()


def build_sfn_runtime(
    settings: Settings,
    *,
    skip_waits: bool = False,
    answer: Callable[[InvokeTask], TaskSucceeded | TaskFailed | None] | None = None,
) -> SfnRuntime:
    """Wire an orchestrator on the local store; ``answer`` may mock tasks (None = run for real)."""
    settings = settings.model_copy(update={"data_dir": settings.data_dir.resolve()})
    clock: Clock = FakeClock(SystemClock().now()) if skip_waits else SystemClock()
    local = open_data_dir(settings, clock)
    invoker = LocalFunctionInvoker(
        [FunctionSpec(f.name, f.handler, timeout_s=settings.function_timeout_s) for f in PIPELINE_FUNCTIONS],
        workers=settings.workers,
        env=settings.to_env(),
        mode="thread",
        region=settings.region,
        account_id=settings.account_id,
        logs=local.logs,
    )
    runner = _task_runner(settings, local, invoker, clock)
    orchestrator = _orchestrator(settings, local, runner.run, clock, skip_waits=skip_waits, answer=answer)
    # No endpoint runs beside this orchestrator, so no worker could ever take an activity task: it
    # fails at once rather than hang. The activities are only read here, never served: a running
    # stack's endpoint would hand out (and lose) a task queued for an execution it does not run.
    activities = SqliteActivities(local.db, clock)
    orchestrator.refuse_activities(_ACTIVITIES_UNSERVED, lambda arn: activities.get(arn) is not None)
    return SfnRuntime(orchestrator, invoker, local)


_ACTIVITIES_UNSERVED = (
    "`sluiceway sfn run` serves no activities, so no worker can take this task: run the state machine"
    " on a running stack (`sluiceway up`), whose endpoint serves GetActivityTask, or answer the task"
    " with a mock (--mock-config)."
)
"""Why an activity task fails under ``sluiceway sfn run`` (its cause, after States.Runtime's usual preamble)."""


# -- the CLI's openers ------------------------------------------------------------------------


def running_stack(settings: Settings) -> str | None:
    """Who runs a stack on the data dir, for people (`` (pid 12, `sluiceway up`, since ...)``); None when none does."""
    holder = StackLock(settings.data_dir).holder()
    return None if holder is None else describe(holder)


def open_event_bus(settings: Settings) -> tuple[EventStore, Callable[[], None]]:
    """The local event bus (buses, rules, archive) for the CLI, and how to close it."""
    local = open_data_dir(settings, SystemClock())
    return local.bus, local.close


def open_execution_store(settings: Settings) -> tuple[ExecutionStore, Callable[[], None]]:
    """The local execution store (read side for the CLI), and how to close it."""
    local = open_data_dir(settings, SystemClock())
    return local.executions, local.close


@dataclass
class LocalReader:
    """Read access to local executions and the metadata table (for the CLI and the API)."""

    executions: ExecutionStore
    table: MetadataTable
    close: Callable[[], None]


def open_local_read(settings: Settings) -> LocalReader:
    local = open_data_dir(settings, SystemClock())
    return LocalReader(local.executions, local.table, local.close)


@dataclass
class EventFollower:
    """Read access to the event bus's deliveries and the executions (``upload --run`` follows its event)."""

    bus: EventTrail
    executions: ExecutionStore
    close: Callable[[], None]


def open_local(settings: Settings) -> LocalDataDir:
    """The data dir's backends, for a process that writes without running a stack (``upload`` beside ``up``)."""
    return open_data_dir(settings, SystemClock())


def open_event_follower(settings: Settings) -> EventFollower:
    local = open_data_dir(settings, SystemClock())
    return EventFollower(local.bus, local.executions, local.close)


@dataclass
class Messaging:
    """Local queues and topics with a topic deliverer, for the CLI (no functions: Lambda deliveries wait for `up`)."""

    local: LocalDataDir
    deliverer: TopicDeliverer

    @property
    def queues(self) -> Any:
        return self.local.queues

    @property
    def topics(self) -> Any:
        return self.local.topics

    def close(self) -> None:
        self.deliverer.close()
        self.local.close()


def open_messaging(settings: Settings, *, clock: Clock | None = None) -> Messaging:
    settings = settings.model_copy(update={"data_dir": settings.data_dir.resolve()})
    clock = clock or SystemClock()
    local = open_data_dir(settings, clock)
    return Messaging(local, _deliverer(settings, local, clock))
