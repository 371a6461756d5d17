"""Lambda's asynchronous invocations: a durable queue, delivered with Lambda's retries, age limit and destinations.

Whoever invokes a function asynchronously (``Invoke`` with ``InvocationType=Event``, an S3
notification, SNS, EventBridge) commits the invocation to the queue of the data dir
(``backends/local/async_invocations.py``) and is done; the caller is told it was accepted
only once it is committed. :class:`AsyncInvocationDeliverer` then runs it, as Lambda does
(see "How Lambda handles errors and retries with asynchronous invocation"):

* a *function error* (the handler raised, timed out, or its worker died) is retried twice,
  one minute and then two minutes later (``MaximumRetryAttempts``, 0 to 2, says how often);
* an error of the invoking itself (the local Lambda could not run anything: it is
  stopping) is not the function's: the invocation goes back to the queue and is tried
  again after a back-off that grows from a second to five minutes, however often;
* an invocation that waited longer than ``MaximumEventAgeInSeconds`` (six hours by
  default) is not run any more;
* an invocation that can never run (Invoke refuses it: its function is gone) is dropped at once.
  Only Invoke's own refusal counts (``InvocationResult.refused``): a handler that raises an
  exception of the same name (an uncaught botocore ``ResourceNotFoundException``) failed like
  any function, and is retried.

An invocation queued for a version or an alias (``fn:live``, a qualified ARN an S3 notification
or an SNS subscription names) runs through it: the version it runs (an alias's, by its weights) is decided at each attempt, by the
``versions`` hook (:meth:`AsyncInvocationDeliverer.route_versions`; without one, a version
number runs as itself and anything else as ``$LATEST``).

What is given up on is logged and kept in the queue's table with its last error; with an
``OnFailure`` destination a record of it is sent there, with a dead-letter queue (the
function's ``DeadLetterConfig``) the event itself, and with ``OnSuccess`` a record of every
success (:mod:`.destinations`). A function with both an ``OnFailure`` destination and a
dead-letter queue sends to both. A stop, a crash or a ``kill -9`` loses nothing: an
invocation not yet delivered is delivered after the next start, and one that was running
when its process died runs again (at least once, as on Lambda).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final, Generic, Protocol, TypeVar, runtime_checkable

from ...observability.tracing import Tracing
from ...ports import Clock, Invocation, InvocationResult
from ...ports.deliveries import DeliveryLog
from ...types import JSON, EventDict
from ..delivery_loop import Attempt, DeliveryLoop, Outcome
from .destinations import Condition, dead_letter_attributes, invocation_record

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_MAXIMUM_EVENT_AGE",
    "DEFAULT_MAXIMUM_RETRY_ATTEMPTS",
    "RETRY_DELAYS",
    "AsyncInvocationDeliverer",
    "EventInvokeSettings",
]

RETRY_DELAYS: Final = (timedelta(minutes=1), timedelta(minutes=2))
"""Lambda's waits before the retries of a function error."""
DEFAULT_MAXIMUM_RETRY_ATTEMPTS: Final = 2
DEFAULT_MAXIMUM_EVENT_AGE: Final = timedelta(hours=6)
_BACK_OFF_MIN: Final = timedelta(seconds=1)
_BACK_OFF_MAX: Final = timedelta(minutes=5)
_LEASE: Final = timedelta(minutes=16)
"""Longer than any function may run (Lambda's 15 minutes)."""
_TIMEOUT_S: Final = 900.0
"""The invocation's own limit: Lambda's longest; the function's timeout, always shorter or equal, applies."""
_SYSTEM_ERROR: Final = 500
"""The dead-letter ``ErrorCode`` of an event that expired without a function error: what kept it
from running was Lambda's side (here: the local Lambda could not run it, or was not running)."""
_THROTTLED: Final = frozenset({"TooManyRequestsException", "ServiceException"})
"""Refusals of the Invoke API that pass: the event waits and is tried again without spending an attempt.
Every other refusal (no such function, a bad payload, a runtime that cannot start, the tenant refusal)
no retry can change: the event is dropped. The tenant refusal (``InvalidParameterValueException``: a
tenant-isolated function invoked by a service that names no tenant, or one without the mode given one)
is Lambda's before it queues the event, so the event never reaches the function's destinations or
dead-letter queue; what Lambda reports to the calling service could not be confirmed, so it is dropped
and logged like the other refusals here."""


