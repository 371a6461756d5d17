"""A local copy describes the very bytes it copied, even when its source is replaced meanwhile."""

from __future__ import annotations

import base64
import hashlib
import os
import zlib
from pathlib import Path

from sluiceway.backends.local.objects import FileObjectStore


def crc(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


class ReplacedOnOpen(FileObjectStore):
    """A store whose ``src`` object is replaced by another writer just after a reader opens it (once)."""

    replaced = False

    def _open_fd(self, bucket: str, key: str) -> tuple[int, os.stat_result]:
        opened = super()._open_fd(bucket, key)
        if key == "src" and not self.replaced:
            self.replaced = True
            self.put(bucket, key, b"NEW BYTES!!", checksums={"ChecksumCRC32": crc(b"NEW BYTES!!"), "ChecksumType": "FULL_OBJECT"})
        return opened


def test_a_copy_of_a_source_replaced_while_it_is_copied_keeps_the_copied_bytes_etag_and_checksum(tmp_path: Path) -> None:
    store = ReplacedOnOpen(tmp_path)
    store.put("bkt", "src", b"old bytes", checksums={"ChecksumCRC32": crc(b"old bytes"), "ChecksumType": "FULL_OBJECT"})
    info = store.copy("bkt", "src", "bkt", "dst")
    assert store.replaced
    data = store.get("bkt", "dst")
    assert data == b"old bytes"  # the file it opened
    assert info.etag == hashlib.md5(data).hexdigest()
    assert info.checksums == {"ChecksumCRC32": crc(data), "ChecksumType": "FULL_OBJECT"}
    assert store.head("bkt", "dst").checksums == info.checksums


def test_a_copy_computes_the_checksum_asked_for_over_its_bytes(tmp_path: Path) -> None:
    store = FileObjectStore(tmp_path)
    store.put("bkt", "src", b"abc", checksums={"ChecksumCRC32": crc(b"abc"), "ChecksumType": "FULL_OBJECT"})
    info = store.copy("bkt", "src", "bkt", "dst", checksum_algorithm="SHA256")
    sha = base64.b64encode(hashlib.sha256(b"abc").digest()).decode()
    assert info.checksums == {"ChecksumSHA256": sha, "ChecksumType": "FULL_OBJECT"}
    # A composite source's checksum describes its parts: the copy (one part) gets its bytes' own.
    store.put("bkt", "parts", b"abc", checksums={"ChecksumCRC32": "AAAAAA==-2", "ChecksumType": "COMPOSITE"})
    assert store.copy("bkt", "parts", "bkt", "whole").checksums == {"ChecksumCRC32": crc(b"abc"), "ChecksumType": "FULL_OBJECT"}
