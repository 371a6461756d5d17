"""Files dropped into a bucket folder by other programs: announced once, only when complete."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from sluiceway.backends.local.objects import FileObjectStore
from sluiceway.ports import ObjectInfo
from sluiceway.runtime.watcher import BucketWatcher


def wait_for(condition: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_reconciles_existing_objects_and_waits_for_writes_to_settle(tmp_path: Path) -> None:
    store = FileObjectStore(tmp_path)
    store.ensure_bucket("in-bucket")
    store.put("in-bucket", "before.csv", b"a,b\n1,2\n")
    (tmp_path / "in-bucket" / "..bad\nname.csv").write_bytes(b"x")  # no valid key: skipped, not a crash
    seen: list[ObjectInfo] = []
    watcher = BucketWatcher(store, "in-bucket", seen.append, settle_s=0.3)
    watcher.start()
    try:
        assert [i.key for i in seen] == ["before.csv"]  # found at start-up

        folder = tmp_path / "in-bucket" / "drop"
        folder.mkdir()
        target = folder / "slow.csv"
        with open(target, "wb") as out:  # another program writing slowly
            for _ in range(5):
                out.write(b"x,y\n" * 1000)
                out.flush()
                os.fsync(out.fileno())
                time.sleep(0.1)
                assert [i.key for i in seen] == ["before.csv"], "announced before the write finished"
        assert wait_for(lambda: len(seen) == 2)
        assert seen[1].key == "drop/slow.csv" and seen[1].size == 20_000

        (tmp_path / "in-bucket" / "bad\x01name.csv").write_bytes(b"x")  # refused by name validation, never announced
        time.sleep(0.8)
        assert [i.key for i in seen] == ["before.csv", "drop/slow.csv"]
    finally:
        watcher.stop()
