"""Matching: a field's alternatives as one test, an event's leaves by path, branches against them.

A branch is a tuple of fields; a field is ``(id, path, test, exists_true,
exists_false)``. ``test`` checks one leaf value against the field's value
alternatives; ``id`` names equal fields shared by many rules in a
:class:`~sluiceway.events.patterns.RuleIndex` (-1 elsewhere).

Arrays in events are flattened: a field matches if any element matches. Two
fields taken from objects inside the same array must come from the same
element (EventBridge's "array-consistent" matching). Only leaves exist: an
empty array, an empty object or an object-valued field does not exist for
``exists``; ``null`` does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Final, TypeAlias

from sluiceway import matching
from sluiceway.matching import Test

from ._compiler import Spec
from ._values import event_ip, event_number_comparable

__all__ = [
    "Field",
    "Fields",
    "Members",
    "Test",
    "Values",
    "branch_matches",
    "branch_matches_memo",
    "field_test",
    "flatten",
    "prefixes_of",
]

Field: TypeAlias = tuple[int, str, Test | None, bool, bool]
Fields: TypeAlias = tuple[Field, ...]


def _string_test(spec: Spec) -> Test:
    kind = spec[0]
    if kind == "prefix":
        return matching.prefix(spec[1])
    if kind == "suffix":
        return matching.suffix(spec[1])
    # EventBridge folds case as event-ruler does, character by character (str.lower
    # here); SNS casefolds (messaging/filter_policy.py), and has no prefix/suffix
    # forms that ignore case.
    if kind == "prefix_ic":
        return matching.prefix(spec[1], str.lower)
    if kind == "suffix_ic":
        return matching.suffix(spec[1], str.lower)
    if kind == "eic":
        return matching.equals_ignore_case(spec[1], str.lower)
    if kind == "wildcard":
        return spec[2].fullmatch  # type: ignore[no-any-return]
    if kind == "cidr":
        # Addresses are read as Java reads them (see _values.parse_ip); SNS uses
        # Python's reading, which differs for IPv4-mapped IPv6 and zone ids.
        return matching.in_address_block(spec[1], spec[2], spec[3], event_ip)
    raise AssertionError(kind)  # pragma: no cover


def _number_test(spec: Spec) -> Test:
    _, low, low_open, high, high_open = spec
    # EventBridge compares doubles, and only those within its limits; SNS compares
    # decimals at five places and has no such gate.
    return matching.numeric_range(low, low_open, high, high_open, admit=event_number_comparable)


def _anything_but_test(spec: Spec) -> Test:
    """anything-but: fails only on a value of the kind it lists; any other value passes.

    ``null``, booleans and values of the other type (numbers against a string
    list, strings against a number list) all match, as on AWS. EventBridge's
    lists hold only strings or only numbers (the compiler refuses others), and
    its numbers are excluded only where they can be compared at all; SNS's
    lists mix every kind and compare numbers at five decimals.
    """
    kind = spec[0]
    if kind == "not":
        strings: frozenset[str] = spec[1]
        numbers: frozenset[float] = spec[2]

        def not_values(v: Any) -> bool:
            t = type(v)
            if t is str:
                return v not in strings
            if t is int or t is float:
                return not (v in numbers and event_number_comparable(v))
            return True

        return not_values
    if kind == "not_prefix":
        return matching.anything_but_prefix(spec[1])
    if kind == "not_suffix":
        return matching.anything_but_suffix(spec[1])
    if kind == "not_eic":
        lowered: frozenset[str] = spec[1]
        return lambda v: type(v) is not str or v.lower() not in lowered
    if kind == "not_wildcard":
        regexes: tuple[re.Pattern[str], ...] = spec[1]
        return lambda v: type(v) is not str or not any(r.fullmatch(v) for r in regexes)
    raise AssertionError(kind)  # pragma: no cover


def field_test(specs: Sequence[Spec]) -> tuple[Test | None, bool, bool]:
    """Compile a field's alternatives into (test, exists_true, exists_false)."""
    exists_true = exists_false = False
    strings: set[str] = set()
    numbers: set[int | float] = set()
    literals: set[tuple[str, Any]] = set()
    string_tests: list[Test] = []
    number_tests: list[Test] = []
    any_tests: list[Test] = []
    for spec in specs:
        kind = spec[0]
        if kind == "exists":
            if spec[1]:
                exists_true = True
            else:
                exists_false = True
        elif kind == "str":
            strings.add(spec[1])
        elif kind == "num":
            numbers.add(spec[1])
        elif kind == "lit":
            literals.add(("lit", spec[1]))
        elif kind == "range":
            number_tests.append(_number_test(spec))
        elif kind.startswith("not"):
            any_tests.append(_anything_but_test(spec))
        else:
            string_tests.append(_string_test(spec))

    if not (strings or numbers or literals or string_tests or number_tests or any_tests):
        return None, exists_true, exists_false
    string_set = frozenset(strings)
    if string_set and not (numbers or literals or string_tests or number_tests or any_tests):
        # The common case: a set of strings. A non-string is never equal to a string.
        return string_set.__contains__, exists_true, exists_false

    number_set = frozenset(numbers)
    has_true, has_false, has_null = (
        ("lit", True) in literals,
        ("lit", False) in literals,
        ("lit", None) in literals,
    )
    string_fns, number_fns, any_fns = tuple(string_tests), tuple(number_tests), tuple(any_tests)

    def test(v: Any) -> bool:
        t = type(v)
        if t is str:
            if v in string_set:
                return True
            for fn in string_fns:
                if fn(v):
                    return True
        elif t is int or t is float:
            # Numbers match by value (5 matches 5.0); see event_number_comparable
            # for the numbers AWS can only match exactly.
            if v in number_set:
                return True
            for fn in number_fns:
                if fn(v):
                    return True
        elif v is None:
            if has_null:
                return True
        elif t is bool and (has_true if v else has_false):
            return True
        return any(fn(v) for fn in any_fns)

    return test, exists_true, exists_false


