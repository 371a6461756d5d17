"""JSON documents <-> Python values, directed by a shape (json and rest-json bodies).

Each shape compiles once into a reader (wire JSON -> params: base64 blobs to bytes, epoch
timestamps to datetimes, types checked) and a writer (output values -> JSON-ready values).
Recursive shapes (DynamoDB's ``AttributeValue``) compile lazily, on first use of a member.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.model import Shape

from .shape_cache import ShapeCache
from .shapes import key_value, list_member, members
from .values import EPOCH, ValueError_, b64decode, b64encode, format_float, format_timestamp, parse_float, parse_timestamp

__all__ = ["Path", "reader", "writer"]

Reader = Callable[[Any], Any]
Writer = Callable[[Any], Any]


class Path(ValueError_):
    """A value that does not fit its shape, and where it is (``Item.age.N``)."""

    def __init__(self, message: str, path: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def at(self, name: str) -> Path:
        return Path(self.message, (name, *self.path))


_readers: ShapeCache[Reader] = ShapeCache()
_writers: ShapeCache[Writer] = ShapeCache()


def reader(shape: Shape) -> Reader:
    """The compiled reader of ``shape`` (built once per shape definition)."""
    return _readers.get(shape, _build_reader)


def writer(shape: Shape) -> Writer:
    """The compiled writer of ``shape`` (built once per shape definition)."""
    return _writers.get(shape, _build_writer)


# -- readers ------------------------------------------------------------------------------------


def _expect(kind: str, value: Any) -> Path:
    return Path(f"expected {kind}, got {type(value).__name__}")


def _read_string(value: Any) -> Any:
    if isinstance(value, str):
        return value
    raise _expect("a string", value)


def _read_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    raise _expect("a boolean", value)


def _read_integer(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _expect("an integer", value)


def _read_float(value: Any) -> Any:
    if isinstance(value, float):
        return value
    if isinstance(value, bool):
        raise _expect("a number", value)
    if isinstance(value, int | str):
        try:
            return parse_float(value)
        except ValueError_ as exc:
            raise Path(str(exc)) from None
    raise _expect("a number", value)


def _read_blob(value: Any) -> Any:
    try:
        return b64decode(value)
    except ValueError_ as exc:
        raise Path(str(exc)) from None


def _read_timestamp(value: Any) -> Any:
    try:
        return parse_timestamp(value)
    except ValueError_ as exc:
        raise Path(str(exc)) from None


def _identity(value: Any) -> Any:
    return value


_SCALAR_READERS: dict[str, Reader] = {
    "string": _read_string,
    "character": _read_string,
    "boolean": _read_boolean,
    "integer": _read_integer,
    "long": _read_integer,
    "byte": _read_integer,
    "short": _read_integer,
    "float": _read_float,
    "double": _read_float,
    "bigdecimal": _read_float,
    "biginteger": _read_integer,
    "blob": _read_blob,
    "timestamp": _read_timestamp,
}


def _build_reader(shape: Shape) -> Reader:
    kind = shape.type_name
    if kind == "structure":
        if getattr(shape, "is_document_type", False):
            return _identity
        return _structure_reader(shape)
    if kind == "list":
        return _list_reader(shape)
    if kind == "map":
        return _map_reader(shape)
    return _SCALAR_READERS.get(kind, _identity)


def _structure_reader(shape: Shape) -> Reader:
    # Filled on first use (members may be the shape itself, recursively), then only read:
    # a thread never sees a half-built table.
    built: dict[str, tuple[str, Reader]] | None = None

    def read(value: Any) -> Any:
        nonlocal built
        if not isinstance(value, dict):
            raise _expect("an object", value)
        table = built
        if table is None:
            table = {member.serialization.get("name", name): (name, reader(member)) for name, member in members(shape).items()}
            built = table
        out: dict[str, Any] = {}
        for key, item in value.items():
            entry = table.get(key)
            if entry is None or item is None:
                continue  # AWS ignores members it does not model, and null is absent
            name, read_member = entry
            try:
                out[name] = read_member(item)
            except Path as exc:
                raise exc.at(name) from None
        return out

    return read


def _list_reader(shape: Shape) -> Reader:
    cell: list[Reader] = []

    def read(value: Any) -> Any:
        if not isinstance(value, list):
            raise _expect("a list", value)
        if not cell:
            cell.append(reader(list_member(shape)))
        read_member = cell[0]
        if read_member is _read_string and all(isinstance(item, str) for item in value):
            return value  # the common list of names needs no copy
        out = []
        for index, item in enumerate(value, 1):
            try:
                out.append(read_member(item))
            except Path as exc:
                raise exc.at(f"member.{index}") from None
        return out

    return read


def _map_reader(shape: Shape) -> Reader:
    cell: list[Reader] = []

    def read(value: Any) -> Any:
        if not isinstance(value, dict):
            raise _expect("an object", value)
        if not cell:
            cell.append(reader(key_value(shape)[1]))
        read_value = cell[0]
        out = {}
        for key, item in value.items():
            if item is None:
                continue
            try:
                out[key] = read_value(item)
            except Path as exc:
                raise exc.at(key) from None
        return out

    return read


# -- writers ------------------------------------------------------------------------------------


def _timestamp_writer(shape: Shape) -> Writer:
    fmt = shape.serialization.get("timestampFormat", EPOCH)

    def write(value: Any) -> Any:
        if isinstance(value, datetime | int | float):
            return format_timestamp(value, fmt)
        return value  # already in wire form

    return write


def _write_blob(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return b64encode(bytes(value))
    if isinstance(value, str):
        return b64encode(value)
    raise TypeError(f"a blob member must be bytes, got {type(value).__name__}")


def _write_float(value: Any) -> Any:
    if isinstance(value, float):
        return format_float(value)
    return value


def _build_writer(shape: Shape) -> Writer:
    kind = shape.type_name
    if kind == "structure":
        if getattr(shape, "is_document_type", False):
            return _identity
        return _structure_writer(shape)
    if kind == "list":
        return _list_writer(shape)
    if kind == "map":
        return _map_writer(shape)
    if kind == "timestamp":
        return _timestamp_writer(shape)
    if kind == "blob":
        return _write_blob
    if kind in ("float", "double"):
        return _write_float
    return _identity


def _structure_writer(shape: Shape) -> Writer:
    built: dict[str, tuple[str, Writer]] | None = None

    def write(value: Any) -> Any:
        nonlocal built
        table = built
        if table is None:
            table = {name: (member.serialization.get("name", name), writer(member)) for name, member in members(shape).items()}
            built = table
        out: dict[str, Any] = {}
        for name, item in value.items():
            entry = table.get(name)
            if entry is None or item is None:
                continue  # never leak a key the shape does not have
            wire, write_member = entry
            out[wire] = item if write_member is _identity else write_member(item)
        return out

    return write


def _list_writer(shape: Shape) -> Writer:
    cell: list[Writer] = []

    def write(value: Any) -> Any:
        if not cell:
            cell.append(writer(list_member(shape)))
        write_member = cell[0]
        if write_member is _identity:
            return list(value)
        return [write_member(item) for item in value]

    return write


def _map_writer(shape: Shape) -> Writer:
    cell: list[Writer] = []

    def write(value: Any) -> Any:
        if not cell:
            cell.append(writer(key_value(shape)[1]))
        write_value = cell[0]
        if write_value is _identity:
            return {key: item for key, item in value.items() if item is not None}
        return {key: write_value(item) for key, item in value.items() if item is not None}

    return write
