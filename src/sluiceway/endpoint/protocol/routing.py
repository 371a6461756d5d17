"""REST operations found from method, path, query and headers (rest-json and rest-xml).

Each service's ``requestUri`` templates compile once into regexes (``{Label}`` matches one
path segment, a greedy ``{Key+}`` keeps its slashes). Several operations share a template
(S3's PutObject, CopyObject, UploadPart and UploadPartCopy are all ``PUT /{Bucket}/{Key+}``):
the most specific one whose literal query keys (``?uploads``, ``?list-type=2``) are present
wins, then the one whose required query and header members (``uploadId``,
``x-amz-copy-source``) are all there, then the one that needs the most of them, then one
that is not deprecated (PutBucketNotificationConfiguration over PutBucketNotification).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from botocore.model import OperationModel, ServiceModel

__all__ = ["Route", "Router", "router"]


@dataclass(frozen=True)
class Route:
    operation: OperationModel
    literal_query: tuple[tuple[str, str | None], ...]
    """``?uploads`` -> ("uploads", None); ``?list-type=2`` -> ("list-type", "2")."""
    required_query: tuple[str, ...]
    required_headers: tuple[str, ...]
    deprecated: bool

    def fits(self, query: Mapping[str, list[str]]) -> bool:
        for key, value in self.literal_query:
            found = query.get(key)
            if found is None or (value is not None and value not in found):
                return False
        return True

    def rank(self, query: Mapping[str, list[str]], headers: Mapping[str, str]) -> tuple[int, bool, int, bool]:
        present = sum(1 for key in self.required_query if key in query) + sum(1 for h in self.required_headers if h in headers)
        complete = present == len(self.required_query) + len(self.required_headers)
        return (len(self.literal_query), complete, present if complete else -present, not self.deprecated)


@dataclass(frozen=True)
class _Template:
    pattern: re.Pattern[str]
    labels: tuple[tuple[str, str], ...]
    """(regex group, input member name) per label."""
    routes: tuple[Route, ...]


class Router:
    """The REST routes of one service model."""

    def __init__(self, model: ServiceModel) -> None:
        grouped: dict[tuple[str, str], list[OperationModel]] = {}
        for name in model.operation_names:
            operation = model.operation_model(name)
            method = operation.http.get("method", "POST").upper()
            path = operation.http.get("requestUri", "/").split("?", 1)[0]
            grouped.setdefault((method, path), []).append(operation)
        self._by_method: dict[str, list[_Template]] = {}
        for (method, path), operations in grouped.items():
            pattern, labels = _compile(path, operations[0])
            routes = tuple(_route(operation) for operation in operations)
            self._by_method.setdefault(method, []).append(_Template(pattern, labels, routes))
        for templates in self._by_method.values():
            # Literal paths before labelled ones ("/2015-03-31/functions" before ".../{FunctionName}").
            templates.sort(key=lambda t: (-len(t.pattern.pattern.replace("[^/]+", "").replace(".+", "")), len(t.labels)))

    def match(
        self, method: str, path: str, query: Mapping[str, list[str]], headers: Mapping[str, str]
    ) -> tuple[OperationModel, dict[str, str]] | None:
        """The operation and its decoded URI labels (input member -> value), or None."""
        best: tuple[tuple[int, bool, int, bool], Route, _Template, re.Match[str]] | None = None
        for template in self._by_method.get(method.upper(), ()):
            found = template.pattern.match(path)
            if found is None:
                continue
            for route in template.routes:
                if not route.fits(query):
                    continue
                rank = route.rank(query, headers)
                if best is None or rank > best[0]:
                    best = (rank, route, template, found)
            if best is not None:
                break  # the first template that matches with a fitting route is the most literal
        if best is None:
            return None
        _, route, template, found = best
        labels = {member: unquote(found.group(group)) for group, member in template.labels}
        return route.operation, labels


def _compile(path: str, operation: OperationModel) -> tuple[re.Pattern[str], tuple[tuple[str, str], ...]]:
    by_wire: dict[str, str] = {}
    shape = operation.input_shape
    if shape is not None:
        for name, member in shape.members.items():
            if member.serialization.get("location") == "uri":
                by_wire[member.serialization.get("name", name)] = name
    parts: list[str] = []
    labels: list[tuple[str, str]] = []
    position = 0
    for found in re.finditer(r"\{([^}]+)\}", path):
        parts.append(re.escape(path[position : found.start()]))
        label = found.group(1)
        greedy = label.endswith("+")
        wire = label.rstrip("+")
        group = f"g{len(labels)}"
        labels.append((group, by_wire.get(wire, wire)))
        parts.append(f"(?P<{group}>.+)" if greedy else f"(?P<{group}>[^/]+)")
        position = found.end()
    parts.append(re.escape(path[position:]))
    regex = "".join(parts)
    if not path.endswith(("+}", "/")):
        regex += "/?"  # clients differ on a trailing slash after a bucket or a function name
    return re.compile(f"^{regex}$"), tuple(labels)


def _route(operation: OperationModel) -> Route:
    uri = operation.http.get("requestUri", "/")
    literal: list[tuple[str, str | None]] = []
    if "?" in uri:
        for part in uri.split("?", 1)[1].split("&"):
            if not part:
                continue
            key, sep, value = part.partition("=")
            literal.append((key, value if sep else None))
    required_query: list[str] = []
    required_headers: list[str] = []
    shape = operation.input_shape
    if shape is not None:
        for name in shape.required_members:
            member = shape.members[name]
            location = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if location == "querystring":
                required_query.append(wire)
            elif location == "header":
                required_headers.append(wire.lower())
    return Route(operation, tuple(literal), tuple(required_query), tuple(required_headers), bool(operation.deprecated))


_lock = threading.Lock()
_routers: dict[int, tuple[ServiceModel, Router]] = {}


def router(model: ServiceModel) -> Router:
    """The compiled router of ``model`` (built once)."""
    found = _routers.get(id(model))
    if found is not None and found[0] is model:
        return found[1]
    with _lock:
        found = _routers.get(id(model))
        if found is None or found[0] is not model:
            found = (model, Router(model))
            _routers[id(model)] = found
        return found[1]
