"""One worker process: the main loop that answers the pool's calls, and the wire protocol between them.

The pool (:mod:`sluiceway.runtime.lambdas.workers`) starts a worker with
:data:`BOOT` and talks to it over a socket pair; one message per ``send_bytes``:

* parent -> worker: ``<header JSON>\\n<payload JSON>``, the header being
  ``[request_id, function_name, handler, invoked_arn, memory_mb, timeout_s, environment, code_paths,
  runtime, tenant_id]``
  (:meth:`~sluiceway.ports.functions.Call.encode`).
* worker -> parent: :data:`LOADED` once a handler module has been imported (the end
  of a cold start: the invocation's timeout starts counting there), then :data:`LOGS`
  + ``{"events": [[ms, message], ...], "memory_mb": n, "init_ms": x}`` (what the handler
  wrote, see :mod:`.capture`), then either :data:`RESULT` + result JSON or :data:`ERROR`
  + error JSON, the error in Lambda's shape ``{"errorType", "errorMessage", "stackTrace"}``.

Before each call the worker sets the variables Lambda gives a function
(``AWS_LAMBDA_FUNCTION_NAME``, ``AWS_LAMBDA_LOG_STREAM_NAME``, ``LAMBDA_TASK_ROOT``...). A
worker runs the functions packaged with Sluiceway, whichever comes, one at a time; or, once it
has served a tenant of a function with tenant isolation, that function and tenant only; or, once it
has loaded a function's own code (a SAM ``CodeUri``), that function only (and tenant, if any), like a Lambda
execution environment: that code's folder first on ``sys.path``, then its dependencies, then
the runtime's paths, and the folder as the working directory.

It is a module of its own so that a worker imports what running a handler needs,
not the pool.
"""

from __future__ import annotations

import contextlib
import faulthandler
import io
import json
import os
import resource
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection

from ...observability.worker_tracing import worker_tracing_from_environ
from ...ports.functions import Call
from .capture import capturing, error_event
from .context import FUNCTION_VERSION_ENV, context_for, log_group_name, new_log_stream
from .handlers import Handler, HandlerLoadError, load_handler, run_handler
from .xray import TRACE_HEADER_ENV, trace_header

__all__ = ["BOOT", "ERROR", "LOADED", "LOGS", "RESULT", "function_variables", "serve"]

LOADED = b"L"
LOGS = b"G"
RESULT = b"R"
ERROR = b"E"
_PARENT_CHECK_S = 0.5
_LOCAL_RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"
# Lambda's /var/runtime holds the runtime's own libraries; here they are where sluiceway is imported
# from. Packaged functions' code is there too, so it is also their LAMBDA_TASK_ROOT.
_RUNTIME_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def function_variables(call: Call, stream: str) -> dict[str, str]:
    """The variables Lambda sets for the function a call runs (its reserved environment variables).

    ``AWS_REGION``, ``AWS_DEFAULT_REGION`` and the endpoint's variables come with the worker's
    environment (see the invoker); these depend on the function.
    """
    return {
        "AWS_LAMBDA_FUNCTION_NAME": call.function_name,
        # The version this invocation runs (the invoker's, as the context's), not the worker's.
        FUNCTION_VERSION_ENV: call.environment.get(FUNCTION_VERSION_ENV) or "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(call.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": log_group_name(call.function_name),
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{call.runtime or _LOCAL_RUNTIME}",
        "_HANDLER": call.handler,
        "LAMBDA_TASK_ROOT": call.code_root or _RUNTIME_DIR,
        "LAMBDA_RUNTIME_DIR": _RUNTIME_DIR,
        # The colon: a path to a zone file relative to the system's zoneinfo, as Lambda sets it.
        "TZ": ":UTC",
        # Lambda's runtime sets one per invocation (Powertools logs its Root): the invoker's, which
        # continues the invocation's span when the stack traces, else a fresh trace.
        TRACE_HEADER_ENV: call.environment.get(TRACE_HEADER_ENV) or trace_header(),
    }


