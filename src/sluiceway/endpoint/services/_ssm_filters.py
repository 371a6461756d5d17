"""ParameterFilters (DescribeParameters, GetParametersByPath) and the older Filters: checks and matching.

Member constraints are reported together, as AWS does; then the first semantic problem
(a key the operation does not take, a duplicate, an option or value it does not know) is
raised with its own code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...backends.local.parameters import ParameterVersion, parameter_key
from ..errors import AwsError
from ._ssm_common import INVALID_PATH, TIERS, TYPES, invalid, violation, violations

__all__ = ["Filter", "legacy_filters", "legacy_matcher", "parameter_filters"]

_LEGACY_KEYS = ("Name", "Type", "KeyId")
"""The keys of the deprecated ``Filters`` (the model's ParametersFilterKey enum, in its order)."""

_KEY = re.compile(r"^(tag:.+|Name|Type|KeyId|Path|Label|Tier|DataType)$")
_TOO_LONG = "failed to satisfy constraint: Member must have length less than or equal to"
_PATH = re.compile(r"^/([a-zA-Z0-9_.-]+/)*[a-zA-Z0-9_.-]*$")


@dataclass(frozen=True)
class Filter:
    key: str
    option: str
    values: tuple[str, ...]


def parameter_filters(raw: Sequence[Mapping[str, Any]] | None, *, by_path: bool) -> list[Filter]:
    """The request's ParameterFilters, checked (ValidationException, InvalidFilterKey/Option/Value)."""
    problems: list[str] = []
    for index, item in enumerate(raw or [], 1):
        key, option, given = str(item.get("Key", "")), item.get("Option"), [str(v) for v in item.get("Values") or []]
        where = f"parameterFilters.{index}.member"
        if not _KEY.match(key):
            problems.append(
                f"Value '{key}' at '{where}.key' failed to satisfy constraint: Member must satisfy regular expression pattern:"
                " tag:.+|Name|Type|KeyId|Path|Label|Tier|DataType"
            )
        if len(key) > 132:
            problems.append(
                f"Value '{key}' at '{where}.key' failed to satisfy constraint: Member must have length less than or equal to 132"
            )
        if option is not None and not 1 <= len(str(option)) <= 10:
            problems.append(
                f"Value '{option}' at '{where}.option' failed to satisfy constraint: Member must have length less than or equal to 10"
            )
        if len(given) > 50:
            problems.append(
                f"Value '[{', '.join(given)}]' at '{where}.values' failed to satisfy constraint:"
                " Member must have length less than or equal to 50"
            )
        if any(not 1 <= len(v) <= 1024 for v in given):
            problems.append(
                f"Value '[{', '.join(given)}]' at '{where}.values' failed to satisfy constraint: Member must satisfy"
                " constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 1]"
            )
    if problems:
        count = len(problems)
        raise invalid(f"{count} validation error{'s' if count > 1 else ''} detected: {'; '.join(problems)}")
    checked: list[Filter] = []
    seen: set[str] = set()
    for item in raw or []:
        key = str(item["Key"])
        values = tuple(str(v) for v in item.get("Values") or [])
        option = str(item.get("Option") or ("OneLevel" if key == "Path" else "Equals"))
        if not by_path and key == "Label":
            raise AwsError(
                "InvalidFilterKey",
                "The following filter key is not valid: Label. Valid filter keys include: [Path, Name, Type, KeyId, Tier].",
            )
        if by_path and key in ("Name", "Path", "Tier"):
            raise AwsError("InvalidFilterKey", f"The following filter key is not valid: {key}. Valid filter keys include: [Type, KeyId].")
        if not key.startswith("tag:") and not values:
            raise AwsError("InvalidFilterValue", f"The following filter values are missing : null for filter key {key}.")
        if key in seen:
            raise AwsError(
                "InvalidFilterKey",
                f"The following filter is duplicated in the request: {key}."
                " A request can contain only one occurrence of a specific filter.",
            )
        seen.add(key)
        if key == "Path":
            _check_path(option, values)
        elif key == "Tier":
            _check_values(values, TIERS)
        elif key == "Type":
            _check_values(values, TYPES)
        else:
            allowed = ("Equals", "BeginsWith", "Contains") if key == "Name" else ("Equals", "BeginsWith")
            if option not in allowed:
                raise AwsError(
                    "InvalidFilterOption",
                    f"The following filter option is not valid: {option}. Valid options include: [BeginsWith, Equals].",
                )
        checked.append(Filter(key, option, values))
    return checked


def _check_path(option: str, values: tuple[str, ...]) -> None:
    if option not in ("Recursive", "OneLevel"):
        raise AwsError(
            "InvalidFilterOption", f"The following filter option is not valid: {option}. Valid options include: [Recursive, OneLevel]."
        )
    for value in values:
        if value.lower().startswith(("/aws", "/ssm")):
            raise invalid(
                'Filters for common parameters can\'t be prefixed with "aws" or "ssm" (case-insensitive). '
                "When using global parameters, please specify within a global namespace."
            )
        if not _PATH.match(value) or "//" in value:
            raise invalid(INVALID_PATH)


def _check_values(values: tuple[str, ...], allowed: tuple[str, ...]) -> None:
    for value in values:
        if value not in allowed:
            raise AwsError(
                "InvalidFilterValue", f"The following filter value is not valid: {value}. Valid values include: [{', '.join(allowed)}]."
            )


def parent(name: str) -> str:
    """The path a parameter sits in: ``/a/b`` for ``/a/b/c``; ``/`` for a name of one level."""
    key = parameter_key(name)
    return key.rsplit("/", 1)[0] or "/" if "/" in key else "/"


def _compare(option: str, actual: str | None, values: tuple[str, ...]) -> bool:
    if actual is None:
        return False
    if option == "BeginsWith":
        return any(actual.startswith(v) for v in values)
    if option == "Contains":
        return any(v in actual for v in values)
    return actual in values


def matches(item: ParameterVersion, tags: Mapping[str, str], wanted: Sequence[Filter]) -> bool:
    """Whether the parameter passes every filter (Label filters are applied by the caller)."""
    for one in wanted:
        if one.key == "Name":
            # Names compare with their leading slash ("param" is "/param"); Contains looks for the text as given.
            values = one.values if one.option == "Contains" else tuple(_slashed(v) for v in one.values)
            if not _compare(one.option, _slashed(item.name), values):
                return False
        elif one.key == "Path":
            if not any(_under(item.name, value, recursive=one.option == "Recursive") for value in one.values):
                return False
        elif one.key.startswith("tag:"):
            tag = tags.get(one.key[4:])
            if tag is None or (one.values and not _compare(one.option, tag, one.values)):
                return False
        elif one.key != "Label":
            actual = {"Type": item.type, "KeyId": item.key_id, "Tier": item.tier, "DataType": item.data_type}.get(one.key)
            if not _compare(one.option, actual, one.values):
                return False
    return True


def _slashed(name: str) -> str:
    return name if name.startswith("/") else "/" + name


def _under(name: str, path: str, *, recursive: bool) -> bool:
    base = path.rstrip("/") or "/"
    if recursive:
        return base == "/" or name.startswith(base + "/")
    return parent(name) == base


def legacy_filters(raw: Sequence[Mapping[str, Any]] | None) -> None:
    """Check the deprecated ``Filters`` against their model: an enum key, 1 to 50 values of 1 to 1024 characters."""
    problems: list[str] = []
    for index, item in enumerate(raw or [], 1):
        key, given = str(item.get("Key", "")), [str(v) for v in item.get("Values") or []]
        where = f"filters.{index}.member"
        if key not in _LEGACY_KEYS:
            problems.append(violation(key, f"{where}.key", f"Member must satisfy enum value set: [{', '.join(_LEGACY_KEYS)}]"))
        if len(given) > 50:
            problems.append(violation(f"[{', '.join(given)}]", f"{where}.values", "Member must have length less than or equal to 50"))
        if not given:
            problems.append(violation("[]", f"{where}.values", "Member must have length greater than or equal to 1"))
        if any(not 1 <= len(v) <= 1024 for v in given):
            problems.append(
                violation(
                    f"[{', '.join(given)}]",
                    f"{where}.values",
                    "Member must satisfy constraint: [Member must have length less than or equal to 1024,"
                    " Member must have length greater than or equal to 1]",
                )
            )
    problem = violations(problems)
    if problem is not None:
        raise problem


def legacy_matcher(raw: Sequence[Mapping[str, Any]]) -> Callable[[ParameterVersion], bool]:
    """The deprecated ``Filters`` of DescribeParameters: Name begins with, Type and KeyId equal; all must hold."""

    def attribute(item: ParameterVersion, key: str) -> str | None:
        return {"Name": item.name, "Type": item.type, "KeyId": item.key_id}.get(key)

    def match(item: ParameterVersion) -> bool:
        for one in raw:
            key, values = str(one.get("Key")), [str(v) for v in one.get("Values") or []]
            actual = attribute(item, key)
            if actual is None:
                return False
            if key == "Name" and not any(actual.startswith(v) for v in values):
                return False
            if key != "Name" and actual not in values:
                return False
        return True

    return match
