"""SQS on the endpoint: every operation over the stack's queue service (``ctx.stack.local.queues``).

Operations are written once for both protocols (the protocol layer reads JSON and query
requests into the same params). A message sent here is a row of the same queue the CLI,
functions and event source mappings use, so a send through the endpoint triggers the
stack's mappings exactly as a local send does.

Queues are named by the last path segment of a ``QueueUrl``, whatever its host and
account (SDKs build URLs from their own endpoint settings); query requests that post to
the queue's URL without a ``QueueUrl`` name the queue by the request path, as SQS
accepts. URLs in answers are ``{endpoint_url}/{account}/{name}``.

Limits are SQS's since August 2025: a message (body and attributes) up to 1 MiB,
which botocore's model documents as MaximumMessageSize's range (1,024 to 1,048,576) and
default. Queues made with a smaller ``MaximumMessageSize`` (256 KiB, as before) refuse
larger messages.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote, urlsplit

from ...errors import ConflictError, InvalidNameError, NotFoundError
from ...messaging import limits
from ...messaging.batch import ReceiptEntry, SendEntry, VisibilityEntry, check_batch
from ...messaging.errors import (
    DeadLetterTargetError,
    InvalidMessageError,
    MessageGoneError,
    PurgeInProgressError,
    QueueDoesNotExistError,
    ReceiptHandleInvalidError,
    StaleReceiptError,
)
from ...messaging.queue import MoveTask, ReceivedMessage
from ...messaging.queue_attributes import (
    ATTRIBUTE_OF_FIELD,
    QueueAttributeChanges,
    parse_queue_attributes,
    select_queue_attributes,
)
from ...messaging.redrive import queue_arn, queue_name
from ...messaging.sqs_attributes import (
    MessageAttributeValue,
    check_message_attributes,
    from_aws,
    md5_of_attributes,
    md5_of_body,
    select_attributes,
)
from ..context import Context, Handler, Operations
from ..errors import AwsError

if TYPE_CHECKING:
    from ...backends.local.queues import SqliteQueueService

logger = logging.getLogger(__name__)

__all__ = ["OPERATIONS"]

OPERATIONS = Operations("sqs")

_MAX_LIST_RESULTS: Final = 1000
_MAX_PERMISSION_ACTIONS: Final = 7
# What AddPermission may grant another account; the rest only the queue's owner may do.
_SHAREABLE_ACTIONS: Final = frozenset(
    {
        "*",
        "ChangeMessageVisibility",
        "DeleteMessage",
        "GetQueueAttributes",
        "GetQueueUrl",
        "ListDeadLetterSourceQueues",
        "PurgeQueue",
        "ReceiveMessage",
        "SendMessage",
    }
)
_SYSTEM_ATTRIBUTE_NAMES: Final = frozenset(
    {
        "All",
        "SenderId",
        "SentTimestamp",
        "ApproximateReceiveCount",
        "ApproximateFirstReceiveTimestamp",
        "SequenceNumber",
        "MessageDeduplicationId",
        "MessageGroupId",
        "AWSTraceHeader",
        "DeadLetterQueueSourceArn",
    }
)
# HTTP statuses of SQS's errors whose status is not 400 (the awsQueryError traits of its model).
_STATUS: Final = {"ReceiptHandleIsInvalid": 404, "ResourceNotFoundException": 404, "OverLimit": 403, "PurgeQueueInProgress": 403}
_NO_QUEUE: Final = "The specified queue does not exist."
# SQS's query protocol still answers a missing queue in the words of its first API version.
_NO_QUEUE_QUERY: Final = "The specified queue does not exist for this wsdl version."


def _error(code: str, message: str) -> AwsError:
    return AwsError(code, message, _STATUS.get(code, 400))


@contextmanager
def _sqs_errors() -> Iterator[None]:
    """Our errors as SQS answers them; the shape names here are turned into each protocol's codes
    (``QueueDoesNotExist`` is ``AWS.SimpleQueueService.NonExistentQueue`` on the wire) by the protocol layer."""
    try:
        yield
    except QueueDoesNotExistError:
        raise _error("QueueDoesNotExist", _NO_QUEUE) from None
    except PurgeInProgressError as exc:
        raise _error("PurgeQueueInProgress", str(exc)) from None
    except ReceiptHandleInvalidError as exc:
        raise _error("ReceiptHandleIsInvalid", str(exc)) from None
    except MessageGoneError as exc:
        raise _error("InvalidParameterValue", str(exc)) from None
    except DeadLetterTargetError as exc:
        raise _error("InvalidParameterValue", str(exc)) from None
    except InvalidMessageError as exc:
        raise _error(exc.code, str(exc)) from None
    except InvalidNameError as exc:
        raise _error("InvalidParameterValue", str(exc)) from None
    except ValueError as exc:
        raise _error("InvalidParameterValue", str(exc)) from None
    except NotFoundError:  # every other lookup of a queue operation is of a queue
        raise _error("QueueDoesNotExist", _NO_QUEUE) from None


def _operation(name: str) -> Callable[[Handler], Handler]:
    """Register an operation whose backend errors answer as SQS's."""

    def register(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def run(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
            try:
                with _sqs_errors():
                    return handler(ctx, params)
            except AwsError as exc:
                if exc.code == "QueueDoesNotExist" and exc.message == _NO_QUEUE and _is_query(ctx):
                    exc.message = _NO_QUEUE_QUERY
                raise

        return OPERATIONS(name)(run)

    return register


def _is_query(ctx: Context) -> bool:
    """Whether the request came in SQS's query protocol (a form post, not JSON with an X-Amz-Target)."""
    headers = {k.lower(): v for k, v in ctx.request.headers.items()}
    return "x-amz-target" not in headers and headers.get("content-type", "").startswith("application/x-www-form-urlencoded")


def _queues(ctx: Context) -> SqliteQueueService:
    return ctx.stack.local.queues


def _url(ctx: Context, name: str) -> str:
    return f"{ctx.endpoint_url}/{ctx.account_id}/{name}"


def _queue(ctx: Context, params: Mapping[str, Any], member: str = "QueueUrl") -> str:
    """The queue a request names: its ``QueueUrl``'s last path segment, or the path a query request
    was posted to."""
    url = params.get(member)
    path = urlsplit(url).path if isinstance(url, str) and url else ctx.request.path
    segments = [unquote(s) for s in path.split("/") if s]
    if not segments:
        if member in params:
            raise _error("QueueDoesNotExist", _NO_QUEUE)
        raise _error("MissingParameter", f"The request must contain the parameter {member}.")
    return segments[-1]


def _arn_queue(arn: Any, member: str) -> str:
    if not isinstance(arn, str) or not arn.startswith("arn:") or ":sqs:" not in arn:
        raise _error("InvalidParameterValue", f"Value {arn} for parameter {member} is invalid. Reason: Invalid ARN.")
    return queue_name(arn)


def _range(parameter: str, value: Any, low: int, high: int) -> int | None:
    if value is None:
        return None
    if not low <= value <= high:
        # SQS words this one reason differently from the others.
        reason = f"Must be >= {low} and <= {high}" if parameter == "WaitTimeSeconds" else f"Must be between {low} and {high}"
        raise _error("InvalidParameterValue", f"Value {value} for parameter {parameter} is invalid. Reason: {reason}, if provided.")
    return int(value)


# ----------------------------------------------------------------------------- queues


@_operation("CreateQueue")
def create_queue(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["QueueName"]
    attributes = dict(params.get("Attributes") or {})
    fifo = attributes.get("FifoQueue", "false").lower() == "true"
    _check_queue_name(name, fifo)
    changes = parse_queue_attributes(attributes, fifo=fifo, create=True)
    queues = _queues(ctx)
    if name in queues.list_queues(name):
        _check_same_attributes(queues, name, fifo, changes)
        return {"QueueUrl": _url(ctx, name)}
    tags = dict(params.get("tags") or {})
    try:
        queues.create_queue(name, fifo=fifo, settings=changes.settings, tags=tags, **changes.fields)
    except ConflictError:  # created meanwhile with other attributes
        raise _error(
            "QueueNameExists", f"A queue already exists with the same name and a different value for an attribute: {name}"
        ) from None
    return {"QueueUrl": _url(ctx, name)}


def _check_queue_name(name: str, fifo: bool) -> None:
    try:
        limits.check_queue_name(name, fifo=fifo)
    except InvalidNameError:
        if fifo:
            reason = (
                "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores,"
                " must end with .fifo suffix and be 1 to 80 in length."
            )
        else:
            reason = "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
        raise _error("InvalidParameterValue", reason) from None


def _check_same_attributes(queues: SqliteQueueService, name: str, fifo: bool, changes: QueueAttributeChanges) -> None:
    """CreateQueue of an existing queue succeeds when every attribute given has the queue's value
    (attributes not given are not compared, as in SQS)."""
    current = queues.queue_attributes(name)
    shown = current.to_aws(region=queues.region, account_id=queues.account_id)
    different = [ATTRIBUTE_OF_FIELD[f] for f, value in changes.fields.items() if getattr(current.config, f) != value]
    different += [attribute for attribute, value in changes.settings.items() if shown.get(attribute, "") != value]
    if current.config.fifo != fifo:
        different.append("FifoQueue")
    if different:
        raise _error(
            "QueueNameExists",
            f"A queue already exists with the same name and a different value for attribute {different[0]}",
        )


@_operation("GetQueueUrl")
def get_queue_url(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["QueueName"]
    owner = params.get("QueueOwnerAWSAccountId")
    # The local stack holds one account's queues: another account owns none of them.
    if (owner is not None and owner != ctx.account_id) or name not in _queues(ctx).list_queues(name):
        raise _error("QueueDoesNotExist", _NO_QUEUE)
    return {"QueueUrl": _url(ctx, name)}


@_operation("ListQueues")
def list_queues(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    prefix = params.get("QueueNamePrefix") or ""
    limit = _range("MaxResults", params.get("MaxResults"), 1, _MAX_LIST_RESULTS)
    names = _after_token(_queues(ctx).list_queues(prefix), params.get("NextToken"))
    return _page([_url(ctx, n) for n in names], names, limit, "QueueUrls")


def _after_token(names: list[str], token: Any) -> list[str]:
    if not token:
        return names
    try:
        after = json.loads(base64.b64decode(token, validate=True))["after"]
    except (ValueError, KeyError, TypeError):
        raise _error("InvalidParameterValue", "Invalid NextToken value.") from None
    return [n for n in names if n > after]


def _page(items: list[str], names: list[str], limit: int | None, key: str) -> dict[str, Any]:
    """A page of ``items`` (sorted like ``names``): without MaxResults, SQS gives up to 1000 and no token."""
    out: dict[str, Any] = {key: items[: limit or _MAX_LIST_RESULTS]} if items else {}
    if limit is not None and len(items) > limit:
        out["NextToken"] = base64.b64encode(json.dumps({"after": names[limit - 1]}).encode()).decode()
    return out


@_operation("DeleteQueue")
def delete_queue(ctx: Context, params: dict[str, Any]) -> None:
    _queues(ctx).delete_queue(_queue(ctx, params))


@_operation("PurgeQueue")
def purge_queue(ctx: Context, params: dict[str, Any]) -> None:
    _queues(ctx).purge(_queue(ctx, params))


@_operation("GetQueueAttributes")
def get_queue_attributes(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    queues = _queues(ctx)
    names = params.get("AttributeNames") or []
    name = _queue(ctx, params)
    current = queues.queue_attributes(name).to_aws(region=queues.region, account_id=queues.account_id)
    selected = select_queue_attributes(current, names)
    return {"Attributes": selected} if selected else {}


@_operation("SetQueueAttributes")
def set_queue_attributes(ctx: Context, params: dict[str, Any]) -> None:
    queues = _queues(ctx)
    name = _queue(ctx, params)
    fifo = queues.queue_attributes(name).config.fifo
    changes = parse_queue_attributes(params.get("Attributes") or {}, fifo=fifo, create=False)
    queues.set_queue_attributes(name, changes)


@_operation("ListDeadLetterSourceQueues")
def list_dead_letter_source_queues(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    limit = _range("MaxResults", params.get("MaxResults"), 1, _MAX_LIST_RESULTS)
    names = _after_token(_queues(ctx).dead_letter_sources(_queue(ctx, params)), params.get("NextToken"))
    page = _page([_url(ctx, n) for n in names], names, limit, "queueUrls")
    return page or {"queueUrls": []}  # queueUrls is required in SQS's output shape


# ------------------------------------------------------------------------------- tags


@_operation("TagQueue")
def tag_queue(ctx: Context, params: dict[str, Any]) -> None:
    name = _queue(ctx, params)
    tags = dict(params.get("Tags") or {})
    if not tags:
        raise _error("MissingParameter", "The request must contain the parameter Tags.")
    _queues(ctx).tag_queue(name, tags)


@_operation("UntagQueue")
def untag_queue(ctx: Context, params: dict[str, Any]) -> None:
    name = _queue(ctx, params)
    keys = list(params.get("TagKeys") or [])
    if not keys:  # SQS words an empty list as a key of the wrong length
        raise _error("InvalidParameterValue", "Tag keys must be between 1 and 128 characters in length.")
    _queues(ctx).untag_queue(name, keys)


@_operation("ListQueueTags")
def list_queue_tags(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    tags = _queues(ctx).queue_tags(_queue(ctx, params))
    return {"Tags": tags} if tags else {}


# ------------------------------------------------------------------------ permissions


@_operation("AddPermission")
def add_permission(ctx: Context, params: dict[str, Any]) -> None:
    """A statement named ``Label`` in the queue's ``Policy`` (kept, not enforced: see sigv4)."""
    queues = _queues(ctx)
    name = _queue(ctx, params)
    label = params["Label"]
    arn = queue_arn(name, region=queues.region, account_id=queues.account_id)
    policy = _policy(queues, name, arn)
    actions = params.get("Actions") or []
    accounts = params.get("AWSAccountIds") or []
    # SQS checks the request before the policy it changes.
    if not actions:
        raise _error("MissingParameter", "The request must contain the parameter Actions.")
    if not accounts:
        raise _error("InvalidParameterValue", "Value [] for parameter PrincipalId is invalid. Reason: Unable to verify.")
    if len(actions) > _MAX_PERMISSION_ACTIONS:
        raise _error("OverLimit", f"{len(actions)} Actions were found, maximum allowed is {_MAX_PERMISSION_ACTIONS}.")
    owner_only = next((a for a in actions if a not in _SHAREABLE_ACTIONS), None)
    if owner_only is not None:
        raise _error(
            "InvalidParameterValue",
            f"Value SQS:{owner_only} for parameter ActionName is invalid. Reason: Only the queue owner is allowed to invoke this action.",
        )
    if any(s.get("Sid") == label for s in policy["Statement"]):
        raise _error("InvalidParameterValue", f"Value {label} for parameter Label is invalid. Reason: Already exists.")
    principals = [f"arn:aws:iam::{a}:root" for a in accounts]
    granted = [f"SQS:{a}" for a in actions]
    policy["Statement"].append(
        {
            "Sid": label,
            "Effect": "Allow",
            # As in SQS's policies, a single principal or action is a string, not a list.
            "Principal": {"AWS": principals[0] if len(principals) == 1 else principals},
            "Action": granted[0] if len(granted) == 1 else granted,
            "Resource": arn,
        }
    )
    queues.set_queue_attributes(name, parse_queue_attributes({"Policy": json.dumps(policy)}, fifo=False, create=False))


@_operation("RemovePermission")
def remove_permission(ctx: Context, params: dict[str, Any]) -> None:
    queues = _queues(ctx)
    name = _queue(ctx, params)
    label = params["Label"]
    policy = _policy(queues, name, queue_arn(name, region=queues.region, account_id=queues.account_id))
    kept = [s for s in policy["Statement"] if s.get("Sid") != label]
    if len(kept) == len(policy["Statement"]):
        raise _error("InvalidParameterValue", f"Value {label} for parameter Label is invalid. Reason: can't find label.")
    policy["Statement"] = kept
    text = json.dumps(policy) if kept else ""
    queues.set_queue_attributes(name, parse_queue_attributes({"Policy": text}, fifo=False, create=False))


def _policy(queues: SqliteQueueService, name: str, arn: str) -> dict[str, Any]:
    text = queues.queue_attributes(name).settings.get("Policy")
    policy: dict[str, Any] = json.loads(text) if text else {}
    if not isinstance(policy.get("Statement"), list):
        policy = {"Version": "2008-10-17", "Id": f"{arn}/SQSDefaultPolicy", "Statement": []}
    return policy


# ------------------------------------------------------------------------------ sends


def _send_entry(entry: Mapping[str, Any], entry_id: str = "0") -> SendEntry:
    """A send's params as a :class:`SendEntry` (attributes typed and checked).

    Raises:
        InvalidMessageError: attributes SQS refuses.
    """
    attributes = {n: from_aws(n, v) for n, v in (entry.get("MessageAttributes") or {}).items()}
    check_message_attributes(attributes)
    system = {n: from_aws(n, v) for n, v in (entry.get("MessageSystemAttributes") or {}).items()}
    check_message_attributes(system, system=True)
    trace = system.get("AWSTraceHeader")
    return SendEntry(
        id=entry_id,
        body=entry["MessageBody"],
        delay_s=entry.get("DelaySeconds"),
        attributes=attributes or None,
        group_id=entry.get("MessageGroupId"),
        dedup_id=entry.get("MessageDeduplicationId"),
        trace_header=trace.string_value if trace is not None else None,
    )


def _digests(entry: SendEntry, system: Mapping[str, Any] | None) -> dict[str, str]:
    out = {"MD5OfMessageBody": md5_of_body(entry.body)}
    if entry.attributes:
        out["MD5OfMessageAttributes"] = md5_of_attributes(entry.attributes)
    if entry.trace_header is not None and system:
        out["MD5OfMessageSystemAttributes"] = md5_of_attributes(
            {"AWSTraceHeader": MessageAttributeValue(system["AWSTraceHeader"]["DataType"], entry.trace_header)}
        )
    return out


@_operation("SendMessage")
def send_message(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = _queue(ctx, params)
    entry = _send_entry(params)
    sent = _queues(ctx).send_entry(name, entry)
    out: dict[str, Any] = {**_digests(entry, params.get("MessageSystemAttributes")), "MessageId": sent.message_id}
    if sent.sequence_number is not None:
        out["SequenceNumber"] = sent.sequence_number
    return out


@_operation("SendMessageBatch")
def send_message_batch(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = _queue(ctx, params)
    raw = params.get("Entries") or []
    check_batch((e.get("Id") for e in raw), entry="SendMessageBatchRequestEntry")
    entries: list[SendEntry] = []
    failed: list[dict[str, Any]] = []
    systems: dict[str, Any] = {}
    for item in raw:
        try:
            entries.append(_send_entry(item, item["Id"]))
        except InvalidMessageError as exc:
            failed.append({"Id": item["Id"], "SenderFault": True, "Code": exc.code, "Message": str(exc)})
        systems[item["Id"]] = item.get("MessageSystemAttributes")
    result = _queues(ctx).send_batch(name, entries) if entries else None
    by_id = {e.id: e for e in entries}
    successful = []
    for ok in result.successful if result else ():
        sent: dict[str, Any] = {"Id": ok.id, "MessageId": ok.message_id, **_digests(by_id[ok.id], systems[ok.id])}
        if ok.sequence_number is not None:
            sent["SequenceNumber"] = ok.sequence_number
        successful.append(sent)
    failed += [{"Id": f.id, "SenderFault": f.sender_fault, "Code": f.code, "Message": f.message} for f in (result.failed if result else ())]
    return {"Successful": successful, "Failed": failed}


# --------------------------------------------------------------------------- receives


@_operation("ReceiveMessage")
def receive_message(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = _queue(ctx, params)
    count = _range("MaxNumberOfMessages", params.get("MaxNumberOfMessages"), 1, limits.MAX_RECEIVE_MESSAGES) or 1
    visibility = _range("VisibilityTimeout", params.get("VisibilityTimeout"), 0, limits.MAX_VISIBILITY_S)
    wait = _range("WaitTimeSeconds", params.get("WaitTimeSeconds"), 0, limits.MAX_WAIT_S)
    system_names = set(params.get("AttributeNames") or []) | set(params.get("MessageSystemAttributeNames") or [])
    unknown = system_names - _SYSTEM_ATTRIBUTE_NAMES
    if unknown:
        raise _error("InvalidAttributeName", f"Unknown Attribute {sorted(unknown)[0]}.")
    queues = _queues(ctx)
    messages = queues.receive_messages(name, max_messages=count, visibility_s=visibility, wait_s=wait)
    names = params.get("MessageAttributeNames")
    out = [_message(m, system_names, names, region=queues.region, account_id=queues.account_id) for m in messages]
    # botocore reads a missing Messages as "none"; an empty list is what the JSON protocol answers.
    return {"Messages": out} if out else {}


def _message(m: ReceivedMessage, system_names: set[str], attribute_names: Any, *, region: str, account_id: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "MessageId": m.message_id,
        "ReceiptHandle": m.receipt_handle,
        "MD5OfBody": md5_of_body(m.body),
        "Body": m.body,
    }
    if system_names:
        every = m.system_attributes(region=region, account_id=account_id)
        chosen = every if "All" in system_names else {k: v for k, v in every.items() if k in system_names}
        if chosen:
            out["Attributes"] = chosen
    selected = select_attributes(m.attributes, attribute_names)
    if selected:
        # The digest covers the attributes returned, so that SDKs can check what they got.
        out["MD5OfMessageAttributes"] = md5_of_attributes(selected)
        out["MessageAttributes"] = {n: v.to_aws() for n, v in selected.items()}
    return out


@_operation("DeleteMessage")
def delete_message(ctx: Context, params: dict[str, Any]) -> None:
    # An old receipt (the message was received again since): "the request will succeed, but the
    # message might not be deleted" (DeleteMessage's documentation); the local queue keeps it.
    with contextlib.suppress(StaleReceiptError):
        _queues(ctx).delete(_queue(ctx, params), params["ReceiptHandle"])


@_operation("DeleteMessageBatch")
def delete_message_batch(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    entries = [ReceiptEntry(e.get("Id"), e.get("ReceiptHandle")) for e in params.get("Entries") or []]
    return _queues(ctx).delete_batch(_queue(ctx, params), entries).to_aws()


@_operation("ChangeMessageVisibility")
def change_message_visibility(ctx: Context, params: dict[str, Any]) -> None:
    # As DeleteMessage, SQS does not refuse an old receipt; the message stays with its latest receiver.
    with contextlib.suppress(StaleReceiptError):
        _queues(ctx).change_visibility(_queue(ctx, params), params["ReceiptHandle"], params["VisibilityTimeout"])


@_operation("ChangeMessageVisibilityBatch")
def change_message_visibility_batch(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    entries = [VisibilityEntry(e.get("Id"), e.get("ReceiptHandle"), e.get("VisibilityTimeout", 0)) for e in params.get("Entries") or []]
    return _queues(ctx).change_visibility_batch(_queue(ctx, params), entries).to_aws()


# ------------------------------------------------------------------ message move tasks


@_operation("StartMessageMoveTask")
def start_message_move_task(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    source = _arn_queue(params["SourceArn"], "SourceArn")
    destination = params.get("DestinationArn")
    rate = _range("MaxNumberOfMessagesPerSecond", params.get("MaxNumberOfMessagesPerSecond"), 1, 500)
    queues = _queues(ctx)
    try:
        task = queues.start_move_task(
            source,
            _arn_queue(destination, "DestinationArn") if destination is not None else None,
            max_per_second=rate,
        )
    except QueueDoesNotExistError:
        raise _error("ResourceNotFoundException", "The resource that you specified for the SourceArn parameter doesn't exist.") from None
    except ConflictError as exc:
        raise _error("UnsupportedOperation", str(exc)) from None
    except ValueError as exc:
        raise _error("InvalidParameterValue", str(exc)) from None
    return {"TaskHandle": task.handle}


@_operation("ListMessageMoveTasks")
def list_message_move_tasks(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    source = _arn_queue(params["SourceArn"], "SourceArn")
    limit = _range("MaxResults", params.get("MaxResults"), 1, 10) or 1
    queues = _queues(ctx)
    try:
        tasks = queues.list_move_tasks(source, limit=limit)
    except QueueDoesNotExistError:
        raise _error("ResourceNotFoundException", "The resource that you specified for the SourceArn parameter doesn't exist.") from None
    return {"Results": [_task(t, queues) for t in tasks]}


def _task(task: MoveTask, queues: SqliteQueueService) -> dict[str, Any]:
    def arn(name: str) -> str:
        return queue_arn(name, region=queues.region, account_id=queues.account_id)

    out: dict[str, Any] = {
        "Status": task.status,
        "SourceArn": arn(task.source),
        "ApproximateNumberOfMessagesMoved": task.moved,
        "ApproximateNumberOfMessagesToMove": task.to_move,
        "StartedTimestamp": int(task.started_at.timestamp() * 1000),
    }
    if task.status == "RUNNING":  # SQS gives the handle of running tasks only (to cancel them)
        out["TaskHandle"] = task.handle
    if task.destination is not None:
        out["DestinationArn"] = arn(task.destination)
    if task.max_per_second is not None:
        out["MaxNumberOfMessagesPerSecond"] = task.max_per_second
    if task.failure_reason is not None:
        out["FailureReason"] = task.failure_reason
    return out


@_operation("CancelMessageMoveTask")
def cancel_message_move_task(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    try:
        task = _queues(ctx).cancel_move_task(params["TaskHandle"])
    except NotFoundError:
        raise _error("ResourceNotFoundException", "Task does not exist.") from None
    except ConflictError as exc:
        raise _error("UnsupportedOperation", str(exc)) from None
    return {"ApproximateNumberOfMessagesMoved": task.moved}
