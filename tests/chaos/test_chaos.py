"""The real stack killed, stopped and doubled while files run: afterwards, one of every effect per file.

A few rounds here (seeded, a few minutes at most); ``bench/chaos.py`` runs hundreds.
The kill moments are random but seeded, and the promise holds at every moment, so
the outcome is the same whenever the kills land.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from chaos_harness import Chaos

pytestmark = pytest.mark.slow


def test_kill_9_at_random_moments_while_files_run(tmp_path: Path) -> None:
    chaos = Chaos(tmp_path, small=10, big_mb=6, seed=7)
    moments = random.Random(7)
    chaos.drop(4)
    chaos.upload(2)
    for round_ in range(5):
        chaos.round(kill_after=moments.uniform(0.8, 4.0))
        chaos.drop(2 if round_ % 2 == 0 else 0)  # some arrive while the stack is down
    chaos.finish()
    report = chaos.check()
    assert report.ok, "\n".join(report.problems)
    assert report.succeeded + report.failed == report.files and report.rounds["kill -9"] == 5


def test_sigterm_with_a_backlog_then_a_restart_fails_nothing(tmp_path: Path) -> None:
    chaos = Chaos(tmp_path, small=20, big_mb=4, seed=11)
    chaos.drop(len(chaos.pending))  # a backlog: everything at once
    proc = chaos.start()
    chaos.wait_up(proc)
    chaos.second_up_refuses()  # a second stack refuses; the first goes on undisturbed
    chaos.stop(proc)
    chaos.round(kill_after=2.5, how="term")
    chaos.finish()
    report = chaos.check()
    assert report.ok, "\n".join(report.problems)
    assert report.rounds["SIGTERM"] >= 2 and report.rounds["second up"] == 1
