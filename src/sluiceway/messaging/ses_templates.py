"""SES's template language, the Handlebars subset its templates use: pure, no I/O.

``{{name}}`` and ``{{person.name}}`` take values from the send's TemplateData (a JSON object);
``{{#if x}}...{{else if y}}...{{else}}...{{/if}}``, ``#unless``, ``#with`` and
``{{#each items}}...{{this}}...{{/each}}`` (with ``{{@index}}``, ``{{@key}}``, ``{{@first}}``,
``{{@last}}`` and the item's members) are blocks; ``{{../title}}`` reads the enclosing context;
``{{#* inline "name"}}...{{/inline}}`` defines a partial that ``{{> name}}`` renders. As SES
does, a placeholder naming an attribute the data lacks fails the rendering
(:class:`MissingAttributeError`, "Attribute 'name' is not present in the rendering data.");
in an ``#if`` a missing attribute is simply false.

Values are inserted as they are, ``{{x}}`` as ``{{{x}}}``: SES does not HTML-escape rendered
values (its "Advanced email personalization" guide: the sender escapes what needs escaping).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["MissingAttributeError", "RenderingError", "RenderedParts", "parse_data", "render", "render_parts"]

_TOKEN: Final = re.compile(r"\{\{\{\s*(?P<raw>[^}]+?)\s*\}\}\}|\{\{\s*(?P<tag>[^}]+?)\s*\}\}")
_PARTIAL_NAME: Final = re.compile(r'^(?:"(?P<quoted>[^"]+)"|(?P<bare>[A-Za-z0-9_.-]+))$')
_MISSING: Final = object()
#: Partials may render partials; a template that recurses without end fails instead.
_MAX_PARTIAL_DEPTH: Final = 50


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
    """A template's three parts rendered with ``data``."""
    return RenderedParts(
        render(subject, data) if subject is not None else None,
        render(text, data) if text is not None else None,
        render(html_part, data) if html_part is not None else None,
    )


def render(template: str, data: Mapping[str, Any]) -> str:
    """``template`` with its placeholders and blocks filled from ``data``.

    Raises:
        MissingAttributeError: a placeholder names an attribute the data lacks.
        RenderingError: a block is not closed, or closed without being opened; a partial is unknown.
    """
    partials: dict[str, list[_Node]] = {}
    nodes, rest = _parse(template, 0, None, partials)
    if rest != len(template):
        raise RenderingError("Unexpected closing block.")
    return _Renderer(partials).emit(nodes, [_Frame(data, {"@root": data})])


# -- parsing: text, placeholders, blocks and partials -------------------------------------------

_Node = tuple[Any, ...]


def _parse(template: str, start: int, closing: str | None, partials: dict[str, list[_Node]]) -> tuple[list[_Node], int]:
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
            nodes.append(("var", found.group("raw")))
            continue
        tag = found.group("tag")
        if tag.startswith("!"):
            continue  # a comment
        if tag.startswith("/"):
            if closing is None or tag[1:].strip() != closing:
                raise RenderingError(f"Unexpected closing block {{{{{tag}}}}}.")
            return nodes, at
        if tag.startswith("#*"):
            kind, _, argument = tag[2:].strip().partition(" ")
            if kind != "inline":
                raise RenderingError(f"Unsupported decorator {kind}.")
            body, at = _parse(template, at, "inline", partials)
            partials[_partial_name(argument)] = body
            continue
        if tag.startswith("#"):
            kind, _, argument = tag[1:].partition(" ")
            if kind not in ("if", "unless", "each", "with"):
                raise RenderingError(f"Unsupported block helper {kind}.")
            body, at = _parse(template, at, kind, partials)
            then, otherwise = _split_else(body)
            nodes.append(("block", kind, argument.strip(), then, otherwise))
            continue
        if tag.startswith(">"):
            nodes.append(("partial", _partial_name(tag[1:])))
            continue
        if tag == "else" or tag.startswith("else "):
            nodes.append(("else", tag[4:].strip()))
            continue
        nodes.append(("var", tag))


