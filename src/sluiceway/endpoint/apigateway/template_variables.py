"""The variables of a REST API's mapping templates: ``$input``, ``$util``, ``$context``, ``$stageVariables``.

``$input`` reads a payload (the method request's body in a request template, the integration's
answer in a response template) with ``body``, ``json(path)``, ``path(path)`` and ``params()``;
``$util`` has ``escapeJavaScript``, ``parseJson``, ``urlEncode``/``urlDecode`` and
``base64Encode``/``base64Decode``, with Java's behaviour where it differs from Python's
(commons-lang's JavaScript escaping, ``URLEncoder``'s form encoding).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote_plus, unquote, unquote_plus

from ..json_nesting import MAX_JSON_NESTING, nesting
from .events import canonical_header_name
from .vtl import Namespace, TemplateError
from .vtl_text import to_json, to_text

__all__ = ["MAX_JSON_NESTING", "Headers", "Input", "Util", "json_path", "parse_json", "request_params", "variables"]

_PATH_PART = re.compile(r"\.(?P<name>[^.\[\]]+)|\[(?P<index>-?\d+|\*)\]|\[(?P<quote>['\"])(?P<key>.*?)(?P=quote)\]|\.\*")


def json_path(document: Any, path: str) -> Any:
    """What API Gateway's JSONPath (``$``, ``$.a.b``, ``$.a[0]``, ``$['a b']``, ``[*]``) selects; None when nothing.

    Raises:
        TemplateError: an expression that is not a JSONPath.
    """
    path = path.strip()
    if not path.startswith("$"):
        raise TemplateError(f"{path!r} is not a JSONPath expression")
    nodes: list[Any] = [document]
    spread = False
    pos = 1
    while pos < len(path):
        found = _PATH_PART.match(path, pos)
        if not found:
            raise TemplateError(f"{path!r} is not a JSONPath expression")
        pos = found.end()
        step: list[Any] = []
        for node in nodes:
            if found.group(0) in (".*", "[*]"):
                spread = True
                step.extend(node.values() if isinstance(node, dict) else node if isinstance(node, list) else [])
            elif found.group("index") is not None:
                index = int(found.group("index"))
                if isinstance(node, list) and -len(node) <= index < len(node):
                    step.append(node[index])
            else:
                key = found.group("name") if found.group("name") is not None else found.group("key")
                if isinstance(node, dict) and key in node:
                    step.append(node[key])
        nodes = step
    if spread:
        return nodes
    return nodes[0] if nodes else None


def parse_json(text: str, what: str) -> Any:
    """``text`` parsed as JSON.

    Raises:
        TemplateError: ``text`` is not JSON, or nests deeper than :data:`MAX_JSON_NESTING`.
    """
    if nesting(text) > MAX_JSON_NESTING:
        raise TemplateError(f"{what} nests deeper than {MAX_JSON_NESTING} levels")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: deeper than this process's stack allows
        raise TemplateError(f"{what} is not JSON") from None


class Headers(dict[str, str]):
    """``$input.params().header``: names in the client's spelling, looked up whatever their case (as HTTP means)."""

    def get(self, key: Any, default: Any = None) -> Any:
        if isinstance(key, str):
            for name, value in self.items():
                if name.lower() == key.lower():
                    return value
        return default

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and any(name.lower() == key.lower() for name in self)


