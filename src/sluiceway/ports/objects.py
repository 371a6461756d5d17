"""The object store port: buckets of immutable objects addressed by key (S3 semantics)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

__all__ = ["ObjectInfo", "ObjectStore"]


@dataclass(frozen=True)
class ObjectInfo:
    """What a bucket knows about one object."""

    bucket: str
    key: str
    size: int
    etag: str
    """Quoted-free hex MD5 of the content, as S3 reports it for single-part uploads."""
    last_modified: datetime
    content_type: str = "application/octet-stream"
    metadata: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    """The HTTP headers stored with the object, by S3's member name (``CacheControl``, ``ContentDisposition``,
    ``ContentEncoding``, ``ContentLanguage``, ``Expires`` as ISO 8601)."""
    checksums: Mapping[str, str] = field(default_factory=dict)
    """Its checksums as S3 reports them (``ChecksumCRC32``: base64, ``ChecksumType``: ``FULL_OBJECT`` or ``COMPOSITE``)."""
    version_id: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    """Its tags (S3's object tagging), in the order they were set."""
    storage_class: str = "STANDARD"
    """S3's storage class it was written with."""
    grants: tuple[Mapping[str, str], ...] | None = None
    """Its access control list as S3 grants (``Type``, ``ID``/``URI``/``EmailAddress``, ``Permission``);
    None for the default: its owner's FULL_CONTROL alone."""
    sequencer: str | None = None
    """What identifies the write (S3's event ``sequencer``: later writes of a key sort after
    earlier ones), when the backend knows it; a rewrite of the same bytes has a new one."""


class ObjectStore(Protocol):
    """Buckets of immutable objects addressed by key (S3 semantics)."""

    def put(
        self,
        bucket: str,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Store ``data`` under ``key`` atomically, replacing any previous object.

        Raises:
            InvalidNameError: the bucket or key is not allowed.
        """
        ...

    def put_file(self, bucket: str, key: str, path: str, *, content_type: str = "application/octet-stream") -> ObjectInfo:
        """Store the content of a local file (streamed, any size) under ``key`` atomically."""
        ...

    def get(self, bucket: str, key: str, *, start: int | None = None, end: int | None = None, if_match: str | None = None) -> bytes:
        """Return the object's bytes, or the byte range ``[start, end)`` of it.

        With ``if_match`` (an ETag), only from that version of the object (S3's ``If-Match``):
        a run reads the write that triggered it, or fails.

        Raises:
            NotFoundError: no such bucket or key.
            PreconditionFailedError: the object is another version than ``if_match``.
        """
        ...

    def head(self, bucket: str, key: str) -> ObjectInfo:
        """Return the object's metadata. Raises NotFoundError if missing."""
        ...

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        """Yield every object whose key starts with ``prefix``, in key order."""
        ...

    def delete(self, bucket: str, key: str) -> None:
        """Delete the object; deleting a missing key is not an error (S3 semantics)."""
        ...

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
        """Write the object (or the byte range ``[start, end)``) to the local file ``path``.

        Data engines read local files fastest; a backend may hard-link or copy.

        Raises:
            NotFoundError: no such bucket or key.
            PreconditionFailedError: the object is another version than ``if_match`` (see :meth:`get`).
        """
        ...
