"""Step Functions' service integrations, one module per service, in one registry.

Each module declares its integrations as data (:class:`~.base.Integration`): the
resource, the handler that carries it out on the local ports, the IAM actions the
state machine needs for it on AWS, and whether its effect is rows in the local
database (then it happens exactly once: see the task journal). ``states:startExecution``
is the orchestrator's own (``orchestration/children.py``): a child execution runs on it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from . import dynamodb, events, lambda_, s3, sns, sqs
from .base import Integration, TaskError, TaskPorts, lambda_function_name

__all__ = ["REGISTRY", "Integration", "TaskError", "TaskPorts", "lambda_function_name", "required_actions"]

REGISTRY: Mapping[str, Integration] = {
    integration.resource: integration
    for module in (lambda_, sns, sqs, events, s3, dynamodb)
    for integration in module.INTEGRATIONS
}
"""Every integration by resource (``sns:publish``...)."""


_SERVICE_PREFIX = "arn:aws:states:::"
# The orchestrator's own integration (children.py): what it needs on AWS, for required_actions.
_START_EXECUTION = {
    "states:startExecution": ("states:StartExecution",),
    "states:startExecution.sync": ("states:StartExecution", "states:DescribeExecution", "states:StopExecution"),
    "states:startExecution.sync:2": ("states:StartExecution", "states:DescribeExecution", "states:StopExecution"),
}


def required_actions(definition: Mapping[str, Any]) -> set[str]:
    """The IAM actions a state machine's role needs for the Task states of ``definition`` (an ASL
    document, Map and Parallel states included), from what each integration declares.

    A Task whose resource is a function (an ARN or a name) needs ``lambda:InvokeFunction``.
    Raises KeyError for a service integration Sluiceway does not run.
    """
    needed: set[str] = set()
    for resource in _task_resources(definition):
        if not resource.startswith(_SERVICE_PREFIX):
            needed.add("lambda:InvokeFunction")
            continue
        service = resource[len(_SERVICE_PREFIX) :].removesuffix(".waitForTaskToken")
        if service.startswith("states:startExecution"):
            needed.update(_START_EXECUTION[service])
            continue
        needed.update(REGISTRY[service.removesuffix(".sync:2").removesuffix(".sync")].iam_actions)
    return needed


def _task_resources(definition: Mapping[str, Any]) -> Iterator[str]:
    for state in (definition.get("States") or {}).values():
        if not isinstance(state, Mapping):
            continue
        if state.get("Type") == "Task" and isinstance(state.get("Resource"), str):
            yield state["Resource"]
        for branch in state.get("Branches") or ():
            yield from _task_resources(branch)
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), Mapping):
                yield from _task_resources(state[key])
