"""Where Lambda-style handlers run: a pool of worker processes, or threads.

Process mode keeps N long-lived worker processes. Each is a fresh interpreter
started with ``subprocess`` (never ``fork``: the parent holds threads and SQLite
connections) and talks to the parent over its own socket pair wrapped in a
``multiprocessing.connection.Connection``. A worker runs one invocation at a
time, imports each handler module once and keeps it (warm starts), and may be
killed at any moment: a timeout or a crash costs that one worker, which the pool
replaces, and nothing else.

Wire protocol (one message per ``send_bytes``):

* parent -> worker: ``<header JSON>\\n<payload JSON>``, the header being
  ``[request_id, function_name, handler, invoked_arn, memory_mb, timeout_s]``.
* worker -> parent: ``L`` once a handler module has been imported (the end of
  a cold start: the invocation's timeout starts counting there), then either
  ``R<result JSON>`` or ``E<error JSON>``, the error in Lambda's shape
  ``{"errorType", "errorMessage", "stackTrace"}``.

Process mode needs a POSIX system (it passes the socket with ``pass_fds`` and
waits with ``select.poll``). Workers are started with ``subprocess`` rather than
``multiprocessing``'s spawn context on purpose: spawn re-imports the parent's
``__main__`` in every worker (a CLI would pay for its imports, and a script
without a ``__main__`` guard would recurse) and adds a resource-tracker process.

Payloads and results cross as JSON text, so handlers see exactly what Lambda
would hand them and a result that JSON cannot carry fails as it does on AWS.

Thread mode runs the same code on a thread pool in this process. It cannot
isolate anything: a timed-out handler is reported (``Sandbox.Timedout``) but
keeps running and keeps its thread until it returns; a handler that calls
``os._exit`` or crashes the interpreter takes the whole process down; handler
output goes to this process's standard output; and ``env`` is written into this
process's ``os.environ`` until the runner is closed.
"""

from __future__ import annotations

import contextlib
import faulthandler
import importlib
import io
import json
import logging
import math
import os
import select
import signal
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from decimal import Decimal
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from typing import Any

from ...errors import HandlerError
from ...ports.functions import Call, Outcome
from .context import LambdaContext, log_group_name, log_stream_name

logger = logging.getLogger(__name__)

__all__ = [
    "INIT_TIMEOUT_S",
    "MAX_RESPONSE_BYTES",
    "HandlerLoadError",
    "ProcessRunner",
    "ThreadRunner",
    "exit_description",
    "load_handler",
    "serve",
]

INIT_TIMEOUT_S = 10.0
"""Lambda's limit for a cold start (starting the runtime and importing the handler module)."""
MAX_RESPONSE_BYTES = 6_291_556
"""Lambda's limit for a synchronous invocation's response."""

_LOADED = b"L"
_RESULT = b"R"
_ERROR = b"E"
_STOP_GRACE_S = 5.0
_PARENT_CHECK_S = 0.5

Handler = Callable[[Any, LambdaContext], Any]

# Go's names for signals, which is how Lambda words "Runtime exited with error: signal: ...".
_SIGNAL_NAMES = {
    getattr(signal, name): text
    for name, text in (
        ("SIGHUP", "hangup"),
        ("SIGINT", "interrupt"),
        ("SIGQUIT", "quit"),
        ("SIGILL", "illegal instruction"),
        ("SIGTRAP", "trace/breakpoint trap"),
        ("SIGABRT", "aborted"),
        ("SIGBUS", "bus error"),
        ("SIGFPE", "floating point exception"),
        ("SIGKILL", "killed"),
        ("SIGUSR1", "user defined signal 1"),
        ("SIGSEGV", "segmentation fault"),
        ("SIGUSR2", "user defined signal 2"),
        ("SIGPIPE", "broken pipe"),
        ("SIGALRM", "alarm clock"),
        ("SIGTERM", "terminated"),
    )
    if hasattr(signal, name)
}


