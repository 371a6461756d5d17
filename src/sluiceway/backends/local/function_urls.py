"""Lambda function URLs (CreateFunctionUrlConfig), kept across restarts.

A URL is kept in ``lambda.db`` beside the API-made functions and their event source mappings:
one row per function and qualifier (``$LATEST`` or an alias: Lambda gives each at most one
URL), with the URL's id (the ``<url-id>`` of ``https://<url-id>.lambda-url.<region>.on.aws``,
unique among all URLs) and its configuration as Lambda reports it. The endpoint serves every
kept URL again when it starts.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import ConflictError, NotFoundError
from ._sqlite import ThreadConnections

__all__ = ["SqliteFunctionUrls", "StoredUrl"]

_SCHEMA = """CREATE TABLE IF NOT EXISTS lambda_function_urls (
    function   TEXT NOT NULL,
    qualifier  TEXT NOT NULL,
    url_id     TEXT NOT NULL UNIQUE,
    config     TEXT NOT NULL,
    PRIMARY KEY (function, qualifier)
)"""
_COLUMNS = "function, qualifier, url_id, config"


@dataclass(frozen=True)
class StoredUrl:
    """One function URL's configuration."""

    function: str
    """The function's name."""
    qualifier: str
    """``$LATEST`` or an alias name."""
    url_id: str
    """32 lowercase letters and digits, as Lambda makes them."""
    auth_type: str
    """``NONE`` or ``AWS_IAM``."""
    creation_time: str
    last_modified_time: str
    cors: Mapping[str, Any] | None = None
    """Lambda's ``Cors`` structure as given; None when the URL has none."""
    invoke_mode: str | None = None
    """``BUFFERED`` or ``RESPONSE_STREAM``; None when never given (Lambda's default, ``BUFFERED``)."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Room for what a later version keeps, read back as is."""

    def to_json(self) -> str:
        return json.dumps(
            {
                "auth_type": self.auth_type,
                "creation_time": self.creation_time,
                "last_modified_time": self.last_modified_time,
                "cors": dict(self.cors) if self.cors is not None else None,
                "invoke_mode": self.invoke_mode,
                "extra": dict(self.extra),
            }
        )

    @classmethod
    def from_row(cls, function: str, qualifier: str, url_id: str, text: str) -> StoredUrl:
        data = json.loads(text)
        return cls(
            function,
            qualifier,
            url_id,
            str(data["auth_type"]),
            str(data["creation_time"]),
            str(data["last_modified_time"]),
            data.get("cors"),
            data.get("invoke_mode"),
            data.get("extra") or {},
        )


class SqliteFunctionUrls:
    """The function URLs, in one SQLite file (``lambda.db``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._connections = ThreadConnections(self.path)
        self._connections.get().execute(_SCHEMA)

    def add(self, url: StoredUrl) -> None:
        """Raises ConflictError if the function and qualifier have a URL (or the id is taken)."""
        try:
            self._connections.get().execute(
                f"INSERT INTO lambda_function_urls ({_COLUMNS}) VALUES (?, ?, ?, ?)",
                (url.function, url.qualifier, url.url_id, url.to_json()),
            )
        except sqlite3.IntegrityError:
            raise ConflictError(f"function {url.function}:{url.qualifier} has a URL") from None

    def replace(self, url: StoredUrl) -> None:
        """Raises NotFoundError if the function and qualifier have no URL."""
        cursor = self._connections.get().execute(
            "UPDATE lambda_function_urls SET config = ? WHERE function = ? AND qualifier = ?",
            (url.to_json(), url.function, url.qualifier),
        )
        if cursor.rowcount == 0:
            raise NotFoundError(f"function {url.function}:{url.qualifier} has no URL")

    def get(self, function: str, qualifier: str) -> StoredUrl | None:
        row = (
            self._connections.get()
            .execute(f"SELECT {_COLUMNS} FROM lambda_function_urls WHERE function = ? AND qualifier = ?", (function, qualifier))
            .fetchone()
        )
        return None if row is None else StoredUrl.from_row(*row)

    def by_id(self, url_id: str) -> StoredUrl | None:
        row = self._connections.get().execute(f"SELECT {_COLUMNS} FROM lambda_function_urls WHERE url_id = ?", (url_id,)).fetchone()
        return None if row is None else StoredUrl.from_row(*row)

    def of_function(self, function: str) -> list[StoredUrl]:
        """The function's URLs, in qualifier order (the order ListFunctionUrlConfigs pages in)."""
        rows = self._connections.get().execute(
            f"SELECT {_COLUMNS} FROM lambda_function_urls WHERE function = ? ORDER BY qualifier", (function,)
        )
        return [StoredUrl.from_row(*row) for row in rows]

    def delete(self, function: str, qualifier: str) -> StoredUrl:
        """Raises NotFoundError."""
        url = self.get(function, qualifier)
        if url is None:
            raise NotFoundError(f"function {function}:{qualifier} has no URL")
        self._connections.get().execute("DELETE FROM lambda_function_urls WHERE function = ? AND qualifier = ?", (function, qualifier))
        return url

    def close(self) -> None:
        self._connections.close()
