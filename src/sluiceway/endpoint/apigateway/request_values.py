"""The ``stageVariables.*`` and ``context.*`` values a REST mapping or identity source names.

An authorizer's identity sources and an integration's request parameters may both name a stage
variable (``stageVariables.tenant``) or a context variable (``context.authorizer.tenantId``,
``context.identity.sourceIp``); both read them here, so they read them alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["context_or_stage_value"]


def context_or_stage_value(expression: str, context: Mapping[str, Any], stage_variables: Mapping[str, str]) -> str | None:
    """The value ``expression`` (without ``$``) names, or None when it names no such value or an empty one.

    ``context`` is ``$context`` as a nested mapping; a value that is not text is rendered as API
    Gateway renders a Lambda authorizer's context values (``true``, ``42``).
    """
    if expression.startswith("stageVariables."):
        return stage_variables.get(expression.removeprefix("stageVariables.")) or None
    if not expression.startswith("context."):
        return None
    node: Any = context
    for part in expression.removeprefix("context.").split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    if node is None or node == "" or isinstance(node, (Mapping, list)):
        return None
    if isinstance(node, bool):
        return "true" if node else "false"
    return str(node)
