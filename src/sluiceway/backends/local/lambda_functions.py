"""Lambda functions created through the API (CreateFunction), kept across restarts.

A template's functions come from the template each time the stack starts; functions a client
creates with CreateFunction have no other home, so their configuration lives in ``lambda.db``
and their deployment packages, as uploaded, in ``lambda/code/<sha256>.zip`` beside it (one
file per distinct package: two functions with the same zip share it). A package is written
to a temporary name and renamed, so a crash never leaves half a zip under a final name.

A package no function or published version references any more is removed, always after the
change that dropped it is committed: a crash in between leaves a file nothing references
(removed when the catalog is next opened), never a function whose package is gone. A package
being uploaded is held (:meth:`SqliteFunctionCatalog.package`) until its function is committed,
so that a concurrent delete does not remove it first. One stack serves a data dir
(``stacklock.py``), so the catalog's lock and holds are this process's.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ...errors import ConflictError, NotFoundError
from ._sqlite import ThreadConnections

__all__ = ["Package", "SqliteFunctionCatalog", "StoredFunction", "describe_package"]

_SCHEMA = """CREATE TABLE IF NOT EXISTS lambda_functions (
    name    TEXT PRIMARY KEY,
    config  TEXT NOT NULL
)"""


@dataclass(frozen=True)
class StoredFunction:
    """A function's configuration as Lambda reports it, and where its package is."""

    name: str
    runtime: str
    handler: str
    role: str
    code_sha256: str
    """Base64 of the package's SHA-256, as Lambda's ``CodeSha256``."""
    code_size: int
    package: str
    """The package's file name under the code folder (``<hex sha256>.zip``)."""
    last_modified: str
    """Lambda's format: ``2024-01-31T12:00:00.000+0000``."""
    revision_id: str
    timeout_s: int = 3
    memory_mb: int = 128
    description: str = ""
    environment: Mapping[str, str] = field(default_factory=dict)
    architectures: tuple[str, ...] = ("x86_64",)
    ephemeral_storage_mb: int = 512
    tags: Mapping[str, str] = field(default_factory=dict)
    tracing_mode: str = "PassThrough"
    version: str = "$LATEST"
    """``$LATEST``, or the number of a published version (a snapshot in :attr:`published`)."""
    published: tuple[StoredFunction, ...] = ()
    """The published versions, oldest first, each as it was when published."""
    reserved_concurrency: int | None = None
    aliases: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Alias name -> ``{"FunctionVersion", "Description", "RevisionId"[, "RoutingConfig"]}``."""
    policy: tuple[Mapping[str, Any], ...] = ()
    """The resource policy's statements, in the order they were added."""
    tenancy_mode: str | None = None
    """``TenancyConfig.TenantIsolationMode`` (``PER_TENANT``), set at creation only; None: no tenant isolation."""

    def to_json(self) -> str:
        return json.dumps(self._data())

    def _data(self) -> dict[str, Any]:
        data = asdict(self)
        data["architectures"] = list(self.architectures)
        data["published"] = [version._data() for version in self.published]
        data["policy"] = list(self.policy)
        return data

    @classmethod
    def from_json(cls, text: str) -> StoredFunction:
        return cls._from_data(json.loads(text))

    @classmethod
    def _from_data(cls, data: dict[str, Any]) -> StoredFunction:
        data["architectures"] = tuple(data.get("architectures") or ("x86_64",))
        data["published"] = tuple(cls._from_data(version) for version in data.get("published") or ())
        data["policy"] = tuple(data.get("policy") or ())
        return cls(**data)

    def published_version(self, version: str) -> StoredFunction | None:
        return next((p for p in self.published if p.version == version), None)

    @property
    def packages(self) -> frozenset[str]:
        """The package files this function and its published versions use."""
        return frozenset((self.package, *(version.package for version in self.published)))


@dataclass(frozen=True)
class Package:
    """A deployment package as Lambda reports it, and its file name in the code folder."""

    name: str
    """``<hex sha256>.zip``."""
    sha256: str
    """Base64 of the SHA-256, as Lambda's ``CodeSha256``."""
    size: int


