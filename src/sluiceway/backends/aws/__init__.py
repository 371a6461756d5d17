"""AWS backends: S3, DynamoDB, SNS and EventBridge through boto3.

Only this package imports boto3. :func:`build` is what the composition root
(``runtime/wiring.py``) calls when ``settings.backend == "aws"``; the adapters
can also be built one by one with injected clients (tests, other credentials).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from ...settings import Settings
from .events import EventBridgePublisher
from .objects import S3ObjectStore
from .tables import DynamoTable
from .topics import SnsTopic

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient

logger = logging.getLogger(__name__)

__all__ = [
    "DynamoTable",
    "EventBridgePublisher",
    "S3ObjectStore",
    "SnsTopic",
    "build",
    "build_event_publisher",
    "client_config",
]


def client_config(settings: Settings, *, endpoint_url: str | None = None) -> Config:
    """The botocore configuration every Sluiceway client uses.

    Standard retry mode (exponential backoff with jitter on throttling and 5xx)
    before an error reaches :mod:`._errors`; path-style S3 addressing when an
    endpoint is given, as S3-compatible servers (moto, LocalStack, MinIO) expect.
    """
    options: dict[str, Any] = {
        "region_name": settings.region,
        "retries": {"mode": "standard", "max_attempts": 5},
        "connect_timeout": 10,
        "read_timeout": 60,
    }
    if endpoint_url:
        options["s3"] = {"addressing_style": "path"}
    return Config(**options)


def _clients(
    settings: Settings, endpoint_url: str | None, session: boto3.session.Session | None
) -> tuple[boto3.session.Session, Config, dict[str, Any]]:
    session = session or boto3.session.Session(region_name=settings.region)
    extra: dict[str, Any] = {"endpoint_url": endpoint_url} if endpoint_url else {}
    return session, client_config(settings, endpoint_url=endpoint_url), extra


def build(
    settings: Settings,
    *,
    endpoint_url: str | None = None,
    session: boto3.session.Session | None = None,
) -> tuple[S3ObjectStore, DynamoTable, SnsTopic]:
    """The object store, metadata table and topic on AWS, configured from ``settings``.

    Credentials come from boto3's usual chain (environment, profile, instance or
    Lambda role) unless ``session`` carries others.

    Args:
        settings: region and table name are read from it.
        endpoint_url: send every request to this URL instead of AWS (moto, LocalStack).
        session: the boto3 session to build clients from; a new one when omitted.
    """
    session, config, extra = _clients(settings, endpoint_url, session)
    s3: S3Client = session.client("s3", config=config, **extra)
    dynamodb: DynamoDBClient = session.client("dynamodb", config=config, **extra)
    sns: SNSClient = session.client("sns", config=config, **extra)
    return S3ObjectStore(s3), DynamoTable(settings.table_name, dynamodb), SnsTopic(sns)


def build_event_publisher(
    settings: Settings,
    *,
    bus_name: str = "default",
    endpoint_url: str | None = None,
    session: boto3.session.Session | None = None,
) -> EventBridgePublisher:
    """The EventBridge publisher for ``bus_name``, configured like :func:`build`'s clients."""
    session, config, extra = _clients(settings, endpoint_url, session)
    events: EventBridgeClient = session.client("events", config=config, **extra)
    return EventBridgePublisher(events, bus_name=bus_name)
