"""Closing a database while another thread is inside a statement ends that thread's work with an error, never the process.

A stack that stops closes its databases, but a task it gave up on at the end of its grace
can still be writing. Before connections were guarded, CPython freed the handle under the
running statement and the process died of a segmentation fault. Each scenario runs in a
child process so that a regression fails this test instead of killing the test run.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

_SCENARIO = textwrap.dedent(
    """
    import sqlite3, sys, threading, time
    from pathlib import Path
    from sluiceway.backends.local._sqlite import Database

    folder = Path(sys.argv[1])
    kind = sys.argv[2]
    ended = {"error": 0, "stopped": 0}
    for round_ in range(60):
        db = Database(folder / "state.db")  # migrated by the first round only
        db.connection().execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v INTEGER)")
        db.connection().executemany("INSERT OR IGNORE INTO t VALUES (?, 0)", [(k,) for k in range(500)])
        started = threading.Event()
        stop = threading.Event()

        def work() -> None:
            try:
                while not stop.is_set():
                    if kind == "write":
                        with db.transaction() as conn:
                            conn.execute("UPDATE t SET v = v + 1 WHERE id = 1")
                            started.set()
                    else:
                        for _ in db.connection().execute("SELECT * FROM t"):
                            started.set()
                        db.connection().execute("SELECT count(*) FROM t").fetchone()
                ended["stopped"] += 1
            except sqlite3.ProgrammingError:
                ended["error"] += 1

        thread = threading.Thread(target=work)
        thread.start()
        started.wait(5)
        time.sleep(0.001)
        db.close()
        stop.set()
        thread.join(10)
        assert not thread.is_alive()
    print(ended["error"] + ended["stopped"], ended["error"])
    """
)


@pytest.mark.parametrize("kind", ["write", "read"])
def test_a_database_closed_under_a_running_statement_fails_that_thread_cleanly(tmp_path: Path, kind: str) -> None:
    done = subprocess.run([sys.executable, "-c", _SCENARIO, str(tmp_path), kind], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"child ended with {done.returncode}: {done.stderr[-2000:]}"
    rounds, failed_cleanly = map(int, done.stdout.split())
    assert rounds == 60
    # Most rounds close under a busy thread, whose next statement meets a closed database.
    assert failed_cleanly > 0
