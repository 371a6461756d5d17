"""Notice objects that other programs drop into a bucket's folder.

A file is announced only once it is completely written. Where the platform
reports closes (inotify on Linux), that means its writer closed it (or it was
renamed into place) and its size and modification time then stayed the same
for ``settle_s`` seconds: a writer that pauses longer than that with the file
still open is waited for. Elsewhere only the settle time applies. At start-up
a reconciliation pass announces every object already in the folder that has
not changed for ``settle_s``; younger ones are left to the watch. A write is
announced once however often it is seen (its writer, the watch, every restart's
reconciliation): its EventBridge event and its bucket notifications are committed
only with the first announcement of its key and sequencer (see
``backends/local/bucket_notifications.py``), so a queue, topic or function never
gets a write's notification twice.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from ...errors import InvalidNameError, NotFoundError
from ...ports import ObjectInfo

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Pending:
    """A file seen changing: its last size and mtime, since when they held, and whether its writer closed it."""

    size: int
    mtime: int
    since: float
    closed: bool | None
    """True: its writer closed it; False: open for writing; None: no writer seen (renamed in, or no close events)."""
    wrote: bool = False
    """Bytes were written (or the file was moved in) since it was last announced: a new write, even of the
    same bytes. A close alone says nothing: ``touch`` opens for writing, writes nothing and closes."""


def _reports_closes(observer: object) -> bool:
    """Whether the platform's observer reports file closes (inotify does; polling and others do not)."""
    try:
        from watchdog.observers.inotify import InotifyObserver
    except ImportError:  # not Linux
        return False
    return isinstance(observer, InotifyObserver)


class BucketWatcher(FileSystemEventHandler):
    """Watches ``<buckets>/<bucket>`` and calls ``announce(info)`` for each settled object."""

    def __init__(
        self,
        objects: object,
        bucket: str,
        announce: Callable[[ObjectInfo], object],
        *,
        settle_s: float = 1.0,
    ) -> None:
        self.objects = objects
        self.bucket = bucket
        self.announce = announce
        self.settle_s = settle_s
        self.root = Path(objects.bucket_path(bucket))  # type: ignore[attr-defined]
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._observer = Observer()
        self._closes_reported = _reports_closes(self._observer)
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
        """Announce every settled object present now (writes announced before commit nothing again)."""
        count = 0
        now = time.time()
        for key in self.objects.keys(self.bucket):  # type: ignore[attr-defined]
            try:
                info = self.objects.observe(self.bucket, key)  # type: ignore[attr-defined]
                if now - info.last_modified.timestamp() < self.settle_s:
                    # Possibly still being written: the watch decides (a close, or the settle time).
                    with self._lock:
                        self._pending.setdefault(key, _Pending(-1, -1, time.monotonic(), closed=True, wrote=False))
                    continue
                self.announce(info)
                count += 1
            except (InvalidNameError, NotFoundError) as exc:
                logger.warning("ignoring file in bucket folder", extra={"key": key, "reason": str(exc)})
            except Exception:  # noqa: BLE001 -- one file must not keep the others from being announced
                logger.exception("could not announce a file in the bucket folder", extra={"key": key})
        return count

    # watchdog callbacks ----------------------------------------------------------

    # A file written in place is created, opened, modified and closed; one renamed in
    # from elsewhere is only "created" (inotify's IN_MOVED_TO) and is complete at once.
    # Opening a file says nothing (readers open files too: the pipeline's own reads of
    # a file must not make it look half-written), and neither does a change of its
    # times or mode (``touch``, ``chmod``: no write, so no new object).

    def on_created(self, event: FileSystemEvent) -> None:
        self._touch(event.src_path, event.is_directory, closed=None, wrote=True)

    def on_modified(self, event: FileSystemEvent) -> None:
        self._touch(event.src_path, event.is_directory, closed=False, wrote=True)

    def on_closed(self, event: FileSystemEvent) -> None:
        self._touch(event.src_path, event.is_directory, closed=True, wrote=False)

    def on_moved(self, event: FileSystemEvent) -> None:
        # A rename into the folder is how careful writers publish a complete file.
        self._touch(event.dest_path, event.is_directory, closed=True, wrote=True)

    def _touch(self, path: str | bytes, is_directory: bool, *, closed: bool | None, wrote: bool) -> None:
        if is_directory:
            return
        text = os.fsdecode(path)
        rel = os.path.relpath(text, self.root).replace(os.sep, "/")
        if rel.startswith("..") or ".sluiceway" in rel.split("/"):
            return
        if not self._closes_reported:
            closed = None  # no close events here: the settle time alone decides
        with self._lock:
            current = self._pending.get(rel)
            wrote = wrote or (current is not None and current.wrote)
            self._pending[rel] = _Pending(-1, -1, time.monotonic(), closed=closed, wrote=wrote)

    def _settle_loop(self) -> None:
        while not self._stop.wait(0.2):
            with self._lock:
                items = list(self._pending.items())
            for key, pending in items:
                try:
                    self._settle(key, pending)
                except Exception:  # noqa: BLE001 -- the watch goes on whatever one file does
                    logger.exception("could not announce a file in the bucket folder; will try again", extra={"key": key})

    def _settle(self, key: str, pending: _Pending) -> None:
        """Announce ``key`` once it has settled; forget it if it is gone or can never be an object."""
        now = time.monotonic()
        try:
            # Not following links: a link is no object (and a loop of links must not stop the watch).
            found = os.stat(self.root / key, follow_symlinks=False)
        except OSError as exc:
            with self._lock:
                self._pending.pop(key, None)
            if not isinstance(exc, FileNotFoundError):
                logger.warning("ignoring file in bucket folder", extra={"key": key, "reason": str(exc)})
            return
        if (found.st_size, found.st_mtime_ns) != (pending.size, pending.mtime):
            with self._lock:
                current = self._pending.get(key)
                if current is not None:
                    self._pending[key] = _Pending(found.st_size, found.st_mtime_ns, now, closed=current.closed, wrote=current.wrote)
            return
        if pending.closed is False or now - pending.since < self.settle_s:
            return
        try:
            # Written to, or moved in: a new write, even of the same bytes.
            info = self.objects.observe(self.bucket, key, written=pending.wrote)  # type: ignore[attr-defined]
        except (InvalidNameError, NotFoundError) as exc:
            with self._lock:
                self._pending.pop(key, None)
            logger.warning("ignoring file in bucket folder", extra={"key": key, "reason": str(exc)})
            return
        self.announce(info)  # if this fails (the database busy, say), the file stays pending: tried again
        with self._lock:
            if self._pending.get(key) is pending:
                self._pending.pop(key, None)
