"""``/_sluiceway/health`` (liveness) and ``/_sluiceway/health/ready`` (readiness), needing no token.

Liveness says the process answers and which services it serves: what a supervisor needs
to decide on a restart. Readiness says whether the stack can do its work now, check by check:

* ``started``: the stack has finished starting (a template's resources are made);
* ``database``: the data dir's SQLite database takes a write transaction (in WAL mode readers
  are never blocked, so only a write shows a database that another process holds locked);
* ``workers``: the function worker pool is open;
* ``event_lag``: nothing the stack itself must move has waited too long: an event not yet
  routed by the bus, a due delivery of an event to a rule's target, of a message to a topic's
  subscriber, or of an asynchronous Lambda invocation. A stalled router or deliverer, or a
  target so slow that work piles up behind it, shows here.

Each check is bounded by ``health_check_timeout_s``: the database's lock wait by the
connection's busy timeout, its queries by SQLite's progress handler. A check that cannot
finish in time, or fails in any way, fails readiness (fail closed): 503 naming it.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

from .. import __version__
from .services import SERVICES

if TYPE_CHECKING:
    from ..runtime.stack import Stack

logger = logging.getLogger(__name__)

__all__ = ["CHECKS", "Check", "Served", "liveness", "readiness"]

CHECKS: Final = ("started", "database", "workers", "event_lag")
"""The readiness checks, in the order they run and are reported."""

#: SQLite calls the progress handler every this many virtual machine instructions.
_PROGRESS_STEPS: Final = 1000

#: The durable queues of work the stack itself delivers, with when each due row became due
#: (epoch seconds; a claimed row's is the end of its claim's lease, so a row being delivered
#: only counts once its claim has run out). One query per table, each served by its index.
_DUE_ROWS: Final = (
    ("event deliveries", "SELECT min(next_attempt_at) FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?"),
    (
        "topic deliveries",
        "SELECT min(next_attempt_at) FROM topic_deliveries WHERE status = 'pending' AND next_attempt_at <= ?",
    ),
    (
        "async invocations",
        "SELECT min(next_attempt_at) FROM lambda_async_invocations WHERE status = 'pending' AND next_attempt_at <= ?",
    ),
)


class Served(Protocol):
    """What the checks read of the endpoint (:class:`~.server.Endpoint`, which imports this module)."""

    @property
    def stack(self) -> Stack: ...

    @property
    def starting(self) -> str | None:
        """While set, the stack is still starting (a template's resources being made): why."""
        ...


@dataclass(frozen=True)
class Check:
    """One readiness check's outcome."""

    name: str
    ok: bool
    detail: str
    """One line for people: what was found, or why it failed."""
    ms: float
    """How long the check took."""
    data: dict[str, Any] | None = None
    """Figures a machine may want (the lag in seconds, the pool's size)."""

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": "ok" if self.ok else "failing", "detail": self.detail, "ms": round(self.ms, 1)}
        return body | (self.data or {})


def liveness(endpoint: Served) -> tuple[int, dict[str, Any]]:
    """``GET /_sluiceway/health``: 200 while the stack runs, 503 while it is still starting."""
    if endpoint.starting is not None:
        return 503, {"status": "starting", "reason": endpoint.starting}
    return 200, {"status": "running", "version": __version__, "services": {name: "running" for name in SERVICES}}


def readiness(endpoint: Served, *, timeout_s: float | None = None) -> tuple[int, dict[str, Any]]:
    """``GET /_sluiceway/health/ready``: 200 ``{"status": "ready", "checks": {...}}`` when every check passes,
    otherwise 503 ``{"status": "not ready", "failing": [names], "checks": {...}}``.

    Args:
        timeout_s: each check's bound (``health_check_timeout_s`` when None).
    """
    settings = endpoint.stack.settings
    bound = settings.health_check_timeout_s if timeout_s is None else timeout_s
    probes: dict[str, Callable[[], tuple[bool, str, dict[str, Any] | None]]] = {
        "started": lambda: _started(endpoint),
        "database": lambda: _database(settings.db_path, bound),
        "workers": lambda: _workers(endpoint),
        "event_lag": lambda: _event_lag(endpoint, bound, settings.health_max_event_lag_s),
    }
    checks = [_run(name, probes[name]) for name in CHECKS]
    failing = [c.name for c in checks if not c.ok]
    body: dict[str, Any] = {"status": "not ready" if failing else "ready"}
    if failing:
        body["failing"] = failing
    body["checks"] = {c.name: c.to_json() for c in checks}
    return (503 if failing else 200), body


def _run(name: str, probe: Callable[[], tuple[bool, str, dict[str, Any] | None]]) -> Check:
    began = time.perf_counter()
    try:
        ok, detail, data = probe()
    except Exception as exc:  # a check that cannot tell fails: readiness is never assumed
        logger.warning("readiness check failed", extra={"check": name}, exc_info=True)
        ok, detail, data = False, f"{type(exc).__name__}: {exc}", None
    return Check(name, ok, detail, (time.perf_counter() - began) * 1000, data)


def _started(endpoint: Served) -> tuple[bool, str, dict[str, Any] | None]:
    if endpoint.starting is not None:
        return False, f"starting: {endpoint.starting}", None
    return True, "the stack is up", None


def _workers(endpoint: Served) -> tuple[bool, str, dict[str, Any] | None]:
    invoker = endpoint.stack.invoker
    size = endpoint.stack.settings.workers
    data = {"size": size, "started": len(invoker.worker_pids()), "mode": invoker.mode}
    if invoker.closed:
        return False, "the worker pool is stopped: no function can run", data
    # Workers start on first use and a worker that died is replaced by the next call, so the
    # pool being open is what "functions can run" means; how many have started is a figure.
    return True, f"{invoker.mode} pool of {size}, {data['started']} started", data


def _database(path: Path, timeout_s: float) -> tuple[bool, str, dict[str, Any] | None]:
    try:
        with _bounded(path, timeout_s) as conn:
            # Takes the write lock for an instant (a writer meanwhile waits, as it would for any
            # other writer); waits at most timeout_s for a lock another process holds.
            conn.execute("BEGIN IMMEDIATE")
            try:
                tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
            finally:
                conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        return False, f"{path} is not writable within {timeout_s:g} s: {exc}", None
    return True, f"writable ({tables} tables)", None


def _event_lag(endpoint: Served, timeout_s: float, limit_s: float) -> tuple[bool, str, dict[str, Any] | None]:
    now = endpoint.stack.local.clock.now()  # the clock the stack stamps its rows with
    waits: list[tuple[float, str]] = []
    path = endpoint.stack.settings.db_path
    try:
        with _bounded(path, timeout_s) as conn:
            oldest = conn.execute("SELECT created_at FROM events WHERE delivered_at IS NULL ORDER BY seq LIMIT 1").fetchone()
            if oldest is not None:
                waits.append(((now - datetime.fromisoformat(oldest[0])).total_seconds(), "unrouted events"))
            for what, query in _DUE_ROWS:
                due = conn.execute(query, (now.timestamp(),)).fetchone()[0]
                if due is not None:
                    waits.append((now.timestamp() - float(due), what))
    except sqlite3.Error as exc:
        return False, f"could not be measured in {path} within {timeout_s:g} s: {exc}", None
    if not waits:
        return True, "nothing waiting", {"seconds": 0.0, "oldest": None}
    lag, what = max(waits)
    data = {"seconds": round(max(lag, 0.0), 3), "oldest": what}
    if lag > limit_s:
        return False, f"{what} have waited {lag:.1f} s (more than {limit_s:g} s)", data
    return True, f"oldest wait {max(lag, 0.0):.1f} s ({what})", data


@contextmanager
def _bounded(path: Path, timeout_s: float) -> Iterator[sqlite3.Connection]:
    """A connection of the check's own to the data dir's database, every wait and query bounded by ``timeout_s``.

    Not the stack's per-thread connections: those wait up to 30 s for a lock, which is right for
    work and wrong for a probe. ``mode=rw`` so that a missing database is an error, not a new file.
    """
    deadline = time.monotonic() + timeout_s
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=timeout_s, isolation_level=None)
    try:
        # A nonzero return aborts the statement (sqlite3.OperationalError: interrupted).
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), _PROGRESS_STEPS)
        yield conn
    finally:
        conn.close()
