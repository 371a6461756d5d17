"""What metrics plus tracing cost: the CSV pipeline and a run of small files, observability off vs on.

Two workloads, each run with observability OFF and ON in the same run, alternating which goes
first from round to round (a shared machine's drift then falls on both sides alike), each run
on a fresh stack in a fresh data dir:

* ``csv_pipeline``: exactly ``bench/csv_pipeline.py``'s timed run (its ``run_pipeline``: a warmed
  stack, then the whole workflow on one generated sales CSV of ``--size-mb``), in seconds.
* ``small_files``: ``--files`` small CSVs (the first rows of the same file) uploaded one after
  another through the stack (``Stack.upload``: the object, its S3 event, the rule, one execution
  each), timed from the first upload until every execution has ended, in files per second.

OFF is the default stack: ``SLUICEWAY_METRICS_ENABLED=false`` and no ``OTEL_*`` variable. ON is
what an operator runs: metrics on, and tracing on through ``OTEL_EXPORTER_OTLP_ENDPOINT`` naming
an OTLP/HTTP receiver in this process that accepts every ``POST /v1/traces`` and discards it
(the spans' whole cost to the stack, export included; none of a collector's). The variables are
set in ``os.environ`` around each run only: the stack reads them when it is built
(``tracing_from_environ``, ``Settings``) and its worker processes inherit them.

    .venv/bin/python bench/observability.py [--size-mb 50] [--files 50] [--rounds 3] [--workers 2]

Prints one line per run, then the medians of the rounds::

    csv_pipeline_s off=… on=… ratio=… target<=1.05 met|not met
    small_files_per_s off=… on=… ratio=… target<=1.05 met|not met

``ratio`` is ON's time over OFF's (for small files: seconds per file, the inverse of the rates),
so 1.03 means observability costs 3%; ``paired=`` is the median of each round's own ratio. It
exits 0 whether the target is met or not (a benchmark reports, it does not gate); non-zero when
a run failed, or when an ON run exported no span (then it would not have measured tracing).
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/queue.py would shadow the standard library's queue module for scripts run from here.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import contextlib
import importlib.util
import os
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType

from sluiceway.settings import Settings

BENCH = Path(__file__).resolve().parent
TARGET = 1.05
METRICS_ENV = "SLUICEWAY_METRICS_ENABLED"
SMALL_ROWS = 200


def _csv_pipeline() -> ModuleType:
    """bench/csv_pipeline.py as a module: the very pipeline run it times is the one timed here."""
    spec = importlib.util.spec_from_file_location("csv_pipeline", BENCH / "csv_pipeline.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Receiver:
    """An OTLP/HTTP traces receiver on 127.0.0.1 that answers 200 to every export and keeps only counts."""

    posts: int = 0
    bytes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a collector: the exporter reuses its connection

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/v1/traces":
                    with receiver._lock:
                        receiver.posts += 1
                        receiver.bytes += len(body)
                    status = 200
                else:
                    status = 404
                # An empty ExportTraceServiceResponse: all accepted.
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass  # one line per export on stderr would be the receiver's noise, not the stack's

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="otlp-receiver", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    def snapshot(self) -> tuple[int, int]:
        with self._lock:
            return self.posts, self.bytes


@contextlib.contextmanager
def observability(on: bool, endpoint: str, parts: str = "both") -> Iterator[None]:
    """The environment of one run: ON (``parts`` of metrics + OTLP traces to ``endpoint``) or OFF; the old one back after."""
    metrics, tracing = on and parts != "tracing", on and parts != "metrics"
    saved = {k: v for k, v in os.environ.items() if k.startswith("OTEL_") or k == METRICS_ENV}
    for key in saved:
        del os.environ[key]
    os.environ[METRICS_ENV] = "true" if metrics else "false"
    if tracing:
        os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
    try:
        if Settings.load().metrics_enabled is not metrics:
            raise SystemExit(f"{METRICS_ENV} is not read as set: the run would not measure what it says")
        yield
    finally:
        for key in [k for k in os.environ if k.startswith("OTEL_") or k == METRICS_ENV]:
            del os.environ[key]
        os.environ.update(saved)


def small_files(source: Path, data_dir: Path, workers: int, files: int) -> float:
    """Files per second: ``files`` small CSVs uploaded one after another, until every execution has ended."""
    from sluiceway.runtime.wiring import build_stack

    small = data_dir / "small.csv"
    with open(source, "rb") as lines:
        small.write_bytes(b"".join(lines.readline() for _ in range(SMALL_ROWS + 1)))
    stack = build_stack(Settings.load(data_dir=data_dir, workers=workers))
    try:
        stack.start()
        # Warm the worker pool first, as csv_pipeline.py does: the figure is the stack, not start-up.
        for attempt in range(2 * workers):
            stack.upload(small, f"warm/{attempt}.csv")
        stack.router.deliver_pending()
        if not stack.orchestrator.wait_all(timeout=600):
            raise SystemExit("the warm-up files did not finish within 10 minutes")
        started = time.perf_counter()
        for n in range(files):
            stack.upload(small, f"small/{n}.csv")
        stack.router.deliver_pending()
        if not stack.orchestrator.wait_all(timeout=3600):
            raise SystemExit("the small files did not finish within an hour")
        took = time.perf_counter() - started
        runs = [
            r for r in stack.orchestrator.store.list(limit=files + 4 * workers) if r.input["detail"]["object"]["key"].startswith("small/")
        ]
        ended = sorted(r.status for r in runs)
        if ended != ["SUCCEEDED"] * files:
            raise SystemExit(f"expected {files} SUCCEEDED runs of the small files, got {ended}")
        return files / took
    finally:
        stack.close()


def run(label: str, on: bool, receiver: Receiver, work: Callable[[Path], float], parts: str = "both") -> float:
    """One run of ``work(data_dir)`` in a fresh data dir with observability (``parts`` of it) ``on`` or off."""
    data_dir = Path(tempfile.mkdtemp(prefix="sluiceway-bench-obs-"))
    posts_before, bytes_before = receiver.snapshot()
    try:
        with observability(on, receiver.endpoint, parts):
            figure = work(data_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    posts, sent = (a - b for a, b in zip(receiver.snapshot(), (posts_before, bytes_before), strict=True))
    if on and parts != "metrics" and posts == 0:
        raise SystemExit(f"{label}: the ON run exported no span to the receiver: tracing was not on")
    if not on and posts:
        raise SystemExit(f"{label}: the OFF run exported spans: tracing was not off")
    extra = f" exported={posts} posts/{sent / 1024:.0f} KiB" if on and parts != "metrics" else ""
    print(f"  {label} {'on ' if on else 'off'} {figure:10.3f}{extra}", flush=True)
    return figure


def verdict(ratio: float) -> str:
    return "met" if ratio <= TARGET else "not met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=50, help="size of the generated CSV for csv_pipeline (default 50)")
    parser.add_argument("--files", type=int, default=50, help="small files per small_files run (default 50)")
    parser.add_argument("--rounds", type=int, default=3, help="ON/OFF pairs per workload (default 3)")
    parser.add_argument("--workers", type=int, default=2, help="function worker processes (default 2)")
    parser.add_argument("--cache", type=Path, help="where the generated CSV is kept (default: csv_pipeline.py's bench/.cache)")
    parser.add_argument(
        "--on",
        choices=("both", "metrics", "tracing"),
        default="both",
        help="what ON turns on (default both, the must-have's figure; one alone shows which costs what)",
    )
    args = parser.parse_args()

    pipeline = _csv_pipeline()
    cache: Path = args.cache or pipeline.CACHE
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"sales-{args.size_mb}mb.csv"
    if not path.exists():
        print(f"generating {path} ...", file=sys.stderr)
        pipeline.generate(path, args.size_mb)
    print(
        f"file: {path} ({path.stat().st_size / 2**20:.0f} MiB); {args.files} small files of {SMALL_ROWS} rows;"
        f" {args.workers} workers; ON: {args.on}"
    )

    def csv_seconds(data_dir: Path) -> float:
        ((took, _rss, _record),) = pipeline.run_pipeline(path, data_dir, args.workers)
        return float(took)

    def small_rate(data_dir: Path) -> float:
        return small_files(path, data_dir, args.workers, args.files)

    seconds: dict[bool, list[float]] = {False: [], True: []}
    rates: dict[bool, list[float]] = {False: [], True: []}
    with Receiver() as receiver:
        for n in range(args.rounds):
            # OFF first in even rounds, ON first in odd ones.
            order = (False, True) if n % 2 == 0 else (True, False)
            print(f"round {n + 1}: csv_pipeline in s, small_files in files/s", flush=True)
            for on in order:
                seconds[on].append(run("csv_pipeline", on, receiver, csv_seconds, args.on))
            for on in order:
                rates[on].append(run("small_files ", on, receiver, small_rate, args.on))
        posts, sent = receiver.snapshot()

    print(f"\nmedians of {args.rounds} round(s); the OTLP receiver took {posts} exports ({sent / 2**20:.1f} MiB)")
    off_s, on_s = statistics.median(seconds[False]), statistics.median(seconds[True])
    csv_ratio = on_s / off_s
    csv_paired = statistics.median(b / a for a, b in zip(seconds[False], seconds[True], strict=True))
    print(
        f"csv_pipeline_s off={off_s:.3f} on={on_s:.3f} ratio={csv_ratio:.3f} paired={csv_paired:.3f} target<={TARGET} {verdict(csv_ratio)}"
    )
    off_r, on_r = statistics.median(rates[False]), statistics.median(rates[True])
    small_ratio = off_r / on_r  # seconds per file, ON over OFF
    small_paired = statistics.median(a / b for a, b in zip(rates[False], rates[True], strict=True))
    print(
        f"small_files_per_s off={off_r:.2f} on={on_r:.2f} ratio={small_ratio:.3f} paired={small_paired:.3f}"
        f" target<={TARGET} {verdict(small_ratio)}"
    )


if __name__ == "__main__":
    main()
