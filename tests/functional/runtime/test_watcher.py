"""Files dropped into a bucket folder by other programs: announced once, only when complete."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from sluiceway.backends.local.objects import FileObjectStore
from sluiceway.ports import ObjectInfo
from sluiceway.runtime.bus.watcher import BucketWatcher


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
        assert wait_for(lambda: [i.key for i in seen] == ["before.csv"])  # found at start-up

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


def test_a_writer_pausing_with_the_file_open_is_waited_for(tmp_path: Path) -> None:
    store = FileObjectStore(tmp_path)
    store.ensure_bucket("in-bucket")
    seen: list[ObjectInfo] = []
    watcher = BucketWatcher(store, "in-bucket", seen.append, settle_s=0.2)
    watcher.start()
    try:
        target = tmp_path / "in-bucket" / "paused.csv"
        with open(target, "wb") as out:
            out.write(b"a,b\n" * 100)
            out.flush()
            time.sleep(0.8)  # four settle periods without a change, the file still open
            if watcher._closes_reported:  # where closes are reported, nothing is announced yet
                assert seen == []
            out.write(b"c,d\n" * 100)
        assert wait_for(lambda: any(i.size == 800 for i in seen))
        assert [i.size for i in seen if i.key == "paused.csv"][-1] == 800
        if watcher._closes_reported:
            assert [i.size for i in seen] == [800]  # announced once, complete

        # A file renamed into place is complete at once.
        staging = tmp_path / "staging.csv"
        staging.write_bytes(b"x,y\n")
        os.replace(staging, tmp_path / "in-bucket" / "renamed.csv")
        assert wait_for(lambda: any(i.key == "renamed.csv" for i in seen))
    finally:
        watcher.stop()


def test_a_file_replaced_while_a_reader_holds_it_open_is_announced(tmp_path: Path) -> None:
    # The pipeline reads the files it runs on: a reader's open must not make a file look half-written.
    store = FileObjectStore(tmp_path)
    store.ensure_bucket("in-bucket")
    target = tmp_path / "in-bucket" / "data.csv"
    target.write_bytes(b"a,b\n1,2\n")
    seen: list[ObjectInfo] = []
    watcher = BucketWatcher(store, "in-bucket", seen.append, settle_s=0.1)
    watcher.start()
    try:
        assert wait_for(lambda: len(seen) == 1)
        with open(target, "rb") as reader:
            staged = tmp_path / "staged.csv"
            staged.write_bytes(b"a,b\n3,4\n5,6\n")
            os.replace(staged, target)  # a new version while the old one is being read
            reader.read()
            assert wait_for(lambda: len(seen) == 2)
        assert seen[1].size == 12 and seen[1].sequencer != seen[0].sequencer
    finally:
        watcher.stop()


def test_a_lone_touch_is_no_new_write_and_the_same_bytes_written_again_are(tmp_path: Path) -> None:
    store = FileObjectStore(tmp_path)
    store.ensure_bucket("in-bucket")
    seen: list[ObjectInfo] = []
    watcher = BucketWatcher(store, "in-bucket", seen.append, settle_s=0.1)
    watcher.start()
    folder = tmp_path / "in-bucket"

    def writes_of(key: str) -> set[tuple[str, str | None]]:
        return {(i.etag, i.sequencer) for i in seen if i.key == key}

    try:
        (folder / "data.csv").write_bytes(b"a,b\n1,2\n")
        assert wait_for(lambda: len(writes_of("data.csv")) == 1)
        with open(folder / "data.csv", "ab"):  # what touch does: open for writing, write nothing, close
            pass
        os.utime(folder / "data.csv")
        (folder / "after-touch.csv").write_bytes(b"x\n")  # settles after the touch does
        assert wait_for(lambda: writes_of("after-touch.csv"))
        assert len(writes_of("data.csv")) == 1

        (folder / "data.csv").write_bytes(b"a,b\n1,2\n")  # the same bytes again: a new write, as a PUT is
        assert wait_for(lambda: len(writes_of("data.csv")) == 2)
        assert {etag for etag, _ in writes_of("data.csv")} == {seen[0].etag}
    finally:
        watcher.stop()


def test_a_loop_of_links_does_not_stop_the_watch(tmp_path: Path) -> None:
    store = FileObjectStore(tmp_path)
    store.ensure_bucket("in-bucket")
    seen: list[ObjectInfo] = []
    watcher = BucketWatcher(store, "in-bucket", seen.append, settle_s=0.1)
    watcher.start()
    try:
        os.symlink("loop.csv", tmp_path / "in-bucket" / "loop.csv")
        (tmp_path / "in-bucket" / "good.csv").write_bytes(b"a\n")
        assert wait_for(lambda: [i.key for i in seen] == ["good.csv"])
        (tmp_path / "in-bucket" / "later.csv").write_bytes(b"b\n")
        assert wait_for(lambda: [i.key for i in seen] == ["good.csv", "later.csv"])
    finally:
        watcher.stop()


def test_a_link_dropped_into_the_folder_is_never_announced(tmp_path: Path) -> None:
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    store = FileObjectStore(tmp_path / "buckets")
    store.ensure_bucket("in-bucket")
    seen: list[ObjectInfo] = []
    watcher = BucketWatcher(store, "in-bucket", seen.append, settle_s=0.1)
    watcher.start()
    try:
        os.symlink(secret, tmp_path / "buckets" / "in-bucket" / "x.csv")
        (tmp_path / "buckets" / "in-bucket" / "y.csv").write_text("a,b\n")
        assert wait_for(lambda: [i.key for i in seen] == ["y.csv"])
        assert [i.key for i in seen] == ["y.csv"]
    finally:
        watcher.stop()
