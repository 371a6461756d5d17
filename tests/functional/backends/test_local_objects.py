"""Folder-backed buckets: what the contract suite cannot reach (the kernel copy's fallback, links, files from outside)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sluiceway.backends.local.multipart import MultipartUploads
from sluiceway.backends.local.objects import FileObjectStore, WriteCondition, WriteConditionError
from sluiceway.errors import InvalidNameError, NotFoundError, PreconditionFailedError
from sluiceway.ports import ObjectInfo

DATA = bytes(range(256)) * 4096  # 1 MiB


@pytest.mark.parametrize(("start", "end"), [(3, 700_001), (0, 5), (1000, None)])
def test_a_range_is_copied_through_user_space_when_the_kernel_cannot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start: int | None, end: int | None
) -> None:
    store = FileObjectStore(tmp_path / "data")
    store.ensure_bucket("input")
    store.put("input", "blob", DATA)
    calls: list[int] = []

    def refuse(src: int, dst: int, count: int, offset_src: int | None = None, offset_dst: int | None = None) -> int:
        calls.append(count)
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "copy_file_range", refuse, raising=False)
    target = tmp_path / "part"
    store.download("input", "blob", str(target), start=start, end=end)
    assert target.read_bytes() == DATA[start:end]
    assert calls


def test_a_kernel_copy_cut_short_is_finished_through_user_space(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FileObjectStore(tmp_path / "data")
    store.ensure_bucket("input")
    store.put("input", "blob", DATA)
    real = os.copy_file_range
    calls = 0

    def once(src: int, dst: int, count: int, offset_src: int | None = None, offset_dst: int | None = None) -> int:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise OSError(38, "Function not implemented")
        return real(src, dst, min(count, 4096), offset_src, offset_dst)

    monkeypatch.setattr(os, "copy_file_range", once)
    target = tmp_path / "part"
    store.download("input", "blob", str(target), start=10, end=200_000)
    assert target.read_bytes() == DATA[10:200_000]


def test_a_kernel_copy_that_copies_nothing_is_finished_through_user_space(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FileObjectStore(tmp_path / "data")
    store.ensure_bucket("input")
    store.put("input", "blob", DATA)
    monkeypatch.setattr(os, "copy_file_range", lambda *args: 0)  # some file systems do this
    target = tmp_path / "part"
    store.download("input", "blob", str(target), start=5, end=300_000)
    assert target.read_bytes() == DATA[5:300_000]


def test_concurrent_writes_of_one_key_leave_one_of_them_whole(tmp_path: Path) -> None:
    import threading

    store = FileObjectStore(tmp_path / "data")
    store.ensure_bucket("output")
    bodies = [bytes([65 + i]) * (100 + i) for i in range(4)]
    errors: list[BaseException] = []

    def write(body: bytes) -> None:
        try:
            for _ in range(50):
                store.put("output", "hints.json", body)
        except BaseException as exc:  # noqa: BLE001 -- collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    info = store.head("output", "hints.json")
    assert store.get("output", "hints.json") in bodies and info.size == len(store.get("output", "hints.json"))


# -- a bucket folder from outside: links, odd entries, keys a folder cannot hold ----------------


@pytest.fixture
def store(tmp_path: Path) -> FileObjectStore:
    store = FileObjectStore(tmp_path / "data")
    store.ensure_bucket("input")
    return store


def test_a_link_to_a_file_outside_the_bucket_is_never_read(store: FileObjectStore, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    os.symlink(secret, store.bucket_path("input") / "x.csv")
    for read in (
        lambda: store.head("input", "x.csv"),
        lambda: store.get("input", "x.csv"),
        lambda: store.download("input", "x.csv", str(tmp_path / "copy")),
    ):
        with pytest.raises(InvalidNameError, match="symbolic link"):
            read()
    assert [i.key for i in store.list("input")] == []
    assert not (tmp_path / "copy").exists() or (tmp_path / "copy").read_bytes() == b""


def test_a_linked_folder_inside_the_bucket_is_neither_read_nor_written_through(store: FileObjectStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "data.csv").write_text("a,b\n")
    os.symlink(outside, store.bucket_path("input") / "sub")
    with pytest.raises(InvalidNameError, match="symbolic link"):
        store.get("input", "sub/data.csv")
    with pytest.raises(InvalidNameError, match="symbolic link"):
        store.put("input", "sub/new.csv", b"x")
    assert sorted(p.name for p in outside.iterdir()) == ["data.csv"]
    assert [i.key for i in store.list("input")] == []


def test_a_fifo_in_a_bucket_is_refused_without_waiting_for_a_writer(store: FileObjectStore) -> None:
    os.mkfifo(store.bucket_path("input") / "pipe.csv")
    with pytest.raises(InvalidNameError, match="not a regular file"):
        store.head("input", "pipe.csv")
    assert [i.key for i in store.list("input")] == []


def test_an_object_and_a_folder_of_one_name_are_refused_clearly(store: FileObjectStore) -> None:
    store.put("input", "a.csv", b"1")
    with pytest.raises(InvalidNameError, match="a.csv is an object"):
        store.put("input", "a.csv/b.csv", b"2")
    store.put("input", "d/e.csv", b"3")
    with pytest.raises(InvalidNameError, match="objects under d/ exist"):
        store.put("input", "d", b"4")
    assert store.get("input", "a.csv") == b"1" and store.get("input", "d/e.csv") == b"3"
    with pytest.raises(NotFoundError):
        store.get("input", "a.csv/b.csv")


def test_deleting_the_last_object_of_a_folder_removes_the_folder(store: FileObjectStore) -> None:
    store.put("input", "_work/run-1/chunk-00000/part.parquet", b"p")
    store.put("input", "_work/run-1/results.json", b"r")
    store.put("input", "_work/keep.txt", b"k")
    for key in ("_work/run-1/chunk-00000/part.parquet", "_work/run-1/results.json"):
        store.delete("input", key)
    root = store.bucket_path("input")
    assert not (root / "_work" / "run-1").exists()
    assert (root / "_work" / "keep.txt").exists()
    store.delete("input", "_work/keep.txt")
    assert not (root / "_work").exists() and root.is_dir()


# -- writes and their identity ----------------------------------------------------------------


def test_every_write_has_its_own_sequencer_even_with_the_same_bytes(store: FileObjectStore) -> None:
    first = store.put("input", "k.csv", b"same")
    second = store.put("input", "k.csv", b"same")
    assert first.etag == second.etag
    assert first.sequencer and second.sequencer and second.sequencer > first.sequencer
    assert store.head("input", "k.csv").sequencer == second.sequencer


def test_touching_a_file_is_no_new_write(store: FileObjectStore) -> None:
    before = store.put("input", "k.csv", b"a,b\n1,2\n")
    path = store.bucket_path("input") / "k.csv"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 5_000_000_000))
    after = store.head("input", "k.csv")
    assert (after.etag, after.sequencer) == (before.etag, before.sequencer)


def test_the_same_bytes_written_again_by_another_program_are_a_new_write(store: FileObjectStore) -> None:
    before = store.put("input", "k.csv", b"a,b\n1,2\n")
    path = store.bucket_path("input") / "k.csv"
    path.write_bytes(b"a,b\n1,2\n")  # in place: same inode, same bytes
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    # The watcher saw it closed after a write: that is a write, as a PUT of the same bytes is on S3.
    again = store.observe("input", "k.csv", written=True)
    assert again.etag == before.etag and again.sequencer != before.sequencer
    # Renamed into place (a new inode) it is a new write whoever notices it.
    staged = path.with_name("staged")
    staged.write_bytes(b"a,b\n1,2\n")
    os.replace(staged, path)
    third = store.head("input", "k.csv")
    assert third.etag == before.etag and third.sequencer not in (before.sequencer, again.sequencer)


def test_a_file_rewritten_in_place_with_the_same_size_gets_its_new_etag(store: FileObjectStore) -> None:
    before = store.put("input", "k.csv", b"a,b\n1,2\n")
    path = store.bucket_path("input") / "k.csv"
    with open(path, "r+b") as f:
        f.write(b"a,b\n3,4\n")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))  # a coarse clock would not move
    after = store.head("input", "k.csv")
    assert after.etag != before.etag and after.sequencer != before.sequencer


def test_a_read_pinned_to_an_etag_fails_once_the_object_was_replaced(store: FileObjectStore, tmp_path: Path) -> None:
    first = store.put("input", "k.csv", b"a,b\n1,2\n")
    assert store.get("input", "k.csv", start=0, end=3, if_match=first.etag) == b"a,b"
    store.put("input", "k.csv", b"a,b\n9,9\n9,9\n")
    with pytest.raises(PreconditionFailedError):
        store.get("input", "k.csv", if_match=first.etag)
    with pytest.raises(PreconditionFailedError):
        store.download("input", "k.csv", str(tmp_path / "part"), start=4, end=8, if_match=f'"{first.etag}"')
    # Replaced by another program (same size, new bytes): detected too.
    now = store.head("input", "k.csv")
    path = store.bucket_path("input") / "k.csv"
    path.write_bytes(b"a,b\n7,7\n7,7\n")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    with pytest.raises(PreconditionFailedError):
        store.get("input", "k.csv", if_match=now.etag)


class Interleaved(FileObjectStore):
    """A store that runs ``between`` once, the next time a writer or an observer takes the commit lock."""

    between: Callable[[], None] | None = None

    @contextmanager
    def _commit_lock(self, bucket: str) -> Iterator[None]:
        step, self.between = self.between, None
        if step is not None:
            step()
        with super()._commit_lock(bucket):
            yield


def test_an_observer_never_records_a_file_replaced_while_it_read_it(tmp_path: Path) -> None:
    store = Interleaved(tmp_path / "data")
    store.put("input", "a.csv", b"v1\n")
    staged = tmp_path / "staged"
    staged.write_bytes(b"v1 from elsewhere\n")
    os.replace(staged, store.bucket_path("input") / "a.csv")  # another program: the sidecar no longer describes it
    newer: list[ObjectInfo] = []
    store.between = lambda: newer.append(store.put("input", "a.csv", b"v2, put while the observer computed\n"))
    seen = store.observe("input", "a.csv", written=True)
    assert (seen.etag, seen.sequencer) == (newer[0].etag, newer[0].sequencer)
    assert store.head("input", "a.csv").sequencer == newer[0].sequencer


def test_a_reader_looking_first_does_not_turn_a_rewrite_into_a_touch(store: FileObjectStore) -> None:
    first = store.put("input", "a.csv", b"id\n1\n")
    path = store.bucket_path("input") / "a.csv"
    with open(path, "r+b") as f:  # the same bytes written again in place (cp over it, an editor)
        f.truncate(0)
        f.write(b"id\n1\n")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert store.get("input", "a.csv", if_match=first.etag) == b"id\n1\n"  # a run still reading it
    assert store.head("input", "a.csv").etag == first.etag  # the CLI, a listing
    assert store.observe("input", "a.csv", written=True).sequencer != first.sequencer  # the watcher saw the write


def test_a_touch_while_a_pinned_read_runs_does_not_fail_it(tmp_path: Path) -> None:
    class Touching(FileObjectStore):
        def _check_match(self, bucket: str, key: str, fd: int, found: os.stat_result, if_match: str | None) -> None:
            super()._check_match(bucket, key, fd, found, if_match)
            os.utime(self.bucket_path(bucket) / key, ns=(found.st_atime_ns, found.st_mtime_ns + 7_000_000))

    store = Touching(tmp_path / "data")
    info = store.put("input", "a.csv", b"a,b\n1,2\n")
    assert store.get("input", "a.csv", start=4, end=7, if_match=info.etag) == b"1,2"
    store.download("input", "a.csv", str(tmp_path / "part"), if_match=info.etag)
    assert (tmp_path / "part").read_bytes() == b"a,b\n1,2\n"


def test_a_writer_killed_between_its_two_renames_leaves_the_old_write_as_it_was(tmp_path: Path) -> None:
    class Killed(Exception):
        pass

    class DiesAfterTheSidecar(FileObjectStore):
        dying = False

        def _write_meta(self, bucket: str, key: str, value: Mapping[str, Any]) -> None:
            super()._write_meta(bucket, key, value)
            if self.dying and not key.startswith("_"):
                raise Killed  # the process ends here: the new file was never renamed into place

    store = DiesAfterTheSidecar(tmp_path / "data")
    first = store.put("input", "a.csv", b"v1\n")
    store.dying = True
    with pytest.raises(Killed):
        store.put("input", "a.csv", b"v2, never landed\n")
    store.dying = False
    again = store.observe("input", "a.csv")
    assert (again.etag, again.sequencer) == (first.etag, first.sequencer)  # the same write: no second run


def test_staging_left_by_a_dead_writer_is_cleared_and_a_living_ones_is_not(store: FileObjectStore) -> None:
    store.put("input", "a.csv", b"x")
    staging = store.bucket_path("input") / ".sluiceway" / "tmp"
    (staging / "put-deadbeef.tmp").write_bytes(b"half of a big file")
    with open(staging / "put-alive.tmp", "wb") as alive:
        fcntl.flock(alive, fcntl.LOCK_EX)  # a writer in another process, still writing
        assert store.clear_staging("input") == 1
        assert sorted(p.name for p in staging.iterdir()) == ["put-alive.tmp"]


def test_sidecars_written_before_writes_had_sequencers_keep_their_events_identity(store: FileObjectStore) -> None:
    path = store.bucket_path("input") / "old.csv"
    path.write_bytes(b"a,b\n1,2\n")
    # An mtime whose float seconds round differently by the two routes, as real nanosecond mtimes do.
    os.utime(path, ns=(1_700_000_000_123_456_789, 1_700_000_000_123_456_789))
    digest = hashlib.sha256(b"old.csv").hexdigest()
    sidecar = store.bucket_path("input") / ".sluiceway" / "meta" / digest[:2] / f"{digest}.json"
    sidecar.parent.mkdir(parents=True, exist_ok=True)
    etag = hashlib.md5(b"a,b\n1,2\n", usedforsecurity=False).hexdigest()
    sidecar.write_text(json.dumps({"etag": etag, "size": 8, "content_type": "text/csv", "metadata": {}}))
    # What events were named with then: the modification time as a datetime, in microseconds.
    then = f"{int(datetime.fromtimestamp(path.stat().st_mtime, UTC).timestamp() * 1_000_000):016X}"
    assert store.observe("input", "old.csv").sequencer == then


# -- conditional writes, parts, what a stack start clears ----------------------------------------


def test_of_concurrent_conditional_creates_exactly_one_lands(tmp_path: Path) -> None:
    import threading

    store = FileObjectStore(tmp_path / "data")
    store.ensure_bucket("output")
    for trial in range(5):
        barrier = threading.Barrier(6)
        won: list[int] = []
        refused: list[str] = []

        def create(
            i: int, key: str = f"k{trial}", barrier: threading.Barrier = barrier, won: list[int] = won, refused: list[str] = refused
        ) -> None:
            barrier.wait()
            try:
                store.put("output", key, bytes([i]) * 50_000, condition=WriteCondition(absent=True))
                won.append(i)
            except WriteConditionError as exc:
                refused.append(exc.header)

        threads = [threading.Thread(target=create, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(won) == 1 and refused == ["If-None-Match"] * 5
        assert store.get("output", f"k{trial}") == bytes(won) * 50_000


def test_if_match_writes_and_deletes_only_that_version(store: FileObjectStore) -> None:
    first = store.put("input", "a.csv", b"v1")
    with pytest.raises(WriteConditionError) as missing:
        store.put("input", "b.csv", b"x", condition=WriteCondition(etag=first.etag))
    assert missing.value.missing
    second = store.put("input", "a.csv", b"v2", condition=WriteCondition(etag=f'"{first.etag}"'))
    with pytest.raises(WriteConditionError) as stale:
        store.put("input", "a.csv", b"v3", condition=WriteCondition(etag=first.etag))
    assert (stale.value.header, stale.value.missing) == ("If-Match", False)
    with pytest.raises(WriteConditionError):
        store.delete("input", "a.csv", condition=WriteCondition(etag=first.etag))
    assert store.get("input", "a.csv") == b"v2"
    removal = store.delete("input", "a.csv", condition=WriteCondition(etag=second.etag))
    assert second.sequencer is not None and removal > second.sequencer  # S3 orders a key's events by it


def test_the_parts_of_a_concatenation_are_kept_with_the_object(store: FileObjectStore) -> None:
    with store.staging("input", "parts") as folder:
        for name, body in (("1", b"aaa"), ("2", b"bb")):
            with open(os.open(name, os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=folder), "wb") as out:
                out.write(body)
        store.put_concatenation("input", "joined", folder, ["1", "2"], etag="x-2")
    with store.reader("input", "joined") as reader:
        assert (reader.part_sizes, reader.read()) == ((3, 2), b"aaabb")
    store.copy("input", "joined", "input", "copied")
    with store.reader("input", "copied") as reader:
        assert reader.part_sizes is None  # a copy is written in one piece
    (store.bucket_path("input") / "joined").write_bytes(b"changed by another program")
    with store.reader("input", "joined") as reader:
        assert reader.part_sizes is None


def test_a_stack_start_keeps_multipart_uploads_and_clears_only_dead_writers_files(store: FileObjectStore) -> None:
    uploads = MultipartUploads(store)
    upload = uploads.create("input", "big.bin", content_type="binary/octet-stream", now=datetime.now(UTC))
    uploads.put_part("input", upload.upload_id, "big.bin", 1, b"part one", etag="e", checksums={}, now=datetime.now(UTC))
    folder = store.bucket_path("input") / ".sluiceway" / "uploads" / upload.upload_id
    (folder / ".00002.part.dead.tmp").write_bytes(b"half a part")
    with open(folder / ".00003.part.alive.tmp", "wb") as alive:
        fcntl.flock(alive, fcntl.LOCK_EX)  # being written
        assert store.clear_staging("input") == 1
        assert sorted(p.name for p in folder.iterdir()) == [".00003.part.alive.tmp", "00001.json", "00001.part", "upload.json"]
    assert [(p.number, p.size) for p in uploads.parts("input", upload.upload_id)] == [(1, 8)]
