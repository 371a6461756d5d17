"""The kept event source mappings, run by the stack: SQS queues by its triggers, DynamoDB and Kinesis streams by its stream pollers.

A mapping runs while it is enabled and its function is registered: a template's function is
registered only when its template is applied again after a start, so its mappings wait until
then (:meth:`MappingRuns.sync`) rather than fail batches against a function that is not there
yet. Disabling, changing or deleting a mapping stops its poller from taking another batch
before the call returns, without waiting for the batch in flight (Lambda answers at once, in a
transient state): that batch ends in the background. A stream mapping keeps its checkpoint
while disabled or updated (the batch in flight still moves it, and the mapping resumes after
it), and loses it when deleted (the batch in flight can no longer move it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ...backends.local.event_source_mappings import SqliteEventSourceMappings, StoredMapping
from ...runtime.messaging.streams import StreamBatchOutcome, StreamMapping
from ...runtime.messaging.triggers import EventSourceMapping as QueueMapping
from ...runtime.messaging.triggers import QueuePoller
from ..context import Shared

if TYPE_CHECKING:
    from ...runtime.stack import Stack

logger = logging.getLogger(__name__)

__all__ = ["MappingRuns", "mapping_runs", "poller_settings", "processing_result", "source_kind"]

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
    since = config.get("StartingPositionTimestamp")
    return StreamMapping(
        mapping.source,
        mapping.function,
        starting_position=str(config.get("StartingPosition")),
        starting_position_timestamp=datetime.fromtimestamp(float(since), UTC) if since is not None else None,
        tumbling_window_s=int(config.get("TumblingWindowInSeconds") or 0),
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

    ``lock`` is held by each change across its store write and its poller change, so that a
    poller runs only for a mapping kept and enabled; nothing under it waits for a batch.

    Args:
        stack: the running stack (its ``triggers`` and ``streams``).
        store: the kept mappings.
    """

    def __init__(self, stack: Stack, store: SqliteEventSourceMappings) -> None:
        self.stack = stack
        self.store = store
        self.lock = threading.RLock()
        self._queues: dict[str, QueuePoller] = {}
        self._streams: set[str] = set()
        self._stopping: list[QueuePoller] = []
        """Queue pollers asked to stop, whose receive in progress :meth:`settle` waits for (outside ``lock``)."""

    def running(self, uuid: str) -> bool:
        with self.lock:
            return uuid in self._queues or uuid in self._streams

    def start(self, uuid: str) -> None:
        """Run the mapping ``uuid`` as it is kept now, if it is kept, enabled, and its function is registered.

        Nothing if it runs already.

        Raises:
            ValueError: the stack runs a mapping of the same source and function that is not kept here
                (an application's own trigger), or the stream is gone.
        """
        with self.lock:
            mapping = self.store.get(uuid)  # read again: it may have been deleted or disabled since it was listed
            if mapping is None or not mapping.enabled or mapping.function not in self.stack.invoker.functions:
                return
            if self.running(uuid):
                return
            settings = poller_settings(mapping)
            if isinstance(settings, QueueMapping):
                self._queues[uuid] = self.stack.triggers.add(settings)
            else:
                self.stack.streams.add(settings, on_outcome=lambda outcome: self._processed(uuid, outcome))
                self._streams.add(uuid)
        logger.info("event source mapping started", extra={"uuid": uuid, "source": mapping.source, "function": mapping.function})

    def stop(self, uuid: str, *, forget: bool = False) -> None:
        """Stop the mapping's poller without waiting for its batch in flight, which ends in the background.

        A stream mapping keeps its checkpoint (the batch in flight still moves it), unless ``forget``
        (a deleted mapping): then its poller never writes the checkpoint again, and the checkpoint goes.
        """
        with self.lock:
            poller = self._queues.pop(uuid, None)
            if poller is not None:
                self.stack.triggers.remove(poller, wait=False)
                self._stopping.append(poller)
                return
            ran = uuid in self._streams
            self._streams.discard(uuid)
            if forget:
                self.stack.streams.remove(uuid)  # a mapping that never ran this time may still have a checkpoint
            elif ran:
                self.stack.streams.remove(uuid, keep_checkpoint=True)

    def restart(self, uuid: str) -> None:
        """Run the mapping as it is kept now (stopped first if it ran with other settings)."""
        with self.lock:
            self.stop(uuid)
            self.start(uuid)

    def settle(self) -> None:
        """Wait (not under ``lock``) for the stopped queue pollers' receives in progress: then no batch of theirs starts.

        Their batches in flight end in the background. A long poll ends within the poller's wait (a second).
        """
        with self.lock:
            pollers, self._stopping = self._stopping, []
        for poller in pollers:
            poller.close(wait_batches=False)

    def sync(self) -> None:
        """Start every kept mapping that is enabled, whose function is registered now, and that does not run."""
        self.settle()
        for mapping in self.store.all():
            if not mapping.enabled or self.running(mapping.uuid) or mapping.function not in self.stack.invoker.functions:
                continue
            try:
                self.start(mapping.uuid)
            except ValueError as exc:
                logger.warning("could not start event source mapping", extra={"uuid": mapping.uuid}, exc_info=True)
                # Kept from an earlier run with a setting this one does not run (TumblingWindowInSeconds)
                # or a stream now gone: GetEventSourceMapping says why it processes nothing. Lambda's
                # own wording for such a mapping is not confirmed; its results begin "PROBLEM: ".
                self._set_result(mapping.uuid, f"PROBLEM: {exc}")

    def _processed(self, uuid: str, outcome: StreamBatchOutcome) -> None:
        """Keep what the mapping's last batch came to (``LastProcessingResult``), as Lambda reports it."""
        result = processing_result(outcome)
        if result is not None:
            self._set_result(uuid, result)

    def _set_result(self, uuid: str, result: str) -> None:
        with self.lock:
            mapping = self.store.get(uuid)
            if mapping is None or mapping.config.get("LastProcessingResult") in (None, result):
                return  # deleted, an SQS mapping (Lambda reports none), or unchanged
            config = {**mapping.config, "LastProcessingResult": result}
            self.store.replace(replace(mapping, config=config))

    def close(self) -> None:
        self.store.close()


def processing_result(outcome: StreamBatchOutcome) -> str | None:
    """A batch's outcome in Lambda's words for ``LastProcessingResult``; None when nothing was invoked (all filtered out)."""
    if outcome.status in ("ok", "partial"):
        return "OK"
    if outcome.status in ("failed", "skipped"):
        return "PROBLEM: Function call failed"
    return None
