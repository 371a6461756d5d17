"""A Lambda authorizer's IAM policy evaluated against the method (route) ARN it was asked about.

The ARN is ``arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/{path}``. A statement
applies when one of its actions matches ``execute-api:Invoke`` and one of its resources matches the
ARN, with IAM's wildcards (``*`` any run of characters, ``/`` and ``:`` included; ``?`` one
character). As in IAM, an applicable ``Deny`` wins over any ``Allow``, and with no applicable
``Allow`` the request is refused (implicitly). A policy API Gateway cannot read is the authorizer's
misconfiguration (:class:`PolicyError`), not a refusal of the caller.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal

from .routes import canonical_path

__all__ = ["Decision", "PolicyError", "evaluate", "method_arn"]

Decision = Literal["allow", "deny", "implicit_deny"]
_ACTION = "execute-api:Invoke"


class PolicyError(ValueError):
    """The authorizer's ``policyDocument`` is not a policy API Gateway can evaluate."""


def method_arn(region: str, account_id: str, api_id: str, stage: str, method: str, path: str) -> str:
    """The ARN a request is authorized against (``path`` is the request's path after the stage).

    The path is taken as routing takes it (:func:`.routes.canonical_path`: empty segments dropped),
    so ``/admin/`` and ``//admin`` are authorized as ``GET/admin``, the route they reach.
    """
    return f"arn:aws:execute-api:{region}:{account_id}:{api_id}/{stage}/{method}/{canonical_path(path).lstrip('/')}"


def evaluate(document: Any, arn: str) -> Decision:
    """Whether ``document`` allows invoking ``arn``.

    Raises:
        PolicyError: no ``Statement``, a statement without an ``Effect`` of Allow or Deny, or actions
            and resources that are not strings.
    """
    if not isinstance(document, Mapping):
        raise PolicyError("policyDocument must be an object")
    statements = document.get("Statement")
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise PolicyError("policyDocument.Statement must be a statement or a list of them")
    allowed = False
    for index, statement in enumerate(statements):
        if not isinstance(statement, Mapping):
            raise PolicyError(f"Statement[{index}] must be an object")
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise PolicyError(f"Statement[{index}].Effect must be Allow or Deny")
        applies = _matches(statement, "Action", _ACTION, index, case_sensitive=False) and _matches(
            statement, "Resource", arn, index, case_sensitive=True
        )
        if "Condition" in statement:
            # Conditions have no request context to be evaluated against here: a conditional Deny
            # whose action and resource match is taken as applying, a conditional Allow as not (fail
            # closed). A conditional Deny on another resource says nothing about this one.
            applies = applies and effect == "Deny"
        if applies and effect == "Deny":
            return "deny"
        allowed = allowed or applies
    return "allow" if allowed else "implicit_deny"


def _matches(statement: Mapping[str, Any], key: str, value: str, index: int, *, case_sensitive: bool) -> bool:
    """Whether the statement's ``key`` (or ``Not<key>``) covers ``value``."""
    negated = f"Not{key}"
    if key in statement and negated in statement:
        raise PolicyError(f"Statement[{index}] has both {key} and {negated}")
    if key not in statement and negated not in statement:
        raise PolicyError(f"Statement[{index}] has neither {key} nor {negated}")
    patterns = statement.get(key, statement.get(negated))
    if isinstance(patterns, str):
        patterns = [patterns]
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise PolicyError(f"Statement[{index}].{key} must be a string or a list of strings")
    hit = any(_pattern(p, case_sensitive).fullmatch(value) for p in patterns)
    return not hit if negated in statement else hit


@lru_cache(maxsize=512)
def _pattern(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.S if case_sensitive else re.S | re.I)