class Pending(Protocol):
    """One invocation waiting in the queue (``backends.local.async_invocations.AsyncInvocation``)."""

    @property
    def id(self) -> int: ...

    @property
    def function(self) -> str: ...

    @property
    def payload(self) -> JSON: ...

    @property
    def request_id(self) -> str: ...

    @property
    def attempts(self) -> int: ...

    @property
    def enqueued_at(self) -> datetime: ...

    @property
    def text(self) -> str: ...

    @property
    def last_error(self) -> str | None: ...


P = TypeVar("P", bound=Pending)


class Queue(DeliveryLog[P], Protocol[P]):
    """The queue as the deliverer drives it (``SqliteAsyncInvocations``): a delivery log whose
    claims can match the attempts seen, and whose outcomes can be kept to the claim they ran under."""

    def claim(self, delivery_id: int, now: datetime, until: datetime, *, attempts: int | None = None) -> bool: ...

    def record(
        self,
        delivery_id: int,
        *,
        status: str,
        attempts: int,
        next_attempt_at: datetime | None = None,
        error: str | None = None,
        claimed_until: datetime | None = None,
    ) -> None: ...


class _LoopView(Generic[P]):
    """The queue as one loop sees it.

    Several loops go through the same due rows, each from a list it read a while ago: a row
    another loop has retried since (and that is due again) is claimed only with the attempts
    the list says, so it is not run again with the old count; and an outcome is stored only
    under the claim it ran under, so a late one (its lease ran out while the call waited for
    a free worker) does not overwrite the outcome of whoever claimed the row next.
    """

    def __init__(self, queue: Queue[P]) -> None:
        self.queue = queue
        self._seen: dict[int, int] = {}
        self._held: dict[int, datetime] = {}

    def due(self, now: datetime, *, after_id: int = 0, limit: int = 100) -> list[P]:
        rows = self.queue.due(now, after_id=after_id, limit=limit)
        self._seen = {row.id: row.attempts for row in rows}
        return rows

    def claim(self, delivery_id: int, now: datetime, until: datetime) -> bool:
        if not self.queue.claim(delivery_id, now, until, attempts=self._seen[delivery_id]):
            return False
        self._held[delivery_id] = until
        return True

    def record(
        self,
        delivery_id: int,
        *,
        status: str,
        attempts: int,
        next_attempt_at: datetime | None = None,
        error: str | None = None,
    ) -> None:
        self.queue.record(
            delivery_id,
            status=status,
            attempts=attempts,
            next_attempt_at=next_attempt_at,
            error=error,
            claimed_until=self._held.pop(delivery_id, None),
        )

    def release_orphans(self) -> int:
        return self.queue.release_orphans()


class EventInvokeSettings(Protocol):
    """A function's ``EventInvokeConfig`` (``backends.local.async_invocations.EventInvokeConfig``); None is "not set"."""

    @property
    def maximum_retry_attempts(self) -> int | None: ...

    @property
    def maximum_event_age_s(self) -> int | None: ...

    @property
    def on_success(self) -> str | None: ...

    @property
    def on_failure(self) -> str | None: ...


class Configs(Protocol):
    def get(self, function: str, qualifier: str = "$LATEST") -> EventInvokeSettings | None: ...

    def dead_letter(self, function: str) -> str | None:
        """The function's dead-letter queue ARN (``DeadLetterConfig.TargetArn``); None if it has none."""
        ...


class Functions(Protocol):
    """The local Lambda as the deliverer uses it (``LocalFunctionInvoker``)."""

    def invoke(self, invocation: Invocation, *, version: str | None = None) -> InvocationResult: ...

    def resolve(self, resource: str) -> str | None: ...

    def arn_of(self, resource: str) -> str | None: ...


class Destinations(Protocol):
    def send(self, arn: str, record: EventDict) -> bool: ...

    def dead_letter(self, arn: str, body: str, attributes: dict[str, tuple[str, str]]) -> bool: ...


class _FunctionError(Exception):
    def __init__(self, result: InvocationResult) -> None:
        super().__init__(f"{result.error_type}: {result.error_message}")
        self.result = result


