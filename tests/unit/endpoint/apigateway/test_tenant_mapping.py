"""The ``X-Amz-Tenant-Id`` mapping of a REST Lambda integration: which request value becomes Lambda's TenantId."""

from __future__ import annotations

import pytest

from sluiceway.endpoint.apigateway.definitions import integration_of
from sluiceway.endpoint.apigateway.integrations import TENANT_PARAMETER, mapped_tenant
from sluiceway.endpoint.apigateway.model import Integration

ARN = "arn:aws:lambda:us-east-1:111111111111:function:iso"
CONTEXT = {"stage": "dev", "authorizer": {"tenantId": "t-42", "admin": True, "claims": {"custom:tenant": "acme"}}}
STAGE_VARIABLES = {"tenant": "green", "empty": ""}


def _integration(source: str) -> Integration:
    return integration_of(
        {
            "type": "aws",
            "httpMethod": "POST",
            "uri": f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{ARN}/invocations",
            "requestParameters": {TENANT_PARAMETER: source},
        },
        kind="REST",
        where="test",
    )


@pytest.mark.parametrize(
    ("source", "tenant"),
    [
        ("'blue'", "blue"),
        ("method.request.header.X-Tenant", "red"),
        ("method.request.querystring.tenant", "q"),
        ("method.request.path.tenant", "p"),
        ("context.authorizer.tenantId", "t-42"),
        ("context.authorizer.claims.custom:tenant", "acme"),
        ("context.authorizer.admin", "true"),
        ("context.stage", "dev"),
        ("stageVariables.tenant", "green"),
        # A value the request lacks (or an empty one) sends no header: the function then refuses.
        ("context.authorizer.missing", None),
        ("context.authorizer", None),
        ("stageVariables.missing", None),
        ("stageVariables.empty", None),
    ],
)
def test_the_mapping_reads_its_source(source: str, tenant: str | None) -> None:
    found = mapped_tenant(
        _integration(source),
        {"x-tenant": "red"},
        {"tenant": "q"},
        {"tenant": "p"},
        context=CONTEXT,
        stage_variables=STAGE_VARIABLES,
    )
    assert found == tenant