Values: TypeAlias = dict[str, list[Any]]
Member: TypeAlias = tuple[tuple[int, int], ...]
"""(array id, element index) for each array of objects a leaf sits in."""
Members: TypeAlias = dict[str, dict[int, Member]]
_PLAIN_LEAVES: Final = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    """Leaf values of foreign types (str/int subclasses, Decimal) as JSON scalars."""
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float | Decimal):
        return float(value)
    return value


class _Flattener:
    """Collects an event's leaves by dotted path, only where some pattern looks.

    Leaves inside arrays of objects also record which element of which array
    they came from, for array-consistent matching.
    """

    __slots__ = ("members", "next_array", "prefixes", "values")

    def __init__(self, prefixes: frozenset[str]) -> None:
        self.prefixes = prefixes
        self.values: Values = {}
        self.members: Members | None = None
        self.next_array = 0

    def walk(self, obj: Mapping[str, Any], prefix: str, member: Member) -> None:
        prefixes = self.prefixes
        for key, value in obj.items():
            path = f"{prefix}.{key}" if prefix else key if type(key) is str else str(key)
            if path not in prefixes:
                continue
            t = type(value)
            if t is dict:
                self.walk(value, path, member)
            elif t is list:
                self.walk_list(value, path, member)
            elif t in _PLAIN_LEAVES:
                self.leaf(path, value, member)
            elif isinstance(value, Mapping):
                self.walk(value, path, member)
            elif isinstance(value, list | tuple):
                self.walk_list(value, path, member)
            else:
                self.leaf(path, _plain(value), member)

    def walk_list(self, items: Sequence[Any], path: str, member: Member) -> None:
        array_id = -1
        for index, item in enumerate(items):
            t = type(item)
            if t is dict or t is list or isinstance(item, Mapping | list | tuple):
                if array_id < 0:
                    array_id = self.next_array
                    self.next_array += 1
                inner = (*member, (array_id, index))
                if isinstance(item, Mapping):
                    self.walk(item, path, inner)
                else:
                    self.walk_list(item, path, inner)
            else:
                self.leaf(path, item if t in _PLAIN_LEAVES else _plain(item), member)

    def leaf(self, path: str, value: Any, member: Member) -> None:
        values = self.values
        leaves = values.get(path)
        if leaves is None:
            leaves = values[path] = [value]
        else:
            leaves.append(value)
        if member:
            if self.members is None:
                self.members = {}
            self.members.setdefault(path, {})[len(leaves) - 1] = member


def flatten(event: Mapping[str, Any], prefixes: frozenset[str]) -> tuple[Values, Members | None]:
    flattener = _Flattener(prefixes)
    flattener.walk(event, "", ())
    return flattener.values, flattener.members


def branch_matches(fields: Fields, values: Values, members: Members | None) -> bool:
    groups: list[list[Member]] | None = None
    for _id, path, test, exists_true, exists_false in fields:
        leaves = values.get(path)
        if leaves is None:
            if exists_false:
                continue
            return False
        constrained = members.get(path) if members is not None else None
        if constrained is None:
            if exists_true:
                continue
            if test is None:
                return False
            for v in leaves:
                if test(v):
                    break
            else:
                return False
            continue
        # Some leaves sit in arrays of objects: remember which elements could serve.
        candidates: list[Member] = []
        free = False
        for index, v in enumerate(leaves):
            if exists_true or (test is not None and test(v)):
                member = constrained.get(index)
                if member is None:
                    free = True
                    break
                candidates.append(member)
        if free:
            continue
        if not candidates:
            return False
        if groups is None:
            groups = []
        groups.append(candidates)
    if groups is None or len(groups) < 2:
        return True
    return _consistent(groups)


def branch_matches_memo(fields: Fields, values: Values, memo: dict[int, bool]) -> bool:
    """branch_matches for events without arrays of objects, remembering field results.

    Rules share many fields (``source``, ``detail-type``, a bucket); each is
    evaluated once per event.
    """
    for field_id, path, test, exists_true, exists_false in fields:
        ok = memo.get(field_id)
        if ok is None:
            # matching.leaves_match, inlined: a call per field per event costs the
            # rule index about 4% of its throughput. tests/unit/test_matching.py
            # holds the two to the same answers.
            leaves = values.get(path)
            if leaves is None:
                ok = exists_false
            elif exists_true:
                ok = True
            elif test is None:
                ok = False
            else:
                ok = False
                for v in leaves:
                    if test(v):
                        ok = True
                        break
            memo[field_id] = ok
        if not ok:
            return False
    return True


def _consistent(groups: list[list[Member]]) -> bool:
    """Whether one candidate per field can be chosen, all from agreeing array elements."""
    groups.sort(key=len)
    chosen: dict[int, int] = {}

    def pick(i: int) -> bool:
        if i == len(groups):
            return True
        for member in groups[i]:
            added: list[int] = []
            fits = True
            for array_id, index in member:
                current = chosen.get(array_id)
                if current is None:
                    chosen[array_id] = index
                    added.append(array_id)
                elif current != index:
                    fits = False
                    break
            if fits and pick(i + 1):
                return True
            for array_id in added:
                del chosen[array_id]
        return False

    return pick(0)


def prefixes_of(paths: Iterator[str] | Sequence[str] | frozenset[str]) -> frozenset[str]:
    out: set[str] = set()
    for path in paths:
        out.add(path)
        i = path.find(".")
        while i >= 0:
            out.add(path[:i])
            i = path.find(".", i + 1)
    return frozenset(out)
