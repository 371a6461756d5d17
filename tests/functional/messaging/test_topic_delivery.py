"""Topics on SQLite end to end: subscriptions, filter policies, durable fan-out, retries, DLQs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import messaging_handlers as handlers
import pytest

from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.queues import SqliteQueueService
from sluiceway.backends.local.topics import SqliteTopic
from sluiceway.clock import FakeClock
from sluiceway.errors import NotFoundError
from sluiceway.messaging.errors import InvalidParameterError
from sluiceway.messaging.sns import DeliveryRecord, MessageAttribute
from sluiceway.runtime.lambdas.invoker import FunctionSpec, LocalFunctionInvoker
from sluiceway.runtime.messaging.delivery import (
    DeliveryError,
    FunctionSender,
    PermanentDeliveryError,
    QueueSender,
    Sender,
    TopicDeliverer,
)

ARN = "arn:aws:sns:us-east-1:111111111111:orders"


def deliverer(
    topics: SqliteTopic,
    clock: FakeClock,
    senders: dict[str, Sender],
    queues: SqliteQueueService | None = None,
) -> TopicDeliverer:
    dead_letter = None
    if queues is not None:

        def dead_letter(queue: str, body: str, attributes: Any) -> None:
            queues.send(queue.rsplit(":", 1)[-1], body, attributes=attributes)

    return TopicDeliverer(
        topics,
        {"outbox": topics.deliver_outbox, **senders},
        clock=clock,
        dead_letter=dead_letter,
        rng=lambda: 1.0,  # no jitter: delays are the policy's
    )


class Flaky:
    """A sender that fails ``failures`` times (retryable), then takes everything."""

    def __init__(self, failures: int, error: type[Exception] = DeliveryError) -> None:
        self.failures = failures
        self.error = error
        self.calls: list[DeliveryRecord] = []

    def __call__(self, record: DeliveryRecord) -> None:
        self.calls.append(record)
        if len(self.calls) <= self.failures:
            raise self.error(f"failure {len(self.calls)}")


# ---------------------------------------------------------------- topics


def test_topics_are_created_listed_and_deleted(topics: SqliteTopic) -> None:
    info = topics.create_topic("orders")
    assert (info.name, info.arn, info.subscriptions) == ("orders", ARN, 1)  # the outbox
    assert topics.create_topic(ARN) == info  # idempotent, by name or ARN
    topics.create_topic("bare", outbox=False)
    assert [(t.name, t.subscriptions) for t in topics.list_topics()] == [("bare", 0), ("orders", 1)]
    topics.delete_topic(ARN)
    topics.delete_topic("never-existed")  # SNS's DeleteTopic does not mind
    assert [t.name for t in topics.list_topics()] == ["bare"]
    with pytest.raises(InvalidParameterError, match="Topic Name"):
        topics.create_topic("no spaces")


def test_publishing_to_an_unknown_topic_creates_it_with_the_outbox(topics: SqliteTopic, tmp_path: Path) -> None:
    message_id = topics.publish(ARN, "hello", subject="Hi", attributes={"k": "v"})
    [sub] = topics.list_subscriptions("orders")
    assert sub.protocol == "outbox"
    [stored] = topics.messages("orders")
    assert (stored.message_id, stored.topic, stored.message, dict(stored.attributes)) == (
        message_id,
        ARN,
        "hello",
        {"k": "v"},
    )
    line = json.loads((tmp_path / "outbox.jsonl").read_text().splitlines()[0])
    assert (line["message_id"], line["body"], line["subject"]) == (message_id, "hello", "Hi")
    [delivery] = topics.deliveries(message_id=message_id)
    assert (delivery.status, delivery.attempts) == ("delivered", 1)


def test_auto_create_can_be_turned_off(db: Database, clock: FakeClock, tmp_path: Path) -> None:
    strict = SqliteTopic(db, tmp_path / "o.jsonl", clock, auto_create=False)
    with pytest.raises(NotFoundError, match="Topic does not exist"):
        strict.publish("nowhere", "x")
    assert strict.published() == []


def test_published_messages_are_checked_as_sns_does(topics: SqliteTopic) -> None:
    with pytest.raises(InvalidParameterError, match="Empty message"):
        topics.publish("orders", "")
    with pytest.raises(InvalidParameterError, match="Could not cast"):
        topics.publish("orders", "x", attributes={"n": MessageAttribute("Number", "many")})
    assert topics.published() == []


# --------------------------------------------------------- subscriptions


def test_subscriptions_normalise_endpoints(topics: SqliteTopic) -> None:
    topics.create_topic("orders")
    sqs = topics.subscribe("orders", "sqs", "work")
    assert sqs.endpoint == "arn:aws:sqs:us-east-1:111111111111:work"
    assert sqs.arn.startswith(ARN + ":")
    fn = topics.subscribe("orders", "lambda", "arn:aws:lambda:us-east-1:111111111111:function:Record:live")
    assert fn.endpoint == "arn:aws:lambda:us-east-1:111111111111:function:Record"
    hook = topics.subscribe("orders", "https", "https://example.test/hook")
    assert hook.secret and len(hook.secret) == 64
    assert "secret" not in repr(hook) and hook.secret not in json.dumps(hook.attributes())
    assert topics.subscribe("orders", "sqs", "arn:aws:sqs:us-east-1:111111111111:work") == sqs  # same one


@pytest.mark.parametrize(
    ("protocol", "endpoint", "kwargs", "message"),
    [
        ("sms", "+15555550100", {}, "Amazon SNS does not support this protocol string: sms"),
        ("email", "not-an-address", {}, "Invalid parameter: Email address"),
        ("https", "http://example.test/", {}, "Endpoint must match the specified protocol"),
        ("sqs", "arn:aws:sns:us-east-1:1:t", {}, "Invalid parameter: SQS endpoint ARN"),
        (
            "email",
            "a@example.test",
            {"raw_message_delivery": True},
            "Invalid parameter: Attributes Reason: Delivery protocol [email] does not support raw message delivery.",
        ),
        (
            "sqs",
            "q",
            {"filter_policy": {"a": []}},
            "Invalid parameter: Attributes Reason: FilterPolicy: Empty arrays are not allowed",
        ),
        ("sqs", "q", {"filter_policy_scope": "Body"}, "FilterPolicyScope: Invalid value [Body]"),
        ("sqs", "q", {"delivery_policy": {"healthyRetryPolicy": {"numRetries": 1}}}, "only HTTP/S"),
    ],
)
def test_subscriptions_sns_refuses(topics: SqliteTopic, protocol: str, endpoint: str, kwargs: dict[str, Any], message: str) -> None:
    topics.create_topic("orders")
    with pytest.raises(InvalidParameterError) as caught:
        topics.subscribe("orders", protocol, endpoint, **kwargs)
    assert message in str(caught.value)


def test_resubscribing_with_other_attributes_is_refused(topics: SqliteTopic) -> None:
    topics.create_topic("orders")
    topics.subscribe("orders", "sqs", "q")
    with pytest.raises(InvalidParameterError, match="Subscription already exists with different attributes"):
        topics.subscribe("orders", "sqs", "q", raw_message_delivery=True)
    with pytest.raises(NotFoundError, match="Topic does not exist"):
        topics.subscribe("missing", "sqs", "q")


def test_subscription_attributes_can_be_changed(topics: SqliteTopic) -> None:
    topics.create_topic("orders")
    sub = topics.subscribe("orders", "sqs", "q")
    changed = topics.set_subscription_attribute(sub.arn, "FilterPolicy", '{"kind": ["a"]}')
    assert changed.filter_policy == '{"kind": ["a"]}'
    assert topics.set_subscription_attribute(sub.arn, "RawMessageDelivery", "true").raw_message_delivery
    with pytest.raises(InvalidParameterError, match="^Invalid parameter: FilterPolicy: Empty arrays"):
        topics.set_subscription_attribute(sub.arn, "FilterPolicy", '{"kind": []}')
    with pytest.raises(InvalidParameterError, match="nested"):
        topics.set_subscription_attribute(sub.arn, "FilterPolicy", '{"a": {"b": ["c"]}}')
    body_scoped = topics.set_subscription_attribute(sub.arn, "FilterPolicyScope", "MessageBody")
    assert body_scoped.filter_policy_scope == "MessageBody"
    assert topics.set_subscription_attribute(sub.arn, "FilterPolicy", "").filter_policy is None
    with pytest.raises(InvalidParameterError, match="AttributeName"):
        topics.set_subscription_attribute(sub.arn, "Colour", "blue")


# ----------------------------------------------------- filter policies, fan-out


def test_only_matching_subscriptions_get_a_delivery(topics: SqliteTopic, queues: SqliteQueueService, clock: FakeClock) -> None:
    for name in ("big", "eu", "all", "body"):
        queues.create_queue(name)
    topics.create_topic("orders", outbox=False)
    topics.subscribe("orders", "sqs", "big", filter_policy={"total": [{"numeric": [">=", 1000]}]})
    topics.subscribe("orders", "sqs", "eu", filter_policy={"region": [{"prefix": "eu-"}]})
    topics.subscribe("orders", "sqs", "all")
    topics.subscribe(
        "orders",
        "sqs",
        "body",
        filter_policy={"order": {"lines": [{"exists": True}]}},
        filter_policy_scope="MessageBody",
    )

    topics.publish(
        "orders",
        json.dumps({"order": {"lines": [1]}}),
        attributes={"total": 1500, "region": "us-east-1"},
    )
    topics.publish("orders", "plain", attributes={"total": 10, "region": "eu-west-1"})

    delivered = deliverer(topics, clock, {"sqs": QueueSender(queues)}).deliver_pending()
    assert delivered == 5
    depth = {name: queues.queue_attributes(name).available for name in ("big", "eu", "all", "body")}
    assert depth == {"big": 1, "eu": 1, "all": 2, "body": 1}


def test_sqs_subscribers_get_the_envelope_or_the_raw_message(topics: SqliteTopic, queues: SqliteQueueService, clock: FakeClock) -> None:
    queues.create_queue("wrapped")
    queues.create_queue("raw")
    topics.create_topic("orders")
    sub = topics.subscribe("orders", "sqs", "wrapped")
    topics.subscribe("orders", "sqs", "raw", raw_message_delivery=True)
    message_id = topics.publish("orders", '{"id": 7}', subject="New order", attributes={"kind": "retail", "n": 2})
    deliverer(topics, clock, {"sqs": QueueSender(queues)}).deliver_pending()

    [wrapped] = queues.receive("wrapped")
    envelope = json.loads(wrapped.body)
    assert envelope["Type"] == "Notification"
    assert (envelope["MessageId"], envelope["TopicArn"], envelope["Subject"]) == (
        message_id,
        ARN,
        "New order",
    )
    assert envelope["Message"] == '{"id": 7}'
    assert envelope["MessageAttributes"] == {
        "kind": {"Type": "String", "Value": "retail"},
        "n": {"Type": "Number", "Value": "2"},
    }
    assert envelope["UnsubscribeURL"].endswith(sub.arn)
    assert envelope["Signature"]
    [raw] = queues.receive("raw")
    assert raw.body == '{"id": 7}'
    assert dict(raw.attributes) == {"kind": "retail", "n": "2"}


def test_lambda_subscribers_get_the_sns_event(topics: SqliteTopic, clock: FakeClock, invoker: LocalFunctionInvoker) -> None:
    topics.create_topic("orders")
    sub = topics.subscribe("orders", "lambda", "Record")
    topics.publish("orders", "ping", attributes={"k": "v"})
    deliverer(topics, clock, {"lambda": FunctionSender(invoker)}).deliver_pending()
    [event] = handlers.EVENTS
    [record] = event["Records"]
    assert (record["EventSource"], record["EventSubscriptionArn"]) == ("aws:sns", sub.arn)
    assert (record["Sns"]["Message"], record["Sns"]["Subject"]) == ("ping", None)
    assert record["Sns"]["MessageAttributes"] == {"k": {"Type": "String", "Value": "v"}}


def test_a_failing_function_is_retried_as_lambda_retries_async_events(
    topics: SqliteTopic, clock: FakeClock, invoker: LocalFunctionInvoker
) -> None:
    topics.create_topic("orders", outbox=False)
    topics.subscribe("orders", "lambda", "Fail")
    topics.subscribe("orders", "lambda", "Missing")
    message_id = topics.publish("orders", "ping")
    run = deliverer(topics, clock, {"lambda": FunctionSender(invoker)})
    run.deliver_pending()
    for _ in range(2):
        clock.advance(120)
        run.deliver_pending()
    statuses = {d.subscription.endpoint.rsplit(":", 1)[-1]: (d.status, d.attempts) for d in topics.deliveries(message_id=message_id)}
    assert statuses == {"Fail": ("failed", 3), "Missing": ("rejected", 1)}
    assert len(handlers.EVENTS) == 3


def test_a_tenant_isolated_subscriber_refuses_sns_once_and_is_not_retried(
    topics: SqliteTopic, clock: FakeClock, invoker: LocalFunctionInvoker
) -> None:
    # SNS names no tenant: Lambda's tenant refusal (InvalidParameterValueException) is Invoke's, not the function's.
    invoker.register(FunctionSpec("Isolated", "messaging_handlers.record", timeout_s=15.0, tenancy_mode="PER_TENANT"))
    topics.create_topic("orders", outbox=False)
    topics.subscribe("orders", "lambda", "Isolated")
    message_id = topics.publish("orders", "ping")
    run = deliverer(topics, clock, {"lambda": FunctionSender(invoker)})
    run.deliver_pending()
    clock.advance(3600)
    run.deliver_pending()
    [row] = topics.deliveries(message_id=message_id)
    assert (row.status, row.attempts) == ("rejected", 1)
    assert handlers.EVENTS == []


def test_a_function_error_named_as_an_invoke_refusal_is_retried(
    topics: SqliteTopic, clock: FakeClock, invoker: LocalFunctionInvoker
) -> None:
    # The handler's own uncaught InvalidParameterValueException fails the function: SNS retries it as any
    # function error (only Invoke's refusal of the call gives up at once).
    invoker.register(FunctionSpec("AwsError", "messaging_handlers.aws_error", timeout_s=15.0))
    topics.create_topic("orders", outbox=False)
    topics.subscribe("orders", "lambda", "AwsError")
    message_id = topics.publish("orders", "ping")
    run = deliverer(topics, clock, {"lambda": FunctionSender(invoker)})
    run.deliver_pending()
    for _ in range(2):
        clock.advance(120)
        run.deliver_pending()
    [row] = topics.deliveries(message_id=message_id)
    assert (row.status, row.attempts) == ("failed", 3)
    assert len(handlers.EVENTS) == 3


# --------------------------------------------------------------- retries


def test_failed_deliveries_are_retried_on_the_policy_schedule(topics: SqliteTopic, clock: FakeClock) -> None:
    topics.create_topic("orders", outbox=False)
    topics.subscribe("orders", "https", "https://example.test/hook")  # 3 retries, 20 s apart
    flaky = Flaky(failures=2)
    run = deliverer(topics, clock, {"https": flaky})
    message_id = topics.publish("orders", "x")

    assert run.deliver_pending() == 0
    [row] = topics.deliveries(message_id=message_id)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "DeliveryError: failure 1")
    clock.advance(19)
    assert run.deliver_pending() == 0 and len(flaky.calls) == 1  # not due yet
    clock.advance(1)
    assert run.deliver_pending() == 0 and len(flaky.calls) == 2
    clock.advance(20)
    assert run.deliver_pending() == 1
    [row] = topics.deliveries(message_id=message_id)
    assert (row.status, row.attempts) == ("delivered", 3)
    assert run.deliver_pending() == 0 and len(flaky.calls) == 3  # never again


def test_an_exhausted_policy_ends_failed_or_in_the_dead_letter_queue(
    topics: SqliteTopic, queues: SqliteQueueService, clock: FakeClock
) -> None:
    queues.create_queue("hook-dlq")
    topics.create_topic("orders", outbox=False)
    kept = topics.subscribe(
        "orders",
        "http",
        "http://127.0.0.1:9/a",
        dead_letter_queue="hook-dlq",
        raw_message_delivery=True,
    )
    lost = topics.subscribe("orders", "http", "http://127.0.0.1:9/b")
    run = deliverer(topics, clock, {"http": Flaky(failures=99)}, queues)
    message_id = topics.publish("orders", "payload")
    for _ in range(4):
        run.deliver_pending()
        clock.advance(20)
    status = {d.subscription.arn: (d.status, d.attempts) for d in topics.deliveries(message_id=message_id)}
    assert status == {kept.arn: ("dead-lettered", 4), lost.arn: ("failed", 4)}
    [dead] = queues.receive("hook-dlq")
    assert dead.body == "payload"
    # SNS adds no attributes to a dead-lettered message, and raw HTTP delivery carries none
    # (AWS's recorded answers: LocalStack's test_redrive_policy_sqs_queue_subscription).
    assert dead.attributes == {}


def test_permanent_failures_are_not_retried(topics: SqliteTopic, queues: SqliteQueueService, clock: FakeClock) -> None:
    topics.create_topic("orders", outbox=False)
    topics.subscribe("orders", "sqs", "no-such-queue")
    run = deliverer(topics, clock, {"sqs": QueueSender(queues)})
    message_id = topics.publish("orders", "x")
    run.deliver_pending()
    [row] = topics.deliveries(message_id=message_id)
    assert (row.status, row.attempts) == ("rejected", 1)
    assert "does not exist" in (row.last_error or "")


def test_deliveries_survive_a_restart(db: Database, clock: FakeClock, tmp_path: Path, queues: SqliteQueueService) -> None:
    queues.create_queue("work")
    first = SqliteTopic(db, tmp_path / "o.jsonl", clock)
    first.create_topic("orders")
    first.subscribe("orders", "sqs", "work")
    first.publish("orders", "kept")
    # A new store and deliverer on the same database (another process) deliver it.
    second = SqliteTopic(db, tmp_path / "o.jsonl", clock)
    assert deliverer(second, clock, {"sqs": QueueSender(queues)}).deliver_pending() == 1
    [received] = queues.receive("work")
    assert json.loads(received.body)["Message"] == "kept"
    assert [d.status for d in second.deliveries()] == ["delivered", "delivered"]


def test_an_interrupted_outbox_delivery_is_finished_after_its_lease(topics: SqliteTopic, clock: FakeClock, tmp_path: Path) -> None:
    def broken(record: DeliveryRecord, *, stored: bool = False) -> None:
        raise OSError("disk full")

    topics.deliver_outbox = broken  # type: ignore[method-assign]
    message_id = topics.publish("orders", "x")
    [row] = topics.deliveries(message_id=message_id)
    assert row.status == "pending"
    assert len(topics.messages("orders")) == 1  # the outbox row is in the publish transaction
    del topics.deliver_outbox
    run = deliverer(topics, clock, {})
    assert run.deliver_pending() == 0  # the publisher's lease still holds
    clock.advance(301)
    assert run.deliver_pending() == 1
    assert len((tmp_path / "outbox.jsonl").read_text().splitlines()) == 1


def test_unsubscribing_cancels_pending_deliveries(topics: SqliteTopic, clock: FakeClock) -> None:
    topics.create_topic("orders", outbox=False)
    sub = topics.subscribe("orders", "https", "https://example.test/")
    message_id = topics.publish("orders", "x")
    topics.unsubscribe(sub.arn)
    [row] = topics.deliveries(message_id=message_id, status="cancelled")
    assert row.last_error == "the subscription was deleted"
    with pytest.raises(NotFoundError, match="Subscription does not exist"):
        topics.unsubscribe(sub.arn)


def test_the_deliverer_thread_delivers_when_notified(topics: SqliteTopic, queues: SqliteQueueService, clock: FakeClock) -> None:
    queues.create_queue("work")
    topics.create_topic("orders", outbox=False)
    topics.subscribe("orders", "sqs", "work")
    run = TopicDeliverer(topics, {"sqs": QueueSender(queues)}, clock=clock, poll_s=30)
    topics.on_publish = run.notify
    with run:
        topics.publish("orders", "x")
        assert queues.receive("work", wait_s=5)  # long poll: bounded, woken by the send
    assert [d.status for d in topics.deliveries()] == ["delivered"]


def test_senders_for_other_protocols_wait_for_a_deliverer_that_has_them(topics: SqliteTopic, clock: FakeClock) -> None:
    topics.create_topic("orders", outbox=False)
    topics.subscribe("orders", "email", "ops@example.test")
    message_id = topics.publish("orders", "x")
    assert deliverer(topics, clock, {}).deliver_pending() == 0
    [row] = topics.deliveries(message_id=message_id)
    assert (row.status, row.attempts) == ("pending", 0)
    accepted: list[str] = []
    send: Callable[[DeliveryRecord], None] = lambda r: accepted.append(r.subscription.endpoint)  # noqa: E731
    assert deliverer(topics, clock, {"email": send}).deliver_pending() == 1
    assert accepted == ["ops@example.test"]


def test_a_permanent_error_class_from_a_sender_counts_as_rejected(topics: SqliteTopic, clock: FakeClock) -> None:
    topics.create_topic("orders", outbox=False)
    topics.subscribe("orders", "https", "https://example.test/")
    message_id = topics.publish("orders", "x")
    deliverer(topics, clock, {"https": Flaky(1, PermanentDeliveryError)}).deliver_pending()
    [row] = topics.deliveries(message_id=message_id)
    assert (row.status, row.attempts) == ("rejected", 1)
