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
import shutil
import stat
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, TypedDict, Unpack

from ...errors import ConflictError, InvalidNameError, NotFoundError, PreconditionFailedError
from ...names import check_bucket, check_key
from ...ports import ObjectInfo
from .checksums import digest, value_of

logger = logging.getLogger(__name__)

__all__ = [
    "CopyOptions",
    "FileObjectStore",
    "ObjectOptions",
    "ObjectReader",
    "WriteCondition",
    "WriteConditionError",
    "WriteOptions",
    "create_locked",
]

_META = ".sluiceway"
_UPLOADS = "uploads"
"""Where multipart uploads keep their parts, below ``_META``."""
_BLOCK = 8 * 1024 * 1024
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_BUCKET = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_BUCKET_DIRS = 1024
# O_NONBLOCK: opening a FIFO someone put in a bucket must not wait for a writer.
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_OBSERVE_TRIES = 5
_AMENDABLE = frozenset({"tags", "grants"})
"""What :meth:`FileObjectStore.amend` may change of an object: what S3 changes without writing it."""


@dataclass(frozen=True)
class WriteCondition:
    """S3's conditional write: what the key must hold for the write to happen.

    Checked under the bucket's commit lock, with the write itself: two writers that both
    ask for an absent key cannot both see it absent.
    """

    absent: bool = False
    """``If-None-Match: *``: the key holds no object."""
    etag: str | None = None
    """``If-Match``: the key holds the object with this ETag (quoted or not)."""


class WriteConditionError(PreconditionFailedError):
    """A conditional write's condition did not hold; nothing was written."""

    def __init__(self, message: str, *, header: str, missing: bool = False) -> None:
        super().__init__(message)
        self.header = header
        """The condition's HTTP header: ``If-None-Match`` or ``If-Match``."""
        self.missing = missing
        """``If-Match`` found no object at all (S3 answers NoSuchKey, not 412)."""


class ObjectOptions(TypedDict, total=False):
    """What a write may say besides the object's bytes: the keyword arguments every write takes."""

    content_type: str  # the object's Content-Type (default: application/octet-stream)
    metadata: Mapping[str, str] | None  # its user metadata (x-amz-meta-*)
    headers: Mapping[str, str] | None  # the HTTP headers S3 keeps with it, by S3's member name (CacheControl...)
    checksums: Mapping[str, str] | None  # its checksums, by S3's member name (ChecksumCRC32..., ChecksumType)
    condition: WriteCondition | None  # S3's If-None-Match/If-Match, checked with the write
    tags: Sequence[tuple[str, str]] | None  # its tags (S3's object tagging)
    storage_class: str | None  # S3's storage class (None: STANDARD)
    grants: Sequence[Mapping[str, str]] | None  # its ACL as S3 grants (None: the owner's FULL_CONTROL)
    part_checksums: Sequence[Mapping[str, str]] | None  # a composite multipart object's parts' checksums, in order


class WriteOptions(ObjectOptions, total=False):
    """:class:`ObjectOptions`, and what identifies the write to its writer's outbox."""

    write_id: str | None  # recorded in the object's sidecar: FileObjectStore.landed tells whether the write landed


class CopyOptions(TypedDict, total=False):
    """What a copy may say besides its source and destination: the keyword arguments copies take."""

    content_type: str | None  # replaces the source's (S3's MetadataDirective REPLACE); None keeps it
    metadata: Mapping[str, str] | None  # likewise
    headers: Mapping[str, str] | None  # likewise
    checksums: Mapping[str, str] | None  # replace the source's; None: see checksum_algorithm
    checksum_algorithm: str | None  # the copy's whole-object checksum (None: the source's algorithm, if it has one)
    if_match: str | None  # the source's ETag: the source must still be that version
    condition: WriteCondition | None  # what the destination key must hold (see FileObjectStore.put)
    tags: Sequence[tuple[str, str]] | None  # replace the source's tags (S3's TaggingDirective REPLACE); None keeps them
    storage_class: str | None  # the copy's storage class (None: STANDARD, as S3 gives a copy that names none)
    grants: Sequence[Mapping[str, str]] | None  # the copy's ACL (None: the default; S3 never copies an ACL)


