"""XML <-> Python values, directed by a shape (rest-xml bodies and query-protocol answers).

Names follow the model as botocore reads and writes them: a member's ``locationName``,
``flattened`` lists and maps (repeated elements, no wrapper), ``member``/``entry``/``key``/
``value`` defaults, ``xmlAttribute`` members and ``xmlNamespace``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.etree.ElementTree import Element

from botocore.model import Shape

from .shapes import key_value, list_member, members
from .values import (
    ISO8601,
    ValueError_,
    b64decode,
    b64encode,
    format_float,
    format_timestamp,
    parse_boolean,
    parse_float,
    parse_integer,
    parse_timestamp,
)

__all__ = ["escape", "read", "write"]

#: Body members only: members bound elsewhere are the caller's (headers, status code, URI).
_LOCATED = frozenset({"header", "headers", "statusCode", "uri", "querystring"})

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;"})


def escape(text: str) -> str:
    """Text for an element or attribute; ``\\r`` is escaped so that a parser keeps it (SQS bodies)."""
    return text.translate(_ESCAPES)


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if tag.startswith("{") else tag


# -- writing ------------------------------------------------------------------------------------


def write(shape: Shape, value: Any, name: str, out: list[str], *, namespace: str | None = None) -> None:
    """Append ``value`` as the element ``name`` of ``shape`` to ``out``."""
    kind = shape.type_name
    if kind == "structure":
        _write_structure(shape, value, name, out, namespace)
    elif kind == "list":
        _write_list(shape, value, name, out)
    elif kind == "map":
        _write_map(shape, value, name, out)
    else:
        out.append(f"<{name}>{escape(scalar_text(shape, value))}</{name}>")


def scalar_text(shape: Shape, value: Any) -> str:
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        if isinstance(value, datetime | int | float):
            return str(format_timestamp(value, shape.serialization.get("timestampFormat", ISO8601)))
        return str(value)
    if kind == "blob":
        return b64encode(value if isinstance(value, bytes | str) else bytes(value))
    if kind in ("float", "double"):
        return str(format_float(float(value)))
    return str(value)


def _namespace_attribute(shape: Shape, namespace: str | None) -> str:
    declared = shape.serialization.get("xmlNamespace")
    if isinstance(declared, dict):
        prefix = declared.get("prefix")
        uri = declared.get("uri", "")
        return f' xmlns:{prefix}="{escape(uri)}"' if prefix else f' xmlns="{escape(uri)}"'
    if isinstance(declared, str):
        return f' xmlns="{escape(declared)}"'
    return f' xmlns="{escape(namespace)}"' if namespace else ""


def _write_structure(shape: Shape, value: Any, name: str, out: list[str], namespace: str | None) -> None:
    attributes = _namespace_attribute(shape, namespace)
    children: list[str] = []
    table = members(shape)
    for member_name, item in value.items():
        member = table.get(member_name)
        if member is None or item is None:
            continue
        serialization = member.serialization
        if serialization.get("location") in _LOCATED:
            continue
        if serialization.get("xmlAttribute"):
            attr = serialization.get("name", member_name)
            if attr.startswith("xsi:") and "xmlns:xsi=" not in attributes:
                attributes += ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
            attributes += f' {attr}="{escape(scalar_text(member, item))}"'
            continue
        write(member, item, member_xml_name(member, member_name), children)
    out.append(f"<{name}{attributes}>")
    out.extend(children)
    out.append(f"</{name}>")


def member_xml_name(member: Shape, member_name: str) -> str:
    """The element name of a structure member (botocore's ``_member_key_name``)."""
    if member.type_name == "list" and member.serialization.get("flattened"):
        inner = list_member(member).serialization.get("name")
        if inner:
            return str(inner)
    return str(member.serialization.get("name", member_name))


def _write_list(shape: Shape, value: Any, name: str, out: list[str]) -> None:
    item_shape = list_member(shape)
    if shape.serialization.get("flattened"):
        for item in value:
            write(item_shape, item, name, out)
        return
    item_name = item_shape.serialization.get("name", "member")
    out.append(f"<{name}>")
    for item in value:
        write(item_shape, item, item_name, out)
    out.append(f"</{name}>")


def _write_map(shape: Shape, value: Any, name: str, out: list[str]) -> None:
    key_shape, value_shape = key_value(shape)
    key_name = key_shape.serialization.get("name") or "key"
    value_name = value_shape.serialization.get("name") or "value"
    flattened = shape.serialization.get("flattened")
    if not flattened:
        out.append(f"<{name}>")
    for key, item in value.items():
        if item is None:
            continue
        out.append(f"<{name}>" if flattened else "<entry>")
        write(key_shape, key, key_name, out)
        write(value_shape, item, value_name, out)
        out.append(f"</{name}>" if flattened else "</entry>")
    if not flattened:
        out.append(f"</{name}>")


# -- reading ------------------------------------------------------------------------------------


def read(shape: Shape, element: Element) -> Any:
    """The value of ``element`` as ``shape``; ValueError_ when its text does not fit."""
    kind = shape.type_name
    if kind == "structure":
        return _read_structure(shape, element)
    if kind == "list":
        return [read(list_member(shape), child) for child in element]
    if kind == "map":
        return _read_map(shape, [element])
    return read_scalar(shape, element.text or "")


def read_scalar(shape: Shape, text: str) -> Any:
    kind = shape.type_name
    if kind in ("string", "character"):
        return text
    if kind == "boolean":
        return parse_boolean(text)
    if kind in ("integer", "long", "short", "byte", "biginteger"):
        return parse_integer(text)
    if kind in ("float", "double", "bigdecimal"):
        return parse_float(text)
    if kind == "timestamp":
        return parse_timestamp(text)
    if kind == "blob":
        return b64decode(text.strip())
    raise ValueError_(f"cannot read a {kind} from XML")


def _read_structure(shape: Shape, element: Element) -> dict[str, Any]:
    children: dict[str, list[Element]] = {}
    for child in element:
        children.setdefault(local_name(child.tag), []).append(child)
    attributes = {local_name(key): value for key, value in element.attrib.items()}
    out: dict[str, Any] = {}
    for member_name, member in members(shape).items():
        serialization = member.serialization
        if serialization.get("location") in _LOCATED:
            continue
        if serialization.get("xmlAttribute"):
            attr = local_name(str(serialization.get("name", member_name)).rsplit(":", 1)[-1])
            if attr in attributes:
                out[member_name] = read_scalar(member, attributes[attr])
            continue
        nodes = children.get(member_xml_name(member, member_name))
        if nodes is None:
            nodes = children.get(str(serialization.get("name", member_name)))
        if nodes is None:
            continue
        if member.type_name == "list" and member.serialization.get("flattened"):
            out[member_name] = [read(list_member(member), node) for node in nodes]
        elif member.type_name == "map" and member.serialization.get("flattened"):
            out[member_name] = _read_map(member, nodes)
        else:
            out[member_name] = read(member, nodes[-1])
    return out


def _read_map(shape: Shape, nodes: list[Element]) -> dict[str, Any]:
    key_shape, value_shape = key_value(shape)
    key_name = key_shape.serialization.get("name") or "key"
    value_name = value_shape.serialization.get("name") or "value"
    entries = nodes if shape.serialization.get("flattened") else [entry for node in nodes for entry in node]
    out: dict[str, Any] = {}
    for entry in entries:
        key: Any = None
        item: Any = None
        for part in entry:
            tag = local_name(part.tag)
            if tag == key_name:
                key = read(key_shape, part)
            elif tag == value_name:
                item = read(value_shape, part)
        if key is not None:
            out[key] = item
    return out
