"""Multipart uploads of the folder-backed buckets: parts staged in the bucket until the upload completes.

An upload is a folder ``<bucket>/.sluiceway/uploads/<upload id>/`` holding ``upload.json``
(its key, content type, user metadata, when it started) and, per part, the part's bytes
(``00001.part``) and what S3 reports of it (``00001.json``: ETag, size, checksums). A
part uploaded again replaces the previous one, as on S3. Completing an upload stores the
chosen parts as one object through the bucket's writer (one write, one event) and
removes the parts (the rest, :data:`COMPLETED_KEPT` later); aborting removes the folder.

A completion holds the upload's lock (``flock`` on its folder, across processes) and records
itself in ``completed.json`` before it writes (the write's id and the key's sequencer before
it), then its result once written, then removes the parts; a folder's removal takes
``upload.json`` first and ``completed.json`` last. A completion that finds the record -- a client's retry after the
completing process was killed, or a second completion that waited for the lock -- answers
with the recorded result and writes nothing again (see :class:`Completion`). Nothing else ends an upload: S3 keeps one until
it is completed or aborted, across restarts (a part is acknowledged only once it is
fsynced, and so is the folder entry that names it). A stack start removes only the
temporary files of writes that died (:meth:`FileObjectStore.clear_staging`).

Everything is reached through the bucket's folder without following links (the
store's ``staging``), and file names are made here, never taken from a request.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import secrets
import shutil
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from ...errors import NotFoundError
from ...names import check_key
from .objects import FileObjectStore, create_locked

logger = logging.getLogger(__name__)

__all__ = ["COMPLETED_KEPT", "MAX_PART_NUMBER", "Completion", "MultipartUploads", "Part", "Staged", "UPLOAD_ID", "Upload", "position_of"]

MAX_PART_NUMBER: Final = 10_000
_UPLOADS: Final = "uploads"
_COMPLETED: Final = "completed.json"
COMPLETED_KEPT: Final = timedelta(minutes=15)
"""How long a completed upload still answers a retried completion with its result.

S3 answers such a retry with the completion's result for a while, then NoSuchUpload; the
bucket's next CreateMultipartUpload after this long removes what is left of the upload."""
UPLOAD_ID: Final = re.compile(r"^(?:[0-9a-f]{16}[0-9A-Za-z_-]{32}|[0-9A-Za-z_-]{43})$")
"""An upload id: 16 hex digits of when it started (ns since the epoch) and a random token; or,
for uploads made before ids said when they started, 43 random characters (still read)."""
_ORDERED_ID: Final = re.compile(r"^([0-9a-f]{16})[0-9A-Za-z_-]{32}$")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Upload:
    """A multipart upload in progress."""

    bucket: str
    key: str
    upload_id: str
    initiated: datetime
    content_type: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    checksum_algorithm: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    """The HTTP headers the object will keep (see :attr:`~sluiceway.ports.ObjectInfo.headers`)."""
    tags: tuple[tuple[str, str], ...] = ()
    """The tags the object will have."""
    storage_class: str = "STANDARD"
    grants: tuple[Mapping[str, str], ...] | None = None
    """The object's ACL (None: the owner's FULL_CONTROL)."""
    checksum_type: str | None = None
    """``COMPOSITE`` or ``FULL_OBJECT``: what the object's checksum will be of (None without an algorithm)."""

    @property
    def position(self) -> tuple[int, str]:
        """Where the upload lists among its key's: by when it started, then by id (see :func:`position_of`)."""
        return position_of(self.upload_id) or (_nanoseconds(self.initiated), self.upload_id)


def position_of(upload_id: str) -> tuple[int, str] | None:
    """An upload's :attr:`Upload.position`, from its id alone (None: an id that does not say when it started).

    S3 pages its uploads with the last one listed as the marker: the next page starts after it
    even when that upload is gone (aborted or completed by the client paging through them).
    """
    found = _ORDERED_ID.match(upload_id)
    return None if found is None else (int(found.group(1), 16), upload_id)


