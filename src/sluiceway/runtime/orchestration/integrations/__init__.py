"""Step Functions' service integrations, one module per service, in one registry.

Each module declares its integrations as data (:class:`~.base.Integration`): the
resource, the handler that carries it out on the local ports, the IAM actions the
state machine needs for it on AWS, and whether its effect is rows in the local
database (then it happens exactly once: see the task journal). ``states:startExecution``
is the orchestrator's own (``orchestration/children.py``): a child execution runs on it.
What a whole definition needs on AWS is ``orchestration/permissions.py``.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import dynamodb, events, lambda_, s3, sns, sqs
from .base import Integration, TaskError, TaskPorts, lambda_function_name

__all__ = ["REGISTRY", "Integration", "TaskError", "TaskPorts", "lambda_function_name"]

REGISTRY: Mapping[str, Integration] = {
    integration.resource: integration
    for module in (lambda_, sns, sqs, events, s3, dynamodb)
    for integration in module.INTEGRATIONS
}
"""Every integration by resource (``sns:publish``...)."""
