"""SES's template language, the Handlebars subset its templates use: pure, no I/O.

``{{name}}`` and ``{{person.name}}`` take values from the send's TemplateData (a JSON object);
``{{{name}}}`` is the same without HTML escaping; ``{{#if x}}...{{else}}...{{/if}}`` and
``{{#each items}}...{{this}}...{{/each}}`` (with ``{{@index}}`` and the item's members) are
blocks. As SES does, a placeholder naming an attribute the data lacks fails the rendering
(:class:`MissingAttributeError`, "Attribute 'name' is not present in the rendering data.");
in an ``#if`` a missing attribute is simply false. Only the HTML part is escaped (Handlebars'
escaping is for HTML; a text part or a subject with ``&`` in a value keeps it as is).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["MissingAttributeError", "RenderingError", "RenderedParts", "parse_data", "render", "render_parts"]

_TOKEN: Final = re.compile(r"\{\{\{\s*(?P<raw>[^}]+?)\s*\}\}\}|\{\{\s*(?P<tag>[^}]+?)\s*\}\}")
_MISSING: Final = object()


class RenderingError(ValueError):
    """The template cannot be rendered with this data (SES's rendering failure)."""


class MissingAttributeError(RenderingError):
    def __init__(self, name: str) -> None:
        super().__init__(f"Attribute '{name}' is not present in the rendering data.")
        self.name = name


@dataclass(frozen=True)
class RenderedParts:
    subject: str | None
    text: str | None
    html: str | None


def parse_data(text: str) -> dict[str, Any]:
    """A send's TemplateData: a JSON object. Raises RenderingError for anything else."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RenderingError(f"Template data is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RenderingError("Template data must be a JSON object.")
    return data


def render_parts(subject: str | None, text: str | None, html_part: str | None, data: Mapping[str, Any]) -> RenderedParts:
    """A template's three parts rendered with ``data`` (the HTML part escaped)."""
    return RenderedParts(
        render(subject, data) if subject is not None else None,
        render(text, data) if text is not None else None,
        render(html_part, data, escape=True) if html_part is not None else None,
    )


def render(template: str, data: Mapping[str, Any], *, escape: bool = False) -> str:
    """``template`` with its placeholders and blocks filled from ``data``.

    Raises:
        MissingAttributeError: a placeholder names an attribute the data lacks.
        RenderingError: a block is not closed, or closed without being opened.
    """
    nodes, rest = _parse(template, 0, None)
    if rest != len(template):
        raise RenderingError("Unexpected closing block.")
    return _emit(nodes, [data], escape)


# -- parsing: text, placeholders and blocks ----------------------------------------------------

_Node = tuple[Any, ...]


def _parse(template: str, start: int, closing: str | None) -> tuple[list[_Node], int]:
    """Nodes from ``start`` up to the ``{{/closing}}`` tag (its end is returned) or the end of the text."""
    nodes: list[_Node] = []
    at = start
    while True:
        found = _TOKEN.search(template, at)
        if found is None:
            if closing is not None:
                raise RenderingError(f"The block {{{{#{closing}}}}} is not closed.")
            nodes.append(("text", template[at:]))
            return nodes, len(template)
        nodes.append(("text", template[at : found.start()]))
        at = found.end()
        if found.group("raw") is not None:
            nodes.append(("var", found.group("raw"), False))
            continue
        tag = found.group("tag")
        if tag.startswith("!"):
            continue  # a comment
        if tag.startswith("/"):
            if closing is None or tag[1:].strip() != closing:
                raise RenderingError(f"Unexpected closing block {{{{{tag}}}}}.")
            return nodes, at
        if tag.startswith("#"):
            kind, _, argument = tag[1:].partition(" ")
            if kind not in ("if", "unless", "each", "with"):
                raise RenderingError(f"Unsupported block helper {kind}.")
            body, at = _parse(template, at, kind)
            then, otherwise = _split_else(body)
            nodes.append(("block", kind, argument.strip(), then, otherwise))
            continue
        if tag == "else":
            nodes.append(("else",))
            continue
        nodes.append(("var", tag, True))


def _split_else(body: list[_Node]) -> tuple[list[_Node], list[_Node]]:
    for i, node in enumerate(body):
        if node[0] == "else":
            return body[:i], body[i + 1 :]
    return body, []


# -- rendering ---------------------------------------------------------------------------------


def _emit(nodes: Sequence[_Node], scopes: list[Any], escape: bool) -> str:
    out: list[str] = []
    for node in nodes:
        kind = node[0]
        if kind == "text":
            out.append(node[1])
        elif kind == "var":
            value = _lookup(node[1], scopes)
            if value is _MISSING:
                raise MissingAttributeError(node[1])
            shown = _text(value)
            out.append(html.escape(shown) if escape and node[2] else shown)
        elif kind == "block":
            out.append(_block(node, scopes, escape))
    return "".join(out)


def _block(node: _Node, scopes: list[Any], escape: bool) -> str:
    _, helper, argument, then, otherwise = node
    value = _lookup(argument, scopes)
    truthy = value is not _MISSING and bool(value) and value != 0
    if helper == "if":
        return _emit(then if truthy else otherwise, scopes, escape)
    if helper == "unless":
        return _emit(otherwise if truthy else then, scopes, escape)
    if helper == "with":
        return _emit(then, [*scopes, value], escape) if truthy else _emit(otherwise, scopes, escape)
    # each: over a list's items or an object's values
    if not truthy:
        return _emit(otherwise, scopes, escape)
    items = list(value.values()) if isinstance(value, Mapping) else list(value) if isinstance(value, list) else []
    parts = []
    for index, item in enumerate(items):
        parts.append(_emit(then, [*scopes, {"@index": index, "@first": index == 0, "@last": index == len(items) - 1}, item], escape))
    return "".join(parts)


def _lookup(path: str, scopes: list[Any]) -> Any:
    if path in ("this", "."):
        return scopes[-1]
    if path.startswith("this."):
        return _walk(scopes[-1], path[5:].split("."))
    if path.startswith("@"):
        for scope in reversed(scopes):
            if isinstance(scope, Mapping) and path in scope:
                return scope[path]
        return _MISSING
    names = path.split(".")
    for scope in reversed(scopes):
        if isinstance(scope, Mapping) and names[0] in scope:
            return _walk(scope, names)
    return _MISSING


def _walk(value: Any, names: Sequence[str]) -> Any:
    for name in names:
        if not isinstance(value, Mapping) or name not in value:
            return _MISSING
        value = value[name]
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
