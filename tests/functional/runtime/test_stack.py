"""The local stack's life: one per data dir, scratch left by a killed process cleared, a stop's promises."""

from __future__ import annotations

from pathlib import Path

import pytest

from sluiceway.errors import StackRunningError
from sluiceway.runtime.wiring import build_stack, running_stack
from sluiceway.settings import Settings


def test_one_stack_per_data_dir_and_the_lock_goes_with_the_stack(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "data", workers=1)
    first, second = build_stack(settings), build_stack(settings)
    first.start("first")
    try:
        assert running_stack(settings) is not None and "first" in str(running_stack(settings))
        with pytest.raises(StackRunningError, match=str(settings.data_dir.resolve()).replace("/", ".")):
            second.start("second")
    finally:
        first.close()
        second.close()
    assert running_stack(settings) is None
    third = build_stack(settings)
    third.start("third")  # free again once the first stopped
    third.close()


def test_scratch_left_by_a_killed_process_is_cleared_at_start(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "data", workers=1)
    leftover = settings.scratch_dir / "run-1-chunk-00000-4242"
    leftover.mkdir(parents=True)
    (leftover / "chunk.csv").write_bytes(b"x" * 100)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("mine")
    (settings.scratch_dir / "link").symlink_to(outside)
    stack = build_stack(settings)
    stack.start()
    try:
        assert list(settings.scratch_dir.iterdir()) == []
        assert (outside / "keep").read_text() == "mine"  # a link is removed, never followed
    finally:
        stack.close()
