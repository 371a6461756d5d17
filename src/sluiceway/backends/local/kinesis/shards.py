"""Kinesis's arithmetic: shard hash key ranges, the shard a record goes to, sequence numbers.

A stream's shards split the 128-bit hash key space of MD5 between them; a record goes to the
open shard whose range holds MD5(partition key) read as a big-endian integer (or the
ExplicitHashKey it was given). Pure functions, no I/O.
"""

from __future__ import annotations

import hashlib
from typing import Final

__all__ = [
    "MAX_HASH_KEY",
    "decode_sequence_number",
    "hash_key_of",
    "hash_ranges",
    "sequence_number",
    "shard_id",
]

MAX_HASH_KEY: Final = 2**128 - 1

_PREFIX: Final = "49"
"""Kinesis's sequence numbers begin so (their first digits encode a version, then the shard and time)."""
_POSITION_DIGITS: Final = 38
_ORDINAL_DIGITS: Final = 16
SEQUENCE_DIGITS: Final = len(_PREFIX) + _POSITION_DIGITS + _ORDINAL_DIGITS
"""56, as long as the sequence numbers Kinesis hands out."""


def shard_id(ordinal: int) -> str:
    """``shardId-000000000000`` for the stream's first shard, as Kinesis names them."""
    return f"shardId-{ordinal:012d}"


def hash_ranges(count: int) -> list[tuple[int, int]]:
    """The hash key ranges of ``count`` new shards: the space split evenly, the last one taking the rest.

    Kinesis starts shard ``i`` at ``i * floor(2**128 / count)`` (3 shards: 0,
    113427455640312821154458202477256070485, 226854911280625642308916404954512140970).
    """
    step = (MAX_HASH_KEY + 1) // count
    starts = [i * step for i in range(count)]
    return [(start, (starts[i + 1] - 1) if i + 1 < count else MAX_HASH_KEY) for i, start in enumerate(starts)]


def hash_key_of(partition_key: str) -> int:
    """The hash key of a partition key: its UTF-8 bytes' MD5, a big-endian 128-bit integer."""
    return int.from_bytes(hashlib.md5(partition_key.encode("utf-8"), usedforsecurity=False).digest(), "big")


def sequence_number(position: int, ordinal: int) -> str:
    """The sequence number of the record at ``position`` in shard ``ordinal`` (digits that grow with position).

    The shard is encoded too, as Kinesis's sequence numbers do, so that one used with another
    shard is told apart.
    """
    return f"{_PREFIX}{position:0{_POSITION_DIGITS}d}{ordinal:0{_ORDINAL_DIGITS}d}"


def decode_sequence_number(value: str) -> tuple[int, int] | None:
    """``(position, shard ordinal)`` of a sequence number made by :func:`sequence_number`, else None."""
    if len(value) != SEQUENCE_DIGITS or not value.isdigit() or not value.startswith(_PREFIX):
        return None
    body = value[len(_PREFIX) :]
    return int(body[:_POSITION_DIGITS]), int(body[_POSITION_DIGITS:])
