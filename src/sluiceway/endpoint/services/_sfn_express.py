"""What an Express state machine's definition may not use, as ValidateStateMachineDefinition reports it.

Express workflows run at most five minutes and wait for nothing outside them: Step Functions
refuses the ``.waitForTaskToken`` and ``.sync`` integration patterns and activities in them
(the messages are recorded against AWS).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from ...asl.parser import Diagnostic

__all__ = ["NOT_AN_OBJECT", "express_diagnostics"]

NOT_AN_OBJECT = "Definition must be a valid JSON object"
"""AWS's message for a definition that parses but is no JSON object (or is empty)."""
_ACTIVITY = re.compile(r"^arn:aws[a-z-]*:states:[^:]*:\d{12}:activity:")


def express_diagnostics(doc: Mapping[str, Any]) -> list[Diagnostic]:
    """The problems of ``doc`` as an Express definition, in state order (nested machines included)."""
    return list(_machine(doc, ""))


def _machine(doc: Mapping[str, Any], where: str) -> Iterator[Diagnostic]:
    states = doc.get("States")
    if not isinstance(states, Mapping):
        return
    for name, state in states.items():
        if not isinstance(state, Mapping):
            continue
        at = f"{where}/States/{name}"
        resource = state.get("Resource")
        if state.get("Type") == "Task" and isinstance(resource, str):
            message = _refusal(resource)
            if message is not None:
                yield Diagnostic("SCHEMA_VALIDATION_FAILED", f"{at}/Resource", message)
        for i, branch in enumerate(state.get("Branches") or []):
            if isinstance(branch, Mapping):
                yield from _machine(branch, f"{at}/Branches/{i}")
        for field in ("ItemProcessor", "Iterator"):
            inner = state.get(field)
            if isinstance(inner, Mapping):
                yield from _machine(inner, f"{at}/{field}")


def _refusal(resource: str) -> str | None:
    # AWS's words, recorded, spaces included: the callback message ends with one, the others do not.
    if resource.endswith(".waitForTaskToken"):
        return "Express state machine does not support '.waitForTaskToken' service integration "
    if resource.endswith((".sync", ".sync:2")):
        return "Express state machine does not support '.sync' service integration"
    if _ACTIVITY.match(resource):
        return "Express state machine does not support Activity ARN"
    return None
