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
from .integrations.aws_sdk import SdkCall
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
    """Runs AWS SDK integrations (``arn:aws:states:::aws-sdk:...``) through ``call``; hands every
    other command to ``rest`` (the :class:`TaskRunner`).

    The call is made by what serves the services (the endpoint, in-process), which exists only
    once the stack runs: the composition puts this in front of the orchestrator's task runner then.

    Args:
        call: calls an API action and renders its response, or raises TaskError.
        rest: runs every other command.
        journal: where tasks' outcomes are recorded, so that each call is made once per task.
    """

    def __init__(self, call: SdkCall, rest: RunTask, journal: TaskJournal | None = None) -> None:
        self.call = call
        self.rest = rest
        self.journal = journal

    def __call__(self, command: Any) -> TaskSucceeded | TaskFailed:
        if not isinstance(command, InvokeTask) or not command.resource.startswith(SDK_PREFIX):
            return self.rest(command)
        resource = parse_sdk_resource(command.resource)
        if resource is None:  # refused when the definition was made; kept from older definitions
            return TaskFailed(command.token, "States.Runtime", f"The resource '{command.resource}' is not supported")
        params: Mapping[str, Any] = command.payload if isinstance(command.payload, Mapping) else {}

        def action() -> JSON:
            if self.journal is None or not command.idempotency_key:
                return self.call(resource, params)
            return self.journal.once(command.idempotency_key, lambda: self.call(resource, params), atomic=False)

        return as_outcome(command, action)