# ----------------------------------------------------------------------- values


class HandlerLoadError(Exception):
    """A handler could not be imported; carries Lambda's ``Runtime.*`` error for it."""

    def __init__(self, error_type: str, message: str, stack_trace: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack_trace = list(stack_trace)

    def to_json(self) -> bytes:
        return _error_json(self.error_type, self.message, self.stack_trace)


# ------------------------------------------------------------ running a handler


def load_handler(handler: str) -> Handler:
    """Import ``package.module.function`` and return the function, as the Lambda runtime does.

    Raises:
        HandlerLoadError: with Lambda's error type (``Runtime.ImportModuleError``,
            ``Runtime.HandlerNotFound``, ...) or, when the module's own code
            raised, the exception's class name.
    """
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError as exc:
        raise HandlerLoadError(
            "Runtime.MalformedHandlerName", f"Bad handler '{handler}': {exc}"
        ) from None
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise HandlerLoadError(
            "Runtime.BuiltInModuleConflict",
            f"Cannot use built-in module {module_name} as a handler module",
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise HandlerLoadError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        ) from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise HandlerLoadError(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}", trace
        ) from None
    except Exception as exc:  # the module's top-level code failed: an init error
        raise HandlerLoadError(_error_type(exc), str(exc), _stack_trace(exc)) from None
    try:
        function: Handler = getattr(module, function_name)
    except AttributeError:
        raise HandlerLoadError(
            "Runtime.HandlerNotFound",
            f"Handler '{function_name}' missing on module '{module_name}'",
        ) from None
    return function


def run_handler(handler: Handler, payload: bytes, context: LambdaContext) -> tuple[bool, bytes]:
    """Call ``handler`` on the JSON ``payload`` and marshal the outcome, as Lambda's runtime does.

    Returns:
        ``(True, result JSON)`` or ``(False, error JSON)`` in Lambda's error shape.
        ``SystemExit`` and other non-``Exception`` errors propagate: on Lambda they
        end the runtime process.
    """
    try:
        event = json.loads(payload)
    except ValueError as exc:
        return False, _error_json("Runtime.UnmarshalError", f"Unable to unmarshal input: {exc}")
    try:
        response = handler(event, context)
    except Exception as exc:
        return False, _error_json(_error_type(exc), str(exc), _stack_trace(exc))
    try:
        text = json.dumps(response, cls=_LambdaEncoder)
    except (
        Exception
    ) as exc:  # TypeError, ValueError (circular), RecursionError: all are marshal errors
        return False, _error_json("Runtime.MarshalError", f"Unable to marshal response: {exc}")
    data = text.encode()
    if len(data) > MAX_RESPONSE_BYTES:
        return False, _error_json(
            "Function.ResponseSizeTooLarge",
            "Response payload size exceeded maximum allowed payload size"
            f" ({MAX_RESPONSE_BYTES} bytes).",
        )
    return True, data


class _LambdaEncoder(json.JSONEncoder):
    """The runtime's encoder: a ``Decimal`` (boto3's DynamoDB numbers) becomes a JSON number."""

    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            # The runtime writes str(o) as a raw number; parsing it gives what the caller will see.
            return math.nan if o.is_nan() else json.loads(str(o))
        return super().default(o)


def _error_type(exc: BaseException) -> str:
    if isinstance(exc, HandlerError):
        return exc.error_type
    return type(exc).__name__


def _stack_trace(exc: BaseException) -> list[str]:
    frames = traceback.extract_tb(exc.__traceback__)
    # Like the Lambda runtime, drop the runtime's own frames above the user's code.
    while frames and frames[0].filename == __file__:
        frames.pop(0)
    while frames and (
        frames[0].filename.startswith("<frozen importlib")
        or frames[0].filename.endswith("importlib/__init__.py")
    ):
        frames.pop(0)
    return traceback.format_list(frames)


