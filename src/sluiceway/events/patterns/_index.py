"""RuleIndex: many patterns, one event, and only the rules that could match are tried."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

from ._compiler import Spec
from ._matcher import Field, Fields, branch_matches, branch_matches_memo, flatten, prefixes_of
from ._pattern import CompiledBranch, Pattern
from ._wildcards import STAR

__all__ = ["RuleIndex"]

# Envelope fields that whole families of events share: poor keys for an index.
_ENVELOPE: Final = frozenset({"source", "detail-type", "account", "region", "version"})

_Entry: TypeAlias = tuple[str, Fields, Fields]
"""(rule id, branch fields, branch fields without the indexed one)."""


def _index_keys(specs: Sequence[Spec]) -> tuple[Any, ...] | None:
    """Hashable keys for a field of exact values only (strings, numbers, literals)."""
    keys: list[Any] = []
    for spec in specs:
        kind = spec[0]
        if kind == "str" or kind == "num":
            keys.append(spec[1])
        elif kind == "lit":
            keys.append(("lit", spec[1]))
        else:
            return None
    return tuple(keys)


def _leaf_key(value: Any) -> Any:
    t = type(value)
    if t is str or t is int or t is float:
        return value
    return ("lit", value)


def _index_heads(specs: Sequence[Spec]) -> tuple[str, ...] | None:
    """Literal beginnings every string matching the field must start with, if all have one."""
    heads: list[str] = []
    for spec in specs:
        kind = spec[0]
        if kind == "str" or kind == "prefix":
            head = spec[1]
        elif kind == "wildcard":
            parts = spec[1]
            end = parts.index(STAR) if STAR in parts else len(parts)
            head = "".join(parts[:end])
        else:
            return None
        if not head:
            return None
        heads.append(head)
    return tuple(heads)


@dataclass(slots=True)
class _HeadTable:
    """Entries by the literal beginning (prefix, wildcard head) of a string field."""

    by_head: dict[str, list[_Entry]] = field(default_factory=dict)
    lengths: tuple[int, ...] = ()

    def refresh(self) -> None:
        self.lengths = tuple(sorted({len(h) for h in self.by_head}))


class RuleIndex:
    """Many patterns, one event: which rules match.

    Each ``$or`` branch of each rule is filed under one of its fields: a field
    of exact values (looked up by the event's value) or of strings with a
    known beginning (prefixes, wildcards with a literal head; looked up by the
    event value's beginnings). The field chosen is the least crowded so far,
    avoiding envelope fields that whole families of events share (``source``,
    ``detail-type``) when there is another. An event then evaluates only the
    branches found under its own values, plus the few with no such field, and
    each distinct field once, however many rules share it.

    Matching never changes the rules, but ``add`` and ``remove`` do: callers
    that share an index between threads serialise those against ``match``.
    """

    def __init__(self) -> None:
        self._patterns: dict[str, Pattern] = {}
        self._order: dict[str, int] = {}
        self._sequence = 0
        self._exact: dict[str, dict[Any, list[_Entry]]] = {}
        self._heads: dict[str, _HeadTable] = {}
        self._scan: list[_Entry] = []
        self._placed: dict[str, list[tuple[str, str, tuple[Any, ...]]]] = {}
        self._prefixes: frozenset[str] | None = frozenset()
        # Equal fields of different rules share one id, so an event checks each once.
        self._fields: dict[tuple[str, tuple[Spec, ...]], list[Any]] = {}
        self._field_keys: dict[str, list[tuple[str, tuple[Spec, ...]]]] = {}
        self._next_field_id = 0

    def __len__(self) -> int:
        return len(self._patterns)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._patterns

    def add(self, rule_id: str, pattern: Pattern) -> None:
        """Add a rule, replacing any rule with the same id."""
        if rule_id in self._patterns:
            self.remove(rule_id)
        self._patterns[rule_id] = pattern
        self._order[rule_id] = self._sequence
        self._sequence += 1
        placed: list[tuple[str, str, tuple[Any, ...]]] = []
        for branch in pattern._branches:
            how, path, keys = self._choose_index(branch)
            fields = tuple(self._intern(f, branch.specs[f[1]]) for f in branch.fields)
            rest = tuple(f for f in fields if f[1] != path)
            entry: _Entry = (rule_id, fields, rest)
            if how == "exact":
                table = self._exact.setdefault(path, {})
                for key in set(keys):
                    table.setdefault(key, []).append(entry)
            elif how == "head":
                heads = self._heads.setdefault(path, _HeadTable())
                for head in set(keys):
                    heads.by_head.setdefault(head, []).append(entry)
                heads.refresh()
            else:
                self._scan.append(entry)
            placed.append((how, path, keys))
        self._placed[rule_id] = placed
        self._field_keys[rule_id] = [
            (path, specs) for branch in pattern._branches for path, specs in branch.specs.items()
        ]
        self._prefixes = None

    def _intern(self, compiled: Field, specs: tuple[Spec, ...]) -> Field:
        key = (compiled[1], specs)
        shared = self._fields.get(key)
        if shared is None:
            shared_field: Field = (self._next_field_id, *compiled[1:])
            self._next_field_id += 1
            self._fields[key] = [shared_field, 1]
            return shared_field
        shared[1] += 1
        return shared[0]  # type: ignore[no-any-return]

    def _choose_index(self, branch: CompiledBranch) -> tuple[str, str, tuple[Any, ...]]:
        best: tuple[tuple[bool, int, int, int], str, str, tuple[Any, ...]] | None = None
        for path, specs in branch.specs.items():
            keys = _index_keys(specs)
            if keys is not None:
                table = self._exact.get(path, {})
                crowd = sum(len(table.get(k, ())) for k in set(keys))
                rank = (path in _ENVELOPE, crowd, -path.count("."), 0)
                if best is None or rank < best[0]:
                    best = (rank, "exact", path, keys)
                continue
            heads = _index_heads(specs)
            if heads is not None:
                by_head = self._heads[path].by_head if path in self._heads else {}
                crowd = sum(len(by_head.get(h, ())) for h in set(heads))
                rank = (path in _ENVELOPE, crowd, -path.count("."), 1)
                if best is None or rank < best[0]:
                    best = (rank, "head", path, heads)
        if best is None:
            return "scan", "", ()
        return best[1], best[2], best[3]

    def remove(self, rule_id: str) -> None:
        """Remove a rule; removing an unknown id does nothing."""
        if self._patterns.pop(rule_id, None) is None:
            return
        del self._order[rule_id]
        for how, path, keys in self._placed.pop(rule_id):
            if how == "exact":
                table = self._exact[path]
                _discard(table, keys, rule_id)
                if not table:
                    del self._exact[path]
            elif how == "head":
                heads = self._heads[path]
                _discard(heads.by_head, keys, rule_id)
                if heads.by_head:
                    heads.refresh()
                else:
                    del self._heads[path]
        self._scan = [e for e in self._scan if e[0] != rule_id]
        for key in self._field_keys.pop(rule_id):
            shared = self._fields[key]
            shared[1] -= 1
            if shared[1] == 0:
                del self._fields[key]
        self._prefixes = None

    def match(self, event: Mapping[str, Any]) -> list[str]:
        """Ids of the rules ``event`` matches, in the order they were added.

        A rule replaced by ``add`` counts as added when it was replaced.
        """
        if not isinstance(event, Mapping) or not self._patterns:
            return []
        prefixes = self._prefixes
        if prefixes is None:
            prefixes = self._prefixes = prefixes_of(
                [p for pattern in self._patterns.values() for p in pattern._prefixes]
            )
        values, members = flatten(event, prefixes)
        matched: set[str] = set()
        plain = members is None
        memo: dict[int, bool] = {}
        for path, table in self._exact.items():
            leaves = values.get(path)
            if leaves is None:
                continue
            for leaf in leaves:
                entries = table.get(leaf if type(leaf) is str else _leaf_key(leaf))
                if entries is None:
                    continue
                for rule_id, branch, rest in entries:
                    if rule_id in matched:
                        continue
                    if (
                        branch_matches_memo(rest, values, memo)
                        if plain
                        else branch_matches(branch, values, members)
                    ):
                        matched.add(rule_id)
        for path, heads in self._heads.items():
            leaves = values.get(path)
            if leaves is None:
                continue
            by_head = heads.by_head
            for leaf in leaves:
                if type(leaf) is not str:
                    continue
                size = len(leaf)
                for length in heads.lengths:
                    if length > size:
                        break
                    entries = by_head.get(leaf[:length])
                    if entries is None:
                        continue
                    # The head only narrows the search: the field itself is still checked.
                    for rule_id, branch, _rest in entries:
                        if rule_id in matched:
                            continue
                        if (
                            branch_matches_memo(branch, values, memo)
                            if plain
                            else branch_matches(branch, values, members)
                        ):
                            matched.add(rule_id)
        for rule_id, branch, _rest in self._scan:
            if rule_id in matched:
                continue
            if (
                branch_matches_memo(branch, values, memo)
                if plain
                else branch_matches(branch, values, members)
            ):
                matched.add(rule_id)
        if len(matched) < 2:
            return list(matched)
        order = self._order
        return sorted(matched, key=order.__getitem__)


def _discard(table: dict[Any, list[_Entry]], keys: tuple[Any, ...], rule_id: str) -> None:
    for key in set(keys):
        kept = [e for e in table[key] if e[0] != rule_id]
        if kept:
            table[key] = kept
        else:
            del table[key]
