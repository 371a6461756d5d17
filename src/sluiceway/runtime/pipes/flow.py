"""One pipe's batch, from the source's records to its target: enrichment, input templates, delivery.

The source's poller (an SQS queue's or a DynamoDB stream's, ``runtime/messaging``) hands over the
records that passed the pipe's filters, in the shape Pipes passes them on: an SQS message is
``{messageId, receiptHandle, body, attributes, messageAttributes, md5OfBody, eventSource,
eventSourceARN, awsRegion}``, a stream record Lambda's DynamoDB record. Then, as Pipes'
user guide describes ("batching and concurrency", "enrichment", "targets"):

* The enrichment (a Lambda function, invoked synchronously, or an EXPRESS state machine, run
  with ``StartSyncExecution``) gets the whole batch as one JSON array, each record through the
  enrichment's ``InputTemplate``. What it returns is the target's input: an array is the events
  (it may hold fewer or more than the batch), any other value one event, and an empty answer
  (null, ``{}``, ``[]``, nothing) ends the batch there, successfully: the target is not called.
  An enrichment that fails fails the whole batch (Pipes has no partial failure for enrichments).
* Each event goes through the target's ``InputTemplate`` on its own.
* Lambda functions and state machines get the events as one JSON array (even a batch of one);
  queues, topics, event buses and log groups get one message, event or log line each.
* A Lambda or synchronous Step Functions target may answer ``{"batchItemFailures":
  [{"itemIdentifier": id}]}`` naming the source's records that failed (``messageId`` for SQS,
  ``eventID`` for streams); they are retried, the others settled. For the other targets the
  records whose message or event was refused fail (all of them once an enrichment reshaped the
  batch, when no record can be told from another).

A failure is a :class:`PipeBatchError` (the whole batch) or the set of failed record ids; the
poller settles the batch as Pipes does for its source (see ``runtime/pipes/runs.py``).
Every call goes through ``call`` (the endpoint's own operations, in-process), so a message sent
or an event put here fires what the same write through the API fires.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from ...types import JSON
from .input_template import PipeVariables, TemplateError, dynamic_parameter, render_all

logger = logging.getLogger(__name__)

__all__ = ["TARGET_BATCH_LIMITS", "AwsCall", "PipeBatchError", "PipeFlow", "PipeSpec", "resource_kind"]

AwsCall = Callable[[str, str, dict[str, Any]], dict[str, Any]]
"""``call(service, operation, params) -> output``: an AWS API call served in-process; an error it
raises carries AWS's error code as ``code``."""

_EVENTS_BATCH: Final = 10
#: The batchable targets' largest batch (Pipes' "batching and concurrency" guide), by the target
#: ARN's service: CreatePipe refuses a larger BatchSize, and a batch an enrichment made larger
#: fails ("the pipe won't invoke the target"). Lambda functions and state machines take any
#: batch (bounded by their payload size).
TARGET_BATCH_LIMITS: Final = {"sqs": 10, "sns": 10, "events": 10, "logs": 10_000}


class PipeBatchError(Exception):
    """The whole batch failed (an enrichment or target error): every record is retried."""


@dataclass(frozen=True)
class PipeSpec:
    """What a running pipe does (a pipe as CreatePipe/UpdatePipe describe it)."""

    name: str
    arn: str
    source: str
    target: str
    source_parameters: Mapping[str, Any] = field(default_factory=dict)
    enrichment: str | None = None
    enrichment_parameters: Mapping[str, Any] = field(default_factory=dict)
    target_parameters: Mapping[str, Any] = field(default_factory=dict)

    @property
    def variables(self) -> PipeVariables:
        return PipeVariables(self.arn, self.name, self.source, self.target, self.enrichment or "")


def resource_kind(arn: str) -> str:
    """``lambda``, ``states``, ``sqs``, ``sns``, ``events``, ``logs``, ``dynamodb``... as the ARN names its service."""
    parts = arn.split(":")
    return parts[2] if len(parts) > 5 and parts[0] == "arn" else ""


def _empty(value: JSON) -> bool:
    return value is None or value == "" or value == {} or value == []


