"""Lambda's own log lines around an invocation (START, END, REPORT), and where the logs go.

Lambda writes, for every invocation, into the function's log group ``/aws/lambda/<name>``
and the stream of the execution environment that ran it::

    START RequestId: <id> Version: $LATEST
    ...what the handler wrote...
    END RequestId: <id>
    REPORT RequestId: <id>\\tDuration: 2.85 ms\\tBilled Duration: 3 ms\\tMemory Size: 128 MB\\tMax Memory Used: 39 MB\\t

with ``Init Duration`` after a cold start, and, when the platform ended the call, the
timeout or exit line before END and ``Status``/``Error Type`` in REPORT.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Protocol

from ...ports.functions import Outcome
from .capture import CallLogs
from .context import log_group_name

__all__ = ["LogSink", "invocation_events", "tail"]

TAIL_BYTES = 4096
"""LogType Tail returns the last 4 KB of the invocation's log."""


class LogSink(Protocol):
    """Where functions' log events are stored (CloudWatch Logs locally)."""

    def put(self, group: str, stream: str, events: Sequence[tuple[int, str]], *, create: bool = False) -> None:
        """Append ``(timestamp ms, message)`` events to the stream, in one write; ``create`` makes
        the group and stream when missing."""
        ...


def invocation_events(
    function: str, request_id: str, memory_mb: int, outcome: Outcome, logs: CallLogs
) -> tuple[str, list[tuple[int, str]]]:
    """``(log group, events)`` of one invocation: Lambda's lines around what the handler wrote."""
    duration_ms = outcome.duration_s * 1000.0
    started = logs.started_ms or int(time.time() * 1000)
    ended = max(logs.ended_ms, started)
    events: list[tuple[int, str]] = [(started, f"START RequestId: {request_id} Version: $LATEST\n")]
    events.extend(logs.events)
    status = ""
    if outcome.error_type == "Sandbox.Timedout":
        # Lambda's own words: "<time> <request id> Task timed out after 3.00 seconds".
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ended / 1000)) + f".{ended % 1000:03d}Z"
        message = (outcome.error_message or "").split("Error: ", 1)[-1]
        events.append((ended, f"{stamp} {request_id} {message}\n"))
        status = "Status: timeout\t"
    elif outcome.worker_lost and outcome.error_type is not None:
        events.append((ended, f"{outcome.error_message}\n{outcome.error_type}\n"))
        status = f"Status: error\tError Type: {outcome.error_type}\t"
    events.append((ended, f"END RequestId: {request_id}\n"))
    report = (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\tBilled Duration: {max(1, math.ceil(duration_ms))} ms\t"
        f"Memory Size: {memory_mb} MB\tMax Memory Used: {logs.max_memory_mb or 0} MB\t"
    )
    if logs.init_ms is not None:
        report += f"Init Duration: {logs.init_ms:.2f} ms\t"
    events.append((ended, report + status + "\n"))
    return log_group_name(function), events


def tail(events: Sequence[tuple[int, str]], limit: int = TAIL_BYTES) -> str:
    """The last ``limit`` bytes of the invocation's log text (what LogType Tail returns, before base64)."""
    data = "".join(message for _, message in events).encode()
    return data[-limit:].decode(errors="ignore")
