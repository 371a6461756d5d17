"""Query-protocol forms (``Action=...&Tags.member.1.Key=...``) -> the input shape's params.

The inverse of botocore's ``QuerySerializer``: members by ``locationName``, ``A.member.N``
lists (``A.N`` when flattened, renamed after the list member's ``locationName``),
``A.entry.N.key``/``.value`` maps (``A.N.key`` when flattened, key and value renamed after
their ``locationName``), nested structures as ``A.B``, and ``A=`` for an empty list.
"""

from __future__ import annotations

from typing import Any

from botocore.model import Shape

from .shapes import key_value, list_member, members
from .values import ValueError_, b64decode, parse_boolean, parse_float, parse_integer, parse_timestamp

__all__ = ["Form", "read_form"]


class Form:
    """A decoded form with an index of which dotted names continue each prefix."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.values: dict[str, str] = dict(pairs)
        self.children: dict[str, set[str]] = {}
        for key in self.values:
            if "." not in key:
                continue
            parts = key.split(".")
            prefix = parts[0]
            for part in parts[1:]:
                self.children.setdefault(prefix, set()).add(part)
                prefix = f"{prefix}.{part}"

    def indices(self, prefix: str) -> list[int]:
        return sorted(int(part) for part in self.children.get(prefix, ()) if part.isdigit())


def read_form(shape: Shape, form: Form) -> dict[str, Any]:
    """The params of ``shape`` (an operation's input) that ``form`` carries."""
    out = _read_structure(shape, form, "")
    return out if out is not None else {}


class FormValueError(ValueError_):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


def _key(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _read(shape: Shape, form: Form, key: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return _read_structure(shape, form, key)
    if kind == "list":
        return _read_list(shape, form, key)
    if kind == "map":
        return _read_map(shape, form, key)
    text = form.values.get(key)
    if text is None:
        return None
    try:
        return _scalar(kind, text)
    except ValueError_ as exc:
        raise FormValueError(key, str(exc)) from None


def _scalar(kind: str, text: str) -> Any:
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
        return b64decode(text)
    return text


def _read_structure(shape: Shape, form: Form, prefix: str) -> dict[str, Any] | None:
    if prefix and prefix not in form.children:
        return None
    out: dict[str, Any] = {}
    claimed: set[str] = set()
    for name, member in members(shape).items():
        wire = member.serialization.get("name", name)
        if wire in claimed:
            # Two members with one wire name (SQS ReceiveMessage's AttributeNames and
            # MessageSystemAttributeNames): the form fills the first, as the older SDKs meant.
            continue
        claimed.add(wire)
        value = _read(member, form, _key(prefix, wire))
        if value is not None:
            out[name] = value
    return out


def _read_list(shape: Shape, form: Form, key: str) -> list[Any] | None:
    item_shape = list_member(shape)
    if shape.serialization.get("flattened"):
        item_name = item_shape.serialization.get("name")
        list_prefix = key if not item_name else ".".join([*key.split(".")[:-1], item_name])
    else:
        list_prefix = f"{key}.{item_shape.serialization.get('name', 'member')}"
    indices = form.indices(list_prefix)
    if not indices:
        # ``A=`` is how the SDKs send an empty list.
        return [] if form.values.get(key) == "" else None
    items = []
    for index in indices:
        item = _read(item_shape, form, f"{list_prefix}.{index}")
        if item is not None:
            items.append(item)
    return items


def _read_map(shape: Shape, form: Form, key: str) -> dict[str, Any] | None:
    entry_prefix = key if shape.serialization.get("flattened") else f"{key}.entry"
    indices = form.indices(entry_prefix)
    if not indices:
        return {} if form.values.get(key) == "" else None
    key_shape, value_shape = key_value(shape)
    key_name = key_shape.serialization.get("name", "key")
    value_name = value_shape.serialization.get("name", "value")
    out: dict[str, Any] = {}
    for index in indices:
        entry_key = _read(key_shape, form, f"{entry_prefix}.{index}.{key_name}")
        if entry_key is None:
            continue
        out[entry_key] = _read(value_shape, form, f"{entry_prefix}.{index}.{value_name}")
    return out
