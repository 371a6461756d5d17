"""Kill the real stack at random moments while files run, start it again, and check that nothing was lost or doubled.

Used by ``tests/chaos`` (a few rounds, in ``make test``) and ``bench/chaos.py``
(hundreds of rounds). Each round starts ``sluiceway up`` in a process group of
its own and ends it one of three ways: ``kill -9`` of the whole group (a crash,
a machine losing power), SIGTERM to the stack's process (a service manager's
stop), or letting it finish. Files arrive the ways they do in practice: written
into the input folder (renamed into place) while the stack runs or while it is
down, and through ``sluiceway upload``. A last ``up`` runs until everything has
ended, then :meth:`Chaos.check` compares the data dir with what must hold:

* every input file has exactly one execution, SUCCEEDED for a good file and
  FAILED for a bad one, and no other execution exists;
* exactly one metadata record per file, with the same status, and for a good
  file ``RowsRead == RowsValid + RowsRejected`` with the file's row count;
* exactly one notification per file, in the outbox table and in ``outbox.jsonl``;
* exactly one ``result.json`` per good file, none for a bad one;
* every input file is byte for byte what was written;
* nothing is left in scratch or under ``_work/``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sluiceway.config import packaged_config_path
from sluiceway.data.samples import write_sales_csv

INPUT = "sluiceway-input"
OUTPUT = "sluiceway-output"
HEADER = "order_id,order_date,region,product,quantity,unit_price,customer_email"
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


@dataclass(frozen=True)
class InputFile:
    key: str
    data: bytes
    expect: str
    """SUCCEEDED or FAILED."""
    rows: int
    """Data rows (records) in the file."""


@dataclass
class Report:
    """What a check found: counts, and every broken promise."""

    files: int = 0
    succeeded: int = 0
    failed: int = 0
    problems: list[str] = field(default_factory=list)
    rounds: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.problems


class Chaos:
    """A data dir, its input files, and the stack run against them (see the module docstring)."""

    def __init__(self, root: Path, *, small: int = 12, big_mb: float = 6.0, seed: int = 0, workers: int = 2) -> None:
        self.root = root
        self.data = root / "data"
        self.staging = root / "staging"
        self.staging.mkdir(parents=True, exist_ok=True)
        self.rng = random.Random(seed)
        self.workers = workers
        self.report = Report()
        self.config = root / "pipeline.yaml"
        # Small chunks: the big file runs as several ProcessChunk tasks, each a point to be killed at.
        text = packaged_config_path().read_text(encoding="utf-8").replace("chunk_size_mb: 128", "chunk_size_mb: 1")
        assert "chunk_size_mb: 1\n" in text
        self.config.write_text(text, encoding="utf-8")
        self.files: list[InputFile] = []
        for i in range(small):
            rows = 50 + self.rng.randrange(200)
            body = "".join(f"{n},2024-03-01,north,Widget,2,3.50,c{n}@example.com\n" for n in range(1, rows + 1))
            if i % 5 == 4:  # a file no run can use: FAILED, once
                self.files.append(InputFile(f"bad/{i:03d}.csv", ("not,the,header\n" + body).encode(), "FAILED", rows))
            else:
                self.files.append(InputFile(f"small/{i:03d}.csv", (HEADER + "\n" + body).encode(), "SUCCEEDED", rows))
        if big_mb > 0:
            big = root / "big.csv"
            rows = write_sales_csv(big, size_mb=big_mb, seed=seed)
            self.files.append(InputFile("big/sales.csv", big.read_bytes(), "SUCCEEDED", rows))
            big.unlink()
        self.pending = list(self.files)
        self.rng.shuffle(self.pending)

    # -- arrivals -------------------------------------------------------------------------

    def drop(self, count: int) -> None:
        """Write the next ``count`` files into the input folder, each renamed into place whole."""
        for item in self.pending[:count]:
            target = self.data / "buckets" / INPUT / item.key
            target.parent.mkdir(parents=True, exist_ok=True)
            staged = self.staging / item.key.replace("/", "_")
            staged.write_bytes(item.data)
            os.replace(staged, target)
        del self.pending[:count]

    def upload(self, count: int) -> None:
        """Put the next ``count`` files through ``sluiceway upload`` (its event waits for a stack)."""
        for item in self.pending[:count]:
            staged = self.staging / item.key.replace("/", "_")
            staged.write_bytes(item.data)
            done = self._cli("upload", str(staged), "--key", item.key)
            assert done.returncode == 0, done.stdout + done.stderr
        del self.pending[:count]

    # -- the stack ----------------------------------------------------------------------

    def start(self) -> subprocess.Popen[bytes]:
        """``sluiceway up`` in a process group of its own (so that a kill reaches its workers too)."""
        return subprocess.Popen(
            [sys.executable, "-c", "from sluiceway.cli.main import main; main()", "up", "--data-dir", str(self.data),
             "--config", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self._env(),
            start_new_session=True,
        )  # fmt: skip

    def wait_up(self, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
        """Until the stack holds the data dir (it has started: resumed, delivering)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._holds_lock(proc):
                return
            if proc.poll() is not None:
                raise AssertionError(f"the stack exited with {proc.returncode} while starting")
            time.sleep(0.05)
        raise AssertionError(f"the stack did not start within {timeout} s")

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """``kill -9`` of the whole stack: its process and every worker, at once."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        self._wait_group_gone(proc.pid)
        self.report.rounds["kill -9"] += 1

    def stop(self, proc: subprocess.Popen[bytes], *, timeout: float = 120) -> None:
        """SIGTERM to the stack's process, as a service manager stops it; once started, it must end cleanly, soon.

        A process still importing Python when the signal comes has no handler yet and ends
        by the signal (-15), which is a crash like any other, and allowed.
        """
        started = self._holds_lock(proc)
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.report.problems.append(f"a SIGTERM'd stack did not stop within {timeout} s")
            self.kill(proc)
            return
        if code != 0 and (started or code != -signal.SIGTERM):
            self.report.problems.append(f"a SIGTERM'd stack exited with {code}")
        self._wait_group_gone(proc.pid)
        self.report.rounds["SIGTERM"] += 1

    def second_up_refuses(self) -> None:
        """A second ``up`` on the data dir must refuse at once, and name the data dir."""
        done = self._cli("up", "--config", str(self.config), timeout=60)
        said = " ".join(done.stderr.split())
        if done.returncode != 1 or "another Sluiceway stack is running" not in said:
            self.report.problems.append(f"a second up did not refuse: exit {done.returncode}: {said[:300]}")
        self.report.rounds["second up"] += 1

    def round(self, *, kill_after: float | None, how: str = "kill") -> None:
        """Start the stack; after ``kill_after`` seconds end it (``how``: kill or term)."""
        proc = self.start()
        if kill_after is not None:
            time.sleep(kill_after)
        if how == "kill":
            self.kill(proc)
        else:
            self.stop(proc)

    def finish(self, *, timeout: float = 600) -> None:
        """Start the stack and let it run until every file has ended and every notification is out."""
        self.drop(len(self.pending))
        proc = self.start()
        deadline = time.monotonic() + timeout
        try:
            while not self._settled():
                if proc.poll() is not None:
                    self.report.problems.append(f"the final stack exited with {proc.returncode} before the files ended")
                    return
                if time.monotonic() > deadline:
                    self.report.problems.append(f"the files had not all ended after {timeout} s")
                    return
                time.sleep(0.2)
        finally:
            if proc.poll() is None:
                self.stop(proc)

    # -- the check ------------------------------------------------------------------------

    def check(self) -> Report:
        report = self.report
        problems = report.problems
        report.files = len(self.files)
        db = sqlite3.connect(self.data / "sluiceway.db")
        try:
            executions = db.execute("SELECT name, status, input FROM executions").fetchall()
            records = [json.loads(r[0]) for r in db.execute("SELECT body FROM items WHERE table_name='ProcessingMetadata'")]
            notes = [r[0] for r in db.execute("SELECT message FROM outbox")]
        finally:
            db.close()
        outbox = self.data / "outbox.jsonl"
        lines = [json.loads(line)["body"] for line in outbox.read_text().splitlines()] if outbox.exists() else []
        by_key = Counter(json.loads(raw)["detail"]["object"]["key"] for _, _, raw in executions)
        known = {f.key for f in self.files}
        for key in sorted(set(by_key) - known):
            problems.append(f"an execution for {key}, which no one wrote")
        for item in self.files:
            uri = f"s3://{INPUT}/{item.key}"
            runs = [(name, status) for name, status, raw in executions if json.loads(raw)["detail"]["object"]["key"] == item.key]
            if len(runs) != 1 or runs[0][1] != item.expect:
                problems.append(f"{item.key}: executions {runs}, expected one {item.expect}")
            mine = [r for r in records if r.get("InputKey") == item.key]
            if len(mine) != 1 or mine[0].get("Status") != item.expect:
                problems.append(f"{item.key}: metadata records {[r.get('Status') for r in mine]}, expected one {item.expect}")
            elif item.expect == "SUCCEEDED":
                record = mine[0]
                if not record["RowsRead"] == item.rows == record["RowsValid"] + record["RowsRejected"]:
                    problems.append(f"{item.key}: rows read {record['RowsRead']}, valid {record['RowsValid']},"
                                    f" rejected {record['RowsRejected']}; the file has {item.rows}")  # fmt: skip
            said = sum(1 for n in notes if uri + ":" in n or f"file {uri} " in n)
            written = sum(1 for n in lines if uri + ":" in n or f"file {uri} " in n)
            if said != 1 or written != 1:
                problems.append(f"{item.key}: {said} notifications in the outbox table and {written} in outbox.jsonl, expected 1")
            results = list((self.data / "buckets" / OUTPUT / "results" / item.key).glob("*/result.json"))
            if len(results) != (1 if item.expect == "SUCCEEDED" else 0):
                problems.append(f"{item.key}: {len(results)} result.json")
            stored = self.data / "buckets" / INPUT / item.key
            if not stored.is_file() or hashlib.sha256(stored.read_bytes()).digest() != hashlib.sha256(item.data).digest():
                problems.append(f"{item.key}: the input changed")
            report.succeeded += item.expect == "SUCCEEDED" and len(runs) == 1 and runs[0][1] == "SUCCEEDED"
            report.failed += item.expect == "FAILED" and len(runs) == 1 and runs[0][1] == "FAILED"
        scratch = self.data / "scratch"
        left = [str(p.relative_to(self.data)) for p in scratch.glob("*")] if scratch.exists() else []
        work = self.data / "buckets" / OUTPUT / "_work"
        left += [str(p.relative_to(self.data)) for p in work.glob("**/*")] if work.exists() else []
        if work.exists():
            left.append("buckets/sluiceway-output/_work")
        if left:
            problems.append(f"left behind: {left[:10]}")
        return report

    # -- helpers --------------------------------------------------------------------------

    def _holds_lock(self, proc: subprocess.Popen[bytes]) -> bool:
        try:
            return bool(json.loads((self.data / "stack.lock").read_text() or "{}").get("pid") == proc.pid)
        except (OSError, ValueError):
            return False

    def _settled(self) -> bool:
        """Every file has a terminal execution, nothing runs, no event or notification waits."""
        try:
            db = sqlite3.connect(f"file:{self.data / 'sluiceway.db'}?mode=ro", uri=True, timeout=5)
        except sqlite3.OperationalError:
            return False
        try:
            ended = {json.loads(raw)["detail"]["object"]["key"] for raw, in
                     db.execute("SELECT input FROM executions WHERE status IN ('SUCCEEDED','FAILED','TIMED_OUT','ABORTED')")}  # fmt: skip
            running = db.execute("SELECT count(*) FROM executions WHERE status='RUNNING'").fetchone()[0]
            events = db.execute("SELECT count(*) FROM events WHERE delivered_at IS NULL").fetchone()[0]
            deliveries = db.execute("SELECT count(*) FROM deliveries WHERE status='pending'").fetchone()[0]
            notes = db.execute("SELECT count(*) FROM topic_deliveries WHERE status='pending'").fetchone()[0]
        except sqlite3.OperationalError:
            return False  # not created yet
        finally:
            db.close()
        return {f.key for f in self.files} <= ended and not (running or events or deliveries or notes)

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "SLUICEWAY_WORKERS": str(self.workers),
            "SLUICEWAY_LOG_LEVEL": "WARNING",
            "PYTHONPATH": os.pathsep.join(sys.path),
        }

    def _cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", "from sluiceway.cli.main import main; main()", *args, "--data-dir", str(self.data)],
            capture_output=True,
            text=True,
            env={**self._env(), "COLUMNS": "300"},
            timeout=timeout,
        )

    @staticmethod
    def _wait_group_gone(pgid: int, timeout: float = 30) -> None:
        """Until no process of the group is left (a killed stack's workers end within a second)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            if _only_zombies(pgid):
                return
            time.sleep(0.05)
        raise AssertionError(f"processes of group {pgid} outlived the stack by {timeout} s")


def _only_zombies(pgid: int) -> bool:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return False
    return True
