"""CloudWatch Logs through boto3: group identifiers, retention, tags, keys and PutLogEvents' answers as AWS gives them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

DAY_MS = 86_400_000


def _now_ms() -> int:
    return int(time.time() * 1000)


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def test_log_group_arn_identifies_the_group_but_the_star_arn_is_refused(aws: Callable[..., Any]) -> None:
    logs = aws("logs")
    logs.create_log_group(logGroupName="parity-ident")
    logs.create_log_stream(logGroupName="parity-ident", logStreamName="s")
    group = logs.describe_log_groups(logGroupNamePrefix="parity-ident")["logGroups"][0]
    assert group["arn"] == group["logGroupArn"] + ":*"
    streams = logs.describe_log_streams(logGroupIdentifier=group["logGroupArn"])["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["s"]
    logs.get_log_events(logGroupIdentifier=group["logGroupArn"], logStreamName="s")
    with pytest.raises(ClientError) as excinfo:
        logs.get_log_events(logGroupIdentifier=group["arn"], logStreamName="s")
    assert _error(excinfo) == (
        "InvalidParameterException",
        "1 validation error detected: Value at 'logGroupIdentifier' failed to satisfy constraint:"
        r" Member must satisfy regular expression pattern: [\w#+=/:,.@-]*",
    )
    with pytest.raises(ClientError) as excinfo:
        logs.describe_log_streams(logGroupName="parity-ident", logGroupIdentifier="parity-ident")
    assert _error(excinfo) == ("ValidationException", "LogGroup name and LogGroup ARN are mutually exclusive parameters.")


def test_a_name_over_512_characters_is_refused_in_aws_words(aws: Callable[..., Any]) -> None:
    with pytest.raises(ClientError) as excinfo:
        aws("logs").create_log_group(logGroupName="a" * 513)
    assert _error(excinfo) == (
        "InvalidParameterException",
        "Invalid LogGroup or LogStream, both must have length less than or equal to 512.",
    )


def test_an_empty_order_by_is_not_the_default(aws: Callable[..., Any]) -> None:
    logs = aws("logs")
    logs.create_log_group(logGroupName="parity-order")
    with pytest.raises(ClientError) as excinfo:
        logs.describe_log_streams(logGroupName="parity-order", orderBy="")
    code, message = _error(excinfo)
    assert code == "InvalidParameterException"
    assert (
        "Value '' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]" in message
    )


def test_retention_policy_is_set_shown_and_removed(aws: Callable[..., Any]) -> None:
    logs = aws("logs")
    logs.create_log_group(logGroupName="parity-retention")
    assert "retentionInDays" not in logs.describe_log_groups(logGroupNamePrefix="parity-retention")["logGroups"][0]
    logs.put_retention_policy(logGroupName="parity-retention", retentionInDays=7)
    assert logs.describe_log_groups(logGroupNamePrefix="parity-retention")["logGroups"][0]["retentionInDays"] == 7
    logs.delete_retention_policy(logGroupName="parity-retention")
    assert "retentionInDays" not in logs.describe_log_groups(logGroupNamePrefix="parity-retention")["logGroups"][0]
    with pytest.raises(ClientError) as excinfo:
        logs.put_retention_policy(logGroupName="parity-retention", retentionInDays=2)
    code, message = _error(excinfo)
    assert code == "InvalidParameterException"
    days = "1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653"
    assert message.endswith(f"Member must satisfy enum value set: [{days}]")
    with pytest.raises(ClientError) as excinfo:
        logs.put_retention_policy(logGroupName="parity-no-such-group", retentionInDays=7)
    assert _error(excinfo) == ("ResourceNotFoundException", "The specified log group does not exist.")


def test_events_older_than_the_retention_are_rejected_as_expired(aws: Callable[..., Any]) -> None:
    logs = aws("logs")
    logs.create_log_group(logGroupName="parity-expired")
    logs.create_log_stream(logGroupName="parity-expired", logStreamName="s")
    logs.put_retention_policy(logGroupName="parity-expired", retentionInDays=1)
    now = _now_ms()
    answer = logs.put_log_events(
        logGroupName="parity-expired",
        logStreamName="s",
        logEvents=[{"timestamp": now - 3 * DAY_MS, "message": "old"}, {"timestamp": now, "message": "new"}],
    )
    assert answer["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 1}
    events = logs.get_log_events(logGroupName="parity-expired", logStreamName="s")["events"]
    assert [e["message"] for e in events] == ["new"]


def test_tags_through_both_apis(aws: Callable[..., Any]) -> None:
    logs = aws("logs")
    logs.create_log_group(logGroupName="parity-tags", tags={"env": "dev"})
    assert logs.list_tags_log_group(logGroupName="parity-tags")["tags"] == {"env": "dev"}
    logs.tag_log_group(logGroupName="parity-tags", tags={"team": "data", "env": "test"})
    arn = logs.describe_log_groups(logGroupNamePrefix="parity-tags")["logGroups"][0]["logGroupArn"]
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"env": "test", "team": "data"}
    logs.tag_resource(resourceArn=arn, tags={"cost": "1"})
    logs.untag_log_group(logGroupName="parity-tags", tags=["env"])
    logs.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert logs.list_tags_log_group(logGroupName="parity-tags")["tags"] == {"cost": "1"}
    with pytest.raises(ClientError) as excinfo:
        logs.list_tags_log_group(logGroupName="parity-no-such-group")
    assert _error(excinfo) == ("ResourceNotFoundException", "The specified log group does not exist.")


def test_kms_key_is_kept_and_shown(aws: Callable[..., Any]) -> None:
    logs = aws("logs")
    key = "arn:aws:kms:us-east-1:111111111111:key/51d81fab-b138-4bd2-8a09-07fd6d37224d"
    logs.create_log_group(logGroupName="parity-kms", kmsKeyId=key)
    group = logs.describe_log_groups(logGroupNamePrefix="parity-kms")["logGroups"][0]
    assert group["kmsKeyId"] == key
    assert group["deletionProtectionEnabled"] is False
    logs.disassociate_kms_key(logGroupName="parity-kms")
    assert "kmsKeyId" not in logs.describe_log_groups(logGroupNamePrefix="parity-kms")["logGroups"][0]


def test_put_log_events_answers(aws: Callable[..., Any]) -> None:
    logs = aws("logs")
    logs.create_log_group(logGroupName="parity-put")
    logs.create_log_stream(logGroupName="parity-put", logStreamName="s")
    now = _now_ms()
    answer = logs.put_log_events(logGroupName="parity-put", logStreamName="s", logEvents=[{"timestamp": now, "message": "m"}])
    assert len(answer["nextSequenceToken"]) == 56
    assert answer["nextSequenceToken"].isdigit()
    assert "rejectedLogEventsInfo" not in answer
    # One too-old event: the end index is exclusive (AWS answers 1), and the token still comes back.
    answer = logs.put_log_events(
        logGroupName="parity-put", logStreamName="s", logEvents=[{"timestamp": now - 20 * DAY_MS, "message": "old"}]
    )
    assert answer["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1}
    # A rejected event does not count towards the 24 hours a batch may span.
    answer = logs.put_log_events(
        logGroupName="parity-put",
        logStreamName="s",
        logEvents=[{"timestamp": now - 20 * DAY_MS, "message": "old"}, {"timestamp": now, "message": "now"}],
    )
    assert answer["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1}
    with pytest.raises(ClientError) as excinfo:
        logs.put_log_events(
            logGroupName="parity-put",
            logStreamName="s",
            logEvents=[{"timestamp": now - 2 * DAY_MS, "message": "a"}, {"timestamp": now, "message": "b"}],
        )
    assert _error(excinfo)[0] == "InvalidParameterException"


def test_a_missing_stream_is_reported_even_when_every_event_is_rejected(aws: Callable[..., Any]) -> None:
    logs = aws("logs")
    logs.create_log_group(logGroupName="parity-missing")
    with pytest.raises(ClientError) as excinfo:
        logs.put_log_events(logGroupName="parity-missing", logStreamName="nope", logEvents=[{"timestamp": 0, "message": "line"}])
    assert _error(excinfo) == ("ResourceNotFoundException", "The specified log stream does not exist.")
