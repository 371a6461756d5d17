"""SNS's shapes and rules: envelopes, Lambda events, raw delivery, attributes, delivery policies."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from sluiceway.messaging.delivery_policy import (
    AWS_MANAGED_POLICY,
    CUSTOMER_MANAGED_POLICY,
    HTTP_DEFAULT_POLICY,
    DeliveryPolicy,
    default_policy,
)
from sluiceway.messaging.errors import InvalidParameterError
from sluiceway.messaging.notifications import (
    delivery_body,
    format_timestamp,
    http_headers,
    lambda_event,
    notification,
    string_to_sign,
)
from sluiceway.messaging.sns import (
    MessageAttribute,
    PublishedMessage,
    Subscription,
    check_message,
    check_topic_name,
    message_attributes,
    topic_arn,
    topic_name,
)

ARN = "arn:aws:sns:eu-west-1:123456789012:alerts"
WHEN = datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=UTC)


def message(subject: str | None = "Run done", **attributes: MessageAttribute) -> PublishedMessage:
    return PublishedMessage(
        message_id="0f8f2a5c-1111-4222-8333-444455556666",
        topic="alerts",
        topic_arn=ARN,
        message='{"rows": 3}',
        timestamp=WHEN,
        subject=subject,
        attributes=attributes,
    )


def subscription(protocol: str = "sqs", raw: bool = False) -> Subscription:
    return Subscription(
        arn=f"{ARN}:9d2c",
        topic="alerts",
        topic_arn=ARN,
        protocol=protocol,
        endpoint="arn:aws:sqs:eu-west-1:123456789012:q",
        created_at=WHEN,
        raw_message_delivery=raw,
    )


def test_timestamps_are_utc_with_milliseconds() -> None:
    assert format_timestamp(WHEN) == "2026-03-01T12:30:05.123Z"


def test_the_notification_envelope() -> None:
    envelope = notification(message(status=MessageAttribute("String", "OK")), subscription(), signature="c2ln")
    assert envelope == {
        "Type": "Notification",
        "MessageId": "0f8f2a5c-1111-4222-8333-444455556666",
        "TopicArn": ARN,
        "Subject": "Run done",
        "Message": '{"rows": 3}',
        "Timestamp": "2026-03-01T12:30:05.123Z",
        "SignatureVersion": "1",
        "Signature": "c2ln",
        "SigningCertURL": envelope["SigningCertURL"],
        "UnsubscribeURL": f"https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={ARN}:9d2c",
        "MessageAttributes": {"status": {"Type": "String", "Value": "OK"}},
    }
    assert envelope["SigningCertURL"].startswith("https://sns.eu-west-1.amazonaws.com/")


def test_the_envelope_leaves_out_a_missing_subject_and_empty_attributes() -> None:
    envelope = notification(message(subject=None), subscription())
    assert "Subject" not in envelope
    assert "MessageAttributes" not in envelope


def test_raw_delivery_sends_the_message_itself() -> None:
    assert delivery_body(message(), subscription(raw=True)) == '{"rows": 3}'
    assert json.loads(delivery_body(message(), subscription()))["Message"] == '{"rows": 3}'


def test_string_to_sign_follows_sns_order() -> None:
    envelope = notification(message(), subscription())
    assert string_to_sign(envelope) == (
        'Message\n{"rows": 3}\nMessageId\n0f8f2a5c-1111-4222-8333-444455556666\nSubject\nRun done\n'
        f"Timestamp\n2026-03-01T12:30:05.123Z\nTopicArn\n{ARN}\nType\nNotification\n"
    )


def test_http_headers() -> None:
    headers = http_headers(message(), subscription("https"))
    assert headers["x-amz-sns-message-type"] == "Notification"
    assert headers["x-amz-sns-topic-arn"] == ARN
    assert headers["x-amz-sns-subscription-arn"] == f"{ARN}:9d2c"
    assert "x-amz-sns-rawdelivery" not in headers
    assert http_headers(message(), subscription("https", raw=True))["x-amz-sns-rawdelivery"] == "true"


def test_the_lambda_event() -> None:
    event = lambda_event(message(subject=None, n=MessageAttribute("Number", "5")), subscription("lambda"))
    [record] = event["Records"]
    assert record["EventSource"] == "aws:sns"
    assert record["EventVersion"] == "1.0"
    assert record["EventSubscriptionArn"] == f"{ARN}:9d2c"
    sns = record["Sns"]
    assert sns["Subject"] is None  # Lambda events keep the key
    assert sns["MessageAttributes"] == {"n": {"Type": "Number", "Value": "5"}}
    assert "SigningCertUrl" in sns and "UnsubscribeUrl" in sns  # Lambda spells them so
    assert sns["Timestamp"] == "2026-03-01T12:30:05.123Z"


def test_topic_names_and_arns() -> None:
    assert topic_arn("alerts", region="eu-west-1", account_id="123456789012") == ARN
    assert topic_name(ARN) == "alerts"
    assert topic_name("alerts") == "alerts"
    assert check_topic_name("a-B_9") == "a-B_9"
    for bad in ("", "has space", "x" * 257, "dots.are.not.allowed"):
        with pytest.raises(InvalidParameterError, match="Topic Name"):
            check_topic_name(bad)
    with pytest.raises(InvalidParameterError, match="Topic Name"):
        check_topic_name("orders.fifo")  # FIFO topics are not served: refused as AWS refuses a bad name
    with pytest.raises(InvalidParameterError, match="TopicArn"):
        topic_name("arn:aws:sqs:eu-west-1:1:q:extra")


def test_message_attributes_are_typed_and_checked() -> None:
    typed = message_attributes({"s": "x", "n": 1.5, "a": ["x", 1, None], "b": MessageAttribute("Binary", "AAE=")})
    assert typed["s"] == MessageAttribute("String", "x")
    assert typed["n"] == MessageAttribute("Number", "1.5")
    assert typed["a"] == MessageAttribute("String.Array", '["x", 1, null]')
    assert typed["b"].base_type == "Binary"
    assert MessageAttribute("Number.float", "1").base_type == "Number"


@pytest.mark.parametrize(
    ("attributes", "match"),
    [
        (
            {"n": MessageAttribute("Number", "one")},
            "Could not cast message attribute 'n' value to number.",
        ),
        ({"x": MessageAttribute("Date", "2026")}, "invalid message attribute type"),
        ({"x": ""}, "must contain non-empty message attribute value"),
        ({"x": MessageAttribute("String.Array", '{"a": 1}')}, "String.Array"),
        ({"AWS.x": "v"}, "reserved prefix"),
        ({"bad name": "v"}, "Invalid non-alphanumeric character '#x20'"),
        ({f"k{i}": "v" for i in range(11)}, "at most 10 attributes"),
    ],
)
def test_invalid_message_attributes(attributes: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        message_attributes(attributes)  # type: ignore[arg-type]


def test_messages_sns_refuses() -> None:
    check_message("ok", "Résumé of the run", {})
    with pytest.raises(InvalidParameterError, match="Empty message"):
        check_message("", None, {})
    with pytest.raises(InvalidParameterError, match="Subject"):
        check_message("ok", "two\nlines", {})
    with pytest.raises(InvalidParameterError, match="Subject"):
        check_message("ok", "x" * 101, {})
    with pytest.raises(InvalidParameterError, match="Message too long"):
        check_message("x" * 262_000, None, {"a": MessageAttribute("String", "y" * 200)})
    with pytest.raises(TypeError):
        check_message(b"bytes", None, {})  # type: ignore[arg-type]


def test_the_aws_managed_policy_has_sns_phases() -> None:
    delays = [AWS_MANAGED_POLICY.delay_s(n) for n in range(1, 17)]
    assert delays[:3] == [0.0, 0.0, 0.0]  # immediate retries
    assert delays[3:5] == [1.0, 1.0]  # pre-backoff
    assert delays[5] == pytest.approx(1.0) and delays[14] == pytest.approx(20.0)  # backoff 1 -> 20
    assert all(a <= b for a, b in zip(delays[5:15], delays[6:15], strict=False))
    assert delays[15] == 20.0  # post-backoff
    assert AWS_MANAGED_POLICY.delay_s(100_015) == 20.0
    assert AWS_MANAGED_POLICY.delay_s(100_016) is None


def test_the_smtp_policy_gives_fifty_attempts() -> None:
    assert CUSTOMER_MANAGED_POLICY.delay_s(1) == 10.0
    assert CUSTOMER_MANAGED_POLICY.delay_s(12) == pytest.approx(600.0)
    assert CUSTOMER_MANAGED_POLICY.delay_s(49) == 600.0
    assert CUSTOMER_MANAGED_POLICY.delay_s(50) == 600.0
    assert CUSTOMER_MANAGED_POLICY.delay_s(51) is None


def test_the_http_default_is_three_retries_twenty_seconds_apart() -> None:
    assert [HTTP_DEFAULT_POLICY.delay_s(n) for n in (1, 2, 3, 4)] == [20.0, 20.0, 20.0, None]
    assert default_policy("https") is HTTP_DEFAULT_POLICY
    assert default_policy("sqs") is AWS_MANAGED_POLICY
    assert default_policy("email") is CUSTOMER_MANAGED_POLICY


def test_exponential_backoff_in_a_custom_policy() -> None:
    policy = DeliveryPolicy.from_aws(
        {
            "healthyRetryPolicy": {
                "numRetries": 5,
                "minDelayTarget": 1,
                "maxDelayTarget": 16,
                "backoffFunction": "exponential",
            }
        }
    )
    assert [policy.delay_s(n) for n in range(1, 6)] == pytest.approx([1, 2, 4, 8, 16])
    assert DeliveryPolicy.from_aws(json.dumps(policy.to_aws())) == policy


def test_invalid_delivery_policies() -> None:
    with pytest.raises(InvalidParameterError, match="failed to parse JSON"):
        DeliveryPolicy.from_aws("{")
    with pytest.raises(InvalidParameterError, match="unknown keys"):
        DeliveryPolicy.from_aws({"healthyRetryPolicy": {"numRetrys": 3}})
    with pytest.raises(InvalidParameterError, match="3600"):
        DeliveryPolicy.from_aws({"healthyRetryPolicy": {"numRetries": 100, "minDelayTarget": 60, "maxDelayTarget": 60}})
    with pytest.raises(InvalidParameterError, match="minDelayTarget"):
        DeliveryPolicy(min_delay_target_s=30, max_delay_target_s=20)
    with pytest.raises(InvalidParameterError, match="must not exceed numRetries"):
        DeliveryPolicy(num_retries=1, num_no_delay_retries=2)
