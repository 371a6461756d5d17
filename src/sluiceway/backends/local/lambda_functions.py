"""Lambda functions created through the API (CreateFunction), kept across restarts.

A template's functions come from the template each time the stack starts; functions a client
creates with CreateFunction have no other home, so their configuration lives in ``lambda.db``
and their deployment packages, as uploaded, in ``lambda/code/<sha256>.zip`` beside it (one
file per distinct package: two functions with the same zip share it). A package is written
to a temporary name and renamed, so a crash never leaves half a zip under a final name.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sqlite3
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ...errors import ConflictError, NotFoundError
from ._sqlite import ThreadConnections

__all__ = ["SqliteFunctionCatalog", "StoredFunction"]

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

    def save_package(self, data: bytes) -> tuple[str, str, int]:
        """Keep a zip; returns ``(file name, base64 SHA-256, size)``. The same bytes are kept once."""
        digest = hashlib.sha256(data)
        name = f"{digest.hexdigest()}.zip"
        final = self.code_dir / name
        if not final.exists():
            partial = self.code_dir / f".{name}.{os.getpid()}.part"
            partial.write_bytes(data)
            os.replace(partial, final)
        return name, base64.b64encode(digest.digest()).decode(), len(data)

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
        """Raises NotFoundError if there is no such function."""
        cursor = self._connections.get().execute(
            "UPDATE lambda_functions SET config = ? WHERE name = ?", (function.to_json(), function.name)
        )
        if cursor.rowcount == 0:
            raise NotFoundError(f"function {function.name} does not exist")

    def get(self, name: str) -> StoredFunction | None:
        row = self._connections.get().execute("SELECT config FROM lambda_functions WHERE name = ?", (name,)).fetchone()
        return None if row is None else StoredFunction.from_json(row[0])

    def all(self) -> list[StoredFunction]:
        rows = self._connections.get().execute("SELECT config FROM lambda_functions ORDER BY name")
        return [StoredFunction.from_json(r[0]) for r in rows]

    def delete(self, name: str) -> StoredFunction:
        """Remove a function (its package stays if another function uses it). Raises NotFoundError."""
        function = self.get(name)
        if function is None:
            raise NotFoundError(f"function {name} does not exist")
        self._connections.get().execute("DELETE FROM lambda_functions WHERE name = ?", (name,))
        if all(other.package != function.package for other in self.all()):
            self.package_path(function).unlink(missing_ok=True)
        return function

    def close(self) -> None:
        self._connections.close()
