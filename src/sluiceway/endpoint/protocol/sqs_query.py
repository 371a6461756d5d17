"""SQS's query protocol, rebuilt from its JSON model.

botocore's SQS model speaks JSON (``awsQueryCompatible``), but older SDKs and tools still post
``Action=SendMessage&Version=2012-11-05`` forms and read XML. The JSON model lost the names those
forms use (``AttributeName.1``, ``MessageAttribute.1.Name``), the result wrappers and the
legacy error codes (``AWS.SimpleQueueService.NonExistentQueue``). They are the ``xmlName``,
``xmlFlattened`` and ``awsQueryError`` traits of SQS's Smithy model, written down here once;
:func:`query_model` applies them to a copy of the JSON model, so that one parser and one
serializer serve every query service.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["QUERY_ERRORS", "query_model"]

NAMESPACE = "http://queue.amazonaws.com/doc/2012-11-05/"

#: structure -> member -> the member's name in query forms and XML (always a flattened list or map).
MEMBER_NAMES: dict[str, dict[str, str]] = {
    "AddPermissionRequest": {"AWSAccountIds": "AWSAccountId", "Actions": "ActionName"},
    "ChangeMessageVisibilityBatchRequest": {"Entries": "ChangeMessageVisibilityBatchRequestEntry"},
    "ChangeMessageVisibilityBatchResult": {
        "Successful": "ChangeMessageVisibilityBatchResultEntry",
        "Failed": "BatchResultErrorEntry",
    },
    "CreateQueueRequest": {"Attributes": "Attribute", "tags": "Tag"},
    "DeleteMessageBatchRequest": {"Entries": "DeleteMessageBatchRequestEntry"},
    "DeleteMessageBatchResult": {"Successful": "DeleteMessageBatchResultEntry", "Failed": "BatchResultErrorEntry"},
    "GetQueueAttributesRequest": {"AttributeNames": "AttributeName"},
    "GetQueueAttributesResult": {"Attributes": "Attribute"},
    "ListDeadLetterSourceQueuesResult": {"queueUrls": "QueueUrl"},
    "ListMessageMoveTasksResult": {"Results": "ListMessageMoveTasksResultEntry"},
    "ListQueuesResult": {"QueueUrls": "QueueUrl"},
    "ListQueueTagsResult": {"Tags": "Tag"},
    "Message": {"Attributes": "Attribute", "MessageAttributes": "MessageAttribute"},
    "MessageAttributeValue": {"StringListValues": "StringListValue", "BinaryListValues": "BinaryListValue"},
    "MessageSystemAttributeValue": {"StringListValues": "StringListValue", "BinaryListValues": "BinaryListValue"},
    # Both lists of ReceiveMessage are named AttributeName on the wire: the newer member kept the
    # older one's name. A query request's AttributeName.N fills the first (see parse_query).
    "ReceiveMessageRequest": {
        "AttributeNames": "AttributeName",
        "MessageSystemAttributeNames": "AttributeName",
        "MessageAttributeNames": "MessageAttributeName",
    },
    "ReceiveMessageResult": {"Messages": "Message"},
    "SendMessageBatchRequest": {"Entries": "SendMessageBatchRequestEntry"},
    "SendMessageBatchRequestEntry": {"MessageAttributes": "MessageAttribute", "MessageSystemAttributes": "MessageSystemAttribute"},
    "SendMessageBatchResult": {"Successful": "SendMessageBatchResultEntry", "Failed": "BatchResultErrorEntry"},
    "SendMessageRequest": {"MessageAttributes": "MessageAttribute", "MessageSystemAttributes": "MessageSystemAttribute"},
    "SetQueueAttributesRequest": {"Attributes": "Attribute"},
    "TagQueueRequest": {"Tags": "Tag"},
    "UntagQueueRequest": {"TagKeys": "TagKey"},
}

#: list shape -> its member's name; map shape -> (key name, value name).
LIST_MEMBER_NAMES: dict[str, str] = {"StringList": "StringListValue", "BinaryList": "BinaryListValue"}
MAP_ENTRY_NAMES: dict[str, tuple[str, str]] = {
    "MessageBodyAttributeMap": ("Name", "Value"),
    "MessageBodySystemAttributeMap": ("Name", "Value"),
    "MessageSystemAttributeMap": ("Name", "Value"),
    "QueueAttributeMap": ("Name", "Value"),
    "TagMap": ("Key", "Value"),
}

#: error shape -> (the query protocol's code, HTTP status). Shapes not listed use their own name.
QUERY_ERRORS: dict[str, tuple[str, int]] = {
    "BatchEntryIdsNotDistinct": ("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400),
    "BatchRequestTooLong": ("AWS.SimpleQueueService.BatchRequestTooLong", 400),
    "EmptyBatchRequest": ("AWS.SimpleQueueService.EmptyBatchRequest", 400),
    "InvalidAddress": ("InvalidAddress", 404),
    "InvalidBatchEntryId": ("AWS.SimpleQueueService.InvalidBatchEntryId", 400),
    "InvalidSecurity": ("InvalidSecurity", 403),
    "KmsAccessDenied": ("KMS.AccessDeniedException", 400),
    "KmsDisabled": ("KMS.DisabledException", 400),
    "KmsInvalidKeyUsage": ("KMS.InvalidKeyUsageException", 400),
    "KmsInvalidState": ("KMS.InvalidStateException", 400),
    "KmsNotFound": ("KMS.NotFoundException", 400),
    "KmsOptInRequired": ("KMS.OptInRequired", 403),
    "KmsThrottled": ("KMS.ThrottlingException", 400),
    "MessageNotInflight": ("AWS.SimpleQueueService.MessageNotInflight", 400),
    "OverLimit": ("OverLimit", 403),
    "PurgeQueueInProgress": ("AWS.SimpleQueueService.PurgeQueueInProgress", 403),
    "QueueDeletedRecently": ("AWS.SimpleQueueService.QueueDeletedRecently", 400),
    "QueueDoesNotExist": ("AWS.SimpleQueueService.NonExistentQueue", 400),
    "QueueNameExists": ("QueueAlreadyExists", 400),
    "ReceiptHandleIsInvalid": ("ReceiptHandleIsInvalid", 404),
    "RequestThrottled": ("RequestThrottled", 403),
    "ResourceNotFoundException": ("ResourceNotFoundException", 404),
    "TooManyEntriesInBatchRequest": ("AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400),
    "UnsupportedOperation": ("AWS.SimpleQueueService.UnsupportedOperation", 400),
}


def query_model(json_model: dict[str, Any]) -> dict[str, Any]:
    """A query-protocol copy of SQS's JSON service model (the raw ``service-2`` dict)."""
    model = copy.deepcopy(json_model)
    metadata = model["metadata"]
    metadata["protocol"] = "query"
    metadata["protocols"] = ["query"]
    metadata["xmlNamespace"] = NAMESPACE
    for key in ("targetPrefix", "jsonVersion", "awsQueryCompatible"):
        metadata.pop(key, None)
    shapes = model["shapes"]
    for name, operation in model["operations"].items():
        if "output" in operation:
            operation["output"]["resultWrapper"] = f"{name}Result"
    for shape_name, members in MEMBER_NAMES.items():
        for member, xml_name in members.items():
            ref = shapes[shape_name]["members"][member]
            ref["locationName"] = xml_name
            ref["flattened"] = True
    for shape_name, member_name in LIST_MEMBER_NAMES.items():
        shapes[shape_name]["member"]["locationName"] = member_name
    for shape_name, (key_name, value_name) in MAP_ENTRY_NAMES.items():
        shapes[shape_name]["key"]["locationName"] = key_name
        shapes[shape_name]["value"]["locationName"] = value_name
    for shape_name, shape in shapes.items():
        if shape.get("exception"):
            code, status = QUERY_ERRORS.get(shape_name, (shape_name, 400))
            shape["error"] = {"code": code, "httpStatusCode": status, "senderFault": True}
    return model
