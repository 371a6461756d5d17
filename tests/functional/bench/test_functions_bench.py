"""bench/functions.py runs end to end with tiny counts and prints every figure it promises, in the promised shape."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "bench" / "functions.py"
NUMBER = r"(-?\d+\.\d+)"
INVOKE = re.compile(
    rf"^warm_invoke_overhead_ms path=(invoker|endpoint) p50={NUMBER} p95={NUMBER} target<=2 "
    rf"(?:direct|client_floor)_p50={NUMBER} invoke_p50={NUMBER}$"
)
CALL = re.compile(
    rf"^handler_boto3_call_ms op=(\S+) p50={NUMBER} p95={NUMBER} target<=1 moto_p50={NUMBER} ratio={NUMBER} floor_p50={NUMBER}$"
)
VERDICT = re.compile(r"^(PASS|FAIL) (warm_invoke_overhead_ms|handler_boto3_call_ms) ")


@pytest.mark.slow
def test_the_benchmark_prints_both_figures_against_their_targets_and_a_verdict_for_each(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--calls", "20", "--warmup", "3", "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # The medians follow the per-round lines; with one round they are that round's figures.
    summary = done.stdout.split("\nmedians of 1 round(s), 20 warm calls each", 1)[1].splitlines()[1:]

    invokes = {m[1]: [float(v) for v in m.groups()[1:]] for m in map(INVOKE.match, summary) if m}
    assert set(invokes) == {"invoker", "endpoint"}, done.stdout
    for p50, _p95, _peer, invoke_p50 in invokes.values():
        assert 0 < p50 <= invoke_p50  # an overhead is what an invocation adds to the handler's own time

    calls = {m[1]: [float(v) for v in m.groups()[1:]] for m in map(CALL.match, summary) if m}
    assert set(calls) == {"sqs.get_queue_url", "dynamodb.get_item", "s3.head_object"}, done.stdout
    for p50, p95, moto_p50, ratio, floor_p50 in calls.values():
        assert 0 < p50 <= p95 and moto_p50 > 0 and floor_p50 > 0
        assert ratio == pytest.approx(p50 / moto_p50, abs=0.01)

    verdicts = [m[2] for m in map(VERDICT.match, summary) if m]
    assert verdicts == ["warm_invoke_overhead_ms", "handler_boto3_call_ms"], done.stdout
