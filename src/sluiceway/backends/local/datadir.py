"""Everything under one local data dir, opened once: folders for buckets, SQLite for the rest.

The local composition (``runtime/wiring.py``) and the Lambda-side service builder
(``sluiceway.services``) both open the data dir here, so that each concrete piece
is built in one place, with its collaborators given at construction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ...ports import Clock
from ...settings import Settings
from ._sqlite import Database, release_thread
from .async_invocations import SqliteAsyncInvocations
from .bucket_config import SqliteBucketConfigs
from .bucket_notifications import S3Notifier
from .cloudwatch import SqliteCloudWatch
from .events import SqliteEventBus
from .executions import SqliteExecutionStore
from .journal import SqliteTaskJournal
from .logs import SqliteLogStore
from .multipart import MultipartUploads
from .notifying import EventingObjectStore
from .objects import FileObjectStore
from .queues import SqliteQueueService
from .schedules import SqliteSchedules
from .stacks import SqliteStacks
from .tables import SqliteTable
from .topics import SqliteTopic
from .userpools import SqliteUserPools

__all__ = ["LocalDataDir", "open_data_dir"]


@dataclass
class LocalDataDir:
    """The concrete local backends of one data dir (see :func:`open_data_dir`)."""

    settings: Settings
    clock: Clock
    db: Database
    files: FileObjectStore
    """The buckets as folders."""
    bus: SqliteEventBus
    objects: EventingObjectStore
    """The buckets with S3's EventBridge notifications: every write through it commits its event."""
    table: SqliteTable
    """The pipeline's metadata table."""
    topics: SqliteTopic
    queues: SqliteQueueService
    executions: SqliteExecutionStore
    journal: SqliteTaskJournal
    schedules: SqliteSchedules
    """EventBridge Scheduler's schedule groups, schedules and fires."""
    logs: SqliteLogStore
    """The functions' CloudWatch-style log groups (a database of their own: see SqliteLogStore)."""
    notifier: S3Notifier
    """Buckets' notification configurations and what they send (queues, topics, and functions through
    :attr:`async_invocations`)."""
    uploads: MultipartUploads
    async_invocations: SqliteAsyncInvocations
    """Lambda's asynchronous invocation queue (Invoke with InvocationType=Event...) and the functions' EventInvokeConfigs."""
    stacks: SqliteStacks
    """CloudFormation stacks made from templates (``up --template``)."""
    user_pools: SqliteUserPools
    """Cognito-compatible user pools (the ``cognito-idp`` API, the keys that sign their tokens, Sluiceway's own pool)."""
    cloudwatch: SqliteCloudWatch
    """CloudWatch's metric data points and metric alarms (their state changes publish to SNS and the default bus)."""
    _tables: dict[tuple[str, str], SqliteTable] = field(default_factory=dict, repr=False)

    def table_named(self, name: str, partition_key: str) -> SqliteTable:
        """Another table of the data dir (the presets' ``events`` table, DynamoDB tasks)."""
        key = (name, partition_key)
        if key not in self._tables:
            self._tables[key] = SqliteTable(self.db, name, partition_key=partition_key)
        return self._tables[key]

    def release_thread(self) -> None:
        """Close the calling thread's database connections (a thread that serves one client, ending)."""
        release_thread()

    def close(self) -> None:
        self.db.sweep_owners()  # the stack's workers have ended: their files go, if they left them
        self.logs.close()
        self.db.close()


def open_data_dir(
    settings: Settings,
    clock: Clock,
    *,
    on_event: Callable[[], None] | None = None,
    on_publish: Callable[[], None] | None = None,
    on_schedule: Callable[[], None] | None = None,
    on_async_invoke: Callable[[], None] | None = None,
) -> LocalDataDir:
    """Open the data dir's backends.

    Args:
        on_event: called after an object write commits its event (the router's wake-up).
        on_publish: called after a topic publish commits (the topic deliverer's wake-up).
        on_schedule: called after a schedule is created, changed or deleted (the schedule runner's wake-up).
        on_async_invoke: called after an asynchronous invocation commits (the async deliverer's wake-up).
    """
    db = Database(settings.db_path)
    files = FileObjectStore(settings.buckets_dir)
    for bucket in (settings.input_bucket, settings.output_bucket):
        files.ensure_bucket(bucket)
    bus = SqliteEventBus(db, clock)
    topics = SqliteTopic(db, settings.outbox_path, clock, region=settings.region, account_id=settings.account_id, on_publish=on_publish)
    queues = SqliteQueueService(db, clock, region=settings.region, account_id=settings.account_id)
    async_invocations = SqliteAsyncInvocations(db, clock, on_enqueue=on_async_invoke)
    notifier = S3Notifier(
        db,
        SqliteBucketConfigs(db),
        queues,
        topics,
        clock,
        invocations=async_invocations,
        region=settings.region,
        account=settings.account_id,
    )
    # Every write through Sluiceway (CLI, endpoint, functions in worker processes) commits its S3
    # event to the shared SQLite bus, as S3 does with EventBridge notifications on, and the
    # bucket's own notifications in the same transaction; the running stack delivers them.
    objects = EventingObjectStore(
        files, bus, clock, region=settings.region, account=settings.account_id, on_event=on_event, notifier=notifier
    )
    return LocalDataDir(
        settings=settings,
        clock=clock,
        db=db,
        files=files,
        bus=bus,
        objects=objects,
        table=SqliteTable(db, settings.table_name),
        topics=topics,
        queues=queues,
        executions=SqliteExecutionStore(db),
        journal=SqliteTaskJournal(db),
        schedules=SqliteSchedules(db, clock, region=settings.region, account_id=settings.account_id, on_change=on_schedule),
        logs=SqliteLogStore(settings.data_dir / "logs.db", lambda: int(clock.now().timestamp() * 1000)),
        notifier=notifier,
        uploads=MultipartUploads(files),
        async_invocations=async_invocations,
        stacks=SqliteStacks(db),
        user_pools=SqliteUserPools(db, clock, region=settings.region, account_id=settings.account_id),
        cloudwatch=SqliteCloudWatch(db, clock, topics, bus, region=settings.region, account_id=settings.account_id),
    )
