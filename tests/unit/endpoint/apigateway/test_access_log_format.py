"""Access log settings read from templates, and a request's line in the stage's Format."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from sluiceway.endpoint.apigateway import apis_from_resources
from sluiceway.endpoint.apigateway.access_log_format import access_log_of, render
from sluiceway.endpoint.apigateway.access_logs import stream_name

VARIABLES: dict[str, Any] = {
    "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    "status": 200,
    "identity": {"sourceIp": "127.0.0.1", "userAgent": 'curl "7"', "caller": None},
    "authorizer": {"claims": {"sub": "u-1", "cognito:groups": "admin"}, "principalId": ""},
    "responseLength": 0,
}


def test_json_format_stays_json_with_values_in_place() -> None:
    line = render(
        '{ "requestId":"$context.requestId", "status":$context.status, "ua":"$context.identity.userAgent",'
        ' "caller":"$context.identity.caller", "nope":"$context.no.such", "sub":"$context.authorizer.claims.sub",'
        ' "groups":"$context.authorizer.claims.cognito:groups", "len":"$context.responseLength" }',
        VARIABLES,
    )
    assert json.loads(line) == {
        "requestId": VARIABLES["requestId"], "status": 200, "ua": 'curl "7"', "caller": "-", "nope": "-",
        "sub": "u-1", "groups": "admin", "len": "0",
    }  # fmt: skip


def test_text_formats_get_values_as_they_are_and_dashes_for_none() -> None:
    line = render(
        '$context.identity.sourceIp - - "$context.identity.userAgent" $context.authorizer.principalId $context.status.', VARIABLES
    )
    assert line == '127.0.0.1 - - "curl "7"" - 200.'


def test_settings_name_their_log_group() -> None:
    arn = "arn:aws:logs:us-east-1:111111111111:log-group:/my/access-logs:*"
    settings, unserved = access_log_of({"DestinationArn": arn, "Format": "$context.requestId"}, "Stage.AccessLogSetting")
    assert unserved is None and settings is not None
    assert (settings.group, settings.destination_arn, settings.format) == ("/my/access-logs", arn, "$context.requestId")
    assert access_log_of(None, "x") == (None, None)
    firehose = "arn:aws:firehose:us-east-1:111111111111:deliverystream/amazon-apigateway-logs"
    settings, unserved = access_log_of({"DestinationArn": firehose, "Format": "$context.extendedRequestId"}, "S.A")
    assert settings is None and unserved is not None and "Firehose" in unserved


LOG_GROUP = "arn:aws:logs:us-east-1:111111111111:log-group:g"
FIREHOSE = "arn:aws:firehose:us-east-1:111111111111:deliverystream/"


@pytest.mark.parametrize(
    ("value", "kind", "problem"),
    [
        ({"DestinationArn": LOG_GROUP, "Format": "$context.status"}, "REST", "must include"),
        ({"DestinationArn": "arn:aws:s3:::bucket", "Format": "$context.requestId"}, "REST", "log group ARN"),
        ({"DestinationArn": LOG_GROUP, "Format": ""}, "REST", "Access Log value must not be empty"),
        ({"DestinationArn": LOG_GROUP, "Format": ["$context.requestId"]}, "REST", "must be a string"),
        ("text", "REST", "must be a mapping"),
        (
            {"DestinationArn": FIREHOSE + "logs", "Format": "$context.requestId"},
            "REST",
            "must begin with amazon-apigateway-",
        ),
        (
            {
                "DestinationArn": FIREHOSE + "amazon-apigateway-x",
                "Format": "$context.requestId",
            },
            "HTTP",
            "not to Firehose",
        ),
        ({"DestinationArn": LOG_GROUP, "Format": "$context.requestId\n$context.status"}, "HTTP", "single line"),
        ({"DestinationArn": LOG_GROUP, "Format": "$context.requestId" + " " * 3055}, "HTTP", "at most 3072 characters"),
    ],
)
def test_settings_api_gateway_refuses_are_refused(value: Any, kind: Any, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        access_log_of(value, "Stage.AccessLogSetting", kind)


def test_http_formats_up_to_3_kb_on_one_line_are_taken() -> None:
    line = "$context.requestId" + " " * 3054
    settings, unserved = access_log_of({"DestinationArn": LOG_GROUP, "Format": line}, "S.A", "HTTP")
    assert unserved is None and settings is not None and len(settings.format) == 3072
    # A REST format is not held to the HTTP API's model constraints.
    settings, _ = access_log_of({"DestinationArn": LOG_GROUP, "Format": "$context.requestId\n" + "x" * 2000}, "S.A", "REST")
    assert settings is not None


@pytest.mark.parametrize(
    ("value", "lacks"),
    [({"DestinationArn": LOG_GROUP}, "DestinationArn without Format"), ({"Format": "$context.requestId"}, "Format without DestinationArn")],
)
@pytest.mark.parametrize("kind", ["REST", "HTTP"])
def test_half_settings_are_kept_by_api_gateway_and_log_nothing(value: Any, lacks: str, kind: Any) -> None:
    settings, unserved = access_log_of(value, "Stage.AccessLogSetting", kind)
    assert settings is None
    assert unserved is not None and lacks in unserved and "no access log" in unserved


def test_message_string_is_already_json_and_goes_in_as_it_is() -> None:
    variables = {**VARIABLES, "error": {"message": 'No "route"', "messageString": json.dumps('No "route"')}}
    line = render('{"requestId":"$context.requestId","error":$context.error.messageString,"m":"$context.error.message"}', variables)
    assert json.loads(line) == {"requestId": VARIABLES["requestId"], "error": 'No "route"', "m": 'No "route"'}
    # Quoted in a JSON format, it is written as it is too (AWS documents it for {"message":$context.error.messageString}).
    assert render("$context.requestId $context.error.messageString", variables) == f'{VARIABLES["requestId"]} "No \\"route\\""'


def test_json_values_keep_non_ascii_text() -> None:
    line = render('{"ua":"$context.identity.userAgent"}', {"identity": {"userAgent": "café ☕"}})
    assert line == '{"ua":"café ☕"}'


def test_a_variable_followed_by_a_dash_or_dot_keeps_its_value_and_the_text() -> None:
    line = render("$context.identity.sourceIp-$context.requestId $context.status.$context.responseLength", VARIABLES)
    assert line == f"127.0.0.1-{VARIABLES['requestId']} 200.0"
    # An absent value is a dash and the text stays; an object's unknown member is one dash.
    assert render("$context.identity.caller-x $context.authorizer.claims.email $context.nothing-x", VARIABLES) == "--x - --x"


def test_stages_carry_their_access_log_and_no_note_is_given() -> None:
    arn = "arn:aws:logs:us-east-1:111111111111:log-group:access:*"
    resources = {
        "Rest": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "r"}},
        "RestStage": {"Type": "AWS::ApiGateway::Stage", "Properties": {
            "RestApiId": "abcde12345", "StageName": "Prod", "AccessLogSetting": {"DestinationArn": arn, "Format": "$context.requestId"}}},
        "Http": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Name": "h", "ProtocolType": "HTTP"}},
        "HttpStage": {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {
            "ApiId": "fghij67890", "StageName": "$default", "AccessLogSettings": {"DestinationArn": arn, "Format": "$context.requestId"}}},
    }  # fmt: skip
    physical = {"Rest": "abcde12345", "Http": "fghij67890", "RestStage": "Prod", "HttpStage": "$default"}
    apis = {a.kind: a for a in apis_from_resources(resources, physical, region="us-east-1", account_id="111111111111")}
    for api in apis.values():
        (stage,) = api.stages
        assert stage.access_log is not None and stage.access_log.group == "access"
        assert not [w for w in api.warnings if "AccessLog" in w]


def test_stream_names() -> None:
    assert re.fullmatch(r"[0-9a-f]{32}", stream_name("REST", "abcde12345", "Prod", 0))
    assert stream_name("REST", "abcde12345", "Prod", 0) == stream_name("REST", "abcde12345", "Prod", 10**12)
    assert stream_name("HTTP", "fghij67890", "$default", 1_700_000_000_000) == "fghij67890_$default-2023-11-14-22-13"