class FileObjectStore:
    """An :class:`~sluiceway.ports.ObjectStore` on a local folder."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._dirs: dict[str, str] = {}

    # -- paths --------------------------------------------------------------

    def bucket_path(self, bucket: str) -> Path:
        return self.root / check_bucket(bucket)

    def _bucket_dir(self, bucket: str) -> str:
        """:meth:`bucket_path` as a string, the name checked once: every operation opens it, often several times."""
        found = self._dirs.get(bucket)
        if found is None:
            found = os.path.join(self.root, check_bucket(bucket))
            if len(self._dirs) >= _BUCKET_DIRS:
                self._dirs.clear()  # names come from clients: the cache stays small
            self._dirs[bucket] = found
        return found

    def _open_bucket(self, bucket: str, *, create: bool) -> int:
        """The bucket's folder, open (through a link, if it is one: its owner chose where it lives)."""
        path = self._bucket_dir(bucket)
        try:
            return os.open(path, _BUCKET)
        except (FileNotFoundError, NotADirectoryError):
            if not create:
                raise NotFoundError(f"no bucket {bucket}") from None
        self.ensure_bucket(bucket)  # a folder-backed bucket exists once written to
        try:
            return os.open(path, _BUCKET)
        except (FileNotFoundError, NotADirectoryError):
            raise NotFoundError(f"no bucket {bucket}") from None

    def ensure_bucket(self, bucket: str) -> None:
        self.bucket_path(bucket).mkdir(parents=True, exist_ok=True)

    def bucket_exists(self, bucket: str) -> bool:
        return self.bucket_path(bucket).is_dir()

    def create_bucket(self, bucket: str) -> bool:
        """Make the bucket's folder; False if it was there already."""
        try:
            self.bucket_path(bucket).mkdir(parents=True)
        except FileExistsError:
            if not self.bucket_path(bucket).is_dir():
                raise InvalidNameError(f"cannot create bucket {bucket}: a file of that name is in the way") from None
            return False
        return True

    def buckets(self) -> list[tuple[str, datetime]]:
        """The buckets (folders of the root with a bucket's name), sorted, with when their folders were made."""
        found: list[tuple[str, datetime]] = []
        with suppress(FileNotFoundError), os.scandir(self.root) as entries:
            for entry in entries:
                try:
                    check_bucket(entry.name)
                except InvalidNameError:
                    continue
                if entry.is_dir():
                    found.append((entry.name, datetime.fromtimestamp(entry.stat().st_ctime, UTC)))
        return sorted(found)

    def delete_bucket(self, bucket: str) -> None:
        """Remove an empty bucket's folder, and what Sluiceway kept in it (staging, metadata, uploads).

        Raises:
            NotFoundError: no such bucket.
            ConflictError: the bucket holds objects (or other files).
        """
        path = self.bucket_path(bucket)
        if not path.is_dir():
            raise NotFoundError(f"no bucket {bucket}")
        if self.keys(bucket):
            raise ConflictError(f"bucket {bucket} is not empty")
        if path.is_symlink():
            # The folder lives where its owner chose: emptied, and the link removed, never followed away.
            shutil.rmtree(path / _META, ignore_errors=True)
            path.unlink()
            return
        shutil.rmtree(path)

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
        try:
            fds.append(self._open_bucket(bucket, create=create))
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
        fd, info = self._open_fd(bucket, key)
        try:
            yield fd, info
        finally:
            os.close(fd)

    def _open_fd(self, bucket: str, key: str) -> tuple[int, os.stat_result]:
        """What :meth:`_open` yields; the caller closes the descriptor."""
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
        except BaseException:
            os.close(fd)
            raise
        return fd, info

    def _meta_parts(self, key: str) -> list[str]:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return [_META, "meta", digest[:2], f"{digest}.json"]

    # -- writes -------------------------------------------------------------

    def put(self, bucket: str, key: str, data: bytes, **options: Unpack[WriteOptions]) -> ObjectInfo:
        """Store ``data`` under ``key``; return the object's metadata.

        Args:
            options: the object's content type and metadata, S3's condition (``If-None-Match``/
                ``If-Match``, checked with the write), and the write's id in its writer's outbox
                (see :class:`WriteOptions` and :meth:`landed`).

        Raises:
            WriteConditionError: ``condition`` did not hold; nothing was written.
        """
        check_key(key)
        etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
        with self._staged(bucket) as (out, staged):
            out.write(data)
            return self._land(bucket, key, out, staged, etag, **options)

    def put_file(self, bucket: str, key: str, path: str, **options: Unpack[WriteOptions]) -> ObjectInfo:
        """Store the file at ``path`` under ``key`` (see :meth:`put`)."""
        check_key(key)
        md5 = hashlib.md5(usedforsecurity=False)
        with self._staged(bucket) as (out, staged), open(path, "rb") as src:
            while block := src.read(_BLOCK):
                md5.update(block)
                out.write(block)
            return self._land(bucket, key, out, staged, md5.hexdigest(), **options)

    def copy(
        self, source_bucket: str, source_key: str, bucket: str, key: str, *, write_id: str | None = None, **options: Unpack[CopyOptions]
    ) -> ObjectInfo:
        """Store a copy of an object (in the kernel where it can) under ``key``; return the copy's metadata.

        The copy keeps the source's content type and user metadata unless ``content_type``
        or ``metadata`` replace them (S3's ``MetadataDirective`` REPLACE).

        Args:
            write_id: see :class:`WriteOptions`.
            options: the source's version, what the destination must hold, and a replacement
                content type and metadata (see :class:`CopyOptions`).

        Raises:
            NotFoundError: no such source object.
            PreconditionFailedError: the source is another version than ``if_match``.
            WriteConditionError: ``condition`` did not hold for the destination.
        """
        check_key(key)
        if_match, content_type, metadata = options.get("if_match"), options.get("content_type"), options.get("metadata")
        headers, checksums = options.get("headers"), options.get("checksums")
        with self._open(source_bucket, source_key) as (fd, found):
            self._check_match(source_bucket, source_key, fd, found, if_match)
            # What the copy says of itself comes from the very file it copies, never from the
            # path again: a source replaced meanwhile would lend its ETag and checksums to these bytes.
            source = self._info(source_bucket, source_key, found, self._meta_of(source_bucket, source_key, fd, found))
            if checksums is None:
                checksums = _copy_checksums(fd, source.checksums, options.get("checksum_algorithm"))
            with self._staged(bucket) as (out, staged):
                with os.fdopen(os.dup(fd), "rb") as src:
                    copied = _copy_range(src, out, 0, found.st_size)
                if copied < found.st_size:
                    raise ConflictError(f"{_uri(source_bucket, source_key)} was cut short while it was copied")
                self._check_unchanged(source_bucket, source_key, fd, found, if_match, short=False)
                # A copy is written in one part: S3 gives it the MD5 of its bytes, even when the
                # source was uploaded in parts (its "-N" ETag is then not an MD5).
                etag = source.etag if "-" not in source.etag else _md5_fd(fd)
                return self._land(
                    bucket,
                    key,
                    out,
                    staged,
                    etag,
                    content_type=content_type if content_type is not None else source.content_type,
                    metadata=metadata if metadata is not None else source.metadata,
                    headers=headers if headers is not None else source.headers,
                    checksums=checksums,
                    condition=options.get("condition"),
                    tags=options["tags"] if options.get("tags") is not None else source.tags,
                    storage_class=options.get("storage_class"),
                    grants=options.get("grants"),
                    write_id=write_id,
                )

    def put_concatenation(
        self, bucket: str, key: str, folder: int, names: Sequence[str], *, etag: str, **options: Unpack[WriteOptions]
    ) -> ObjectInfo:
        """Store the files ``names`` of the open folder ``folder``, one after the other, as one object (a multipart upload's parts).

        ``etag`` is the object's ETag (S3's multipart ETag is not the MD5 of the bytes). The
        parts' sizes are kept with the object: S3 serves part *N* of it (``partNumber``).
        """
        check_key(key)
        sizes: list[int] = []
        with self._staged(bucket, "complete-") as (out, staged):
            for name in names:
                fd = os.open(name, _FILE, dir_fd=folder)
                try:
                    size = os.fstat(fd).st_size
                    with os.fdopen(os.dup(fd), "rb") as src:
                        if _copy_range(src, out, 0, size) < size:
                            raise ConflictError(f"part {name} of s3://{bucket}/{key} was cut short")
                finally:
                    os.close(fd)
                sizes.append(size)
                out.seek(0, os.SEEK_END)
            return self._land(bucket, key, out, staged, etag, parts=sizes, **options)

    @contextmanager
    def staging(self, bucket: str, *parts: str, create: bool = True) -> Iterator[int]:
        """An open folder ``.sluiceway/<parts>`` of the bucket (multipart uploads keep their parts there).

        Never reached through a link.

        Raises:
            NotFoundError: the folder is missing and ``create`` is false.
        """
        with self._folder(bucket, [_META, *parts], create=create) as fds:
            yield fds[-1]

    @contextmanager
    def _staged(self, bucket: str, prefix: str = "put-") -> Iterator[tuple[BinaryIO, tuple[int, str]]]:
        """A new temporary file in the bucket's own folder (so that the commit is a rename), removed afterwards.

        It is ``flock``ed while it lives: :meth:`clear_staging` removes only those whose
        writer is gone (a crash between writing and renaming leaves them behind).
        """
        with self._folder(bucket, [_META, "tmp"], create=True) as fds:
            folder = os.dup(fds[-1])
        try:
            fd, name = create_locked(folder, prefix)
            with os.fdopen(fd, "wb") as out:
                try:
                    yield out, (folder, name)
                finally:
                    with suppress(FileNotFoundError):
                        os.unlink(name, dir_fd=folder)
        finally:
            os.close(folder)

    def clear_staging(self, bucket: str) -> int:
        """Remove the temporary files that writers which are gone left in the bucket; return how many.

        Multipart uploads stay, with their parts: S3 keeps an upload until it is completed or
        aborted (only a lifecycle rule's AbortIncompleteMultipartUpload ends one by age, and
        local buckets have none), and each part was acknowledged to its client. Only the
        half-written files of parts and descriptions whose writer died go.
        """
        removed = 0
        with suppress(NotFoundError, InvalidNameError), self.staging(bucket, _UPLOADS, create=False) as uploads:
            for name in os.listdir(uploads):
                try:
                    upload = os.open(name, _DIR, dir_fd=uploads)
                except OSError:
                    continue  # not an upload's folder (or gone meanwhile)
                try:
                    # An upload's own files never start with a dot; its temporary ones all do.
                    removed += _remove_unlocked(upload, [n for n in os.listdir(upload) if n.startswith(".")])
                finally:
                    os.close(upload)
        with suppress(NotFoundError, InvalidNameError), self._folder(bucket, [_META, "tmp"]) as fds:
            removed += _remove_unlocked(fds[-1], os.listdir(fds[-1]))
        return removed

    def _land(
        self,
        bucket: str,
        key: str,
        out: BinaryIO,
        staged: tuple[int, str],
        etag: str,
        *,
        parts: Sequence[int] | None = None,
        **options: Unpack[WriteOptions],
    ) -> ObjectInfo:
        """Make the staged file ``out`` durable, then commit it as the key's object (see :meth:`_commit`)."""
        out.flush()
        os.fsync(out.fileno())
        written = os.fstat(out.fileno())
        return self._commit(bucket, key, staged, written, etag, options, parts=parts)

    def _commit(
        self,
        bucket: str,
        key: str,
        staged: tuple[int, str],
        written: os.stat_result,
        etag: str,
        options: WriteOptions,
        *,
        parts: Sequence[int] | None = None,
    ) -> ObjectInfo:
        parts_of_key = key.split("/")
        condition, write_id = options.get("condition"), options.get("write_id")
        # The sidecar is written first and describes the file by its fingerprint (a rename
        # keeps size, mtime and inode), so a crash between the two renames is detected and the
        # ETag recomputed. Writers, in any process, commit one at a time: the last one's
        # sidecar and file win together, as the last PUT does on S3 -- and a conditional
        # write's condition is checked here, under the same lock, so that it holds for the write.
        with self._commit_lock(bucket):
            self._check_condition(bucket, key, condition)
            previous = self._read_meta(bucket, key)
            meta: dict[str, Any] = {
                "etag": etag,
                "content_type": options.get("content_type") or "application/octet-stream",
                "metadata": dict(options.get("metadata") or {}),
                **_fingerprint(written),
                "sequencer": _next_sequencer(previous),
            }
            # Kept only when given: an object without them has a sidecar as it had before.
            if headers := options.get("headers"):
                meta["headers"] = dict(headers)
            if checksums := options.get("checksums"):
                meta["checksums"] = dict(checksums)
            if tags := options.get("tags"):
                meta["tags"] = [[str(k), str(v)] for k, v in tags]
            if (storage_class := options.get("storage_class")) and storage_class != "STANDARD":
                meta["storage_class"] = storage_class
            if (grants := options.get("grants")) is not None:
                meta["grants"] = [dict(g) for g in grants]
            if write_id is not None:
                meta["write"] = write_id
            if parts is not None:
                meta["parts"] = list(parts)
                if (part_checksums := options.get("part_checksums")) is not None and len(part_checksums) == len(parts):
                    meta["part_checksums"] = [dict(c) for c in part_checksums]
            if previous is not None:
                # If the rename below never happens (a crash), the file is still this one, and
                # it is still that write: recognised as such, not taken for a new one.
                meta["replaces"] = {k: v for k, v in previous.items() if k != "replaces"}
            self._write_meta(bucket, key, meta)
            with self._folder(bucket, parts_of_key[:-1], create=True, where=_uri(bucket, key)) as fds:
                try:
                    os.replace(staged[1], parts_of_key[-1], src_dir_fd=staged[0], dst_dir_fd=fds[-1])
                except OSError as exc:
                    if exc.errno not in (errno.EISDIR, errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
                        raise
                    raise InvalidNameError(
                        f"cannot store {_uri(bucket, key)}: objects under {key}/ exist, and a folder-backed bucket"
                        " cannot hold an object and a folder of one name (S3 can)"
                    ) from None
                os.fsync(fds[-1])
        return self._info(bucket, key, written, meta)

    def _check_condition(self, bucket: str, key: str, condition: WriteCondition | None) -> None:
        """Raise WriteConditionError unless the key holds what ``condition`` asks (call under the commit lock)."""
        if condition is None or (not condition.absent and condition.etag is None):
            return
        try:
            with self._open(bucket, key) as (fd, found):
                meta = self._read_meta(bucket, key)
                current: str | None = str(meta["etag"]) if meta is not None and _matches(meta, found) else _md5_fd(fd)
        except (NotFoundError, InvalidNameError):
            current = None  # a link or a FIFO is no object: the write replaces it
        if condition.absent and current is not None:
            raise WriteConditionError(f"{_uri(bucket, key)} exists", header="If-None-Match")
        if condition.etag is not None:
            if current is None:
                raise WriteConditionError(f"no object {_uri(bucket, key)}", header="If-Match", missing=True)
            if current != _unquote(condition.etag):
                raise WriteConditionError(
                    f"{_uri(bucket, key)} is another version (ETag {current}, not {_unquote(condition.etag)})", header="If-Match"
                )

    @contextmanager
    def _commit_lock(self, bucket: str) -> Iterator[None]:
        with self._folder(bucket, [_META], create=True) as fds:
            fd = os.open("commit.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=fds[-1])
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def delete(self, bucket: str, key: str, *, condition: WriteCondition | None = None) -> str:
        """Remove the object (a missing one is no error, as on S3); return the removal's sequencer.

        The sequencer is later than the key's last write's: S3 orders a key's events by it.

        Raises:
            WriteConditionError: ``condition`` (S3's ``If-Match``) did not hold; nothing was removed.
        """
        parts = check_key(key).split("/")
        if not self.bucket_path(bucket).is_dir():
            if condition is not None and condition.etag is not None:
                raise WriteConditionError(f"no object {_uri(bucket, key)}", header="If-Match", missing=True)
            return _next_sequencer(None)  # nothing is stored there (the lock would create the bucket's folder)
        with self._commit_lock(bucket):
            self._check_condition(bucket, key, condition)
            sequencer = _next_sequencer(self._read_meta(bucket, key))
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
        return sequencer

    def landed(self, bucket: str, key: str, write_id: str) -> ObjectInfo | None:
        """The object, if the key holds the very write that was given ``write_id`` (else None).

        How a writer's outbox tells, after the writer died, whether its write got into place.
        """
        try:
            with self._open(bucket, key) as (_, found):
                meta = self._read_meta(bucket, key)
        except (NotFoundError, InvalidNameError):
            return None
        if meta is None or meta.get("write") != write_id or not _matches(meta, found):
            return None
        return self._info(bucket, key, found, meta)

    # -- reads --------------------------------------------------------------

    def head(self, bucket: str, key: str) -> ObjectInfo:
        """The object's metadata; a file another program changed since it was observed gets its ETag computed.

        Only :meth:`observe` decides what such a change was and records it: a reader
        that looks first must not turn a new write into the old one (or the reverse).
        """
        with self._open(bucket, key) as (fd, found):
            meta = self._meta_of(bucket, key, fd, found)
        return self._info(bucket, key, found, meta)

    def observe(self, bucket: str, key: str, *, written: bool = False) -> ObjectInfo:
        """The object's metadata after reconciling its sidecar with the file as it is now, recorded.

        A file whose sidecar does not describe it was changed by another program (or by a
        writer that died between its two renames): it is a new write when its content or
        inode changed, or when ``written`` says the caller saw it being written; it keeps
        its write's identity when only its times changed (``touch``).

        Args:
            written: the caller saw the file being written (bytes written, or moved in), so a
                changed file is a new write even when its bytes are the same.

        Raises:
            NotFoundError: no such object.
            InvalidNameError: the object is a symbolic link or not a regular file.
        """
        for _ in range(_OBSERVE_TRIES):
            with self._open(bucket, key) as (fd, found):
                meta = self._read_meta(bucket, key)
                if meta is not None and _matches(meta, found):
                    return self._info(bucket, key, found, meta)
                etag = _md5_fd(fd)  # outside the lock: a big file must not hold up every writer
                with self._commit_lock(bucket):
                    if not self._still_at(bucket, key, found):
                        continue  # replaced while we read it: look at the new one
                    meta = self._read_meta(bucket, key)
                    if meta is not None and _matches(meta, found):
                        return self._info(bucket, key, found, meta)
                    fresh = _described(key, found, etag, meta, written=written, record=True)
                    self._write_meta(bucket, key, fresh)
                    return self._info(bucket, key, found, fresh)
        raise ConflictError(f"{_uri(bucket, key)} kept changing while it was read")

    def _still_at(self, bucket: str, key: str, found: os.stat_result) -> bool:
        """Whether the key's path still names the file ``found`` describes (not replaced since it was opened)."""
        parts = key.split("/")
        try:
            with self._folder(bucket, parts[:-1]) as fds:
                now = os.stat(parts[-1], dir_fd=fds[-1], follow_symlinks=False)
        except (NotFoundError, InvalidNameError, OSError):
            return False
        return (now.st_dev, now.st_ino) == (found.st_dev, found.st_ino)

    def _info(self, bucket: str, key: str, found: os.stat_result, meta: Mapping[str, Any]) -> ObjectInfo:
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=found.st_size,
            etag=str(meta["etag"]),
            last_modified=datetime.fromtimestamp(found.st_mtime, UTC),
            content_type=str(meta.get("content_type") or "application/octet-stream"),
            metadata={str(k): str(v) for k, v in dict(meta.get("metadata") or {}).items()},
            headers={str(k): str(v) for k, v in dict(meta.get("headers") or {}).items()},
            checksums={str(k): str(v) for k, v in dict(meta.get("checksums") or {}).items()},
            tags=tuple((str(k), str(v)) for k, v in meta.get("tags") or ()),
            storage_class=str(meta.get("storage_class") or "STANDARD"),
            grants=None if meta.get("grants") is None else tuple({str(k): str(v) for k, v in g.items()} for g in meta["grants"]),
            sequencer=_sequencer(meta, found),
        )

    def amend(self, bucket: str, key: str, **changes: Any) -> ObjectInfo:
        """Change what the object's sidecar says of it besides its bytes (``tags``, ``grants``; None removes one).

        Neither a new write nor an event (S3's PutObjectTagging and PutObjectAcl are not writes
        of the object): the sidecar is replaced atomically under the commit lock, for the very file
        it describes, so a concurrent write either comes before (and is amended) or after (and wins).

        Raises:
            NotFoundError: no such object.
            InvalidNameError: the object is a symbolic link or not a regular file.
        """
        unknown = set(changes) - _AMENDABLE
        if unknown:
            raise ValueError(f"cannot amend {sorted(unknown)} of an object")
        check_key(key)
        for _ in range(_OBSERVE_TRIES):
            self.observe(bucket, key)  # a sidecar that describes the file as it is now
            with self._commit_lock(bucket), self._open(bucket, key) as (_, found):
                meta = self._read_meta(bucket, key)
                if meta is None or not _matches(meta, found):
                    continue  # changed by another program meanwhile: observe it again
                for name, value in changes.items():
                    if value is None:
                        meta.pop(name, None)
                    elif name == "tags":
                        meta[name] = [[str(k), str(v)] for k, v in value]
                    else:
                        meta[name] = [dict(g) for g in value]
                self._write_meta(bucket, key, meta, sync=True)
                return self._info(bucket, key, found, meta)
        raise ConflictError(f"{_uri(bucket, key)} kept changing while it was amended")

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

    def _write_meta(self, bucket: str, key: str, value: Mapping[str, Any], *, sync: bool = False) -> None:
        """Write the sidecar atomically, through a temporary file of its own.

        With ``sync``, durably: a change answered to a client that is only in the sidecar (tags,
        an ACL) must survive a crash; a write's sidecar need not, its file's ETag is recomputed.
        """
        parts = self._meta_parts(key)
        with self._staged(bucket, "meta-") as (out, staged), self._folder(bucket, parts[:-1], create=True) as fds:
            out.write(json.dumps(value).encode())
            out.flush()
            if sync:
                os.fsync(out.fileno())
            os.replace(staged[1], parts[-1], src_dir_fd=staged[0], dst_dir_fd=fds[-1])
            if sync:
                os.fsync(fds[-1])

    def _delete_meta(self, bucket: str, key: str) -> None:
        parts = self._meta_parts(key)
        with suppress(NotFoundError, InvalidNameError, FileNotFoundError), self._folder(bucket, parts[:-1]) as fds:
            os.unlink(parts[-1], dir_fd=fds[-1])

    def get(self, bucket: str, key: str, *, start: int | None = None, end: int | None = None, if_match: str | None = None) -> bytes:
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
            self._check_unchanged(bucket, key, fd, found, if_match, short=length > 0)
            return b"".join(parts)

    def reader(self, bucket: str, key: str) -> ObjectReader:
        """The object, open: its metadata now, and its bytes read from that very file later (S3's GetObject).

        A replacement meanwhile does not change what the reader reads (it holds the file).
        Close it (or read it to the end); the descriptor is closed when it is collected too.

        Raises:
            NotFoundError: no such object.
            InvalidNameError: the object is a symbolic link or not a regular file.
        """
        fd, found = self._open_fd(bucket, key)
        try:
            meta = self._meta_of(bucket, key, fd, found)
            info = self._info(bucket, key, found, meta)
        except BaseException:
            os.close(fd)
            raise
        sizes = _part_sizes(meta, found.st_size)
        return ObjectReader(fd, info, sizes, _part_checksums(meta, sizes))

    def _meta_of(self, bucket: str, key: str, fd: int, found: os.stat_result) -> dict[str, Any]:
        """The sidecar of the open file ``fd`` (stat ``found``): the one kept, if it describes that very file.

        Else (the file was replaced, or changed by another program, since the sidecar was written)
        it is described from its own bytes: what is read of it and what is said of it agree.
        """
        meta = self._read_meta(bucket, key)
        if meta is None or not _matches(meta, found):
            meta = _described(key, found, _md5_fd(fd), meta, written=False, record=False)
        return meta

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
                copied = _copy_range(src, out, offset, remaining)
            self._check_unchanged(bucket, key, fd, found, if_match, short=copied < remaining)

    def _check_match(self, bucket: str, key: str, fd: int, found: os.stat_result, if_match: str | None) -> None:
        """S3's ``If-Match``: the object must still be the write whose ETag the caller holds."""
        if if_match is None:
            return
        meta = self._read_meta(bucket, key)
        etag = str(meta["etag"]) if meta is not None and _matches(meta, found) else _md5_fd(fd)
        if etag != _unquote(if_match):
            raise PreconditionFailedError(f"{_uri(bucket, key)} is not the version read before (ETag {_unquote(if_match)}, now {etag})")

    def _check_unchanged(self, bucket: str, key: str, fd: int, before: os.stat_result, if_match: str | None, *, short: bool) -> None:
        """After a pinned read: the bytes read were the version asked for, whatever happened meanwhile.

        A replacement by rename leaves our descriptor on the old file (what we read is
        that version); a program writing into the file itself changes its size or mtime,
        and then its content decides (``touch`` changes the time, not the version).
        """
        if if_match is None:
            return
        if short:
            raise PreconditionFailedError(f"{_uri(bucket, key)} was cut short while it was read")
        if _fingerprint(os.fstat(fd)) != _fingerprint(before) and _md5_fd(fd) != _unquote(if_match):
            raise PreconditionFailedError(f"{_uri(bucket, key)} was changed in place while it was read")

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """The names of the files under the bucket's folder that start with ``prefix``, sorted.

        Not every one need be an object (a link, a FIFO, a name no key may have): :meth:`head` says.
        """
        root = self.bucket_path(bucket)
        if not root.is_dir():
            return []
        keys: list[str] = []
        # os.walk never descends into a linked folder; linked files are refused by head().
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d != _META]
            rel = os.path.relpath(dirpath, root)
            for name in filenames:
                key = name if rel == "." else f"{rel}/{name}".replace(os.sep, "/")
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        for key in self.keys(bucket, prefix):
            try:
                yield self.head(bucket, key)
            except InvalidNameError as exc:
                # A file another program put there that no object may be: left alone, never served.
                logger.warning("skipping a file that cannot be an object", extra={"bucket": bucket, "reason": str(exc)})
            except NotFoundError:
                continue  # deleted while listing


