"""Which service a request is for, from what real clients send."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from botocore.awsrequest import AWSPreparedRequest

from sluiceway.endpoint.context import HttpRequest
from sluiceway.endpoint.routing import SIGNING_NAMES, TARGET_PREFIXES, route, virtual_host_bucket
from sluiceway.endpoint.services import SERVICES


def _as_request(prepared: Any) -> HttpRequest:
    path, _, query = prepared.url.split("://", 1)[1].partition("/")[2].partition("?")
    body = prepared.body if isinstance(prepared.body, bytes) else (prepared.body or "").encode()
    headers = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in prepared.headers.items()}
    return HttpRequest(prepared.method, "/" + path, query, headers, body)


def _sent(service: str, operation: str, **params: Any) -> HttpRequest:
    """The request a boto3 client would send (captured before it leaves)."""
    session = botocore.session.get_session()
    client = session.create_client(
        service, region_name="eu-west-1", endpoint_url="http://127.0.0.1:4566", aws_access_key_id="AK", aws_secret_access_key="SK"
    )
    captured: list[HttpRequest] = []

    def capture(request: AWSPreparedRequest, **_: Any) -> None:
        captured.append(_as_request(request))
        raise _Stop

    client.meta.events.register("before-send", capture)
    with pytest.raises(_Stop):
        getattr(client, operation)(**params)
    return captured[0]


class _Stop(Exception):
    pass


@pytest.mark.parametrize(
    ("service", "operation", "params"),
    [
        ("s3", "list_buckets", {}),
        ("sqs", "list_queues", {}),
        ("sns", "list_topics", {}),
        ("dynamodb", "list_tables", {}),
        ("events", "list_rules", {}),
        ("scheduler", "list_schedules", {}),
        ("stepfunctions", "list_state_machines", {}),
        ("lambda", "list_functions", {}),
        ("logs", "describe_log_groups", {}),
        ("sts", "get_caller_identity", {}),
    ],
)
def test_every_served_service_is_told_apart_from_what_boto3_sends(service: str, operation: str, params: dict[str, Any]) -> None:
    found = route(_sent(service, operation, **params))
    assert found.service == service
    assert found.region == "eu-west-1" and found.access_key == "AK"


def test_the_tables_agree_with_botocores_models() -> None:
    session = botocore.session.get_session()
    for service in SERVICES:
        model = session.get_service_model(service)
        # DynamoDB Streams signs as dynamodb: X-Amz-Target tells the two apart. SES v2 signs as
        # ses, as v1 does: its /v2/ paths tell the two apart.
        shared = {"dynamodbstreams": "dynamodb", "sesv2": "ses"}
        assert SIGNING_NAMES[model.signing_name] == shared.get(service, service)
        prefix = model.metadata.get("targetPrefix")
        if prefix and model.protocol == "json":
            assert TARGET_PREFIXES[prefix] == service


def test_an_unsigned_query_post_goes_by_its_action() -> None:
    request = HttpRequest("POST", "/", "", {"content-type": "application/x-www-form-urlencoded"}, b"Action=Publish&TopicArn=x")
    assert route(request, query_actions={"sqs": frozenset({"SendMessage"}), "sns": frozenset({"Publish"})}).service == "sns"


def test_a_service_we_do_not_serve_is_named_not_guessed() -> None:
    request = _sent("firehose", "list_delivery_streams")
    found = route(request)
    assert found.service is None and found.named == "Firehose_20150804"


def test_unsigned_anything_else_is_s3() -> None:
    assert route(HttpRequest("GET", "/bucket/key", "", {})).service == "s3"


@pytest.mark.parametrize(
    ("host", "bucket"),
    [
        ("127.0.0.1:4566", None),
        ("localhost:4566", None),
        ("photos.localhost:4566", "photos"),
        ("my.dotted.bucket.s3.us-east-1.amazonaws.com", "my.dotted.bucket"),
        ("photos.s3.amazonaws.com", "photos"),
        ("s3.amazonaws.com", None),
        ("s3.localhost:4566", None),
        ("s3.us-east-1.amazonaws.com", None),
        (None, None),
    ],
)
def test_virtual_host_style_names_the_bucket_in_the_host(host: str | None, bucket: str | None) -> None:
    assert virtual_host_bucket(host) == bucket


def test_ses_v1_and_v2_share_a_signing_name_and_are_told_apart_by_path() -> None:
    signed = {"authorization": "AWS4-HMAC-SHA256 Credential=AKID/20261205/us-east-1/ses/aws4_request, SignedHeaders=host, Signature=0"}
    assert route(HttpRequest("POST", "/", "", signed)).service == "ses"
    assert route(HttpRequest("POST", "/v2/email/outbound-emails", "", signed)).service == "sesv2"
    assert route(HttpRequest("GET", "/v2", "", signed)).service == "sesv2"
    assert route(HttpRequest("GET", "/v20", "", signed)).service == "ses"


def test_an_unsigned_ses_v1_post_goes_to_ses_and_the_older_services_keep_their_actions() -> None:
    from sluiceway.endpoint.protocol import service_model
    from sluiceway.endpoint.routing import QUERY_SERVICES

    actions = {s: frozenset(service_model(s).operation_names) for s in QUERY_SERVICES}
    form = {"content-type": "application/x-www-form-urlencoded"}
    assert route(HttpRequest("POST", "/", "", form, b"Action=ListIdentities"), query_actions=actions).service == "ses"
    assert route(HttpRequest("POST", "/", "", form, b"Action=ListQueues"), query_actions=actions).service == "sqs"
    assert route(HttpRequest("POST", "/", "", form, b"Action=ListTopics"), query_actions=actions).service == "sns"
