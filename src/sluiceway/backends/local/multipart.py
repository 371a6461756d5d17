"""Multipart uploads of the folder-backed buckets: parts staged in the bucket until the upload completes.

An upload is a folder ``<bucket>/.sluiceway/uploads/<upload id>/`` holding ``upload.json``
(its key, content type, user metadata, when it started) and, per part, the part's bytes
(``00001.part``) and what S3 reports of it (``00001.json``: ETag, size, checksums). A
part uploaded again replaces the previous one, as on S3. Completing an upload stores the
chosen parts as one object through the bucket's writer (one write, one event) and
removes the folder; so does aborting it. Nothing else ends an upload: S3 keeps one until
it is completed or aborted, across restarts (a part is acknowledged only once it is
fsynced, and so is the folder entry that names it). A stack start removes only the
temporary files of writes that died (:meth:`FileObjectStore.clear_staging`).

Everything is reached through the bucket's folder without following links (the
store's ``staging``), and file names are made here, never taken from a request.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from ...errors import NotFoundError
from ...names import check_key
from .objects import FileObjectStore, create_locked

logger = logging.getLogger(__name__)

__all__ = ["MAX_PART_NUMBER", "MultipartUploads", "Part", "Upload"]

MAX_PART_NUMBER: Final = 10_000
_UPLOADS: Final = "uploads"
_ID: Final = re.compile(r"^[0-9A-Za-z_-]{43}$")


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


class MultipartUploads:
    """The multipart uploads of a :class:`FileObjectStore`'s buckets."""

    def __init__(self, files: FileObjectStore) -> None:
        self.files = files

    def create(
        self,
        bucket: str,
        key: str,
        *,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
        checksum_algorithm: str | None = None,
        now: datetime,
    ) -> Upload:
        check_key(key)
        upload_id = secrets.token_urlsafe(32)  # 43 characters, safe in a file name
        upload = Upload(bucket, key, upload_id, now.astimezone(UTC), content_type, dict(metadata or {}), checksum_algorithm)
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
        if not _ID.match(upload_id):
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

    def _upload(self, bucket: str, upload_id: str, folder: int, key: str | None) -> Upload:
        data = _read_json(folder, "upload.json")
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
        )

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
    def staged(self, bucket: str, upload_id: str, key: str) -> Iterator[tuple[Upload, int, dict[int, Part]]]:
        """The upload, its open folder and its parts, for completing it (the folder is removed by :meth:`abort`)."""
        with self._folder(bucket, upload_id) as folder:
            upload = self._upload(bucket, upload_id, folder, key)
            yield upload, folder, {p.number: p for p in self._parts(folder)}

    def abort(self, bucket: str, upload_id: str, key: str | None = None) -> None:
        """Remove the upload and its parts.

        Raises:
            NotFoundError: no such upload.
        """
        with self._folder(bucket, upload_id) as folder:
            self._upload(bucket, upload_id, folder, key)
        with self.files.staging(bucket, _UPLOADS, create=False) as uploads:
            shutil.rmtree(upload_id, dir_fd=uploads, ignore_errors=True)
            os.fsync(uploads)  # an aborted (or completed) upload does not come back after a power loss

    def list(self, bucket: str) -> list[Upload]:
        """The bucket's uploads in progress, by key, then by when they started."""
        try:
            with self.files.staging(bucket, _UPLOADS, create=False) as folder:
                names = os.listdir(folder)
        except NotFoundError:
            return []
        uploads: list[Upload] = []
        for name in names:
            with suppress(NotFoundError):
                uploads.append(self.get(bucket, name))
        return sorted(uploads, key=lambda u: (u.key, u.initiated))


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
