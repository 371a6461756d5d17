"""Kill the real stack at random moments while files run, start it again, and check that nothing was lost or doubled.

Used by ``tests/chaos`` (a few rounds, in ``make test``) and ``bench/chaos.py``
(hundreds of rounds). Each round starts ``sluiceway up`` in a process group of
its own and ends it one of four ways: ``kill -9`` of the whole group (a crash,
a machine losing power), ``kill -9`` of the stack's process alone (its workers
outlive it for a moment), SIGTERM to the stack's process (a service manager's
stop), or letting it finish. Files arrive the ways they do in practice: written
into the input folder (renamed into place) while the stack runs or while it is
down, and through ``sluiceway upload``; some are written again (the same bytes,
or a new version) and some are touched. A last ``up`` runs until everything has
ended, then :meth:`Chaos.check` compares the data dir with what must hold:

* every write of an input file has exactly one execution (a touch none), and no
  other execution exists: a file's last write ends SUCCEEDED (FAILED for a bad
  file); an earlier write ends SUCCEEDED, or FAILED because the next one replaced
  the file while its run read it;
* exactly one metadata record per execution, with its status, and for a good run
  ``RowsRead == RowsValid + RowsRejected`` with the file's row count;
* exactly one notification per execution, in the outbox table and in ``outbox.jsonl``;
* exactly one ``result.json`` per SUCCEEDED execution;
* every input file holds its last write, byte for byte;
* nothing is left in scratch, under ``_work/``, in a bucket's staging folder, or
  among the owner lock files.
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
from sluiceway.dynamodb.values import from_storage, to_plain

INPUT = "sluiceway-input"
OUTPUT = "sluiceway-output"
HEADER = "order_id,order_date,region,product,quantity,unit_price,customer_email"
TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


@dataclass
class InputFile:
    key: str
    data: bytes
    expect: str
    """How its last write's run ends: SUCCEEDED or FAILED."""
    rows: int
    """Data rows (records) in the file."""
    writes: int = 1
    """How many times the file was written (a touch is no write)."""
    written: bool = False


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
        self._groups: list[int] = []

    # -- arrivals -------------------------------------------------------------------------

    def drop(self, count: int) -> None:
        """Write the next ``count`` files into the input folder, each renamed into place whole."""
        for item in self.pending[:count]:
            target = self.data / "buckets" / INPUT / item.key
            target.parent.mkdir(parents=True, exist_ok=True)
            staged = self.staging / item.key.replace("/", "_")
            staged.write_bytes(item.data)
            os.replace(staged, target)
            item.written = True
        del self.pending[:count]

    def write_again(self, *, new_version: bool) -> None:
        """Write a good file already written once more, renamed into place: the same bytes, or new rows.

        Only a file whose every write the bus has recorded: a write replaced before any stack
        saw it (written while none ran, then again) is gone without a trace, on disk as in S3
        terms a write nobody was told of; its run cannot be asked for.
        """
        recorded = self._recorded_writes()
        candidates = [
            f for f in self.files
            if f.written and f.expect == "SUCCEEDED" and f.key.startswith("small/") and recorded[f.key] == f.writes
        ]  # fmt: skip
        if not candidates:
            return
        item = self.rng.choice(candidates)
        if new_version:
            more = 10 + self.rng.randrange(50)
            first = item.rows + 1
            item.data += "".join(f"{n},2024-03-02,south,Widget,1,4.50,d{n}@example.com\n" for n in range(first, first + more)).encode()
            item.rows += more
        staged = self.staging / ("again-" + item.key.replace("/", "_"))
        staged.write_bytes(item.data)
        os.replace(staged, self.data / "buckets" / INPUT / item.key)
        item.writes += 1
        self.report.rounds["new version" if new_version else "same bytes again"] += 1

    def touch(self) -> None:
        """``touch`` a file already written: no write, no run."""
        written = [f for f in self.files if f.written]
        if written:
            target = self.data / "buckets" / INPUT / self.rng.choice(written).key
            with open(target, "ab"):
                pass
            os.utime(target)
            self.report.rounds["touch"] += 1

    def upload(self, count: int) -> None:
        """Put the next ``count`` files through ``sluiceway upload`` (its event waits for a stack)."""
        for item in self.pending[:count]:
            staged = self.staging / item.key.replace("/", "_")
            staged.write_bytes(item.data)
            done = self._cli("upload", str(staged), "--key", item.key)
            assert done.returncode == 0, done.stdout + done.stderr
            item.written = True
        del self.pending[:count]

    # -- the stack ----------------------------------------------------------------------

    def start(self) -> subprocess.Popen[bytes]:
        """``sluiceway up`` in a process group of its own (so that a kill reaches its workers too)."""
        proc = self._started_one()
        self._groups.append(proc.pid)
        return proc

    def close(self) -> None:
        """Kill whatever this harness started and is still running (after a failed assertion, say)."""
        for pgid in self._groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
        self._groups.clear()

    def _started_one(self) -> subprocess.Popen[bytes]:
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

    def kill_stack_only(self, proc: subprocess.Popen[bytes]) -> None:
        """``kill -9`` of the stack's process alone: its workers notice and end by themselves, and the
        next stack must wait for them."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        self.report.rounds["kill -9 of the stack alone"] += 1

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
        elif how == "kill-stack":
            self.kill_stack_only(proc)
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
            executions = [
                (name, status, json.loads(raw)["detail"]["object"]["key"], cause or "")
                for name, status, raw, cause in db.execute("SELECT name, status, input, cause FROM executions")
            ]
            records = [
                {k: to_plain(from_storage(v)) for k, v in json.loads(body).items()} if typed else json.loads(body)
                for body, typed in db.execute("SELECT body, typed FROM items WHERE table_name='ProcessingMetadata'")
            ]
            notes = [r[0] for r in db.execute("SELECT message FROM outbox")]
        finally:
            db.close()
        outbox = self.data / "outbox.jsonl"
        lines = [json.loads(line)["body"] for line in outbox.read_text().splitlines()] if outbox.exists() else []
        known = {f.key for f in self.files}
        for key in sorted({key for _, _, key, _ in executions} - known):
            problems.append(f"an execution for {key}, which no one wrote")
        for item in self.files:
            uri = f"s3://{INPUT}/{item.key}"
            runs = [(name, status, cause) for name, status, key, cause in executions if key == item.key]
            statuses = sorted(status for _, status, _ in runs)
            replaced = [cause for _, status, cause in runs if status == "FAILED" and "changed" in cause]
            if len(runs) != item.writes:
                problems.append(f"{item.key}: {len(runs)} executions {statuses} for {item.writes} write(s)")
            elif item.expect not in statuses or any(s not in (item.expect, "FAILED") for s in statuses):
                problems.append(f"{item.key}: executions {statuses}, expected the last {item.expect}")
            elif statuses.count("FAILED") - (item.expect == "FAILED") > len(replaced):
                problems.append(f"{item.key}: an earlier write FAILED for another reason than being replaced: {runs}")
            mine = [r for r in records if r.get("InputKey") == item.key]
            if sorted(r.get("Status") for r in mine) != statuses:
                problems.append(f"{item.key}: metadata records {[r.get('Status') for r in mine]}, executions {statuses}")
            for record in mine:
                if record.get("Status") == "SUCCEEDED" and record["RowsRead"] != record["RowsValid"] + record["RowsRejected"]:
                    problems.append(f"{item.key}: rows read {record['RowsRead']} != valid {record['RowsValid']}"
                                    f" + rejected {record['RowsRejected']}")  # fmt: skip
            last = [r for r in mine if r.get("InputEtag") == hashlib.md5(item.data, usedforsecurity=False).hexdigest()]
            if item.expect == "SUCCEEDED" and (not last or last[-1].get("RowsRead") != item.rows):
                problems.append(f"{item.key}: no SUCCEEDED record of its last write with its {item.rows} rows")
            said = sum(1 for n in notes if uri + ":" in n or f"file {uri} " in n)
            written = sum(1 for n in lines if uri + ":" in n or f"file {uri} " in n)
            if said != len(runs) or written != len(runs):
                problems.append(f"{item.key}: {said} notifications in the outbox table and {written} in outbox.jsonl"
                                f" for {len(runs)} executions")  # fmt: skip
            results = list((self.data / "buckets" / OUTPUT / "results" / item.key).glob("*/result.json"))
            if len(results) != statuses.count("SUCCEEDED"):
                problems.append(f"{item.key}: {len(results)} result.json for {statuses.count('SUCCEEDED')} SUCCEEDED runs")
            stored = self.data / "buckets" / INPUT / item.key
            if not stored.is_file() or hashlib.sha256(stored.read_bytes()).digest() != hashlib.sha256(item.data).digest():
                problems.append(f"{item.key}: the input is not its last write")
            report.succeeded += item.expect == "SUCCEEDED" and "SUCCEEDED" in statuses
            report.failed += item.expect == "FAILED" and statuses == ["FAILED"]
        left = [str(p.relative_to(self.data)) for p in (self.data / "scratch").glob("*")]
        work = self.data / "buckets" / OUTPUT / "_work"
        if work.exists():
            left += ["buckets/sluiceway-output/_work", *(str(p.relative_to(self.data)) for p in work.glob("**/*"))]
        for bucket in (INPUT, OUTPUT):
            left += [str(p.relative_to(self.data)) for p in (self.data / "buckets" / bucket / ".sluiceway" / "tmp").glob("*")]
        # An owner file whose process is gone is swept by the next process that claims work (or the
        # next start); one still locked is a process that outlived its stack: that is left behind.
        left += [str(p.relative_to(self.data)) for p in (self.data / "owners").glob("*") if _held(p)]
        if left:
            problems.append(f"left behind: {left[:10]}")
        return report

    # -- helpers --------------------------------------------------------------------------

    def _recorded_writes(self) -> Counter[str]:
        """How many writes of each key the bus has recorded (Object Created events)."""
        try:
            db = sqlite3.connect(f"file:{self.data / 'sluiceway.db'}?mode=ro", uri=True, timeout=5)
        except sqlite3.OperationalError:
            return Counter()
        try:
            rows = db.execute(
                "SELECT json_extract(body, '$.detail.object.key') FROM events"
                " WHERE json_extract(body, '$.detail-type') = 'Object Created'"
                " AND json_extract(body, '$.detail.bucket.name') = ?",
                (INPUT,),
            ).fetchall()
        except sqlite3.OperationalError:
            return Counter()
        finally:
            db.close()
        return Counter(key for key, in rows)

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
            terminal = db.execute("SELECT input FROM executions WHERE status IN ('SUCCEEDED','FAILED','TIMED_OUT','ABORTED')")
            ended = Counter(json.loads(raw)["detail"]["object"]["key"] for raw, in terminal)
            running = db.execute("SELECT count(*) FROM executions WHERE status='RUNNING'").fetchone()[0]
            events = db.execute("SELECT count(*) FROM events WHERE delivered_at IS NULL").fetchone()[0]
            deliveries = db.execute("SELECT count(*) FROM deliveries WHERE status='pending'").fetchone()[0]
            notes = db.execute("SELECT count(*) FROM topic_deliveries WHERE status='pending'").fetchone()[0]
        except sqlite3.OperationalError:
            return False  # not created yet
        finally:
            db.close()
        return all(ended[f.key] >= f.writes for f in self.files) and not (running or events or deliveries or notes)

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "SLUICEWAY_WORKERS": str(self.workers),
            "SLUICEWAY_LOG_LEVEL": "WARNING",
            "SLUICEWAY_ENDPOINT_PORT": "0",  # any free port: rounds and parallel runs never collide
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


def _held(path: Path) -> bool:
    """Whether a live process still holds the owner file's lock (see ProcessOwner)."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        return False
    finally:
        os.close(fd)
