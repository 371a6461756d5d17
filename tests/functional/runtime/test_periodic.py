"""The stack's periodic chores: run at the start, again and again, through failures, and no more once closed."""

from __future__ import annotations

import threading
import time

import pytest

from sluiceway.runtime.periodic import Periodic


def test_a_chore_runs_at_the_start_and_again_until_it_is_closed() -> None:
    calls: list[float] = []
    ran_thrice = threading.Event()

    def chore() -> None:
        calls.append(time.monotonic())
        if len(calls) == 2:
            raise RuntimeError("a turn that fails")  # logged; the next turn comes all the same
        if len(calls) >= 3:
            ran_thrice.set()

    periodic = Periodic(chore, every_s=0.01, name="test-chore")
    periodic.start()
    try:
        assert ran_thrice.wait(10)
    finally:
        periodic.close()
    assert len(calls) >= 3
    assert not any(t.name == "test-chore" for t in threading.enumerate())  # closed: no turn can come


def test_the_first_turn_does_not_wait_for_the_period() -> None:
    ran = threading.Event()
    periodic = Periodic(ran.set, every_s=3600, name="test-first-turn")
    periodic.start()
    try:
        assert ran.wait(10)
    finally:
        periodic.close()  # and a close does not wait for the period either


def test_a_period_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Periodic(lambda: None, every_s=0, name="never")
