"""The ports: one ``Protocol`` per kind of backend Sluiceway talks to, with the values they take and give.

Everything above (functions, runtime, CLI, deploy) sees only these protocols and
their frozen values; local backends (folders, SQLite) and AWS backends (boto3)
implement them. Methods are verbs; arguments and results are plain values, never
backend types. One module per kind of port; this package re-exports them all.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .clock import Clock
    from .events import EventPublisher
    from .executions import ExecutionRecord, ExecutionStore, Orchestrator, TaskJournal
    from .functions import FunctionInvoker, Invocation, InvocationResult
    from .objects import ObjectInfo, ObjectStore
    from .queues import Queue, QueueMessage
    from .tables import STATUS_TIME_INDEX, Condition, MetadataTable, SecondaryIndex, check_query
    from .topics import Topic, TopicMessage

#: Where each name lives. Loaded on first use (PEP 562): a Lambda handler that needs the
#: object store port must not pay, at cold start, for the event pattern compiler behind
#: the event bus port.
_HOMES = {
    "Clock": ".clock",
    "EventPublisher": ".events",
    "ExecutionRecord": ".executions",
    "ExecutionStore": ".executions",
    "Orchestrator": ".executions",
    "TaskJournal": ".executions",
    "FunctionInvoker": ".functions",
    "Invocation": ".functions",
    "InvocationResult": ".functions",
    "ObjectInfo": ".objects",
    "ObjectStore": ".objects",
    "Queue": ".queues",
    "QueueMessage": ".queues",
    "STATUS_TIME_INDEX": ".tables",
    "Condition": ".tables",
    "MetadataTable": ".tables",
    "SecondaryIndex": ".tables",
    "check_query": ".tables",
    "Topic": ".topics",
    "TopicMessage": ".topics",
}


def __getattr__(name: str) -> Any:
    try:
        home = _HOMES[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


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
