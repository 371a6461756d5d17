"""The IAM actions a state machine's role needs on AWS, from what each integration declares.

The integrations (``integrations/``), child executions (``children.py``) and the
Distributed Map's item readers and writers (``integrations/items.py``) each declare
what they need next to their code; this module reads a definition and adds them up.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ...asl.sdk_services import SDK_PREFIX, parse_sdk_resource
from .children import IAM_ACTIONS as CHILD_IAM_ACTIONS
from .children import IAM_ACTIONS_SYNC, MAP_RUN_IAM_ACTIONS
from .integrations import REGISTRY
from .integrations.aws_sdk import iam_actions as sdk_iam_actions
from .integrations.items import READER_IAM_ACTIONS, WRITER_IAM_ACTIONS

__all__ = ["required_actions"]

_SERVICE_PREFIX = "arn:aws:states:::"


def required_actions(definition: Mapping[str, Any]) -> set[str]:
    """The IAM actions a state machine's role needs for ``definition`` (an ASL document, Map and
    Parallel states included), from what each integration declares.

    A Task whose resource is a function (an ARN or a name) needs ``lambda:InvokeFunction``; a
    Distributed Map starts child executions, and its ItemReader and ResultWriter use S3.
    An AWS SDK integration needs its API action's (``dynamodb:GetItem``).
    Raises KeyError for a service integration or item reader Sluiceway does not run.
    """
    needed: set[str] = set()
    for state in _states(definition):
        kind = state.get("Type")
        if kind == "Task" and isinstance(state.get("Resource"), str):
            needed.update(_task_actions(state["Resource"]))
        if kind == "Map":
            processor = state.get("ItemProcessor")
            config = processor.get("ProcessorConfig") if isinstance(processor, Mapping) else None
            if isinstance(config, Mapping) and config.get("Mode") == "DISTRIBUTED":
                needed.update(MAP_RUN_IAM_ACTIONS)
            reader = state.get("ItemReader")
            if isinstance(reader, Mapping) and isinstance(reader.get("Resource"), str):
                needed.update(READER_IAM_ACTIONS[reader["Resource"].removeprefix(_SERVICE_PREFIX)])
            if state.get("ResultWriter"):
                needed.update(WRITER_IAM_ACTIONS)
    return needed


def _task_actions(resource: str) -> tuple[str, ...]:
    if not resource.startswith(_SERVICE_PREFIX):
        return ("lambda:InvokeFunction",)
    if resource.startswith(SDK_PREFIX):
        # The API action's own IAM action: Step Functions cannot generate these for AWS SDK integrations.
        sdk = parse_sdk_resource(resource)
        if sdk is None:
            raise KeyError(resource)
        return sdk_iam_actions(sdk)
    service = resource[len(_SERVICE_PREFIX) :].removesuffix(".waitForTaskToken")
    if service == "states:startExecution":
        return CHILD_IAM_ACTIONS
    if service.startswith("states:startExecution.sync"):
        return IAM_ACTIONS_SYNC
    return REGISTRY[service.removesuffix(".sync:2").removesuffix(".sync")].iam_actions


def _states(definition: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every state of ``definition``, those of Parallel branches and Map processors included."""
    for state in (definition.get("States") or {}).values():
        if not isinstance(state, Mapping):
            continue
        yield state
        for branch in state.get("Branches") or ():
            if isinstance(branch, Mapping):
                yield from _states(branch)
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), Mapping):
                yield from _states(state[key])
