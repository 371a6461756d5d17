"""The words the template is written in: long-form intrinsics, checkov skips, shared logical ids.

Intrinsic functions are written in their long form (``{"Ref": ...}``,
``{"Fn::GetAtt": [...]}``) so the YAML needs no custom tags and any YAML or JSON
reader (cfn-lint, the SAM translator, checkov) loads it as plain data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["DLQ", "KEY", "getatt", "ref", "skips", "sub"]

KEY = "SluicewayKey"
"""The stack's KMS key (alarm topic and log groups)."""
DLQ = "DeadLetterQueue"
"""The queue undeliverable trigger events and asynchronous invocations go to."""


def sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def getatt(name: str, attribute: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [name, attribute]}


def skips(items: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """A resource's ``Metadata`` telling checkov which of its checks do not apply, and why."""
    return {"checkov": {"skip": [{"id": check, "comment": reason} for check, reason in items]}}
