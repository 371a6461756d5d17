"""Notice objects that other programs drop into a bucket's folder.

A file is announced only once it is completely written: its size and
modification time must stay the same for ``settle_s`` seconds and it must open
for reading. At start-up a reconciliation pass announces every object already
in the folder; the bus stores each write once (same key, ETag and sequencer),
so objects seen before are not announced twice.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from ..errors import InvalidNameError, NotFoundError
from ..ports import ObjectInfo

logger = logging.getLogger(__name__)


class BucketWatcher(FileSystemEventHandler):
    """Watches ``<buckets>/<bucket>`` and calls ``announce(info)`` for each settled object."""

    def __init__(
        self,
        objects: object,
        bucket: str,
        announce: Callable[[ObjectInfo], None],
        *,
        settle_s: float = 1.0,
    ) -> None:
        self.objects = objects
        self.bucket = bucket
        self.announce = announce
        self.settle_s = settle_s
        self.root = Path(objects.bucket_path(bucket))  # type: ignore[attr-defined]
        self._pending: dict[str, tuple[int, int, float]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._observer = Observer()
        self._thread = threading.Thread(target=self._settle_loop, name="sluiceway-watcher", daemon=True)

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._observer.schedule(self, str(self.root), recursive=True)
        self._observer.start()
        self._thread.start()
        self.reconcile()

    def stop(self) -> None:
        self._stop.set()
        self._observer.stop()
        self._observer.join(timeout=5)
        self._thread.join(timeout=5)

    def reconcile(self) -> int:
        """Announce every object present now (those already recorded are ignored by the bus)."""
        count = 0
        for info in self.objects.list(self.bucket):  # type: ignore[attr-defined]
            self.announce(info)
            count += 1
        return count

    # watchdog callbacks ----------------------------------------------------------

    def on_created(self, event: FileSystemEvent) -> None:
        self._touch(event.src_path, event.is_directory)

    def on_modified(self, event: FileSystemEvent) -> None:
        self._touch(event.src_path, event.is_directory)

    def on_closed(self, event: FileSystemEvent) -> None:
        self._touch(event.src_path, event.is_directory)

    def on_moved(self, event: FileSystemEvent) -> None:
        self._touch(event.dest_path, event.is_directory)

    def _touch(self, path: str | bytes, is_directory: bool) -> None:
        if is_directory:
            return
        text = os.fsdecode(path)
        rel = os.path.relpath(text, self.root).replace(os.sep, "/")
        if rel.startswith("..") or ".sluiceway" in rel.split("/"):
            return
        with self._lock:
            self._pending[rel] = (-1, -1, time.monotonic())

    def _settle_loop(self) -> None:
        while not self._stop.wait(0.2):
            now = time.monotonic()
            with self._lock:
                items = list(self._pending.items())
            for key, (size, mtime, since) in items:
                try:
                    stat = (self.root / key).stat()
                except FileNotFoundError:
                    with self._lock:
                        self._pending.pop(key, None)
                    continue
                if (stat.st_size, stat.st_mtime_ns) != (size, mtime):
                    with self._lock:
                        self._pending[key] = (stat.st_size, stat.st_mtime_ns, now)
                    continue
                if now - since < self.settle_s:
                    continue
                with self._lock:
                    self._pending.pop(key, None)
                try:
                    info = self.objects.head(self.bucket, key)  # type: ignore[attr-defined]
                except (InvalidNameError, NotFoundError) as exc:
                    logger.warning("ignoring file in bucket folder", extra={"key": key, "reason": str(exc)})
                    continue
                self.announce(info)