def _partial_name(text: str) -> str:
    found = _PARTIAL_NAME.match(text.strip())
    if found is None:
        raise RenderingError(f"Invalid partial name {text.strip()}.")
    return found.group("quoted") or found.group("bare")


def _split_else(body: list[_Node]) -> tuple[list[_Node], list[_Node]]:
    """A block's ``then`` and ``otherwise``; ``{{else if b}}`` makes ``otherwise`` an ``#if b`` block."""
    for i, node in enumerate(body):
        if node[0] != "else":
            continue
        then, rest = body[:i], body[i + 1 :]
        if not node[1]:
            return then, rest
        helper, _, argument = node[1].partition(" ")
        if helper not in ("if", "unless") or not argument.strip():
            raise RenderingError(f"Unsupported {{{{else {node[1]}}}}}.")
        chained_then, chained_otherwise = _split_else(rest)
        return then, [("block", helper, argument.strip(), chained_then, chained_otherwise)]
    return body, []


# -- rendering ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    """One context level: its value and its ``@`` data (``@index``, ``@key``...)."""

    value: Any
    data: Mapping[str, Any]


class _Renderer:
    def __init__(self, partials: Mapping[str, list[_Node]]) -> None:
        self.partials = partials
        self.depth = 0

    def emit(self, nodes: Sequence[_Node], frames: list[_Frame]) -> str:
        out: list[str] = []
        for node in nodes:
            kind = node[0]
            if kind == "text":
                out.append(node[1])
            elif kind == "var":
                value = _lookup(node[1], frames)
                if value is _MISSING:
                    raise MissingAttributeError(node[1])
                out.append(_text(value))
            elif kind == "block":
                out.append(self._block(node, frames))
            elif kind == "partial":
                out.append(self._partial(node[1], frames))
        return "".join(out)

    def _partial(self, name: str, frames: list[_Frame]) -> str:
        body = self.partials.get(name)
        if body is None:
            raise RenderingError(f"The partial {name} could not be found.")
        if self.depth >= _MAX_PARTIAL_DEPTH:
            raise RenderingError(f"The partial {name} renders itself without end.")
        self.depth += 1
        try:
            return self.emit(body, frames)
        finally:
            self.depth -= 1

    def _block(self, node: _Node, frames: list[_Frame]) -> str:
        _, helper, argument, then, otherwise = node
        value = _lookup(argument, frames)
        truthy = value is not _MISSING and bool(value) and value != 0
        if helper == "if":
            return self.emit(then if truthy else otherwise, frames)
        if helper == "unless":
            return self.emit(otherwise if truthy else then, frames)
        if helper == "with":
            return self.emit(then, [*frames, _Frame(value, {})]) if truthy else self.emit(otherwise, frames)
        # each: over a list's items or an object's values
        if not truthy:
            return self.emit(otherwise, frames)
        pairs: list[tuple[Any, Any]]
        if isinstance(value, Mapping):
            pairs = list(value.items())
        elif isinstance(value, list):
            pairs = list(enumerate(value))
        else:
            pairs = []
        parts = []
        for index, (key, item) in enumerate(pairs):
            data = {"@index": index, "@key": key, "@first": index == 0, "@last": index == len(pairs) - 1}
            parts.append(self.emit(then, [*frames, _Frame(item, data)]))
        return "".join(parts)


def _lookup(path: str, frames: list[_Frame]) -> Any:
    up = 0
    while path.startswith("../"):
        path, up = path[3:], up + 1
    if up:
        frames = frames[: max(1, len(frames) - up)]
    if path in ("this", "."):
        return frames[-1].value
    if path.startswith("this."):
        return _walk(frames[-1].value, path[5:].split("."))
    if path.startswith("@"):
        head, _, rest = path.partition(".")
        for frame in reversed(frames):
            if head in frame.data:
                return _walk(frame.data[head], rest.split(".")) if rest else frame.data[head]
        return _MISSING
    names = path.split(".")
    # Like Handlebars.java (which SES runs), a name not in the current context is looked for
    # in the enclosing ones.
    for frame in reversed(frames):
        if isinstance(frame.value, Mapping) and names[0] in frame.value:
            return _walk(frame.value, names)
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
