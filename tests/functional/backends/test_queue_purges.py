"""PurgeQueue's once-a-minute rule is kept with the queue, so a restart does not reset it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.queues import SqliteQueueService
from sluiceway.clock import FakeClock
from sluiceway.messaging.errors import PurgeInProgressError


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "queues.db")
    yield database
    database.close()


def test_a_restarted_service_still_refuses_a_second_purge_within_a_minute(db: Database) -> None:
    clock = FakeClock()
    SqliteQueueService(db, clock).create_queue("jobs")
    SqliteQueueService(db, clock).purge("jobs")
    clock.advance(59)
    restarted = SqliteQueueService(db, clock)
    with pytest.raises(PurgeInProgressError, match="Only one PurgeQueue operation on jobs is allowed every 60 seconds."):
        restarted.purge("jobs")
    clock.advance(1)
    restarted.purge("jobs")


def test_a_queue_made_again_under_the_same_name_may_be_purged_at_once(db: Database) -> None:
    clock = FakeClock()
    svc = SqliteQueueService(db, clock)
    svc.create_queue("jobs")
    svc.purge("jobs")
    svc.delete_queue("jobs")
    svc.create_queue("jobs")
    svc.purge("jobs")
