"""The console's files, served by the endpoint at ``/_sluiceway/console``: a fixed set, read once.

The set is what ships in the package's ``static`` folder when the endpoint first serves it; a
request names one of those files or gets 404. No request path is ever joined onto a folder, so
neither ``..``, an encoded slash nor a link can reach another file. Any path that is not a file
(``/_sluiceway/console``, ``/_sluiceway/console/executions``) gets ``index.html``: the app routes
in the browser.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

__all__ = ["CONSOLE_PATH", "SECURITY_HEADERS", "Asset", "Assets"]

CONSOLE_PATH = "/_sluiceway/console"

_TYPES: Mapping[str, str] = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".png": "image/png",
    ".ico": "image/x-icon",
}

#: The app runs only its own files and talks only to its own origin: a value shown in the console
#: (an execution's input, a message body) that carries markup can never run as script.
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True)
class Asset:
    """One file: its bytes, content type and a strong ETag of its content."""

    body: bytes
    content_type: str
    etag: str


class Assets:
    """The files under the package's ``static`` folder, by their path relative to it (``pages/home.js``)."""

    def __init__(self, root: Traversable | None = None) -> None:
        self._root = root
        self._files: dict[str, Asset] | None = None
        self._lock = threading.Lock()

    def get(self, relative: str) -> Asset | None:
        """The file at ``relative`` (no leading slash), or None when the package ships no such file."""
        return self._load().get(relative)

    def index(self) -> Asset:
        index = self.get("index.html")
        if index is None:
            raise FileNotFoundError("the console's index.html is missing from the package")
        return index

    def names(self) -> frozenset[str]:
        return frozenset(self._load())

    def _load(self) -> dict[str, Asset]:
        with self._lock:
            if self._files is None:
                root = self._root or resources.files("sluiceway.console") / "static"
                files: dict[str, Asset] = {}
                _walk(root, "", files)
                self._files = files
            return self._files


def _walk(folder: Traversable, prefix: str, files: dict[str, Asset]) -> None:
    for entry in folder.iterdir():
        name = prefix + entry.name
        if entry.is_dir():
            _walk(entry, name + "/", files)
            continue
        suffix = "." + entry.name.rsplit(".", 1)[-1] if "." in entry.name else ""
        if suffix not in _TYPES:
            continue  # only what a browser loads: no stray editor files or caches
        body = entry.read_bytes()
        files[name] = Asset(body, _TYPES[suffix], '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
