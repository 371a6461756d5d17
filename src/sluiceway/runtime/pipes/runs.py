"""The running pipes: each pipe's source polled by the machinery Lambda's event source mappings use.

A pipe's source is read exactly as an event source mapping reads it; only the step after the
batch differs. So a pipe is an event source mapping (``runtime/messaging/triggers.py`` for SQS
queues, ``streams.py`` for DynamoDB streams) whose "function" is the pipe: :class:`PipeInvoker`
is the ``FunctionInvoker`` those pollers call, and it takes the batch through the pipe
(:class:`~.flow.PipeFlow`). What follows from it is Pipes' behaviour too:

* SQS: messages matching none of the filters are deleted without reaching the pipe; a batch
  that succeeded is deleted; the records a target names in ``batchItemFailures`` (or whose
  message or event it refused) stay in the queue, and so does a whole batch that failed: they
  come back after their visibility timeout, and the queue's redrive policy ends their retries.
* DynamoDB streams: records are read in order from the pipe's checkpoint (kept across restarts);
  a failed batch is retried (``MaximumRetryAttempts``, ``MaximumRecordAgeInSeconds``, split in two
  with ``OnPartialBatchItemFailure: AUTOMATIC_BISECT``), then skipped and reported to the
  ``DeadLetterConfig`` queue or topic; a partial failure moves the checkpoint to the first failed
  record (which ``batchItemFailures`` name by ``eventID``).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Mapping
from typing import Any, Final

from ...ports import Clock, Invocation, InvocationResult, Queue, Topic
from ..messaging.streams import Checkpoints, StreamMapping, StreamMappings, StreamSource
from ..messaging.triggers import EventSourceMapping, EventSourceMappings, QueuePoller
from .flow import AwsCall, PipeBatchError, PipeFlow, PipeSpec, resource_kind

logger = logging.getLogger(__name__)

__all__ = ["PipeInvoker", "PipeRuns", "pipe_stream_uuid", "queue_mapping", "stream_mapping"]

SQS_DEFAULT_BATCH: Final = 10
STREAM_DEFAULT_BATCH: Final = 100
_PIPE_ERROR: Final = "PipeExecutionFailed"


def pipe_stream_uuid(pipe_arn: str) -> str:
    """The id of a stream pipe's checkpoint: the same for the same pipe, across restarts."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"pipes|{pipe_arn}"))


def queue_mapping(spec: PipeSpec) -> EventSourceMapping:
    """The SQS poller's settings for ``spec`` (ValueError for settings it refuses)."""
    params = spec.source_parameters.get("SqsQueueParameters") or {}
    return EventSourceMapping(
        spec.source,
        spec.name,
        batch_size=int(params.get("BatchSize") or SQS_DEFAULT_BATCH),
        max_batching_window_s=float(params.get("MaximumBatchingWindowInSeconds") or 0),
        # A pipe's target reports failed messages by batchItemFailures whenever it answers.
        report_batch_item_failures=True,
        filter_criteria=spec.source_parameters.get("FilterCriteria") or None,
    )


def stream_mapping(spec: PipeSpec) -> StreamMapping:
    """The stream poller's settings for ``spec`` (ValueError for settings it refuses)."""
    params = spec.source_parameters.get("DynamoDBStreamParameters") or {}
    dead_letter = (params.get("DeadLetterConfig") or {}).get("Arn")
    return StreamMapping(
        spec.source,
        spec.name,
        starting_position=str(params.get("StartingPosition") or "LATEST"),
        batch_size=int(params.get("BatchSize") or STREAM_DEFAULT_BATCH),
        max_batching_window_s=float(params.get("MaximumBatchingWindowInSeconds") or 0),
        max_retry_attempts=int(params.get("MaximumRetryAttempts", -1)),
        max_record_age_s=int(params.get("MaximumRecordAgeInSeconds", -1)),
        bisect_batch_on_function_error=params.get("OnPartialBatchItemFailure") == "AUTOMATIC_BISECT",
        report_batch_item_failures=True,
        on_failure=dead_letter or None,
        filter_criteria=spec.source_parameters.get("FilterCriteria") or None,
        parallelization_factor=int(params.get("ParallelizationFactor") or 1),
        uuid=pipe_stream_uuid(spec.arn),
    )


