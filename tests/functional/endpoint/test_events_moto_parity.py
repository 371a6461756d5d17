"""EventBridge answers checked against AWS's recorded behaviour: bus policies, bus settings, bus names, target ARNs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.endpoint.server import Endpoint


def _error(call: Callable[..., Any], **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response["Error"]
    return error["Code"], error["Message"]


def _account(endpoint: Endpoint) -> str:
    return endpoint.stack.settings.account_id


def test_put_permission_writes_aws_statements_and_replaces_by_sid(aws: Callable[..., Any], endpoint: Endpoint) -> None:
    events = aws("events")
    events.create_event_bus(Name="policy-bus")
    bus_arn = f"arn:aws:events:us-east-1:{_account(endpoint)}:event-bus/policy-bus"
    assert "Policy" not in events.describe_event_bus(Name="policy-bus")

    events.put_permission(EventBusName="policy-bus", Action="events:PutEvents", Principal="222222222222", StatementId="a")
    events.put_permission(EventBusName="policy-bus", Action="events:PutEvents", Principal="*", StatementId="b")
    # The same Sid again replaces its statement rather than adding one.
    events.put_permission(EventBusName="policy-bus", Action="events:PutEvents", Principal="333333333333", StatementId="a")

    policy = json.loads(events.describe_event_bus(Name="policy-bus")["Policy"])
    assert policy == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "a",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::333333333333:root"},
                "Action": "events:PutEvents",
                "Resource": bus_arn,
            },
            {"Sid": "b", "Effect": "Allow", "Principal": "*", "Action": "events:PutEvents", "Resource": bus_arn},
        ],
    }


def test_remove_permission_drops_the_policy_with_its_last_statement(aws: Callable[..., Any]) -> None:
    events = aws("events")
    events.create_event_bus(Name="policy-bus-2")
    assert _error(events.remove_permission, EventBusName="policy-bus-2", StatementId="nope") == (
        "ResourceNotFoundException",
        "Statement with the provided id does not exist.",
    )
    events.put_permission(EventBusName="policy-bus-2", Action="events:PutEvents", Principal="222222222222", StatementId="a")
    events.put_permission(EventBusName="policy-bus-2", Action="events:PutEvents", Principal="333333333333", StatementId="b")
    assert _error(events.remove_permission, EventBusName="policy-bus-2", StatementId="nope")[1] == (
        "Statement with the provided id does not exist."
    )

    events.remove_permission(EventBusName="policy-bus-2", StatementId="a")
    statements = json.loads(events.describe_event_bus(Name="policy-bus-2")["Policy"])["Statement"]
    assert [s["Sid"] for s in statements] == ["b"]

    events.remove_permission(EventBusName="policy-bus-2", StatementId="b")
    assert "Policy" not in events.describe_event_bus(Name="policy-bus-2")


def test_remove_all_permissions_and_whole_policies(aws: Callable[..., Any]) -> None:
    events = aws("events")
    events.create_event_bus(Name="policy-bus-3")
    document = {"Version": "2012-10-17", "Statement": [{"Sid": "x", "Effect": "Allow", "Principal": "*", "Action": "events:PutEvents"}]}
    events.put_permission(EventBusName="policy-bus-3", Policy=json.dumps(document))
    assert json.loads(events.describe_event_bus(Name="policy-bus-3")["Policy"]) == document

    events.remove_permission(EventBusName="policy-bus-3", RemoveAllPermissions=True)
    assert "Policy" not in events.describe_event_bus(Name="policy-bus-3")


def test_permission_errors(aws: Callable[..., Any]) -> None:
    events = aws("events")
    events.create_event_bus(Name="policy-bus-4")
    grant = {"Action": "events:PutEvents", "Principal": "222222222222", "StatementId": "a"}
    assert _error(events.put_permission, EventBusName="no-such-bus", **grant) == (
        "ResourceNotFoundException",
        "Event bus no-such-bus does not exist.",
    )
    assert _error(events.remove_permission, EventBusName="no-such-bus", StatementId="a") == (
        "ResourceNotFoundException",
        "Event bus no-such-bus does not exist.",
    )
    assert _error(events.put_permission, EventBusName="policy-bus-4", **{**grant, "Action": "events:PutRule"}) == (
        "ValidationException",
        "Provided value in parameter 'action' is not supported.",
    )


def test_create_event_bus_keeps_kms_key_and_dead_letter_queue(aws: Callable[..., Any]) -> None:
    events = aws("events")
    key = "arn:aws:kms:us-east-1:123456789012:key/k"
    dlq = "arn:aws:sqs:us-east-1:123456789012:dlq"
    created = events.create_event_bus(Name="settings-bus", KmsKeyIdentifier=key, DeadLetterConfig={"Arn": dlq})
    assert created["KmsKeyIdentifier"] == key
    assert created["DeadLetterConfig"] == {"Arn": dlq}
    described = events.describe_event_bus(Name="settings-bus")
    assert described["KmsKeyIdentifier"] == key
    assert described["DeadLetterConfig"] == {"Arn": dlq}


def test_create_event_bus_name_errors(aws: Callable[..., Any]) -> None:
    events = aws("events")
    assert _error(events.create_event_bus, Name="a/b") == ("ValidationException", "Event bus name must not contain '/'.")
    source = "aws.partner/example.com/123/x"
    assert _error(events.create_event_bus, Name=source, EventSourceName=source) == (
        "ResourceNotFoundException",
        f"Event source {source} does not exist.",
    )


def test_put_targets_refuses_a_malformed_arn_for_the_whole_request(aws: Callable[..., Any]) -> None:
    events = aws("events")
    events.put_rule(Name="arn-check", EventPattern=json.dumps({"source": ["x"]}))
    code, message = _error(
        events.put_targets,
        Rule="arn-check",
        Targets=[{"Id": "ok", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}, {"Id": "bad", "Arn": "test-bucket"}],
    )
    assert (code, message) == ("ValidationException", "Parameter test-bucket is not valid. Reason: Provided Arn is not in correct format.")
    assert events.list_targets_by_rule(Rule="arn-check")["Targets"] == []
