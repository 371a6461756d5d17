"""Folder-backed buckets: ``<root>/<bucket>/<key>``, written atomically, never through a link.

Each object's metadata (ETag, content type, user metadata, and what identifies
the write) lives in a sidecar file under ``<root>/<bucket>/.sluiceway/meta/`` so
that the object itself is the user's plain file and any program can read it.
Writes go to a temporary file in the same bucket, are fsynced and renamed into
place: a reader sees the old object or the new one, never half of one, and a
crash leaves no torn object.

**Links.** A bucket's folder is where files from outside land, so nothing inside
it is trusted: every path below the bucket's own folder is opened component by
component with ``O_NOFOLLOW`` (``openat``), so a symbolic link — to
``/etc/passwd`` or to a folder elsewhere — is refused as an object, never read
or written through, whatever is swapped in meanwhile. Only regular files are
objects (a FIFO would block a reader forever). The bucket folder itself may be a
link: that is where its owner chose to keep it.

**Writes and their identity.** S3 tells writes apart, not contents: re-uploading
the same bytes is a new write (a new event), while changing a file's times is no
write at all. The sidecar records the file it describes by size, modification
time and inode (its *fingerprint*) and the write's *sequencer*. A file whose
fingerprint no longer matches was changed by another program: its ETag is
computed again, and it is a new write (a new sequencer) when its content or
inode changed or when the caller saw it being written (the folder watcher's
close-after-write); a file that only had its times changed (``touch``) keeps its
write's identity.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import logging
import os
import secrets
import stat
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from ...errors import InvalidNameError, NotFoundError, PreconditionFailedError
from ...names import check_bucket, check_key
from ...ports import ObjectInfo

logger = logging.getLogger(__name__)

__all__ = ["FileObjectStore"]

_META = ".sluiceway"
_BLOCK = 8 * 1024 * 1024
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO someone put in a bucket must not wait for a writer.
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


class FileObjectStore:
    """An :class:`~sluiceway.ports.ObjectStore` on a local folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    # -- paths --------------------------------------------------------------

    def bucket_path(self, bucket: str) -> Path:
        return self.root / check_bucket(bucket)

    def ensure_bucket(self, bucket: str) -> None:
        self.bucket_path(bucket).mkdir(parents=True, exist_ok=True)

    @contextmanager
    def _folder(self, bucket: str, parts: Sequence[str], *, create: bool = False, where: str = "") -> Iterator[list[int]]:
        """Open the bucket's folder and ``parts`` below it, each without following a link.

        Yields the open descriptors, the bucket's first and ``parts[-1]``'s last.

        Raises:
            NotFoundError: a folder is missing (and ``create`` is false), or is a file.
            InvalidNameError: a folder is a symbolic link, or (``create``) a file of that name
                is in the way.
        """
        fds: list[int] = []
        if create:
            self.ensure_bucket(bucket)  # a folder-backed bucket exists once written to
        try:
            try:
                fds.append(os.open(self.bucket_path(bucket), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
            except (FileNotFoundError, NotADirectoryError):
                raise NotFoundError(f"no bucket {bucket}") from None
            for i, part in enumerate(parts):
                try:
                    fds.append(os.open(part, _DIR, dir_fd=fds[-1]))
                    continue
                except FileNotFoundError:
                    if not create:
                        raise NotFoundError(f"no object {where or _uri(bucket, '/'.join(parts))}") from None
                except OSError as exc:
                    if exc.errno not in (errno.ENOTDIR, errno.ELOOP):
                        raise
                    _refuse_entry(bucket, "/".join(parts[: i + 1]), fds[-1], part, where=where, writing=create)
                with suppress(FileExistsError):  # another writer made it meanwhile
                    os.mkdir(part, dir_fd=fds[-1])
                try:
                    fds.append(os.open(part, _DIR, dir_fd=fds[-1]))
                except OSError as exc:
                    if exc.errno not in (errno.ENOTDIR, errno.ELOOP):
                        raise
                    _refuse_entry(bucket, "/".join(parts[: i + 1]), fds[-1], part, where=where, writing=True)
            yield fds
        finally:
            for fd in reversed(fds):
                os.close(fd)

    @contextmanager
    def _open(self, bucket: str, key: str) -> Iterator[tuple[int, os.stat_result]]:
        """The object's file, opened for reading without following any link, and its stat.

        Raises:
            NotFoundError: no such object (or it is a folder).
            InvalidNameError: the object is a symbolic link or not a regular file.
        """
        parts = check_key(key).split("/")
        with self._folder(bucket, parts[:-1], where=_uri(bucket, key)) as fds:
            try:
                fd = os.open(parts[-1], _FILE, dir_fd=fds[-1])
            except FileNotFoundError:
                raise NotFoundError(f"no object {_uri(bucket, key)}") from None
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENXIO, errno.ENOTDIR):
                    raise
                _refuse_entry(bucket, key, fds[-1], parts[-1], where=_uri(bucket, key), writing=False)
        try:
            info = os.fstat(fd)
            if stat.S_ISDIR(info.st_mode):
                raise NotFoundError(f"no object {_uri(bucket, key)}")
            if not stat.S_ISREG(info.st_mode):
                raise InvalidNameError(f"{_uri(bucket, key)} is not a regular file; only files are objects")
            os.set_blocking(fd, True)
            yield fd, info
        finally:
            os.close(fd)

    def _meta_parts(self, key: str) -> list[str]:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return [_META, "meta", digest[:2], f"{digest}.json"]

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
        check_key(key)
        etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
        with self._staged(bucket) as (out, staged):
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
            return self._commit(bucket, key, staged, os.fstat(out.fileno()), etag, content_type, metadata)

    def put_file(self, bucket: str, key: str, path: str, *, content_type: str = "application/octet-stream") -> ObjectInfo:
        check_key(key)
        md5 = hashlib.md5(usedforsecurity=False)
        with self._staged(bucket) as (out, staged), open(path, "rb") as src:
            while block := src.read(_BLOCK):
                md5.update(block)
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
            return self._commit(bucket, key, staged, os.fstat(out.fileno()), md5.hexdigest(), content_type, None)

    @contextmanager
    def _staged(self, bucket: str) -> Iterator[tuple[BinaryIO, tuple[int, str]]]:
        """A new temporary file in the bucket's own folder (so that the commit is a rename), removed afterwards."""
        with self._folder(bucket, [_META, "tmp"], create=True) as fds:
            folder = os.dup(fds[-1])
        try:
            fd, name = _create(folder, "put-")
            with os.fdopen(fd, "wb") as out:
                try:
                    yield out, (folder, name)
                finally:
                    with suppress(FileNotFoundError):
                        os.unlink(name, dir_fd=folder)
        finally:
            os.close(folder)

    def _commit(
        self,
        bucket: str,
        key: str,
        staged: tuple[int, str],
        written: os.stat_result,
        etag: str,
        content_type: str,
        metadata: Mapping[str, str] | None,
    ) -> ObjectInfo:
        parts = key.split("/")
        # The sidecar is written first and describes the file by its fingerprint (a rename
        # keeps size, mtime and inode), so a crash between the two renames is detected and the
        # ETag recomputed. Writers, in any process, commit one at a time: the last one's
        # sidecar and file win together, as the last PUT does on S3.
        with self._commit_lock(bucket):
            meta = {
                "etag": etag,
                "content_type": content_type,
                "metadata": dict(metadata or {}),
                **_fingerprint(written),
                "sequencer": _next_sequencer(self._read_meta(bucket, key)),
            }
            self._write_meta(bucket, key, meta)
            with self._folder(bucket, parts[:-1], create=True, where=_uri(bucket, key)) as fds:
                try:
                    os.replace(staged[1], parts[-1], src_dir_fd=staged[0], dst_dir_fd=fds[-1])
                except OSError as exc:
                    if exc.errno not in (errno.EISDIR, errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
                        raise
                    raise InvalidNameError(
                        f"cannot store {_uri(bucket, key)}: objects under {key}/ exist, and a folder-backed bucket"
                        " cannot hold an object and a folder of one name (S3 can)"
                    ) from None
                os.fsync(fds[-1])
        return self._info(bucket, key, written, meta)

    @contextmanager
    def _commit_lock(self, bucket: str) -> Iterator[None]:
        with self._folder(bucket, [_META], create=True) as fds:
            fd = os.open("commit.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=fds[-1])
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def delete(self, bucket: str, key: str) -> None:
        parts = check_key(key).split("/")
        if not self.bucket_path(bucket).is_dir():
            return  # nothing is stored there (the lock would create the bucket's folder)
        with self._commit_lock(bucket):
            try:
                with self._folder(bucket, parts[:-1]) as fds:
                    try:
                        os.unlink(parts[-1], dir_fd=fds[-1])
                    except (FileNotFoundError, IsADirectoryError):
                        pass
                    except PermissionError:  # a folder of that name, on some systems
                        pass
                    # S3 has no folders: the ones that held only this object go with it.
                    for depth in range(len(parts) - 1, 0, -1):
                        try:
                            os.rmdir(parts[depth - 1], dir_fd=fds[depth - 1])
                        except OSError:
                            break
            except (NotFoundError, InvalidNameError):
                pass  # nothing of that name is stored (a missing key is no error on S3)
            self._delete_meta(bucket, key)

    # -- reads --------------------------------------------------------------

    def head(self, bucket: str, key: str) -> ObjectInfo:
        return self.observe(bucket, key)

    def observe(self, bucket: str, key: str, *, written: bool = False) -> ObjectInfo:
        """The object's metadata after reconciling its sidecar with the file as it is now.

        Args:
            written: the caller saw the file being written (closed after a write, or moved
                in), so a changed file is a new write even when its bytes are the same.

        Raises:
            NotFoundError: no such object.
            InvalidNameError: the object is a symbolic link or not a regular file.
        """
        with self._open(bucket, key) as (fd, found):
            meta = self._current_meta(bucket, key, fd, found, written=written)
        return self._info(bucket, key, found, meta)

    def _current_meta(self, bucket: str, key: str, fd: int, found: os.stat_result, *, written: bool) -> dict[str, Any]:
        meta = self._read_meta(bucket, key)
        if meta is not None and _matches(meta, found):
            return meta
        # Changed by another program (or a crash between our two renames): settle it under the
        # lock, unless a writer of this key commits in between (then its sidecar is the one to keep).
        with self._commit_lock(bucket):
            meta = self._read_meta(bucket, key)
            if meta is not None and _matches(meta, found):
                return meta
            etag = _md5_fd(fd)
            same_write = (
                meta is not None
                and not written
                and meta.get("etag") == etag
                and meta.get("ino", found.st_ino) == found.st_ino
            )
            fresh = {
                "etag": etag,
                "content_type": str(meta.get("content_type")) if same_write and meta else _guess_type(key),
                "metadata": dict(meta.get("metadata") or {}) if same_write and meta else {},
                **_fingerprint(found),
                "sequencer": _sequencer(meta, found) if same_write else _next_sequencer(meta),
            }
            self._write_meta(bucket, key, fresh)
            return fresh

    def _info(self, bucket: str, key: str, found: os.stat_result, meta: Mapping[str, Any]) -> ObjectInfo:
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=found.st_size,
            etag=str(meta["etag"]),
            last_modified=datetime.fromtimestamp(found.st_mtime, UTC),
            content_type=str(meta.get("content_type") or "application/octet-stream"),
            metadata={str(k): str(v) for k, v in dict(meta.get("metadata") or {}).items()},
            sequencer=_sequencer(meta, found),
        )

    def _read_meta(self, bucket: str, key: str) -> dict[str, Any] | None:
        parts = self._meta_parts(key)
        try:
            with self._folder(bucket, parts[:-1]) as fds:
                fd = os.open(parts[-1], _FILE, dir_fd=fds[-1])
            with os.fdopen(fd, "rb") as f:
                data = json.loads(f.read())
        except (NotFoundError, InvalidNameError, OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _write_meta(self, bucket: str, key: str, value: Mapping[str, Any]) -> None:
        """Write the sidecar atomically, through a temporary file of its own."""
        parts = self._meta_parts(key)
        with self._folder(bucket, parts[:-1], create=True) as fds:
            fd, name = _create(fds[-1], parts[-1])
            try:
                with os.fdopen(fd, "w") as out:
                    out.write(json.dumps(value))
                os.replace(name, parts[-1], src_dir_fd=fds[-1], dst_dir_fd=fds[-1])
            except BaseException:
                with suppress(OSError):
                    os.unlink(name, dir_fd=fds[-1])
                raise

    def _delete_meta(self, bucket: str, key: str) -> None:
        parts = self._meta_parts(key)
        with suppress(NotFoundError, InvalidNameError, FileNotFoundError), self._folder(bucket, parts[:-1]) as fds:
            os.unlink(parts[-1], dir_fd=fds[-1])

    def get(
        self, bucket: str, key: str, *, start: int | None = None, end: int | None = None, if_match: str | None = None
    ) -> bytes:
        with self._open(bucket, key) as (fd, found):
            self._check_match(bucket, key, fd, found, if_match)
            offset = start or 0
            length = max(0, (found.st_size if end is None else min(end, found.st_size)) - offset)
            parts: list[bytes] = []
            while length > 0:
                block = os.pread(fd, min(length, 1 << 30), offset)
                if not block:
                    break
                parts.append(block)
                offset += len(block)
                length -= len(block)
            self._check_unchanged(bucket, key, fd, found, if_match)
            return b"".join(parts)

    def download(
        self,
        bucket: str,
        key: str,
        path: str,
        *,
        start: int | None = None,
        end: int | None = None,
        if_match: str | None = None,
    ) -> None:
        with self._open(bucket, key) as (fd, found):
            self._check_match(bucket, key, fd, found, if_match)
            offset = start or 0
            remaining = max(0, (found.st_size if end is None else min(end, found.st_size)) - offset)
            with os.fdopen(os.dup(fd), "rb") as src, open(path, "wb") as out:
                _copy_range(src, out, offset, remaining)
            self._check_unchanged(bucket, key, fd, found, if_match)

    def _check_match(self, bucket: str, key: str, fd: int, found: os.stat_result, if_match: str | None) -> None:
        """S3's ``If-Match``: the object must still be the write whose ETag the caller holds."""
        if if_match is None:
            return
        etag = str(self._current_meta(bucket, key, fd, found, written=False)["etag"])
        if etag != _unquote(if_match):
            raise PreconditionFailedError(
                f"{_uri(bucket, key)} is not the version read before (ETag {_unquote(if_match)}, now {etag})"
            )

    def _check_unchanged(self, bucket: str, key: str, fd: int, before: os.stat_result, if_match: str | None) -> None:
        # A replacement by rename leaves our descriptor on the old file; a program writing
        # into the file itself changes what we read, and its size or mtime tells.
        if if_match is not None and _fingerprint(os.fstat(fd)) != _fingerprint(before):
            raise PreconditionFailedError(f"{_uri(bucket, key)} was changed in place while it was read")

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        root = self.bucket_path(bucket)
        if not root.is_dir():
            return
        keys: list[str] = []
        # os.walk never descends into a linked folder; linked files are refused by head().
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
                # A file another program put there that no object may be: left alone, never served.
                logger.warning("skipping a file that cannot be an object", extra={"bucket": bucket, "reason": str(exc)})
            except NotFoundError:
                continue  # deleted while listing


def _uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def _refuse_entry(bucket: str, shown: str, dir_fd: int, name: str, *, where: str, writing: bool) -> None:
    """Raise the error for an entry that is not what a path through a bucket may cross."""
    try:
        entry = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        raise NotFoundError(f"no object {where or _uri(bucket, shown)}") from None
    if stat.S_ISLNK(entry.st_mode):
        raise InvalidNameError(f"{_uri(bucket, shown)} is a symbolic link; links in a bucket are never followed")
    if writing:
        raise InvalidNameError(
            f"cannot store {where}: {shown} is an object, and a folder-backed bucket cannot hold"
            " an object and a folder of one name (S3 can)"
        )
    if stat.S_ISREG(entry.st_mode) or stat.S_ISDIR(entry.st_mode):
        raise NotFoundError(f"no object {where or _uri(bucket, shown)}")
    raise InvalidNameError(f"{_uri(bucket, shown)} is not a regular file; only files are objects")


def _create(folder: int, prefix: str) -> tuple[int, str]:
    """A new file with a random name in the open folder ``folder`` (never through a link)."""
    while True:
        name = f"{prefix}{secrets.token_hex(8)}.tmp"
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=folder), name
        except FileExistsError:
            continue


def _fingerprint(found: os.stat_result) -> dict[str, int]:
    return {"size": found.st_size, "mtime_ns": found.st_mtime_ns, "ino": found.st_ino}


def _matches(meta: Mapping[str, Any], found: os.stat_result) -> bool:
    return all(meta.get(name) == value for name, value in _fingerprint(found).items())


def _sequencer(meta: Mapping[str, Any] | None, found: os.stat_result) -> str:
    """The write's sequencer; sidecars written before writes had one derive it from the mtime."""
    if meta is not None and isinstance(meta.get("sequencer"), str):
        return str(meta["sequencer"])
    return f"{int(found.st_mtime * 1_000_000):016X}"


def _next_sequencer(previous: Mapping[str, Any] | None) -> str:
    """A sequencer for a new write of a key: later than the one before (S3 orders a key's writes by it)."""
    now = time.time_ns()
    try:
        last = int(str((previous or {}).get("sequencer")), 16)
    except ValueError:
        last = 0
    return f"{max(now, last + 1):016X}"


def _unquote(etag: str) -> str:
    return etag.strip().strip('"')


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


def _md5_fd(fd: int) -> str:
    md5 = hashlib.md5(usedforsecurity=False)
    offset = 0
    while block := os.pread(fd, _BLOCK, offset):
        md5.update(block)
        offset += len(block)
    return md5.hexdigest()


def _guess_type(key: str) -> str:
    lowered = key.lower()
    for suffix, kind in ((".csv", "text/csv"), (".json", "application/json"), (".jsonl", "application/x-ndjson")):
        if lowered.endswith(suffix):
            return kind
    return "application/octet-stream"
