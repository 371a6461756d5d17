"""Validation of names that come from outside: bucket names, object keys, ids.

Nothing named by a user, an event or a file reaches the filesystem or a query
before passing through here: no ``..`` segments, no absolute paths, no control
characters, no backslashes (a Windows separator smuggled into a key).
"""

from __future__ import annotations

import re

from .errors import InvalidNameError

__all__ = ["check_bucket", "check_key", "check_name"]

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_NAME = re.compile(r"^[A-Za-z0-9_.:@+=-]{1,80}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_KEY_BYTES = 1024


def check_bucket(bucket: str) -> str:
    """Return ``bucket`` if it is a valid S3 bucket name (3-63 chars, lowercase, digits, dots, hyphens).

    Raises:
        InvalidNameError: with the reason.
    """
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise InvalidNameError(f"invalid bucket name {bucket!r}: use 3-63 lowercase letters, digits, dots and hyphens")
    return bucket


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe object key.

    S3 allows almost any key; a folder-backed bucket must refuse keys that would
    escape the bucket's folder or confuse the filesystem.

    Raises:
        InvalidNameError: with the reason.
    """
    if not key:
        raise InvalidNameError("invalid object key: it is empty")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise InvalidNameError(f"invalid object key: longer than {MAX_KEY_BYTES} bytes")
    if _CONTROL.search(key):
        raise InvalidNameError(f"invalid object key {key!r}: it contains a control character")
    if key.startswith("/"):
        raise InvalidNameError(f"invalid object key {key!r}: it is an absolute path")
    if "\\" in key:
        raise InvalidNameError(f"invalid object key {key!r}: it contains a backslash")
    parts = key.split("/")
    if any(p in (".", "..") for p in parts):
        raise InvalidNameError(f"invalid object key {key!r}: it contains a '.' or '..' segment")
    if any(p == "" for p in parts[:-1]):
        raise InvalidNameError(f"invalid object key {key!r}: it contains an empty path segment")
    if key.endswith("/"):
        raise InvalidNameError(f"invalid object key {key!r}: it ends with '/' (a folder, not an object)")
    if any(p.startswith(".sluiceway") for p in parts):
        raise InvalidNameError(f"invalid object key {key!r}: '.sluiceway' is reserved")
    return key


def check_name(name: str, *, what: str = "name") -> str:
    """Return ``name`` if it is a valid execution/state machine/topic name (AWS's character set).

    Raises:
        InvalidNameError: with the reason.
    """
    if not _NAME.match(name):
        raise InvalidNameError(f"invalid {what} {name!r}: use 1-80 letters, digits and _ . : @ + = -")
    return name
