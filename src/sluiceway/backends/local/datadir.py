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
from ._sqlite import Database
from .events import SqliteEventBus
from .executions import SqliteExecutionStore
from .journal import SqliteTaskJournal
from .logs import SqliteLogStore
from .notifying import EventingObjectStore
from .objects import FileObjectStore
from .queues import SqliteQueueService
from .tables import SqliteTable
from .topics import SqliteTopic

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
    logs: SqliteLogStore
    """The functions' CloudWatch-style log groups (a database of their own: see SqliteLogStore)."""
    _tables: dict[tuple[str, str], SqliteTable] = field(default_factory=dict, repr=False)

    def table_named(self, name: str, partition_key: str) -> SqliteTable:
        """Another table of the data dir (the presets' ``events`` table, DynamoDB tasks)."""
        key = (name, partition_key)
        if key not in self._tables:
            self._tables[key] = SqliteTable(self.db, name, partition_key=partition_key)
        return self._tables[key]

    def close(self) -> None:
        self.logs.close()
        self.db.close()


def open_data_dir(
    settings: Settings,
    clock: Clock,
    *,
    on_event: Callable[[], None] | None = None,
    on_publish: Callable[[], None] | None = None,
) -> LocalDataDir:
    """Open the data dir's backends.

    Args:
        on_event: called after an object write commits its event (the router's wake-up).
        on_publish: called after a topic publish commits (the topic deliverer's wake-up).
    """
    db = Database(settings.db_path)
    files = FileObjectStore(settings.buckets_dir)
    for bucket in (settings.input_bucket, settings.output_bucket):
        files.ensure_bucket(bucket)
    bus = SqliteEventBus(db, clock)
    # Every write through Sluiceway (CLI, functions in worker processes) commits its S3 event
    # to the shared SQLite bus, as S3 does with EventBridge notifications on; the router of
    # the running stack picks them up.
    objects = EventingObjectStore(files, bus, clock, region=settings.region, account=settings.account_id, on_event=on_event)
    return LocalDataDir(
        settings=settings,
        clock=clock,
        db=db,
        files=files,
        bus=bus,
        objects=objects,
        table=SqliteTable(db, settings.table_name),
        topics=SqliteTopic(db, settings.outbox_path, clock, region=settings.region, account_id=settings.account_id, on_publish=on_publish),
        queues=SqliteQueueService(db, clock, region=settings.region, account_id=settings.account_id),
        executions=SqliteExecutionStore(db),
        journal=SqliteTaskJournal(db),
        logs=SqliteLogStore(settings.data_dir / "logs.db", lambda: int(clock.now().timestamp() * 1000)),
    )
