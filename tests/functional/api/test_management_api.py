"""The management API on a running endpoint: who may call what (every route × every kind of caller), and that it acts.

Tokens are real: users of the stack's default pool signed in through cognito-idp InitiateAuth,
machine clients through the OAuth2 token endpoint; bad tokens are made the ways attackers make them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from management_api_helpers import API, Pool, machine_token, make_user, sign_in

from sluiceway.cognito import jwt
from sluiceway.endpoint.server import Endpoint
from sluiceway.runtime.stack import Stack

NOBODY_ARN = "arn:aws:states:us-east-1:000000000000:execution:nothing:nobody"
ROLES = ("viewer", "operator", "admin")


# ---------------------------------------------------------------------------- callers


@pytest.fixture(scope="module")
def tokens(endpoint: Endpoint, aws: Callable[..., Any], pool: Pool, stack: Stack) -> dict[str, str]:
    """Access tokens by caller kind (``None`` = no token); bad ones under ``bad:...``."""
    found: dict[str, str] = {}
    users = {role: make_user(aws, pool.pool_id, role) for role in ROLES}
    for role, name in users.items():
        found[role] = sign_in(aws, pool.client_id, name)["AccessToken"]
    found["no-group"] = sign_in(aws, pool.client_id, make_user(aws, pool.pool_id))["AccessToken"]
    for scope, role in (("sluiceway/read", "viewer"), ("sluiceway/operate", "operator"), ("sluiceway/admin", "admin")):
        found[f"scope:{role}"] = machine_token(endpoint, aws, pool.pool_id, scope)

    admin = sign_in(aws, pool.client_id, users["admin"])
    header = jwt.unverified_header(admin["AccessToken"])
    claims = jwt.unverified_claims(admin["AccessToken"])
    _, payload, signature = admin["AccessToken"].split(".")
    found["bad:id-token"] = admin["IdToken"]
    found["bad:alg-none"] = f"{_b64({'alg': 'none', 'kid': header['kid']})}.{payload}."
    found["bad:alg-none-signed"] = f"{_b64({'alg': 'none', 'kid': header['kid']})}.{payload}.{signature}"
    key, kid = stack.local.user_pools.signing_key(pool.pool_id)
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = f"{_b64({'alg': 'HS256', 'kid': kid})}.{payload}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    found["bad:hs256-public-key"] = f"{signing_input}.{jwt.b64url_encode(mac)}"
    now = int(time.time())
    # Minted with the pool's own key (cognito/jwt.py): only the expiry is wrong.
    found["bad:expired"] = jwt.sign({**claims, "iat": now - 7200, "exp": now - 3600, "auth_time": now - 7200}, key, kid)
    viewer_head, viewer_payload, viewer_signature = found["viewer"].split(".")
    lifted = {**jwt.unverified_claims(found["viewer"]), "cognito:groups": ["admin"]}
    found["bad:tampered"] = f"{viewer_head}.{jwt.b64url_encode(json.dumps(lifted).encode())}.{viewer_signature}"
    found["bad:unknown-key"] = jwt.sign(claims, jwt.generate_key(), "not-a-key-of-the-pool")
    found["bad:wrong-issuer"] = jwt.sign({**claims, "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Elsewhere"}, key, kid)
    found["bad:other-pool"] = _other_pool_token(aws)
    found["bad:garbage"] = "not.a.token"
    return found


def _b64(value: dict[str, Any]) -> str:
    return jwt.b64url_encode(json.dumps(value).encode())


def _other_pool_token(aws: Callable[..., Any]) -> str:
    """An admin of another pool on this endpoint: signed by a key the default pool does not have."""
    idp = aws("cognito-idp")
    pool_id = idp.create_user_pool(PoolName=f"other-{uuid.uuid4().hex[:6]}")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="c", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])[
        "UserPoolClient"
    ]["ClientId"]
    idp.create_group(UserPoolId=pool_id, GroupName="admin")
    name = make_user(aws, pool_id, "admin")
    return sign_in(aws, client_id, name)["AccessToken"]


# ---------------------------------------------------------------------------- the matrix

#: Every route: (method, path, body, lowest role). Targets do not exist, so an allowed caller gets a
#: 2xx or a 4xx about the target, never 401/403; the matrix changes nothing on the stack.
ROUTES: list[tuple[str, str, Any, str]] = [
    ("GET", "/state-machines", None, "viewer"),
    ("GET", "/executions?stateMachineArn=arn:aws:states:us-east-1:000000000000:stateMachine:nothing", None, "viewer"),
    ("GET", f"/executions/{NOBODY_ARN}", None, "viewer"),
    ("GET", f"/executions/{NOBODY_ARN}/history", None, "viewer"),
    ("POST", "/executions", {"stateMachineName": "no-such-machine"}, "operator"),
    ("POST", f"/executions/{NOBODY_ARN}/stop", {}, "operator"),
    ("POST", f"/executions/{NOBODY_ARN}/redrive", None, "operator"),
    ("POST", "/objects/uploads", {"bucket": "no-such-bucket-here", "key": "a.csv"}, "operator"),
    ("GET", "/buckets", None, "viewer"),
    ("GET", "/buckets/no-such-bucket-here/objects", None, "viewer"),
    ("GET", "/buckets/no-such-bucket-here/objects/a/b.csv", None, "viewer"),
    ("GET", "/queues", None, "viewer"),
    ("GET", "/queues/no-such-queue", None, "viewer"),
    ("POST", "/queues/no-such-queue/redrive", None, "operator"),
    ("GET", "/topics", None, "viewer"),
    ("GET", "/topics/arn:aws:sns:us-east-1:000000000000:no-such-topic/subscriptions", None, "viewer"),
    ("GET", "/event-buses", None, "viewer"),
    ("GET", "/rules", None, "viewer"),
    ("GET", "/alarms", None, "viewer"),
    ("GET", "/functions", None, "viewer"),
    ("GET", "/functions/no-such-function", None, "viewer"),
    ("GET", "/resources", None, "viewer"),
    ("GET", "/dashboard", None, "viewer"),
    ("GET", f"/executions/{NOBODY_ARN}/pipeline", None, "viewer"),
    ("GET", f"/executions/{NOBODY_ARN}/graph", None, "viewer"),
    ("GET", f"/executions/{NOBODY_ARN}/states/Anything", None, "viewer"),
    ("GET", "/queues/no-such-queue/messages", None, "operator"),
    ("GET", "/queues/no-such-queue/dead-letter-sources", None, "viewer"),
    ("GET", "/users", None, "admin"),
    ("GET", "/users/no-such-user", None, "admin"),
    ("POST", "/users", {"username": "x", "password": "short"}, "admin"),
    ("DELETE", "/users/no-such-user", None, "admin"),
    ("PUT", "/users/no-such-user/groups/viewer", None, "admin"),
    ("DELETE", "/users/no-such-user/groups/viewer", None, "admin"),
    ("GET", "/groups", None, "admin"),
]
RANK = {role: n for n, role in enumerate(ROLES, start=1)}
CALLERS = [None, "no-group", *ROLES, *(f"scope:{r}" for r in ROLES)]
BAD = [
    "bad:id-token", "bad:alg-none", "bad:alg-none-signed", "bad:hs256-public-key", "bad:expired", "bad:tampered",
    "bad:unknown-key", "bad:wrong-issuer", "bad:other-pool", "bad:garbage",
]  # fmt: skip


def call(endpoint: Endpoint, method: str, path: str, token: str | None = None, body: Any = None, **options: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.request(method, f"{endpoint.url}{API}{path}", headers=headers, json=body, timeout=30, **options)


def test_every_route_is_in_the_matrix(endpoint: Endpoint) -> None:
    document = httpx.get(f"{endpoint.url}{API}/openapi.json", timeout=30).json()
    served = {(method.upper(), path) for path, methods in document["paths"].items() for method in methods}
    listed = {(method, _template(path)) for method, path, _, _ in ROUTES}
    assert served == listed


def _template(path: str) -> str:
    """The OpenAPI path of a concrete one."""
    import re

    path = path.split("?")[0]
    path = re.sub(r"^/executions/arn:[^/]+", "/executions/{executionArn}", path)
    path = re.sub(r"/states/[^/]+$", "/states/{stateName}", path)
    path = re.sub(r"^/topics/arn:[^/]+", "/topics/{topicArn}", path)
    path = re.sub(r"^/buckets/[^/]+/objects/.+", "/buckets/{bucket}/objects/{key}", path)
    path = re.sub(r"^/buckets/[^/]+/objects$", "/buckets/{bucket}/objects", path)
    path = re.sub(r"^/queues/[^/]+", "/queues/{name}", path)
    path = re.sub(r"^/functions/[^/]+", "/functions/{name}", path)
    path = re.sub(r"^/users/[^/]+/groups/[^/]+", "/users/{username}/groups/{group}", path)
    path = re.sub(r"^/users/(?!$)[^/]+$", "/users/{username}", path)
    return path


@pytest.mark.parametrize(("method", "path", "body", "needs"), ROUTES, ids=[f"{m} {p.split('?')[0]}" for m, p, _, _ in ROUTES])
def test_who_may_call_each_route(endpoint: Endpoint, tokens: dict[str, str], method: str, path: str, body: Any, needs: str) -> None:
    for caller in CALLERS + BAD:
        answer = call(endpoint, method, path, tokens.get(caller) if caller else None, body)
        assert answer.status_code < 500 or answer.status_code == 501, (caller, answer.status_code, answer.text)
        assert "Traceback" not in answer.text
        if caller is None or caller.startswith("bad:"):
            assert answer.status_code == 401, (caller, answer.text)
            challenge = answer.headers["www-authenticate"]
            assert challenge == ("Bearer" if caller is None else 'Bearer error="invalid_token"'), caller
            assert answer.json()["error"] == "Unauthorized"
            continue
        role = caller.removeprefix("scope:")
        if RANK.get(role, 0) < RANK[needs]:
            assert answer.status_code == 403, (caller, answer.text)
            assert answer.json()["error"] == "Forbidden"
        else:
            assert answer.status_code not in (401, 403), (caller, answer.text)


def test_a_bearer_scheme_is_required_and_case_insensitive(endpoint: Endpoint, tokens: dict[str, str]) -> None:
    assert httpx.get(f"{endpoint.url}{API}/buckets", headers={"Authorization": tokens["viewer"]}).status_code == 401
    assert httpx.get(f"{endpoint.url}{API}/buckets", headers={"Authorization": f"Basic {tokens['viewer']}"}).status_code == 401
    assert httpx.get(f"{endpoint.url}{API}/buckets", headers={"Authorization": f"bearer {tokens['viewer']}"}).status_code == 200


def test_a_signed_out_users_token_is_refused(endpoint: Endpoint, aws: Callable[..., Any], pool: Pool) -> None:
    name = make_user(aws, pool.pool_id, "admin")
    token = sign_in(aws, pool.client_id, name)["AccessToken"]
    assert call(endpoint, "GET", "/users", token).status_code == 200
    aws("cognito-idp").global_sign_out(AccessToken=token)
    assert call(endpoint, "GET", "/users", token).status_code == 401


def test_the_openapi_document_needs_no_token_and_describes_the_refusals(endpoint: Endpoint) -> None:
    document = httpx.get(f"{endpoint.url}{API}/openapi.json", timeout=30).json()
    assert document["servers"] == [{"url": API}]
    assert document["components"]["securitySchemes"]["cognitoAccessToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An access token of Sluiceway's user pool",
    }
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            assert {"401", "403", "422"} <= set(operation["responses"]), (method, path)
            assert operation["security"] == [{"cognitoAccessToken": []}]


# ---------------------------------------------------------------------------- it acts on the stack


def _machine(aws: Callable[..., Any], name: str, definition: dict[str, Any]) -> str:
    arn: str = aws("stepfunctions").create_state_machine(
        name=name, definition=json.dumps(definition), roleArn="arn:aws:iam::000000000000:role/sfn"
    )["stateMachineArn"]
    return arn


def _until(check: Callable[[], Any], what: str, timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_start_an_execution_and_see_it_succeed(endpoint: Endpoint, tokens: dict[str, str], aws: Callable[..., Any]) -> None:
    machine = _machine(aws, "api-pass", {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}})
    started = call(
        endpoint, "POST", "/executions", tokens["operator"], {"stateMachineName": "api-pass", "name": "first", "input": {"n": 1}}
    )
    assert started.status_code == 201, started.text
    arn = started.json()["executionArn"]
    assert arn.endswith(":api-pass:first")

    def finished() -> dict[str, Any] | None:
        found: dict[str, Any] = call(endpoint, "GET", f"/executions/{arn}", tokens["viewer"]).json()
        return found if found["status"] != "RUNNING" else None

    described = _until(finished, "the execution to finish")
    assert described["status"] == "SUCCEEDED" and json.loads(described["output"]) == {"n": 1}
    history = call(endpoint, "GET", f"/executions/{arn}/history", tokens["viewer"]).json()
    assert [e["type"] for e in history["events"]][0] == "ExecutionStarted"
    assert history["events"][-1]["type"] == "ExecutionSucceeded"
    first_page = call(endpoint, "GET", f"/executions/{arn}/history?maxResults=2", tokens["viewer"]).json()
    assert len(first_page["events"]) == 2 and first_page["nextToken"]
    second = call(endpoint, "GET", f"/executions/{arn}/history?maxResults=2&nextToken={first_page['nextToken']}", tokens["viewer"])
    assert second.json()["events"][0]["id"] == 3

    assert call(endpoint, "POST", "/executions", tokens["operator"], {"stateMachineArn": machine, "name": "second"}).status_code == 201
    listed = call(endpoint, "GET", f"/executions?stateMachineArn={machine}", tokens["viewer"]).json()
    assert {e["name"] for e in listed["executions"]} == {"first", "second"}
    by_prefix = call(endpoint, "GET", "/executions?stateMachineName=api-pass&namePrefix=fir", tokens["viewer"]).json()
    assert [e["name"] for e in by_prefix["executions"]] == ["first"]
    paged = call(endpoint, "GET", f"/executions?stateMachineArn={machine}&maxResults=1", tokens["viewer"]).json()
    assert len(paged["executions"]) == 1 and paged["nextToken"]
    rest = call(endpoint, "GET", f"/executions?stateMachineArn={machine}&maxResults=1&nextToken={paged['nextToken']}", tokens["viewer"])
    assert {paged["executions"][0]["name"], rest.json()["executions"][0]["name"]} == {"first", "second"}
    later = call(endpoint, "GET", f"/executions?stateMachineArn={machine}&startedAfter=2999-01-01T00:00:00Z", tokens["viewer"]).json()
    assert later["executions"] == []
    again = call(endpoint, "POST", "/executions", tokens["operator"], {"stateMachineArn": machine, "name": "first", "input": {"n": 2}})
    assert again.status_code == 409 and again.json()["error"] == "ExecutionAlreadyExists"
    # 1e400 reads as infinity, which JSON has no text for: refused, never sent on as "Infinity".
    huge = httpx.post(
        f"{endpoint.url}{API}/executions",
        content=b'{"stateMachineArn": "' + machine.encode() + b'", "input": {"n": 1e400}}',
        headers={"Authorization": f"Bearer {tokens['operator']}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert huge.status_code == 400 and huge.json()["error"] == "InvalidExecutionInput", huge.text

    # inputText reaches StartExecution exactly as typed: spacing, key order, number spelling.
    typed = '{ "b": 1.50, "a": [1e2, -0], "s": "caf\\u00e9" }'
    exact = call(endpoint, "POST", "/executions", tokens["operator"], {"stateMachineArn": machine, "name": "typed", "inputText": typed})
    assert exact.status_code == 201, exact.text
    assert aws("stepfunctions").describe_execution(executionArn=exact.json()["executionArn"])["input"] == typed
    for body, code in (
        ({"stateMachineArn": machine, "inputText": "{nope"}, "InvalidExecutionInput"),
        ({"stateMachineArn": machine, "inputText": '{"x": NaN}'}, "InvalidExecutionInput"),
        ({"stateMachineArn": machine, "inputText": "{}", "input": {}}, "ValidationError"),
    ):
        refused = call(endpoint, "POST", "/executions", tokens["operator"], body)
        assert refused.status_code == 400 and refused.json()["error"] == code, (body, refused.text)


def test_stop_an_execution(endpoint: Endpoint, tokens: dict[str, str], aws: Callable[..., Any]) -> None:
    _machine(aws, "api-wait", {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 600, "End": True}}})
    arn = call(endpoint, "POST", "/executions", tokens["operator"], {"stateMachineName": "api-wait"}).json()["executionArn"]
    stopped = call(endpoint, "POST", f"/executions/{arn}/stop", tokens["operator"], {"error": "Manual", "cause": "test"})
    assert stopped.status_code == 200, stopped.text
    described = call(endpoint, "GET", f"/executions/{arn}", tokens["viewer"]).json()
    assert described["status"] == "ABORTED" and described["error"] == "Manual" and described["cause"] == "test"
    aborted = call(endpoint, "GET", "/executions?stateMachineName=api-wait&statusFilter=ABORTED", tokens["viewer"]).json()
    assert [e["executionArn"] for e in aborted["executions"]] == [arn]


def test_redrive_a_failed_execution(endpoint: Endpoint, tokens: dict[str, str], aws: Callable[..., Any]) -> None:
    task = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "no-such-function"}, "End": True}
    _machine(aws, "api-fails", {"StartAt": "Call", "States": {"Call": task}})
    arn = call(endpoint, "POST", "/executions", tokens["operator"], {"stateMachineName": "api-fails"}).json()["executionArn"]

    def failed() -> bool:
        return bool(call(endpoint, "GET", f"/executions/{arn}", tokens["viewer"]).json()["status"] == "FAILED")

    _until(failed, "the execution to fail")
    redriven = call(endpoint, "POST", f"/executions/{arn}/redrive", tokens["operator"])
    assert redriven.status_code == 200, redriven.text
    assert redriven.json()["redriveDate"]
    _until(failed, "the redriven execution to fail again")
    assert call(endpoint, "GET", f"/executions/{arn}", tokens["viewer"]).json()["redriveCount"] == 1
    history = call(endpoint, "GET", f"/executions/{arn}/history", tokens["viewer"]).json()["events"]
    assert "ExecutionRedriven" in [e["type"] for e in history]


def test_upload_through_a_presigned_url_list_and_download(endpoint: Endpoint, tokens: dict[str, str], aws: Callable[..., Any]) -> None:
    aws("s3").create_bucket(Bucket="api-uploads")
    grant = call(
        endpoint, "POST", "/objects/uploads", tokens["operator"], {"bucket": "api-uploads", "key": "in/a.csv", "contentType": "text/csv"}
    )
    assert grant.status_code == 201, grant.text
    upload = grant.json()
    assert upload["method"] == "PUT" and "X-Amz-Signature=" in upload["url"]
    put = httpx.put(upload["url"], content=b"id,n\n1,2\n", headers=upload["headers"], timeout=30)
    assert put.status_code == 200, put.text
    assert aws("s3").get_object(Bucket="api-uploads", Key="in/a.csv")["Body"].read() == b"id,n\n1,2\n"

    listed = call(endpoint, "GET", "/buckets/api-uploads/objects?prefix=in/", tokens["viewer"]).json()
    assert [(o["key"], o["size"]) for o in listed["objects"]] == [("in/a.csv", 9)]
    assert "api-uploads" in {b["name"] for b in call(endpoint, "GET", "/buckets", tokens["viewer"]).json()["buckets"]}
    detail = call(endpoint, "GET", "/buckets/api-uploads/objects/in/a.csv", tokens["viewer"]).json()
    assert detail["size"] == 9 and detail["contentType"] == "text/csv"
    assert httpx.get(detail["download"]["url"], timeout=30).content == b"id,n\n1,2\n"
    redirect = call(endpoint, "GET", "/buckets/api-uploads/objects/in/a.csv?redirect=true", tokens["viewer"])
    assert redirect.status_code == 307 and "X-Amz-Signature=" in redirect.headers["location"]
    missing = call(endpoint, "GET", "/buckets/api-uploads/objects/in/none.csv", tokens["viewer"])
    assert missing.status_code == 404 and set(missing.json()) == {"error", "message"}


def test_queue_depths_dead_letter_queue_and_redrive(endpoint: Endpoint, tokens: dict[str, str], aws: Callable[..., Any]) -> None:
    sqs = aws("sqs")
    dlq_url = sqs.create_queue(QueueName="api-work-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    url = sqs.create_queue(QueueName="api-work", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    first = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"]
    assert first
    # A second receive moves it to the dead-letter queue (maxReceiveCount 1).
    _until(lambda: not sqs.receive_message(QueueUrl=url, VisibilityTimeout=0).get("Messages"), "the message to go to the DLQ")

    queue = call(endpoint, "GET", "/queues/api-work", tokens["viewer"]).json()
    assert queue["deadLetterQueue"]["name"] == "api-work-dlq" and queue["deadLetterQueue"]["maxReceiveCount"] == 1
    assert queue["deadLetterQueue"]["messages"] == 1 and queue["messages"] == 0
    listed = {q["name"]: q for q in call(endpoint, "GET", "/queues?prefix=api-work", tokens["viewer"]).json()["queues"]}
    assert set(listed) == {"api-work", "api-work-dlq"} and listed["api-work-dlq"]["messages"] == 1

    task = call(endpoint, "POST", "/queues/api-work/redrive", tokens["operator"], {"maxNumberOfMessagesPerSecond": 10})
    assert task.status_code == 202, task.text
    assert task.json()["sourceArn"] == dlq_arn and task.json()["destinationArn"] == listed["api-work"]["arn"]
    _until(lambda: call(endpoint, "GET", "/queues/api-work", tokens["viewer"]).json()["messages"] == 1, "the redrive")
    not_a_dlq = call(endpoint, "POST", "/queues/api-work-dlq/redrive", tokens["operator"])
    assert not_a_dlq.status_code in (202, 400, 409), not_a_dlq.text


def test_topics_subscriptions_and_rules(endpoint: Endpoint, tokens: dict[str, str], aws: Callable[..., Any]) -> None:
    topic = aws("sns").create_topic(Name="api-topic")["TopicArn"]
    queue_arn = aws("sqs").get_queue_attributes(
        QueueUrl=aws("sqs").create_queue(QueueName="api-topic-q")["QueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    aws("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    topics = call(endpoint, "GET", "/topics", tokens["viewer"]).json()["topics"]
    assert {"topicArn": topic, "name": "api-topic"} in topics
    subscriptions = call(endpoint, "GET", f"/topics/{topic}/subscriptions", tokens["viewer"]).json()["subscriptions"]
    assert [(s["protocol"], s["endpoint"]) for s in subscriptions] == [("sqs", queue_arn)]

    events = aws("events")
    events.put_rule(Name="api-rule", EventPattern=json.dumps({"source": ["acme"]}))
    events.put_targets(Rule="api-rule", Targets=[{"Id": "q", "Arn": queue_arn}])
    rules = {r["name"]: r for r in call(endpoint, "GET", "/rules?namePrefix=api-", tokens["viewer"]).json()["rules"]}
    assert rules["api-rule"]["targets"] == [{"id": "q", "arn": queue_arn, "input": None, "inputPath": None, "deadLetterArn": None}]
    assert json.loads(rules["api-rule"]["eventPattern"]) == {"source": ["acme"]}
    assert "default" in {b["name"] for b in call(endpoint, "GET", "/event-buses", tokens["viewer"]).json()["eventBuses"]}
    assert call(endpoint, "GET", "/rules?eventBusName=no-such-bus", tokens["viewer"]).status_code == 404


def test_alarms_are_listed_with_their_state_and_filters(endpoint: Endpoint, tokens: dict[str, str], aws: Callable[..., Any]) -> None:
    cloudwatch = aws("cloudwatch")
    for name in ("api-errors-high", "api-latency-high"):
        cloudwatch.put_metric_alarm(
            AlarmName=name, Namespace="Shop", MetricName="Errors", Statistic="Sum", Period=60, EvaluationPeriods=1,
            Threshold=1.0, ComparisonOperator="GreaterThanOrEqualToThreshold",
        )  # fmt: skip
    cloudwatch.set_alarm_state(AlarmName="api-latency-high", StateValue="ALARM", StateReason="set by the test")
    cloudwatch.put_composite_alarm(AlarmName="api-any-high", AlarmRule="ALARM(api-errors-high) OR ALARM(api-latency-high)")
    listed = call(endpoint, "GET", "/alarms?namePrefix=api-", tokens["viewer"])
    assert listed.status_code == 200, listed.text
    states = {a["alarmName"]: (a["stateValue"], a["alarmType"]) for a in listed.json()["alarms"]}
    assert states == {
        "api-errors-high": ("INSUFFICIENT_DATA", "MetricAlarm"),
        "api-latency-high": ("ALARM", "MetricAlarm"),
        "api-any-high": ("ALARM", "CompositeAlarm"),
    }
    [composite] = [a for a in listed.json()["alarms"] if a["alarmType"] == "CompositeAlarm"]
    assert composite["alarmRule"] == "ALARM(api-errors-high) OR ALARM(api-latency-high)"
    alarming = call(endpoint, "GET", "/alarms?namePrefix=api-&stateValue=ALARM", tokens["viewer"])
    assert [a["alarmName"] for a in alarming.json()["alarms"]] == ["api-latency-high", "api-any-high"]
    assert call(endpoint, "GET", "/alarms?nextToken=not-a-token", tokens["viewer"]).status_code == 400


def test_an_admin_manages_users_who_then_sign_in(endpoint: Endpoint, tokens: dict[str, str], aws: Callable[..., Any], pool: Pool) -> None:
    name = f"new-{uuid.uuid4().hex[:8]}"
    made = call(endpoint, "POST", "/users", tokens["admin"], {"username": name, "password": "Another-9-password", "groups": ["operator"]})
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "CONFIRMED" and made.json()["groups"] == ["operator"]
    signed_in = aws("cognito-idp").initiate_auth(
        ClientId=pool.client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": name, "PASSWORD": "Another-9-password"}
    )["AuthenticationResult"]["AccessToken"]
    assert call(endpoint, "POST", "/executions", signed_in, {"stateMachineName": "no-such"}).status_code == 404  # operator: allowed
    assert call(endpoint, "GET", "/users", signed_in).status_code == 403
    assert call(endpoint, "POST", "/users", tokens["admin"], {"username": name}).status_code == 409
    assert call(endpoint, "PUT", f"/users/{name}/groups/admin", tokens["admin"]).status_code == 204
    assert call(endpoint, "GET", f"/users/{name}", tokens["admin"]).json()["groups"] == ["admin", "operator"]
    assert name in {u["username"] for u in call(endpoint, "GET", "/users", tokens["admin"]).json()["users"]}
    assert {g["name"] for g in call(endpoint, "GET", "/groups", tokens["admin"]).json()["groups"]} >= set(ROLES)
    assert call(endpoint, "DELETE", f"/users/{name}/groups/admin", tokens["admin"]).status_code == 204
    assert call(endpoint, "DELETE", f"/users/{name}", tokens["admin"]).status_code == 204
    assert call(endpoint, "GET", f"/users/{name}", tokens["admin"]).status_code == 404


def test_a_password_the_pool_refuses_leaves_no_user(endpoint: Endpoint, tokens: dict[str, str]) -> None:
    name = f"weak-{uuid.uuid4().hex[:8]}"
    refused = call(endpoint, "POST", "/users", tokens["admin"], {"username": name, "password": "abcdef"})
    assert refused.status_code == 400 and refused.json()["error"] == "InvalidPasswordException"
    assert call(endpoint, "GET", f"/users/{name}", tokens["admin"]).status_code == 404


def test_aws_errors_are_json_problems(endpoint: Endpoint, tokens: dict[str, str]) -> None:
    missing = call(endpoint, "GET", f"/executions/{NOBODY_ARN}", tokens["viewer"])
    assert missing.status_code == 404 and missing.json()["error"] == "ExecutionDoesNotExist"
    invalid = call(endpoint, "GET", "/executions/not-an-arn", tokens["viewer"])
    assert invalid.status_code == 400 and invalid.json()["error"] == "InvalidArn"
    neither = call(endpoint, "GET", "/executions", tokens["viewer"])
    assert neither.status_code == 400 and neither.json()["error"] == "ValidationException"
    schema = call(endpoint, "GET", "/executions?maxResults=0&stateMachineName=x", tokens["viewer"])
    assert schema.status_code == 422 and schema.json()["error"] == "ValidationError"
    unknown = call(endpoint, "GET", "/no-such-route", tokens["viewer"])
    assert unknown.status_code == 404 and unknown.json()["error"] == "NotFound"