class Input(Namespace):
    """``$input``: one payload and the method request's parameters."""

    def __init__(self, body: str, params: Mapping[str, Mapping[str, str]]) -> None:
        self._body = body
        self._params = params
        self._parsed: list[Any] = []

    def property(self, name: str) -> Any:
        return self._body if name == "body" else None

    def _document(self) -> Any:
        # Parsed once and shared: on API Gateway, what #set changes in an object read with
        # $input.path shows in a later $input.json.
        if not self._parsed:
            if not self._body.strip():
                self._parsed.append({})  # an empty payload reads as an empty object
            else:
                self._parsed.append(parse_json(self._body, "the payload"))
        return self._parsed[0]

    def path(self, expression: str) -> Any:
        """The value at ``expression``: an object, list, string, number, or None."""
        return json_path(self._document(), str(expression))

    def json(self, expression: str) -> str:
        """The value at ``expression`` as JSON text."""
        found = self.path(expression)
        return "" if found is None else to_json(found)

    def params(self, name: Any = None) -> Any:
        """Every parameter (``{path, querystring, header}``), or the one named: path, then query string, then header."""
        if name is None:
            return {where: Headers(values) if where == "header" else dict(values) for where, values in self._params.items()}
        key = str(name)
        for where in ("path", "querystring"):
            if key in self._params.get(where, {}):
                return self._params[where][key]
        for header, value in self._params.get("header", {}).items():
            if header.lower() == key.lower():
                return value
        return ""


class Util(Namespace):
    """``$util``."""

    def escapeJavaScript(self, value: Any) -> str:  # noqa: N802 - VTL's name
        """commons-lang 2's ``StringEscapeUtils.escapeJavaScript``: quotes, ``\\``, ``/`` and controls escaped."""
        out: list[str] = []
        for ch in "" if value is None else to_text(value):
            code = ord(ch)
            if ch in "\"'\\/":
                out.append("\\" + ch)
            elif ch in "\b\n\t\f\r":
                out.append({"\b": "\\b", "\n": "\\n", "\t": "\\t", "\f": "\\f", "\r": "\\r"}[ch])
            elif code < 0x20 or code > 0x7F:  # DEL (0x7F) is written as it is
                out.extend(f"\\u{unit:04X}" for unit in _utf16(ch))
            else:
                out.append(ch)
        return "".join(out)

    def parseJson(self, value: Any) -> Any:  # noqa: N802 - VTL's name
        """The JSON text ``value`` as an object."""
        return parse_json(to_text(value), "parseJson's argument")

    def urlEncode(self, value: Any) -> str:  # noqa: N802 - VTL's name
        """Java's ``URLEncoder.encode(value, "UTF-8")``: spaces as ``+``, only ``*-._`` left as they are."""
        return quote_plus(to_text(value), safe="*").replace("~", "%7E")

    def urlDecode(self, value: Any) -> str:  # noqa: N802 - VTL's name
        """Java's ``URLDecoder.decode(value, "UTF-8")``, which throws on a ``%`` not followed by two hex digits."""
        text = to_text(value)
        if _BAD_ESCAPE.search(text):
            raise TemplateError("urlDecode: Illegal hex characters in escape (%) pattern")
        return unquote_plus(text)

    def base64Encode(self, value: Any) -> str:  # noqa: N802 - VTL's name
        return base64.b64encode(to_text(value).encode()).decode("ascii")

    def base64Decode(self, value: Any) -> str:  # noqa: N802 - VTL's name
        try:
            return base64.b64decode(to_text(value)).decode("utf-8", errors="replace")
        except (binascii.Error, ValueError):
            raise TemplateError("base64Decode: not base64") from None


_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _utf16(ch: str) -> list[int]:
    data = ch.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def request_params(headers: Mapping[str, str], query: str, path_parameters: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """``$input.params()``: a query string's repeated key gives its last value, as in API Gateway.

    API Gateway keeps header names as the client spelled them; the endpoint's server reads them
    lower-cased, so they are given the canonical spelling (``X-Api-Key``), as REST proxy events are.
    """
    return {
        "path": {k: unquote(v) for k, v in path_parameters.items()},
        "querystring": dict(parse_qsl(query, keep_blank_values=True)),
        "header": Headers({canonical_header_name(k): v for k, v in headers.items()}),
    }


def variables(
    body: str, params: Mapping[str, Mapping[str, str]], context: Mapping[str, Any], stage_variables: Mapping[str, str]
) -> dict[str, Any]:
    """The variables a template renders with (the context copied: ``#set`` may write into it)."""
    return {
        "input": Input(body, params),
        "util": Util(),
        "context": json.loads(json.dumps(context)),
        "stageVariables": dict(stage_variables),
    }
