"""AWS backends: S3, DynamoDB, SNS, SQS, EventBridge and Step Functions through boto3.

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
from .orchestrator import StepFunctionsOrchestrator
from .queues import SqsQueue
from .tables import DynamoTable
from .topics import SnsTopic

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient

logger = logging.getLogger(__name__)

__all__ = [
    "DynamoTable",
    "EventBridgePublisher",
    "S3ObjectStore",
    "SnsTopic",
    "SqsQueue",
    "StepFunctionsOrchestrator",
    "build",
    "build_event_publisher",
    "build_orchestrator",
    "build_queue",
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


def build_queue(
    settings: Settings,
    *,
    endpoint_url: str | None = None,
    session: boto3.session.Session | None = None,
) -> SqsQueue:
    """The SQS queue adapter, configured like :func:`build`'s clients."""
    session, config, extra = _clients(settings, endpoint_url, session)
    sqs: SQSClient = session.client("sqs", config=config, **extra)
    return SqsQueue(sqs)


def build_orchestrator(
    settings: Settings,
    *,
    account_id: str | None = None,
    endpoint_url: str | None = None,
    session: boto3.session.Session | None = None,
) -> StepFunctionsOrchestrator:
    """The Step Functions orchestrator, configured like :func:`build`'s clients.

    Args:
        settings: the region is read from it.
        account_id: the state machines' account, to make their ARNs from names
            without a call; when omitted, names are looked up (ListStateMachines,
            once per name). ``settings.account_id`` is not used: its default is
            the local backend's made-up account.
        endpoint_url: send every request to this URL instead of AWS (moto, LocalStack).
        session: the boto3 session to build clients from; a new one when omitted.
    """
    session, config, extra = _clients(settings, endpoint_url, session)
    sfn: SFNClient = session.client("stepfunctions", config=config, **extra)
    return StepFunctionsOrchestrator(sfn, region=settings.region, account_id=account_id)
