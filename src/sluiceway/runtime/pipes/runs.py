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
from collections.abc import Callable, Mapping
from typing import Any, Final

from ...ports import Clock, Invocation, InvocationResult, Queue, Topic
from ..messaging.streams import Checkpoints, StreamMapping, StreamMappings, StreamSource
from ..messaging.triggers import EventSourceMapping, EventSourceMappings, QueuePoller
from .dead_letter import pipe_failure_record
from .flow import AwsCall, PipeBatchError, PipeFlow, PipeSpec, resource_kind

logger = logging.getLogger(__name__)

__all__ = ["PipeInvoker", "PipeRuns", "pipe_function", "pipe_stream_uuid", "queue_mapping", "stream_mapping"]

SQS_DEFAULT_BATCH: Final = 10
STREAM_DEFAULT_BATCH: Final = 100
_PIPE_ERROR: Final = "PipeExecutionFailed"
#: How long closing waits for batches in flight: a target's longest call (a Lambda function's 900 s).
_DRAIN_S: Final = 930.0


def pipe_stream_uuid(pipe_arn: str) -> str:
    """The id of a stream pipe's checkpoint: the same for the same pipe, across restarts."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"pipes|{pipe_arn}"))


def pipe_function(pipe_arn: str) -> str:
    """The "function" a pipe's poller invokes: the pipe's ARN, which names one pipe of one region.

    The pollers read a function reference as an ARN or ``name:qualifier`` (what precedes the first
    colon is the name they keep apart, in thread names and duplicate checks), so the ARN's colons
    are written as slashes: two pipes of one name in two regions stay two mappings.
    """
    return pipe_arn.replace(":", "/")


def queue_mapping(spec: PipeSpec) -> EventSourceMapping:
    """The SQS poller's settings for ``spec`` (ValueError for settings it refuses)."""
    params = spec.source_parameters.get("SqsQueueParameters") or {}
    return EventSourceMapping(
        spec.source,
        pipe_function(spec.arn),
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
        pipe_function(spec.arn),
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
        failure_record=pipe_failure_record(spec.arn),
    )


class PipeInvoker:
    """The ``FunctionInvoker`` the pipes' pollers call: "function" names a pipe, the batch goes through it."""

    def __init__(self) -> None:
        self._flows: dict[str, PipeFlow] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._active = 0

    def put(self, flow: PipeFlow) -> None:
        with self._lock:
            self._flows[pipe_function(flow.spec.arn)] = flow

    def drop(self, pipe_arn: str) -> None:
        with self._lock:
            self._flows.pop(pipe_function(pipe_arn), None)

    def knows(self, function_name: str) -> bool:
        with self._lock:
            return function_name in self._flows

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until no batch runs through a pipe (False: still some after ``timeout_s``)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._active == 0, timeout=timeout_s)

    def invoke(self, invocation: Invocation) -> InvocationResult:
        with self._lock:
            self._active += 1
        try:
            return self._invoke(invocation)
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def _invoke(self, invocation: Invocation) -> InvocationResult:
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
    """Starts and stops the pipes' pollers, each pipe known by its ARN (pipes are regional).

    Args:
        queues: the queue port (SQS sources, dead-letter queues).
        topics: the topic port (dead-letter topics).
        source: the DynamoDB streams.
        checkpoints: the stream pipes' positions.
        call: AWS calls served in-process (the enrichments' and targets').
        clock: the time.
        region: for ARNs.
        account_id: for ARNs.
        queue_exists: whether a queue of that name exists (an SQS pipe whose source is gone does
            not start, as a stream pipe whose stream is gone does not); None: not checked.
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
        queue_exists: Callable[[str], bool] | None = None,
        poll_wait_s: float = 1.0,
        backoff_s: tuple[float, float] = (0.5, 10.0),
    ) -> None:
        self.call = call
        self.clock = clock
        self.invoker = PipeInvoker()
        self._queue_exists = queue_exists
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
        """By pipe ARN: an SQS pipe's poller, or a stream pipe's mapping UUID."""
        self._lock = threading.RLock()
        self._queues.start()
        self._streams.start()

    def running(self, pipe_arn: str) -> bool:
        with self._lock:
            return pipe_arn in self._running

    def start(self, spec: PipeSpec) -> None:
        """Run ``spec`` (stopped first if it ran with other settings).

        Raises:
            ValueError: the source is gone, or of a kind not emulated locally.
        """
        kind = resource_kind(spec.source)
        if kind not in ("sqs", "dynamodb"):
            self.stop(spec.arn)
            raise ValueError(f"the source {spec.source} is not emulated locally (SQS queues and DynamoDB streams are)")
        if kind == "sqs" and self._queue_exists is not None and not self._queue_exists(spec.source.rsplit(":", 1)[-1]):
            self.stop(spec.arn)
            raise ValueError(f"The source queue {spec.source} does not exist.")
        with self._lock:
            self.stop(spec.arn)
            self.invoker.put(PipeFlow(spec, self.call, now=self.clock.now))
            try:
                if kind == "sqs":
                    self._running[spec.arn] = self._queues.add(queue_mapping(spec))
                else:
                    self._running[spec.arn] = self._streams.add(stream_mapping(spec))
            except BaseException:
                self.invoker.drop(spec.arn)
                raise
        logger.info("pipe started", extra={"pipe": spec.arn, "source": spec.source, "target": spec.target})

    def stop(self, pipe_arn: str, *, forget: bool = False) -> None:
        """Stop the pipe's poller without waiting for its batch in flight (which ends in the background).

        A deleted pipe (``forget``) loses its flow and a stream pipe its checkpoint; otherwise a
        stream pipe keeps its checkpoint.
        """
        with self._lock:
            running = self._running.pop(pipe_arn, None)
            if isinstance(running, QueuePoller):
                self._queues.remove(running, wait=False)
            elif isinstance(running, str):
                self._streams.remove(running, keep_checkpoint=not forget)
        if isinstance(running, QueuePoller):
            # Outside the lock (the other pipes start and stop meanwhile): the receive in progress
            # ends, so no message is taken under the old settings once this returns; its batches
            # end in the background (close waits for them through the invoker).
            running.close(wait_batches=False)
        if forget:
            self.invoker.drop(pipe_arn)
        # Otherwise the flow stays while a batch in flight ends; a pipe started again replaces it.

    def forget_checkpoint(self, pipe_arn: str) -> None:
        """Drop a deleted stream pipe's checkpoint (one that never ran in this process)."""
        self._streams.remove(pipe_stream_uuid(pipe_arn))

    def close(self) -> None:
        """Stop every pipe; the batches in flight (of pipes stopped a moment ago too) end first."""
        with self._lock:
            self._running.clear()
        self._queues.close()
        self._streams.close()
        # The batches of SQS pipes stopped a moment ago are no poller's any more: wait for them here.
        if not self.invoker.wait_idle(_DRAIN_S):
            logger.warning("pipe batches still running at shutdown")
