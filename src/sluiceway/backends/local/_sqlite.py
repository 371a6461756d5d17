"""SQLite connections and numbered migrations, shared by every local backend."""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import logging
import os
import re
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000


def connect(path: str | Path) -> sqlite3.Connection:
    """Open ``path`` with the settings every local backend relies on.

    WAL lets readers run beside the one writer; ``synchronous=NORMAL`` in WAL mode
    keeps every committed transaction across a process crash (``kill -9``); only an
    OS crash may lose the last transactions.
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        str(path),
        timeout=BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,
        check_same_thread=False,
        factory=GuardedConnection,
    )
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


_EXECUTE = sqlite3.Connection.execute  # bound once: ``super()`` on every statement costs a third more


class GuardedConnection(sqlite3.Connection):
    """A connection that another thread may close while its own thread runs a statement.

    A stack that stops closes every thread's connection, but a task it gave up on at the
    end of its grace (threads cannot be killed) may still be inside ``execute``. CPython's
    ``close()`` does not wait for that: the running ``execute`` reads the freed handle when
    its statement returns (for ``rowcount`` and ``lastrowid``) and the whole process dies
    of a segmentation fault. Each statement therefore holds the connection's lock, and
    :meth:`close` takes it first: the statement ends, and the next one from that thread
    fails with ``ProgrammingError`` (a closed database) instead. Iterating the rows of a
    query after a close is safe without it (CPython checks the connection before each
    step). Not covered, and not used here: fetching the rows of a statement that writes
    (``UPDATE ... RETURNING``) and cursors made with :meth:`cursor`, whose statements run
    outside the lock. The lock is re-entrant: a parameter generator of ``executemany`` may
    itself run a statement on the connection, as plain sqlite3 allows.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_use = threading.RLock()

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        with self._in_use:
            return _EXECUTE(self, sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        with self._in_use:
            return super().executemany(sql, parameters)

    def executescript(self, sql_script: str, /) -> sqlite3.Cursor:
        with self._in_use:
            return super().executescript(sql_script)

    def close(self) -> None:
        with self._in_use:
            super().close()

    def close_if_idle(self) -> bool:
        """Close at once unless another thread is running a statement on it; whether it closed."""
        if not self._in_use.acquire(blocking=False):
            return False
        try:
            super().close()
        finally:
            self._in_use.release()
        return True


class Database:
    """One SQLite file, migrated once, used from many threads.

    A connection is kept per thread; write transactions go through
    :meth:`transaction`, which uses ``BEGIN IMMEDIATE`` so that two writers never
    deadlock on a lock upgrade. A transaction opened inside another one on the same
    thread is a savepoint of it: both commit together, which is how an effect and
    the record that it happened become one (see :class:`~.journal.SqliteTaskJournal`).
    Work outside the database that must follow a commit is queued with
    :meth:`after_commit`.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._connections = ThreadConnections(self.path)
        self._local = self._connections.local
        self._lock = threading.Lock()
        self._owner: ProcessOwner | None = None
        migrate(self.connection())

    def sweep_owners(self) -> int:
        """Remove the owner files of processes that are gone (see :meth:`ProcessOwner.sweep`)."""
        return ProcessOwner.sweep(self.path.parent / "owners")

    @property
    def owner(self) -> ProcessOwner:
        """This process's identity for claims on work in this database (see :class:`ProcessOwner`)."""
        with self._lock:
            if self._owner is None:
                self._owner = ProcessOwner(self.path.parent / "owners")
            return self._owner

    def connection(self) -> sqlite3.Connection:
        return self._connections.get()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.connection()
        # The thread's state as this transaction began: a close from another thread swaps in
        # new thread-local state, which this transaction must not read half-way through.
        local = self._local
        depth: int = getattr(local, "depth", 0)
        if depth:
            # Nested: a savepoint, committed with the outer transaction.
            name = f"nested_{depth}"
            conn.execute(f"SAVEPOINT {name}")
            local.depth = depth + 1
            queued = len(local.after)
            try:
                yield conn
            except BaseException:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
                del local.after[queued:]  # what the rolled-back part queued never happens
                raise
            else:
                conn.execute(f"RELEASE {name}")
            finally:
                local.depth = depth
            return
        conn.execute("BEGIN IMMEDIATE")
        local.depth = 1
        local.after = []
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            try:
                conn.execute("COMMIT")
            except BaseException:
                # A commit that failed (disk full, I/O error) must not leave this thread's
                # connection inside the transaction for everything it does next.
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            after, local.after, local.depth = local.after, [], 0
            for action in after:
                action()
        finally:
            local.depth = 0
            local.after = []

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once this thread's transaction commits (at once outside one; never on rollback)."""
        if getattr(self._local, "depth", 0):
            self._local.after.append(action)
        else:
            action()

    def close(self) -> None:
        # The threads' state (a transaction's depth, what waits for its commit) stays: a thread
        # still inside a transaction keeps queueing after_commit actions, which its rollback
        # (its next statement meets the closed connection) then drops.
        self._connections.close()
        with self._lock:
            if self._owner is not None:
                self._owner.close()
                self._owner = None


_OPEN: weakref.WeakSet[ThreadConnections] = weakref.WeakSet()


class ThreadConnections:
    """One connection to a SQLite file per thread, all closed together.

    A thread that ends (the endpoint serves each TCP connection on a thread of its own)
    gives its connection back with :func:`release_thread`; otherwise every connection a
    client ever opened would keep a SQLite connection and two descriptors until the stack stops.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.local = threading.local()
        self._all: dict[int, sqlite3.Connection] = {}
        self._lock = threading.Lock()
        self._closed = False
        _OPEN.add(self)

    def get(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self.local, "conn", None)
        if conn is None:
            if self._closed:
                # A thread left running past a stop (a task given up on) must not open the
                # stopped stack's database again and go on writing: it fails as on the old one.
                raise sqlite3.ProgrammingError(f"Cannot operate on a closed database: {self.path.name}")
            conn = connect(self.path)
            self.local.conn = conn
            with self._lock:
                self._all[id(conn)] = conn
        return conn

    def release(self) -> None:
        """Close the calling thread's connection, if it has one and is not inside a transaction."""
        conn: sqlite3.Connection | None = getattr(self.local, "conn", None)
        if conn is None or int(getattr(self.local, "depth", 0)):
            return
        self.local.conn = None
        with self._lock:
            self._all.pop(id(conn), None)
        conn.close()

    def close(self) -> None:
        with self._lock:
            connections = list(self._all.values())
            self._all.clear()
            self._closed = True
        # Idle connections first: one of them may hold the write lock a busy one waits for
        # (up to the busy timeout), and closing it rolls its transaction back at once. Then
        # the busy ones, each after its statement ends, outside the lock that other threads'
        # first get() and release() need.
        busy = [c for c in connections if not (isinstance(c, GuardedConnection) and c.close_if_idle())]
        for conn in busy:
            conn.close()


def release_thread() -> None:
    """Give back the calling thread's connections to every open database (call as a thread ends)."""
    for connections in list(_OPEN):
        connections.release()


class ProcessOwner:
    """Who holds a claim on shared work (an event delivery, a notification), and whether it still lives.

    Work is claimed for a while (a lease) so that two processes never do it at once;
    a process that dies holding a claim would leave the work waiting for the lease to
    run out. Each process that claims therefore holds an exclusive ``flock`` on a file
    named after its owner id for as long as it lives: the kernel drops the lock when
    the process dies, however it dies, so any process can tell at once that the
    claims of an owner whose lock it can take are orphans.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.id = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        # Locked before it has the name sweeps look for: a file named *.lock and not yet locked
        # would look like a dead process's to a sweep in another process, which would remove it.
        staged = folder / f"{self.id}.new"
        self._fd: int | None = os.open(staged, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        os.rename(staged, self._path(self.id))
        for stale in folder.glob("*.lock"):  # the files of processes gone since (checking one removes it)
            self.alive(stale.stem)
        _sweep_unnamed(folder)
        # A process that ends without closing its database (a function's worker process) takes
        # its file with it; the kernel drops the lock either way. Only the process that made it.
        self._pid = os.getpid()
        atexit.register(self._close_at_exit)

    def _close_at_exit(self) -> None:
        if os.getpid() == self._pid:
            self.close()

    def _path(self, owner: str) -> Path:
        if not owner or "/" in owner or owner.startswith("."):
            raise ValueError(f"not an owner id: {owner!r}")
        return self.folder / f"{owner}.lock"

    def alive(self, owner: str) -> bool:
        """Whether the process that claimed work as ``owner`` still runs."""
        if owner == self.id:
            return self._fd is not None
        try:
            return not _remove_if_gone(self._path(owner))
        except ValueError:
            return False

    @staticmethod
    def sweep(folder: Path) -> int:
        """Remove the files of owners whose processes are gone; return how many.

        A process killed before its exit hooks ran (kill -9, a worker the pool had to kill)
        leaves its file; the next process to claim work would find it, but a stack that
        stops cleanly sweeps too, so a data dir at rest holds only the files of live processes.
        """
        if not folder.is_dir():
            return 0
        return sum(_remove_if_gone(path) for path in folder.glob("*.lock")) + _sweep_unnamed(folder)

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path(self.id))
            os.close(self._fd)
            self._fd = None


_UNNAMED_GRACE_S = 60.0
"""How old an unlocked ``*.new`` file must be before a sweep removes it (see :func:`_sweep_unnamed`)."""


def _sweep_unnamed(folder: Path) -> int:
    """Remove the ``*.new`` files of processes killed before they renamed theirs to ``*.lock``; return how many.

    A ``*.new`` file is unlocked for the instant between its creation and its ``flock``, so
    one is removed only when nobody holds its lock and it is older than that instant could
    ever be (a sweep must never take the file of a process still starting).
    """
    removed = 0
    now = time.time()
    for path in folder.glob("*.new"):
        try:
            if now - path.stat().st_mtime < _UNNAMED_GRACE_S:
                continue
        except FileNotFoundError:
            continue
        removed += _remove_if_gone(path)
    return removed


def _remove_if_gone(path: Path) -> bool:
    """Remove an owner's file if no process holds its lock any more; whether it was removed."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return True
    except OSError:
        return False  # cannot tell (no permission, say): its claims wait for their lease, as before
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        # Ours now: its process is gone. The file goes too (unlinked while we hold the lock).
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return True
    finally:
        os.close(fd)


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the numbered ``migrations/NNNN_*.sql`` files not yet applied; return the version."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    applied = {int(r[0]) for r in conn.execute("SELECT version FROM schema_version")}
    current = max(applied, default=0)
    scripts = sorted(
        (p for p in resources.files(__package__).joinpath("migrations").iterdir() if p.name.endswith(".sql")),
        key=lambda p: p.name,
    )
    for script in scripts:
        version = int(script.name.split("_", 1)[0])
        if version in applied:
            continue
        conn.execute("BEGIN IMMEDIATE")
        if conn.execute("SELECT 1 FROM schema_version WHERE version = ?", (version,)).fetchone() is not None:
            # Another process starting on this data dir applied it since we looked: never twice
            # (a migration's data statements are not all idempotent).
            conn.execute("COMMIT")
            applied.add(version)
            current = max(current, version)
            continue
        logger.info("applying migration", extra={"migration": script.name})
        try:
            for statement in _statements(script.read_text()):
                if not _column_there(conn, statement):
                    conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        applied.add(version)
        current = max(current, version)
    return int(current)


_ADD_COLUMN = re.compile(r"\s*ALTER\s+TABLE\s+(\w+)\s+ADD\s+(?:COLUMN\s+)?(\w+)", re.IGNORECASE)


def _column_there(conn: sqlite3.Connection, statement: str) -> bool:
    """Whether ``statement`` adds a column its table has already (then it is skipped).

    SQLite has no ``ADD COLUMN IF NOT EXISTS``: this is it, so that every migration can be
    applied again over what it made (as ``CREATE ... IF NOT EXISTS`` can), and a data dir whose
    recorded version was rewound (tests upgrading from an older layout) still migrates.
    """
    found = _ADD_COLUMN.match(statement)
    if found is None:
        return False
    table, column = found.groups()
    return any(row[1] == column for row in conn.execute(f'PRAGMA table_info("{table}")'))


def _statements(script: str) -> list[str]:
    """Split a migration into statements; ``--`` comment lines are dropped first."""
    statements: list[str] = []
    current: list[str] = []
    for line in script.splitlines():
        if line.lstrip().startswith("--"):
            continue
        current.append(line)
        text = "\n".join(current).strip()
        if text and sqlite3.complete_statement(text):
            statements.append(text)
            current = []
    rest = "\n".join(current).strip()
    if rest:
        raise ValueError(f"incomplete SQL statement at the end of a migration: {rest[:80]!r}")
    return statements