def _error_json(error_type: str, message: str, stack_trace: Sequence[str] = ()) -> bytes:
    error = {"errorType": error_type, "errorMessage": message, "stackTrace": list(stack_trace)}
    return json.dumps(error).encode()


def _context(call: Call, stream: str, started: float) -> LambdaContext:
    return LambdaContext(
        aws_request_id=call.request_id,
        function_name=call.function_name,
        invoked_function_arn=call.invoked_arn,
        memory_limit_in_mb=str(call.memory_mb),
        log_group_name=log_group_name(call.function_name),
        log_stream_name=stream,
        deadline=started + call.timeout_s,
    )


def _new_stream() -> str:
    return log_stream_name(time.strftime("%Y/%m/%d", time.gmtime()), uuid.uuid4().hex)


def exit_description(returncode: int) -> str:
    """How Lambda words a runtime's exit: ``exit status 1`` or ``signal: segmentation fault``."""
    if returncode >= 0:
        return f"exit status {returncode}"
    return "signal: " + _SIGNAL_NAMES.get(-returncode, f"signal {-returncode}")


def _exit_error(request_id: str, returncode: int, duration_s: float) -> Outcome:
    if returncode == 0:  # a clean exit mid-invocation: Lambda has no reason to give either
        reason = "Runtime exited without providing a reason"
    else:
        reason = f"Runtime exited with error: {exit_description(returncode)}"
    return Outcome(
        error_type="Runtime.ExitError",
        error_message=f"RequestId: {request_id} Error: {reason}",
        duration_s=duration_s,
        worker_lost=True,
    )


def _timeout_error(call: Call, duration_s: float, *, worker_lost: bool) -> Outcome:
    return Outcome(
        error_type="Sandbox.Timedout",
        error_message=f"RequestId: {call.request_id} Error: Task timed out after"
        f" {call.timeout_s:.2f} seconds",
        duration_s=duration_s,
        worker_lost=worker_lost,
    )


# ---------------------------------------------------------------- worker side


def serve(fd: int, parent: int | None = None) -> None:
    """The worker process's main loop: answer calls on connection ``fd`` until the parent hangs up.

    Args:
        fd: this end of the socket pair shared with the parent.
        parent: the parent's process id: the worker dies with it.
    """
    # Ctrl-C (and a SIGTERM to the process group) reaches every process of the group; the
    # parent decides when workers stop, so that a stop never fails the calls they are making.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if parent is not None:
        _die_with(parent)
    # A native crash prints the Python stack to stderr before the worker dies.
    faulthandler.enable()
    if isinstance(sys.stdout, io.TextIOWrapper):
        # stdout is the parent's stderr: line buffering keeps prints made before a crash.
        sys.stdout.reconfigure(line_buffering=True)
    # Keep the socket from leaking into processes a handler starts: they would hold it
    # open after this worker dies and the parent would not see the crash.
    os.set_inheritable(fd, False)
    conn = Connection(fd)
    stream = _new_stream()
    handlers: dict[str, Handler] = {}
    while True:
        try:
            data = conn.recv_bytes()
        except EOFError:
            return
        call = Call.decode(data)
        handler = handlers.get(call.handler)
        if handler is None:
            try:
                handler = load_handler(call.handler)
            except HandlerLoadError as exc:
                _flush()
                conn.send_bytes(_ERROR + exc.to_json())
                continue
            handlers[call.handler] = handler
            conn.send_bytes(_LOADED)
        ok, body = run_handler(handler, call.payload, _context(call, stream, time.monotonic()))
        _flush()
        conn.send_bytes((_RESULT if ok else _ERROR) + body)


