"""An operation's model constraints (min, max, pattern, enum), checked as AWS checks them first.

Services whose answers AWS checks against every constraint of the model (Secrets Manager) call
:func:`check_constraints` before anything else; botocore itself checks only minimums on the client.

AWS reports every broken constraint of a request at once: ``N validation error(s) detected:``
then ``Value 'x' at 'path' failed to satisfy constraint: Member must ...`` joined by ``; ``. The
path lowers each member name's first letter and numbers list items from 1 (``tags.1.member.key``).
A member the model marks ``sensitive`` (SecretString, SecretBinary, RotationToken) is named
without its value (``Value at 'secretString' ...``), so a secret never reaches an error message.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, Final

from botocore.model import Shape

from ..errors import AwsError
from .models import service_model
from .shapes import list_member, members

__all__ = ["check_constraints"]

#: Requests nest only a few levels (Filters -> Values); deeper data is not walked.
_MAX_DEPTH: Final = 4


@cache
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _shown(value: Any) -> str:
    # AWS prints values as Java does: lists as [a, b].
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return str(value)


def _problems(shape: Shape, value: Any, path: str, depth: int) -> list[str]:
    meta = shape.metadata
    kind = shape.type_name
    broken: list[str] = []
    if kind == "structure" and isinstance(value, dict) and depth < _MAX_DEPTH:
        for name, member in members(shape).items():
            if value.get(name) is not None:
                where = f"{path}.{_lower_first(name)}" if path else _lower_first(name)
                broken += _problems(member, value[name], where, depth + 1)
        return broken
    if kind in ("string", "blob", "list"):
        if not isinstance(value, (str, bytes, list)):
            return broken
        size = len(value)
        if "min" in meta and size < meta["min"]:
            broken.append(f"Member must have length greater than or equal to {meta['min']}")
        if "max" in meta and size > meta["max"]:
            broken.append(f"Member must have length less than or equal to {meta['max']}")
    elif kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            return broken
        if "min" in meta and value < meta["min"]:
            broken.append(f"Member must have value greater than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            broken.append(f"Member must have value less than or equal to {meta['max']}")
    if kind == "string" and isinstance(value, str):
        if "pattern" in meta and not _pattern(meta["pattern"]).fullmatch(value):
            broken.append(f"Member must satisfy regular expression pattern: {meta['pattern']}")
        allowed: list[str] = getattr(shape, "enum", None) or []
        if allowed and value not in allowed:
            broken.append(f"Member must satisfy enum value set: [{', '.join(allowed)}]")
    shown = "Value" if meta.get("sensitive") else f"Value '{_shown(value)}'"
    found = [f"{shown} at '{path}' failed to satisfy constraint: {rule}" for rule in broken]
    if kind == "list" and isinstance(value, list) and depth < _MAX_DEPTH:
        item = list_member(shape)
        for index, entry in enumerate(value, 1):
            found += _problems(item, entry, f"{path}.{index}.member", depth + 1)
    return found


def check_constraints(service: str, operation: str, params: dict[str, Any], *, code: str = "ValidationException") -> None:
    """Raise AWS's ValidationException (or the service's ``code`` for it) when ``params`` break the operation's model constraints."""
    shape = service_model(service).operation_model(operation).input_shape
    if shape is None:
        return
    found = _problems(shape, params, "", 0)
    if found:
        count = len(found)
        raise AwsError(code, f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(found), 400)
