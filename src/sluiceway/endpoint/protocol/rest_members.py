"""Where a REST operation's members travel (URI, query, headers, body), worked out once per operation.

A rest-json or rest-xml request spreads its input over the URI, the query string, headers
and the body, and its answer its output over the status, headers and the body; the model
says which member goes where. Reading that off the shapes for every request cost as much as
the rest of parsing; it is the same for every request of an operation, so it is kept here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from botocore.model import OperationModel, Shape

from .shapes import members

__all__ = ["InputMembers", "OutputMembers", "input_members", "output_members"]


@dataclass(frozen=True, slots=True)
class InputMembers:
    """An operation's input members by where they travel."""

    shape: Shape
    query: tuple[tuple[str, Shape, str], ...]
    """(member, shape, query parameter) of each querystring member."""
    query_map: tuple[str, Shape, frozenset[str]] | None
    """The querystring map member that takes every parameter no other claims, and the claimed ones."""
    headers: tuple[tuple[str, Shape, str], ...]
    """(member, shape, header name lower-cased) of each header member."""
    header_maps: tuple[tuple[str, str], ...]
    """(member, prefix lower-cased) of each member made of the headers with a prefix (``x-amz-meta-``)."""
    payload: str | None
    """The member that is the whole body, if the shape names one."""
    body: bool
    """Some members travel in the body (a document of them)."""


@dataclass(frozen=True, slots=True)
class OutputMembers:
    """An operation's output members by where they travel."""

    shape: Shape
    status: int
    """The status of a success (the model's ``responseCode``)."""
    located: tuple[tuple[str, Shape, str, str], ...]
    """(member, shape, location, wire name) of each member sent outside the body."""
    body: tuple[str, ...]
    """The members that travel in the body."""
    payload: str | None


def _input(operation: OperationModel) -> InputMembers | None:
    shape = operation.input_shape
    if shape is None:
        return None
    query: list[tuple[str, Shape, str]] = []
    query_map: tuple[str, Shape, frozenset[str]] | None = None
    headers: list[tuple[str, Shape, str]] = []
    header_maps: list[tuple[str, str]] = []
    payload = shape.serialization.get("payload")
    body = False
    for name, member in members(shape).items():
        location = member.serialization.get("location")
        wire = str(member.serialization.get("name", name))
        if location == "uri":
            continue
        if location == "querystring":
            if member.type_name == "map":
                claimed = {str(m.serialization.get("name", n)) for n, m in members(shape).items() if n != name}
                claimed.update(part.split("=", 1)[0] for part in operation.http.get("requestUri", "").partition("?")[2].split("&"))
                query_map = (name, member, frozenset(claimed))
            else:
                query.append((name, member, wire))
        elif location == "header":
            headers.append((name, member, wire.lower()))
        elif location == "headers":
            header_maps.append((name, str(member.serialization.get("name", "")).lower()))
        elif name != payload:
            body = True
    return InputMembers(shape, tuple(query), query_map, tuple(headers), tuple(header_maps), payload, body)


def _output(operation: OperationModel) -> OutputMembers | None:
    shape = operation.output_shape
    status = int(operation.http.get("responseCode", 200))
    if shape is None:
        return None
    located: list[tuple[str, Shape, str, str]] = []
    body: list[str] = []
    for name, member in members(shape).items():
        location = member.serialization.get("location")
        if location is None:
            body.append(name)
        else:
            located.append((name, member, str(location), str(member.serialization.get("name", "" if location == "headers" else name))))
    return OutputMembers(shape, status, tuple(located), tuple(body), shape.serialization.get("payload"))


_lock = threading.Lock()
_inputs: dict[int, tuple[OperationModel, InputMembers | None]] = {}
_outputs: dict[int, tuple[OperationModel, OutputMembers | None]] = {}


def input_members(operation: OperationModel) -> InputMembers | None:
    """Where ``operation``'s input members travel (None: it takes no input)."""
    found = _inputs.get(id(operation))
    if found is None or found[0] is not operation:
        with _lock:
            # Keyed by the object (a model's operations are built once): the entry keeps it alive.
            found = (operation, _input(operation))
            _inputs[id(operation)] = found
    return found[1]


def output_members(operation: OperationModel) -> OutputMembers | None:
    """Where ``operation``'s output members travel (None: it has no output shape)."""
    found = _outputs.get(id(operation))
    if found is None or found[0] is not operation:
        with _lock:
            found = (operation, _output(operation))
            _outputs[id(operation)] = found
    return found[1]
