"""Where Lambda-style handlers run: a pool of worker processes, or threads.

Process mode keeps N long-lived worker processes. Each is a fresh interpreter
started with ``subprocess`` (never ``fork``: the parent holds threads and SQLite
connections) and talks to the parent over its own socket pair wrapped in a
``multiprocessing.connection.Connection`` (the worker's side and the wire protocol
are in :mod:`sluiceway.runtime.lambdas.worker`). A worker runs one invocation at a
time, imports each handler module once and keeps it (warm starts), and may be
killed at any moment: a timeout or a crash costs that one worker, which the pool
replaces, and nothing else.

Execution environments: functions packaged with Sluiceway share workers (any worker
runs any of them). A function with code of its own (a SAM ``CodeUri``) gets workers of
its own, as on Lambda: a worker that loaded its code serves that function only, so two
functions' ``app`` modules never meet, and module-level state lives on across its warm
invocations. A function with tenant isolation (:mod:`.tenancy`) gets workers of its own per
tenant: a worker that served one tenant of it serves that tenant of that function only, packaged or
not, so two tenants never see each other's module-level state. A call takes, in order: an idle worker of its function, a fresh one, or,
when the pool is full, the least recently used idle worker of another function, which is
retired to make room (a cold start). :meth:`ProcessRunner.retire` ends a function's
workers (its code changed, or it was removed): idle ones now, busy ones when their call
ends.

Process mode needs a POSIX system (it passes the socket with ``pass_fds`` and
waits with ``select.poll``). Workers are started with ``subprocess`` rather than
``multiprocessing``'s spawn context on purpose: spawn re-imports the parent's
``__main__`` in every worker (a CLI would pay for its imports, and a script
without a ``__main__`` guard would recurse) and adds a resource-tracker process.

Payloads and results cross as JSON text, so handlers see exactly what Lambda
would hand them and a result that JSON cannot carry fails as it does on AWS
(:mod:`sluiceway.runtime.lambdas.handlers`).

Thread mode runs the same code on a thread pool in this process. It cannot
isolate anything: a timed-out handler is reported (``Sandbox.Timedout``) but
keeps running and keeps its thread until it returns; a handler that calls
``os._exit`` or crashes the interpreter takes the whole process down; handler
output goes to this process's standard output; and ``env`` is written into this
process's ``os.environ`` until the runner is closed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import resource
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing import Pipe
from multiprocessing.connection import Connection

from ...ports.functions import Call, Outcome
from .capture import CallLogs, capturing, error_event, uninstall
from .context import context_for, new_log_stream
from .handlers import Handler, HandlerLoadError, exit_error, load_handler, run_handler, timeout_error
from .worker import BOOT, LOADED, LOGS, RESULT

logger = logging.getLogger(__name__)

__all__ = ["INIT_TIMEOUT_S", "ProcessRunner", "ThreadRunner"]

INIT_TIMEOUT_S = 10.0
"""Lambda's limit for a cold start (starting the runtime and importing the handler module)."""

_STOP_GRACE_S = 5.0


# ---------------------------------------------------------------- parent side


class _Cancelled(Exception):
    """The runner was closed before this worker could start."""


