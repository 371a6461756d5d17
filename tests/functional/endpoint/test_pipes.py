"""EventBridge Pipes through the endpoint with a real boto3 client: the API, and pipes running."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sluiceway.endpoint.server import Endpoint
from sluiceway.endpoint.services.pipes import restore
from sluiceway.runtime.lambdas.invoker import FunctionSpec
from sluiceway.runtime.stack import Stack
from sluiceway.runtime.wiring import build_stack
from sluiceway.settings import Settings

ROLE = "arn:aws:iam::123456789012:role/pipes"
ACCOUNT = "111111111111"
DEADLINE_S = 15.0
HANDLERS = (__name__.rpartition(".")[0] + "." if "." in __name__ else "") + "pipes_handlers"


@pytest.fixture(scope="module")
def endpoint(stack: Stack) -> Iterator[Endpoint]:
    served = Endpoint(stack, host="127.0.0.1", port=stack.settings.endpoint_port)
    restore(stack, served.shared)
    served.start()
    try:
        yield served
    finally:
        served.close()


def _error(call: Callable[[], Any]) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def _until(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _queue(aws: Callable[..., Any], name: str, **attributes: str) -> tuple[str, str]:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def test_pipe_lifecycle_and_errors(aws: Callable[..., Any]) -> None:
    pipes = aws("pipes")
    _, source = _queue(aws, "pipes-api-source")
    _, target = _queue(aws, "pipes-api-target")
    made = pipes.create_pipe(Name="api-pipe", Source=source, Target=target, RoleArn=ROLE, Description="first", Tags={"team": "data"})
    assert (made["Name"], made["CurrentState"], made["DesiredState"]) == ("api-pipe", "CREATING", "RUNNING")
    assert made["Arn"].endswith(":pipe/api-pipe") and made["Arn"].startswith("arn:aws:pipes:us-east-1:")
    described = pipes.describe_pipe(Name="api-pipe")
    assert (described["CurrentState"], described["DesiredState"], described["Description"]) == ("RUNNING", "RUNNING", "first")
    assert described["SourceParameters"] == {"SqsQueueParameters": {"BatchSize": 10, "MaximumBatchingWindowInSeconds": 0}}
    assert described["Tags"] == {"team": "data"}

    code, message, status = _error(lambda: pipes.create_pipe(Name="api-pipe", Source=source, Target=target, RoleArn=ROLE))
    assert (code, message, status) == ("ConflictException", "Pipe api-pipe already exists.", 409)
    assert _error(lambda: pipes.describe_pipe(Name="nope"))[:3] == ("NotFoundException", "Pipe nope does not exist.", 404)
    code, message, _ = _error(lambda: pipes.create_pipe(Name="bad name", Source=source, Target=target, RoleArn=ROLE))
    assert code == "ValidationException" and "at 'name' failed to satisfy constraint" in message
    code, message, _ = _error(
        lambda: pipes.create_pipe(
            Name="too-big", Source=source, Target=target, RoleArn=ROLE,
            SourceParameters={"SqsQueueParameters": {"BatchSize": 20, "MaximumBatchingWindowInSeconds": 1}},
        )
    )  # fmt: skip
    assert code == "ValidationException" and "larger than the target" in message
    code, _, _ = _error(
        lambda: pipes.create_pipe(
            Name="bad-filter", Source=source, Target=target, RoleArn=ROLE,
            SourceParameters={"FilterCriteria": {"Filters": [{"Pattern": "not json"}]}},
        )
    )  # fmt: skip
    assert code == "ValidationException"

    stopped = pipes.stop_pipe(Name="api-pipe")
    assert (stopped["CurrentState"], stopped["DesiredState"]) == ("STOPPING", "STOPPED")
    assert pipes.describe_pipe(Name="api-pipe")["CurrentState"] == "STOPPED"
    assert _error(lambda: pipes.stop_pipe(Name="api-pipe"))[0] == "ConflictException"
    assert pipes.start_pipe(Name="api-pipe")["CurrentState"] == "STARTING"
    assert pipes.describe_pipe(Name="api-pipe")["CurrentState"] == "RUNNING"

    updated = pipes.update_pipe(
        Name="api-pipe", RoleArn=ROLE, Description="second", SourceParameters={"SqsQueueParameters": {"BatchSize": 5}}
    )
    assert updated["CurrentState"] == "UPDATING"
    after = pipes.describe_pipe(Name="api-pipe")
    assert after["Description"] == "second" and after["SourceParameters"]["SqsQueueParameters"]["BatchSize"] == 5
    assert after["Source"] == source

    listed = pipes.list_pipes(NamePrefix="api-")["Pipes"]
    assert [(p["Name"], p["Source"], p["Target"], p["CurrentState"]) for p in listed] == [("api-pipe", source, target, "RUNNING")]
    assert pipes.list_pipes(NamePrefix="api-", DesiredState="STOPPED")["Pipes"] == []

    arn = made["Arn"]
    pipes.tag_resource(resourceArn=arn, tags={"stage": "dev"})
    assert pipes.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "data", "stage": "dev"}
    pipes.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert pipes.list_tags_for_resource(resourceArn=arn)["tags"] == {"stage": "dev"}
    assert _error(lambda: pipes.list_tags_for_resource(resourceArn=arn + "x"))[0] == "NotFoundException"

    gone = pipes.delete_pipe(Name="api-pipe")
    assert (gone["CurrentState"], gone["DesiredState"]) == ("DELETING", "DELETED")
    assert _error(lambda: pipes.describe_pipe(Name="api-pipe"))[0] == "NotFoundException"
    assert _error(lambda: pipes.delete_pipe(Name="api-pipe"))[0] == "NotFoundException"


def test_list_pipes_pages(aws: Callable[..., Any]) -> None:
    pipes = aws("pipes")
    _, source = _queue(aws, "pipes-page-source")
    _, target = _queue(aws, "pipes-page-target")
    for index in range(3):
        pipes.create_pipe(Name=f"page-{index}", Source=source, Target=target, RoleArn=ROLE, DesiredState="STOPPED")
    first = pipes.list_pipes(NamePrefix="page-", Limit=2)
    assert [p["Name"] for p in first["Pipes"]] == ["page-0", "page-1"]
    rest = pipes.list_pipes(NamePrefix="page-", Limit=2, NextToken=first["NextToken"])
    assert [p["Name"] for p in rest["Pipes"]] == ["page-2"] and "NextToken" not in rest
    assert {p["CurrentState"] for p in first["Pipes"]} == {"STOPPED"}


PASS_MACHINE = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


def _inputs(sfn: Any, machine: str) -> list[Any]:
    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    return [json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"]) for e in executions]


def _depth(sqs: Any, url: str) -> tuple[int, int]:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_an_sqs_pipe_filters_and_starts_executions_with_the_records(aws: Callable[..., Any]) -> None:
    sqs, sfn, pipes = aws("sqs"), aws("stepfunctions"), aws("pipes")
    url, source = _queue(aws, "pipes-orders")
    machine = sfn.create_state_machine(name="pipes-orders", definition=PASS_MACHINE, roleArn=ROLE)["stateMachineArn"]
    pipes.create_pipe(
        Name="orders-pipe",
        Source=source,
        Target=machine,
        RoleArn=ROLE,
        SourceParameters={"FilterCriteria": {"Filters": [{"Pattern": json.dumps({"body": {"kind": ["order"]}})}]}},
        TargetParameters={"StepFunctionStateMachineParameters": {"InvocationType": "FIRE_AND_FORGET"}},
    )
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"kind": "order", "id": 1}))
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"kind": "noise", "id": 2}))
    inputs = _until(lambda: _inputs(sfn, machine), "an execution")
    _until(lambda: _depth(sqs, url) == (0, 0), "the queue to empty")  # the match settled, the noise deleted unseen
    assert len(inputs) == 1
    [batch] = inputs
    assert isinstance(batch, list) and len(batch) == 1  # a state machine gets the batch as an array
    [record] = batch
    assert json.loads(record["body"]) == {"kind": "order", "id": 1}
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == source and record["awsRegion"] == "us-east-1"
    assert set(record) == {
        "messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody", "eventSource", "eventSourceARN", "awsRegion",
    }  # fmt: skip
    pipes.delete_pipe(Name="orders-pipe")


def test_records_a_target_reports_failed_stay_in_the_queue_until_its_redrive_policy_moves_them(
    aws: Callable[..., Any], stack: Stack
) -> None:
    sqs, pipes = aws("sqs"), aws("pipes")
    dlq_url, dlq_arn = _queue(aws, "pipes-work-dlq")
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    url, source = _queue(aws, "pipes-work", VisibilityTimeout="1", RedrivePolicy=redrive)
    stack.invoker.register(FunctionSpec("PipesWorker", f"{HANDLERS}.report_bad", timeout_s=10))
    function = f"arn:aws:lambda:us-east-1:{stack.settings.account_id}:function:PipesWorker"
    pipes.create_pipe(Name="work-pipe", Source=source, Target=function, RoleArn=ROLE)
    sqs.send_message(QueueUrl=url, MessageBody="good")
    bad = sqs.send_message(QueueUrl=url, MessageBody="bad")["MessageId"]

    def dead_lettered() -> list[Any]:
        got = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
        return got

    [moved] = _until(dead_lettered, "the failed message in the dead-letter queue")
    assert (moved["MessageId"], moved["Body"]) == (bad, "bad")
    assert int(moved["Attributes"]["ApproximateReceiveCount"]) >= 2  # tried once per receive, then moved
    assert _depth(sqs, url) == (0, 0)  # "good" was deleted after its first success
    pipes.delete_pipe(Name="work-pipe")


def test_a_stream_pipe_puts_templated_events_on_a_bus(aws: Callable[..., Any]) -> None:
    ddb, events, sqs, pipes = aws("dynamodb"), aws("events"), aws("sqs"), aws("pipes")
    stream = ddb.create_table(
        TableName="pipes-players",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]["LatestStreamArn"]
    bus = events.create_event_bus(Name="pipes-bus")["EventBusArn"]
    url, queue_arn = _queue(aws, "pipes-bus-out")
    events.put_rule(Name="pipes-all", EventBusName="pipes-bus", EventPattern=json.dumps({"source": [{"prefix": ""}]}))
    events.put_targets(Rule="pipes-all", EventBusName="pipes-bus", Targets=[{"Id": "q", "Arn": queue_arn}])
    pipes.create_pipe(
        Name="players-pipe",
        Source=stream,
        Target=bus,
        RoleArn=ROLE,
        SourceParameters={"DynamoDBStreamParameters": {"StartingPosition": "LATEST", "BatchSize": 1}},
        TargetParameters={
            "InputTemplate": '{"player": <$.dynamodb.NewImage.id.S>, "what": "<$.eventName> by <aws.pipes.pipe-name>"}',
            "EventBridgeEventBusParameters": {"DetailType": "PlayerChanged", "Source": "game.players"},
        },
    )
    ddb.put_item(TableName="pipes-players", Item={"id": {"S": "p-1"}})

    def received() -> list[Any]:
        return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])

    [message] = _until(received, "the event on the bus")
    event = json.loads(message["Body"])
    assert (event["source"], event["detail-type"]) == ("game.players", "PlayerChanged")
    assert event["detail"] == {"player": "p-1", "what": "INSERT by players-pipe"}
    pipes.delete_pipe(Name="players-pipe")


def test_an_enrichment_reshapes_the_batch_for_the_target(aws: Callable[..., Any], stack: Stack) -> None:
    sqs, pipes = aws("sqs"), aws("pipes")
    stack.invoker.register(FunctionSpec("PipesEnricher", f"{HANDLERS}.enrich", timeout_s=10))
    url, source = _queue(aws, "pipes-enrich-in")
    out_url, target = _queue(aws, "pipes-enrich-out")
    pipes.create_pipe(
        Name="enrich-pipe",
        Source=source,
        Target=target,
        RoleArn=ROLE,
        Enrichment=f"arn:aws:lambda:us-east-1:{stack.settings.account_id}:function:PipesEnricher",
        TargetParameters={"InputTemplate": '{"loud": <$.shout>}'},
    )
    sqs.send_message(QueueUrl=url, MessageBody="hello")

    def received() -> list[Any]:
        return sqs.receive_message(QueueUrl=out_url, MaxNumberOfMessages=10).get("Messages", [])

    [message] = _until(received, "the enriched message")
    assert json.loads(message["Body"]) == {"loud": "HELLO"}
    pipes.delete_pipe(Name="enrich-pipe")


def test_a_restarted_endpoint_runs_the_kept_pipes(tmp_path: Path) -> None:
    import boto3
    from botocore.config import Config

    def start() -> tuple[Stack, Endpoint, Any]:
        built = build_stack(Settings.load(data_dir=tmp_path / "data", workers=1), app=None, invoker_mode="thread")
        built.start("pipes restart test")
        served = Endpoint(built, host="127.0.0.1", port=0)
        restore(built, served.shared)
        served.start()
        session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
        return built, served, lambda service: session.client(service, endpoint_url=served.url, config=Config(retries={"max_attempts": 1}))

    built, served, client = start()
    try:
        sqs = client("sqs")
        url = sqs.create_queue(QueueName="kept-in")["QueueUrl"]
        out_url = sqs.create_queue(QueueName="kept-out")["QueueUrl"]
        arn = f"arn:aws:sqs:us-east-1:{built.settings.account_id}:"
        client("pipes").create_pipe(Name="kept", Source=arn + "kept-in", Target=arn + "kept-out", RoleArn=ROLE)
        client("pipes").create_pipe(Name="paused", Source=arn + "kept-in", Target=arn + "kept-out", RoleArn=ROLE, DesiredState="STOPPED")
    finally:
        served.close()
        built.close()
    built, served, client = start()
    try:
        sqs, pipes = client("sqs"), client("pipes")
        assert {p["Name"]: p["CurrentState"] for p in pipes.list_pipes()["Pipes"]} == {"kept": "RUNNING", "paused": "STOPPED"}
        sqs.send_message(QueueUrl=url, MessageBody="after the restart")

        def received() -> list[Any]:
            return sqs.receive_message(QueueUrl=out_url, MaxNumberOfMessages=10).get("Messages", [])

        [message] = _until(received, "the message through the kept pipe")
        assert json.loads(message["Body"])["body"] == "after the restart"  # an SQS target gets the record as JSON
    finally:
        served.close()
        built.close()


def _runs(stack: Stack, endpoint: Endpoint) -> Any:
    return restore(stack, endpoint.shared).runs


def test_pipes_of_one_name_in_two_regions_run_apart(aws: Callable[..., Any], stack: Stack, endpoint: Endpoint) -> None:
    east, west = aws("pipes"), aws("pipes", region_name="eu-west-1")
    _, source = _queue(aws, "pipes-regional-source")
    _, target = _queue(aws, "pipes-regional-target")
    east_arn = east.create_pipe(Name="regional", Source=source, Target=target, RoleArn=ROLE)["Arn"]
    west_arn = west.create_pipe(Name="regional", Source=source, Target=target, RoleArn=ROLE)["Arn"]
    runs = _runs(stack, endpoint)
    assert east_arn != west_arn and runs.running(east_arn) and runs.running(west_arn)
    west.delete_pipe(Name="regional")
    assert runs.running(east_arn) and not runs.running(west_arn)
    assert east.describe_pipe(Name="regional")["CurrentState"] == "RUNNING"
    east.delete_pipe(Name="regional")


def test_a_pipe_deleted_while_an_update_runs_stays_deleted(
    aws: Callable[..., Any], stack: Stack, endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from sluiceway.endpoint.services.pipes import PipesService

    pipes = aws("pipes")
    _, source = _queue(aws, "pipes-race-source")
    _, target = _queue(aws, "pipes-race-target")
    arn = pipes.create_pipe(Name="racing", Source=source, Target=target, RoleArn=ROLE)["Arn"]
    running, proceed = threading.Event(), threading.Event()
    original = PipesService.run

    def held(self: PipesService, record: Any, *, failed_state: str) -> Any:
        if failed_state == "UPDATE_FAILED":
            running.set()  # the update read the pipe and is about to start it again
            proceed.wait(DEADLINE_S)
        return original(self, record, failed_state=failed_state)

    monkeypatch.setattr(PipesService, "run", held)
    answers: dict[str, Any] = {}

    def update() -> None:
        answers["update"] = aws("pipes").update_pipe(Name="racing", RoleArn=ROLE, Description="late")["CurrentState"]

    def delete() -> None:
        answers["delete"] = aws("pipes").delete_pipe(Name="racing")["CurrentState"]

    updating = threading.Thread(target=update)
    updating.start()
    assert running.wait(DEADLINE_S)
    deleting = threading.Thread(target=delete)
    deleting.start()
    deleting.join(0.5)  # the delete waits for the update's lock (without it, it would be done now)
    proceed.set()
    updating.join(DEADLINE_S)
    deleting.join(DEADLINE_S)
    assert answers == {"update": "UPDATING", "delete": "DELETING"}
    assert not _runs(stack, endpoint).running(arn)
    assert _error(lambda: pipes.describe_pipe(Name="racing"))[0] == "NotFoundException"


def test_a_pipe_whose_source_queue_is_missing_fails_to_create(aws: Callable[..., Any]) -> None:
    pipes = aws("pipes")
    _, target = _queue(aws, "pipes-missing-target")
    source = target.rsplit(":", 1)[0] + ":pipes-no-such-queue"
    assert pipes.create_pipe(Name="sourceless", Source=source, Target=target, RoleArn=ROLE)["CurrentState"] == "CREATING"
    described = pipes.describe_pipe(Name="sourceless")
    assert described["CurrentState"] == "CREATE_FAILED" and "does not exist" in described["StateReason"]
    pipes.delete_pipe(Name="sourceless")


def test_the_model_constraints_are_checked_first(aws: Callable[..., Any]) -> None:
    pipes = aws("pipes")
    _, source = _queue(aws, "pipes-checked-source")
    code, message, status = _error(
        lambda: pipes.create_pipe(
            Name="checked",
            Source=source,
            Target="arn:aws:lambda:us-east-1:111111111111:function:f",
            RoleArn=ROLE,
            TargetParameters={"LambdaFunctionParameters": {"InvocationType": "NOPE"}},
        )
    )
    assert (code, status) == ("ValidationException", 400)
    assert message == (
        "1 validation error detected: Value 'NOPE' at 'targetParameters.lambdaFunctionParameters.invocationType'"
        " failed to satisfy constraint: Member must satisfy enum value set: [REQUEST_RESPONSE, FIRE_AND_FORGET]"
    )
    code, message, _ = _error(lambda: pipes.list_pipes(DesiredState="FOO"))
    assert code == "ValidationException" and "at 'desiredState' failed to satisfy constraint" in message
    unchecked = aws("pipes", parameter_validation=False)
    code, message, _ = _error(lambda: unchecked.list_pipes(Limit=0))
    assert code == "ValidationException" and "Value '0' at 'limit' failed to satisfy constraint" in message


def test_a_stopped_pipe_cut_short_while_creating_opens_stopped(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from sluiceway.backends.local.pipes import PipeRecord, SqlitePipes

    built = build_stack(Settings.load(data_dir=tmp_path / "data", workers=1), app=None, invoker_mode="thread")
    built.start("pipes repair test")
    try:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        source = f"arn:aws:sqs:us-east-1:{built.settings.account_id}:repair-in"
        SqlitePipes(built.local.db).create(
            PipeRecord(
                region="us-east-1",
                name="cut",
                arn=f"arn:aws:pipes:us-east-1:{built.settings.account_id}:pipe/cut",
                config={"Source": source, "Target": source, "RoleArn": ROLE},
                desired_state="STOPPED",
                current_state="CREATING",  # CreatePipe ended before it settled the state
                created_at=now,
                modified_at=now,
            )
        )
        served = Endpoint(built, host="127.0.0.1", port=0)
        try:
            service = restore(built, served.shared)
            assert service.store.get("us-east-1", "cut").current_state == "STOPPED"
        finally:
            served.close()
    finally:
        built.close()
