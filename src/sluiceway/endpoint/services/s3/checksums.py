"""S3's integrity checks of an upload: ``Content-MD5`` and the ``x-amz-checksum-*`` headers.

A client states what it sent; S3 computes the same over what it received and refuses the
write when they differ (``BadDigest``), before anything is stored. The checksums S3 checks
are echoed in the answer (boto3 compares them).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import Any, Final

from ....backends.local.checksums import ALGORITHMS, crc32c, digest, new_digest
from ....endpoint.errors import AwsError

__all__ = ["ALGORITHMS", "check_checksums", "check_content_md5", "crc32c", "digest"]

_SIZES: Final = {"CRC32": 4, "CRC32C": 4, "SHA1": 20, "SHA256": 32}


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
        state = new_digest(algorithm)
        state.update(data)
        if given != state.digest():
            raise AwsError("BadDigest", f"The {algorithm} you specified did not match the calculated checksum.", 400)
        checked[member] = str(value)
    return checked
