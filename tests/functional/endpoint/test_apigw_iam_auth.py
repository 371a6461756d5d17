"""IAM authorization (``AWS_IAM``) on REST and HTTP APIs, over real HTTP, signed by botocore's own SigV4 signer.

A client signs the local URL it calls (``<endpoint>/_sluiceway/apis/<apiId>/<stage>/...``) for the service
``execute-api`` in the stack's region with one of the endpoint's access keys, exactly as it would sign
``https://<apiId>.execute-api.<region>.amazonaws.com/<stage>/...``. The endpoint without keys refuses
every such request (fail closed).
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from sluiceway.endpoint.apigateway import apis_from_resources, local_base_url
from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.lambdas.invoker import FunctionSpec
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

HANDLER = (__name__.rpartition(".")[0] + "." if "." in __name__ else "") + "apigateway_handlers.steer"
KEY_ID, SECRET = "AKIDLOCALIAM", "s3cret-iam"
REST_ID, HTTP_ID = "iamrest001", "iamhttp001"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _resources(account: str) -> dict[str, Any]:
    fn = f"arn:aws:lambda:{REGION}:{account}:function:IamEcho"
    uri = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{fn}/invocations"
    return {
        "Rest": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "iam"}},
        "Root": {
            "Type": "AWS::ApiGateway::Method",
            "Properties": {
                "RestApiId": REST_ID, "ResourceId": "rootid", "HttpMethod": "GET", "AuthorizationType": "AWS_IAM",
                "Integration": {
                    "Type": "MOCK", "RequestTemplates": {"application/json": '{"statusCode": 200}'},
                    "IntegrationResponses": [{"StatusCode": 200, "ResponseTemplates": {"application/json": '{"ok": true}'}}],
                },
                "MethodResponses": [{"StatusCode": 200}],
            },
        },
        "Items": {"Type": "AWS::ApiGateway::Resource", "Properties": {"RestApiId": REST_ID, "ParentId": "rootid", "PathPart": "items"}},
        "Item": {"Type": "AWS::ApiGateway::Resource", "Properties": {"RestApiId": REST_ID, "ParentId": "itemsid", "PathPart": "{id}"}},
        "ItemAny": {
            "Type": "AWS::ApiGateway::Method",
            "Properties": {
                "RestApiId": REST_ID, "ResourceId": "itemid", "HttpMethod": "ANY", "AuthorizationType": "AWS_IAM",
                "Integration": {"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST", "Uri": uri},
            },
        },
        "Dep": {"Type": "AWS::ApiGateway::Deployment", "Properties": {"RestApiId": REST_ID, "StageName": "Prod"}},
        "Http": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"Name": "iam-http", "ProtocolType": "HTTP"}},
        "HttpStage": {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {"ApiId": HTTP_ID, "StageName": "$default", "AutoDeploy": True}},
        "HttpRoute": {
            "Type": "AWS::ApiGatewayV2::Route",
            "Properties": {"ApiId": HTTP_ID, "RouteKey": "GET /who", "AuthorizationType": "AWS_IAM", "Target": "integrations/hi001"},
        },
        "HttpIntegration": {
            "Type": "AWS::ApiGatewayV2::Integration",
            "Properties": {"ApiId": HTTP_ID, "IntegrationType": "AWS_PROXY", "IntegrationUri": fn, "PayloadFormatVersion": "2.0"},
        },
    }  # fmt: skip


_PHYSICAL = {"Rest": REST_ID, "Items": "itemsid", "Item": "itemid", "Http": HTTP_ID, "HttpIntegration": "hi001"}


def _serve(endpoint: Endpoint) -> None:
    stack = endpoint.stack
    resources = _resources(stack.settings.account_id)
    physical = {name: name.lower()[:10] for name in resources} | _PHYSICAL
    apis = apis_from_resources(resources, physical, region=REGION, account_id=stack.settings.account_id)
    stack.invoker.register(FunctionSpec("IamEcho", HANDLER, timeout_s=10))
    endpoint.apis.deploy(apis)


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    """An endpoint with one access key (on the loopback, where other services take unsigned calls)."""
    settings = Settings.load(data_dir=tmp_path_factory.mktemp("iam") / "data", workers=1, endpoint_port=free_port())
    stack = build_stack(settings, invoker_mode="thread")
    stack.start("iam authorization tests")
    try:
        served = Endpoint(stack, host="127.0.0.1", port=settings.endpoint_port, access_keys={KEY_ID: SECRET})
        served.start()
        try:
            _serve(served)
            yield served
        finally:
            served.close()
    finally:
        stack.close()


class _SignedAt(SigV4Auth):
    """botocore's signer with the request's date chosen (a client whose clock is off)."""

    def __init__(self, credentials: Credentials, service: str, region: str, when: datetime) -> None:
        super().__init__(credentials, service, region)
        self._when = when

    def add_auth(self, request: AWSRequest) -> None:
        request.context["timestamp"] = self._when.strftime("%Y%m%dT%H%M%SZ")
        self._modify_request_before_signing(request)
        string_to_sign = self.string_to_sign(request, self.canonical_request(request))
        self._inject_signature_to_request(request, self.signature(string_to_sign, request))


def _call(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    key: tuple[str, str] | None = (KEY_ID, SECRET),
    service: str = "execute-api",
    region: str = REGION,
    when: datetime | None = None,
) -> tuple[int, dict[str, str], Any]:
    headers: dict[str, str] = {"Content-Type": "application/json"} if body is not None else {}
    if key is not None:
        signed = AWSRequest(method=method, url=url, data=body, headers=headers)
        credentials = Credentials(*key)
        signer = SigV4Auth(credentials, service, region) if when is None else _SignedAt(credentials, service, region, when)
        signer.add_auth(signed)
        headers = dict(signed.headers.items())
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers.items()), json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers.items()), json.loads(error.read())


def test_a_request_signed_by_botocore_is_served_and_the_event_names_the_signer(keyed: Endpoint) -> None:
    base = local_base_url(keyed.url, REST_ID)
    assert _call("GET", base + "/Prod/")[::2] == (200, {"ok": True})
    # A percent-encoded path, a query and a body are all covered by the signature as sent.
    status, _, event = _call("POST", base + "/Prod/items/a%20b?x=1&y=two%20words", body=b'{"n": 1}')
    assert status == 200, event
    assert event["pathParameters"] == {"id": "a%20b"} and event["queryStringParameters"] == {"x": "1", "y": "two words"}
    account = keyed.stack.settings.account_id
    identity = event["requestContext"]["identity"]
    assert (identity["accessKey"], identity["accountId"], identity["caller"], identity["user"]) == (KEY_ID, account, account, account)
    assert identity["userArn"] == f"arn:aws:iam::{account}:root"
    assert "authorizer" not in event["requestContext"]


def test_refusals_are_api_gateways(keyed: Endpoint) -> None:
    url = local_base_url(keyed.url, REST_ID) + "/Prod/items/1"
    status, headers, body = _call("GET", url, key=None)
    assert (status, body, headers["x-amzn-ErrorType"]) == (
        403,
        {"message": "Missing Authentication Token"},
        "MissingAuthenticationTokenException",
    )

    status, headers, body = _call("GET", url, key=(KEY_ID, "not-the-secret"))
    assert status == 403 and headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    message = body["message"]
    assert message.startswith(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key"
        " and signing method. Consult the service documentation for details.\n\nThe Canonical String for this request"
        f" should have been\n'GET\n/_sluiceway/apis/{REST_ID}/Prod/items/1\n\n"
    )
    assert "\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256\n" in message and f"/{REGION}/execute-api/aws4_request\n" in message

    status, headers, body = _call("GET", url, key=("AKIDUNKNOWN", SECRET))
    assert (status, body) == (403, {"message": "The security token included in the request is invalid."})
    assert headers["x-amzn-ErrorType"] == "AccessDeniedException"

    # A signature for another service or region is not one for this API.
    status, _, body = _call("GET", url, service="lambda")
    assert (status, body) == (403, {"message": "Credential should be scoped to correct service: 'execute-api'."})
    status, _, body = _call("GET", url, region="eu-west-1")
    assert (status, body) == (403, {"message": "Credential should be scoped to a valid region, not 'eu-west-1'."})


def test_a_signature_dated_more_than_five_minutes_away_is_refused(keyed: Endpoint) -> None:
    url = local_base_url(keyed.url, REST_ID) + "/Prod/"
    now = datetime.now(UTC)
    assert _call("GET", url, when=now - timedelta(minutes=3))[0] == 200
    status, headers, body = _call("GET", url, when=now - timedelta(minutes=7))
    assert status == 403 and headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    stamp = (now - timedelta(minutes=7)).strftime("%Y%m%dT%H%M%SZ")
    assert body["message"].startswith(f"Signature expired: {stamp} is now earlier than ") and body["message"].endswith(" - 5 min.)")
    status, _, body = _call("GET", url, when=now + timedelta(minutes=7))
    assert status == 403 and body["message"].startswith("Signature not yet current: ") and body["message"].endswith(" + 5 min.)")


def test_an_http_api_route_puts_the_signer_in_the_2_0_authorizer(keyed: Endpoint) -> None:
    url = local_base_url(keyed.url, HTTP_ID) + "/who"
    status, _, event = _call("GET", url)
    assert status == 200, event
    account = keyed.stack.settings.account_id
    assert event["requestContext"]["authorizer"] == {
        "iam": {
            "accessKey": KEY_ID, "accountId": account, "callerId": account, "cognitoIdentity": None, "principalOrgId": None,
            "userArn": f"arn:aws:iam::{account}:root", "userId": account,
        }
    }  # fmt: skip
    assert _call("GET", url, key=None)[::2] == (403, {"message": "Forbidden"})
    assert _call("GET", url, key=(KEY_ID, "wrong"))[0] == 403


def test_the_api_says_what_iam_authorization_checks(keyed: Endpoint) -> None:
    (rest,) = (api for api in keyed.apis.apis.values() if api.api_id == REST_ID)
    assert any("2 route(s) with IAM authorization" in w and "policies" in w for w in rest.warnings)
    assert not any("refuses every request" in w for w in rest.warnings)


def test_without_access_keys_every_request_is_refused(endpoint: Endpoint) -> None:
    _serve(endpoint)
    url = local_base_url(endpoint.url, REST_ID) + "/Prod/"
    status, headers, body = _call("GET", url)
    assert (status, body, headers["x-amzn-ErrorType"]) == (
        403,
        {"message": "Missing Authentication Token"},
        "MissingAuthenticationTokenException",
    )
    assert _call("GET", local_base_url(endpoint.url, HTTP_ID) + "/who")[::2] == (403, {"message": "Forbidden"})
    (rest,) = (api for api in endpoint.apis.apis.values() if api.api_id == REST_ID)
    assert any("GET /" in w and "SLUICEWAY_ENDPOINT_ACCESS_KEYS" in w and "refuses every request" in w for w in rest.warnings)
