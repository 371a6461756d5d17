"""S3's integrity checks of an upload: ``Content-MD5`` and the ``x-amz-checksum-*`` headers.

A client states what it sent; S3 computes the same over what it received and refuses the
write when they differ (``BadDigest``), before anything is stored. The checksums S3 checks
are echoed in the answer (boto3 compares them).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from collections.abc import Callable, Mapping
from typing import Any, Final

from ....endpoint.errors import AwsError

__all__ = ["ALGORITHMS", "check_checksums", "check_content_md5", "crc32c", "digest"]


def _crc32(data: bytes) -> bytes:
    return zlib.crc32(data).to_bytes(4, "big")


def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C_TABLE: Final = _crc32c_table()


def crc32c(data: bytes, crc: int = 0) -> int:
    """CRC-32C (Castagnoli), as S3's ``CRC32C`` (no C library for it ships with Python; this one is
    only used when a client asks for CRC32C, not for botocore's default CRC32)."""
    crc ^= 0xFFFFFFFF
    table = _CRC32C_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _crc32c(data: bytes) -> bytes:
    return crc32c(data).to_bytes(4, "big")


ALGORITHMS: Final[Mapping[str, Callable[[bytes], bytes]]] = {
    "CRC32": _crc32,
    "CRC32C": _crc32c,
    "SHA1": lambda data: hashlib.sha1(data, usedforsecurity=False).digest(),
    "SHA256": lambda data: hashlib.sha256(data).digest(),
}
"""The checksums S3 checks (its input member is ``Checksum<name>``), each giving the raw digest."""

_SIZES: Final = {"CRC32": 4, "CRC32C": 4, "SHA1": 20, "SHA256": 32}


def digest(algorithm: str, data: bytes) -> str:
    """The base64 checksum ``algorithm`` gives ``data``, as S3 sends it."""
    return base64.b64encode(ALGORITHMS[algorithm](data)).decode()


def check_content_md5(value: str | None, data: bytes) -> None:
    """``Content-MD5``: the base64 MD5 of the body.

    Raises:
        AwsError: ``InvalidDigest`` (not the base64 of 16 bytes) or ``BadDigest`` (another MD5).
    """
    if value is None:
        return
    try:
        given = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        given = b""
    if len(given) != 16:
        raise AwsError("InvalidDigest", "The Content-MD5 you specified was invalid.", 400, fields={"Content-MD5": value})
    if given != hashlib.md5(data, usedforsecurity=False).digest():
        raise AwsError(
            "BadDigest",
            "The Content-MD5 you specified did not match what we received.",
            400,
            fields={
                "ExpectedDigest": value,
                "CalculatedDigest": base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode(),
            },
        )


def check_checksums(params: Mapping[str, Any], data: bytes) -> dict[str, str]:
    """Check the ``Checksum<ALGORITHM>`` members given; return those checked, to echo (``ChecksumCRC32``: value).

    Raises:
        AwsError: ``InvalidRequest`` for a value that is not the base64 of a digest of the
            right size, or for a checksum S3 has but Sluiceway cannot compute; ``BadDigest``
            when the data's checksum is another.
    """
    checked: dict[str, str] = {}
    for member in sorted(k for k in params if k.startswith("Checksum") and k not in ("ChecksumAlgorithm", "ChecksumType", "ChecksumMode")):
        value = params[member]
        if value is None:
            continue
        algorithm = member.removeprefix("Checksum")
        header = f"x-amz-checksum-{algorithm.lower()}"
        if algorithm not in ALGORITHMS:
            raise AwsError("InvalidRequest", f"The {header} checksum is not supported by the Sluiceway endpoint.", 400)
        try:
            given = base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            given = b""
        if len(given) != _SIZES[algorithm]:
            raise AwsError("InvalidRequest", f"Value for {header} header is invalid.", 400)
        if given != ALGORITHMS[algorithm](data):
            raise AwsError("BadDigest", f"The {algorithm} you specified did not match the calculated checksum.", 400)
        checked[member] = str(value)
    return checked