class ObjectReader:
    """An object's file held open (see :meth:`FileObjectStore.reader`)."""

    def __init__(
        self,
        fd: int,
        info: ObjectInfo,
        part_sizes: Sequence[int] | None = None,
        part_checksums: Sequence[Mapping[str, str]] | None = None,
    ) -> None:
        self.info = info
        self.part_sizes = tuple(part_sizes) if part_sizes is not None else None
        """The sizes of the parts it was uploaded in (a completed multipart upload), in order; else None."""
        self.part_checksums = tuple(part_checksums) if part_checksums is not None else None
        """Each part's checksum (``ChecksumCRC32``: value) of a composite multipart object, in order; else None."""
        self._fd = fd
        self._finalizer = weakref.finalize(self, os.close, fd)

    def read(self, start: int = 0, end: int | None = None) -> bytes:
        """The bytes ``[start, end)`` (``end`` None: to the end)."""
        return b"".join(self.chunks(start, end, close=False))

    def chunks(self, start: int = 0, end: int | None = None, *, size: int = 1 << 20, close: bool = True) -> Iterator[bytes]:
        """The bytes ``[start, end)`` in blocks of ``size``; with ``close``, the file is closed after the last one."""
        offset = start
        stop = self.info.size if end is None else min(end, self.info.size)
        try:
            while offset < stop:
                block = os.pread(self._fd, min(size, stop - offset), offset)
                if not block:
                    raise ConflictError(f"{_uri(self.info.bucket, self.info.key)} was cut short while it was read")
                offset += len(block)
                yield block
        finally:
            if close:
                self.close()

    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> ObjectReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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


