"""Admin ports: what the CLI (and later the management API) asks of queues and topics beyond the data path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ..messaging.queue import QueueAttributes
from ..messaging.sns import MessageAttribute, Subscription, TopicInfo

__all__ = ["Deliverer", "MessagingHandles", "QueueAdmin", "TopicAdmin"]


class QueueAdmin(Protocol):
    def list_queues(self, prefix: str = "") -> list[str]: ...

    def queue_attributes(self, queue: str) -> QueueAttributes: ...

    def start_message_move_task(self, source: str, destination: str | None = None) -> int: ...


class TopicAdmin(Protocol):
    def list_topics(self) -> list[TopicInfo]: ...

    def list_subscriptions(self, topic: str | None = None) -> list[Subscription]: ...

    def delivery_counts(self) -> dict[str, dict[str, int]]: ...

    def create_topic(self, name: str, *, outbox: bool = True) -> TopicInfo: ...

    def delete_topic(self, topic: str) -> None: ...

    def subscribe(
        self,
        topic: str,
        protocol: str,
        endpoint: str = "",
        *,
        raw_message_delivery: bool = False,
        filter_policy: str | Mapping[str, Any] | None = None,
        filter_policy_scope: str | None = None,
        dead_letter_queue: str | None = None,
    ) -> Subscription: ...

    def unsubscribe(self, subscription: str) -> None: ...

    def publish(
        self,
        topic: str,
        message: str,
        *,
        subject: str | None = None,
        attributes: Mapping[str, MessageAttribute] | None = None,
    ) -> str: ...


class Deliverer(Protocol):
    def deliver_pending(self) -> int: ...


class MessagingHandles(Protocol):
    """What the messaging commands need; ``runtime.wiring.open_messaging`` returns one."""

    @property
    def queues(self) -> QueueAdmin: ...

    @property
    def topics(self) -> TopicAdmin: ...

    @property
    def deliverer(self) -> Deliverer: ...

    def close(self) -> None: ...
