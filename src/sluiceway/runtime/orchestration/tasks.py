"""Carry out a Task state's resource on the ports: functions and service integrations.

``TaskRunner.run(command)`` never raises: whatever happens becomes a
:class:`~sluiceway.asl.commands.TaskSucceeded` or ``TaskFailed`` event with
the error names Step Functions uses, so Retry and Catch see what they would see
on AWS (:func:`as_outcome`). The one exception is :class:`OrchestratorStoppedError`:
a task cut short by a stop has no outcome, and runs again at the next start.

A task's effect is had once per task: its outcome is recorded in the task journal
(execution and token), in the transaction of the effect itself when the effect is
rows in the local database (see :class:`~.integrations.base.Integration`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from ...asl.commands import InvokeTask, ReadItems, TaskFailed, TaskSucceeded, WriteResults
from ...asl.sdk_services import SDK_PREFIX, parse_sdk_resource
from ...clock import SystemClock
from ...errors import OrchestratorStoppedError, SluicewayError
from ...ports import Clock, EventPublisher, FunctionInvoker, MetadataTable, ObjectStore, Queue, TaskJournal, Topic
from ...settings import DEFAULT_ACCOUNT_ID, DEFAULT_REGION
from ...types import JSON
from .integrations import REGISTRY, Integration, TaskError, TaskPorts
from .integrations.aws_sdk import SdkCall, in_database
from .integrations.items import read_items, write_results
from .integrations.lambda_ import invoke

logger = logging.getLogger(__name__)

__all__ = ["AwsSdkTasks", "TaskRunner", "as_outcome"]

_SERVICE_PREFIX = "arn:aws:states:::"
Handler = Callable[[InvokeTask, Mapping[str, Any]], JSON]
RunTask = Callable[[Any], TaskSucceeded | TaskFailed]


def as_outcome(command: InvokeTask | ReadItems | WriteResults, action: Callable[[], JSON]) -> TaskSucceeded | TaskFailed:
    """Run ``action`` for ``command`` and turn what happens into the task's outcome, with Step Functions' error names."""
    try:
        return TaskSucceeded(command.token, action())
    except TaskError as exc:
        return TaskFailed(command.token, exc.error, exc.cause)
    except OrchestratorStoppedError:
        raise  # no outcome at all: the task runs again at the next start
    except SluicewayError as exc:
        return TaskFailed(command.token, type(exc).__name__, str(exc))
    except Exception as exc:  # a bug in an integration must fail the task, not the runtime
        logger.exception("task integration crashed", extra={"resource": command.resource})
        return TaskFailed(command.token, "States.TaskFailed", f"{type(exc).__name__}: {exc}")


class TaskRunner:
    """Runs Task resources against local (or AWS) ports.

    Args:
        invoker: runs Lambda-style functions.
        topic: publishes ``sns:publish`` messages.
        tables: opens tables by name for the ``dynamodb:*`` tasks.
        dynamodb: the local DynamoDB engine's operations by name, for the tables ``tables`` does not hold.
        extra: more ``service:action`` handlers keyed by the part after ``arn:aws:states:::``
            (tests, mocks); each takes the command and its parameters and returns the
            service's response.
        journal: where tasks' outcomes are recorded, so that each has its effect once.
        region, account_id: the stack's, for what integrations make (an event's envelope).
        clock: the time integrations stamp on what they make.
    """

    def __init__(
        self,
        invoker: FunctionInvoker,
        topic: Topic,
        *,
        objects: ObjectStore | None = None,
        events: EventPublisher | None = None,
        queues: Queue | None = None,
        tables: Callable[[str], MetadataTable] | None = None,
        default_timeout_s: float = 900.0,
        extra: Mapping[str, Handler] | None = None,
        journal: TaskJournal | None = None,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
        clock: Clock | None = None,
        dynamodb: Callable[[str, Mapping[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        self.ports = TaskPorts(
            invoker, topic, objects, events, queues, tables, default_timeout_s, region, account_id, clock or SystemClock(), dynamodb
        )
        self.extra = dict(extra or {})
        self.journal = journal

    def run(self, command: InvokeTask | ReadItems | WriteResults) -> TaskSucceeded | TaskFailed:
        """The outcome of running ``command`` (never raises, but for OrchestratorStoppedError)."""
        if isinstance(command, ReadItems):
            return as_outcome(command, lambda: read_items(self.ports, command))
        if isinstance(command, WriteResults):
            return as_outcome(command, lambda: write_results(self.ports, command))
        resource = command.resource
        if not resource.startswith(_SERVICE_PREFIX):
            # A function's outcome is recorded after it returns (failures are not: a retry runs it again).
            def call() -> JSON:
                return invoke(self.ports, command, resource, command.payload, wrap=False)

            return as_outcome(command, lambda: self._once(command, call))
        service = resource[len(_SERVICE_PREFIX) :]
        for suffix in (".waitForTaskToken", ".sync:2", ".sync"):
            service = service.removesuffix(suffix)
        params: Mapping[str, Any] = command.payload if isinstance(command.payload, Mapping) else {}
        custom = self.extra.get(service)
        if custom is not None:
            return as_outcome(command, lambda: self._once(command, lambda: custom(command, params)))
        integration: Integration | None = REGISTRY.get(service)
        if integration is None:
            return TaskFailed(command.token, "States.Runtime", f"The resource '{resource}' is not supported by this Sluiceway backend")
        handler, verdict = integration.handler, integration.verdict
        return as_outcome(
            command,
            lambda: verdict(self._once(command, lambda: handler(self.ports, command, params), atomic=integration.in_database)),
        )

    def _once(self, command: InvokeTask, action: Callable[[], JSON], *, atomic: bool = False) -> JSON:
        """The task's effect, once per task even when it runs again after a crash (see TaskJournal)."""
        if self.journal is None or not command.idempotency_key:
            return action()
        return self.journal.once(command.idempotency_key, action, atomic=atomic)