def _part_sizes(meta: Mapping[str, Any], size: int) -> list[int] | None:
    """The part sizes a sidecar keeps, if they describe a file of ``size`` bytes."""
    parts = meta.get("parts")
    if not isinstance(parts, list) or not all(isinstance(p, int) and p >= 0 for p in parts) or sum(parts) != size:
        return None
    return parts


def _remove_unlocked(folder: int, names: Sequence[str]) -> int:
    """Remove the files ``names`` of the open folder that no writer holds (see :func:`create_locked`); return how many."""
    removed = 0
    for name in names:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=folder)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # being written
        else:
            with suppress(FileNotFoundError):
                os.unlink(name, dir_fd=folder)
                removed += 1
        finally:
            os.close(fd)
    return removed


def create_locked(folder: int, prefix: str) -> tuple[int, str]:
    """A new temporary file ``<prefix><random>.tmp`` in the open folder ``folder`` (never through a link), ``flock``ed.

    The lock lives as long as the descriptor: :meth:`FileObjectStore.clear_staging` removes
    only the temporary files whose writer is gone.
    """
    while True:
        name = f"{prefix}{secrets.token_hex(8)}.tmp"
        try:
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=folder)
        except FileExistsError:
            continue
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd, name


def _described(
    key: str, found: os.stat_result, etag: str, meta: Mapping[str, Any] | None, *, written: bool, record: bool
) -> dict[str, Any]:
    """A sidecar for the file ``found`` (content ``etag``) that ``meta`` no longer describes.

    The same write when a writer died between its two renames (the file is still the one
    ``meta`` replaces), or when only the times changed; otherwise a new write, which gets
    a new sequencer only once it is ``record``ed (until then it has none).
    """
    replaced = meta.get("replaces") if meta is not None else None
    if isinstance(replaced, Mapping) and _matches(replaced, found):
        return dict(replaced)
    same_write = meta is not None and not written and meta.get("etag") == etag and meta.get("ino", found.st_ino) == found.st_ino
    if same_write and meta is not None:
        return {**meta, **_fingerprint(found), "sequencer": _sequencer(meta, found)}
    fresh: dict[str, Any] = {"etag": etag, "content_type": _guess_type(key), "metadata": {}, **_fingerprint(found)}
    if record:
        fresh["sequencer"] = _next_sequencer(meta)
    else:
        fresh["sequencer"] = None
    return fresh


