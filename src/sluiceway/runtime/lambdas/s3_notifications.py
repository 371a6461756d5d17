"""S3 notifications to Lambda functions: invoked asynchronously, with Lambda's retries for asynchronous calls.

S3 hands its event to Lambda's asynchronous queue and is done; Lambda runs the function,
and when it fails runs it twice more, about a minute and then two minutes later, before
giving the event up. The notifications wait in the data dir's database
(``backends/local/bucket_notifications.py``) until a deliverer has invoked them, so a
stack that stops or dies carries them over to its next start.

Lambda's one asynchronous queue is :mod:`.async_invocations` (``Invoke`` with
``InvocationType=Event`` goes there, with the functions' ``EventInvokeConfig``); this
deliverer serves S3's own table only until ``S3Notifier`` enqueues there too, and then goes.
"""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import timedelta
from typing import Final, Generic, Protocol, TypeVar

from ...ports import Clock, FunctionInvoker, Invocation
from ...ports.deliveries import DeliveryLog
from ...types import EventDict
from ..delivery_loop import Attempt, DeliveryLoop, Outcome
from .async_invocations import RETRY_DELAYS

logger = logging.getLogger(__name__)

__all__ = ["RETRY_DELAYS", "Notification", "S3NotificationDeliverer"]

_LEASE: Final = timedelta(minutes=16)
"""Longer than any function may run (Lambda's 15 minutes)."""
_GIVE_UP: Final = frozenset({"ResourceNotFoundException", "ValidationException", "RequestEntityTooLargeException"})


class Notification(Protocol):
    """One S3 notification waiting for its function (a row of the notifications' delivery log)."""

    @property
    def id(self) -> int: ...

    @property
    def attempts(self) -> int: ...

    @property
    def function(self) -> str: ...

    @property
    def payload(self) -> EventDict: ...


N = TypeVar("N", bound=Notification)


class _Failed(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type


class S3NotificationDeliverer(Generic[N]):
    """Invokes the functions of committed S3 notifications, from a thread of its own.

    Args:
        log: where the notifications wait (the local ``S3Notifier``).
        invoker: runs the functions.
        clock: the time.
        poll_s: how often the thread looks for due notifications without being woken
            (:attr:`wakeup` is set when one is committed).
    """

    def __init__(self, log: DeliveryLog[N], invoker: FunctionInvoker, clock: Clock, *, poll_s: float = 1.0) -> None:
        self.invoker = invoker
        self.clock = clock
        self.wakeup = threading.Event()
        self._loop: DeliveryLoop[N] = DeliveryLoop(
            log, self, clock=clock, name="sluiceway-s3-notifications", lease=_LEASE, poll_s=poll_s, wakeup=self.wakeup
        )

    def start(self) -> None:
        self._loop.start()

    def close(self) -> None:
        self._loop.close()

    def deliver_pending(self) -> int:
        return self._loop.deliver_pending()

    # -- the loop's hooks ------------------------------------------------------------------

    def prepare(self, row: N) -> Attempt | Outcome | None:
        def invoke() -> None:
            result = self.invoker.invoke(Invocation(row.function, row.payload, str(uuid.uuid4())))
            if not result.ok:
                raise _Failed(str(result.error_type), str(result.error_message))

        return Attempt(invoke, Outcome("delivered", row.attempts + 1))

    def failed(self, row: N, exc: Exception, attempt: Attempt) -> Outcome:
        attempts = row.attempts + 1
        final = isinstance(exc, _Failed) and exc.error_type in _GIVE_UP
        if final or attempts > len(RETRY_DELAYS):
            logger.warning("S3 notification given up on", extra={"function": row.function, "attempts": attempts, "error": str(exc)})
            return Outcome("failed", attempts, error=str(exc))
        return Outcome("pending", attempts, next_attempt_at=self.clock.now() + RETRY_DELAYS[attempts - 1], error=str(exc))