def _text(value: JSON) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _payload(blob: Any) -> JSON:
    raw = blob.decode() if isinstance(blob, bytes | bytearray) else str(blob or "")
    if not raw.strip():
        return None
    try:
        parsed: JSON = json.loads(raw)
    except ValueError:
        return raw
    return parsed


class PipeFlow:
    """Runs batches of one pipe (thread-safe: it keeps no state between batches).

    Args:
        spec: the pipe.
        call: AWS calls, served in-process.
        now: the time (templates' ingestion time, log events' timestamps).
    """

    def __init__(self, spec: PipeSpec, call: AwsCall, *, now: Callable[[], datetime]) -> None:
        self.spec = spec
        self.call = call
        self.now = now

    # -- the batch ----------------------------------------------------------

    def run(self, records: Sequence[dict[str, Any]], ids: Sequence[str]) -> set[str]:
        """Take one batch through the pipe; the ids of the records that failed (empty: all done).

        Raises:
            PipeBatchError: the whole batch failed.
        """
        if not records:
            return set()
        ingestion = self.now().astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        events: list[JSON] = list(records)
        if self.spec.enrichment:
            template = self.spec.enrichment_parameters.get("InputTemplate")
            # An enrichment is a Lambda function or state machine: it takes JSON only.
            enriched = self._enrich(self._render(template, events, ingestion, json_only=True))
            if _empty(enriched):
                return set()
            events = list(enriched) if isinstance(enriched, list) else [enriched]
            largest = TARGET_BATCH_LIMITS.get(resource_kind(self.spec.target))
            if largest is not None and len(events) > largest:
                raise PipeBatchError(
                    f"the enrichment returned {len(events)} events, more than the target {self.spec.target} takes in a batch ({largest})"
                )
        template = self.spec.target_parameters.get("InputTemplate")
        inputs = self._render(template, events, ingestion)
        failed = self._deliver(inputs, events, records)
        if not failed:
            return set()
        named = failed & set(ids) if isinstance(failed, set) else set()
        if not named:
            # Every record failed, or the failures name no record of the batch (Pipes, like Lambda,
            # then fails the whole batch rather than guess).
            raise PipeBatchError(f"the target {self.spec.target} refused the batch")
        return named

    def _render(self, template: str | None, events: list[JSON], ingestion: str, *, json_only: bool = False) -> list[JSON]:
        """The events through ``template``; one that is not JSON fails the batch where JSON is required
        (Lambda functions and state machines: "this will cause delivery failure")."""
        kind = resource_kind(self.spec.target)
        try:
            return render_all(
                template, events, self.spec.variables, ingestion_time=ingestion, json_only=json_only or kind in ("lambda", "states")
            )
        except TemplateError as exc:
            raise PipeBatchError(str(exc)) from None

    # -- enrichment ---------------------------------------------------------

    def _enrich(self, inputs: list[JSON]) -> JSON:
        arn = self.spec.enrichment or ""
        kind = resource_kind(arn)
        if kind == "lambda":
            out = self._call(
                "lambda", "Invoke", {"FunctionName": arn, "InvocationType": "RequestResponse", "Payload": json.dumps(inputs).encode()}
            )
            if out.get("FunctionError"):
                raise PipeBatchError(f"the enrichment {arn} failed: {_payload(out.get('Payload'))}")
            return _payload(out.get("Payload"))
        if kind == "states":
            out = self._call("stepfunctions", "StartSyncExecution", {"stateMachineArn": arn, "input": json.dumps(inputs)})
            if out.get("status") != "SUCCEEDED":
                raise PipeBatchError(f"the enrichment {arn} ended {out.get('status')}: {out.get('error')}")
            return _payload(out.get("output"))
        # API destinations and API Gateway enrichments call HTTP endpoints: not emulated locally.
        raise PipeBatchError(f"the enrichment {arn} is not emulated locally (Lambda functions and EXPRESS state machines are)")

    # -- targets ------------------------------------------------------------

    def _deliver(self, inputs: list[JSON], events: list[JSON], records: Sequence[dict[str, Any]]) -> Any:
        """The failed record ids, ``_ALL`` or an empty set.

        ``inputs[i]`` is ``events[i]`` through the target's template; the target parameters' JSON
        paths read ``events[i]`` (dynamic path parameters "cannot reference new values or
        transformed values generated by input transformation").
        """
        target = self.spec.target
        kind = resource_kind(target)
        params = self.spec.target_parameters
        if kind == "lambda":
            invocation = (params.get("LambdaFunctionParameters") or {}).get("InvocationType") or "REQUEST_RESPONSE"
            if invocation == "FIRE_AND_FORGET":
                self._call("lambda", "Invoke", {"FunctionName": target, "InvocationType": "Event", "Payload": json.dumps(inputs).encode()})
                return set()
            out = self._call(
                "lambda", "Invoke", {"FunctionName": target, "InvocationType": "RequestResponse", "Payload": json.dumps(inputs).encode()}
            )
            if out.get("FunctionError"):
                raise PipeBatchError(f"the target {target} failed: {_payload(out.get('Payload'))}")
            return _reported(_payload(out.get("Payload")))
        if kind == "states":
            invocation = (params.get("StepFunctionStateMachineParameters") or {}).get("InvocationType") or "REQUEST_RESPONSE"
            if invocation == "FIRE_AND_FORGET":
                self._call(
                    "stepfunctions", "StartExecution", {"stateMachineArn": target, "input": json.dumps(inputs), "name": str(uuid.uuid4())}
                )
                return set()
            out = self._call("stepfunctions", "StartSyncExecution", {"stateMachineArn": target, "input": json.dumps(inputs)})
            if out.get("status") != "SUCCEEDED":
                raise PipeBatchError(f"the target {target} ended {out.get('status')}: {out.get('error')}")
            return _reported(_payload(out.get("output")))
        if kind == "sqs":
            return self._each(inputs, events, records, self._send_message)
        if kind == "sns":
            return self._each(
                inputs, events, records, lambda message, _: self._call("sns", "Publish", {"TopicArn": target, "Message": _text(message)})
            )
        if kind == "events":
            return self._put_events(inputs, events, records)
        if kind == "logs":
            return self._each(inputs, events, records, self._put_log_event)
        raise PipeBatchError(f"the target {target} is not emulated locally")

    def _each(self, inputs: list[JSON], events: list[JSON], records: Sequence[dict[str, Any]], send: Callable[[JSON, JSON], object]) -> Any:
        failed: set[str] = set()
        for index, (message, event) in enumerate(zip(inputs, events, strict=True)):
            try:
                send(message, event)
            except Exception as exc:
                logger.warning("pipe target refused an event", extra={"pipe": self.spec.name, "error": str(exc)})
                if len(inputs) != len(records):
                    return _ALL
                failed.add(_record_id(records[index]))
        return failed

    def _send_message(self, message: JSON, event: JSON) -> None:
        params = self.spec.target_parameters.get("SqsQueueParameters") or {}
        _, _, _, region, account, name = self.spec.target.split(":", 5)
        request: dict[str, Any] = {"QueueUrl": f"https://sqs.{region}.amazonaws.com/{account}/{name}", "MessageBody": _text(message)}
        for member in ("MessageGroupId", "MessageDeduplicationId"):
            value = dynamic_parameter(params.get(member), event)
            if value:
                request[member] = value
        self._call("sqs", "SendMessage", request)

    def _put_log_event(self, message: JSON, event: JSON) -> None:
        """One log event in the log group, in its stream, made when missing.

        The stream is ``LogStreamName`` (a dynamic path parameter may name one per event) or, when
        the pipe names none, the pipe's name: what AWS names that stream is not documented (this
        is our choice, not confirmed against AWS). Pipes makes the stream itself (the pipe's role
        needs ``logs:CreateLogStream`` as well as ``logs:PutLogEvents`` on the group), but not the
        log group: a group that does not exist fails the event.
        """
        params = self.spec.target_parameters.get("CloudWatchLogsParameters") or {}
        group = self.spec.target.split(":log-group:", 1)[-1].removesuffix(":*")
        stream = dynamic_parameter(params.get("LogStreamName"), event) or self.spec.name
        moment = _epoch_ms(dynamic_parameter(params.get("Timestamp"), event))
        request = {
            "logGroupName": group,
            "logStreamName": stream,
            "logEvents": [{"timestamp": moment or int(self.now().timestamp() * 1000), "message": _text(message)}],
        }
        try:
            self.call("logs", "PutLogEvents", request)
            return
        except Exception as exc:
            # No such stream (or group: CreateLogStream below tells which, in AWS's words).
            if _code(exc) != "ResourceNotFoundException":
                raise PipeBatchError(f"logs:PutLogEvents failed: {exc}") from exc
        try:
            self.call("logs", "CreateLogStream", {"logGroupName": group, "logStreamName": stream})
        except Exception as exc:
            # Another batch (or worker) made it in between: write to it all the same.
            if _code(exc) != "ResourceAlreadyExistsException":
                raise PipeBatchError(f"logs:CreateLogStream failed: {exc}") from exc
        self._call("logs", "PutLogEvents", request)

    def _put_events(self, inputs: list[JSON], events: list[JSON], records: Sequence[dict[str, Any]]) -> Any:
        params = self.spec.target_parameters.get("EventBridgeEventBusParameters") or {}
        failed: set[str] = set()
        for start in range(0, len(inputs), _EVENTS_BATCH):
            chunk = inputs[start : start + _EVENTS_BATCH]
            entries = []
            for offset, message in enumerate(chunk):
                event = events[start + offset]
                record = records[start + offset] if len(inputs) == len(records) else records[0]
                entry: dict[str, Any] = {
                    "EventBusName": self.spec.target,
                    # Without them, an event a pipe puts says where it came from (as on AWS).
                    "Source": dynamic_parameter(params.get("Source"), event) or f"Pipe {self.spec.name}",
                    "DetailType": dynamic_parameter(params.get("DetailType"), event)
                    or f"Event from {record.get('eventSource', 'aws:pipes')}",
                    "Detail": json.dumps(message),
                }
                resources = [r for r in (dynamic_parameter(r, event) for r in params.get("Resources") or []) if r]
                if resources:
                    entry["Resources"] = resources
                moment = dynamic_parameter(params.get("Time"), event)
                if moment:
                    entry["Time"] = moment
                entries.append(entry)
            try:
                out = self._call("events", "PutEvents", {"Entries": entries})
            except Exception as exc:
                logger.warning("pipe target refused the events", extra={"pipe": self.spec.name, "error": str(exc)})
                if len(inputs) != len(records):
                    return _ALL
                failed.update(_record_id(r) for r in records[start : start + len(chunk)])
                continue
            for offset, result in enumerate(out.get("Entries") or []):
                if result.get("ErrorCode"):
                    if len(inputs) != len(records):
                        return _ALL
                    failed.add(_record_id(records[start + offset]))
        return failed

    def _call(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.call(service, operation, params)
        except PipeBatchError:
            raise
        except Exception as exc:
            raise PipeBatchError(f"{service}:{operation} failed: {exc}") from exc


class _All:
    """Every record of the batch failed."""


_ALL: Final = _All()


def _code(exc: Exception) -> str | None:
    """The AWS error code an in-process call raised (its ``code``), if any."""
    code = getattr(exc, "code", None)
    return code if isinstance(code, str) else None


def _record_id(record: Mapping[str, Any]) -> str:
    return str(record.get("messageId") or record.get("eventID") or "")


def _reported(response: JSON) -> Any:
    """The record ids a Lambda or Step Functions target names as failed (``batchItemFailures``)."""
    if not isinstance(response, dict):
        return set()
    failures = response.get("batchItemFailures")
    if not failures:
        return set()
    if not isinstance(failures, list):
        return _ALL
    out: set[str] = set()
    for entry in failures:
        identifier = entry.get("itemIdentifier") if isinstance(entry, dict) else None
        if not isinstance(identifier, str) or not identifier:
            return _ALL  # a response Pipes cannot read fails the batch, as Lambda's does
        out.add(identifier)
    return out


def _epoch_ms(value: str | None) -> int | None:
    """A log event's ``Timestamp`` parameter (milliseconds since the epoch); None when it reads as none."""
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None
