"""An HTTP API's parameter mapping: the values of an AWS service integration's ``requestParameters``.

A value is a static string, one selection expression (``$request.body``, ``$request.body.name``,
``$request.header.X``, ``$request.querystring.x``, ``$request.path.x``, ``$context.requestId``,
``$stageVariables.x``), or text with ``${...}`` expressions inside. An expression naming what the
request lacks gives ``None`` when it is the whole value (the parameter is left out), and the empty
string inside text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

__all__ = ["MappingError", "MappingSource", "evaluate"]

_WHOLE = re.compile(r"^\$(?P<expr>(request|context|stageVariables)\.[^\s$]*)$")
_EMBEDDED = re.compile(r"\$\{(?P<expr>[^}]+)\}")
_JSON_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class MappingError(ValueError):
    """A mapping that cannot be evaluated (the body is not JSON for ``$request.body.x``): 400 Bad Request."""


@dataclass(frozen=True)
class MappingSource:
    """What expressions read."""

    headers: Mapping[str, str]
    query: str
    path_parameters: Mapping[str, str]
    body: bytes
    context: Mapping[str, Any]
    stage_variables: Mapping[str, str]


def evaluate(value: str, source: MappingSource) -> str | None:
    """``value`` with its expressions evaluated; None when a whole-value expression finds nothing."""
    whole = _WHOLE.match(value)
    if whole:
        return _lookup(whole["expr"], source)
    if "${" not in value:
        return value
    return _EMBEDDED.sub(lambda m: _lookup(m["expr"].removeprefix("$"), source) or "", value)


def _lookup(expression: str, source: MappingSource) -> str | None:
    head, _, rest = expression.partition(".")
    if head == "request":
        where, _, name = rest.partition(".")
        if where == "body":
            return _body(name, source.body)
        if where == "header":
            return source.headers.get(name.lower())
        if where == "querystring":
            values = [v for k, v in parse_qsl(source.query, keep_blank_values=True) if k == name]
            return ",".join(values) if values else None
        if where == "path":
            found = source.path_parameters.get(name)
            return unquote(found) if found is not None else None
        raise MappingError(f"$request.{where} is not a request part (body, header, querystring, path)")
    if head == "context":
        node: Any = source.context
        for part in rest.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        return None if node is None else str(node)
    if head == "stageVariables":
        return source.stage_variables.get(rest)
    raise MappingError(f"${expression} is not a selection expression")


def _body(path: str, body: bytes) -> str | None:
    text = body.decode("utf-8", errors="replace")
    if not path:
        return text
    try:
        node: Any = json.loads(text)
    except ValueError as exc:
        raise MappingError("the request body is not JSON") from exc
    for name, index in _JSON_PATH_PART.findall(path):
        if index:
            node = node[int(index)] if isinstance(node, list) and int(index) < len(node) else None
        else:
            node = node.get(name) if isinstance(node, dict) else None
        if node is None:
            return None
    return node if isinstance(node, str) else json.dumps(node)