class _Expired(Exception):
    def __init__(self, age: timedelta, limit: timedelta) -> None:
        super().__init__(f"EventAgeExceeded: waited {int(age.total_seconds())} s, more than {int(limit.total_seconds())} s")

    def throw(self) -> None:
        raise self


class _Plan:
    """What ``prepare`` found for an attempt: the function's settings, and the version it runs once decided."""

    def __init__(self, name: str, qualifier: str | None, settings: EventInvokeSettings | None, dead_letter: str | None) -> None:
        self.name = name
        self.qualifier = qualifier
        """The version or alias the invocation was queued for; None: the unqualified function."""
        self.settings = settings
        self.dead_letter = dead_letter
        self.version: str | None = None
        """The version the attempt ran (decided when it runs); None before."""

    @property
    def maximum_retry_attempts(self) -> int:
        value = self.settings.maximum_retry_attempts if self.settings is not None else None
        return DEFAULT_MAXIMUM_RETRY_ATTEMPTS if value is None else value

    @property
    def maximum_event_age(self) -> timedelta:
        value = self.settings.maximum_event_age_s if self.settings is not None else None
        return DEFAULT_MAXIMUM_EVENT_AGE if value is None else timedelta(seconds=value)


@runtime_checkable
class _TenantLog(Protocol):
    """A queue that keeps each invocation's tenant (tenant isolation)."""

    def tenant(self, invocation_id: int) -> str | None: ...


