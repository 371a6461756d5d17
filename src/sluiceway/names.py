"""Validation of names that come from outside: bucket names, object keys, ids.

Nothing named by a user, an event or a file reaches the filesystem or a query
before passing through here: no ``..`` segments, no absolute paths, no control
characters, no backslashes (a Windows separator smuggled into a key).
"""

from __future__ import annotations

import re
import unicodedata

from .errors import InvalidNameError

__all__ = ["check_bucket", "check_key", "check_name", "name_from"]

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# Step Functions' names (state machines, executions): 1-80 characters, none of these. Any other
# character is allowed, Unicode letters included (AWS only notes that CloudWatch Logs wants ASCII).
_NAME_FORBIDDEN = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff\U0010ffff]")
MAX_NAME_CHARS = 80
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MAX_KEY_BYTES = 1024
MAX_SEGMENT_BYTES = 255
"""A file name's limit on every common file system (NAME_MAX): a folder-backed bucket's, for each key segment."""


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
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (a file name that was not UTF-8, decoded with surrogateescape):
        # S3 keys are UTF-8, and this one has no UTF-8 spelling.
        raise InvalidNameError(f"invalid object key {key!r}: it is not valid UTF-8 text") from None
    if len(encoded) > MAX_KEY_BYTES:
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
    for part in parts:
        # S3 has no such limit, but a file system does, and a key that works here must work
        # in both places: refused on every backend, with the reason, not as an OS error.
        if len(part.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise InvalidNameError(
                f"invalid object key {key[:60]!r}…: the part {part[:40]!r}… is {len(part.encode('utf-8'))} bytes;"
                f" each part between slashes may have at most {MAX_SEGMENT_BYTES} bytes"
            )
    return key


def check_name(name: str, *, what: str = "name") -> str:
    """Return ``name`` if it is a valid Step Functions name (an execution's or a state machine's).

    Raises:
        InvalidNameError: with the reason (AWS: ``InvalidName``).
    """
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME_CHARS:
        raise InvalidNameError(f"invalid {what} {str(name)[:100]!r}: it must have 1 to {MAX_NAME_CHARS} characters")
    found = _NAME_FORBIDDEN.search(name)
    if found is not None:
        raise InvalidNameError(
            f"invalid {what} {name!r}: it contains {found.group()!r}; a name may not contain white space,"
            ' < > { } [ ] ? * " # % \\ ^ | ~ ` $ & , ; : / or control characters'
        )
    return name


def name_from(text: str, *, limit: int = 50) -> str:
    """A valid piece of a Step Functions name made from any text (an object key's file name, say).

    Letters of any script stay (names are Unicode: ``Müller``, ``销售``); what a name may
    not contain becomes ``-``; the result has at most ``limit`` characters.
    """
    normalized = unicodedata.normalize("NFC", text)
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in normalized)
    return safe[:limit].strip("-.") or "object"
