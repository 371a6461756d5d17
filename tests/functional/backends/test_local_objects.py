"""Folder-backed buckets: what the contract suite cannot reach (the kernel copy's fallback)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sluiceway.backends.local.objects import FileObjectStore

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