def _nanoseconds(moment: datetime) -> int:
    # Exact (datetimes have microseconds), where a float timestamp would round.
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000


@dataclass(frozen=True)
class Part:
    """One uploaded part."""

    number: int
    etag: str
    """The MD5 of the part's bytes, hex, unquoted."""
    size: int
    last_modified: datetime
    checksums: Mapping[str, str] = field(default_factory=dict)
    """``ChecksumCRC32`` and the like, as the client sent them (and S3 checked them)."""

    @property
    def file(self) -> str:
        return f"{self.number:05d}.part"


@dataclass(frozen=True)
class Completion:
    """A completion of an upload, recorded in its folder before the object is written (and again once it is)."""

    write_id: str
    """The object's write (see :meth:`FileObjectStore.landed`)."""
    etag: str
    before: str | None
    """The key's sequencer when the completion began (None: no object): had it not changed, the write never landed."""
    answer: Mapping[str, str] = field(default_factory=dict)
    """What the completion answers besides the ETag (the composite checksum)."""
    done: bool = False
    """The object is written: the upload is completed, whatever is left of its folder."""
    version_id: str | None = None
    sequencer: str | None = None


@dataclass(frozen=True)
class Staged:
    """An upload being completed, its lock held: its open folder, its parts, its recorded completion if any."""

    upload: Upload
    folder: int
    parts: Mapping[int, Part]
    completion: Completion | None


