"""Lambda-style handlers that behave well and badly, for the invoker's tests.

They run inside worker processes (or threads), so they report what they saw in
their return values: pids, monotonic times, environment variables.
"""

from __future__ import annotations

import ctypes
import os
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sluiceway.errors import HandlerError

# Read at import time: proves `env` is applied before the handler module is imported.
MARKER_AT_IMPORT = os.environ.get("SLUICEWAY_TEST_MARKER")
_CALLS = [0]


def echo(event: Any, context: Any) -> dict[str, Any]:
    return {
        "event": event,
        "pid": os.getpid(),
        "aws_request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "identity_id": context.identity.cognito_identity_id,
        "client_context": context.client_context,
    }


def count(event: Any, context: Any) -> int:
    """How many times this module's handler ran in this worker (module state survives: warm)."""
    _CALLS[0] += 1
    return _CALLS[0]


def fail(event: Any, context: Any) -> None:
    raise ValueError(f"bad input: {event['why']}")


def refuse(event: Any, context: Any) -> None:
    raise HandlerError("the file has no header", error_type="DataValidationError", retryable=False)


class InvalidParameterValueException(Exception):
    """Named as botocore names Lambda's error of that code: what a handler's uncaught AWS call raises."""


def aws_error(event: Any, context: Any) -> None:
    raise InvalidParameterValueException("An error occurred (InvalidParameterValueException): bad memory size")


def sleep(event: Any, context: Any) -> str:
    time.sleep(event["seconds"])
    return "slept"


def countdown(event: Any, context: Any) -> list[int]:
    before = context.get_remaining_time_in_millis()
    time.sleep(event["seconds"])
    return [before, context.get_remaining_time_in_millis()]


def exit_now(event: Any, context: Any) -> None:
    sys.stdout.flush()
    os._exit(event["code"])


def sys_exit(event: Any, context: Any) -> None:
    sys.exit(event["code"])


def segfault(event: Any, context: Any) -> None:
    ctypes.string_at(0)


def spin(event: Any, context: Any) -> dict[str, float]:
    """Burn CPU for ``seconds``; report when (monotonic clock, shared by processes) and where."""
    start = time.monotonic()
    total = 0
    while time.monotonic() - start < event["seconds"]:
        total += sum(range(1000))
    return {"pid": os.getpid(), "start": start, "end": time.monotonic()}


def meet(event: Any, context: Any) -> dict[str, Any]:
    """Wait (at most ``wait`` seconds) until handler ``other`` is running too, then do ``then``.

    Two calls can only meet if they run at the same time: this proves parallelism
    without timing assumptions.
    """
    folder = Path(event["dir"])
    (folder / event["me"]).touch()
    deadline = time.monotonic() + event.get("wait", 10.0)
    met = False
    while time.monotonic() < deadline:
        if (folder / event["other"]).exists():
            met = True
            break
        time.sleep(0.002)
    then = event.get("then")
    if then == "exit":
        os._exit(1)
    if then == "sleep":
        time.sleep(event["seconds"])
    return {"met": met, "pid": os.getpid()}


def talk(event: Any, context: Any) -> None:
    print(event["say"])


def environment(event: Any, context: Any) -> dict[str, str | None]:
    return {"now": os.environ.get(event["name"]), "at_import": MARKER_AT_IMPORT}


def not_json(event: Any, context: Any) -> Any:
    return {"ids": {1, 2}}


def decimals(event: Any, context: Any) -> Any:
    return {"price": Decimal("1.10"), "count": Decimal("5")}


def huge(event: Any, context: Any) -> str:
    return "x" * 6_291_556  # with its quotes, just over Lambda's 6291556-byte limit


def noop(event: Any, context: Any) -> Any:
    return event


def hold(event: Any, context: Any) -> int:
    """Write this worker's pid to ``event["pid_file"]``, then wait for ``event["release"]`` to exist."""
    # Written aside and renamed into place: a reader polling for the file never sees it empty.
    staged = Path(event["pid_file"] + ".tmp")
    staged.write_text(str(os.getpid()))
    staged.rename(event["pid_file"])
    deadline = time.monotonic() + 30
    while not Path(event["release"]).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return os.getpid()