class PipeInvoker:
    """The ``FunctionInvoker`` the pipes' pollers call: "function" names a pipe, the batch goes through it."""

    def __init__(self) -> None:
        self._flows: dict[str, PipeFlow] = {}
        self._lock = threading.Lock()

    def put(self, flow: PipeFlow) -> None:
        with self._lock:
            self._flows[flow.spec.name] = flow

    def drop(self, name: str) -> None:
        with self._lock:
            self._flows.pop(name, None)

    def knows(self, function_name: str) -> bool:
        with self._lock:
            return function_name in self._flows

    def invoke(self, invocation: Invocation) -> InvocationResult:
        with self._lock:
            flow = self._flows.get(invocation.function_name)
        if flow is None:
            return InvocationResult(invocation.request_id, error_type=_PIPE_ERROR, error_message=f"no pipe {invocation.function_name}")
        payload = invocation.payload
        records = payload.get("Records") if isinstance(payload, dict) else None
        if not isinstance(records, list):
            return InvocationResult(invocation.request_id, error_type=_PIPE_ERROR, error_message="no records")
        ids = [_record_id(r) for r in records]
        try:
            failed = flow.run(records, ids)
        except PipeBatchError as exc:
            logger.warning("pipe batch failed", extra={"pipe": flow.spec.name, "error": str(exc), "records": len(records)})
            return InvocationResult(invocation.request_id, error_type=_PIPE_ERROR, error_message=str(exc))
        except Exception as exc:  # a bug must not stop the poller: the batch is retried
            logger.exception("pipe batch crashed", extra={"pipe": flow.spec.name})
            return InvocationResult(invocation.request_id, error_type=_PIPE_ERROR, error_message=f"{type(exc).__name__}: {exc}")
        if not failed:
            return InvocationResult(invocation.request_id, payload=None)
        # The pollers read failures by their own keys: an SQS message's messageId, a stream record's
        # SequenceNumber (Pipes' targets name stream records by eventID).
        keys = {_record_id(r): _poller_key(r) for r in records}
        return InvocationResult(invocation.request_id, payload={"batchItemFailures": [{"itemIdentifier": keys[i]} for i in sorted(failed)]})


def _record_id(record: Mapping[str, Any]) -> str:
    return str(record.get("messageId") or record.get("eventID") or "")


def _poller_key(record: Mapping[str, Any]) -> str:
    if "messageId" in record:
        return str(record["messageId"])
    return str(record["dynamodb"]["SequenceNumber"])


class PipeRuns:
    """Starts and stops the pipes' pollers.

    Args:
        queues: the queue port (SQS sources, dead-letter queues).
        topics: the topic port (dead-letter topics).
        source: the DynamoDB streams.
        checkpoints: the stream pipes' positions.
        call: AWS calls served in-process (the enrichments' and targets').
        clock: the time.
        region: for ARNs.
        account_id: for ARNs.
        poll_wait_s: how long one SQS receive long-polls (and stream pollers look for other processes' writes).
        backoff_s: (first, largest) wait after a failed batch.
    """

    def __init__(
        self,
        *,
        queues: Queue,
        topics: Topic,
        source: StreamSource,
        checkpoints: Checkpoints,
        call: AwsCall,
        clock: Clock,
        region: str,
        account_id: str,
        poll_wait_s: float = 1.0,
        backoff_s: tuple[float, float] = (0.5, 10.0),
    ) -> None:
        self.call = call
        self.clock = clock
        self.invoker = PipeInvoker()
        self._queues = EventSourceMappings(
            queues, self.invoker, clock=clock, region=region, account_id=account_id, poll_wait_s=poll_wait_s, backoff_s=backoff_s
        )
        self._streams = StreamMappings(
            source,
            checkpoints,
            self.invoker,
            queues=queues,
            topics=topics,
            clock=clock,
            region=region,
            account_id=account_id,
            poll_s=poll_wait_s,
            backoff_s=backoff_s,
        )
        self._running: dict[str, QueuePoller | str] = {}
        self._lock = threading.RLock()
        self._queues.start()
        self._streams.start()

    def running(self, name: str) -> bool:
        with self._lock:
            return name in self._running

    def start(self, spec: PipeSpec) -> None:
        """Run ``spec`` (stopped first if it ran with other settings).

        Raises:
            ValueError: the source is gone, or of a kind not emulated locally.
        """
        with self._lock:
            self.stop(spec.name)
            kind = resource_kind(spec.source)
            if kind not in ("sqs", "dynamodb"):
                raise ValueError(f"the source {spec.source} is not emulated locally (SQS queues and DynamoDB streams are)")
            self.invoker.put(PipeFlow(spec, self.call, now=self.clock.now))
            try:
                if kind == "sqs":
                    self._running[spec.name] = self._queues.add(queue_mapping(spec))
                else:
                    self._running[spec.name] = self._streams.add(stream_mapping(spec))
            except BaseException:
                self.invoker.drop(spec.name)
                raise
        logger.info("pipe started", extra={"pipe": spec.name, "source": spec.source, "target": spec.target})

    def stop(self, name: str, *, forget: bool = False) -> None:
        """Stop the pipe's poller without waiting for its batch in flight (which ends in the background).

        A stream pipe keeps its checkpoint unless ``forget`` (a deleted pipe).
        """
        with self._lock:
            running = self._running.pop(name, None)
            if isinstance(running, QueuePoller):
                self._queues.remove(running, wait=False)
                running.close(wait_batches=False)
            elif isinstance(running, str):
                self._streams.remove(running, keep_checkpoint=not forget)
            # The flow stays while a batch in flight ends; a pipe started again replaces it.

    def forget_checkpoint(self, pipe_arn: str) -> None:
        """Drop a deleted stream pipe's checkpoint (one that never ran in this process)."""
        self._streams.remove(pipe_stream_uuid(pipe_arn))

    def close(self) -> None:
        with self._lock:
            self._running.clear()
        self._queues.close()
        self._streams.close()
