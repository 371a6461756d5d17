"""The ports: one ``Protocol`` per kind of backend Sluiceway talks to, with the values they take and give.

Everything above (functions, runtime, CLI, deploy) sees only these protocols and
their frozen values; local backends (folders, SQLite) and AWS backends (boto3)
implement them. Methods are verbs; arguments and results are plain values, never
backend types. One module per kind of port; this package re-exports them all.
"""

from __future__ import annotations

from .clock import Clock
from .events import EventPublisher
from .executions import ExecutionRecord, ExecutionStore, Orchestrator, TaskJournal
from .functions import FunctionInvoker, Invocation, InvocationResult
from .objects import ObjectInfo, ObjectStore
from .queues import Queue, QueueMessage
from .tables import STATUS_TIME_INDEX, Condition, MetadataTable, SecondaryIndex, check_query
from .topics import Topic, TopicMessage

__all__ = [
    "STATUS_TIME_INDEX",
    "Clock",
    "Condition",
    "EventPublisher",
    "ExecutionRecord",
    "ExecutionStore",
    "FunctionInvoker",
    "Invocation",
    "InvocationResult",
    "MetadataTable",
    "ObjectInfo",
    "ObjectStore",
    "Orchestrator",
    "Queue",
    "QueueMessage",
    "SecondaryIndex",
    "TaskJournal",
    "Topic",
    "TopicMessage",
    "check_query",
]
