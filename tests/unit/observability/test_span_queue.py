"""The export queue: spans leave in batches, lazily built spans are handed over first, and none is lost silently."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from opentelemetry.trace import SpanContext, SpanKind

from sluiceway.observability.recorded_span import RecordedSpan, SpanFactory
from sluiceway.observability.span_queue import SpanQueue, queue_settings


def span(n: int) -> RecordedSpan:
    return RecordedSpan(f"s{n}", SpanContext(1, n + 1, False), None, SpanKind.INTERNAL, {}, 0, None)


class Collector:
    def __init__(self, accept: bool = True) -> None:
        self.batches: list[list[str]] = []
        self.accept = accept
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, spans: list[RecordedSpan]) -> bool:
        assert self.gate.wait(10)
        self.batches.append([s.name for s in spans])
        return self.accept


def test_a_flush_exports_everything_ended_in_batches_after_the_hooks() -> None:
    collector = Collector()
    queue = SpanQueue(collector, max_batch=2, delay_s=60)
    try:
        built = threading.Event()

        def build_once() -> None:  # a lazily built span joins the export (built once, however many rounds run)
            if not built.is_set():
                built.set()
                queue.put(span(9))

        queue.before_export(build_once)
        for n in range(3):
            queue.put(span(n))
        assert queue.flush(10)
        assert sorted(name for batch in collector.batches for name in batch) == ["s0", "s1", "s2", "s9"]
        assert all(len(batch) <= 2 for batch in collector.batches)
        assert queue.dropped == 0
    finally:
        queue.close()


def test_a_full_queue_drops_spans_counts_them_and_says_so_once(caplog: pytest.LogCaptureFixture) -> None:
    collector = Collector()
    collector.gate.clear()  # a collector that hangs: nothing leaves
    queue = SpanQueue(collector, max_queue=3, max_batch=3, delay_s=60)
    try:
        with caplog.at_level(logging.WARNING, logger="sluiceway.observability.span_queue"):
            for n in range(10):
                queue.put(span(n))
        # The first three were taken for export (or wait); at most three more fit: the rest are counted.
        assert 4 <= queue.dropped <= 7
        assert [r.message for r in caplog.records] == ["spans dropped"]
    finally:
        collector.gate.set()
        queue.close()


def test_a_failed_export_counts_its_spans_and_fails_the_flush() -> None:
    queue = SpanQueue(Collector(accept=False), delay_s=60)
    try:
        queue.put(span(1))
        queue.put(span(2))
        assert not queue.flush(10)
        assert queue.dropped == 2
    finally:
        queue.close()


def test_spans_ended_after_close_are_counted_as_dropped() -> None:
    collector = Collector()
    queue = SpanQueue(collector, delay_s=60)
    queue.put(span(1))
    queue.close()
    assert collector.batches == [["s1"]]  # what was left went out at close
    queue.put(span(2))
    assert queue.dropped == 1


def test_unsampled_spans_never_reach_the_queue() -> None:
    from sluiceway.observability.recorded_span import remote

    ended: list[RecordedSpan] = []
    factory = SpanFactory(ended.append)
    factory.start("not sampled", remote(5, 6, sampled=False)).end()
    child = factory.start("sampled", remote(5, 6, sampled=True))
    child.end()
    assert ended == [child] and child.context.trace_id == 5 and child.parent is not None and child.parent.span_id == 6


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, (2048, 512, 5.0)),
        ({"OTEL_BSP_MAX_QUEUE_SIZE": "100", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "500", "OTEL_BSP_SCHEDULE_DELAY": "250"}, (100, 100, 0.25)),
        ({"OTEL_BSP_MAX_QUEUE_SIZE": "lots", "OTEL_BSP_SCHEDULE_DELAY": "-1"}, (2048, 512, 5.0)),
    ],
)
def test_the_standard_batch_settings_are_read(environ: dict[str, str], expected: tuple[int, int, float]) -> None:
    assert queue_settings(environ) == expected


def test_spans_left_when_the_thread_does_not_end_in_time_are_counted_as_dropped() -> None:
    collector = Collector()
    collector.gate.clear()  # the collector hangs on the first batch
    queue = SpanQueue(collector, max_batch=1, delay_s=60)
    try:
        queue.put(span(0))  # a full batch: the thread takes it and hangs in the export
        deadline = time.monotonic() + 5
        while queue._spans and time.monotonic() < deadline:  # the batch has left the queue
            time.sleep(0.01)
        queue.put(span(1))
        queue.put(span(2))
        queue.close(timeout_s=0.2)
        assert queue.dropped == 2  # the two still queued; the one in the hung export is not lost yet
    finally:
        collector.gate.set()
