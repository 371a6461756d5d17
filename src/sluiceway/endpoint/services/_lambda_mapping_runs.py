"""The kept event source mappings, run by the stack: SQS queues by its triggers, DynamoDB streams by its stream pollers.

A mapping runs while it is enabled and its function is registered: a template's function is
registered only when its template is applied again after a start, so its mappings wait until
then (:meth:`MappingRuns.sync`) rather than fail batches against a function that is not there
yet. Disabling or deleting a mapping stops its poller before the call returns; a batch in
flight finishes. A stream mapping keeps its checkpoint while disabled or updated (it resumes
where it stopped), and loses it when deleted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...backends.local.event_source_mappings import SqliteEventSourceMappings, StoredMapping
from ...runtime.messaging.streams import StreamMapping
from ...runtime.messaging.triggers import EventSourceMapping as QueueMapping
from ...runtime.messaging.triggers import EventSourceMappings, QueuePoller
from ..context import Shared

if TYPE_CHECKING:
    from ...runtime.stack import Stack

logger = logging.getLogger(__name__)

__all__ = ["MappingRuns", "mapping_runs", "poller_settings", "source_kind"]

UNLIMITED_CONCURRENCY = 1000
"""Without ScalingConfig, Lambda scales an SQS mapping up to its own limit of 1,000 concurrent batches."""


def mapping_runs(stack: Stack, shared: Shared) -> MappingRuns:
    """The kept mappings and their pollers: opened once per endpoint, which starts those that can run."""
    return shared.get("lambda.mappings", lambda: _open(stack))


def _open(stack: Stack) -> MappingRuns:
    runs = MappingRuns(stack, SqliteEventSourceMappings(stack.settings.data_dir / "lambda.db"))
    runs.sync()
    return runs


def source_kind(arn: str) -> str:
    """``sqs``, ``dynamodb``, ``kinesis``, ``kafka``, ``mq``... as an event source ARN names its service."""
    parts = arn.split(":")
    return parts[2] if len(parts) > 5 and parts[0] == "arn" else ""


def poller_settings(mapping: StoredMapping) -> QueueMapping | StreamMapping:
    """What the stack's poller runs for ``mapping``.

    Raises:
        ValueError: a setting the poller refuses (``FilterCriteriaError`` for filters, with Lambda's code).
    """
    config = mapping.config
    report = "ReportBatchItemFailures" in (config.get("FunctionResponseTypes") or [])
    filters: Mapping[str, Any] | None = config.get("FilterCriteria") or None
    window = float(config.get("MaximumBatchingWindowInSeconds") or 0)
    if source_kind(mapping.source) == "sqs":
        scaling = (config.get("ScalingConfig") or {}).get("MaximumConcurrency")
        return QueueMapping(
            mapping.source,
            mapping.function,
            batch_size=int(config["BatchSize"]),
            max_batching_window_s=window,
            report_batch_item_failures=report,
            max_concurrency=int(scaling) if scaling else UNLIMITED_CONCURRENCY,
            enabled=mapping.enabled,
            filter_criteria=filters,
        )
    on_failure = ((config.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
    return StreamMapping(
        mapping.source,
        mapping.function,
        starting_position=str(config.get("StartingPosition")),
        batch_size=int(config["BatchSize"]),
        max_batching_window_s=window,
        max_retry_attempts=int(config.get("MaximumRetryAttempts", -1)),
        max_record_age_s=int(config.get("MaximumRecordAgeInSeconds", -1)),
        bisect_batch_on_function_error=bool(config.get("BisectBatchOnFunctionError")),
        report_batch_item_failures=report,
        on_failure=on_failure or None,
        filter_criteria=filters,
        parallelization_factor=int(config.get("ParallelizationFactor") or 1),
        enabled=mapping.enabled,
        uuid=mapping.uuid,
    )


class MappingRuns:
    """Starts and stops the stack's pollers for the kept mappings.

    Args:
        stack: the running stack (its ``triggers`` and ``streams``).
        store: the kept mappings.
    """

    def __init__(self, stack: Stack, store: SqliteEventSourceMappings) -> None:
        self.stack = stack
        self.store = store
        self._lock = threading.RLock()
        self._queues: dict[str, QueuePoller] = {}
        self._streams: set[str] = set()

    def running(self, uuid: str) -> bool:
        with self._lock:
            return uuid in self._queues or uuid in self._streams

    def start(self, mapping: StoredMapping) -> None:
        """Run ``mapping`` if it is enabled and its function is registered (nothing if it runs already).

        Raises:
            ValueError: the stack runs a mapping of the same source and function that is not kept here
                (an application's own trigger), or the stream is gone.
        """
        if not mapping.enabled or mapping.function not in self.stack.invoker.functions:
            return
        with self._lock:
            if self.running(mapping.uuid):
                return
            settings = poller_settings(mapping)
            if isinstance(settings, QueueMapping):
                self._queues[mapping.uuid] = self.stack.triggers.add(settings)
            else:
                self.stack.streams.add(settings)
                self._streams.add(mapping.uuid)
        logger.info("event source mapping started", extra={"uuid": mapping.uuid, "source": mapping.source, "function": mapping.function})

    def stop(self, uuid: str, *, forget: bool = False) -> None:
        """Stop the mapping's poller; ``forget`` (a deleted mapping) also drops its stream checkpoint."""
        with self._lock:
            poller = self._queues.pop(uuid, None)
            if poller is not None:
                _drop_queue_poller(self.stack.triggers, poller)
                return
            streams = self.stack.streams
            if forget:
                self._streams.discard(uuid)
                streams.remove(uuid)  # a mapping that never ran this time may still have a checkpoint
                return
            if uuid not in self._streams:
                return
            self._streams.discard(uuid)
            stream_arn = streams.get(uuid).stream_arn
            function = streams.get(uuid).mapping.function_name
            position = streams.checkpoints.get(uuid)
            streams.remove(uuid)
            if position is not None:
                # Kept across a disable or an update: the mapping resumes after what it handled.
                streams.checkpoints.put(uuid, stream_arn, function, position)

    def restart(self, mapping: StoredMapping) -> None:
        """Run ``mapping`` as it is now kept (stopped first if it ran with other settings)."""
        with self._lock:
            self.stop(mapping.uuid)
            self.start(mapping)

    def sync(self) -> None:
        """Start every kept mapping that is enabled, whose function is registered now, and that does not run."""
        for mapping in self.store.all():
            if not mapping.enabled or self.running(mapping.uuid) or mapping.function not in self.stack.invoker.functions:
                continue
            try:
                self.start(mapping)
            except ValueError:
                logger.warning("could not start event source mapping", extra={"uuid": mapping.uuid}, exc_info=True)

    def close(self) -> None:
        self.store.close()


def _drop_queue_poller(triggers: EventSourceMappings, poller: QueuePoller) -> None:
    """Stop a queue poller and take it out of the stack's triggers (a mapping made again is not a duplicate)."""
    triggers.remove(poller)
