"""A Lambda handler run as Lambda's Python runtime runs it, and its failures worded as Lambda words them.

:func:`load_handler` imports ``package.module.function`` with the runtime's
``Runtime.*`` errors; :func:`run_handler` calls it on the JSON payload and marshals
the result or the error in Lambda's shape ``{"errorType", "errorMessage",
"stackTrace"}`` (with the runtime's own frames dropped from the trace).
:func:`exit_error` and :func:`timeout_error` are the outcomes Lambda reports when the
runtime dies or runs out of time.

Both places a handler runs use it: the worker process
(:mod:`sluiceway.runtime.lambdas.worker`) and thread mode
(:class:`~sluiceway.runtime.lambdas.workers.ThreadRunner`).
"""

from __future__ import annotations

import importlib
import json
import math
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from ...errors import HandlerError
from ...ports.functions import Call, Outcome
from .context import LambdaContext

__all__ = [
    "MAX_RESPONSE_BYTES",
    "Handler",
    "HandlerLoadError",
    "exit_description",
    "exit_error",
    "load_handler",
    "run_handler",
    "timeout_error",
]

MAX_RESPONSE_BYTES = 6_291_556
"""Lambda's limit for a synchronous invocation's response."""

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


class HandlerLoadError(Exception):
    """A handler could not be imported; carries Lambda's ``Runtime.*`` error for it."""

    def __init__(self, error_type: str, message: str, stack_trace: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack_trace = list(stack_trace)

    def to_json(self) -> bytes:
        return _error_json(self.error_type, self.message, self.stack_trace)


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
        raise HandlerLoadError("Runtime.MalformedHandlerName", f"Bad handler '{handler}': {exc}") from None
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise HandlerLoadError(
            "Runtime.BuiltInModuleConflict",
            f"Cannot use built-in module {module_name} as a handler module",
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise HandlerLoadError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}") from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise HandlerLoadError("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}", trace) from None
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
    except Exception as exc:  # TypeError, ValueError (circular), RecursionError: all are marshal errors
        return False, _error_json("Runtime.MarshalError", f"Unable to marshal response: {exc}")
    data = text.encode()
    if len(data) > MAX_RESPONSE_BYTES:
        return False, _error_json(
            "Function.ResponseSizeTooLarge",
            f"Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).",
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
    while frames and (frames[0].filename.startswith("<frozen importlib") or frames[0].filename.endswith("importlib/__init__.py")):
        frames.pop(0)
    return traceback.format_list(frames)


def _error_json(error_type: str, message: str, stack_trace: Sequence[str] = ()) -> bytes:
    error = {"errorType": error_type, "errorMessage": message, "stackTrace": list(stack_trace)}
    return json.dumps(error).encode()


def exit_description(returncode: int) -> str:
    """How Lambda words a runtime's exit: ``exit status 1`` or ``signal: segmentation fault``."""
    if returncode >= 0:
        return f"exit status {returncode}"
    return "signal: " + _SIGNAL_NAMES.get(-returncode, f"signal {-returncode}")


def exit_error(request_id: str, returncode: int, duration_s: float) -> Outcome:
    """What Lambda reports when the runtime process exits during an invocation."""
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


def timeout_error(call: Call, duration_s: float, *, worker_lost: bool) -> Outcome:
    """What Lambda reports when an invocation runs out of time."""
    return Outcome(
        error_type="Sandbox.Timedout",
        error_message=f"RequestId: {call.request_id} Error: Task timed out after {call.timeout_s:.2f} seconds",
        duration_s=duration_s,
        worker_lost=worker_lost,
    )