def _copy_checksums(fd: int, source: Mapping[str, str], algorithm: str | None) -> dict[str, str]:
    """A copy's checksum: of the whole object, of the algorithm asked for, else of the source's.

    A copy is written in one part: S3 gives it a FULL_OBJECT checksum, computed again when the
    source's is composite (it describes parts the copy has not) or of another algorithm.
    """
    kept = value_of(source)
    wanted = algorithm or (kept[0] if kept is not None else None)
    if wanted is None:
        return {}
    if kept is not None and kept[0] == wanted and source.get("ChecksumType", "FULL_OBJECT") == "FULL_OBJECT":
        return {f"Checksum{wanted}": kept[1], "ChecksumType": "FULL_OBJECT"}
    return {f"Checksum{wanted}": digest(wanted, _blocks(fd)), "ChecksumType": "FULL_OBJECT"}


def _blocks(fd: int) -> Iterator[bytes]:
    offset = 0
    while block := os.pread(fd, _BLOCK, offset):
        offset += len(block)
        yield block


def _part_checksums(meta: Mapping[str, Any], sizes: Sequence[int] | None) -> list[dict[str, str]] | None:
    """The parts' checksums a sidecar keeps, if they go with the part sizes it keeps."""
    found = meta.get("part_checksums")
    if sizes is None or not isinstance(found, list) or len(found) != len(sizes) or not all(isinstance(c, dict) for c in found):
        return None
    return [{str(k): str(v) for k, v in c.items()} for c in found]


