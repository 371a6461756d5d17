"""CloudWatch dashboards through the endpoint with boto3: put, get, list (prefix, paging), delete and their errors."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

# Registers the dashboard operations (the service module imports it too).
import sluiceway.endpoint.services._cloudwatch_dashboards  # noqa: F401
from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.dashboards import SqliteDashboards
from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.stack import Stack

Client = Callable[..., Any]

BODY = {
    "widgets": [
        {
            "type": "metric",
            "x": 0,
            "y": 0,
            "width": 6,
            "height": 6,
            "properties": {
                "metrics": [["AWS/EC2", "CPUUtilization", "InstanceId", "i-12345678"]],
                "region": "us-east-1",
                "view": "timeSeries",
                "stacked": False,
            },
        }
    ]
}


@pytest.fixture(scope="module")
def cw(aws: Client) -> Any:
    return aws("cloudwatch")


def error_of(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call()
    response: dict[str, Any] = caught.value.response
    return response


def names(cw: Any, prefix: str) -> list[str]:
    return [entry["DashboardName"] for entry in cw.list_dashboards(DashboardNamePrefix=prefix)["DashboardEntries"]]


def test_a_dashboard_is_put_read_back_listed_and_deleted(cw: Any, stack: Stack) -> None:
    # Spacing kept as the caller wrote it: GetDashboard answers the body byte for byte.
    body = json.dumps(BODY, indent=1)
    put = cw.put_dashboard(DashboardName="life-Cycle_1", DashboardBody=body)
    assert put["DashboardValidationMessages"] == []
    got = cw.get_dashboard(DashboardName="life-Cycle_1")
    arn = f"arn:aws:cloudwatch::{stack.settings.account_id}:dashboard/life-Cycle_1"
    assert (got["DashboardName"], got["DashboardArn"], got["DashboardBody"]) == ("life-Cycle_1", arn, body)

    [entry] = cw.list_dashboards(DashboardNamePrefix="life-")["DashboardEntries"]
    assert (entry["DashboardName"], entry["DashboardArn"], entry["Size"]) == ("life-Cycle_1", arn, len(body.encode()))
    assert isinstance(entry["LastModified"], datetime)
    assert cw.list_dashboards(DashboardNamePrefix="no-valid")["DashboardEntries"] == []
    assert "NextToken" not in cw.list_dashboards(DashboardNamePrefix="life-")

    # A second put replaces the body.
    cw.put_dashboard(DashboardName="life-Cycle_1", DashboardBody='{"widgets": []}')
    assert cw.get_dashboard(DashboardName="life-Cycle_1")["DashboardBody"] == '{"widgets": []}'
    assert cw.list_dashboards(DashboardNamePrefix="life-")["DashboardEntries"][0]["Size"] == len('{"widgets": []}')

    cw.delete_dashboards(DashboardNames=["life-Cycle_1"])
    assert names(cw, "life-") == []
    error = error_of(lambda: cw.get_dashboard(DashboardName="life-Cycle_1"))
    assert error["Error"]["Code"] == "ResourceNotFound"
    assert error["Error"]["Message"] == "Dashboard life-Cycle_1 does not exist"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_dashboards_outlive_the_process_that_put_them(cw: Any, stack: Stack) -> None:
    cw.put_dashboard(DashboardName="durable", DashboardBody='{"widgets":[]}')
    reopened = Database(stack.settings.db_path)
    try:
        found = SqliteDashboards(reopened, stack.local.clock).get("durable")
    finally:
        reopened.close()
    assert found is not None and found.body == '{"widgets":[]}'


def test_a_prefix_is_a_plain_case_sensitive_prefix(cw: Any) -> None:
    for name in ("pre_a", "preXa", "Pre_b", "pre_c"):
        cw.put_dashboard(DashboardName=name, DashboardBody='{"widgets": []}')
    # "_" is no wildcard, and names come back in order.
    assert names(cw, "pre_") == ["pre_a", "pre_c"]
    assert names(cw, "Pre") == ["Pre_b"]


@pytest.mark.parametrize("name", ["bad:name", "with space", "dot.ted", ""])
def test_a_name_with_other_characters_is_refused(cw: Any, name: str) -> None:
    error = error_of(lambda: cw.put_dashboard(DashboardName=name, DashboardBody='{"widgets": []}'))
    assert error["Error"]["Code"] == "InvalidParameterValue"
    assert error["Error"]["Message"] == (
        "The value for field DashboardName contains invalid characters. It can only contain alphanumerics, dash (-) and underscore (_).\n"
    )
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_name_of_255_characters_is_taken_and_one_more_refused(cw: Any) -> None:
    cw.put_dashboard(DashboardName="n" * 255, DashboardBody='{"widgets": []}')
    assert cw.get_dashboard(DashboardName="n" * 255)["DashboardName"] == "n" * 255
    error = error_of(lambda: cw.put_dashboard(DashboardName="n" * 256, DashboardBody='{"widgets": []}'))
    assert error["Error"]["Code"] == "InvalidParameterValue"


@pytest.mark.parametrize("body", ["not json", "[]", '"widgets"', "{"])
def test_a_body_that_is_not_a_json_object_is_refused(cw: Any, body: str) -> None:
    error = error_of(lambda: cw.put_dashboard(DashboardName="not-an-object", DashboardBody=body))
    assert (error["Error"]["Code"], error["Error"]["Message"]) == (
        "InvalidParameterInput",
        "The field DashboardBody must be a valid JSON object",
    )
    assert names(cw, "not-an-object") == []


def test_a_body_without_widgets_is_refused_with_its_validation_messages(cw: Any) -> None:
    error = error_of(lambda: cw.put_dashboard(DashboardName="no-widgets", DashboardBody='{"start": "-PT6H"}'))
    assert error["Error"]["Code"] == "InvalidParameterInput"
    assert error["Error"]["Message"] == (
        "The dashboard body is invalid, there are 1 validation errors:\n"
        '[\n  {\n    "dataPath": "",\n    "message": "Should have required property \'widgets\'"\n  }\n]'
    )
    assert error["dashboardValidationMessages"] == [{"DataPath": "", "Message": "Should have required property 'widgets'"}]
    assert names(cw, "no-widgets") == []


def test_each_bad_widget_is_named_by_its_data_path(cw: Any) -> None:
    body = {
        "widgets": [
            {"type": "text", "width": 25, "height": 0, "properties": {"markdown": "hi"}},
            "not a widget",
            {"x": -1, "y": 1.5, "properties": []},
        ]
    }
    error = error_of(lambda: cw.put_dashboard(DashboardName="bad-widgets", DashboardBody=json.dumps(body)))
    assert error["Error"]["Code"] == "InvalidParameterInput"
    assert error["dashboardValidationMessages"] == [
        {"DataPath": "/widgets/0/width", "Message": "Should be <= 24"},
        {"DataPath": "/widgets/0/height", "Message": "Should be >= 1"},
        {"DataPath": "/widgets/1", "Message": "Should be object"},
        {"DataPath": "/widgets/2", "Message": "Should have required property 'type'"},
        {"DataPath": "/widgets/2/properties", "Message": "Should be object"},
        {"DataPath": "/widgets/2/x", "Message": "Should be >= 0"},
        {"DataPath": "/widgets/2/y", "Message": "Should be integer"},
    ]
    assert error["Error"]["Message"].startswith("The dashboard body is invalid, there are 7 validation errors:\n[\n")


def test_widgets_must_be_an_array_of_at_most_500(cw: Any) -> None:
    error = error_of(lambda: cw.put_dashboard(DashboardName="w", DashboardBody='{"widgets": {}}'))
    assert error["dashboardValidationMessages"] == [{"DataPath": "/widgets", "Message": "Should be array"}]
    text = {"type": "text", "properties": {"markdown": "."}}
    cw.put_dashboard(DashboardName="five-hundred", DashboardBody=json.dumps({"widgets": [text] * 500}))
    error = error_of(lambda: cw.put_dashboard(DashboardName="five-hundred-one", DashboardBody=json.dumps({"widgets": [text] * 501})))
    assert error["dashboardValidationMessages"] == [{"DataPath": "/widgets", "Message": "Should NOT have more than 500 items"}]


def test_an_unknown_widget_key_is_a_warning_and_the_dashboard_is_made(cw: Any) -> None:
    body = json.dumps({"widgets": [{"type": "text", "colour": "red", "properties": {"markdown": "hi"}}]})
    put = cw.put_dashboard(DashboardName="warned", DashboardBody=body)
    assert put["DashboardValidationMessages"] == [
        {"DataPath": "/widgets/0", "Message": 'The "colour" property is not expected to be part of a widget definition, will be ignored'}
    ]
    assert cw.get_dashboard(DashboardName="warned")["DashboardBody"] == body


def test_delete_deletes_those_there_then_names_the_missing(cw: Any) -> None:
    for name in ("del-1", "del-2", "del-3"):
        cw.put_dashboard(DashboardName=name, DashboardBody='{"widgets": []}')
    error = error_of(lambda: cw.delete_dashboards(DashboardNames=["del-2", "del-missing", "del-1", "del-gone"]))
    assert error["Error"]["Code"] == "ResourceNotFound"
    assert error["Error"]["Message"] == "The specified dashboard does not exist. [del-missing, del-gone]"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404
    # As many as possible are deleted (CloudWatch's current model), not none.
    assert names(cw, "del-") == ["del-3"]
    cw.delete_dashboards(DashboardNames=["del-3"])
    assert names(cw, "del-") == []
    assert error_of(lambda: cw.delete_dashboards(DashboardNames=[]))["Error"]["Code"] == "MissingParameter"


def json_call(endpoint: Endpoint, operation: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """CloudWatch's JSON protocol, written by hand: it carries what an SDK refuses to send (a lone surrogate, as ``\\ud800``)."""
    request = urllib.request.Request(
        endpoint.url + "/",
        data=json.dumps(params).encode(),
        headers={"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"GraniteServiceVersion20100801.{operation}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_body_nested_deeper_than_any_parser_goes_is_not_a_json_object(cw: Any) -> None:
    body = '{"widgets": [' + "[" * 100_000 + "]" * 100_000 + "]}"
    error = error_of(lambda: cw.put_dashboard(DashboardName="deep", DashboardBody=body))
    assert (error["Error"]["Code"], error["Error"]["Message"]) == (
        "InvalidParameterInput",
        "The field DashboardBody must be a valid JSON object",
    )


def test_a_lone_surrogate_is_refused_in_a_body_and_in_any_name(endpoint: Endpoint, cw: Any) -> None:
    lone = "\ud800"
    # Escaped within the body's own JSON it is six characters of text, and the body is taken.
    status, _ = json_call(endpoint, "PutDashboard", {"DashboardName": "escaped", "DashboardBody": '{"widgets": [], "a": "\\ud800"}'})
    assert status == 200
    status, answer = json_call(endpoint, "PutDashboard", {"DashboardName": "lone", "DashboardBody": f'{{"widgets": [], "a": "{lone}"}}'})
    assert (status, answer["__type"], answer["message"]) == (
        400,
        "InvalidParameterInput",
        "The field DashboardBody must be a valid JSON object",
    )
    assert names(cw, "lone") == []
    for operation, params in [
        ("PutDashboard", {"DashboardName": lone, "DashboardBody": '{"widgets": []}'}),
        ("GetDashboard", {"DashboardName": lone}),
        ("DeleteDashboards", {"DashboardNames": ["escaped", lone]}),
    ]:
        status, answer = json_call(endpoint, operation, params)
        assert (status, answer["__type"]) == (400, "InvalidParameterValue"), operation
        assert answer["message"].startswith("The value for field DashboardName contains invalid characters."), operation
    assert names(cw, "escaped") == ["escaped"]  # a refused call deletes nothing


@pytest.mark.parametrize("name", ["bad:name", "n" * 256])
def test_get_and_delete_check_the_name_as_put_does(cw: Any, name: str) -> None:
    for call in (lambda: cw.get_dashboard(DashboardName=name), lambda: cw.delete_dashboards(DashboardNames=[name])):
        error = error_of(call)
        assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidParameterValue", 400)
        assert error["Error"]["Message"].startswith("The value for field DashboardName ")


def test_list_pages_by_a_thousand(cw: Any, stack: Stack) -> None:
    store = SqliteDashboards(stack.local.db, stack.local.clock)
    made = [f"page-{i:04d}" for i in range(1001)]
    for name in made:
        store.put(name, '{"widgets": []}')
    first = cw.list_dashboards(DashboardNamePrefix="page-")
    assert len(first["DashboardEntries"]) == 1000 and "NextToken" in first
    second = cw.list_dashboards(DashboardNamePrefix="page-", NextToken=first["NextToken"])
    assert "NextToken" not in second
    assert [e["DashboardName"] for e in first["DashboardEntries"] + second["DashboardEntries"]] == made
    paged = [
        e["DashboardName"]
        for page in cw.get_paginator("list_dashboards").paginate(DashboardNamePrefix="page-")
        for e in page["DashboardEntries"]
    ]
    assert paged == made

    # A token goes on the listing it was made for, and no other.
    forged = base64.urlsafe_b64encode(b"page-0500").decode()
    for prefix, token in [("page", first["NextToken"]), ("", first["NextToken"]), ("page-", "not-a-token"), ("page-", forged)]:
        error = error_of(lambda p=prefix, t=token: cw.list_dashboards(DashboardNamePrefix=p, NextToken=t))
        assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidParameterValue", 400)
        assert error["Error"]["Message"] == "The value for parameter NextToken is not valid.\n"
