"""Fixtures for the messaging tests: one SQLite database, a fake clock, queues, topics, functions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.queues import SqliteQueueService
from sluiceway.backends.local.topics import SqliteTopic
from sluiceway.clock import FakeClock
from sluiceway.runtime.lambdas.invoker import FunctionSpec, LocalFunctionInvoker

REGION = "us-east-1"
ACCOUNT = "111111111111"
HANDLERS = "messaging_handlers"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "sluiceway.db")
    try:
        yield database
    finally:
        database.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def queues(db: Database, clock: FakeClock) -> SqliteQueueService:
    return SqliteQueueService(db, clock, region=REGION, account_id=ACCOUNT, poll_interval_s=0.01)


@pytest.fixture
def topics(db: Database, clock: FakeClock, tmp_path: Path) -> SqliteTopic:
    return SqliteTopic(db, tmp_path / "outbox.jsonl", clock, region=REGION, account_id=ACCOUNT)


@pytest.fixture
def invoker() -> Iterator[LocalFunctionInvoker]:
    import messaging_handlers

    messaging_handlers.reset()
    specs = [
        FunctionSpec(name, f"{HANDLERS}.{handler}", timeout_s=15.0)
        for name, handler in {
            "Record": "record",
            "Fail": "fail",
            "Partial": "partial",
            "Malformed": "malformed",
            "Slow": "slow",
            "Outlive": "outlive",
        }.items()
    ]
    with LocalFunctionInvoker(
        specs, workers=4, mode="thread", region=REGION, account_id=ACCOUNT
    ) as pool:
        yield pool
    messaging_handlers.RELEASE.set()
