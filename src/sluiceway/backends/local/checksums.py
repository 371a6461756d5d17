"""S3's object checksums (CRC32, CRC32C, SHA1, SHA256), computed over bytes as they stream by.

S3 keeps an object's checksum of one algorithm, either of the whole object (``FULL_OBJECT``)
or, for a multipart upload, of its parts' checksums (``COMPOSITE``). A whole-object CRC of an
upload in parts is the parts' CRCs combined (:func:`combine_crc`): completing an upload never
reads its bytes again for a checksum its parts already have.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import Final, Protocol

logger = logging.getLogger(__name__)

__all__ = ["ALGORITHMS", "FULL_OBJECT_ALGORITHMS", "Digest", "combine_crc", "crc32c", "digest", "new_digest", "value_of"]

_CRC_POLYNOMIALS: Final = {"CRC32": 0xEDB88320, "CRC32C": 0x82F63B78}
"""The reflected polynomials of S3's CRCs (zlib's CRC-32, and Castagnoli's)."""

ALGORITHMS: Final = ("CRC32", "CRC32C", "SHA1", "SHA256")
"""The checksums Sluiceway computes (S3's ``Checksum<name>`` members)."""

FULL_OBJECT_ALGORITHMS: Final = frozenset(_CRC_POLYNOMIALS)
"""The algorithms a multipart upload may ask a whole-object checksum of (a CRC combines; a SHA does not)."""


def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ _CRC_POLYNOMIALS["CRC32C"] if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C_TABLE: Final = _crc32c_table()


def crc32c(data: bytes, crc: int = 0) -> int:
    """CRC-32C (Castagnoli), as S3's ``CRC32C``, continuing from ``crc`` (no C library for it ships
    with Python; it is used only when a client asks for CRC32C, not for botocore's default CRC32)."""
    crc ^= 0xFFFFFFFF
    table = _CRC32C_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


class Digest(Protocol):
    """A checksum being computed: bytes in, the raw digest out."""

    def update(self, data: bytes) -> None: ...

    def digest(self) -> bytes: ...


class _Crc:
    def __init__(self, step: Callable[[bytes, int], int]) -> None:
        self._step = step
        self._value = 0

    def update(self, data: bytes) -> None:
        self._value = self._step(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(4, "big")


def new_digest(algorithm: str) -> Digest:
    """A fresh checksum of ``algorithm`` (one of :data:`ALGORITHMS`).

    Raises:
        ValueError: an algorithm Sluiceway does not compute.
    """
    if algorithm == "CRC32":
        return _Crc(zlib.crc32)
    if algorithm == "CRC32C":
        return _Crc(crc32c)
    if algorithm == "SHA1":
        return hashlib.sha1(usedforsecurity=False)
    if algorithm == "SHA256":
        return hashlib.sha256()
    raise ValueError(f"not a checksum algorithm Sluiceway computes: {algorithm!r}")


def digest(algorithm: str, blocks: bytes | Iterable[bytes]) -> str:
    """The base64 checksum ``algorithm`` gives the bytes (one block, or several in order), as S3 sends it."""
    state = new_digest(algorithm)
    for block in [blocks] if isinstance(blocks, bytes) else blocks:
        state.update(block)
    return base64.b64encode(state.digest()).decode()


def value_of(checksums: Mapping[str, str]) -> tuple[str, str] | None:
    """The algorithm and value an object's checksums hold (``ChecksumCRC32``: ``("CRC32", value)``), or None."""
    for member, value in checksums.items():
        if member.startswith("Checksum") and member != "ChecksumType":
            return member.removeprefix("Checksum"), value
    return None


def _gf2_times(matrix: list[int], vector: int) -> int:
    total = 0
    row = 0
    while vector:
        if vector & 1:
            total ^= matrix[row]
        vector >>= 1
        row += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, matrix[n]) for n in range(32)]


def combine_crc(algorithm: str, first: int, second: int, second_length: int) -> int:
    """The CRC of two byte strings one after the other, from their CRCs and the second's length.

    zlib's ``crc32_combine`` (not exposed by Python), for any reflected 32-bit CRC: the first
    CRC is advanced over ``second_length`` zero bytes by squaring a GF(2) operator matrix, in
    O(log length) steps.
    """
    if second_length == 0:
        return first
    odd = [_CRC_POLYNOMIALS[algorithm]] + [1 << n for n in range(31)]  # one zero bit
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four zero bits
    length = second_length
    while True:
        even = _gf2_square(odd)
        if length & 1:
            first = _gf2_times(even, first)
        length >>= 1
        if not length:
            break
        odd = _gf2_square(even)
        if length & 1:
            first = _gf2_times(odd, first)
        length >>= 1
        if not length:
            break
    return first ^ second
