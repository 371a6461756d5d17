"""The whole CSV workflow on a big sales file vs one plain DuckDB query on the same file.

Generates (and caches) a sales CSV of the given size, runs the local stack on
it end to end — event, ValidateData, ProcessChunks in worker processes,
AggregateData, StoreResults, NotifySuccess — and, in the same run, one DuckDB
query computing the same aggregates. Prints both times, the ratio (DuckDB time
/ pipeline time: 1.0 means as fast as DuckDB) and the peak RSS of the pipeline
(this process plus its worker processes).

    .venv/bin/python bench/csv_pipeline.py --size-mb 1024
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/queue.py would shadow the standard library's queue module for scripts run from here.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import contextlib
import json
import shutil
import tempfile
import threading
import time

import duckdb
import psutil

from sluiceway.settings import Settings

CACHE = Path(__file__).resolve().parent / ".cache"
BYTES_PER_ROW = 68  # measured on the generator's output (887 MiB for 13.77M rows)


def generate(path: Path, size_mb: int, bad_email_every: int = 0) -> None:
    """A deterministic sales CSV of about ``size_mb`` MB (quotes, commas in fields, a few bad rows).

    With ``bad_email_every`` N, every N-th row's e-mail breaks the pipeline's pattern
    (``customerN-at-example.com``): the case where checking the pattern on distinct
    values does not hold and chunks are computed again.
    """
    rows = size_mb * 1024 * 1024 // BYTES_PER_ROW
    tmp = path.with_suffix(".tmp")
    con = duckdb.connect()
    con.execute(
        f"""
        COPY (
          WITH r AS (SELECT i, ((i + 17) * 2654435761) % 4294967291 AS h FROM range({rows}) t(i))
          SELECT 100000 + i AS order_id,
                 DATE '2024-01-01' + CAST(h % 366 AS INTEGER) AS order_date,
                 ['north', 'south', 'east', 'west', 'central'][(h // 366) % 5 + 1] AS region,
                 ['Widget', 'Gadget', 'Cable, USB-C', 'Lamp', 'Desk "Pro"', 'Chair', 'Mug', 'Pen'][(h // 1830) % 8 + 1] AS product,
                 CASE WHEN i % 100003 = 7 THEN 0 ELSE 1 + (h // 14640) % 20 END AS quantity,
                 round(1 + ((h // 292800) % 50000) / 100.0, 2) AS unit_price,
                 CASE WHEN {bad_email_every} > 0 AND i % {max(1, bad_email_every)} = 11 THEN 'customer' || i || '-at-example.com'
                      ELSE 'customer' || ((h // 7) % 50000) || '@example.com' END AS customer_email
          FROM r
        ) TO '{tmp}' (HEADER, DELIMITER ',')
        """
    )
    con.close()
    tmp.rename(path)


def duckdb_query(path: Path) -> tuple[float, list[tuple[object, ...]]]:
    con = duckdb.connect()
    started = time.perf_counter()
    rows = con.execute(
        f"""
        SELECT region, count(*) AS orders, sum(quantity * unit_price) AS revenue, avg(quantity * unit_price) AS mean_revenue,
               sum(quantity) AS quantity, min(unit_price) AS min_price, max(unit_price) AS max_price,
               count(DISTINCT customer_email) AS customers, count(DISTINCT product) AS products
        FROM read_csv('{path}', header = true)
        WHERE quantity >= 1
        GROUP BY region ORDER BY region
        """
    ).fetchall()
    took = time.perf_counter() - started
    con.close()
    return took, rows


class PeakRss:
    """Samples the RSS of this process and its children every 50 ms.

    Listing the children scans every process on the machine, so it is done once a
    second; the RSS of the processes found is read at every sample. Otherwise the
    sampler alone would take a visible share of the CPU the pipeline runs on.
    """

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        procs: list[psutil.Process] = []
        listed = 0.0
        while not self._stop.wait(0.05):
            if time.monotonic() - listed >= 1.0:
                procs, listed = [me, *me.children(recursive=True)], time.monotonic()
            total = 0
            for proc in procs:
                with contextlib.suppress(psutil.Error):  # a worker that just exited
                    total += proc.memory_info().rss
            self.peak = max(self.peak, total)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_pipeline(path: Path, data_dir: Path, workers: int, runs: int = 1) -> list[tuple[float, float, dict[str, object]]]:
    """Time ``runs`` runs of the pipeline on ``path``, one after the other on the same stack."""
    from sluiceway.runtime.wiring import build_stack

    settings = Settings.load(data_dir=data_dir, workers=workers)
    stack = build_stack(settings)
    timings = []
    try:
        stack.start()
        # Warm the worker pool (interpreter start-up, imports) with a small file first, as a
        # long-running stack is: the figure is the pipeline, not process start-up.
        warm = data_dir / "warm.csv"
        with open(path, "rb") as source:
            warm.write_bytes(b"".join(source.readline() for _ in range(2000)))
        for attempt in range(2 * workers):
            stack.upload(warm, f"warm/{attempt}.csv")
        stack.router.deliver_pending()
        stack.orchestrator.wait_all(timeout=600)
        # The first timed run starts without what the warm-up learnt of the data.
        from sluiceway.errors import NotFoundError
        from sluiceway.functions._common import HINTS_KEY

        with contextlib.suppress(NotFoundError):
            stack.objects.delete(settings.output_bucket, HINTS_KEY.format(pipeline=stack.services.pipeline.name))
        for run in range(runs):
            key = f"bench/{run}/sales.csv"
            # Copied without its event, so that the timing below starts at the event, not the copy.
            stack.objects.inner.put_file(settings.input_bucket, key, str(path), content_type="text/csv")
            with PeakRss() as rss:
                started = time.perf_counter()
                stack.objects.emit_created(stack.objects.head(settings.input_bucket, key))
                stack.router.deliver_pending()
                if not stack.orchestrator.wait_all(timeout=3600):
                    raise SystemExit("the pipeline did not finish within an hour")
                took = time.perf_counter() - started
            record = next(r for r in stack.orchestrator.store.list(limit=50) if r.input["detail"]["object"]["key"] == key)
            if record.status != "SUCCEEDED":
                raise SystemExit(f"the pipeline run ended {record.status}: {record.error} {record.cause}")
            item = stack.services.table.get({"ExecutionId": record.arn}) or {}
            timings.append((took, rss.peak / 2**20, item))
        return timings
    finally:
        stack.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024, help="size of the generated CSV (default 1024)")
    parser.add_argument("--workers", type=int, default=2, help="function worker processes (default 2)")
    parser.add_argument(
        "--bad-email-every", type=int, default=0, metavar="N", help="break the e-mail pattern on every N-th row (default: never)"
    )
    args = parser.parse_args()

    CACHE.mkdir(exist_ok=True)
    suffix = f"-bad{args.bad_email_every}" if args.bad_email_every else ""
    path = CACHE / f"sales-{args.size_mb}mb{suffix}.csv"
    if not path.exists():
        print(f"generating {path} ...", file=sys.stderr)
        generate(path, args.size_mb, args.bad_email_every)
    size = path.stat().st_size
    print(f"file: {path} ({size / 2**20:.0f} MiB)")

    duck_s, duck_rows = duckdb_query(path)
    data_dir = Path(tempfile.mkdtemp(prefix="sluiceway-bench-"))
    try:
        # With broken e-mails, a second run shows the pipeline checking that pattern per row:
        # the first run recorded that it failed on the distinct values.
        timings = run_pipeline(path, data_dir, args.workers, runs=2 if args.bad_email_every else 1)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"duckdb query:     {duck_s:8.2f} s  ({size / 2**20 / duck_s:7.1f} MiB/s)")
    for run, (pipe_s, peak_mb, record) in enumerate(timings, start=1):
        label = "sluiceway run:" if len(timings) == 1 else f"sluiceway run {run}:"
        print(f"{label:<18}{pipe_s:8.2f} s  ({size / 2**20 / pipe_s:7.1f} MiB/s)")
        print(f"ratio (duckdb time / pipeline time): {duck_s / pipe_s:.2f}x  (target >= 0.5x)")
        print(f"pipeline peak RSS (process + workers): {peak_mb:.0f} MiB")
        print(f"rows read/valid/rejected: {record.get('RowsRead')}/{record.get('RowsValid')}/{record.get('RowsRejected')}")
        print(f"stage durations (ms): {json.dumps(record.get('Durations'))}")
    duck_orders = sum(int(r[1]) for r in duck_rows)  # type: ignore[call-overload]
    if args.bad_email_every:
        print("(the DuckDB query does not check e-mails: it keeps the rows the pipeline rejects for them)")
    elif timings[0][2].get("RowsValid") != duck_orders:
        print(f"WARNING: the pipeline kept {timings[0][2].get('RowsValid')} valid rows, DuckDB counted {duck_orders}")


if __name__ == "__main__":
    main()
