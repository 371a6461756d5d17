"""Carry out a Task state's resource on the ports: functions and service integrations.

``TaskRunner.run(command)`` never raises: whatever happens becomes a
:class:`~sluiceway.asl.interpreter.TaskSucceeded` or ``TaskFailed`` event with
the error names Step Functions uses, so Retry and Catch see what they would see
on AWS.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ..asl.commands import InvokeTask, ReadItems, TaskFailed, TaskSucceeded, WriteResults
from ..asl.items import parse_items, result_files
from ..errors import ExecutionAlreadyExistsError, NotFoundError, OrchestratorStoppedError, SluicewayError, StatesError
from ..ports import EventPublisher, ExecutionRecord, FunctionInvoker, Invocation, ObjectStore, Queue, TaskJournal, Topic
from ..types import JSON

logger = logging.getLogger(__name__)

__all__ = ["TaskRunner", "lambda_function_name"]

_SERVICE_PREFIX = "arn:aws:states:::"
# Services whose effects are rows in the journal's own database locally (topics, queues, the
# event bus, tables): their tasks have their effect exactly once, in the journal's transaction.
# Objects are files and child executions dispatch work, so theirs are recorded after the fact.
_IN_DATABASE = ("sns:", "sqs:", "events:", "dynamodb:")
Handler = Callable[[InvokeTask, Mapping[str, Any]], JSON]


def lambda_function_name(resource: str) -> str:
    """The function name in a Lambda ARN, a partial ARN or a bare name (qualifier dropped)."""
    if resource.startswith("arn:"):
        parts = resource.split(":")
        # arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]
        if len(parts) >= 7 and parts[5] == "function":
            return parts[6]
        return parts[-1]
    if resource.startswith("function:"):
        return resource.split(":")[1]
    return resource.split(":")[0]


class TaskRunner:
    """Runs Task resources against local (or AWS) ports.

    Args:
        invoker: runs Lambda-style functions.
        topic: publishes ``sns:publish`` messages.
        extra: more ``service:action`` handlers (e.g. ``sqs:sendMessage``) keyed
            by the part after ``arn:aws:states:::``; each takes the command and
            its parameters and returns the service's response.
    """

    def __init__(
        self,
        invoker: FunctionInvoker,
        topic: Topic,
        *,
        objects: ObjectStore | None = None,
        events: EventPublisher | None = None,
        queues: Queue | None = None,
        executions: ChildExecutions | None = None,
        default_timeout_s: float = 900.0,
        extra: Mapping[str, Handler] | None = None,
        journal: TaskJournal | None = None,
    ) -> None:
        self.invoker = invoker
        self.topic = topic
        self.objects = objects
        self.events = events
        self.queues = queues
        self.executions = executions
        self.journal = journal
        self.default_timeout_s = default_timeout_s
        self.handlers: dict[str, Handler] = {
            "lambda:invoke": self._lambda_invoke,
            "sns:publish": self._sns_publish,
            "events:putEvents": self._put_events,
            "aws-sdk:s3:getObject": self._s3_get_object,
            "aws-sdk:s3:putObject": self._s3_put_object,
            "s3:getObject": self._s3_get_object,
            "s3:putObject": self._s3_put_object,
            "states:startExecution": self._start_execution,
            "sqs:sendMessage": self._sqs_send_message,
        }
        self.handlers.update(extra or {})

    def run(self, command: InvokeTask | ReadItems | WriteResults) -> TaskSucceeded | TaskFailed:
        resource = command.resource
        try:
            if isinstance(command, ReadItems):
                return TaskSucceeded(command.token, self._read_items(command))
            if isinstance(command, WriteResults):
                return TaskSucceeded(command.token, self._write_results(command))
            if resource.startswith(_SERVICE_PREFIX):
                service = resource[len(_SERVICE_PREFIX) :]
                for suffix in (".waitForTaskToken", ".sync:2", ".sync"):
                    service = service.removesuffix(suffix)
                handler = self.handlers.get(service)
                if handler is None:
                    return TaskFailed(
                        command.token,
                        "States.Runtime",
                        f"The resource '{resource}' is not supported by this Sluiceway backend",
                    )
                params = command.payload if isinstance(command.payload, Mapping) else {}
                output = self._once(command, lambda: handler(command, params), atomic=service.startswith(_IN_DATABASE))
                return TaskSucceeded(command.token, output)
            name = lambda_function_name(resource)
            return TaskSucceeded(command.token, self._once(command, lambda: self._function(command, name), atomic=False))
        except TaskError as exc:
            return TaskFailed(command.token, exc.error, exc.cause)
        except OrchestratorStoppedError:
            raise  # no outcome at all: the task runs again at the next start
        except SluicewayError as exc:
            return TaskFailed(command.token, type(exc).__name__, str(exc))
        except Exception as exc:  # a bug in an integration must fail the task, not the runtime
            logger.exception("task integration crashed", extra={"resource": resource})
            return TaskFailed(command.token, "States.TaskFailed", f"{type(exc).__name__}: {exc}")

    def _once(self, command: InvokeTask, action: Callable[[], JSON], *, atomic: bool) -> JSON:
        """The task's effect, once per task even when it runs again after a crash (see TaskJournal)."""
        if self.journal is None or not command.idempotency_key:
            return action()
        return self.journal.once(command.idempotency_key, action, atomic=atomic)

    # -- Lambda -----------------------------------------------------------------

    def _function(self, command: InvokeTask, name: str) -> JSON:
        outcome = self._lambda(command, name, command.payload, wrap=False)
        if isinstance(outcome, TaskFailed):
            raise TaskError(outcome.error, outcome.cause)  # failures are not recorded: a retry runs it again
        return outcome.output

    def _lambda(self, command: InvokeTask, name: str, payload: JSON, *, wrap: bool) -> TaskSucceeded | TaskFailed:
        if not self.invoker.knows(name):
            return TaskFailed(
                command.token,
                "Lambda.ResourceNotFoundException",
                f"Function not found: {command.resource}",
            )
        timeout = min(command.timeout_s or self.default_timeout_s, self.default_timeout_s)
        request_id = str(uuid.uuid4())
        result = self.invoker.invoke(Invocation(name, payload, request_id, timeout_s=timeout))
        if not result.ok:
            cause = json.dumps(
                {
                    "errorMessage": result.error_message,
                    "errorType": result.error_type,
                    "requestId": request_id,
                    "stackTrace": list(result.stack_trace),
                }
            )
            return TaskFailed(command.token, str(result.error_type), cause)
        if not wrap:
            return TaskSucceeded(command.token, result.payload)
        return TaskSucceeded(
            command.token,
            {
                "ExecutedVersion": "$LATEST",
                "Payload": result.payload,
                "SdkHttpMetadata": {"HttpStatusCode": 200},
                "SdkResponseMetadata": {"RequestId": request_id},
                "StatusCode": 200,
            },
        )

    def _lambda_invoke(self, command: InvokeTask, params: Mapping[str, Any]) -> JSON:
        name = params.get("FunctionName")
        if not isinstance(name, str):
            raise TaskError("States.Runtime", "lambda:invoke needs a FunctionName parameter")
        outcome = self._lambda(command, lambda_function_name(name), params.get("Payload"), wrap=True)
        if isinstance(outcome, TaskFailed):
            raise TaskError(outcome.error, outcome.cause)
        return outcome.output

    # -- SNS --------------------------------------------------------------------

    def _sns_publish(self, command: InvokeTask, params: Mapping[str, Any]) -> JSON:
        topic = params.get("TopicArn") or params.get("TargetArn")
        if not isinstance(topic, str):
            raise TaskError(
                "SNS.InvalidParameterException", "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter"
            )
        message = params.get("Message")
        if message is None:
            raise TaskError("SNS.InvalidParameterException", "Invalid parameter: Message Reason: no value for required parameter")
        text = message if isinstance(message, str) else json.dumps(message, separators=(",", ":"))
        attributes: dict[str, str] = {}
        for key, value in (params.get("MessageAttributes") or {}).items():
            if isinstance(value, Mapping):
                attributes[key] = str(value.get("StringValue", value.get("BinaryValue", "")))
        subject = params.get("Subject")
        message_id = self.topic.publish(topic, text, subject=subject if isinstance(subject, str) else None, attributes=attributes)
        request_id = str(uuid.uuid4())
        return {
            "MessageId": message_id,
            "SdkHttpMetadata": {"HttpStatusCode": 200},
            "SdkResponseMetadata": {"RequestId": request_id},
        }

    # -- SQS ------------------------------------------------------------------

    def _sqs_send_message(self, command: InvokeTask, params: Mapping[str, Any]) -> JSON:
        if self.queues is None:
            raise TaskError("States.Runtime", "no queues are wired for sqs:sendMessage")
        url = params.get("QueueUrl")
        if not isinstance(url, str) or not url:
            raise TaskError("SQS.MissingParameterException", "The request must contain the parameter QueueUrl.")
        body = params.get("MessageBody")
        if body is None:
            raise TaskError("SQS.MissingParameterException", "The request must contain the parameter MessageBody.")
        text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
        attributes = {
            str(name): str(value.get("StringValue", ""))
            for name, value in (params.get("MessageAttributes") or {}).items()
            if isinstance(value, Mapping)
        }
        try:
            message_id = self.queues.send(
                url.rstrip("/").rsplit("/", 1)[-1],
                text,
                delay_s=int(params.get("DelaySeconds", 0)),
                attributes=attributes,
                group_id=params.get("MessageGroupId"),
                dedup_id=params.get("MessageDeduplicationId"),
            )
        except NotFoundError:
            raise TaskError("SQS.QueueDoesNotExistException", "The specified queue does not exist.") from None
        except ValueError as exc:
            raise TaskError("SQS.InvalidParameterValueException", str(exc)) from None
        return {
            "MD5OfMessageBody": hashlib.md5(text.encode(), usedforsecurity=False).hexdigest(),
            "MessageId": message_id,
            "SdkHttpMetadata": {"HttpStatusCode": 200},
            "SdkResponseMetadata": {"RequestId": str(uuid.uuid4())},
        }

    # -- EventBridge ----------------------------------------------------------

    def _put_events(self, command: InvokeTask, params: Mapping[str, Any]) -> JSON:
        if self.events is None:
            raise TaskError("States.Runtime", "no event bus is wired for events:putEvents")
        entries = params.get("Entries")
        if not isinstance(entries, list) or not entries:
            raise TaskError("EventBridge.ValidationException", "Entries must be a non-empty list")
        events = []
        for entry in entries:
            detail = entry.get("Detail", {})
            if isinstance(detail, str):
                try:
                    detail = json.loads(detail)
                except ValueError:
                    raise TaskError("EventBridge.ValidationException", "Detail is not valid JSON") from None
            events.append(
                {
                    "version": "0",
                    "id": str(uuid.uuid4()),
                    "detail-type": entry.get("DetailType", ""),
                    "source": entry.get("Source", ""),
                    "account": "",
                    "time": "",
                    "region": "",
                    "resources": list(entry.get("Resources", [])),
                    "detail": detail,
                }
            )
        ids = self.events.put_events(events)
        return {"Entries": [{"EventId": i} for i in ids], "FailedEntryCount": 0}

    # -- S3 -------------------------------------------------------------------

    def _s3_get_object(self, command: InvokeTask, params: Mapping[str, Any]) -> JSON:
        objects = self._objects()
        bucket, key = _bucket_key(params)
        try:
            info = objects.head(bucket, key)
            body = objects.get(bucket, key)
        except NotFoundError:
            raise TaskError("S3.NoSuchKeyException", "The specified key does not exist.") from None
        return {
            "Body": body.decode("utf-8", "replace"),
            "ContentLength": info.size,
            "ContentType": info.content_type,
            "ETag": f'"{info.etag}"',
            "LastModified": info.last_modified.isoformat(),
            "Metadata": dict(info.metadata),
        }

    def _s3_put_object(self, command: InvokeTask, params: Mapping[str, Any]) -> JSON:
        objects = self._objects()
        bucket, key = _bucket_key(params)
        body = params.get("Body", "")
        data = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
        info = objects.put(bucket, key, data.encode("utf-8"), content_type=str(params.get("ContentType", "application/octet-stream")))
        return {"ETag": f'"{info.etag}"'}

    def _objects(self) -> ObjectStore:
        if self.objects is None:
            raise TaskError("States.Runtime", "no object store is wired for S3 tasks")
        return self.objects

    # -- Step Functions ---------------------------------------------------------

    def _start_execution(self, command: InvokeTask, params: Mapping[str, Any]) -> JSON:
        if self.executions is None:
            raise TaskError("States.Runtime", "no orchestrator is wired for states:startExecution")
        arn = params.get("StateMachineArn")
        if not isinstance(arn, str):
            raise TaskError("StepFunctions.InvalidArnException", "StateMachineArn is required")
        payload = params.get("Input", {})
        if isinstance(payload, str):
            try:
                payload = json.loads(payload)
            except ValueError:
                raise TaskError("StepFunctions.InvalidExecutionInputException", "Input is not valid JSON") from None
        name = params.get("Name")
        if not isinstance(name, str):
            # AWS names it with a UUID; one derived from the task makes a run of the task after a
            # crash find the child it started instead of starting a second one.
            name = str(uuid.uuid5(uuid.NAMESPACE_URL, command.idempotency_key)) if command.idempotency_key else None
        try:
            record = self.executions.start_execution(arn.rsplit(":", 1)[-1], payload, name=name)
        except ExecutionAlreadyExistsError:
            if not command.idempotency_key or name is None:
                raise
            record = self.executions.describe(_execution_arn(arn, name))  # ended already: the same child
        started = record.started_at.isoformat()
        if not command.resource.endswith((".sync", ".sync:2")):
            return {"ExecutionArn": record.arn, "StartDate": started}
        done = self.executions.wait(record.arn, None)
        result: dict[str, Any] = {
            "ExecutionArn": done.arn,
            "Input": done.input if command.resource.endswith(":2") else json.dumps(done.input),
            "Name": done.name,
            "StartDate": started,
            "StateMachineArn": arn,
            "Status": done.status,
            "StopDate": done.stopped_at.isoformat() if done.stopped_at else None,
        }
        if done.status == "SUCCEEDED":
            result["Output"] = done.output if command.resource.endswith(":2") else json.dumps(done.output)
            return result
        result["Error"] = done.error
        result["Cause"] = done.cause
        raise TaskError("States.TaskFailed", json.dumps(result))

    # -- Distributed Map --------------------------------------------------------

    def _read_items(self, command: ReadItems) -> list[JSON]:
        objects = self._objects()
        params = command.parameters if isinstance(command.parameters, Mapping) else {}
        config = command.reader_config if isinstance(command.reader_config, Mapping) else {}
        action = command.resource.removeprefix(_SERVICE_PREFIX)
        if action in ("s3:listObjectsV2", "aws-sdk:s3:listObjectsV2"):
            bucket = params.get("Bucket")
            if not isinstance(bucket, str):
                raise TaskError("States.ItemReaderFailed", "Bucket is required")
            return [
                {
                    "Etag": f'"{o.etag}"',
                    "Key": o.key,
                    "LastModified": o.last_modified.isoformat(),
                    "Size": o.size,
                    "StorageClass": "STANDARD",
                }
                for o in objects.list(bucket, str(params.get("Prefix", "")))
            ]
        bucket, key = _bucket_key(params)
        try:
            data = objects.get(bucket, key)
        except NotFoundError:
            raise TaskError("States.ItemReaderFailed", f"The object s3://{bucket}/{key} does not exist") from None
        if str(config.get("InputType", "")).upper() == "MANIFEST":
            return self._manifest_items(bucket, data)
        try:
            return parse_items(data, config)
        except StatesError as exc:
            raise TaskError(exc.error, exc.cause) from None

    def _manifest_items(self, bucket: str, data: bytes) -> list[JSON]:
        """An S3 Inventory manifest: items are the Bucket/Key rows of its CSV data files."""
        objects = self._objects()
        try:
            manifest = json.loads(data)
            files = [f["key"] for f in manifest["files"]]
        except (ValueError, KeyError, TypeError):
            raise TaskError("States.ItemReaderFailed", "The manifest is not an S3 Inventory manifest.json") from None
        items: list[JSON] = []
        for key in files:
            content = objects.get(bucket, key)
            if key.endswith(".gz"):
                content = gzip.decompress(content)
            for row in csv.reader(io.StringIO(content.decode("utf-8"))):
                if len(row) >= 2:
                    items.append({"Bucket": row[0], "Key": row[1]})
        return items

    def _write_results(self, command: WriteResults) -> JSON:
        objects = self._objects()
        params = command.parameters if isinstance(command.parameters, Mapping) else {}
        bucket = params.get("Bucket")
        if not isinstance(bucket, str):
            raise TaskError("States.ResultWriterFailed", "ResultWriter needs a Bucket")
        run_id = command.map_run_arn.rsplit(":", 1)[-1]
        prefix = str(params.get("Prefix", "")).strip("/")
        folder = f"{prefix}/{run_id}" if prefix else run_id
        written: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
        config = command.writer_config if isinstance(command.writer_config, Mapping) else {}
        for name, content in result_files(command.records, config).items():
            data = content.encode("utf-8")
            objects.put(bucket, f"{folder}/{name}", data, content_type="application/json")
            written[name.split("_", 1)[0]].append({"Key": f"{folder}/{name}", "Size": len(data)})
        manifest = {"DestinationBucket": bucket, "MapRunArn": command.map_run_arn, "ResultFiles": written}
        objects.put(bucket, f"{folder}/manifest.json", json.dumps(manifest).encode(), content_type="application/json")
        return {"Bucket": bucket, "Key": f"{folder}/manifest.json"}


class ChildExecutions(Protocol):
    """What ``states:startExecution`` needs from the orchestrator."""

    def start_execution(self, state_machine: str, input: JSON, *, name: str | None = None) -> ExecutionRecord: ...

    def describe(self, arn: str) -> ExecutionRecord: ...

    def wait(self, arn: str, timeout: float | None = None) -> ExecutionRecord:
        """Until the execution ends. Raises OrchestratorStoppedError when the orchestrator stops first."""
        ...


def _execution_arn(state_machine_arn: str, name: str) -> str:
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"


def _bucket_key(params: Mapping[str, Any]) -> tuple[str, str]:
    bucket, key = params.get("Bucket"), params.get("Key")
    if not isinstance(bucket, str) or not isinstance(key, str):
        raise TaskError("S3.InvalidRequest", "Bucket and Key are required")
    return bucket, key


class TaskError(Exception):
    """A service integration's failure, with the error name Step Functions reports (e.g. ``SQS.QueueDoesNotExistException``)."""

    def __init__(self, error: str, cause: str | None) -> None:
        super().__init__(error)
        self.error = error
        self.cause = cause
