"""YAML for pipeline configs: read safely, and the line behind every field.

A config is read into PyYAML's node tree first, then built into plain data, so
that each problem found later (by pydantic or by the whole-config checks) can be
reported at its line: :func:`line_of` follows a field path (pydantic's error
location) down the node tree.

YAML is read with YAML 1.2 booleans (only ``true``/``false``; ``yes``/``no``/``on``
stay strings) and without timestamp resolution (dates stay text and are checked
against the column's type). Anchors and aliases may not expand a config beyond
:data:`MAX_YAML_NODES` values.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from typing import Any

import yaml

from ..errors import ConfigError

__all__ = ["MAX_YAML_NODES", "dotted", "duplicate_keys", "line_of", "load_yaml"]

logger = logging.getLogger(__name__)


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans and no timestamp resolution."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


MAX_YAML_NODES = 100_000
"""Most values (scalars, lists, mappings) a config may hold once its aliases are expanded.

A YAML alias stands for a whole node, so a few lines of nested anchors and aliases
(a "billion laughs") describe billions of values. PyYAML builds them as shared
objects, cheaply, but every walk over the config (validation, the digest) then
expands them. A real pipeline config holds a few hundred values.
"""


def load_yaml(text: str, source: str) -> tuple[yaml.Node | None, Any]:
    """The node tree of ``text`` (None for an empty document) and the plain data built from it.

    Raises:
        ConfigError: not YAML (with the line where the parser stopped), nested too
            deeply, or with aliases that expand it beyond :data:`MAX_YAML_NODES` values or into itself.
    """
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
            if root is not None:
                _check_expansion(root, source)
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except RecursionError:
        raise ConfigError(f"{source}: not a usable pipeline config: nested too deeply") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        context = ""
        if exc.context and exc.context_mark is not None and exc.context_mark.line + 1 != line:
            context = f" ({exc.context} on line {exc.context_mark.line + 1})"
        raise ConfigError(f"{source}:{line}: not valid YAML: {exc.problem or exc.context}{context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from None
    return root, data


def _check_expansion(root: yaml.Node, source: str) -> None:
    """Refuse a node tree whose aliases expand it beyond :data:`MAX_YAML_NODES` values, or into itself.

    Each node's expanded size is computed once (aliases share node objects), so the
    check costs one walk over the text's own nodes.

    Raises:
        ConfigError: naming the line of the (innermost) node that grows too big.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            line = node.start_mark.line + 1
            raise ConfigError(f"{source}:{line}: an alias refers to a node that contains it (a recursive YAML structure)")
        total = 1
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            open_nodes.add(key)
            children = node.value if isinstance(node, yaml.SequenceNode) else [part for pair in node.value for part in pair]
            for child in children:
                total += size(child)
                if total > MAX_YAML_NODES:
                    line = node.start_mark.line + 1
                    raise ConfigError(
                        f"{source}:{line}: anchors and aliases expand the config to more than {MAX_YAML_NODES} values "
                        '(nested aliases, a "billion laughs"?); write the values out'
                    )
            open_nodes.discard(key)
        sizes[key] = total
        return total

    size(root)


def duplicate_keys(node: yaml.Node | None) -> Iterator[tuple[int, str]]:
    """(line, problem) for every key that a mapping of the tree holds twice (PyYAML keeps the last one silently)."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    yield (
                        key.start_mark.line + 1,
                        f"duplicate key {key.value!r} (first on line {seen[key.value]})",
                    )
                else:
                    seen[key.value] = key.start_mark.line + 1
            yield from duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from duplicate_keys(item)


def line_of(root: yaml.Node | None, loc: Sequence[Any]) -> int:
    """The 1-based line of the deepest YAML node along ``loc`` (a pydantic error location)."""
    if root is None:
        return 1
    node: yaml.Node = root
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    # A scalar value on the key's line reads best as the key's line.
                    line = key.start_mark.line + 1
                    node = value
                    break
            else:
                return line
            if not isinstance(node, yaml.ScalarNode):
                line = max(line, node.start_mark.line + 1) if isinstance(node, yaml.SequenceNode) else line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def dotted(loc: Sequence[Any]) -> str:
    """A field path as written in messages: ``schema.columns[2].regex``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