def _fingerprint(found: os.stat_result) -> dict[str, int]:
    return {"size": found.st_size, "mtime_ns": found.st_mtime_ns, "ino": found.st_ino}


def _matches(meta: Mapping[str, Any], found: os.stat_result) -> bool:
    return all(meta.get(name) == value for name, value in _fingerprint(found).items())


def _sequencer(meta: Mapping[str, Any] | None, found: os.stat_result) -> str | None:
    """The write's sequencer: None for a new write not yet observed.

    Sidecars written before writes had one derive it from the mtime exactly as events were
    named then, so that an upgrade does not take old writes for new ones.
    """
    if meta is not None and "sequencer" in meta:
        value = meta["sequencer"]
        return str(value) if isinstance(value, str) else None
    return f"{int(datetime.fromtimestamp(found.st_mtime, UTC).timestamp() * 1_000_000):016X}"


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


def _copy_range(src: BinaryIO, out: BinaryIO, offset: int, length: int) -> int:
    """Copy ``length`` bytes of ``src`` from ``offset`` to ``out`` (in the kernel where it can); return how many it copied.

    Fewer than ``length`` only when the source ends sooner (it was cut short meanwhile).
    """
    wanted = length
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
            return wanted
        # What is left goes through user space, until the source really ends.
        out.seek(0, os.SEEK_END)
    src.seek(offset)
    while length > 0:
        block = src.read(min(_BLOCK, length))
        if not block:
            break
        out.write(block)
        length -= len(block)
    return wanted - length


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