class MultipartUploads:
    """The multipart uploads of a :class:`FileObjectStore`'s buckets."""

    def __init__(self, files: FileObjectStore) -> None:
        self.files = files
        self._started = 0
        self._started_lock = threading.Lock()

    def _start_mark(self, initiated: datetime) -> int:
        """When an upload started, in ns: later than this store's previous upload's (a clock may stand still, or step back)."""
        with self._started_lock:
            self._started = max(_nanoseconds(initiated), self._started + 1)
            return self._started

    def create(
        self,
        bucket: str,
        key: str,
        *,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
        checksum_algorithm: str | None = None,
        checksum_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        tags: Sequence[tuple[str, str]] = (),
        storage_class: str = "STANDARD",
        grants: Sequence[Mapping[str, str]] | None = None,
        now: datetime,
    ) -> Upload:
        check_key(key)
        self._finish_removals(bucket, now)
        initiated = now.astimezone(UTC)
        # Ids sort as the uploads started (a marker still places itself once its upload is gone);
        # 48 characters, safe in a file name.
        upload_id = f"{self._start_mark(initiated):016x}{secrets.token_urlsafe(24)}"
        upload = Upload(
            bucket,
            key,
            upload_id,
            initiated,
            content_type,
            dict(metadata or {}),
            checksum_algorithm,
            dict(headers or {}),
            tuple(tags),
            storage_class,
            None if grants is None else tuple(grants),
            checksum_type,
        )
        with self.files.staging(bucket, _UPLOADS) as folder:
            os.mkdir(upload_id, dir_fd=folder)
            with self._folder(bucket, upload_id) as own:
                _write_json(
                    own,
                    "upload.json",
                    {
                        "key": key,
                        "initiated": upload.initiated.isoformat(),
                        "content_type": content_type,
                        "metadata": upload.metadata,
                        "checksum_algorithm": checksum_algorithm,
                        "checksum_type": checksum_type,
                        "headers": upload.headers,
                        "tags": [list(tag) for tag in upload.tags],
                        "storage_class": storage_class,
                        "grants": None if grants is None else [dict(g) for g in grants],
                    },
                )
            # The upload's folder entry survives a power loss before its id is handed out (and so
            # does the uploads folder, made by the bucket's first upload).
            os.fsync(folder)
        with self.files.staging(bucket) as meta:
            os.fsync(meta)
        return upload

    @contextmanager
    def _folder(self, bucket: str, upload_id: str) -> Iterator[int]:
        if not UPLOAD_ID.match(upload_id):
            raise NotFoundError(f"no upload {upload_id!r}")
        try:
            with self.files.staging(bucket, _UPLOADS, upload_id, create=False) as folder:
                yield folder
        except NotFoundError:
            raise NotFoundError(f"no upload {upload_id!r} in bucket {bucket}") from None

    def get(self, bucket: str, upload_id: str, key: str | None = None) -> Upload:
        """The upload (of ``key``, when given).

        Raises:
            NotFoundError: no such upload (or it is another key's).
        """
        with self._folder(bucket, upload_id) as folder:
            return self._upload(bucket, upload_id, folder, key)

    def _upload(self, bucket: str, upload_id: str, folder: int, key: str | None, *, completed: bool = False) -> Upload:
        data = _read_json(folder, "upload.json")
        if not completed and data is not None and self._completed(bucket, str(data.get("key")), folder):
            data = None  # completed: only its folder's removal is left
        if data is None or (key is not None and data.get("key") != key):
            raise NotFoundError(f"no upload {upload_id!r} of {key!r} in bucket {bucket}")
        return Upload(
            bucket,
            str(data["key"]),
            upload_id,
            datetime.fromisoformat(str(data["initiated"])),
            str(data.get("content_type") or "binary/octet-stream"),
            {str(k): str(v) for k, v in dict(data.get("metadata") or {}).items()},
            data.get("checksum_algorithm"),
            {str(k): str(v) for k, v in dict(data.get("headers") or {}).items()},
            tuple((str(k), str(v)) for k, v in data.get("tags") or ()),
            str(data.get("storage_class") or "STANDARD"),
            None if data.get("grants") is None else tuple({str(k): str(v) for k, v in g.items()} for g in data["grants"]),
            # Uploads made before the type was kept had composite checksums, S3's default then.
            data.get("checksum_type") or ("COMPOSITE" if data.get("checksum_algorithm") else None),
        )

    def _completed(self, bucket: str, key: str, folder: int) -> bool:
        """Whether the upload is completed: recorded done, or its recorded write landed (its completer was killed)."""
        record = _completion(folder)
        return record is not None and (record.done or self.files.landed(bucket, key, record.write_id) is not None)

    def put_part(
        self, bucket: str, upload_id: str, key: str, number: int, data: bytes, *, etag: str, checksums: Mapping[str, str], now: datetime
    ) -> Part:
        """Store part ``number`` (replacing one of that number), fsynced.

        Raises:
            NotFoundError: no such upload.
            ValueError: ``number`` is not 1-10000.
        """
        if not 1 <= number <= MAX_PART_NUMBER:
            raise ValueError(f"part number {number} is not 1-{MAX_PART_NUMBER}")
        with self._folder(bucket, upload_id) as folder:
            self._upload(bucket, upload_id, folder, key)
            part = Part(number, etag, len(data), now.astimezone(UTC), dict(checksums))
            # Locked while written: a stack start removes the temporary files nobody holds.
            fd, staged = create_locked(folder, f".{part.file}.")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                    # What S3 reports of the part is written before the part: a part file is never
                    # without its description (a stale description of a replaced part is overwritten).
                    _write_json(folder, f"{number:05d}.json", _part_json(part), sync=False)
                    os.replace(staged, part.file, src_dir_fd=folder, dst_dir_fd=folder)
                    os.fsync(folder)  # both renames, before the part is acknowledged
            finally:
                with suppress(FileNotFoundError):
                    os.unlink(staged, dir_fd=folder)
            return part

    def parts(self, bucket: str, upload_id: str, key: str | None = None) -> list[Part]:
        """The upload's parts, by number."""
        with self._folder(bucket, upload_id) as folder:
            self._upload(bucket, upload_id, folder, key)
            return self._parts(folder)

    def _parts(self, folder: int) -> list[Part]:
        found: list[Part] = []
        for name in sorted(os.listdir(folder)):
            if not re.fullmatch(r"\d{5}\.part", name):
                continue
            data = _read_json(folder, name.replace(".part", ".json"))
            if data is None:
                continue
            found.append(
                Part(
                    int(data["number"]),
                    str(data["etag"]),
                    int(data["size"]),
                    datetime.fromisoformat(str(data["last_modified"])),
                    {str(k): str(v) for k, v in dict(data.get("checksums") or {}).items()},
                )
            )
        return found

    @contextmanager
    def staged(self, bucket: str, upload_id: str, key: str) -> Iterator[Staged]:
        """The upload, for completing it, under its lock (held until the block ends).

        The caller records its completion (:meth:`record`) before writing the object and once
        it is written, then removes the upload (:meth:`remove`). ``completion`` is a completion
        recorded before: a retry's (or a concurrent completion's) answer.

        Raises:
            NotFoundError: no such upload (aborted, or completed and removed).
        """
        with self._folder(bucket, upload_id) as folder:
            # Completions (and aborts) of one upload, in any process, one at a time. A completion that
            # waited for another finds its record; after the folder's removal, nothing (NoSuchUpload).
            fcntl.flock(folder, fcntl.LOCK_EX)
            upload = self._upload(bucket, upload_id, folder, key, completed=True)
            yield Staged(upload, folder, {p.number: p for p in self._parts(folder)}, _completion(folder))

    def part_blocks(self, folder: int, part: Part, size: int = 1 << 20) -> Iterator[bytes]:
        """The bytes of ``part`` of the upload whose folder :meth:`staged` gave, in blocks of ``size``."""
        fd = os.open(part.file, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
        try:
            offset = 0
            while block := os.pread(fd, size, offset):
                offset += len(block)
                yield block
        finally:
            os.close(fd)

    def record(self, folder: int, completion: Completion | None) -> None:
        """Record (durably) the completion of the upload whose folder :meth:`staged` gave; None: forget it (nothing was written)."""
        if completion is None:
            with suppress(FileNotFoundError):
                os.unlink(_COMPLETED, dir_fd=folder)
                os.fsync(folder)
            return
        _write_json(
            folder,
            _COMPLETED,
            {
                "write_id": completion.write_id,
                "etag": completion.etag,
                "before": completion.before,
                "answer": dict(completion.answer),
                "done": completion.done,
                "version_id": completion.version_id,
                "sequencer": completion.sequencer,
            },
        )

    def abort(self, bucket: str, upload_id: str, key: str | None = None) -> None:
        """Remove the upload and its parts.

        Raises:
            NotFoundError: no such upload (or it is completed).
        """
        with self._folder(bucket, upload_id) as folder:
            fcntl.flock(folder, fcntl.LOCK_EX)  # not while it is being completed
            self._upload(bucket, upload_id, folder, key)
            self.remove(bucket, upload_id)

    def retire(self, folder: int) -> None:
        """Remove a completed upload's parts (of the folder :meth:`staged` gave, once its completion is recorded done).

        Its description and its completion's record stay :data:`COMPLETED_KEPT`: a retried (or a
        concurrent, waiting) completion finds the result there, and nothing else finds the upload.
        """
        for name in os.listdir(folder):
            if name not in ("upload.json", _COMPLETED):
                with suppress(FileNotFoundError):
                    os.unlink(name, dir_fd=folder)
        os.fsync(folder)

    def remove(self, bucket: str, upload_id: str) -> None:
        """Remove the upload's folder (an aborted one, or a completed one), or what a removal that died left of it.

        ``upload.json`` goes first (the upload is gone) and ``completed.json`` last (a completed
        upload's retry still finds its result until the folder is gone).
        """
        if not UPLOAD_ID.match(upload_id):
            raise ValueError(f"not an upload id: {upload_id!r}")
        with self.files.staging(bucket, _UPLOADS, create=False) as uploads:
            with suppress(FileNotFoundError, NotADirectoryError):
                folder = os.open(upload_id, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=uploads)
                try:
                    with suppress(FileNotFoundError):
                        os.unlink("upload.json", dir_fd=folder)
                        os.fsync(folder)
                    for name in os.listdir(folder):
                        if name != _COMPLETED:
                            with suppress(FileNotFoundError):
                                os.unlink(name, dir_fd=folder)
                    with suppress(FileNotFoundError):
                        os.unlink(_COMPLETED, dir_fd=folder)
                finally:
                    os.close(folder)
            shutil.rmtree(upload_id, dir_fd=uploads, ignore_errors=True)
            os.fsync(uploads)  # an aborted (or completed) upload does not come back after a power loss

    def _finish_removals(self, bucket: str, now: datetime) -> None:
        """Remove what is left of the uploads completed :data:`COMPLETED_KEPT` ago (and of those whose completer was killed)."""
        names: list[str] = []
        with suppress(NotFoundError), self.files.staging(bucket, _UPLOADS, create=False) as uploads:
            names = [n for n in os.listdir(uploads) if UPLOAD_ID.match(n)]
        for name in names:
            with suppress(NotFoundError), self._folder(bucket, name) as folder:
                try:
                    fcntl.flock(folder, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # being completed now: its completion removes it
                record = _completion(folder)
                with suppress(FileNotFoundError):
                    recorded = os.stat(_COMPLETED, dir_fd=folder, follow_symlinks=False).st_mtime
                    if record is not None and record.done and now.timestamp() - recorded >= COMPLETED_KEPT.total_seconds():
                        self.remove(bucket, name)

    def find(self, bucket: str, upload_id: str) -> Upload | None:
        """The upload in progress of that id, whatever its key; None if there is none (or the id is no upload id)."""
        try:
            return self.get(bucket, upload_id)
        except NotFoundError:
            return None

    def list(self, bucket: str) -> list[Upload]:
        """The bucket's uploads in progress, by key, then by :attr:`Upload.position` (when they started, then id)."""
        try:
            with self.files.staging(bucket, _UPLOADS, create=False) as folder:
                names = os.listdir(folder)
        except NotFoundError:
            return []
        uploads: list[Upload] = []
        for name in names:
            with suppress(NotFoundError):
                uploads.append(self.get(bucket, name))
        return sorted(uploads, key=lambda u: (u.key, u.position))


def _completion(folder: int) -> Completion | None:
    data = _read_json(folder, _COMPLETED)
    if data is None:
        return None
    return Completion(
        str(data["write_id"]),
        str(data["etag"]),
        None if data.get("before") is None else str(data["before"]),
        {str(k): str(v) for k, v in dict(data.get("answer") or {}).items()},
        bool(data.get("done")),
        None if data.get("version_id") is None else str(data["version_id"]),
        None if data.get("sequencer") is None else str(data["sequencer"]),
    )


def _part_json(part: Part) -> dict[str, Any]:
    return {
        "number": part.number,
        "etag": part.etag,
        "size": part.size,
        "last_modified": part.last_modified.isoformat(),
        "checksums": dict(part.checksums),
    }


def _write_json(folder: int, name: str, value: Mapping[str, Any], *, sync: bool = True) -> None:
    """Write ``name`` in the open folder atomically (a locked temporary file, fsynced, renamed).

    With ``sync``, the folder is fsynced too (the caller does it otherwise, after renames of its own).
    """
    fd, staged = create_locked(folder, f".{name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(json.dumps(value).encode())
            out.flush()
            os.fsync(out.fileno())
            os.replace(staged, name, src_dir_fd=folder, dst_dir_fd=folder)
    finally:
        with suppress(FileNotFoundError):
            os.unlink(staged, dir_fd=folder)
    if sync:
        os.fsync(folder)


def _read_json(folder: int, name: str) -> dict[str, Any] | None:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=folder)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as f:
            data = json.loads(f.read())
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
