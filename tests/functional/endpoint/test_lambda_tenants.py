"""Lambda tenant isolation through boto3: TenancyConfig, Invoke's TenantId, context.tenant_id, one tenant per worker."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

ROLE = "arn:aws:iam::111111111111:role/lambda-role"
# Module state counts the invocations one execution environment served.
COUNTER = (
    "import os\n"
    "count = 0\n"
    "def handler(event, context):\n"
    "    global count\n"
    "    count += 1\n"
    "    return {'tenant_id': context.tenant_id, 'count': count, 'pid': os.getpid()}\n"
)


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("lambda_function.py", source)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def lam(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    data_dir: Path = tmp_path_factory.mktemp("lambda-tenants") / "data"
    built = build_stack(Settings.load(data_dir=data_dir, workers=2), invoker_mode="process")
    built.start("lambda tenant tests")
    served = Endpoint(built, host="127.0.0.1", port=0)
    served.start()
    built.invoker.use_endpoint(served.url)
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    client = session.client("lambda", endpoint_url=served.url, config=Config(retries={"max_attempts": 1}, read_timeout=60))
    for name, extra in (("isolated", {"TenancyConfig": {"TenantIsolationMode": "PER_TENANT"}}), ("shared", {})):
        client.create_function(
            FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="lambda_function.handler", Code={"ZipFile": _zip(COUNTER)}, **extra
        )
    try:
        yield client
    finally:
        served.close()
        built.close()


def _invoke(lam: Any, name: str, **extra: Any) -> dict[str, Any]:
    answer = lam.invoke(FunctionName=name, **extra)
    assert "FunctionError" not in answer
    result: dict[str, Any] = json.loads(answer["Payload"].read())
    return result


def test_configuration_shows_the_tenancy_config_only_when_set(lam: Any) -> None:
    assert lam.get_function_configuration(FunctionName="isolated")["TenancyConfig"] == {"TenantIsolationMode": "PER_TENANT"}
    assert lam.get_function(FunctionName="isolated")["Configuration"]["TenancyConfig"] == {"TenantIsolationMode": "PER_TENANT"}
    assert "TenancyConfig" not in lam.get_function_configuration(FunctionName="shared")
    listed = {f["FunctionName"]: f for f in lam.list_functions()["Functions"]}
    assert listed["isolated"]["TenancyConfig"] == {"TenantIsolationMode": "PER_TENANT"}


def test_the_handler_reads_the_tenant_from_its_context(lam: Any) -> None:
    assert _invoke(lam, "isolated", TenantId="tenant-blue")["tenant_id"] == "tenant-blue"
    assert _invoke(lam, "shared")["tenant_id"] is None


def test_a_tenant_isolated_function_refuses_an_invocation_without_a_tenant(lam: Any) -> None:
    with pytest.raises(ClientError) as caught:
        lam.invoke(FunctionName="isolated")
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as caught:
        lam.invoke(FunctionName="isolated", InvocationType="Event")
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValueException"


def test_a_function_without_tenant_isolation_ignores_a_tenant(lam: Any) -> None:
    # As a published SAM app shows AWS doing: the header is taken, the environment stays shared.
    blue = _invoke(lam, "shared", TenantId="tenant-blue")
    green = _invoke(lam, "shared", TenantId="tenant-green")
    assert blue["tenant_id"] is None and green["tenant_id"] is None
    assert green["count"] == blue["count"] + 1 and green["pid"] == blue["pid"]


def test_a_malformed_tenant_id_is_a_validation_error(lam: Any) -> None:
    with pytest.raises(ClientError) as caught:
        lam.invoke(FunctionName="isolated", TenantId="tenant#blue")
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "at 'tenantId' failed to satisfy constraint" in caught.value.response["Error"]["Message"]


def test_execution_environments_are_never_shared_across_tenants(lam: Any) -> None:
    blue = [_invoke(lam, "isolated", TenantId="blue") for _ in range(3)]
    green = _invoke(lam, "isolated", TenantId="green")
    again = _invoke(lam, "isolated", TenantId="blue")
    # One warm environment per tenant: blue's counter runs on, green's starts from one elsewhere.
    assert [r["count"] for r in blue] == [1, 2, 3]
    assert green["count"] == 1
    assert green["pid"] != blue[-1]["pid"]
    assert again["tenant_id"] == "blue"
    assert again["count"] == 4 or again["pid"] != blue[-1]["pid"]  # warm, or a fresh blue environment


def test_tenancy_config_is_create_only(lam: Any) -> None:
    # UpdateFunctionConfiguration has no TenancyConfig member (botocore would refuse it before sending).
    unchecked = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1").client(
        "lambda", endpoint_url=lam.meta.endpoint_url, config=Config(retries={"max_attempts": 1}, parameter_validation=False)
    )

    def add_tenancy_config(request: Any, **_: Any) -> None:
        body = json.loads(request.data or b"{}")
        body["TenancyConfig"] = {"TenantIsolationMode": "PER_TENANT"}
        request.data = json.dumps(body).encode()

    unchecked.meta.events.register("before-sign.lambda.UpdateFunctionConfiguration", add_tenancy_config)
    # Lambda reads the members its model has: the update applies, the unknown member changes nothing
    # (AWS's answer to an unknown member is unconfirmed; the function never gains the mode either way).
    answer = unchecked.update_function_configuration(FunctionName="shared", Description="tenancy unchanged")
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert answer["Description"] == "tenancy unchanged" and "TenancyConfig" not in answer
    assert "TenancyConfig" not in lam.get_function_configuration(FunctionName="shared")


def test_an_unknown_isolation_mode_is_refused(lam: Any) -> None:
    with pytest.raises(ClientError) as caught:
        lam.create_function(
            FunctionName="bad-mode",
            Runtime="python3.12",
            Role=ROLE,
            Handler="lambda_function.handler",
            Code={"ZipFile": _zip(COUNTER)},
            TenancyConfig={"TenantIsolationMode": "SHARED"},
        )
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_a_tenant_isolated_function_takes_no_function_url(lam: Any) -> None:
    # Lambda's tenant isolation guide: function URLs are not supported (the refusal's words are unconfirmed).
    with pytest.raises(ClientError) as caught:
        lam.create_function_url_config(FunctionName="isolated", AuthType="NONE")
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as caught:
        lam.get_function_url_config(FunctionName="isolated")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_tenant_isolated_function_is_no_event_source_mapping_target(lam: Any) -> None:
    # Only Invoke and API Gateway can name a tenant: a mapping's invocations never do.
    sqs = boto3.client(
        "sqs", endpoint_url=lam.meta.endpoint_url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    url = sqs.create_queue(QueueName="tenant-source")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    with pytest.raises(ClientError) as caught:
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="isolated")
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert lam.list_event_source_mappings(FunctionName="isolated")["EventSourceMappings"] == []
    mapping = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="shared", Enabled=False)
    try:
        with pytest.raises(ClientError) as caught:
            lam.update_event_source_mapping(UUID=mapping["UUID"], FunctionName="isolated")
        assert caught.value.response["Error"]["Code"] == "InvalidParameterValueException"
    finally:
        lam.delete_event_source_mapping(UUID=mapping["UUID"])


def test_a_tenant_isolated_function_is_no_subscription_filter_destination(lam: Any) -> None:
    # CloudWatch Logs names no tenant: the function refuses its test invocation, as Logs words it.
    logs = boto3.client(
        "logs", endpoint_url=lam.meta.endpoint_url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    logs.create_log_group(logGroupName="/tenant/source")
    destination = lam.get_function_configuration(FunctionName="isolated")["FunctionArn"]
    with pytest.raises(ClientError) as caught:
        logs.put_subscription_filter(logGroupName="/tenant/source", filterName="f", filterPattern="", destinationArn=destination)
    assert caught.value.response["Error"]["Code"] == "InvalidParameterException"
    assert logs.describe_subscription_filters(logGroupName="/tenant/source")["subscriptionFilters"] == []
