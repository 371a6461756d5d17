"""One worker process: the main loop that answers the pool's calls, and the wire protocol between them.

The pool (:mod:`sluiceway.runtime.lambdas.workers`) starts a worker with
:data:`BOOT` and talks to it over a socket pair; one message per ``send_bytes``:

* parent -> worker: ``<header JSON>\\n<payload JSON>``, the header being
  ``[request_id, function_name, handler, invoked_arn, memory_mb, timeout_s]``
  (:meth:`~sluiceway.ports.functions.Call.encode`).
* worker -> parent: :data:`LOADED` once a handler module has been imported (the end
  of a cold start: the invocation's timeout starts counting there), then either
  :data:`RESULT` + result JSON or :data:`ERROR` + error JSON, the error in Lambda's
  shape ``{"errorType", "errorMessage", "stackTrace"}``.

It is a module of its own so that a worker imports what running a handler needs,
not the pool.
"""

from __future__ import annotations

import contextlib
import faulthandler
import io
import os
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection

from ...ports.functions import Call
from .context import context_for, new_log_stream
from .handlers import Handler, HandlerLoadError, load_handler, run_handler

__all__ = ["BOOT", "ERROR", "LOADED", "RESULT", "serve"]

LOADED = b"L"
RESULT = b"R"
ERROR = b"E"
_PARENT_CHECK_S = 0.5


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
    stream = new_log_stream()
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
                conn.send_bytes(ERROR + exc.to_json())
                continue
            handlers[call.handler] = handler
            conn.send_bytes(LOADED)
        ok, body = run_handler(handler, call.payload, context_for(call, stream, time.monotonic()))
        _flush()
        conn.send_bytes((RESULT if ok else ERROR) + body)


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
    "from sluiceway.runtime.lambdas.worker import serve; serve(int(sys.argv[2]), int(sys.argv[3]))"
)
