"""An HTTP API's parameter mapping: the values of an AWS service integration's ``requestParameters``.

A value is static text with any number of selection expressions inside (``$request.body``,
``$request.body.name``, ``$request.header.X``, ``$request.querystring.x``, ``$request.path``,
``$request.path.x``, ``$context.requestId``, ``$stageVariables.x``), each written bare or in braces
(``${request.path.x}``). API Gateway substitutes every expression in place:
``com.mycompany.$request.path.source`` sends ``com.mycompany.orders``. A bare expression runs to the
next whitespace or ``$``; braces bound it explicitly (``${request.body.version}-beta``), as API
Gateway's selection-expression rules say. A ``$`` that starts no expression (``$1``) is text.

When an expression names what the request lacks, the parameter is left out, whatever text surrounds
the expression.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

__all__ = ["MappingError", "MappingSource", "evaluate"]

#: ``${...}`` up to its first closing brace, or a bare ``$request.``/``$context.``/``$stageVariables.``
#: expression up to whitespace or the next ``$``.
_EXPRESSION = re.compile(r"\$\{(?P<braced>[^}]*)\}|\$(?P<bare>(?:request|context|stageVariables)\.[^\s$]+)")
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
    path: str = ""
    """The request path without the stage (``$request.path``): ``/orders/1``."""


def evaluate(value: str, source: MappingSource) -> str | None:
    """``value`` with each expression in it replaced; None when an expression finds nothing.

    Raises:
        MappingError: an expression names no request part, or reads into a body that is not JSON.
    """
    parts: list[str] = []
    end = 0
    for match in _EXPRESSION.finditer(value):
        found = _lookup(match["braced"] if match["braced"] is not None else match["bare"], source)
        if found is None:
            # Not confirmed against AWS here: LocalStack's parameter-mapping tests expect a value mixing
            # text and a missing expression to drop the parameter, as a whole-value expression does,
            # rather than send the text around an empty string.
            return None
        parts += [value[end : match.start()], found]
        end = match.end()
    return "".join(parts) + value[end:]


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
            if not name:
                return source.path
            found = source.path_parameters.get(name)
            return unquote(found) if found is not None else None
        raise MappingError(f"$request.{where} is not a request part (body, header, querystring, path)")
    if head == "context":
        node: Any = source.context
        for part in rest.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        # A variable holding a map ($context.authorizer) is no value to send.
        return None if node is None or isinstance(node, (Mapping, list)) else str(node)
    if head == "stageVariables":
        return source.stage_variables.get(rest)
    raise MappingError(f"${{{expression}}} is not a selection expression")


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
