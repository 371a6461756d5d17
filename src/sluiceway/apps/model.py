"""What an application is made of, as plain data: read by the local runtime and by ``deploy/``.

An :class:`App` names its functions (handler, and what each may touch: hence its IAM
on AWS), its workflows (ASL text and the substitutions that fill it), the rules that
start them, and the topics, queues and queue triggers between them. Nothing here runs
or compiles anything: the local composition (``runtime/wiring.py``) turns an App into a
running stack, and ``deploy/`` into a SAM template. A SAM template read by a later
step fills the same shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Access",
    "App",
    "FunctionDef",
    "QueueDef",
    "QueueTriggerDef",
    "RuleDef",
    "SubscriptionDef",
    "TopicDef",
    "WorkflowDef",
]

Access = Literal["read", "crud"]
"""How a function uses a resource: reads it, or creates, reads, updates and deletes in it."""


@dataclass(frozen=True)
class FunctionDef:
    """A Lambda-style function: its name (the same on AWS), its handler, what it touches."""

    name: str
    handler: str
    """``package.module.function``."""
    access: Mapping[str, Access] = field(default_factory=dict)
    """The app's resources the function uses, by role (``input``, ``output``, ``table``...), and how."""
    description: str = ""


@dataclass(frozen=True)
class WorkflowDef:
    """A state machine: its ASL text with ``${...}`` placeholders, and the values that fill them."""

    name: str
    definition: str
    """The ASL text as it is deployed (``DefinitionUri`` on AWS), placeholders and all."""
    resource: str
    """The packaged file the text comes from (``sluiceway/workflows/<resource>``)."""
    substitutions: Mapping[str, str] = field(default_factory=dict)
    """``DefinitionSubstitutions``: the values locally; the template derives its own from the same names."""


@dataclass(frozen=True)
class RuleDef:
    """An EventBridge rule on the default bus and its one target."""

    name: str
    pattern: Mapping[str, Any]
    target_kind: Literal["workflow", "function"]
    target: str
    """The workflow's or the function's name."""
    target_id: str = "target"
    max_retry_attempts: int = 185
    max_event_age_s: int = 86_400
    dead_letter_queue: str | None = None
    """A queue of the app for events the target could not take."""
    description: str = ""


@dataclass(frozen=True)
class QueueDef:
    """An SQS queue (and its redrive policy)."""

    name: str
    visibility_timeout_s: int = 30
    dead_letter_queue: str | None = None
    max_receive_count: int | None = None


@dataclass(frozen=True)
class SubscriptionDef:
    protocol: str
    """``sqs``, ``lambda``, ``email``, ``http(s)``..."""
    endpoint: str


@dataclass(frozen=True)
class TopicDef:
    """An SNS topic and its subscriptions."""

    name: str
    subscriptions: tuple[SubscriptionDef, ...] = ()


@dataclass(frozen=True)
class QueueTriggerDef:
    """A queue that invokes a function (an SQS event source mapping)."""

    queue: str
    function: str
    batch_size: int = 10
    report_batch_item_failures: bool = False


@dataclass(frozen=True)
class App:
    """Everything one application is made of (see the module docstring)."""

    name: str
    functions: tuple[FunctionDef, ...]
    workflows: tuple[WorkflowDef, ...] = ()
    rules: tuple[RuleDef, ...] = ()
    topics: tuple[TopicDef, ...] = ()
    queues: tuple[QueueDef, ...] = ()
    queue_triggers: tuple[QueueTriggerDef, ...] = ()
    description: str = ""

    def function(self, name: str) -> FunctionDef:
        """The function named ``name``. Raises KeyError."""
        for function in self.functions:
            if function.name == name:
                return function
        raise KeyError(name)
