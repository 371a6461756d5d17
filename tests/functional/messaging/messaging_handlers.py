"""Lambda-style handlers for the messaging tests; they run in this process (thread-mode invoker).

They record what they got in module state, so tests read it back directly.
"""

from __future__ import annotations

import threading
from typing import Any

EVENTS: list[dict[str, Any]] = []
"""Every event any handler here received, in order."""
_lock = threading.Condition()
ACTIVE = [0]
PEAK = [0]
RELEASE = threading.Event()
DURING: list[Any] = [None]
"""What ``outlive`` calls while it runs (a test moves its clock past the visibility timeout)."""


def reset() -> None:
    with _lock:
        EVENTS.clear()
        ACTIVE[0] = PEAK[0] = 0
        DURING[0] = None
    RELEASE.clear()


def _seen(event: dict[str, Any]) -> None:
    with _lock:
        EVENTS.append(event)
        _lock.notify_all()


def wait_for_events(count: int, timeout: float = 5.0) -> bool:
    with _lock:
        return _lock.wait_for(lambda: len(EVENTS) >= count, timeout)


def record(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _seen(event)
    return {"ok": True}


def fail(event: dict[str, Any], context: Any) -> None:
    _seen(event)
    raise RuntimeError("cannot process this batch")


def partial(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Fails the records whose body says "bad"."""
    _seen(event)
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "bad"]}


def malformed(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _seen(event)
    return {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]}


def slow(event: dict[str, Any], context: Any) -> None:
    """Holds its batch until the test releases it, counting how many run at once."""
    with _lock:
        ACTIVE[0] += 1
        PEAK[0] = max(PEAK[0], ACTIVE[0])
        EVENTS.append(event)
        _lock.notify_all()
    RELEASE.wait(10)
    with _lock:
        ACTIVE[0] -= 1


def wait_for_active(count: int, timeout: float = 5.0) -> bool:
    with _lock:
        return _lock.wait_for(lambda: ACTIVE[0] >= count, timeout)


def outlive(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Succeeds, after ``DURING[0]()`` (if set) ran: as a function that took longer than its queue's visibility timeout."""
    _seen(event)
    if DURING[0] is not None:
        DURING[0]()
    return {"ok": True}


class InvalidParameterValueException(Exception):
    """Named as botocore names Lambda's error of that code: what a handler's uncaught AWS call raises."""


def aws_error(event: dict[str, Any], context: Any) -> None:
    """Records the event, then fails with an exception named as one of Invoke's own errors."""
    _seen(event)
    raise InvalidParameterValueException("An error occurred (InvalidParameterValueException): bad memory size")
