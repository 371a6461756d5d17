"""The local stack: everything one application runs on, started and stopped together."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..apps import App
from ..backends.local.async_invocations import AsyncInvocation
from ..backends.local.datadir import LocalDataDir
from ..backends.local.events import SqliteEventBus
from ..backends.local.kinesis import SqliteKinesis
from ..backends.local.notifying import EventingObjectStore
from ..backends.local.stacklock import StackLock
from ..observability.metrics import Metrics
from ..observability.tracing import Tracing
from ..services import Services
from ..settings import Settings
from .alarms import AlarmEvaluator
from .bus.router import EventRouter
from .bus.scheduler import ScheduleRunner
from .bus.watcher import BucketWatcher
from .lambdas.async_invocations import AsyncInvocationDeliverer
from .lambdas.invoker import LocalFunctionInvoker
from .messaging.delivery import TopicDeliverer
from .messaging.streams import StreamMappings
from .messaging.triggers import EventSourceMappings
from .orchestration.execution_logs import ExecutionLogWriter
from .orchestration.executor import LocalOrchestrator
from .orchestration.tasks import AwsSdkTasks
from .periodic import Periodic

logger = logging.getLogger(__name__)

__all__ = ["STOP_GRACE_S", "Stack", "clear_folder"]

STOP_GRACE_S = 5.0
"""How long a stop lets tasks in flight finish (and commit) before it stops committing."""


@dataclass
class Stack:
    """An application on the local backends of one data dir (built by ``wiring.build_stack``)."""

    settings: Settings
    app: App
    local: LocalDataDir
    services: Services
    """The ports, as a function sees them."""
    invoker: LocalFunctionInvoker
    orchestrator: LocalOrchestrator
    router: EventRouter
    deliverer: TopicDeliverer
    triggers: EventSourceMappings
    lock: StackLock
    """The data dir's: taken by :meth:`start`; the stack's worker processes hold it too."""
    write_recovery: Periodic
    """Announces the writes of writers that died before announcing them (``EventingObjectStore.recover``)."""
    scheduler: ScheduleRunner
    """Fires EventBridge Scheduler schedules and scheduled rules, and delivers the fires."""
    async_invocations: AsyncInvocationDeliverer[AsyncInvocation]
    """Runs Lambda's asynchronous invocations (Invoke with InvocationType=Event...) from their durable queue."""
    streams: StreamMappings
    """DynamoDB and Kinesis stream event source mappings (per shard, in order):
    ``streams.add(StreamMapping(...)) -> uuid``, ``streams.remove(uuid)``."""
    metrics: Metrics = field(default_factory=lambda: Metrics(enabled=False))
    """The stack's Prometheus metrics (``GET /_sluiceway/metrics`` serves ``metrics.registry``)."""
    alarms: AlarmEvaluator | None = None
    """Feeds AWS's own CloudWatch metrics from the stores and evaluates the CloudWatch alarms."""
    tracing: Tracing = field(default_factory=Tracing)
    """The stack's OpenTelemetry spans (off unless ``OTEL_EXPORTER_OTLP_*`` names a collector)."""
    sdk_tasks: AwsSdkTasks | None = None
    """Runs the executions' AWS SDK tasks on what ``sdk_tasks.serve`` is given (the endpoint's operations);
    it lives as long as the stack, so a task never meets a closed endpoint."""
    execution_logs: ExecutionLogWriter | None = None
    """Writes executions' history to the log groups their state machines' loggingConfiguration names."""
    kinesis: SqliteKinesis | None = None
    """The Kinesis data streams (the endpoint serves them; event source mappings read them)."""
    _watcher: BucketWatcher | None = field(default=None, repr=False)
    _sources: list[Callable[[], None]] = field(default_factory=list, repr=False)
    """How to stop the pollers made after the stack was built (EventBridge Pipes'), closed with the triggers."""

    @property
    def objects(self) -> EventingObjectStore:
        """The buckets, S3 events and all (writes through it start the app's rules)."""
        return self.local.objects

    @property
    def bus(self) -> SqliteEventBus:
        return self.local.bus

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
            self.local.db.sweep_owners()
            for bucket, _ in self.local.files.buckets():
                self.local.files.clear_staging(bucket)
            self.orchestrator.start()
            self.router.start()
            self.router.notify()
            self.scheduler.start()
            self.deliverer.start()
            if self.alarms is not None:
                self.alarms.start()
            self.write_recovery.start()
            self.async_invocations.start()
            self.triggers.start()
            self.streams.start()
        except BaseException:
            self.lock.release()
            raise

    def add_source(self, stop: Callable[[], None]) -> None:
        """Have :meth:`close` call ``stop`` with the triggers, before the invoker and orchestrator close:
        a poller made later (a pipe's) must not call a function or start an execution after they did."""
        self._sources.append(stop)

    def watch(self) -> None:
        """Notice files dropped into the input bucket's folder by other programs."""
        self._watcher = BucketWatcher(self.local.files, self.settings.input_bucket, self.local.objects.emit_created)
        self._watcher.start()

    def close(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop; tasks still running after ``grace_s`` run again at the next start (see LocalOrchestrator.close)."""
        activities = self.orchestrator.activity_queue
        if activities is not None:
            # Workers' long polls end now with no task: one left running would take (and lose) a task
            # of the stack that starts next in this process.
            activities.close()
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        self.scheduler.close()  # before the router: a scheduled rule's fire wakes it
        self.router.close()
        self.triggers.close()  # before the invoker: pollers call functions
        self.streams.close()  # likewise
        for stop in reversed(self._sources):  # likewise
            stop()
        self._sources.clear()
        if self.alarms is not None:
            self.alarms.close()  # before the deliverer: a state change publishes to its SNS actions
        self.deliverer.close()
        self.write_recovery.close()
        self.async_invocations.close()  # before the invoker: it calls functions
        if self.sdk_tasks is not None:
            # A task not yet calling never will: it runs again at the next start, never failed by the stop.
            self.sdk_tasks.stop()
        self.orchestrator.close(grace_s)
        self.invoker.close()
        self.orchestrator.join_tasks()
        if self.execution_logs is not None:
            self.execution_logs.close()  # nothing commits any more: what is queued is written, then the logs close
        if self.sdk_tasks is not None:
            self.sdk_tasks.close()  # no task calls any more: what the calls hold can go
        self.local.close()
        self.tracing.close()  # the spans of everything stopped above go out
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
        self.local.objects.put_file(self.settings.input_bucket, target_key, str(source), content_type="text/csv")
        return target_key


def clear_folder(folder: Path) -> None:
    """Empty ``folder`` (created if missing), never following a link out of it."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
