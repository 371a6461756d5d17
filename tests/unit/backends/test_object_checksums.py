"""S3's checksums as the local buckets compute them: streamed, and whole-object CRCs combined from parts'."""

from __future__ import annotations

import zlib

import pytest

from sluiceway.backends.local.checksums import combine_crc, crc32c, digest


def test_crc32c_has_its_check_value() -> None:
    assert crc32c(b"123456789") == 0xE3069283


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C"])
@pytest.mark.parametrize("split", [0, 1, 7, 64, 999, 1024])
def test_combined_crcs_are_the_crc_of_the_joined_bytes(algorithm: str, split: int) -> None:
    data = bytes(range(256)) * 4
    first, second = data[:split], data[split:]
    step = zlib.crc32 if algorithm == "CRC32" else crc32c
    assert combine_crc(algorithm, step(first), step(second), len(second)) == step(data)


def test_a_digest_of_blocks_is_the_digest_of_their_bytes() -> None:
    assert digest("CRC32C", [b"ab", b"", b"c"]) == digest("CRC32C", b"abc")
    assert digest("SHA256", iter([b"a", b"bc"])) == digest("SHA256", b"abc")
