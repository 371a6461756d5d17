"""The function port: run Lambda-style functions by name."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..types import JSON

__all__ = ["Call", "FunctionInvoker", "Invocation", "InvocationResult", "Outcome", "Runner"]


@dataclass(frozen=True)
class Invocation:
    """One call of a Lambda-style function."""

    function_name: str
    payload: JSON
    request_id: str
    timeout_s: float = 60.0
    memory_mb: int = 512
    tenant_id: str | None = None
    """Lambda's ``TenantId``: the tenant of a function with tenant isolation (None for any other)."""


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
    refused: bool = False
    """Invoke itself refused the call (no such function, a throttle, a bad payload...): no function
    ran, and ``error_type`` is the Invoke API's error code. Callers decide on this flag, never on
    ``error_type``: a handler may raise an exception of the same name (a botocore
    ``ResourceNotFoundException`` it did not catch), which is the function's error."""

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


# -- what a Lambda runtime's runners (worker processes, threads) take and give ------------------


@dataclass(frozen=True)
class Call:
    """One invocation as a runner sees it: what to run, with which limits, on what."""

    request_id: str
    function_name: str
    handler: str
    """``package.module.function``."""
    invoked_arn: str
    memory_mb: int
    timeout_s: float
    payload: bytes
    """The event as UTF-8 JSON text."""
    environment: Mapping[str, str] = field(default_factory=dict)
    """The function's own environment variables (Lambda's ``Environment.Variables``)."""
    code_paths: tuple[str, ...] = ()
    """The function's own code: its root (``LAMBDA_TASK_ROOT``, the working directory) then its
    dependencies, put in front of ``sys.path``. Empty for functions packaged with Sluiceway, which
    any worker may run; a worker that loaded code of its own runs that function only."""
    runtime: str | None = None
    """The function's Lambda runtime (``python3.12``), for ``AWS_EXECUTION_ENV``; None: the local Python."""
    tenant_id: str | None = None
    """The invocation's tenant (tenant isolation): a worker that served it serves that function and tenant only."""

    @property
    def code_root(self) -> str | None:
        """The folder of the function's own code, or None for a packaged function."""
        return self.code_paths[0] if self.code_paths else None

    def encode(self) -> bytes:
        header = [
            self.request_id,
            self.function_name,
            self.handler,
            self.invoked_arn,
            self.memory_mb,
            self.timeout_s,
            dict(self.environment),
            list(self.code_paths),
            self.runtime,
            self.tenant_id,
        ]
        return json.dumps(header).encode() + b"\n" + self.payload

    @classmethod
    def decode(cls, data: bytes) -> Call:
        """The call :meth:`encode` wrote.

        The fields after ``timeout_s`` were added over time: a header without them (written by a
        parent older than its worker) gets their defaults. A header with more fields than this
        version knows is refused: what it cannot read (a tenant, say) may matter.

        Every field is checked for its type (a worker runs what it reads: a call it cannot read is
        refused, never half-applied), and no input makes it raise anything but ValueError.

        Raises:
            ValueError: ``data`` is not a call this version can read.
        """
        header, _, payload = data.partition(b"\n")
        try:
            fields = json.loads(header)
        except RecursionError:  # nested too deep for the parser: no header this version wrote
            raise ValueError(f"not a call header: {header[:200]!r}") from None
        if not isinstance(fields, list) or not _REQUIRED_FIELDS <= len(fields) <= len(_OPTIONAL_DEFAULTS) + _REQUIRED_FIELDS:
            raise ValueError(f"not a call header: {header[:200]!r}")
        request_id, function_name, handler, arn, memory_mb, timeout_s = fields[:_REQUIRED_FIELDS]
        given = fields[_REQUIRED_FIELDS:]
        environment, paths, runtime, tenant_id = [*given, *_OPTIONAL_DEFAULTS[len(given) :]]
        if not (
            all(isinstance(v, str) for v in (request_id, function_name, handler, arn))
            and _is_number(memory_mb)
            and _is_number(timeout_s)
            and isinstance(environment, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in environment.items())
            and isinstance(paths, list | tuple)
            and all(isinstance(p, str) for p in paths)
            and (runtime is None or isinstance(runtime, str))
            and (tenant_id is None or isinstance(tenant_id, str))
        ):
            raise ValueError(f"not a call header: {header[:200]!r}")
        try:
            timeout = float(timeout_s)
        except OverflowError:  # an integer too large for a float
            raise ValueError(f"not a call header: {header[:200]!r}") from None
        return cls(
            request_id,
            function_name,
            handler,
            arn,
            int(memory_mb),
            timeout,
            payload,
            environment,
            tuple(paths),
            runtime,
            tenant_id,
        )


def _is_number(value: Any) -> bool:
    """A JSON number that ``int()``/``float()`` take (not a bool, an infinity or NaN)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


_REQUIRED_FIELDS = 6
"""``request_id`` to ``timeout_s``: in every header :meth:`Call.encode` ever wrote."""
_OPTIONAL_DEFAULTS: tuple[Any, ...] = ({}, (), None, None)
"""``environment``, ``code_paths``, ``runtime``, ``tenant_id``: later additions, in order."""


@dataclass(frozen=True)
class Outcome:
    """How one call ended: a result as JSON text, or an error in Lambda's shape."""

    result: bytes | None = None
    """The handler's return value as JSON text; None when the call failed."""
    error_type: str | None = None
    error_message: str | None = None
    stack_trace: tuple[str, ...] = ()
    duration_s: float = 0.0
    """Time spent running the handler (a cold start's import is not counted, as on Lambda)."""
    worker_lost: bool = False
    """The worker process was killed or died; the pool replaced it."""

    @classmethod
    def from_error_json(cls, data: bytes, duration_s: float) -> Outcome:
        error = json.loads(data)
        return cls(
            error_type=error["errorType"],
            error_message=error["errorMessage"],
            stack_trace=tuple(error.get("stackTrace") or ()),
            duration_s=duration_s,
        )


class Runner(Protocol):
    """Runs calls somewhere: worker processes or threads."""

    def call(self, call: Call) -> Outcome:
        """Run ``call`` to completion; never raises for a failing handler.

        Raises:
            RuntimeError: the runner is closed.
        """
        ...

    def close(self) -> None:
        """Stop every worker; idempotent."""
        ...
