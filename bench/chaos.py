"""Soak: the real stack killed hundreds of times while files run; then the counts of every effect.

The same harness as ``tests/chaos`` (``tests/chaos/chaos_harness.py``), run for
longer: each round starts ``sluiceway up`` and ends it after a random moment
with ``kill -9`` of its whole process group, now and then of the stack's process
alone (its workers must notice and end), now and then with SIGTERM instead, and
now and then a second ``up`` is started beside it (it must refuse). Some rounds
write a file again while the stack runs (new rows or the same bytes: each write
is a run of its own) or touch one (no write, no run). Files
arrive between rounds, written into the input folder and through ``sluiceway
upload``. A last ``up`` runs until everything has ended; then every file must
have exactly one execution with the expected status, one metadata record, one
notification (table and outbox file), one result, its input untouched, and
nothing may be left in scratch or under ``_work/``.

    .venv/bin/python bench/chaos.py [--rounds 200] [--files 60] [--big-mb 32] [--seed 1] [--keep DIR]

Prints the rounds by kind, the files by outcome, and every broken promise; exits 1 if there is one.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/queue.py would shadow the standard library's queue module for scripts run from here.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "chaos"))

import argparse  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from chaos_harness import Chaos  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=200, help="stack starts ended by a kill or a stop")
    parser.add_argument("--files", type=int, default=60, help="small files (every fifth one bad)")
    parser.add_argument("--big-mb", type=float, default=32.0, help="size of the one large file (0: none)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--min-s", type=float, default=0.3, help="earliest kill after a start")
    parser.add_argument("--max-s", type=float, default=5.0, help="latest kill after a start")
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it (default: a temporary one)")
    args = parser.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="sluiceway-chaos-"))
    started = time.monotonic()
    chaos = Chaos(root, small=args.files, big_mb=args.big_mb, seed=args.seed)
    rng = random.Random(args.seed)
    per_round = max(1, len(chaos.pending) // max(1, args.rounds // 2))
    try:
        for n in range(args.rounds):
            if chaos.pending:
                (chaos.upload if n % 3 == 0 else chaos.drop)(per_round)
            # Mostly kill -9 of the whole group; every 10th a SIGTERM, every 7th the stack's process alone.
            how = "term" if n % 10 == 9 else "kill-stack" if n % 7 == 3 else "kill"
            if n % 25 == 12:
                proc = chaos.start()
                chaos.wait_up(proc)
                chaos.second_up_refuses()
                time.sleep(rng.uniform(args.min_s, args.max_s))
                chaos.kill(proc)
            elif n % 11 == 5:
                # A file written again (new rows or the same bytes) or touched while a stack runs.
                proc = chaos.start()
                time.sleep(rng.uniform(args.min_s, args.max_s))
                chaos.write_again(new_version=n % 2 == 0)
                if n % 3 == 0:
                    chaos.touch()
                time.sleep(rng.uniform(0, args.min_s))
                chaos.kill(proc)
            else:
                chaos.round(kill_after=rng.uniform(args.min_s, args.max_s), how=how)
            if n % 20 == 19:
                print(f"  {n + 1} rounds, {len(chaos.pending)} files not yet written ({time.monotonic() - started:.0f} s)", flush=True)
        chaos.finish()
        report = chaos.check()
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print(f"rounds: {dict(report.rounds)} in {time.monotonic() - started:.0f} s")
    print(f"files: {report.files} ({report.succeeded} SUCCEEDED, {report.failed} FAILED as expected)")
    if report.ok:
        print("every file: one execution, one metadata record, one notification, one result; inputs untouched; nothing left")
        return 0
    print(f"{len(report.problems)} broken promises:")
    for problem in report.problems:
        print(f"  - {problem}")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
