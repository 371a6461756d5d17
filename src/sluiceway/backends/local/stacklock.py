"""One running stack per data dir: the lock, and who holds it.

Two stacks on one data dir would both resume the same executions and both
deliver the same events. The stack that runs holds an exclusive ``flock`` on
``DATA_DIR/stack.lock`` for as long as it lives (the kernel drops it when the
process dies, ``kill -9`` included, so a crash never leaves a stale lock), and
writes who it is into the file so that a second one can say whom it met.

Its worker processes hold the same lock (they inherit the open file), so a stack
whose process was killed keeps the data dir until its last worker has noticed
and ended: the next stack never runs beside a worker still writing for the old one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ...errors import StackRunningError

logger = logging.getLogger(__name__)

__all__ = ["StackLock", "describe"]

LOCK_FILE = "stack.lock"
ORPHAN_WAIT_S = 10.0
"""How long a new stack waits for the workers of a killed one to notice and end (they check twice a second)."""


class StackLock:
    """The data dir's stack lock (see the module docstring)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self, command: str) -> None:
        """Take the lock for this process, recording ``command`` as what runs.

        Raises:
            StackRunningError: another process holds it; the message names the data dir and that process.
        """
        if self._fd is not None:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        deadline = time.monotonic() + ORPHAN_WAIT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _read(fd)
                # Held, but its stack's process is gone: workers that outlived it are finishing.
                if not _alive(holder) and time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                os.close(fd)
                if _alive(holder):
                    raise StackRunningError(
                        f"another Sluiceway stack is running on {self.data_dir}{describe(holder)}; "
                        "stop it first, or give this one another --data-dir"
                    ) from None
                raise StackRunningError(
                    f"worker processes of a stopped Sluiceway stack{describe(holder)} still hold {self.data_dir}"
                ) from None
        me = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": command,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)
        self._fd = fd

    def holder(self) -> dict[str, Any] | None:
        """Who holds the lock (pid, host, command, started_at), or None when no stack runs."""
        if self._fd is not None:
            return _read(self._fd)
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return _read(fd) or {}  # held by one that has not said who it is yet (or by its workers)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    @property
    def fd(self) -> int | None:
        """The lock's open file while this process holds it (worker processes inherit it)."""
        return self._fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None


def describe(holder: dict[str, Any] | None) -> str:
    """`` (pid 123, `sluiceway up`, since ...)`` for a lock holder, or nothing when it did not say."""
    if not holder:
        return ""
    parts = [f"pid {holder.get('pid')}" + (f" on {holder['host']}" if holder.get("host") != socket.gethostname() else "")]
    if holder.get("command"):
        parts.append(f"`{holder['command']}`")
    if holder.get("started_at"):
        parts.append(f"since {holder['started_at']}")
    return " (" + ", ".join(parts) + ")"


def _alive(holder: dict[str, Any] | None) -> bool:
    """Whether the process a lock file names still runs (on this host: elsewhere, assume it does)."""
    if not holder or not isinstance(holder.get("pid"), int):
        return False  # the holder had not written itself yet, or is gone
    if holder.get("host") not in (None, socket.gethostname()):
        return True
    try:
        os.kill(holder["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read(fd: int) -> dict[str, Any] | None:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"null")
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