class _WorkerProcess:
    """The parent's handle on one worker process. Used by one caller at a time."""

    def __init__(self, env: Mapping[str, str], sys_path: Sequence[str], keep_fds: Callable[[], Sequence[int]], generation: int = 0) -> None:
        self._env = env
        self.generation = generation
        """The runner's environment generation this worker was made with (see ProcessRunner.update_env)."""
        self.stream = new_log_stream()
        """The log stream of this execution environment."""
        self._sys_path = sys_path
        self._keep_fds = keep_fds
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._poller = select.poll()  # kept: a selector per wait would cost ~20 µs a call
        self._warm: set[str] = set()
        self._lock = threading.Lock()  # start vs. cancel from close()
        self._cancelled = False
        self.tenant: str | None = None
        """Whom it serves: None until its first call, then "" (packaged functions) or the one function whose code it loaded
        (or whose tenant it serves)."""
        self.tenant_id: str | None = None
        """The one tenant of its function it serves (tenant isolation); None for a worker of no tenant."""
        self.code_generation = 0
        """The pool's code generation of its tenant when it was taken (see ProcessRunner.retire)."""

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        with self._lock:
            if self._cancelled:
                raise _Cancelled
            if self._proc is not None:
                return
            parent, child = Pipe(duplex=True)
            try:
                self._proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        BOOT,
                        json.dumps(list(self._sys_path)),
                        str(child.fileno()),
                        str(os.getpid()),
                        self.stream,
                    ],
                    pass_fds=(child.fileno(), *self._keep_fds()),
                    stdin=subprocess.DEVNULL,
                    stdout=2,  # handler prints go to our stderr, never into our stdout
                    env=dict(self._env),
                )
            except BaseException:
                parent.close()
                raise
            finally:
                child.close()
            self._conn = parent
            self._poller.register(parent.fileno(), select.POLLIN)

    def call(self, call: Call, logs: CallLogs | None = None) -> Outcome:
        if logs is not None:
            logs.stream = self.stream
            logs.started_ms = int(time.time() * 1000)
        try:
            return self._call(call, logs)
        finally:
            if logs is not None:
                logs.ended_ms = int(time.time() * 1000)

    def _call(self, call: Call, logs: CallLogs | None) -> Outcome:
        self.start()
        conn, proc = self._conn, self._proc
        assert conn is not None and proc is not None
        started = time.monotonic()
        try:
            conn.send_bytes(call.encode())
        except OSError:
            return self._died(call, started)
        # A cold start gets Lambda's init allowance on top of the function's timeout.
        warm = call.handler in self._warm
        deadline = started + (call.timeout_s if warm else INIT_TIMEOUT_S + call.timeout_s)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._poller.poll(math.ceil(remaining * 1000)):
                self.kill()
                return timeout_error(call, time.monotonic() - started, worker_lost=True)
            try:
                message = conn.recv_bytes()
            except (EOFError, OSError):
                return self._died(call, started)
            tag, body = message[:1], message[1:]
            if tag == LOADED:
                self._warm.add(call.handler)
                started = time.monotonic()
                deadline = started + call.timeout_s
                continue
            if tag == LOGS:
                if logs is not None:
                    report = json.loads(body)
                    logs.events = [(int(ts), str(text)) for ts, text in report["events"]]
                    logs.max_memory_mb = report.get("memory_mb")
                    logs.init_ms = report.get("init_ms")
                continue
            duration = time.monotonic() - started
            if tag == RESULT:
                return Outcome(result=body, duration_s=duration)
            return Outcome.from_error_json(body, duration)

    def _died(self, call: Call, started: float) -> Outcome:
        proc = self._proc
        assert proc is not None
        try:
            returncode = proc.wait(_STOP_GRACE_S)
        except subprocess.TimeoutExpired:  # it closed the connection but lives on
            self.kill()
            returncode = proc.returncode
        self._close_conn()
        return exit_error(call.request_id, returncode, time.monotonic() - started)

    def kill(self) -> None:
        """SIGKILL the process, reap it and close the connection."""
        proc = self._proc
        if proc is not None:
            proc.kill()  # a no-op once the process has been reaped
            proc.wait()
        self._close_conn()

    def cancel(self) -> None:
        """From another thread: stop whatever this worker is doing (close() during a call)."""
        with self._lock:
            self._cancelled = True
            if self._proc is not None:
                self._proc.kill()

    def hang_up(self) -> None:
        """Close our end; an idle worker sees EOF and exits."""
        self._close_conn()

    def reap(self) -> None:
        """Wait for the worker to exit after ``hang_up``, killing it if it takes too long."""
        proc = self._proc
        if proc is None:
            return
        try:
            proc.wait(_STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            self.kill()

    def _close_conn(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._poller.unregister(self._conn.fileno())
            self._conn.close()
            self._conn = None


class ProcessRunner:
    """A pool of worker processes, each running one call at a time.

    Workers start on first use; a caller waits while every worker is busy. The
    most recently used idle worker of the call's function is taken first, so a
    steady trickle of calls stays on warm workers (the module docstring says which
    worker serves which function).

    Args:
        size: how many worker processes at most.
        env: the environment of every worker (the whole environment, not additions).
        sys_path: the workers' ``sys.path``.
        keep_fds: file descriptors each new worker holds open for as long as it lives
            (the stack's lock: a worker that outlives its parent keeps the data dir taken).
    """

    def __init__(
        self, size: int, *, env: Mapping[str, str], sys_path: Sequence[str], keep_fds: Callable[[], Sequence[int]] = tuple
    ) -> None:
        if size < 1:
            raise ValueError(f"a worker pool needs at least one worker, not {size}")
        self._env = dict(env)
        self._sys_path = list(sys_path)
        self._keep_fds = keep_fds
        self._cond = threading.Condition()
        self._generation = 0
        self._code_generations: dict[str, int] = {}
        """Per function with code of its own: how many times its workers were retired."""
        self._idle: list[_WorkerProcess] = [self._new_worker() for _ in range(size)]
        self._busy: set[_WorkerProcess] = set()
        self._closed = False

    def _new_worker(self) -> _WorkerProcess:
        return _WorkerProcess(self._env, self._sys_path, self._keep_fds, self._generation)

    def update_env(self, env: Mapping[str, str]) -> None:
        """Add ``env`` to the workers' environment: idle workers are replaced now, busy ones when their call ends."""
        with self._cond:
            self._env = {**self._env, **env}
            self._generation += 1
            stale = [w for w in self._idle if w.pid is not None]
            self._idle = [w for w in self._idle if w.pid is None]
            for worker in self._idle:  # not started yet: they start with the new environment
                worker._env = self._env
                worker.generation = self._generation
            self._idle[:0] = [self._new_worker() for _ in stale]
        for worker in stale:
            worker.hang_up()
            worker.reap()

    def pids(self) -> list[int]:
        """The process ids of the workers started so far (for diagnostics and tests)."""
        with self._cond:
            workers = [*self._idle, *self._busy]
        return [pid for pid in (w.pid for w in workers) if pid is not None]

    def call(self, call: Call, logs: CallLogs | None = None) -> Outcome:
        worker, retired = self._take(call)
        if retired is not None:
            retired.kill()  # idle: nothing of it is lost (Lambda freezes and discards environments alike)
        outcome: Outcome | None = None
        try:
            outcome = worker.call(call, logs)
            return outcome
        except _Cancelled:
            raise RuntimeError("the function invoker is closed") from None
        except OSError as exc:  # no process could be started (out of memory, file descriptors...)
            logger.warning("could not start a worker process", exc_info=True)
            outcome = Outcome(
                error_type="ServiceException",
                error_message=f"could not start a worker: {exc}",
                worker_lost=True,
            )
            return outcome
        finally:
            self._release(worker, lost=outcome is None or outcome.worker_lost)

    def _take(self, call: Call) -> tuple[_WorkerProcess, _WorkerProcess | None]:
        """A worker for ``call`` (marked busy), and the idle worker of another function retired for it, if any."""
        # A tenant's worker is its function's alone, even for a packaged function: its tenant is its key too.
        tenant = call.function_name if call.code_paths or call.tenant_id is not None else ""
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("the function invoker is closed")
                if self._idle:
                    break
                self._cond.wait()
            generation = self._code_generations.get(tenant, 0)
            retired: _WorkerProcess | None = None
            # The most recently used first: a steady trickle of calls stays on warm workers.
            worker = next((w for w in reversed(self._idle) if w.tenant == tenant and w.tenant_id == call.tenant_id), None)
            if worker is None:
                worker = next((w for w in reversed(self._idle) if w.tenant is None), None)
            if worker is None:
                retired = self._idle[0]  # the least recently used, of another function
                self._idle.remove(retired)
                worker = self._new_worker()
            else:
                self._idle.remove(worker)
            worker.tenant = tenant
            worker.tenant_id = call.tenant_id
            worker.code_generation = generation
            self._busy.add(worker)
        return worker, retired

    def retire(self, function: str) -> None:
        """End the workers of ``function`` (its own code, its tenants): idle ones now, busy ones when their call ends."""
        with self._cond:
            self._code_generations[function] = self._code_generations.get(function, 0) + 1
            retired = [w for w in self._idle if w.tenant == function]
            if not retired:
                return
            self._idle = [self._new_worker() for _ in retired] + [w for w in self._idle if w.tenant != function]
        for worker in retired:
            worker.kill()

    def _release(self, worker: _WorkerProcess, *, lost: bool) -> None:
        replacement: _WorkerProcess | None = None
        if not lost and (
            worker.generation != self._generation
            or (worker.tenant and worker.code_generation != self._code_generations.get(worker.tenant, 0))
        ):
            # Made before update_env, or holding code since retired: it ends cleanly and a fresh
            # worker takes its place.
            worker.hang_up()
            worker.reap()
            lost = True
        if lost:
            worker.kill()
            replacement = self._new_worker()
            if not self._closed:
                try:
                    replacement.start()  # boots while idle, so the next caller waits less
                except _Cancelled:
                    pass
                except OSError:
                    logger.warning("could not start a worker process", exc_info=True)
        with self._cond:
            if not self._closed:
                self._busy.discard(worker)
                if lost:
                    assert replacement is not None
                    self._idle.insert(0, replacement)  # behind the warm workers
                else:
                    self._idle.append(worker)
                self._cond.notify()
                return
        # close() ran meanwhile: stop what we hold before close() stops waiting for us.
        for leftover in (worker, replacement):
            if leftover is not None:
                leftover.hang_up()
                leftover.reap()
        with self._cond:
            self._busy.discard(worker)
            self._cond.notify_all()

    def close(self) -> None:
        """Stop every worker: idle ones exit cleanly, busy ones are killed. Idempotent."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            idle, self._idle = self._idle, []
            busy = list(self._busy)
            self._cond.notify_all()
        for worker in busy:
            worker.cancel()
        for worker in idle:
            worker.hang_up()
        for worker in idle:
            worker.reap()
        with self._cond:
            while self._busy:
                self._cond.wait()


class ThreadRunner:
    """Runs calls on a thread pool in this process (the module docstring says what it cannot do).

    Args:
        size: how many handlers run at once.
        env: variables written into ``os.environ`` now and restored by ``close()``.
    """

    def __init__(self, size: int, *, env: Mapping[str, str]) -> None:
        if size < 1:
            raise ValueError(f"a thread pool needs at least one thread, not {size}")
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="sluiceway-function")
        self._handlers: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self._stream = new_log_stream()
        self._runaway = 0
        self._closed = False
        self._saved_env = {key: os.environ.get(key) for key in env}
        os.environ.update(env)

    def call(self, call: Call, logs: CallLogs | None = None) -> Outcome:
        if logs is not None:
            logs.stream = self._stream
            logs.started_ms = int(time.time() * 1000)
        try:
            return self._call(call, logs)
        finally:
            if logs is not None:
                logs.ended_ms = int(time.time() * 1000)
                logs.max_memory_mb = max(1, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)

    def retire(self, function: str) -> None:
        """Nothing to retire: thread mode runs packaged functions only, never a function's own code."""

    def update_env(self, env: Mapping[str, str]) -> None:
        """Write ``env`` into this process's environment (restored by ``close()``)."""
        with self._lock:
            for key in env:
                self._saved_env.setdefault(key, os.environ.get(key))
            os.environ.update(env)

    def _call(self, call: Call, logs: CallLogs | None) -> Outcome:
        try:
            handler = self._handler(call.handler)
        except HandlerLoadError as exc:
            if logs is not None:
                logs.events = [(int(time.time() * 1000), error_event(exc.to_json()))]
            return Outcome(
                error_type=exc.error_type,
                error_message=exc.message,
                stack_trace=tuple(exc.stack_trace),
            )
        started = threading.Event()
        clock = [0.0]

        def job() -> Outcome:
            clock[0] = time.monotonic()
            started.set()
            # Only what this thread writes is the call's: other threads share the process's streams.
            with capturing(call.request_id, process_wide=False) as capture:
                try:
                    ok, body = run_handler(handler, call.payload, context_for(call, self._stream, clock[0]))
                    if not ok:
                        capture.record(error_event(body))
                except SystemExit as exc:  # on Lambda the runtime process would exit
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                    return exit_error(call.request_id, code, time.monotonic() - clock[0])
                finally:
                    if logs is not None:
                        logs.events = capture.finish()
            duration = time.monotonic() - clock[0]
            return Outcome(result=body, duration_s=duration) if ok else Outcome.from_error_json(body, duration)

        try:
            future = self._executor.submit(job)
        except RuntimeError:  # shut down
            raise RuntimeError("the function invoker is closed") from None
        future.add_done_callback(lambda _: started.set())  # a cancelled job never starts
        started.wait()  # queueing for a thread is not part of the timeout
        if future.cancelled():
            raise RuntimeError("the function invoker is closed")
        try:
            return future.result(timeout=max(0.0, clock[0] + call.timeout_s - time.monotonic()))
        except TimeoutError:
            self._count_runaway(future)
            return timeout_error(call, time.monotonic() - clock[0], worker_lost=False)

    def _handler(self, name: str) -> Handler:
        with self._lock:
            handler = self._handlers.get(name)
            if handler is None:
                handler = self._handlers[name] = load_handler(name)
            return handler

    def _count_runaway(self, future: Future[Outcome]) -> None:
        with self._lock:
            self._runaway += 1

        def done(_: Future[Outcome]) -> None:
            with self._lock:
                self._runaway -= 1

        future.add_done_callback(done)

    def close(self) -> None:
        """Stop taking calls and restore the environment; idempotent.

        Waits for running handlers unless one has timed out (it may never return).
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            wait = self._runaway == 0
        self._executor.shutdown(wait=wait, cancel_futures=True)
        uninstall()  # the next runner's first call installs the capture again
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
