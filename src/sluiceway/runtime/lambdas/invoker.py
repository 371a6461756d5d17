"""The local Lambda: runs registered functions by name with Lambda's contract.

``LocalFunctionInvoker`` implements :class:`~sluiceway.ports.FunctionInvoker`.
Functions run in worker processes (the default) or threads (see
:mod:`sluiceway.runtime.lambdas.workers`); either way an invocation behaves as Lambda's
synchronous ``Invoke`` does:

* the event and the result cross as JSON; a result JSON cannot carry fails with
  ``Runtime.MarshalError``, one over 6 MB with ``Function.ResponseSizeTooLarge``;
* a handler exception becomes ``errorType`` (the class name, or
  ``HandlerError.error_type``) and ``errorMessage`` (``str(exc)``); its stack
  trace goes to the log;
* a call running past its timeout is killed: ``Sandbox.Timedout``;
* a worker that dies (``os._exit``, a segfault, the OOM killer) gives
  ``Runtime.ExitError``; the pool replaces it and other calls carry on;
* an unknown function gives ``ResourceNotFoundException`` and a malformed name
  ``ValidationException``; a payload over 6 MB ``RequestEntityTooLargeException``
  (these are the Invoke API's error codes: Step Functions reports them with a
  ``Lambda.`` prefix).

Limits: the timeout of a call is the smaller of the function's ``timeout_s`` and
the invocation's, because a caller (a Task state's ``TimeoutSeconds``) may only
shorten it. Memory is the function's ``memory_mb``, reported to the handler but
not enforced. Thread mode reports timeouts but cannot stop the handler.

Logs: with a :class:`~.reports.LogSink`, every invocation's output (prints, logging,
its unhandled error) lands in ``/aws/lambda/<name>`` with Lambda's START/END/REPORT
lines, one write per invocation (:mod:`.capture`, :mod:`.reports`).

Environment: functions get ``AWS_REGION``/``AWS_DEFAULT_REGION`` as on Lambda and, once
:meth:`LocalFunctionInvoker.use_endpoint` names the AWS-compatible endpoint,
``AWS_ENDPOINT_URL`` with dummy credentials, so that boto3 in a handler talks to it
unchanged. Process mode also sets each call's ``AWS_LAMBDA_FUNCTION_NAME`` & co.
(:func:`~.worker.function_variables`).

Functions with code of their own (a SAM ``CodeUri``, :mod:`.code`) run in process mode only,
in workers of their own (:mod:`.workers`); before each invocation of one whose code is a
folder, a cheap look at the folder's files (:class:`~.code.CodeWatch`) retires its warm
workers when a file changed, so an edited handler takes effect on its next invocation. A
function whose ``Runtime`` is not Python cannot run here: ``InvalidRuntimeException``.

Reserved concurrency: a function with ``reserved_concurrency`` N runs at most N invocations at
once; one more is refused with ``TooManyRequestsException`` (429, reason
``ReservedFunctionConcurrentInvocationLimitExceeded``), as Lambda throttles it, and 0 refuses
all. Callers treat it as Lambda's callers do: the Invoke API answers 429
(:func:`invoke_api_error`), event sources and asynchronous invocations try again later. Each
refusal is one throttle for CloudWatch's ``AWS/Lambda`` ``Throttles`` (the ``throttles`` hook),
counted here because this is the one place where a request is refused, each retry too.

Tenant isolation (:mod:`.tenancy`): a function whose ``tenancy_mode`` is ``PER_TENANT`` runs only
invocations that name a tenant (``Invocation.tenant_id``), each in workers of that function and
tenant alone (:mod:`.workers`); any other function refuses a tenant. Refused here, for every caller
(the Invoke API, API Gateway, asynchronous invocations, event sources, Step Functions).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Literal

from ...observability.metrics import Metrics
from ...observability.tracing import Tracing
from ...ports import Invocation, InvocationResult
from ...ports.functions import Call, Outcome
from .capture import CallLogs
from .code import CodeWatch, FunctionCode, runs_locally, runtime_mismatch
from .context import FUNCTION_VERSION_ENV, function_arn
from .reports import LogSink, invocation_events, tail
from .tenancy import PER_TENANT, tenant_refusal
from .workers import ProcessRunner, ThreadRunner
from .xray import ENVIRONMENT_DEFAULTS, TRACE_HEADER_ENV

logger = logging.getLogger(__name__)

__all__ = [
    "INVOKE_API_ERRORS",
    "MAX_REQUEST_BYTES",
    "THROTTLE_REASON",
    "FunctionSpec",
    "LocalFunctionInvoker",
    "endpoint_environment",
    "invoke_api_error",
]

DUMMY_ACCESS_KEY_ID = "test"
DUMMY_SECRET_ACCESS_KEY = "test"
DUMMY_SESSION_TOKEN = "test"


def endpoint_environment(
    url: str, access_key_id: str = DUMMY_ACCESS_KEY_ID, secret_access_key: str = DUMMY_SECRET_ACCESS_KEY
) -> dict[str, str]:
    """What a function needs for boto3 to talk to the endpoint at ``url`` instead of AWS.

    Credentials are dummies (a Lambda function always has some; the endpoint accepts any
    unless it requires signatures). Host prefix injection is off: botocore would send
    StartSyncExecution to ``sync-127.0.0.1``, which does not resolve.
    """
    return {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": access_key_id,
        "AWS_SECRET_ACCESS_KEY": secret_access_key,
        "AWS_SESSION_TOKEN": DUMMY_SESSION_TOKEN,
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
    }


MAX_REQUEST_BYTES = 6_291_456
"""Lambda's limit for a synchronous invocation's payload."""

INVOKE_API_ERRORS: Mapping[str, int] = {
    "ValidationException": 400,
    "InvalidParameterValueException": 400,
    "InvalidRequestContentException": 400,
    "ResourceNotFoundException": 404,
    "RequestEntityTooLargeException": 413,
    "TooManyRequestsException": 429,
    "ServiceException": 500,
    "InvalidRuntimeException": 502,
}
"""Errors of Lambda's Invoke API itself, not of the function, with their HTTP statuses: the Invoke
operation answers them as errors (no ``FunctionError``); Step Functions names them ``Lambda.<code>``."""
THROTTLE_REASON = "ReservedFunctionConcurrentInvocationLimitExceeded"
"""``TooManyRequestsException``'s ``Reason`` when a function's reserved concurrency is used up."""
THROTTLE_MESSAGE = "Rate Exceeded."

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_QUALIFIER = r"(?::(?P<qualifier>\$LATEST|[A-Za-z0-9_-]{1,128}))?"
_FUNCTION = re.compile(
    r"^(?:arn:(?P<partition>aws[a-zA-Z-]*):lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:"
    r"|(?P<partial_account>\d{12}):function:"
    r"|function:)?"
    r"(?P<name>[A-Za-z0-9_.-]{1,140})" + _QUALIFIER + "$"
)
# The pattern Lambda quotes when it rejects a FunctionName.
_FUNCTION_NAME_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?"
    r"([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?"
)


#: The variables Lambda sets itself; a function's configuration may not set them.
RESERVED_VARIABLES = frozenset(
    {
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
    }
)  # fmt: skip


@dataclass(frozen=True)
class FunctionSpec:
    """A function's configuration, as Lambda keeps it."""

    name: str
    """The function name, e.g. ``ValidateData`` (letters, digits, ``-`` and ``_``; at most 64)."""
    handler: str
    """``package.module.function``, e.g. ``sluiceway.functions.validate.handler``."""
    timeout_s: float = 60.0
    """How long one invocation may run before it is killed."""
    memory_mb: int = 512
    """Reported to the handler as ``context.memory_limit_in_mb``; not enforced locally."""
    environment: Mapping[str, str] = field(default_factory=dict)
    """The function's ``Environment.Variables``, set in its worker before each call (process mode)."""
    code: FunctionCode | None = None
    """The function's own code (:func:`~.code.prepare_function_code`); None for functions packaged with Sluiceway."""
    runtime: str | None = None
    """The template's ``Runtime`` (``python3.12``); None: the local Python. Not Python: it cannot run here."""
    reserved_concurrency: int | None = None
    """``ReservedConcurrentExecutions``: at most this many invocations at once (0: every one is throttled)."""
    tenancy_mode: str | None = None
    """``TenancyConfig.TenantIsolationMode`` (``PER_TENANT``): every invocation names a tenant, whose
    execution environments serve it alone; None: no tenant isolation."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "environment", dict(self.environment))
        reserved = sorted(set(self.environment) & RESERVED_VARIABLES)
        if reserved:
            # Lambda's own words (InvalidParameterValueException) for the same mistake.
            raise ValueError(
                "Lambda was unable to configure your environment variables because the environment variables "
                f"you have provided contains reserved keys that are currently not supported for modification. "
                f"Reserved keys used in this request: {', '.join(reserved)}"
            )
        for key, value in self.environment.items():
            if not isinstance(value, str) or not re.fullmatch(r"[a-zA-Z][a-zA-Z0-9_]*", key):
                raise ValueError(f"environment variable {key!r} of {self.name}: names are letters, digits and _; values strings")
        if not _NAME.match(self.name):
            raise ValueError(f"invalid function name {self.name!r}: use 1-64 letters, digits, '-' and '_'")
        if "." not in self.handler.strip("."):
            raise ValueError(f"invalid handler {self.handler!r} for {self.name}: use 'package.module.function'")
        if not self.timeout_s > 0:
            raise ValueError(f"the timeout of {self.name} must be positive, not {self.timeout_s}")
        if self.memory_mb < 1:
            raise ValueError(f"the memory of {self.name} must be positive, not {self.memory_mb}")
        limit = self.reserved_concurrency
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise ValueError(f"the reserved concurrency of {self.name} must be a whole number, 0 or more, not {limit!r}")
        if self.tenancy_mode not in (None, PER_TENANT):
            raise ValueError(f"the tenant isolation mode of {self.name} must be {PER_TENANT}, not {self.tenancy_mode!r}")


def _observe(hook: str, call: Callable[..., None], *args: Any, **kwargs: Any) -> None:
    """Run an observability hook; its failure is logged, never raised into the invocation it observes."""
    try:
        call(*args, **kwargs)
    except Exception:
        logger.warning("observability hook failed; the invocation goes on", extra={"hook": hook}, exc_info=True)


def invoke_api_error(result: InvocationResult) -> tuple[str, str, int, dict[str, str]] | None:
    """How the Invoke API answers ``result`` when it is an error of the API rather than of the function.

    Returns:
        ``(code, message, HTTP status, extra fields of the error document)``, or None when the
        result is the function's own (a success, or a ``FunctionError``).
    """
    # On the flag, not the code: a handler's own ResourceNotFoundException is the function's error.
    code = result.error_type
    if not result.refused or code is None or code not in INVOKE_API_ERRORS:
        return None
    status = INVOKE_API_ERRORS[code]
    fields = {"Type": "User" if status < 500 else "Service"}
    if code == "TooManyRequestsException":
        fields["Reason"] = THROTTLE_REASON
    return code, result.error_message or "", status, fields


@dataclass(frozen=True)
class _Target:
    """A parsed function reference: the function's name and how the caller named it."""

    name: str
    qualifier: str | None
    region: str
    account_id: str

    @property
    def arn(self) -> str:
        return function_arn(self.region, self.account_id, self.name, self.qualifier)


