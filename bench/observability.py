"""What metrics plus tracing cost: the CSV pipeline and a run of small files, observability off vs on.

Two workloads, each run with observability OFF and ON in the same run, alternating which goes
first from round to round (a shared machine's drift then falls on both sides alike):

* ``csv_pipeline``: exactly ``bench/csv_pipeline.py``'s timed run (its ``run_pipeline``: a warmed
  stack, then the whole workflow on one generated sales CSV of ``--size-mb``), in seconds, each
  run on a fresh stack in a fresh data dir.
* ``small_files``: ``--files`` small CSVs (the first rows of the same file) uploaded one after
  another through the stack (``Stack.upload``: the object, its S3 event, the rule, one execution
  each), timed from the first upload until every execution has ended (and, ON, until its spans
  are exported), in files per second. A fresh stack per run would make each figure one ~10 s
  stretch of a shared machine's load, which swings far more than 5% from one stretch to the next
  (on two busy cores, identical runs took 3 s and 15 s): instead one OFF and one ON stack are built and
  warmed once, side by side in this process (an idle stack costs ~0.3% of a core), and the
  rounds alternate between them, so each pair of batches sees the same minute of the machine.
  The same batches are also measured in CPU seconds (this process and its worker processes; the
  idle stack's share is in both sides alike), which a busy machine disturbs much less than the
  clock: that figure is what observability adds to the work.

OFF is the default stack: ``SLUICEWAY_METRICS_ENABLED=false`` and no ``OTEL_*`` variable. ON is
what an operator runs: metrics on, and tracing on through ``OTEL_EXPORTER_OTLP_ENDPOINT`` naming
an OTLP/HTTP receiver in this process that accepts every ``POST /v1/traces`` and discards it
(the spans' whole cost to the stack, export included; none of a collector's). The variables are
set in ``os.environ`` around each stack's build only: the stack reads them then
(``tracing_from_environ``, ``Settings``) and its worker processes get them then.

    .venv/bin/python bench/observability.py [--size-mb 50] [--files 50] [--rounds 3] [--workers 2]

Prints one line per run, then the medians of the rounds::

    csv_pipeline_s off=… on=… ratio=… paired=… target<=1.05 met|not met
    small_files_per_s off=… on=… ratio=… paired=… target<=1.05 met|not met
    small_files_cpu_ms_per_file off=… on=… ratio=… paired=…

``ratio`` is ON's time over OFF's (for small files: seconds per file, the inverse of the rates),
so 1.03 means observability costs 3%; ``paired=`` is the median of each round's own ratio. It
exits 0 whether the target is met or not (a benchmark reports, it does not gate); non-zero when
a run failed, or when an ON run exported no span (then it would not have measured tracing).
(The CPU line is printed on Linux only: it reads the workers' times in ``/proc``.)
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


def _cpu_seconds() -> float | None:
    """CPU seconds used so far by this process and its live children (the stacks' workers); None off Linux."""
    me = Path(f"/proc/{os.getpid()}")
    if not me.is_dir():
        return None
    total = time.process_time()
    tick = os.sysconf("SC_CLK_TCK")
    for task in me.joinpath("task").iterdir():
        with contextlib.suppress(OSError):
            for child in task.joinpath("children").read_text().split():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    # utime and stime, the 14th and 15th fields; the command (2nd) may hold spaces.
                    fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
                    total += (int(fields[11]) + int(fields[12])) / tick
    return total


class SmallFiles:
    """One side's stack for the small files: built in its environment, warmed, then timed batch after batch."""

    def __init__(self, on: bool, receiver: Receiver, parts: str, source: Path, workers: int) -> None:
        self.on, self.receiver, self.parts, self.source, self.workers = on, receiver, parts, source, workers
        self.batches = 0

    def __enter__(self) -> SmallFiles:
        from sluiceway.runtime.wiring import build_stack

        self.data_dir = Path(tempfile.mkdtemp(prefix="sluiceway-bench-obs-"))
        self.small = self.data_dir / "small.csv"
        with open(self.source, "rb") as lines:
            self.small.write_bytes(b"".join(lines.readline() for _ in range(SMALL_ROWS + 1)))
        # The stack reads the variables when it is built, and its workers get them then.
        with observability(self.on, self.receiver.endpoint, self.parts):
            self.stack = build_stack(Settings.load(data_dir=self.data_dir, workers=self.workers))
        try:
            # Its batches' exports cannot tell (the other stack may export meanwhile): the stack itself does.
            if self.stack.tracing.enabled is not (self.on and self.parts != "metrics"):
                raise SystemExit(f"the {'ON' if self.on else 'OFF'} stack's tracing is not as set")
            self.stack.start()
            # Warm the worker pool first, as csv_pipeline.py does: the figure is the stack, not start-up.
            for attempt in range(2 * self.workers):
                self.stack.upload(self.small, f"warm/{attempt}.csv")
            self.stack.router.deliver_pending()
            if not self.stack.orchestrator.wait_all(timeout=600):
                raise SystemExit("the warm-up files did not finish within 10 minutes")
            self.stack.tracing.flush()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.stack.close()
        finally:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def batch(self, files: int) -> tuple[float, float | None]:
        """Files per second and CPU milliseconds per file of ``files`` more small files."""
        self.batches += 1
        prefix = f"small/{self.batches}/"
        cpu, started = _cpu_seconds(), time.perf_counter()
        for n in range(files):
            self.stack.upload(self.small, f"{prefix}{n}.csv")
        self.stack.router.deliver_pending()
        if not self.stack.orchestrator.wait_all(timeout=3600):
            raise SystemExit("the small files did not finish within an hour")
        # Exporting the batch's spans is part of what tracing costs (OFF: nothing to export).
        if not self.stack.tracing.flush(timeout_s=60):
            raise SystemExit("the batch's spans were not exported within a minute")
        took = time.perf_counter() - started
        used = _cpu_seconds()
        runs = [r for r in self.stack.orchestrator.store.list(limit=files) if r.input["detail"]["object"]["key"].startswith(prefix)]
        ended = sorted(r.status for r in runs)
        if ended != ["SUCCEEDED"] * files:
            raise SystemExit(f"expected {files} SUCCEEDED runs of the small files, got {ended}")
        return files / took, None if cpu is None or used is None else (used - cpu) * 1000 / files


def run(label: str, on: bool, receiver: Receiver, work: Callable[[Path], float], parts: str = "both") -> float:
    """One run of ``work(data_dir)`` in a fresh data dir with observability (``parts`` of it) ``on`` or off."""
    data_dir = Path(tempfile.mkdtemp(prefix="sluiceway-bench-obs-"))
    before = receiver.snapshot()
    try:
        with observability(on, receiver.endpoint, parts):
            figure = work(data_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    posts, sent = (a - b for a, b in zip(receiver.snapshot(), before, strict=True))
    if not on and posts:
        raise SystemExit(f"{label}: the OFF run exported spans: tracing was not off")
    report(label, on, figure, posts, sent, parts)
    return figure


def run_batch(side: SmallFiles, files: int) -> tuple[float, float | None]:
    """One batch of small files on ``side``'s stack: files per second, CPU milliseconds per file."""
    before = side.receiver.snapshot()
    rate, cpu_ms = side.batch(files)
    posts, sent = (a - b for a, b in zip(side.receiver.snapshot(), before, strict=True))
    report("small_files ", side.on, rate, posts, sent, side.parts)
    return rate, cpu_ms


def report(label: str, on: bool, figure: float, posts: int, sent: int, parts: str) -> None:
    """Print one run's line; an ON run that traces must have exported spans."""
    if on and parts != "metrics" and posts == 0:
        raise SystemExit(f"{label.strip()}: the ON run exported no span to the receiver: tracing was not on")
    extra = f" exported={posts} posts/{sent / 1024:.0f} KiB" if on and parts != "metrics" else ""
    print(f"  {label} {'on ' if on else 'off'} {figure:10.3f}{extra}", flush=True)


def summary(name: str, off: list[float], on: list[float], digits: int, *, rates: bool = False) -> tuple[float, float]:
    """Medians, ``ratio`` (ON's cost over OFF's: for rates, the inverse) and ``paired`` (the median of each round's ratio)."""
    off_m, on_m = statistics.median(off), statistics.median(on)
    ratio = off_m / on_m if rates else on_m / off_m
    paired = statistics.median((a / b if rates else b / a) for a, b in zip(off, on, strict=True))
    print(f"{name} off={off_m:.{digits}f} on={on_m:.{digits}f} ratio={ratio:.3f} paired={paired:.3f}", end="")
    return ratio, paired


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

    seconds: dict[bool, list[float]] = {False: [], True: []}
    rates: dict[bool, list[float]] = {False: [], True: []}
    cpu: dict[bool, list[float]] = {False: [], True: []}
    with Receiver() as receiver:
        for n in range(args.rounds):
            # OFF first in even rounds, ON first in odd ones.
            order = (False, True) if n % 2 == 0 else (True, False)
            print(f"round {n + 1}: csv_pipeline in s", flush=True)
            for on in order:
                seconds[on].append(run("csv_pipeline", on, receiver, csv_seconds, args.on))
        with contextlib.ExitStack() as stacks:
            print("building and warming the OFF and ON stacks for small_files", flush=True)
            sides = {on: stacks.enter_context(SmallFiles(on, receiver, args.on, path, args.workers)) for on in (False, True)}
            for n in range(args.rounds):
                order = (False, True) if n % 2 == 0 else (True, False)
                print(f"round {n + 1}: small_files in files/s", flush=True)
                for on in order:
                    rate, cpu_ms = run_batch(sides[on], args.files)
                    rates[on].append(rate)
                    if cpu_ms is not None:
                        cpu[on].append(cpu_ms)
        posts, sent = receiver.snapshot()

    print(f"\nmedians of {args.rounds} round(s); the OTLP receiver took {posts} exports ({sent / 2**20:.1f} MiB)")
    ratio, _ = summary("csv_pipeline_s", seconds[False], seconds[True], 3)
    print(f" target<={TARGET} {verdict(ratio)}")
    ratio, _ = summary("small_files_per_s", rates[False], rates[True], 2, rates=True)
    print(f" target<={TARGET} {verdict(ratio)}")
    if len(cpu[False]) == len(cpu[True]) == args.rounds:
        summary("small_files_cpu_ms_per_file", cpu[False], cpu[True], 1)
        print()


if __name__ == "__main__":
    main()
