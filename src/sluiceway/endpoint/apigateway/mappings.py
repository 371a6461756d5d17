"""An HTTP API's parameter mapping: the values of an AWS service integration's ``requestParameters``.

A value is static text with any number of selection expressions inside (``$request.body``,
``$request.body.name``, ``$request.header.X``, ``$request.querystring.x``, ``$request.path``,
``$request.path.x``, ``$context.requestId``, ``$stageVariables.x``), each written bare or in braces
(``${request.path.x}``). API Gateway substitutes every expression in place:
``com.mycompany.$request.path.source`` sends ``com.mycompany.orders``, and the template
``{"orderId": "$request.path.id"}`` sends ``{"orderId": "42"}``.

Braces bound an expression explicitly (``${request.body.version}-beta``). A bare one ends at the first
character its source does not allow in a name, so punctuation after it is text: ``$request.path.id/items``,
``$context.requestId,$request.path.id``, ``($request.path.id)``. A name never ends in ``.``: a dot after
an expression ends a sentence rather than starting a longer name. ``\\$`` is a literal ``$``, as API
Gateway's selection-expression rules say, and a ``$`` that starts no expression (``$1``) is text.

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

# What a bare name may contain, source by source. AWS documents context variable names as allowing
# only "." and "_" besides letters and digits, and stage variable names as letters, digits and "_".
# For header, query string and path parameter names (headers such as x-api-key need "-") and JSONPath
# member names we follow the pattern API Gateway's REST APIs require of a whole mapping expression,
# [a-zA-Z0-9._$-]; HTTP APIs document no pattern of their own, so this is not confirmed against AWS.
_PARAMETER = r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*"
_CONTEXT = r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*"
_STAGE_VARIABLE = r"[A-Za-z0-9_]+"
#: JSONPath steps a bare ``$request.body`` takes: ``.name``, ``.*``, ``[0]``, ``[-1]``, ``[*]``,
#: ``['name']``. Recursive descent and filters are not supported by API Gateway.
_BARE_JSON_PATH = r"(?:\.(?:[A-Za-z0-9_-]+|\*)|\[(?:-?\d+|\*|'[^'\s$\]]*'|\"[^\"\s$\]]*\")\])*"
_NOT_A_NAME = r"(?![A-Za-z0-9_])"

#: ``\$`` (a literal ``$``), ``${...}`` up to its first closing brace, or a bare expression.
_EXPRESSION = re.compile(
    r"(?P<escaped>\\\$)"
    r"|\$\{(?P<braced>[^}]*)\}"
    r"|\$(?P<bare>"
    rf"request\.(?:header|querystring)\.{_PARAMETER}"
    rf"|request\.path(?:\.{_PARAMETER})?{_NOT_A_NAME}"
    rf"|request\.body{_NOT_A_NAME}{_BARE_JSON_PATH}"
    # Any other $request.<word> names no request part: _lookup rejects it rather than sending it as text.
    r"|request\.[A-Za-z0-9_]*"
    rf"|context\.{_CONTEXT}"
    rf"|stageVariables\.{_STAGE_VARIABLE}"
    r")"
)
_REQUEST = re.compile(r"(?P<where>[A-Za-z0-9_]*)(?:\.(?P<name>.*))?", re.DOTALL)
_JSON_PATH_STEP = re.compile(r"\.(?P<member>[^.\[\]]+)|\[(?:(?P<index>-?\d+)|(?P<all>\*)|'(?P<q1>[^']*)'|\"(?P<q2>[^\"]*)\")\]")


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
        if match["escaped"] is not None:
            found: str | None = "$"
        else:
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
        return _request(rest, source)
    if head == "context":
        node: Any = source.context
        for part in rest.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        # A variable holding a map ($context.authorizer) is no value to send.
        return None if node is None or isinstance(node, (Mapping, list)) else str(node)
    if head == "stageVariables":
        return source.stage_variables.get(rest)
    raise MappingError(f"${{{expression}}} is not a selection expression")


def _request(rest: str, source: MappingSource) -> str | None:
    if rest.startswith("body") and (len(rest) == 4 or rest[4] in ".["):
        return _body(rest[4:], source.body)
    parsed = _REQUEST.fullmatch(rest)
    where, name = (parsed["where"], parsed["name"]) if parsed else (rest, None)
    if where == "path":
        if name is None:
            return source.path
        found = source.path_parameters.get(name)
        return unquote(found) if found is not None else None
    if where in ("header", "querystring"):
        if not name:
            raise MappingError(f"$request.{where} needs a name: $request.{where}.name")
        if where == "header":
            return source.headers.get(name.lower())
        values = [v for k, v in parse_qsl(source.query, keep_blank_values=True) if k == name]
        return ",".join(values) if values else None
    raise MappingError(f"$request.{where} is not a request part (body, header, querystring, path)")


def _body(path: str, body: bytes) -> str | None:
    """The JSON at ``path`` (``.a[0].b``, empty for the whole body) in ``body``."""
    text = body.decode("utf-8", errors="replace")
    if not path:
        return text
    steps = list(_JSON_PATH_STEP.finditer(path))
    if "".join(step[0] for step in steps) != path:
        raise MappingError(f"$request.body{path} is not a supported JSONPath")
    try:
        document: Any = json.loads(text)
    except ValueError as exc:
        raise MappingError("the request body is not JSON") from exc
    nodes = [document]
    wildcard = False
    for step in steps:
        if step["all"] is not None or step["member"] == "*":
            wildcard = True
            nodes = [child for node in nodes for child in _children(node)]
        elif step["index"] is not None:
            index = int(step["index"])
            nodes = [node[index] for node in nodes if isinstance(node, list) and -len(node) <= index < len(node)]
        else:
            key = next(k for k in (step["member"], step["q1"], step["q2"]) if k is not None)
            nodes = [node[key] for node in nodes if isinstance(node, dict) and key in node]
    if wildcard:
        # A path with a wildcard selects a list of what it finds, as JSONPath (Jayway) does; what API
        # Gateway sends when it finds nothing is not confirmed against AWS.
        return json.dumps(nodes)
    # A JSON null is no value to send, like a missing member.
    if not nodes or nodes[0] is None:
        return None
    node = nodes[0]
    return node if isinstance(node, str) else json.dumps(node)


def _children(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return list(node.values())
    return list(node) if isinstance(node, list) else []
