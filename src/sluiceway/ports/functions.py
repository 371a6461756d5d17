"""The function port: run Lambda-style functions by name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..types import JSON

__all__ = ["FunctionInvoker", "Invocation", "InvocationResult"]


@dataclass(frozen=True)
class Invocation:
    """One call of a Lambda-style function."""

    function_name: str
    payload: JSON
    request_id: str
    timeout_s: float = 60.0
    memory_mb: int = 512


@dataclass(frozen=True)
class InvocationResult:
    """What a function returned, or how it failed (Lambda's error shape)."""

    request_id: str
    payload: JSON = None
    error_type: str | None = None
    """Lambda's ``errorType``; None when the call succeeded."""
    error_message: str | None = None
    duration_ms: float = 0.0
    stack_trace: tuple[str, ...] = ()
    """Lambda's ``stackTrace``: the handler's frames, outermost first (failures only)."""

    @property
    def ok(self) -> bool:
        return self.error_type is None


class FunctionInvoker(Protocol):
    """Runs Lambda-style functions by name."""

    def invoke(self, invocation: Invocation) -> InvocationResult:
        """Run the function to completion and return its result.

        Never raises for a failing or crashing function: failures are data in the
        result (``errorType`` ``Sandbox.Timedout`` for a timeout, ``Runtime.ExitError``
        for a crashed worker).
        """
        ...

    def knows(self, function_name: str) -> bool:
        """Whether ``function_name`` names a registered function."""
        ...
