"""A SAM function with ``TenancyConfig`` (Lambda tenant isolation), deployed and invoked over the wire."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.cfn.deployer import Deployment

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Isolated:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: tenant-isolated
      Runtime: python3.12
      CodeUri: src/
      Handler: app.handler
      TenancyConfig:
        TenantIsolationMode: PER_TENANT
"""
HANDLER = """\
def handler(event, context):
    return {"tenant_id": context.tenant_id}
"""


def test_a_template_function_with_tenancy_config_runs_per_tenant(
    app_dir: Callable[..., Path], make_stack: Callable[..., Deployment], aws: Callable[..., Any]
) -> None:
    make_stack(app_dir(TEMPLATE, files={"src/app.py": HANDLER}), "tenants")
    lam = aws("lambda")
    assert lam.get_function_configuration(FunctionName="tenant-isolated")["TenancyConfig"] == {"TenantIsolationMode": "PER_TENANT"}
    answer = lam.invoke(FunctionName="tenant-isolated", TenantId="tenant-blue")
    assert json.loads(answer["Payload"].read()) == {"tenant_id": "tenant-blue"}
    with pytest.raises(ClientError) as caught:
        lam.invoke(FunctionName="tenant-isolated")
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValueException"


def test_an_unknown_isolation_mode_is_a_template_error(app_dir: Callable[..., Path], make_stack: Callable[..., Deployment]) -> None:
    with pytest.raises(Exception, match="TenancyConfig"):
        make_stack(app_dir(TEMPLATE.replace("PER_TENANT", "SHARED"), files={"src/app.py": HANDLER}), "bad-tenancy")
