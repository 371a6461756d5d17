"""Secrets Manager's dates on the stack's clock: deletion windows end, last-accessed days turn."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.clock import FakeClock
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

Aws = Callable[..., Any]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


START = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, clock: FakeClock) -> Iterator[Stack]:
    data_dir: Path = tmp_path_factory.mktemp("secrets-clock") / "data"
    built = build_stack(
        Settings.load(data_dir=data_dir, workers=1, endpoint_port=free_port()), app=None, clock=clock, invoker_mode="thread"
    )
    built.start("secrets clock tests")
    try:
        yield built
    finally:
        built.close()


@pytest.fixture(scope="module")
def sm(aws: Aws) -> Any:
    return aws("secretsmanager")


def test_a_deleted_secret_is_gone_when_its_window_ends_and_its_name_is_free(sm: Any, clock: FakeClock) -> None:
    arn = sm.create_secret(Name="windowed", SecretString="v")["ARN"]
    deleted = sm.delete_secret(SecretId="windowed", RecoveryWindowInDays=7)
    assert deleted["DeletionDate"] == clock.now() + timedelta(days=7)
    assert sm.describe_secret(SecretId="windowed")["DeletedDate"] == clock.now()
    clock.advance(7 * 86400 - 1)
    assert sm.describe_secret(SecretId=arn)["Name"] == "windowed"  # still restorable
    clock.advance(1)
    with pytest.raises(ClientError) as gone:
        sm.describe_secret(SecretId=arn)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert sm.create_secret(Name="windowed", SecretString="w")["ARN"] != arn


def test_the_default_window_is_thirty_days_and_restore_keeps_the_secret(sm: Any, clock: FakeClock) -> None:
    sm.create_secret(Name="kept", SecretString="v")
    assert sm.delete_secret(SecretId="kept")["DeletionDate"] == clock.now() + timedelta(days=30)
    clock.advance(29 * 86400)
    sm.restore_secret(SecretId="kept")
    clock.advance(2 * 86400)
    assert sm.get_secret_value(SecretId="kept")["SecretString"] == "v"


def test_last_accessed_dates_are_days(sm: Any, clock: FakeClock) -> None:
    version = sm.create_secret(Name="accessed", SecretString="v")["VersionId"]
    sm.get_secret_value(SecretId="accessed")
    today = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    assert sm.describe_secret(SecretId="accessed")["LastAccessedDate"] == today
    clock.advance(86400)
    sm.get_secret_value(SecretId="accessed")
    listed = sm.list_secret_version_ids(SecretId="accessed")["Versions"]
    assert [(v["VersionId"], v["LastAccessedDate"]) for v in listed] == [(version, today + timedelta(days=1))]
    assert sm.describe_secret(SecretId="accessed")["CreatedDate"] == clock.now() - timedelta(days=1)
