"""Schemathesis against the running management API, from its own OpenAPI document, as an admin.

No answer is a server error and every answer matches the document (status, content type, body
schema, headers). Examples are few per operation and derandomized: the run is the same each time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from management_api_helpers import API, Pool, make_user, sign_in
from schemathesis import checks

from sluiceway.endpoint.server import Endpoint

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


@pytest.fixture(scope="module")
def admin_token(aws: Callable[..., Any], pool: Pool) -> str:
    return sign_in(aws, pool.client_id, make_user(aws, pool.pool_id, "admin"))["AccessToken"]


@pytest.fixture(scope="module")
def api_schema(endpoint: Endpoint) -> Any:
    return schemathesis.openapi.from_url(f"{endpoint.url}{API}/openapi.json")


def test_no_server_error_and_answers_match_the_schema(api_schema: Any, endpoint: Endpoint, admin_token: str) -> None:
    failures: dict[str, str] = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=6, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            case.call_and_validate(base_url=f"{endpoint.url}{API}", headers={"Authorization": f"Bearer {admin_token}"}, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # every operation is tried; all failures are reported together
            failures[operation.label] = str(exc)[:2000]
    assert failures == {}