def serve(fd: int, parent: int | None = None, stream: str | None = None) -> None:
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
    stream = stream or new_log_stream()
    handlers: dict[str, Handler] = {}
    base = dict(os.environ)
    applied: set[str] = set()
    # The function whose own code this worker loaded, or whose tenant it serves, and that tenant: the
    # only ones it runs from then on.
    owner: tuple[str, str | None] | None = None
    # Handlers' AWS calls as spans when the stack traces (it hands the OTEL_* variables down).
    tracing = worker_tracing_from_environ(os.environ)
    while True:
        try:
            data = conn.recv_bytes()
        except EOFError:
            return
        try:
            call = Call.decode(data)
        except (ValueError, TypeError) as exc:
            # A call this worker cannot read (a parent of another version): refused as Lambda's own
            # error, and the worker lives on for the calls it can read.
            conn.send_bytes(LOGS + json.dumps({"events": [], "memory_mb": 1, "init_ms": None}).encode())
            conn.send_bytes(ERROR + _error_json("ServiceException", f"the execution environment could not read the call: {exc}"))
            continue
        if call.code_paths or call.tenant_id is not None or owner is not None:
            if owner is None and not handlers:
                owner = (call.function_name, call.tenant_id)
                if call.code_paths:
                    _enter(call.code_paths)
            elif owner != (call.function_name, call.tenant_id):
                # The pool never sends this: a worker holding one function's (or tenant's) modules must not run another's.
                conn.send_bytes(LOGS + json.dumps({"events": [], "memory_mb": 1, "init_ms": None}).encode())
                serves = "packaged functions" if owner is None else owner[0] + (f" for tenant {owner[1]}" if owner[1] else "")
                conn.send_bytes(ERROR + _error_json("ServiceException", f"this execution environment runs {serves} only"))
                continue
        # The previous call's function may have had variables of its own: they go first.
        for name in applied - call.environment.keys():
            if name in base:
                os.environ[name] = base[name]
            else:
                os.environ.pop(name, None)
        applied = set(call.environment)
        os.environ.update(call.environment)
        zone = os.environ.get("TZ")
        os.environ.update(function_variables(call, stream))
        if os.environ.get("TZ") != zone:
            time.tzset()  # the C library reads TZ only then
        with capturing(call.request_id, process_wide=True) as capture:
            init_ms: float | None = None
            handler = handlers.get(call.handler)
            if handler is None:
                loading = time.monotonic()
                try:
                    handler = load_handler(call.handler)
                except HandlerLoadError as exc:
                    capture.record(error_event(exc.to_json()))
                    _flush()
                    _send_logs(conn, capture.finish(), (time.monotonic() - loading) * 1000)
                    conn.send_bytes(ERROR + exc.to_json())
                    continue
                init_ms = (time.monotonic() - loading) * 1000
                handlers[call.handler] = handler
                conn.send_bytes(LOADED)
            if tracing is None:
                ok, body = run_handler(handler, call.payload, context_for(call, stream, time.monotonic()))
            else:
                # The invocation's spans are exported by a thread of their own: a collector never delays the result.
                with tracing.invocation(os.environ.get(TRACE_HEADER_ENV)):
                    ok, body = run_handler(handler, call.payload, context_for(call, stream, time.monotonic()))
            if not ok:
                capture.record(error_event(body))
            _flush()
        _send_logs(conn, capture.finish(), init_ms)
        conn.send_bytes((RESULT if ok else ERROR) + body)


def _enter(paths: tuple[str, ...]) -> None:
    """Become a function's execution environment: its code, then its dependencies, first on sys.path; its folder the working directory."""
    sys.path[:0] = list(paths)
    os.chdir(paths[0])


def _error_json(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message, "stackTrace": []}).encode()


def _send_logs(conn: Connection, events: list[tuple[int, str]], init_ms: float | None) -> None:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS, where this overstates: harmless).
    memory_mb = max(1, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
    conn.send_bytes(LOGS + json.dumps({"events": events, "memory_mb": memory_mb, "init_ms": init_ms}).encode())


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
BOOT = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
    "from sluiceway.runtime.lambdas.worker import serve; serve(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])"
)
