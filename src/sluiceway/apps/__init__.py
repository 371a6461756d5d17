"""Applications as data: what each is made of, read by the local runtime and by ``deploy/``."""

from __future__ import annotations

from .builtin import APPS, CSV_WORKFLOW, build_app
from .model import App, FunctionDef, QueueDef, QueueTriggerDef, RuleDef, SubscriptionDef, TopicDef, WorkflowDef

__all__ = [
    "APPS",
    "CSV_WORKFLOW",
    "App",
    "FunctionDef",
    "QueueDef",
    "QueueTriggerDef",
    "RuleDef",
    "SubscriptionDef",
    "TopicDef",
    "WorkflowDef",
    "build_app",
]