def _die_with(parent: int) -> None:
    """End this worker soon after its parent dies, so that a killed stack leaves no worker writing behind it.

    Between calls a worker sees its parent's end of the connection close; during a call
    only this watch notices. (Linux's PR_SET_PDEATHSIG would be sooner but follows the
    *thread* that started the worker, and task threads come and go.)
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, name="sluiceway-parent-watch", daemon=True).start()


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a handler closed its own stream
            stream.flush()


# The worker's entry point. sys.path is the parent's, so the worker imports what the parent can.
_BOOT = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
    "from sluiceway.runtime.lambdas.workers import serve; serve(int(sys.argv[2]), int(sys.argv[3]))"
)


# ---------------------------------------------------------------- parent side


class _Cancelled(Exception):
    """The runner was closed before this worker could start."""


class _WorkerProcess:
    """The parent's handle on one worker process. Used by one caller at a time."""

    def __init__(self, env: Mapping[str, str], sys_path: Sequence[str], keep_fds: Callable[[], Sequence[int]]) -> None:
        self._env = env
        self._sys_path = sys_path
        self._keep_fds = keep_fds
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._poller = select.poll()  # kept: a selector per wait would cost ~20 µs a call
        self._warm: set[str] = set()
        self._lock = threading.Lock()  # start vs. cancel from close()
        self._cancelled = False

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
                        _BOOT,
                        json.dumps(list(self._sys_path)),
                        str(child.fileno()),
                        str(os.getpid()),
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

    def call(self, call: Call) -> Outcome:
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
                return _timeout_error(call, time.monotonic() - started, worker_lost=True)
            try:
                message = conn.recv_bytes()
            except (EOFError, OSError):
                return self._died(call, started)
            tag, body = message[:1], message[1:]
            if tag == _LOADED:
                self._warm.add(call.handler)
                started = time.monotonic()
                deadline = started + call.timeout_s
                continue
            duration = time.monotonic() - started
            if tag == _RESULT:
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
        return _exit_error(call.request_id, returncode, time.monotonic() - started)

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
    most recently used idle worker is taken first, so a steady trickle of calls
    stays on warm workers.

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
        self._idle: list[_WorkerProcess] = [self._new_worker() for _ in range(size)]
        self._busy: set[_WorkerProcess] = set()
        self._closed = False

    def _new_worker(self) -> _WorkerProcess:
        return _WorkerProcess(self._env, self._sys_path, self._keep_fds)

    def pids(self) -> list[int]:
        """The process ids of the workers started so far (for diagnostics and tests)."""
        with self._cond:
            workers = [*self._idle, *self._busy]
        return [pid for pid in (w.pid for w in workers) if pid is not None]

    def call(self, call: Call) -> Outcome:
        with self._cond:
            while not self._idle and not self._closed:
                self._cond.wait()
            if self._closed:
                raise RuntimeError("the function invoker is closed")
            worker = self._idle.pop()
            self._busy.add(worker)
        outcome: Outcome | None = None
        try:
            outcome = worker.call(call)
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

    def _release(self, worker: _WorkerProcess, *, lost: bool) -> None:
        replacement: _WorkerProcess | None = None
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
        self._executor = ThreadPoolExecutor(
            max_workers=size, thread_name_prefix="sluiceway-function"
        )
        self._handlers: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self._stream = _new_stream()
        self._runaway = 0
        self._closed = False
        self._saved_env = {key: os.environ.get(key) for key in env}
        os.environ.update(env)

    def call(self, call: Call) -> Outcome:
        try:
            handler = self._handler(call.handler)
        except HandlerLoadError as exc:
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
            try:
                ok, body = run_handler(
                    handler, call.payload, _context(call, self._stream, clock[0])
                )
            except SystemExit as exc:  # on Lambda the runtime process would exit
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                return _exit_error(call.request_id, code, time.monotonic() - clock[0])
            duration = time.monotonic() - clock[0]
            return (
                Outcome(result=body, duration_s=duration)
                if ok
                else Outcome.from_error_json(body, duration)
            )

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
            return _timeout_error(call, time.monotonic() - clock[0], worker_lost=False)

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
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
