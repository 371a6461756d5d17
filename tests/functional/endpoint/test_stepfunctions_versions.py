"""Step Functions versions and aliases through boto3, held to AWS's answers (LocalStack's recordings
against AWS of test_sfn_api_versioning and test_sfn_api_aliasing, the API reference)."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sluiceway.endpoint.server import Endpoint
from sluiceway.endpoint.services import _sfn_versions
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

ROLE = "arn:aws:iam::111111111111:role/test"


def _result(value: str) -> dict[str, Any]:
    return {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"v": value}, "End": True}}}


@pytest.fixture(scope="module")
def sfn(aws: Callable[..., Any]) -> Any:
    return aws("stepfunctions")


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = exc.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


def _ended(sfn: Any, arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        assert time.monotonic() < deadline, "execution never ended"
        time.sleep(0.02)


def test_publish_on_create_and_update_numbers_versions(sfn: Any) -> None:
    created = sfn.create_state_machine(
        name="ver-publish", definition=json.dumps(_result("v1")), roleArn=ROLE, publish=True, versionDescription="first"
    )
    arn = created["stateMachineArn"]
    assert created["stateMachineVersionArn"] == f"{arn}:1"
    v1 = sfn.describe_state_machine(stateMachineArn=f"{arn}:1")
    assert v1["stateMachineArn"] == f"{arn}:1" and v1["description"] == "first" and v1["status"] == "ACTIVE"
    assert "revisionId" not in v1  # published from the initial revision, which has no id on AWS
    assert "description" not in sfn.describe_state_machine(stateMachineArn=arn)
    # Updating with nothing changed publishes nothing new: the same revision, the same version.
    same = sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(_result("v1")), publish=True)
    assert same["stateMachineVersionArn"] == f"{arn}:1" and "revisionId" not in same
    updated = sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(_result("v2")), publish=True)
    assert updated["stateMachineVersionArn"] == f"{arn}:2" and updated["revisionId"]
    v2 = sfn.describe_state_machine(stateMachineArn=f"{arn}:2")
    assert v2["revisionId"] == updated["revisionId"] and json.loads(v2["definition"]) == _result("v2")
    assert json.loads(sfn.describe_state_machine(stateMachineArn=f"{arn}:1")["definition"]) == _result("v1")
    listed = sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in listed] == [f"{arn}:2", f"{arn}:1"]
    # A version is immutable: UpdateStateMachine knows no machine of that ARN.
    with pytest.raises(ClientError) as exc:
        sfn.update_state_machine(stateMachineArn=f"{arn}:2", definition=json.dumps(_result("v3")))
    assert _error(exc) == ("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}:2'")


def test_version_description_needs_publish(sfn: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine(name="ver-nodesc", definition=json.dumps(_result("x")), roleArn=ROLE, versionDescription="d")
    assert _error(exc) == ("ValidationException", "Version description can only be set when publish is true")


def test_publish_is_idempotent_and_numbers_are_never_reused(sfn: Any) -> None:
    arn = sfn.create_state_machine(name="ver-idem", definition=json.dumps(_result("a")), roleArn=ROLE)["stateMachineArn"]
    first = sfn.publish_state_machine_version(stateMachineArn=arn)
    again = sfn.publish_state_machine_version(stateMachineArn=arn, description="ignored")
    assert first["stateMachineVersionArn"] == again["stateMachineVersionArn"] == f"{arn}:1"
    assert first["creationDate"] == again["creationDate"]
    revision = sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(_result("b")), publish=True)["revisionId"]
    sfn.delete_state_machine_version(stateMachineVersionArn=f"{arn}:2")
    sfn.delete_state_machine_version(stateMachineVersionArn=f"{arn}:2")  # deleting it again succeeds, as on AWS
    assert sfn.publish_state_machine_version(stateMachineArn=arn, revisionId=revision)["stateMachineVersionArn"] == f"{arn}:3"
    newer = sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(_result("c")))["revisionId"]
    with pytest.raises(ClientError) as exc:
        sfn.publish_state_machine_version(stateMachineArn=arn, revisionId=revision)
    assert _error(exc) == (
        "ConflictException",
        f"Failed to publish the State Machine version for revision {revision}. The current State Machine revision is {newer}.",
    )


def test_publish_errors(sfn: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sfn.publish_state_machine_version(stateMachineArn="invalid_arn")
    assert _error(exc) == ("InvalidArn", "Invalid Arn: 'Invalid ARN prefix: invalid_arn'")
    missing = "arn:aws:states:us-east-1:111111111111:stateMachine:ver-none"
    with pytest.raises(ClientError) as exc:
        sfn.publish_state_machine_version(stateMachineArn=missing)
    assert _error(exc) == ("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{missing}'")


def test_list_versions_pages_newest_first(sfn: Any) -> None:
    arn = sfn.create_state_machine(name="ver-pages", definition=json.dumps(_result("0")), roleArn=ROLE)["stateMachineArn"]
    for n in range(1, 6):
        sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(_result(str(n))), publish=True)
    page = sfn.list_state_machine_versions(stateMachineArn=arn, maxResults=3)
    rest = sfn.list_state_machine_versions(stateMachineArn=arn, maxResults=3, nextToken=page["nextToken"])
    numbers = [v["stateMachineVersionArn"].rsplit(":", 1)[1] for v in page["stateMachineVersions"] + rest["stateMachineVersions"]]
    assert numbers == ["5", "4", "3", "2", "1"] and "nextToken" not in rest
    with pytest.raises(ClientError) as exc:
        sfn.list_state_machine_versions(stateMachineArn=arn, maxResults=1001)
    assert _error(exc)[1].endswith("Member must have value less than or equal to 1000")
    with pytest.raises(ClientError) as exc:
        sfn.list_state_machine_versions(stateMachineArn=arn, nextToken="x" * 1025)
    assert _error(exc)[1].endswith("Member must have length less than or equal to 1024")


def test_start_with_a_version_runs_that_version(sfn: Any) -> None:
    created = sfn.create_state_machine(name="ver-run", definition=json.dumps(_result("one")), roleArn=ROLE, publish=True)
    arn, v1 = created["stateMachineArn"], created["stateMachineVersionArn"]
    plain = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    through = sfn.start_execution(stateMachineArn=v1)["executionArn"]
    assert through.startswith("arn:aws:states:us-east-1:111111111111:execution:ver-run:")
    described = _ended(sfn, through)
    assert described["stateMachineArn"] == arn and described["stateMachineVersionArn"] == v1
    assert "stateMachineAliasArn" not in described and json.loads(described["output"]) == {"v": "one"}
    assert "stateMachineVersionArn" not in _ended(sfn, plain)
    first = sfn.get_execution_history(executionArn=through)["events"][0]["executionStartedEventDetails"]
    assert first["stateMachineVersionArn"] == v1 and "stateMachineAliasArn" not in first
    listed = sfn.list_executions(stateMachineArn=v1)["executions"]
    assert [e["executionArn"] for e in listed] == [through] and listed[0]["stateMachineVersionArn"] == v1
    everything = {e["executionArn"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]}
    assert everything == {plain, through}
    # DescribeStateMachineForExecution names the machine, not the version (recorded).
    assert sfn.describe_state_machine_for_execution(executionArn=through)["stateMachineArn"] == arn
    with pytest.raises(ClientError) as exc:
        sfn.start_execution(stateMachineArn=f"{arn}:9")
    assert _error(exc) == ("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}:9'")


def test_an_older_version_runs_its_own_definition(sfn: Any) -> None:
    created = sfn.create_state_machine(name="ver-old", definition=json.dumps(_result("old")), roleArn=ROLE, publish=True)
    arn, v1 = created["stateMachineArn"], created["stateMachineVersionArn"]
    sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(_result("new")))
    old = _ended(sfn, sfn.start_execution(stateMachineArn=v1)["executionArn"])
    new = _ended(sfn, sfn.start_execution(stateMachineArn=arn)["executionArn"])
    assert (json.loads(old["output"]), json.loads(new["output"])) == ({"v": "old"}, {"v": "new"})
    definition = sfn.describe_state_machine_for_execution(executionArn=old["executionArn"])["definition"]
    assert json.loads(definition) == _result("old")


def test_alias_lifecycle_and_executions(sfn: Any) -> None:
    created = sfn.create_state_machine(name="ali-life", definition=json.dumps(_result("a")), roleArn=ROLE, publish=True)
    arn, v1 = created["stateMachineArn"], created["stateMachineVersionArn"]
    v2 = sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(_result("b")), publish=True)["stateMachineVersionArn"]
    routing = [{"stateMachineVersionArn": v1, "weight": 100}]
    made = sfn.create_state_machine_alias(name="prod", description="live", routingConfiguration=routing)
    alias = made["stateMachineAliasArn"]
    assert alias == f"{arn}:prod"
    again = sfn.create_state_machine_alias(name="prod", description="live", routingConfiguration=routing)
    assert again == {**made, "ResponseMetadata": again["ResponseMetadata"]}
    with pytest.raises(ClientError) as exc:
        sfn.create_state_machine_alias(name="prod", description="other", routingConfiguration=routing)
    assert _error(exc) == (
        "ConflictException",
        "Failed to create alias because an alias with the same name and a different routing configuration already exists.",
    )
    described = sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
    assert described["name"] == "prod" and described["description"] == "live" and described["routingConfiguration"] == routing
    execution = _ended(sfn, sfn.start_execution(stateMachineArn=alias)["executionArn"])
    assert (execution["stateMachineAliasArn"], execution["stateMachineVersionArn"]) == (alias, v1)
    assert [e["executionArn"] for e in sfn.list_executions(stateMachineArn=alias)["executions"]] == [execution["executionArn"]]
    # A version an alias routes to cannot be deleted.
    with pytest.raises(ClientError) as exc:
        sfn.delete_state_machine_version(stateMachineVersionArn=v1)
    assert _error(exc) == (
        "ConflictException",
        "Version to be deleted must not be referenced by an alias. Current list of aliases referencing this version: [prod]",
    )
    split = [{"stateMachineVersionArn": v1, "weight": 50}, {"stateMachineVersionArn": v2, "weight": 50}]
    sfn.update_state_machine_alias(stateMachineAliasArn=alias, routingConfiguration=split)
    after = sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
    assert after["routingConfiguration"] == split and after["description"] == "live" and after["updateDate"] >= after["creationDate"]
    assert [a["stateMachineAliasArn"] for a in sfn.list_state_machine_aliases(stateMachineArn=v2)["stateMachineAliases"]] == [alias]
    sfn.delete_state_machine_alias(stateMachineAliasArn=alias)
    sfn.delete_state_machine_alias(stateMachineAliasArn=alias)  # again: succeeds, as on AWS
    assert sfn.list_state_machine_aliases(stateMachineArn=arn)["stateMachineAliases"] == []
    with pytest.raises(ClientError) as exc:
        sfn.describe_state_machine_alias(stateMachineAliasArn=alias)
    assert _error(exc) == ("ResourceNotFound", "Request references a resource that does not exist.")
    with pytest.raises(ClientError) as exc:
        sfn.update_state_machine_alias(stateMachineAliasArn=alias, description="x")
    assert _error(exc) == ("ResourceNotFound", "Request references a resource that does not exist.")
    # The execution keeps the alias it was started through.
    assert sfn.describe_execution(executionArn=execution["executionArn"])["stateMachineAliasArn"] == alias


def test_routing_never_draws_a_version_of_weight_zero() -> None:
    rng = random.Random(5)
    assert {_sfn_versions.route(((1, 0), (2, 100)), rng) for _ in range(500)} == {2}
    assert {_sfn_versions.route(((1, 100), (2, 0)), rng) for _ in range(500)} == {1}


def test_routing_draws_follow_the_weights() -> None:
    rng = random.Random(7)
    draws = Counter(_sfn_versions.route(((3, 20), (4, 80)), rng) for _ in range(10_000))
    # With this seed the share is fixed; the bound is what any fair draw of 10,000 meets (5 sigma = 200).
    assert set(draws) == {3, 4}
    assert abs(draws[3] - 2_000) < 200


def test_a_split_alias_starts_each_execution_on_the_version_it_draws(sfn: Any) -> None:
    created = sfn.create_state_machine(name="ali-split", definition=json.dumps(_result("a")), roleArn=ROLE, publish=True)
    arn, v1 = created["stateMachineArn"], created["stateMachineVersionArn"]
    v2 = sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(_result("b")), publish=True)["stateMachineVersionArn"]
    split = [{"stateMachineVersionArn": v1, "weight": 30}, {"stateMachineVersionArn": v2, "weight": 70}]
    alias = sfn.create_state_machine_alias(name="canary", routingConfiguration=split)["stateMachineAliasArn"]
    _sfn_versions.ROUTING.seed(11)  # the endpoint's draws, made repeatable
    expected = random.Random(11)
    for _ in range(12):
        want = _sfn_versions.route(((1, 30), (2, 70)), expected)
        execution = _ended(sfn, sfn.start_execution(stateMachineArn=alias)["executionArn"])
        assert execution["stateMachineAliasArn"] == alias
        assert execution["stateMachineVersionArn"] == (v1, v2)[want - 1]
        assert json.loads(execution["output"]) == {"v": "ab"[want - 1]}  # the drawn version's own definition ran
    # All on one side: the version of weight 0 is never started.
    sfn.update_state_machine_alias(
        stateMachineAliasArn=alias,
        routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 0}, {"stateMachineVersionArn": v2, "weight": 100}],
    )
    for _ in range(5):
        execution = _ended(sfn, sfn.start_execution(stateMachineArn=alias)["executionArn"])
        assert execution["stateMachineVersionArn"] == v2


def test_alias_routing_is_checked_as_aws_checks_it(sfn: Any) -> None:
    created = sfn.create_state_machine(name="ali-check", definition=json.dumps(_result("a")), roleArn=ROLE, publish=True)
    arn, v1 = created["stateMachineArn"], created["stateMachineVersionArn"]

    def refused(routing: list[dict[str, Any]], name: str = "a1") -> tuple[str, str]:
        with pytest.raises(ClientError) as exc:
            sfn.create_state_machine_alias(name=name, routingConfiguration=routing)
        return _error(exc)

    assert refused([{"stateMachineVersionArn": arn, "weight": 100}]) == (
        "ValidationException",
        f"Routing configuration must contain state machine version ARNs. Received: [{arn}]",
    )
    assert refused([{"stateMachineVersionArn": v1, "weight": 50}, {"stateMachineVersionArn": v1, "weight": 50}]) == (
        "ValidationException",
        f"Routing configuration must contain distinct state machine version ARNs. Received: [{v1}, {v1}]",
    )
    assert refused([{"stateMachineVersionArn": v1, "weight": 101}])[1] == (
        "1 validation error detected: Value '101' at 'routingConfiguration.1.member.weight' failed to satisfy constraint:"
        " Member must have value less than or equal to 100"
    )
    v2 = sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(_result("b")), publish=True)["stateMachineVersionArn"]
    assert refused([{"stateMachineVersionArn": v1, "weight": 70}, {"stateMachineVersionArn": v2, "weight": 29}]) == (
        "ValidationException",
        "Sum of routing configuration weights must equal 100. Received: [70, 29]",
    )
    three = [{"stateMachineVersionArn": f"{arn}:{n}", "weight": w} for n, w in ((1, 50), (2, 30), (3, 20))]
    assert refused(three)[1].endswith(
        "at 'routingConfiguration' failed to satisfy constraint: Member must have length less than or equal to 2"
    )
    pattern = "Member must satisfy regular expression pattern: ^(?=.*[a-zA-Z_\\-\\.])[a-zA-Z0-9_\\-\\.]+$"
    assert refused([{"stateMachineVersionArn": v1, "weight": 100}], name="123") == (
        "ValidationException",
        f"1 validation error detected: Value '123' at 'name' failed to satisfy constraint: {pattern}",
    )


def test_deleting_the_machine_deletes_its_versions_and_aliases(sfn: Any) -> None:
    created = sfn.create_state_machine(name="ver-gone", definition=json.dumps(_result("a")), roleArn=ROLE, publish=True)
    arn, v1 = created["stateMachineArn"], created["stateMachineVersionArn"]
    sfn.create_state_machine_alias(name="live", routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100}])
    sfn.delete_state_machine(stateMachineArn=arn)
    again = sfn.create_state_machine(name="ver-gone", definition=json.dumps(_result("b")), roleArn=ROLE, publish=True)
    # A new machine of the same name starts its versions afresh and has no aliases.
    assert again["stateMachineVersionArn"] == f"{arn}:1"
    assert json.loads(sfn.describe_state_machine(stateMachineArn=v1)["definition"]) == _result("b")
    assert sfn.list_state_machine_aliases(stateMachineArn=arn)["stateMachineAliases"] == []


@contextmanager
def _served(settings: Settings) -> Iterator[Any]:
    stack = build_stack(settings, invoker_mode="thread")
    stack.start("versions")
    try:
        endpoint = Endpoint(stack, host="127.0.0.1", port=0)
        endpoint.start()
        try:
            session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
            yield session.client("stepfunctions", endpoint_url=endpoint.url, config=Config(retries={"max_attempts": 1}))
        finally:
            endpoint.close()
    finally:
        stack.close(grace_s=0)


def test_versions_and_aliases_outlive_a_restart(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path / "data", workers=1)
    with _served(settings) as sfn:
        created = sfn.create_state_machine(name="ver-durable", definition=json.dumps(_result("kept")), roleArn=ROLE, publish=True)
        arn, v1 = created["stateMachineArn"], created["stateMachineVersionArn"]
        sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(_result("newer")))
        alias = sfn.create_state_machine_alias(name="stable", routingConfiguration=[{"stateMachineVersionArn": v1, "weight": 100}])
    with _served(settings) as sfn:
        routing = sfn.describe_state_machine_alias(stateMachineAliasArn=alias["stateMachineAliasArn"])["routingConfiguration"]
        assert routing == [{"stateMachineVersionArn": v1, "weight": 100}]
        run = _ended(sfn, sfn.start_execution(stateMachineArn=alias["stateMachineAliasArn"])["executionArn"])
        assert json.loads(run["output"]) == {"v": "kept"}
        published = sfn.publish_state_machine_version(stateMachineArn=arn)["stateMachineVersionArn"]
        assert published == f"{arn}:2"
