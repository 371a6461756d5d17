"""The real stack killed, stopped and doubled while files run: afterwards, one of every effect per file.

A few rounds here (seeded, a few minutes at most); ``bench/chaos.py`` runs hundreds.
The kill moments are random but seeded, and the promise holds at every moment, so
the outcome is the same whenever the kills land.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from chaos_harness import Chaos

pytestmark = pytest.mark.slow


@pytest.fixture
def chaos(tmp_path: Path) -> Iterator[Chaos]:
    harness = Chaos(tmp_path, small=10, big_mb=6, seed=7)
    yield harness
    harness.close()  # nothing it started outlives the test, whatever failed


def test_kill_9_at_random_moments_while_files_run(chaos: Chaos) -> None:
    moments = random.Random(7)
    chaos.drop(4)
    chaos.upload(2)
    for round_ in range(6):
        proc = chaos.start()
        time.sleep(moments.uniform(0.8, 4.0))
        if round_ == 2:
            chaos.write_again(new_version=True)  # a new version while its first may still run
            chaos.touch()
        if round_ == 3:
            chaos.write_again(new_version=False)  # the same bytes again: a write of its own
        (chaos.kill_stack_only if round_ % 3 == 1 else chaos.kill)(proc)
        chaos.drop(2 if round_ % 2 == 0 else 0)  # some arrive while the stack is down
    chaos.finish()
    report = chaos.check()
    assert report.ok, "\n".join(report.problems)
    assert report.succeeded + report.failed == report.files
    assert report.rounds["kill -9"] == 4 and report.rounds["kill -9 of the stack alone"] == 2


def test_sigterm_with_a_backlog_then_a_restart_fails_nothing(chaos: Chaos) -> None:
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
