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
