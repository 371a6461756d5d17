"""AWS::SQS::Queue, AWS::SNS::Topic and AWS::SNS::Subscription (and their policies, accepted)."""

from __future__ import annotations

import json
from typing import Any

from ...endpoint.errors import AwsError
from ..errors import TemplateError
from .base import Env, Made, Request, Stored, physical_name

__all__ = ["Queue", "Subscription", "Topic"]

#: CloudFormation's queue properties that are CreateQueue attributes of the same name.
_QUEUE_ATTRIBUTES = (
    "DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds", "VisibilityTimeout",
    "FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit", "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled", "RedrivePolicy", "RedriveAllowPolicy",
)  # fmt: skip


def _attribute_text(value: Any) -> str:
    # CloudFormation takes RedrivePolicy as an object (or JSON text) and numbers as numbers; the API takes strings.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


class Queue:
    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        fifo = _attribute_text(props.get("FifoQueue", False)) == "true"
        name = props.get("QueueName") or physical_name(env.stack_name, request.logical_id, 80, suffix=".fifo" if fifo else "")
        attributes = {key: _attribute_text(props[key]) for key in _QUEUE_ATTRIBUTES if key in props}
        try:
            url = env.aws.call("sqs", "CreateQueue", {"QueueName": name, "Attributes": attributes})["QueueUrl"]
        except AwsError as error:
            if error.code not in ("QueueAlreadyExists", "QueueNameExists"):
                raise
            # An update of a queue made before: CreateQueue refuses other attributes, SetQueueAttributes takes them.
            url = env.aws.call("sqs", "GetQueueUrl", {"QueueName": name})["QueueUrl"]
            changeable = {k: v for k, v in attributes.items() if k != "FifoQueue"}
            if changeable:
                env.aws.call("sqs", "SetQueueAttributes", {"QueueUrl": url, "Attributes": changeable})
        arn = env.arn("sqs", name)
        return Made(url, url, {"Arn": arn, "QueueName": name, "QueueUrl": url})

    def delete(self, env: Env, stored: Stored) -> None:
        _ignore_missing(lambda: env.aws.call("sqs", "DeleteQueue", {"QueueUrl": stored.physical_id}))


class Topic:
    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        fifo = _attribute_text(props.get("FifoTopic", False)) == "true"
        name = props.get("TopicName") or physical_name(env.stack_name, request.logical_id, 256, suffix=".fifo" if fifo else "")
        attributes = {
            key: _attribute_text(props[key])
            for key in ("DisplayName", "FifoTopic", "ContentBasedDeduplication", "KmsMasterKeyId", "SignatureVersion", "TracingConfig")
            if key in props
        }
        arn = env.aws.call("sns", "CreateTopic", {"Name": name, "Attributes": attributes})["TopicArn"]
        for index, subscription in enumerate(props.get("Subscription") or []):
            if not isinstance(subscription, dict) or "Protocol" not in subscription or "Endpoint" not in subscription:
                raise TemplateError(f"{request.where}.Subscription[{index}]: needs Protocol and Endpoint")
            env.aws.call("sns", "Subscribe", {"TopicArn": arn, "Protocol": subscription["Protocol"], "Endpoint": subscription["Endpoint"]})
        return Made(arn, arn, {"TopicArn": arn, "TopicName": name})

    def delete(self, env: Env, stored: Stored) -> None:
        _ignore_missing(lambda: env.aws.call("sns", "DeleteTopic", {"TopicArn": stored.physical_id}))


_SUBSCRIPTION_ATTRIBUTES = ("FilterPolicy", "FilterPolicyScope", "RawMessageDelivery", "DeliveryPolicy", "RedrivePolicy")
#: What an attribute that left the template is set back to (SNS's defaults; "" removes a policy).
_SUBSCRIPTION_DEFAULTS = {"RawMessageDelivery": "false", "FilterPolicyScope": "MessageAttributes"}


class Subscription:
    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        attributes = {key: _attribute_text(props[key]) for key in _SUBSCRIPTION_ATTRIBUTES if key in props}
        for key in ("TopicArn", "Protocol", "Endpoint"):
            if not isinstance(props.get(key), str):
                raise TemplateError(f"{request.where}.{key}: required for AWS::SNS::Subscription")
        previous = request.previous
        same_target = previous is not None and all(previous.properties.get(k) == props[k] for k in ("TopicArn", "Protocol", "Endpoint"))
        if previous is not None and same_target and self._exists(env, previous.physical_id):
            # The same subscription with other attributes: Subscribe would refuse ("already exists with
            # different attributes"), so its attributes are set, and those that left the template reset.
            old = {key: _attribute_text(previous.properties[key]) for key in _SUBSCRIPTION_ATTRIBUTES if key in previous.properties}
            changes = {key: value for key, value in attributes.items() if old.get(key) != value}
            changes.update({key: _SUBSCRIPTION_DEFAULTS.get(key, "") for key in old if key not in attributes})
            for key, value in changes.items():
                env.aws.call(
                    "sns",
                    "SetSubscriptionAttributes",
                    {"SubscriptionArn": previous.physical_id, "AttributeName": key, "AttributeValue": value},
                )
            return Made(previous.physical_id, previous.physical_id, {"Arn": previous.physical_id})
        params = {"TopicArn": props["TopicArn"], "Protocol": props["Protocol"], "Endpoint": props["Endpoint"], "Attributes": attributes}
        arn = env.aws.call("sns", "Subscribe", params)["SubscriptionArn"]
        if previous is not None and previous.physical_id != arn:
            _ignore_missing(lambda: env.aws.call("sns", "Unsubscribe", {"SubscriptionArn": previous.physical_id}))
        return Made(arn, arn, {"Arn": arn})

    def _exists(self, env: Env, arn: str) -> bool:
        try:
            env.aws.call("sns", "GetSubscriptionAttributes", {"SubscriptionArn": arn})
        except AwsError:
            return False
        return True

    def delete(self, env: Env, stored: Stored) -> None:
        _ignore_missing(lambda: env.aws.call("sns", "Unsubscribe", {"SubscriptionArn": stored.physical_id}))


def _ignore_missing(action: Any) -> None:
    # Deleting what is gone already is done: CloudFormation's delete succeeds then too.
    try:
        action()
    except AwsError as error:
        if "NotFound" not in error.code and "NonExistent" not in error.code and error.code != "AWS.SimpleQueueService.NonExistentQueue":
            raise