class AwsSdkTasks:
    """Runs AWS SDK integrations (``arn:aws:states:::aws-sdk:...``); hands every other command to
    ``rest`` (the :class:`TaskRunner`).

    The calls are made by what serves the services (the endpoint's operations, in-process), which
    the runtime does not import: the composition hands them over with :meth:`serve`. The stack puts
    this runner in front of its task runner before it starts, so that a task dispatched by the start
    itself (a resumed execution, a Wait that fell due while the stack was down) waits for the calls
    instead of failing for want of them. A stack that never gets them (``sluiceway upload --run``
    without an endpoint) leaves such a task in flight when it stops: the next ``sluiceway up`` runs
    it, rather than failing an execution that would succeed there.

    Args:
        rest: runs every other command.
        journal: where tasks' outcomes are recorded, so that each call is made once per task.
    """

    def __init__(self, rest: RunTask, journal: TaskJournal | None = None) -> None:
        self.rest = rest
        self.journal = journal
        self._call: SdkCall | None = None
        self._stopped = False
        self._changed = threading.Condition()

    @property
    def call(self) -> SdkCall | None:
        """What makes the calls, once :meth:`serve` gave it."""
        return self._call

    def serve(self, call: SdkCall) -> None:
        """Make the calls with ``call`` from now on (tasks waiting for one go ahead).

        ``call`` belongs to this runner from then: :meth:`close` closes it (when it has a ``close``).
        """
        with self._changed:
            self._call = call
            self._changed.notify_all()

    def stop(self) -> None:
        """Make no call from now on: a task that would raises OrchestratorStoppedError (it runs again
        at the next start), as does one waiting for :meth:`serve`. Calls under way finish."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()

    def close(self) -> None:
        """Stop, and release what the calls hold; once no task runs (after the orchestrator's tasks
        are joined), since a call under way still uses it."""
        self.stop()
        with self._changed:
            call, self._call = self._call, None
        close = getattr(call, "close", None)
        if callable(close):
            close()

    def __call__(self, command: Any) -> TaskSucceeded | TaskFailed:
        if not isinstance(command, InvokeTask) or not command.resource.startswith(SDK_PREFIX):
            return self.rest(command)
        resource = parse_sdk_resource(command.resource)
        if resource is None:  # refused when the definition was made; kept from older definitions
            return TaskFailed(command.token, "States.Runtime", f"The resource '{command.resource}' is not supported")
        params: Mapping[str, Any] = command.payload if isinstance(command.payload, Mapping) else {}

        def action() -> JSON:
            call = self._caller()
            if self.journal is None or not command.idempotency_key:
                return call(resource, params)
            # Where the call's effects are all rows of the journal's database, they commit with the
            # record of the call, exactly once; elsewhere (files, another database) a crash between
            # the call and its record makes it again (see in_database).
            atomic = in_database(resource)
            return self.journal.once(command.idempotency_key, lambda: call(resource, params), atomic=atomic)

        return as_outcome(command, action)

    def _caller(self) -> SdkCall:
        with self._changed:
            self._changed.wait_for(lambda: self._call is not None or self._stopped)
            if self._stopped or self._call is None:
                raise OrchestratorStoppedError("the stack stopped before the AWS SDK task's call was made")
            return self._call
