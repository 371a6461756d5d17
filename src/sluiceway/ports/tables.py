"""The metadata table port: JSON items by key, with conditions and indexes (DynamoDB semantics)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..types import JSON

__all__ = ["Condition", "MetadataTable", "STATUS_TIME_INDEX", "SecondaryIndex", "check_query"]


@dataclass(frozen=True)
class Condition:
    """What the stored item must look like for a write to happen (every part must hold).

    A write with a condition is checked against the item stored under the same key
    at the moment of the write, atomically (DynamoDB's ``ConditionExpression``); a
    missing item has no attributes, so ``exists`` and ``equals`` fail on it and
    ``not_exists`` holds. Names are top-level attribute names, taken literally
    (``"a.b"`` is one attribute, not a path). An empty condition always holds.

    Example: ``Condition(equals={"Status": "RUNNING"})`` lets a run move on only
    from RUNNING; ``Condition(exists=["ExecutionId"])`` updates only an existing item.
    """

    exists: Sequence[str] = ()
    """Attributes the stored item must have (``attribute_exists``)."""
    not_exists: Sequence[str] = ()
    """Attributes the stored item must not have (``attribute_not_exists``)."""
    equals: Mapping[str, JSON] = field(default_factory=dict)
    """Attributes the stored item must have with exactly these values (``=``, typed:
    ``True`` is not ``1``, ``"1"`` is not ``1``, ``1`` is ``1.0``)."""

    def __post_init__(self) -> None:
        for name in ("exists", "not_exists"):
            names = getattr(self, name)
            if isinstance(names, str):
                # A lone string would silently become a condition on each of its letters.
                raise TypeError(
                    f"Condition.{name} takes a sequence of attribute names, not a string"
                )
            object.__setattr__(self, name, tuple(names))
        object.__setattr__(self, "equals", dict(self.equals))
        for attribute in (*self.exists, *self.not_exists, *self.equals):
            if not isinstance(attribute, str) or not attribute:
                raise ValueError(f"not an attribute name: {attribute!r}")


@dataclass(frozen=True)
class SecondaryIndex:
    """A global secondary index: the table's items again, keyed by other attributes.

    As in DynamoDB the index is sparse: an item is in it only when it has every
    key attribute of the index. Key attributes of an index are strings; a write
    that gives one another type (or an empty string) is refused.
    """

    name: str
    """The index's name (DynamoDB's ``IndexName``)."""
    partition_key: str
    """The attribute that picks an index partition."""
    sort_key: str | None = None
    """The attribute that orders items within an index partition, if any."""

    @property
    def key_attributes(self) -> tuple[str, ...]:
        """The partition key and, when there is one, the sort key."""
        if self.sort_key is None:
            return (self.partition_key,)
        return (self.partition_key, self.sort_key)

    def check_values(self, attributes: Mapping[str, JSON]) -> None:
        """Refuse a write giving a key of this index a value other than a non-empty string.

        Attributes the write does not mention are fine (the item is then simply
        not in the index). DynamoDB refuses such writes too; checking before the
        call gives both backends the same error.

        Raises:
            ValueError: naming the index and the attribute.
        """
        for name in self.key_attributes:
            if name in attributes:
                value = attributes[name]
                if not isinstance(value, str) or not value:
                    raise ValueError(
                        f"{name!r} is a key of index {self.name} and must be"
                        f" a non-empty string, not {value!r}"
                    )


STATUS_TIME_INDEX = SecondaryIndex("StatusTimeIndex", partition_key="Status", sort_key="Timestamp")
"""Sluiceway's one index: runs by ``Status``, in ``Timestamp`` order (ISO 8601 UTC text)."""


