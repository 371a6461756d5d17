"""Gauges read when Prometheus scrapes: queue depths, dead-letter queues, running executions.

They are what the durable stores hold at that moment, so nothing keeps them up to date
between scrapes (nobody scraping costs nothing) and a restarted stack reports the same
numbers. The readers are callables the composition root gives (:mod:`sluiceway.runtime.wiring`);
one that fails is logged and its gauges are left out of that scrape, never failing it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

__all__ = ["DroppedSpans", "QueueDepth", "StoreGauges"]


@dataclass(frozen=True)
class QueueDepth:
    """One queue's counts, as SQS's CloudWatch metrics report them."""

    queue: str
    visible: int
    """ApproximateNumberOfMessagesVisible."""
    in_flight: int
    """ApproximateNumberOfMessagesNotVisible."""
    delayed: int
    """ApproximateNumberOfMessagesDelayed."""
    oldest_age_s: float | None
    """ApproximateAgeOfOldestMessage; None when the queue is empty."""
    dead_letter: bool = False
    """Whether the queue is a dead-letter queue (of a queue's redrive policy or a rule target's)."""


class StoreGauges(Collector):
    """The stores' gauges (register it on the stack's registry).

    Args:
        queues: every queue's depth.
        running: running executions by state machine.
    """

    def __init__(self, queues: Callable[[], Iterable[QueueDepth]], running: Callable[[], Mapping[str, int]]) -> None:
        self._queues = queues
        self._running = running

    def describe(self) -> Iterator[Metric]:
        # Names only: the registry checks them against the other collectors' without a read.
        yield from self._queue_families()
        yield self._running_family()

    def collect(self) -> Iterator[Metric]:
        yield from self._read("queues", self._collect_queues)
        yield from self._read("executions", self._collect_running)

    def _read(self, what: str, collect: Callable[[], list[Metric]]) -> list[Metric]:
        try:
            return collect()
        except Exception:  # a store that cannot be read now leaves its gauges out; the scrape goes on
            logger.warning("could not read gauges from the stores", extra={"store": what}, exc_info=True)
            return []

    @staticmethod
    def _queue_families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily(
                "sluiceway_queue_messages",
                "Messages in a queue by state: visible, in_flight (received, not yet deleted) or delayed (SQS's Approximate* counts).",
                labels=["queue", "state"],
            ),
            GaugeMetricFamily(
                "sluiceway_queue_oldest_message_age_seconds",
                "Age of the oldest message in a queue (ApproximateAgeOfOldestMessage); absent while the queue is empty.",
                labels=["queue"],
            ),
            GaugeMetricFamily(
                "sluiceway_dead_letter_queue_messages",
                "Messages in a dead-letter queue (of a queue's redrive policy or of an EventBridge target), whatever their state.",
                labels=["queue"],
            ),
            GaugeMetricFamily(
                "sluiceway_dead_letter_queue_oldest_message_age_seconds",
                "Age of the oldest message in a dead-letter queue; absent while it is empty.",
                labels=["queue"],
            ),
        )

    @staticmethod
    def _running_family() -> GaugeMetricFamily:
        return GaugeMetricFamily("sluiceway_executions_running", "Executions running now, by state machine.", labels=["state_machine"])

    def _collect_queues(self) -> list[Metric]:
        messages, oldest, dead_letters, dead_letter_oldest = self._queue_families()
        for depth in self._queues():
            messages.add_metric([depth.queue, "visible"], depth.visible)
            messages.add_metric([depth.queue, "in_flight"], depth.in_flight)
            messages.add_metric([depth.queue, "delayed"], depth.delayed)
            if depth.oldest_age_s is not None:
                oldest.add_metric([depth.queue], depth.oldest_age_s)
            if depth.dead_letter:
                dead_letters.add_metric([depth.queue], depth.visible + depth.in_flight + depth.delayed)
                if depth.oldest_age_s is not None:
                    dead_letter_oldest.add_metric([depth.queue], depth.oldest_age_s)
        return [messages, oldest, dead_letters, dead_letter_oldest]

    def _collect_running(self) -> list[Metric]:
        running = self._running_family()
        for machine, count in sorted(self._running().items()):
            running.add_metric([machine], count)
        return [running]


class DroppedSpans(Collector):
    """Spans tracing ended but could not export, read at each scrape (a count the export queue keeps)."""

    def __init__(self, dropped: Callable[[], int]) -> None:
        self._dropped = dropped

    def describe(self) -> Iterator[Metric]:
        yield self._family()

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        try:
            family.add_metric([], self._dropped())
        except Exception:  # the count cannot be read now: left out of this scrape, never failing it
            logger.warning("could not read the dropped spans", exc_info=True)
            return
        yield family

    @staticmethod
    def _family() -> CounterMetricFamily:
        return CounterMetricFamily(
            "sluiceway_trace_spans_dropped", "Spans that ended but were never exported: the export queue was full, or an export failed."
        )