class AsyncInvocationDeliverer(Generic[P]):
    """Runs the queue's invocations from threads of its own (see the module docstring).

    Args:
        log: the queue (``SqliteAsyncInvocations``).
        configs: the functions' ``EventInvokeConfig``s (``SqliteEventInvokeConfigs``).
        functions: runs the functions.
        clock: the time.
        destinations: where invocation records go; without it, destinations are not sent.
        concurrency: how many invocations run at once (as many as the local Lambda has
            workers: more would only wait for one).
        poll_s: how often the threads look for due invocations without being woken.
        wakeup: set when an invocation is committed (given, so that the queue, built
            before the deliverer, can wake it).
        tracing: where each run becomes a span continuing the trace that queued it (none by default).
        trace_of: the trace context kept with an invocation (``traceparent``), by its id; read only
            when tracing is on.
        tenant_of: the tenant an invocation runs for (Invoke's ``TenantId``), by its id; the log's
            own ``tenant`` when it has one.
        versions: the version an invocation of function ``name`` through ``qualifier`` (a version,
            an alias, None) runs (see :meth:`route_versions`).
    """

    def __init__(
        self,
        log: Queue[P],
        configs: Configs,
        functions: Functions,
        clock: Clock,
        *,
        destinations: Destinations | None = None,
        concurrency: int = 1,
        poll_s: float = 1.0,
        wakeup: threading.Event | None = None,
        tracing: Tracing | None = None,
        trace_of: Callable[[int], str | None] | None = None,
        tenant_of: Callable[[int], str | None] | None = None,
        versions: Callable[[str, str | None], str] | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        self.configs = configs
        self.functions = functions
        self.clock = clock
        self.destinations = destinations
        self.tracing = tracing or Tracing()
        self.trace_of = trace_of
        self.tenant_of = tenant_of if tenant_of is not None else (log.tenant if isinstance(log, _TenantLog) else None)
        self.versions = versions
        self.wakeup = wakeup or threading.Event()
        # Loops over one log never run an invocation twice: each claims a row before running it, a
        # claim moves the row's next attempt past the lease, and each loop claims and records
        # through a view of its own (see _LoopView).
        self._loops: list[DeliveryLoop[P]] = [
            DeliveryLoop(
                _LoopView(log), self, clock=clock, name=f"sluiceway-lambda-async-{n}", lease=_LEASE, poll_s=poll_s, wakeup=self.wakeup
            )
            for n in range(concurrency)
        ]

    def start(self) -> None:
        for loop in self._loops:
            loop.start()

    def close(self) -> None:
        """Stop every loop; each lets an invocation in progress end first, all at once rather than in turn."""
        self.wakeup.set()
        closers = [threading.Thread(target=loop.close, name=f"{loop.name}-close") for loop in self._loops]
        for closer in closers:
            closer.start()
        for closer in closers:
            closer.join()

    def route_versions(self, versions: Callable[[str, str | None], str]) -> None:
        """Decide the version each invocation runs with ``versions(name, qualifier)`` from now on.

        What an alias points to (and its weights) is kept beside the Lambda API, which hands it in
        when it starts; called again at each attempt, so that an alias changed since the event was
        queued runs its current version, as on Lambda.
        """
        self.versions = versions

    def notify(self) -> None:
        """Tell the deliverer an invocation was committed."""
        self.wakeup.set()

    def deliver_pending(self) -> int:
        """One pass over the due invocations, on the calling thread; returns how many succeeded."""
        return self._loops[0].deliver_pending()

    # -- the loop's hooks --------------------------------------------------------------------

    def prepare(self, row: P) -> Attempt | Outcome | None:
        name = self.functions.resolve(row.function) or row.function
        qualifier = _qualifier(self.functions.arn_of(row.function))
        # The function's one EventInvokeConfig, whatever the qualifier: the Lambda API keeps one per
        # function (Lambda keeps one per version and alias; not modelled yet).
        plan = _Plan(name, qualifier, self.configs.get(name), self.configs.dead_letter(name))
        age = self.clock.now() - row.enqueued_at
        if age > plan.maximum_event_age:
            # Through the claim like an attempt, so that of two loops only one sends its record.
            return Attempt(_Expired(age, plan.maximum_event_age).throw, Outcome("expired", row.attempts), context=plan)

        def call() -> None:
            tenant_id = self.tenant_of(row.id) if self.tenant_of is not None else None
            # As it was queued (a qualified ARN too): the handler's invoked_function_arn says so.
            invocation = Invocation(row.function, row.payload, row.request_id, timeout_s=_TIMEOUT_S, tenant_id=tenant_id)
            plan.version = self.versions(name, qualifier) if self.versions is not None else _default_version(qualifier)
            if self.tracing.enabled:
                attributes = {
                    "faas.name": name,
                    "faas.invocation_id": row.request_id,
                    "faas.trigger": "pubsub",
                    "sluiceway.attempt": row.attempts + 1,
                }
                parent = self.trace_of(row.id) if self.trace_of is not None else None
                with self.tracing.span(f"async {name}", parent=parent, kind="consumer", attributes=attributes):
                    result = self.functions.invoke(invocation, version=plan.version)
            else:
                result = self.functions.invoke(invocation, version=plan.version)
            if result.refused and result.error_type in _THROTTLED:
                # Lambda keeps a throttled event and tries again later, without spending a retry attempt,
                # until its maximum age: a plain error backs off here and counts no attempt.
                raise RuntimeError(f"{result.error_type}: {result.error_message}")
            if not result.ok:
                raise _FunctionError(result)
            if plan.settings is not None and plan.settings.on_success:
                self._send(plan.settings.on_success, self._record(row, plan, "Success", row.attempts + 1, result))

        return Attempt(call, Outcome("delivered", row.attempts + 1), context=plan)

    def failed(self, row: P, exc: Exception, attempt: Attempt) -> Outcome:
        plan: _Plan = attempt.context
        if isinstance(exc, _Expired):
            logger.warning(
                "asynchronous invocation dropped: too old",
                extra={"function": plan.name, "request_id": row.request_id, "attempts": row.attempts, "error": str(exc)},
            )
            self._send_failure(row, plan, "EventAgeExceeded", row.attempts, None)
            # A function error before it expired is the last failure Lambda knows of (a 200 whose
            # function failed); otherwise nothing the function did failed.
            if row.attempts and row.last_error:
                self._send_dead_letter(row, plan, 200, row.last_error)
            else:
                self._send_dead_letter(row, plan, _SYSTEM_ERROR, row.last_error or str(exc))
            return Outcome("expired", row.attempts, error=str(exc))
        if not isinstance(exc, _FunctionError):
            # The local Lambda could not run it (stopping, say): not the function's error, and not
            # one of its attempts. Lambda puts such an event back and tries again, with a back-off
            # that doubles from a second up to five minutes; waiting as long again as the event has
            # waited so far grows the same way, without keeping a count.
            age = self.clock.now() - row.enqueued_at
            delay = min(max(age, _BACK_OFF_MIN), _BACK_OFF_MAX)
            logger.warning(
                "asynchronous invocation could not run; it waits in the queue",
                extra={"function": plan.name, "request_id": row.request_id, "error": str(exc), "retry_in_s": delay.total_seconds()},
            )
            return Outcome("pending", row.attempts, next_attempt_at=self.clock.now() + delay, error=str(exc))
        attempts = row.attempts + 1
        result = exc.result
        if result.refused:
            logger.warning(
                "asynchronous invocation dropped: it cannot run",
                extra={"function": plan.name, "request_id": row.request_id, "error": str(exc)},
            )
            return Outcome("failed", attempts, error=str(exc))
        if attempts > plan.maximum_retry_attempts:
            logger.warning(
                "asynchronous invocation dropped: its retries failed",
                extra={"function": plan.name, "request_id": row.request_id, "attempts": attempts, "error": str(exc)},
            )
            self._send_failure(row, plan, "RetriesExhausted", attempts, result)
            # The Invoke call succeeded (200) and the function failed: AWS's own answers show these.
            self._send_dead_letter(row, plan, 200, result.error_message or "")
            return Outcome("failed", attempts, error=str(exc))
        delay = RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]
        logger.warning(
            "asynchronous invocation failed; it will be retried",
            extra={"function": plan.name, "request_id": row.request_id, "attempts": attempts, "error": str(exc)},
        )
        return Outcome("pending", attempts, next_attempt_at=self.clock.now() + delay, error=str(exc))

    # -- destinations ------------------------------------------------------------------------

    def _send_failure(self, row: P, plan: _Plan, condition: Condition, attempts: int, result: InvocationResult | None) -> None:
        # Sent before the outcome is recorded: a crash in between sends it again rather than never.
        if plan.settings is not None and plan.settings.on_failure:
            self._send(plan.settings.on_failure, self._record(row, plan, condition, attempts, result))

    def _send_dead_letter(self, row: P, plan: _Plan, error_code: int, error_message: str) -> None:
        # Like the OnFailure record, sent before the outcome is recorded: at least once.
        if plan.dead_letter is None:
            return
        if self.destinations is None:
            logger.warning("no destinations are wired: event not sent to its dead-letter queue", extra={"destination": plan.dead_letter})
            return
        attributes = dead_letter_attributes(request_id=row.request_id, error_code=error_code, error_message=error_message)
        try:
            # The event as it was sent (Lambda sends it "as-is"), not a record of the invocation.
            self.destinations.dead_letter(plan.dead_letter, row.text, attributes)
        except Exception:
            logger.exception("event not delivered to the function's dead-letter queue", extra={"destination": plan.dead_letter})

    def _record(self, row: P, plan: _Plan, condition: Condition, attempts: int, result: InvocationResult | None) -> EventDict:
        arn = self.functions.arn_of(plan.name) or plan.name
        # The version the attempt ran; one that never ran (too old) is named as it was queued.
        # The qualifier of a record of an alias's invocation could not be confirmed against AWS.
        version = plan.version or plan.qualifier or "$LATEST"
        return invocation_record(
            function_arn=f"{arn}:{version}",
            request_id=row.request_id,
            condition=condition,
            invoke_count=attempts,
            request_payload=row.payload,
            result=result,
            now=self.clock.now(),
        )

    def _send(self, arn: str, record: EventDict) -> None:
        if self.destinations is None:
            logger.warning("no destinations are wired: invocation record not sent", extra={"destination": arn})
            return
        try:
            self.destinations.send(arn, record)
        except Exception:
            # A destination never makes the invocation run again (the function did run).
            logger.exception("invocation record not delivered to its destination", extra={"destination": arn})


def _qualifier(arn: str | None) -> str | None:
    """The version or alias a function ARN names (``arn:aws:lambda:r:a:function:fn:live``), or None."""
    parts = (arn or "").split(":")
    return parts[7] if len(parts) > 7 and parts[7] else None


def _default_version(qualifier: str | None) -> str:
    """The version without a ``versions`` hook: a version number runs as itself, anything else as ``$LATEST``."""
    return qualifier if qualifier is not None and qualifier.isdigit() else "$LATEST"
