"""Required members, checked as AWS checks them before an operation runs.

AWS reports every missing member at once, by its path from the input with each name's first
letter lowered (``Value null at 'queueUrl' failed to satisfy constraint: Member must not be
null``); query services answer ``MissingParameter`` for the first one instead.
"""

from __future__ import annotations

from typing import Any

from botocore.model import Shape

from ..errors import AwsError
from .shape_cache import ShapeCache
from .shapes import key_value, list_member, members, required

__all__ = ["check_required", "missing_members"]

#: Nested lists and maps are walked only this far into a request; deeper structures are rare
#: and the operation validates what it uses.
_MAX_DEPTH = 6


def missing_members(shape: Shape, params: dict[str, Any]) -> list[tuple[str, str]]:
    """(AWS-style path, member name) of every required member absent from ``params``."""
    found: list[tuple[str, str]] = []
    _walk(shape, params, "", found, 0)
    return found


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _walk(shape: Shape, value: Any, path: str, found: list[tuple[str, str]], depth: int) -> None:
    if depth > _MAX_DEPTH:
        return
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        if getattr(shape, "is_document_type", False):
            return
        for name in required(shape):
            if value.get(name) is None:
                found.append((f"{path}.{_lower_first(name)}" if path else _lower_first(name), name))
        for name, item in value.items():
            member = members(shape).get(name)
            if member is not None and member.type_name in ("structure", "list", "map") and _has_required(member):
                _walk(member, item, f"{path}.{_lower_first(name)}" if path else _lower_first(name), found, depth + 1)
    elif kind == "list" and isinstance(value, list):
        member = list_member(shape)
        if member.type_name in ("structure", "list", "map"):
            for index, item in enumerate(value, 1):
                _walk(member, item, f"{path}.{index}.member", found, depth + 1)
    elif kind == "map" and isinstance(value, dict):
        member = key_value(shape)[1]
        if member.type_name in ("structure", "list", "map"):
            for key, item in value.items():
                _walk(member, item, f"{path}.{key}.member", found, depth + 1)


def check_required(shape: Shape | None, params: dict[str, Any], protocol: str, service: str) -> None:
    """Raise AWS's error when a required member is missing."""
    if shape is None or not _has_required(shape):
        return
    missing = missing_members(shape, params)
    if not missing:
        return
    if protocol == "query":
        raise AwsError("MissingParameter", f"The request must contain the parameter {missing[0][1]}.", 400)
    if service == "s3":
        raise AwsError("MalformedXML", MALFORMED_XML, 400)
    count = len(missing)
    details = "; ".join(f"Value null at '{path}' failed to satisfy constraint: Member must not be null" for path, _ in missing)
    raise AwsError("ValidationException", f"{count} validation error{'s' if count > 1 else ''} detected: {details}", 400)


_has_required_cache: ShapeCache[bool] = ShapeCache()


def _has_required(shape: Shape) -> bool:
    """Whether ``shape`` or anything inside it has a required member (once per definition)."""
    return _has_required_cache.get(shape, lambda s: _search_required(s, frozenset()))


def _search_required(shape: Shape, seen: frozenset[str]) -> bool:
    if shape.name in seen:
        return False  # a cycle adds nothing its first pass did not find
    seen = seen | {shape.name}
    kind = shape.type_name
    if kind == "structure":
        return bool(required(shape)) or any(_search_required(member, seen) for member in members(shape).values())
    if kind == "list":
        return _search_required(list_member(shape), seen)
    if kind == "map":
        return _search_required(key_value(shape)[1], seen)
    return False


MALFORMED_XML = "The XML you provided was not well-formed or did not validate against our published schema"
