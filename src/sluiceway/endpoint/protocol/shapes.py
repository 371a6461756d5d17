"""Typed views of botocore shapes (its stubs type every shape as the base ``Shape``)."""

from __future__ import annotations

from typing import cast

from botocore.model import ListShape, MapShape, Shape, StructureShape

__all__ = ["key_value", "list_member", "members", "required"]


def members(shape: Shape) -> dict[str, Shape]:
    return cast(StructureShape, shape).members


def required(shape: Shape) -> list[str]:
    return list(cast(StructureShape, shape).required_members)


def list_member(shape: Shape) -> Shape:
    return cast(ListShape, shape).member


def key_value(shape: Shape) -> tuple[Shape, Shape]:
    mapped = cast(MapShape, shape)
    return mapped.key, mapped.value
