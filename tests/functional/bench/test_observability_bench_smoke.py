"""bench/observability.py runs end to end with tiny sizes and prints both ratios in the promised shape."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "bench" / "observability.py"
NUMBER = r"(\d+\.\d+)"
RUN = re.compile(rf"^  (csv_pipeline|small_files) +(on|off) +{NUMBER}(?: exported=(\d+) posts/\d+ KiB)?$")
SUMMARY = re.compile(
    rf"^(csv_pipeline_s|small_files_per_s) off={NUMBER} on={NUMBER} ratio={NUMBER} paired={NUMBER} target<=1.05 (met|not met)$"
)


@pytest.mark.slow
def test_the_benchmark_prints_off_and_on_runs_and_a_ratio_against_the_target_for_each_workload(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--size-mb", "1", "--files", "3", "--rounds", "1", "--workers", "1", "--cache", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()

    runs = [m for m in map(RUN.match, lines) if m]
    assert sorted((m[1], m[2]) for m in runs) == sorted(
        [("csv_pipeline", "off"), ("csv_pipeline", "on"), ("small_files", "off"), ("small_files", "on")]
    ), done.stdout
    for m in runs:
        assert float(m[3]) > 0
        # ON means spans reached the receiver; OFF sends none (the script checks it, the line shows it).
        assert (m[4] is not None and int(m[4]) > 0) if m[2] == "on" else m[4] is None, m[0]

    summary = {m[1]: m for m in map(SUMMARY.match, lines) if m}
    assert set(summary) == {"csv_pipeline_s", "small_files_per_s"}, done.stdout
    figures = {(m[1], m[2]): float(m[3]) for m in runs}
    csv, small = summary["csv_pipeline_s"], summary["small_files_per_s"]
    # With one round the medians are that round's figures; the ratio is ON's time over OFF's.
    assert float(csv[2]) == pytest.approx(figures["csv_pipeline", "off"], abs=0.001)
    # The printed figures are rounded (3 decimals for seconds, 2 for files/s): the ratio of the printed
    # figures may differ from the printed ratio by what that rounding can move it, no more.
    csv_ratio = float(csv[3]) / float(csv[2])
    assert float(csv[4]) == pytest.approx(csv_ratio, abs=csv_ratio * (0.0005 / float(csv[3]) + 0.0005 / float(csv[2])) + 0.0005)
    assert float(small[2]) == pytest.approx(figures["small_files", "off"], abs=0.01)
    small_ratio = float(small[2]) / float(small[3])
    assert float(small[4]) == pytest.approx(small_ratio, abs=small_ratio * (0.005 / float(small[2]) + 0.005 / float(small[3])) + 0.0005)
    for m in (csv, small):
        shown = float(m[4])
        if abs(shown - 1.05) > 0.0005:  # a ratio printed as 1.050 may lie on either side of the target
            assert m[6] == ("met" if shown <= 1.05 else "not met")
