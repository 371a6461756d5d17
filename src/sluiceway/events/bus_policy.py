"""An event bus's resource-based policy as PutPermission and RemovePermission edit it.

Pure functions over the policy document (JSON text, or ``None`` when the bus has none).
PutPermission with Action/Principal/StatementId adds one statement (or replaces the one
with that Sid); RemovePermission takes one out, and the policy disappears with its last
statement, as DescribeEventBus then leaves ``Policy`` out.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

__all__ = ["BusPolicyError", "granting", "statement", "without"]

#: The only action EventBridge lets PutPermission grant.
_ACTION: Final = "events:PutEvents"
_ACCOUNT: Final = re.compile(r"\d{12}")


class BusPolicyError(ValueError):
    """A PutPermission or RemovePermission request EventBridge refuses.

    ``code`` is the AWS error code (``ValidationException`` or ``ResourceNotFoundException``).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def statement(*, action: str, principal: str, sid: str, bus_arn: str, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    """The statement PutPermission writes for one grant (AWS's own layout, key for key).

    Raises:
        BusPolicyError: the action is not ``events:PutEvents``, the principal is neither an
            account id nor ``*``, or the condition lacks Type, Key or Value.
    """
    if action != _ACTION:
        raise BusPolicyError("ValidationException", "Provided value in parameter 'action' is not supported.")
    if principal != "*" and not _ACCOUNT.fullmatch(principal):
        raise BusPolicyError("ValidationException", "Provided value in parameter 'principal' is not supported.")
    out: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        # An account id becomes its root principal; "*" stays as AWS writes it.
        "Principal": "*" if principal == "*" else {"AWS": f"arn:aws:iam::{principal}:root"},
        "Action": action,
        "Resource": bus_arn,
    }
    if condition is not None:
        kind, key, value = condition.get("Type"), condition.get("Key"), condition.get("Value")
        if not (isinstance(kind, str) and isinstance(key, str) and isinstance(value, str)):
            raise BusPolicyError("ValidationException", "Provided value in parameter 'condition' is not supported.")
        out["Condition"] = {kind: {key: value}}
    return out


def _statements(policy: str | None) -> list[dict[str, Any]]:
    if not policy:
        return []
    document = json.loads(policy)
    found = document.get("Statement") if isinstance(document, dict) else None
    if isinstance(found, dict):
        return [found]
    return [s for s in found or [] if isinstance(s, dict)]


def granting(policy: str | None, grant: dict[str, Any]) -> str:
    """``policy`` with ``grant`` added, replacing a statement with the same Sid in place."""
    kept = _statements(policy)
    for index, existing in enumerate(kept):
        if existing.get("Sid") == grant["Sid"]:
            kept[index] = grant
            break
    else:
        kept.append(grant)
    return json.dumps({"Version": "2012-10-17", "Statement": kept}, separators=(",", ":"))


def without(policy: str | None, sid: str) -> str | None:
    """``policy`` without statement ``sid``; ``None`` once no statement is left.

    Raises:
        BusPolicyError: no statement has that Sid (AWS says so whether or not there is a policy).
    """
    kept = _statements(policy)
    remaining = [s for s in kept if s.get("Sid") != sid]
    if len(remaining) == len(kept):
        raise BusPolicyError("ResourceNotFoundException", "Statement with the provided id does not exist.")
    if not remaining:
        return None
    return json.dumps({"Version": "2012-10-17", "Statement": remaining}, separators=(",", ":"))