class LocalFunctionInvoker:
    """Runs registered Lambda-style functions in worker processes (or threads).

    Thread-safe: many threads may call :meth:`invoke` at once; calls queue while
    every worker is busy. Close it (or use it as a context manager) to stop the
    workers.

    Args:
        functions: the functions it can run; names must be unique.
        workers: how many functions run at once (worker processes or threads);
            the number of CPUs by default. Processes start on first use.
        env: environment variables for the functions (e.g. ``SLUICEWAY_*``
            settings), set before any handler module is imported. In thread mode
            they are written into this process's environment until ``close()``.
        mode: ``"process"`` isolates every call in a worker process and enforces
            timeouts; ``"thread"`` runs handlers in this process, for tests and
            tiny functions, and can only report timeouts.
        region: the region in the functions' ARNs.
        account_id: the account in the functions' ARNs.
        keep_fds: file descriptors every worker process holds open while it lives (process mode).
        logs: where invocations' logs go (CloudWatch Logs); none are kept without one.
        metrics: where invocations are counted and the handlers' EMF lines exported (none by default).
        tracing: where invocations become spans, continued by the handlers' AWS calls (none by default).
        throttles: called with the function's name for each invocation request refused for its
            reserved concurrency (CloudWatch's ``Throttles``); none by default.

    Raises:
        ValueError: a duplicate function name, no workers, or an unknown mode.
        TypeError: an ``env`` key or value that is not a string.
    """

    def __init__(
        self,
        functions: Iterable[FunctionSpec],
        *,
        workers: int | None = None,
        env: Mapping[str, str] | None = None,
        mode: Literal["process", "thread"] = "process",
        region: str = "us-east-1",
        account_id: str = "111111111111",
        keep_fds: Callable[[], Sequence[int]] = tuple,
        logs: LogSink | None = None,
        metrics: Metrics | None = None,
        tracing: Tracing | None = None,
        throttles: Callable[[str], None] | None = None,
    ) -> None:
        self.logs = logs
        self.throttles = throttles
        self.metrics = metrics or Metrics(enabled=False)
        self.tracing = tracing or Tracing()
        if mode not in ("process", "thread"):
            raise ValueError(f"unknown mode {mode!r}: use 'process' or 'thread'")
        self.mode = mode
        self._functions: dict[str, FunctionSpec] = {}
        self._qualifiers: dict[str, set[str]] = {}
        self._watches: dict[str, CodeWatch] = {}
        self._running: dict[str, int] = {}
        """Invocations in progress per function with a reserved concurrency."""
        self._running_lock = threading.Lock()
        for spec in functions:
            if spec.name in self._functions:
                raise ValueError(f"function {spec.name} is registered twice")
            self._admit(spec)
            self._functions[spec.name] = spec
        self.region = region
        self.account_id = account_id
        env = dict(env or {})
        bad = [key for key, value in env.items() if not (isinstance(key, str) and isinstance(value, str))]
        if bad:
            raise TypeError(f"environment variables must be strings: {', '.join(map(repr, bad))}")
        # Lambda sets both; a caller's env (a test's) may name another region.
        env = {"AWS_REGION": region, "AWS_DEFAULT_REGION": region, **ENVIRONMENT_DEFAULTS, **env}
        size = workers if workers is not None else max(1, os.cpu_count() or 1)
        runner: ProcessRunner | ThreadRunner
        if mode == "process":
            # Workers trace their handlers' AWS calls when the stack traces (worker_tracing).
            env = {**env, **self.tracing.worker_environment()}
            runner = ProcessRunner(size, env={**os.environ, **env}, sys_path=sys.path, keep_fds=keep_fds)
        else:
            runner = ThreadRunner(size, env=env)
        self._runner = runner
        # Workers stop even if close() is forgotten: at the latest when the interpreter exits.
        self._finalizer = weakref.finalize(self, runner.close)

    # -- FunctionInvoker ---------------------------------------------------------

    def invoke(self, invocation: Invocation, *, version: str | None = None) -> InvocationResult:
        """Run the function to completion; return its result or its error (never raised).

        ``version`` is the version the invocation runs (the one Invoke reports as ``ExecutedVersion``,
        decided by the caller, an alias's weights included): the handler sees it as
        ``context.function_version`` and ``AWS_LAMBDA_FUNCTION_VERSION``. Without one, a name qualified
        with a version number (``fn:3``) runs that version, anything else ``$LATEST`` (an alias's
        version is the caller's to decide: the invoker does not know what it points to). Locally every
        version runs the function's current code.

        Raises:
            RuntimeError: the invoker is closed.
        """
        return self._invoke(invocation, None, version)

    def invoke_with_log(self, invocation: Invocation, *, version: str | None = None) -> tuple[InvocationResult, str]:
        """:meth:`invoke`, and the last 4 KB of the invocation's log (Invoke's ``LogType: Tail``)."""
        events: list[tuple[int, str]] = []
        result = self._invoke(invocation, events, version)
        return result, tail(events)

    def attach_logs(self, logs: LogSink) -> None:
        """Keep invocations' logs in ``logs`` from now on."""
        self.logs = logs

    def use_endpoint(self, url: str, *, access_key_id: str = DUMMY_ACCESS_KEY_ID, secret_access_key: str = DUMMY_SECRET_ACCESS_KEY) -> None:
        """Point boto3 in functions at the AWS-compatible endpoint at ``url`` (see :func:`endpoint_environment`).

        Give a configured local access key when the endpoint requires signatures. Idle worker
        processes are replaced at once, busy ones when their call ends.
        """
        self._runner.update_env(endpoint_environment(url, access_key_id, secret_access_key))

    def _invoke(self, invocation: Invocation, log_events: list[tuple[int, str]] | None, version: str | None) -> InvocationResult:
        if not self._finalizer.alive:
            raise RuntimeError("the function invoker is closed")
        target = self._parse(invocation.function_name)
        if target is None:
            return self._refuse(
                invocation,
                "ValidationException",
                f"1 validation error detected: Value '{invocation.function_name}' at 'functionName'"
                " failed to satisfy constraint: Member must satisfy regular expression pattern:"
                f" {_FUNCTION_NAME_PATTERN}",
            )
        spec = self._spec(target)
        if spec is None:
            return self._refuse(invocation, "ResourceNotFoundException", f"Function not found: {target.arn}")
        if version is None:
            version = target.qualifier if target.qualifier is not None and target.qualifier.isdigit() else "$LATEST"
        refusal = tenant_refusal(spec.tenancy_mode, invocation.tenant_id)
        if refusal is not None:
            return self._refuse(invocation, *refusal)
        if spec.tenancy_mode is None and invocation.tenant_id is not None:
            invocation = replace(invocation, tenant_id=None)  # ignored: one pool of environments for all
        try:
            payload = json.dumps(invocation.payload).encode()
        except (TypeError, ValueError) as exc:
            return self._refuse(
                invocation,
                "InvalidRequestContentException",
                f"Could not parse request body into json: {exc}",
            )
        if len(payload) > MAX_REQUEST_BYTES:
            return self._refuse(
                invocation,
                "RequestEntityTooLargeException",
                f"Request must be smaller than {MAX_REQUEST_BYTES} bytes for the InvokeFunction operation",
            )
        if not runs_locally(spec.runtime):
            # The closest of Lambda's own errors: the Invoke API's answer for a function whose runtime
            # cannot run (a deprecated one); Lambda's words, then why.
            return self._refuse(
                invocation,
                "InvalidRuntimeException",
                f"The runtime or runtime version specified is not supported: {spec.runtime} cannot run locally"
                " (Sluiceway runs Python functions only)",
            )
        limit = spec.reserved_concurrency
        if limit is not None and not self._enter(spec.name, limit):
            _observe("function_throttled", self.metrics.function_throttled, spec.name)
            if self.throttles is not None:
                _observe("throttles", self.throttles, spec.name)
            return self._refuse(invocation, "TooManyRequestsException", THROTTLE_MESSAGE)
        try:
            if not self.tracing.enabled:
                return self._run(spec, target, invocation, payload, log_events, version)
            attributes = {"faas.name": spec.name, "faas.invocation_id": invocation.request_id, "cloud.resource_id": target.arn}
            with self.tracing.span(f"invoke {spec.name}", kind="server", attributes=attributes) as span:
                result = self._run(spec, target, invocation, payload, log_events, version)
                if result.error_type is not None:
                    _observe("tracing.failed", self.tracing.failed, span, f"{result.error_type}: {result.error_message}")
                return result
        finally:
            if limit is not None:
                self._leave(spec.name)

    def _run(
        self,
        spec: FunctionSpec,
        target: _Target,
        invocation: Invocation,
        payload: bytes,
        log_events: list[tuple[int, str]] | None,
        version: str,
    ) -> InvocationResult:
        watch = self._watches.get(spec.name)
        if watch is not None:
            # Held across the retirement: a call that looks after an edit never gets the old code.
            with watch.lock:
                if watch.changed():
                    logger.info("function code changed; its warm workers are retired", extra={"function": spec.name})
                    self._runner.retire(spec.name)
        call = Call(
            request_id=invocation.request_id,
            function_name=spec.name,
            handler=spec.handler,
            invoked_arn=target.arn,
            memory_mb=spec.memory_mb,
            timeout_s=min(spec.timeout_s, invocation.timeout_s),
            payload=payload,
            # The version rides with the call's variables (Lambda reserves the name: no function's own
            # variable can clash): the worker sets it per call, as it does the context.
            environment={**self._environment(spec), FUNCTION_VERSION_ENV: version},
            code_paths=spec.code.paths if spec.code is not None else (),
            runtime=spec.runtime,
            tenant_id=invocation.tenant_id,
        )
        if self.logs is None and log_events is None and not self.metrics.enabled:
            outcome = self._runner.call(call)
        else:
            logs = CallLogs()
            outcome = self._runner.call(call, logs)
            group, events = invocation_events(spec.name, invocation.request_id, spec.memory_mb, outcome, logs)
            if log_events is not None:
                log_events.extend(events)
            # The logs first: they are the invocation's; its metrics are only read from them.
            self._store_logs(group, logs.stream, events)
            _observe(
                "function_invoked",
                self.metrics.function_invoked,
                spec.name,
                outcome.duration_s,
                error=outcome.error_type is not None,
                cold_start=logs.init_ms is not None,
            )
            # EMF lines: metrics here, log lines in the log group as on AWS.
            _observe("function_output", self.metrics.function_output, spec.name, logs.events)
        return self._result(spec.name, invocation.request_id, outcome)

    def _environment(self, spec: FunctionSpec) -> Mapping[str, str]:
        """The call's environment: the function's, and the invocation's trace header when it is traced.

        Lambda's runtime sets ``_X_AMZN_TRACE_ID`` for each invocation; continuing the current
        span there makes the handler's AWS calls (botocore sends the header) part of its trace.
        """
        try:
            header = self.tracing.trace_header()
        except Exception:  # an invocation without its trace header still runs
            logger.warning("observability hook failed; the invocation goes on", extra={"hook": "trace_header"}, exc_info=True)
            header = None
        if header is None:
            return spec.environment
        return {**spec.environment, TRACE_HEADER_ENV: header}

    def _store_logs(self, group: str, stream: str, events: list[tuple[int, str]]) -> None:
        if self.logs is None:
            return
        try:
            self.logs.put(group, stream, events, create=True)
        except Exception:  # losing a log line must never fail the invocation that wrote it
            logger.warning("could not store function logs", extra={"log_group": group}, exc_info=True)

    def knows(self, function_name: str) -> bool:
        """Whether ``function_name`` (a name, ``name:qualifier``, an ARN) is registered."""
        return self.resolve(function_name) is not None

    # -- the rest ----------------------------------------------------------------

    def resolve(self, resource: str) -> str | None:
        """The registered function's name for a reference Lambda's ``Invoke`` accepts, or None.

        Accepts a name (``ValidateData``), a name with a qualifier
        (``ValidateData:live``, ``ValidateData:$LATEST``), a partial ARN
        (``111111111111:function:ValidateData``) and a full ARN
        (``arn:aws:lambda:us-east-1:111111111111:function:ValidateData[:qualifier]``).
        An ARN in another region or account names another function: None. Any
        qualifier resolves to the one local version.
        """
        target = self._parse(resource)
        spec = self._spec(target) if target is not None else None
        return spec.name if spec is not None else None

    def register(self, spec: FunctionSpec) -> None:
        """Add (or replace) a function; calls already running keep the handler they started with.

        Replacing a function with code of its own retires its workers: the next call loads the
        new code. A replaced packaged handler module is not imported again by warm workers:
        register a new module (or a new function name) for new code.

        Raises:
            ValueError: a function with code of its own in thread mode.
        """
        self._admit(spec)
        previous = self._functions.get(spec.name)
        self._functions[spec.name] = spec
        if previous is not None and previous != spec and (previous.code is not None or previous.tenancy_mode is not None):
            # Its workers hold the old code, or serve tenants of a function that has none now.
            self._runner.retire(spec.name)

    def add_qualifier(self, name: str, qualifier: str) -> None:
        """Let ``name:qualifier`` (a published version or an alias) name function ``name``.

        Locally every version and alias runs the function's current code: a template's
        ``AutoPublishAlias`` is invoked through its alias ARN as on Lambda.
        """
        self._qualifiers.setdefault(name, set()).add(qualifier)

    def remove_qualifier(self, name: str, qualifier: str) -> None:
        """``name:qualifier`` names nothing any more (no error if it did not)."""
        self._qualifiers.get(name, set()).discard(qualifier)

    def qualifiers(self, name: str) -> frozenset[str]:
        """The versions and aliases of ``name`` besides ``$LATEST``."""
        return frozenset(self._qualifiers.get(name, ()))

    def unregister(self, name: str) -> None:
        """Remove function ``name`` (no error if unknown); its workers are retired, calls running finish."""
        self._qualifiers.pop(name, None)
        spec = self._functions.pop(name, None)
        self._watches.pop(name, None)
        if spec is not None and (spec.code is not None or spec.tenancy_mode is not None):
            self._runner.retire(name)

    def arn_of(self, resource: str) -> str | None:
        """The function ARN a reference names (qualified if it is), registered or not; None if malformed."""
        target = self._parse(resource)
        return None if target is None else target.arn

    @property
    def functions(self) -> Mapping[str, FunctionSpec]:
        """The registered functions by name."""
        return dict(self._functions)

    def worker_pids(self) -> list[int]:
        """Process ids of the worker processes started so far (empty in thread mode)."""
        return self._runner.pids() if isinstance(self._runner, ProcessRunner) else []

    def close(self) -> None:
        """Stop the workers (a call still running is killed); idempotent."""
        self._finalizer()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` ran: no function can be invoked any more (readiness reports it)."""
        return not self._finalizer.alive

    def __enter__(self) -> LocalFunctionInvoker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- helpers -----------------------------------------------------------------

    def _admit(self, spec: FunctionSpec) -> None:
        """Check that ``spec`` can run in this mode, watch its code, and say when its runtime is not ours."""
        if spec.code is not None and self.mode != "process":
            raise ValueError(
                f"function {spec.name} has code of its own (CodeUri): it runs in process mode only, where it gets"
                " an execution environment of its own"
            )
        if spec.code is not None and spec.code.watched:
            self._watches[spec.name] = CodeWatch(spec.code.root, spec.code.unwatched)
        else:
            self._watches.pop(spec.name, None)
        warning = runtime_mismatch(spec.runtime)
        if warning is not None:
            logger.info("function runtime is not the local Python", extra={"function": spec.name, "warning": warning})

    def _enter(self, name: str, limit: int) -> bool:
        with self._running_lock:
            running = self._running.get(name, 0)
            if running >= limit:
                return False
            self._running[name] = running + 1
            return True

    def _leave(self, name: str) -> None:
        with self._running_lock:
            self._running[name] -= 1

    def _parse(self, resource: str) -> _Target | None:
        match = _FUNCTION.match(resource)
        if match is None:
            return None
        region = match["region"] or self.region
        account = match["account"] or match["partial_account"] or self.account_id
        return _Target(match["name"], match["qualifier"], region, account)

    def _spec(self, target: _Target) -> FunctionSpec | None:
        if target.region != self.region or target.account_id != self.account_id:
            return None
        return self._functions.get(target.name)

    def _refuse(self, invocation: Invocation, error_type: str, message: str) -> InvocationResult:
        logger.warning(
            "function invocation refused",
            extra={
                "function": invocation.function_name,
                "request_id": invocation.request_id,
                "error_type": error_type,
                "error_message": message,
            },
        )
        return InvocationResult(invocation.request_id, error_type=error_type, error_message=message, refused=True)

    def _result(self, function: str, request_id: str, outcome: Outcome) -> InvocationResult:
        duration_ms = outcome.duration_s * 1000.0
        if outcome.result is not None:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "function invoked",
                    extra={
                        "function": function,
                        "request_id": request_id,
                        "duration_ms": round(duration_ms, 3),
                    },
                )
            return InvocationResult(request_id, payload=json.loads(outcome.result), duration_ms=duration_ms)
        logger.warning(
            "function failed",
            extra={
                "function": function,
                "request_id": request_id,
                "duration_ms": round(duration_ms, 3),
                "error_type": outcome.error_type,
                "error_message": outcome.error_message,
                "stack_trace": list(outcome.stack_trace),
            },
        )
        return InvocationResult(
            request_id,
            error_type=outcome.error_type,
            error_message=outcome.error_message,
            duration_ms=duration_ms,
            stack_trace=tuple(outcome.stack_trace),
        )
