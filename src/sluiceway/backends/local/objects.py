"""Folder-backed buckets: ``<root>/<bucket>/<key>``, written atomically.

Each object's metadata (ETag, content type, user metadata) lives in a sidecar
file under ``<root>/<bucket>/.sluiceway/meta/`` so that the object itself is the
user's plain file and any program can read it. Writes go to a temporary file in
the same bucket, are fsynced and renamed into place: a reader sees the old
object or the new one, never half of one, and a crash leaves no torn object.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from ...errors import InvalidNameError, NotFoundError
from ...names import check_bucket, check_key
from ...ports import ObjectInfo

logger = logging.getLogger(__name__)

_META = ".sluiceway"
_BLOCK = 8 * 1024 * 1024


class FileObjectStore:
    """An :class:`~sluiceway.ports.ObjectStore` on a local folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    # -- paths --------------------------------------------------------------

    def bucket_path(self, bucket: str) -> Path:
        return self.root / check_bucket(bucket)

    def path(self, bucket: str, key: str) -> Path:
        """The file holding ``key``; validated, always inside the bucket's folder."""
        return self.bucket_path(bucket) / check_key(key)

    def _meta_path(self, bucket: str, key: str) -> Path:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return self.bucket_path(bucket) / _META / "meta" / digest[:2] / f"{digest}.json"

    def ensure_bucket(self, bucket: str) -> None:
        self.bucket_path(bucket).mkdir(parents=True, exist_ok=True)

    # -- writes -------------------------------------------------------------

    def put(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        target = self.path(bucket, key)
        etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
        tmp = self._tempfile(bucket)
        try:
            with open(tmp, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            return self._commit(bucket, key, tmp, target, etag, len(data), content_type, metadata)
        finally:
            tmp.unlink(missing_ok=True)

    def put_file(self, bucket: str, key: str, path: str, *, content_type: str = "application/octet-stream") -> ObjectInfo:
        target = self.path(bucket, key)
        md5 = hashlib.md5(usedforsecurity=False)
        size = 0
        tmp = self._tempfile(bucket)
        try:
            with open(path, "rb") as src, open(tmp, "wb") as out:
                while block := src.read(_BLOCK):
                    md5.update(block)
                    out.write(block)
                    size += len(block)
                out.flush()
                os.fsync(out.fileno())
            return self._commit(bucket, key, tmp, target, md5.hexdigest(), size, content_type, None)
        finally:
            tmp.unlink(missing_ok=True)

    def _tempfile(self, bucket: str) -> Path:
        folder = self.bucket_path(bucket) / _META / "tmp"
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=folder, prefix="put-")
        os.close(fd)
        return Path(name)

    def _commit(
        self,
        bucket: str,
        key: str,
        tmp: Path,
        target: Path,
        etag: str,
        size: int,
        content_type: str,
        metadata: Mapping[str, str] | None,
    ) -> ObjectInfo:
        target.parent.mkdir(parents=True, exist_ok=True)
        meta = {"etag": etag, "size": size, "content_type": content_type, "metadata": dict(metadata or {})}
        meta_path = self._meta_path(bucket, key)
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        # The sidecar is written first and checked against the file's size on read,
        # so a crash between the two renames is detected and the ETag recomputed.
        # Writers, in any process, commit one at a time: the last one's sidecar and
        # file win together, as the last PUT does on S3.
        with self._commit_lock(bucket):
            _replace_json(meta_path, meta)
            os.replace(tmp, target)
        _fsync_dir(target.parent)
        return self.head(bucket, key)

    @contextmanager
    def _commit_lock(self, bucket: str) -> Iterator[None]:
        with open(self.bucket_path(bucket) / _META / "commit.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def delete(self, bucket: str, key: str) -> None:
        self.path(bucket, key).unlink(missing_ok=True)
        self._meta_path(bucket, key).unlink(missing_ok=True)

    # -- reads --------------------------------------------------------------

    def head(self, bucket: str, key: str) -> ObjectInfo:
        target = self.path(bucket, key)
        try:
            stat = target.stat()
        except FileNotFoundError:
            raise NotFoundError(f"no object s3://{bucket}/{key}") from None
        if not target.is_file():
            raise NotFoundError(f"no object s3://{bucket}/{key}")
        meta = self._read_meta(bucket, key)
        if meta is None or meta.get("size") != stat.st_size:
            # Written by another program (or a torn sidecar): compute and remember, unless
            # a writer of this key commits in between (then its sidecar is the one to keep).
            meta_path = self._meta_path(bucket, key)
            meta_path.parent.mkdir(parents=True, exist_ok=True)
            with self._commit_lock(bucket):
                stat = target.stat()
                meta = self._read_meta(bucket, key)
                if meta is None or meta.get("size") != stat.st_size:
                    meta = {"etag": _md5_file(target), "size": stat.st_size, "content_type": _guess_type(key), "metadata": {}}
                    _replace_json(meta_path, meta)
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=stat.st_size,
            etag=str(meta["etag"]),
            last_modified=datetime.fromtimestamp(stat.st_mtime, UTC),
            content_type=str(meta.get("content_type") or "application/octet-stream"),
            metadata={str(k): str(v) for k, v in dict(meta.get("metadata") or {}).items()},  # type: ignore[call-overload]
        )

    def _read_meta(self, bucket: str, key: str) -> dict[str, object] | None:
        try:
            data = json.loads(self._meta_path(bucket, key).read_text())
        except (FileNotFoundError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def get(self, bucket: str, key: str, *, start: int | None = None, end: int | None = None) -> bytes:
        target = self.path(bucket, key)
        try:
            with open(target, "rb") as f:
                if start:
                    f.seek(start)
                if end is None:
                    return f.read()
                return f.read(max(0, end - (start or 0)))
        except (FileNotFoundError, IsADirectoryError):
            raise NotFoundError(f"no object s3://{bucket}/{key}") from None

    def download(self, bucket: str, key: str, path: str, *, start: int | None = None, end: int | None = None) -> None:
        source = self.path(bucket, key)
        if not source.is_file():
            raise NotFoundError(f"no object s3://{bucket}/{key}")
        if start is None and end is None:
            shutil.copyfile(source, path)
            return
        with open(source, "rb") as src, open(path, "wb") as out:
            offset = start or 0
            size = os.fstat(src.fileno()).st_size
            remaining = max(0, (size if end is None else min(end, size)) - offset)
            _copy_range(src, out, offset, remaining)

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        root = self.bucket_path(bucket)
        if not root.is_dir():
            return
        keys: list[str] = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d != _META]
            rel = os.path.relpath(dirpath, root)
            for name in filenames:
                key = name if rel == "." else f"{rel}/{name}".replace(os.sep, "/")
                if key.startswith(prefix):
                    keys.append(key)
        for key in sorted(keys):
            try:
                yield self.head(bucket, key)
            except InvalidNameError as exc:
                # A file another program named in a way no object key may be: left alone, never served.
                logger.warning("skipping file with an invalid object key", extra={"bucket": bucket, "reason": str(exc)})
            except NotFoundError:
                continue  # deleted while listing


def _replace_json(path: Path, value: object) -> None:
    """Write ``value`` as JSON to ``path`` atomically, through a temporary file of its own."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(value))
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _copy_range(src: BinaryIO, out: BinaryIO, offset: int, length: int) -> None:
    """Copy ``length`` bytes of ``src`` from ``offset`` to ``out``: in the kernel where it can (no copy through Python)."""
    copy_file_range = getattr(os, "copy_file_range", None)
    if copy_file_range is not None:
        try:
            while length > 0:
                copied = copy_file_range(src.fileno(), out.fileno(), min(length, 1 << 30), offset)
                if copied == 0:
                    break  # some file systems copy nothing instead of failing: user space decides
                offset += copied
                length -= copied
        except OSError:
            pass  # not on this file system or kernel
        if length <= 0:
            return
        # What is left goes through user space, until the source really ends.
        out.seek(0, os.SEEK_END)
    src.seek(offset)
    while length > 0:
        block = src.read(min(_BLOCK, length))
        if not block:
            break
        out.write(block)
        length -= len(block)


def _md5_file(path: Path) -> str:
    md5 = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            md5.update(block)
    return md5.hexdigest()


def _guess_type(key: str) -> str:
    lowered = key.lower()
    for suffix, kind in ((".csv", "text/csv"), (".json", "application/json"), (".jsonl", "application/x-ndjson")):
        if lowered.endswith(suffix):
            return kind
    return "application/octet-stream"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