class MetadataTable(Protocol):
    """A key-value table of JSON items (DynamoDB semantics for what Sluiceway uses).

    Items are JSON objects. Key attributes (the table's partition key and optional
    sort key, and the key attributes of its secondary indexes) are non-empty
    strings; sort keys order as DynamoDB orders strings (by UTF-8 bytes). Writes to
    one item are atomic; a write with a :class:`Condition` that does not hold
    raises ConflictError and writes nothing.

    Reads of the table (``get``, ``query``, ``scan``) are strongly consistent;
    ``query_index`` reads an index, which on AWS is eventually consistent
    (a write shows up there a moment later).
    """

    def put(
        self,
        item: Mapping[str, JSON],
        *,
        if_absent: bool = False,
        condition: Condition | None = None,
    ) -> None:
        """Write ``item``, replacing any item with the same key entirely.

        Args:
            item: the whole item; it must hold the table's key attributes.
            if_absent: write only if no item has this key yet.
            condition: write only if the stored item (if any) satisfies it; with
                ``if_absent`` both must hold.

        Raises:
            ConflictError: ``if_absent`` and an item with that key exists, or
                ``condition`` does not hold. Nothing is written.
            ValueError: a key attribute is missing, or a key attribute of the
                table or of an index is not a non-empty string.
        """
        ...

    def get(self, key: Mapping[str, JSON]) -> dict[str, JSON] | None:
        """Return the item with ``key``, or None.

        Raises:
            ValueError: ``key`` lacks one of the table's key attributes.
        """
        ...

    def update(
        self,
        key: Mapping[str, JSON],
        changes: Mapping[str, JSON],
        *,
        condition: Condition | None = None,
    ) -> dict[str, JSON]:
        """Set the given attributes on the item (creating it) and return the whole new item.

        Attributes not in ``changes`` keep their values. Key attributes cannot
        change: repeating the key's own value is allowed, another value is not.

        Args:
            key: the item's key attributes.
            changes: attribute name to new value.
            condition: update only if the stored item satisfies it (against a
                missing item, as if it had no attributes: ``Condition(exists=[pk])``
                updates only an existing item).

        Raises:
            ConflictError: ``condition`` does not hold; nothing is written.
            ValueError: ``changes`` would alter a key attribute, or give an index
                key attribute a value that is not a non-empty string.
        """
        ...

    def delete(self, key: Mapping[str, JSON], *, condition: Condition | None = None) -> None:
        """Delete the item; a missing item is not an error.

        Args:
            key: the item's key attributes.
            condition: delete only if the stored item satisfies it.

        Raises:
            ConflictError: ``condition`` does not hold; the item stays.
        """
        ...

    def query(
        self,
        partition_value: str,
        *,
        sort_from: str | None = None,
        sort_to: str | None = None,
        newest_first: bool = False,
        limit: int | None = None,
    ) -> list[dict[str, JSON]]:
        """Items whose partition key is ``partition_value``, in sort key order.

        Args:
            partition_value: the partition key's value.
            sort_from: only items whose sort key is ``>=`` this.
            sort_to: only items whose sort key is ``<=`` this.
            newest_first: descending sort key order (DynamoDB's
                ``ScanIndexForward=False``).
            limit: at most this many items (the first ones in the chosen order).

        Raises:
            ValueError: a sort range on a table without a sort key, ``sort_from``
                after ``sort_to``, an empty ``partition_value`` or a ``limit`` below 1.
        """
        ...

    def query_index(
        self,
        index: str,
        partition_value: str,
        *,
        sort_from: str | None = None,
        sort_to: str | None = None,
        newest_first: bool = True,
        limit: int | None = None,
    ) -> list[dict[str, JSON]]:
        """Whole items from a secondary index whose index partition key is ``partition_value``.

        Only items holding every key attribute of the index are in it (a sparse
        index). Items come in index sort key order, newest (greatest) first by
        default; items with equal index sort keys come in no promised order.
        ``query_index(STATUS_TIME_INDEX.name, "FAILED", sort_from=since)`` lists
        failed runs since ``since``, latest first.

        Args:
            index: the index's name, e.g. ``STATUS_TIME_INDEX.name``.
            partition_value: the index partition key's value.
            sort_from: only items whose index sort key is ``>=`` this.
            sort_to: only items whose index sort key is ``<=`` this.
            newest_first: descending index sort key order; False for ascending.
            limit: at most this many items (the first ones in the chosen order).

        Raises:
            ValueError: an unknown index (the message names the known ones), a
                sort range on an index without a sort key, ``sort_from`` after
                ``sort_to``, an empty ``partition_value`` or a ``limit`` below 1.
        """
        ...

    def scan(self, *, limit: int | None = None) -> list[dict[str, JSON]]:
        """Return items, newest first by their ``Timestamp`` attribute when present.

        Items without a ``Timestamp`` come last; ties go by key. Every item is
        read, so prefer :meth:`query_index` to list runs by status.
        """
        ...


def check_query(
    partition_value: str,
    sort_from: str | None,
    sort_to: str | None,
    limit: int | None,
    sort_key: str | None,
    what: str,
) -> None:
    """Refuse the query arguments DynamoDB refuses, the same way on every backend.

    Raises:
        ValueError: an empty partition value, a sort range without a sort key, an
            inverted range, or a limit below 1.
    """
    if not isinstance(partition_value, str) or not partition_value:
        raise ValueError(f"query of {what}: the partition value must be a non-empty string")
    if sort_key is None and (sort_from is not None or sort_to is not None):
        raise ValueError(f"query of {what}: a sort range needs a sort key, and there is none")
    if sort_from is not None and sort_to is not None and sort_from > sort_to:
        raise ValueError(f"query of {what}: sort_from {sort_from!r} is after sort_to {sort_to!r}")
    if limit is not None and limit < 1:
        raise ValueError(f"query of {what}: limit must be at least 1, not {limit}")
