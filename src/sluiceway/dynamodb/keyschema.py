"""CreateTable's checks of its key schemas against its attribute definitions, with DynamoDB's messages.

DynamoDB checks the request's shape first (every ``KeyType`` of the table and of each
index is HASH or RANGE, at most two elements in the table's schema), framed as
``1 validation error detected`` and naming the member as the wire does
(``globalSecondaryIndexes.1.member.keySchema.2.member.keyType``); then whether the
key attributes and the attribute definitions are the same set, which it words
differently with and without secondary indexes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .errors import validation

__all__ = ["check_definitions", "check_key_types"]

_INVALID = "One or more parameter values were invalid: "


def _java_list(schema: Sequence[Any]) -> str:
    # The front validation prints the request's elements as the service's objects print themselves.
    elements = []
    for element in schema:
        element = element if isinstance(element, Mapping) else {}
        elements.append(f"KeySchemaElement(attributeName={element.get('AttributeName')}, keyType={element.get('KeyType')})")
    return f"[{', '.join(elements)}]"


def _check_schema(schema: Any, member: str, *, table: bool) -> None:
    if not isinstance(schema, list):
        return
    # A table's key has one or two attributes; a global index's may have more (multi-attribute keys).
    if table and len(schema) > 2:
        raise validation(
            f"1 validation error detected: Value '{_java_list(schema)}' at '{member}' failed to satisfy constraint:"
            " Member must have length less than or equal to 2"
        )
    for position, element in enumerate(schema, start=1):
        kind = element.get("KeyType") if isinstance(element, Mapping) else None
        if kind not in ("HASH", "RANGE"):
            shown = "null" if kind is None else f"'{kind}'"
            raise validation(
                f"1 validation error detected: Value {shown} at '{member}.{position}.member.keyType' failed to satisfy"
                " constraint: Member must satisfy enum value set: [HASH, RANGE]"
            )


def check_key_types(request: Mapping[str, Any]) -> None:
    """Refuse a table key schema of more than two elements, and any KeyType other than HASH/RANGE."""
    _check_schema(request.get("KeySchema"), "keySchema", table=True)
    for member in ("globalSecondaryIndexes", "localSecondaryIndexes"):
        indexes = request.get(member[0].upper() + member[1:])
        for position, index in enumerate(indexes if isinstance(indexes, list) else [], start=1):
            if isinstance(index, Mapping):
                _check_schema(index.get("KeySchema"), f"{member}.{position}.member.keySchema", table=False)


def check_definitions(used: Sequence[str], defined: Sequence[str], *, has_indexes: bool) -> None:
    """Refuse key attributes without a definition, and definitions that no key uses.

    ``used`` are the key attributes of the table and its indexes, ``defined`` the
    AttributeDefinitions' names. DynamoDB words the refusal by which set is larger and by
    whether the request has indexes, and lists both sets sorted.
    """
    keys, definitions = sorted(set(used)), sorted(defined)
    if keys == definitions:
        return
    missing = [k for k in keys if k not in definitions]
    if len(definitions) > len(keys):
        if has_indexes:
            raise validation(
                f"{_INVALID}Some AttributeDefinitions are not used. AttributeDefinitions: [{', '.join(definitions)}],"
                f" keys used: [{', '.join(keys)}]"
            )
        raise validation(
            f"{_INVALID}Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions"
        )
    if len(definitions) < len(keys) and not has_indexes:
        raise validation("Invalid KeySchema: Some index key attribute have no definition")
    if not has_indexes:
        missing = keys  # as many definitions as keys, but not theirs: DynamoDB lists every key
    raise validation(
        f"{_INVALID}Some index key attributes are not defined in AttributeDefinitions. Keys: [{', '.join(missing)}],"
        f" AttributeDefinitions: [{', '.join(definitions)}]"
    )