def describe_package(data: bytes) -> Package:
    """What keeping ``data`` would make of it, without keeping it (UpdateFunctionCode's DryRun)."""
    digest = hashlib.sha256(data)
    return Package(f"{digest.hexdigest()}.zip", base64.b64encode(digest.digest()).decode(), len(data))


class SqliteFunctionCatalog:
    """API-created functions in one SQLite file, their packages in a folder beside it.

    Args:
        path: the database file (created with its folder).
        code_dir: where packages are kept.
    """

    def __init__(self, path: str | Path, code_dir: str | Path) -> None:
        self.path = Path(path)
        self.code_dir = Path(code_dir)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.code_dir.mkdir(parents=True, exist_ok=True)
        self._connections = ThreadConnections(self.path)
        self._connections.get().execute(_SCHEMA)
        self._lock = threading.Lock()
        self._replacing = threading.Lock()
        self._held: Counter[str] = Counter()
        self._sweep()

    @contextmanager
    def package(self, data: bytes) -> Iterator[Package]:
        """Keep a zip while the block runs (to commit the function that uses it); the same bytes are kept once.

        After the block the file stays only if a function or version references it: a
        request that failed leaves nothing behind.
        """
        package = describe_package(data)
        with self._lock:
            self._held[package.name] += 1
        try:
            final = self.code_dir / package.name
            if not final.exists():
                partial = self.code_dir / f".{package.name}.{os.getpid()}.{threading.get_ident()}.part"
                partial.write_bytes(data)
                os.replace(partial, final)
            yield package
        finally:
            with self._lock:
                self._held[package.name] -= 1
                if self._held[package.name] <= 0:
                    del self._held[package.name]
            self._discard({package.name})

    def package_path(self, function: StoredFunction) -> Path:
        return self.code_dir / function.package

    def add(self, function: StoredFunction) -> None:
        """Raises ConflictError if a function of that name exists."""
        conn = self._connections.get()
        try:
            conn.execute("INSERT INTO lambda_functions (name, config) VALUES (?, ?)", (function.name, function.to_json()))
        except sqlite3.IntegrityError:
            raise ConflictError(f"function {function.name} exists") from None

    def replace(self, function: StoredFunction) -> None:
        """Replace a function's record; packages it no longer uses are removed. Raises NotFoundError."""
        # The record read and the one written are the same: two updates at once each drop the
        # package the other replaced, never leave it behind unreferenced.
        with self._replacing:
            before = self.get(function.name)
            cursor = self._connections.get().execute(
                "UPDATE lambda_functions SET config = ? WHERE name = ?", (function.to_json(), function.name)
            )
        if cursor.rowcount == 0:
            raise NotFoundError(f"function {function.name} does not exist")
        if before is not None:
            self._discard(before.packages - function.packages)

    def get(self, name: str) -> StoredFunction | None:
        row = self._connections.get().execute("SELECT config FROM lambda_functions WHERE name = ?", (name,)).fetchone()
        return None if row is None else StoredFunction.from_json(row[0])

    def all(self) -> list[StoredFunction]:
        rows = self._connections.get().execute("SELECT config FROM lambda_functions ORDER BY name")
        return [StoredFunction.from_json(r[0]) for r in rows]

    def delete(self, name: str) -> StoredFunction:
        """Remove a function with its versions (a package stays while another function uses it). Raises NotFoundError."""
        function = self.get(name)
        if function is None:
            raise NotFoundError(f"function {name} does not exist")
        self._connections.get().execute("DELETE FROM lambda_functions WHERE name = ?", (name,))
        self._discard(function.packages)
        return function

    def _discard(self, candidates: Iterable[str]) -> None:
        """Remove those of ``candidates`` that nothing references or holds (called after the commit that dropped them)."""
        candidates = set(candidates)
        if not candidates:
            return
        with self._lock:
            referenced = set().union(*(function.packages for function in self.all()))
            for name in candidates - referenced - set(self._held):
                (self.code_dir / name).unlink(missing_ok=True)

    def _sweep(self) -> None:
        """Remove what a crash left: packages nothing references, and partly written ones."""
        for leftover in self.code_dir.glob(".*.part"):
            leftover.unlink(missing_ok=True)
        self._discard(path.name for path in self.code_dir.glob("*.zip"))

    def close(self) -> None:
        self._connections.close()
