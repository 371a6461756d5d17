"""What every Task integration shares: the ports it acts on, its error, its entry in the registry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ....asl.commands import InvokeTask
from ....clock import SystemClock
from ....ports import Clock, EventPublisher, FunctionInvoker, MetadataTable, ObjectStore, Queue, Topic
from ....settings import DEFAULT_ACCOUNT_ID, DEFAULT_REGION
from ....types import JSON

__all__ = ["Integration", "TaskError", "TaskPorts", "bucket_key", "lambda_function_name"]


class TaskError(Exception):
    """A service integration's failure, with the error name Step Functions reports (e.g. ``SQS.QueueDoesNotExistException``)."""

    def __init__(self, error: str, cause: str | None) -> None:
        super().__init__(error)
        self.error = error
        self.cause = cause


@dataclass(frozen=True)
class TaskPorts:
    """The ports Task integrations act on locally (any may be missing in a trimmed-down runtime)."""

    invoker: FunctionInvoker
    topic: Topic
    objects: ObjectStore | None = None
    events: EventPublisher | None = None
    queues: Queue | None = None
    tables: Callable[[str], MetadataTable] | None = None
    """Opens a table by name (the ``dynamodb:*`` tasks); KeyError for a table it does not hold."""
    default_timeout_s: float = 900.0
    """A function's timeout when the Task state sets none (and the most it may set)."""
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT_ID
    clock: Clock = field(default_factory=SystemClock)
    dynamodb: Callable[[str, Mapping[str, Any]], dict[str, Any]] | None = None
    """The local DynamoDB engine's operations by name (``PutItem``...), with DynamoDB's JSON: the
    ``dynamodb:*`` tasks on tables that ``tables`` does not hold (a template's)."""

    def require(self, port: Any, what: str) -> Any:
        if port is None:
            raise TaskError("States.Runtime", f"no {what} is wired for this task")
        return port


Handler = Callable[[TaskPorts, InvokeTask, Mapping[str, Any]], JSON]


@dataclass(frozen=True)
class Integration:
    """One Step Functions service integration (``arn:aws:states:::<service>:<action>``)."""

    resource: str
    """``sns:publish``: the resource after ``arn:aws:states:::``, without ``.sync``/``.waitForTaskToken``."""
    handler: Handler
    iam_actions: tuple[str, ...]
    """What the state machine's role must be allowed on AWS to run it."""
    in_database: bool = False
    """Its effect is rows in the local database (a topic, a queue, the bus, a table): it commits with the
    task journal's record, so a task run again after a crash has its effect exactly once."""
    verdict: Callable[[JSON], JSON] = lambda response: response  # noqa: E731
    """Judges the service's response once it is recorded: returns the task's result or raises
    :class:`TaskError`. A response that fails the task (PutEvents with failed entries) still
    had its effects, which a run of the task after a crash must not repeat."""


def lambda_function_name(resource: str) -> str:
    """The function name in a Lambda ARN, a partial ARN or a bare name (qualifier dropped)."""
    if resource.startswith("arn:"):
        parts = resource.split(":")
        # arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
        if len(parts) >= 7 and parts[5] == "function":
            return parts[6]
        return parts[-1]
    if resource.startswith("function:"):
        return resource.split(":")[1]
    return resource.split(":")[0]


def bucket_key(params: Mapping[str, Any]) -> tuple[str, str]:
    bucket, key = params.get("Bucket"), params.get("Key")
    if not isinstance(bucket, str) or not isinstance(key, str):
        raise TaskError("S3.InvalidRequest", "Bucket and Key are required")
    return bucket, key
