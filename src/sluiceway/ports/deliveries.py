"""The delivery log port: the durable side of a delivery loop (claims, outcomes, released claims).

Event deliveries to rule targets and message deliveries to topic subscribers are both
rows of such a log; ``runtime/delivery_loop.py`` drives either.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, TypeVar

__all__ = ["DeliveryLog", "Row"]


class _Row(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def attempts(self) -> int: ...


Row = TypeVar("Row", bound=_Row)


class DeliveryLog(Protocol[Row]):
    """The durable side the loop drives (``SqliteEventBus``, ``SqliteTopic`` locally)."""

    def due(self, now: datetime, *, after_id: int = 0, limit: int = 100) -> list[Row]:
        """Pending deliveries due at ``now`` with an id above ``after_id``, in order."""
        ...

    def claim(self, delivery_id: int, now: datetime, until: datetime) -> bool:
        """Take a due delivery until ``until``; False if it is no longer due (another deliverer has it)."""
        ...

    def record(
        self,
        delivery_id: int,
        *,
        status: str,
        attempts: int,
        next_attempt_at: datetime | None = None,
        error: str | None = None,
    ) -> None:
        """Store an attempt's outcome."""
        ...

    def release_orphans(self) -> int:
        """Make deliveries claimed by processes that are gone due at once; return how many."""
        ...
