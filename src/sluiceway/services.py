"""Backend selection: the ports a function (or any caller) works with, from the settings.

The one place that branches on ``settings.backend`` (``local`` or ``aws``). It sits
below the runtime so that a Lambda handler, ``deploy/`` and the CLI can all use it:
importing it loads the settings and the ports only; the backend's modules (boto3 for
``aws``, SQLite and folders for ``local``) are imported when services are built.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .ports import Clock, MetadataTable, ObjectStore, Topic
from .settings import Settings

if TYPE_CHECKING:
    from .config import PipelineConfig

__all__ = ["Services", "aws_credential_source", "build_services", "get_services"]


@dataclass(frozen=True)
class Services:
    """The ports and configuration a function (or any caller) works with."""

    settings: Settings
    objects: ObjectStore
    table: MetadataTable
    topic: Topic
    clock: Clock
    pipeline: PipelineConfig
    tables: Callable[[str, str], MetadataTable] | None = None
    """Open another table by name and partition key (the presets' tables)."""
    close: Callable[[], None] = lambda: None
    """Release what the services hold (the local database's connections)."""

    def table_named(self, name: str, partition_key: str) -> MetadataTable:
        if self.tables is None:
            raise ValueError("this backend cannot open other tables")
        return self.tables(name, partition_key)


def build_services(settings: Settings, *, clock: Clock | None = None) -> Services:
    """Wire the ports from ``settings`` (local: folders and SQLite under ``data_dir``; aws: boto3)."""
    from .clock import SystemClock
    from .config import load_config, packaged_config_path

    clock = clock or SystemClock()
    pipeline = load_config(settings.pipeline_config or packaged_config_path())
    if settings.backend == "aws":
        from .backends.aws import build as build_aws  # boto3 stays out of local installs
        from .backends.aws.tables import DynamoTable

        objects, table, topic = build_aws(settings, endpoint_url=settings.aws_endpoint_url)
        client = getattr(table, "client", None)
        return Services(
            settings, objects, table, topic, clock, pipeline, tables=lambda name, key: DynamoTable(name, client, partition_key=key)
        )
    from .backends.local.datadir import open_data_dir

    local = open_data_dir(settings, clock)
    return Services(settings, local.objects, local.table, local.topics, clock, pipeline, tables=local.table_named, close=local.close)


_lock = threading.Lock()


@functools.cache
def _cached() -> Services:
    return build_services(Settings())


def get_services() -> Services:
    """The process's services, built once from the environment (worker processes, Lambda)."""
    with _lock:
        return _cached()


def aws_credential_source(env: Mapping[str, str]) -> str | None:
    """Where botocore would find AWS credentials (for ``sluiceway deploy``'s checks), or None."""
    from .backends.aws.credentials import credential_source

    return credential_source(env)
