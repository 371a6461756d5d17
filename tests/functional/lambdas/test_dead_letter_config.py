"""A function's dead-letter queue (DeadLetterConfig): asynchronous events given up on, sent as Lambda sends them.

Real local components throughout: the SQLite queue of asynchronous invocations, SQS queues and SNS
topics, an event bus, and the thread-mode function runtime running the handlers of
``dead_letter_handlers``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import dead_letter_handlers as handlers
import pytest

from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.async_invocations import AsyncInvocation, EventInvokeConfig, SqliteAsyncInvocations
from sluiceway.backends.local.events import SqliteEventBus
from sluiceway.backends.local.queues import SqliteQueueService
from sluiceway.backends.local.topics import SqliteTopic
from sluiceway.clock import FakeClock
from sluiceway.messaging.queue import ReceivedMessage
from sluiceway.messaging.sns import MessageAttribute
from sluiceway.runtime.lambdas.async_invocations import AsyncInvocationDeliverer
from sluiceway.runtime.lambdas.destinations import LocalDestinations
from sluiceway.runtime.lambdas.invoker import FunctionSpec, LocalFunctionInvoker

REGION = "us-east-1"
ACCOUNT = "111111111111"
DLQ = f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders-dlq"


class Local:
    """The pieces of a local stack an asynchronous invocation goes through."""

    def __init__(self, db: Database, clock: FakeClock, tmp_path: Path, invoker: LocalFunctionInvoker) -> None:
        self.clock = clock
        self.queues = SqliteQueueService(db, clock, region=REGION, account_id=ACCOUNT)
        self.topics = SqliteTopic(db, tmp_path / "outbox.jsonl", clock, region=REGION, account_id=ACCOUNT)
        self.invocations = SqliteAsyncInvocations(db, clock)
        self.configs = self.invocations.configs
        destinations = LocalDestinations(self.queues, self.topics, SqliteEventBus(db, clock), self.invocations)
        self.deliverer: AsyncInvocationDeliverer[AsyncInvocation] = AsyncInvocationDeliverer(
            self.invocations, self.configs, invoker, clock, destinations=destinations
        )
        self.queues.create_queue("orders-dlq")

    def run_out_the_retries(self) -> None:
        """Deliver, then let Lambda's one- and two-minute waits pass, delivering after each."""
        self.deliverer.deliver_pending()
        for wait in (60, 120):
            self.clock.advance(wait)
            self.deliverer.deliver_pending()

    def received(self, queue: str = "orders-dlq") -> list[ReceivedMessage]:
        return self.queues.receive_messages(queue, max_messages=10, wait_s=0)


@pytest.fixture
def invoker() -> Iterator[LocalFunctionInvoker]:
    handlers.reset()
    specs = [FunctionSpec(name, f"dead_letter_handlers.{name.lower()}", timeout_s=15.0) for name in ("Fail", "Succeed")]
    with LocalFunctionInvoker(specs, workers=2, mode="thread", region=REGION, account_id=ACCOUNT) as pool:
        yield pool


@pytest.fixture
def local(tmp_path: Path, invoker: LocalFunctionInvoker) -> Iterator[Local]:
    db = Database(tmp_path / "sluiceway.db")
    try:
        yield Local(db, FakeClock(), tmp_path, invoker)
    finally:
        db.close()


def attributes(message: ReceivedMessage) -> dict[str, tuple[str, str | None]]:
    return {name: (value.data_type, value.string_value) for name, value in message.attributes.items()}


def test_an_event_whose_retries_failed_goes_to_the_dlq_as_sent_with_lambdas_attributes(local: Local) -> None:
    local.configs.set_dead_letter("Fail", DLQ)
    sent = '{"order": 7,  "items": [1, 2]}'  # the caller's own spacing: Lambda sends the event as-is
    request_id = local.invocations.enqueue("Fail", json.loads(sent), raw=sent)
    local.deliverer.deliver_pending()
    local.clock.advance(60)
    local.deliverer.deliver_pending()
    assert local.received() == []  # not before the last retry
    local.clock.advance(120)
    local.deliverer.deliver_pending()
    assert len(handlers.CALLS) == 3
    [message] = local.received()
    assert message.body == sent
    assert attributes(message) == {
        "RequestID": ("String", request_id),
        "ErrorCode": ("Number", "200"),
        "ErrorMessage": ("String", "order 7 cannot be shipped"),
    }
    [(given_up, status, _)] = local.invocations.given_up()
    assert (given_up.request_id, status) == (request_id, "failed")


def test_without_the_callers_text_the_event_goes_as_compact_json(local: Local) -> None:
    local.configs.set_dead_letter("Fail", DLQ)
    local.invocations.enqueue("Fail", {"order": 8})
    local.run_out_the_retries()
    [message] = local.received()
    assert message.body == '{"order":8}'


def test_maximum_retry_attempts_zero_sends_it_after_the_first_failure(local: Local) -> None:
    local.configs.set_dead_letter("Fail", DLQ)
    local.configs.put(EventInvokeConfig("Fail", "$LATEST", local.clock.now(), maximum_retry_attempts=0))
    local.invocations.enqueue("Fail", {"order": 9})
    local.deliverer.deliver_pending()
    assert len(handlers.CALLS) == 1 and len(local.received()) == 1


def test_an_on_failure_destination_and_a_dlq_both_get_theirs(local: Local) -> None:
    local.queues.create_queue("failures")
    local.configs.set_dead_letter("Fail", DLQ)
    local.configs.put(
        EventInvokeConfig(
            "Fail", "$LATEST", local.clock.now(), maximum_retry_attempts=0, on_failure=f"arn:aws:sqs:{REGION}:{ACCOUNT}:failures"
        )
    )
    request_id = local.invocations.enqueue("Fail", {"order": 10})
    local.deliverer.deliver_pending()
    [event] = local.received()
    assert json.loads(event.body) == {"order": 10}
    [record] = local.received("failures")
    context = json.loads(record.body)["requestContext"]
    assert (context["requestId"], context["condition"]) == (request_id, "RetriesExhausted")


def test_a_dlq_topic_gets_the_event_with_typed_attributes(local: Local) -> None:
    local.topics.create_topic("failed-orders")
    local.configs.set_dead_letter("Fail", f"arn:aws:sns:{REGION}:{ACCOUNT}:failed-orders")
    request_id = local.invocations.enqueue("Fail", {"order": 11})
    local.run_out_the_retries()
    [published] = local.topics.published("failed-orders")
    assert json.loads(published.message) == {"order": 11}
    assert published.attributes == {
        "RequestID": MessageAttribute("String", request_id),
        "ErrorCode": MessageAttribute("Number", "200"),
        "ErrorMessage": MessageAttribute("String", "order 7 cannot be shipped"),
    }


def test_the_error_message_is_cut_to_its_first_kilobyte(local: Local) -> None:
    local.configs.set_dead_letter("Fail", DLQ)
    local.invocations.enqueue("Fail", {"why": "é" * 600})  # 1200 bytes of UTF-8
    local.run_out_the_retries()
    [message] = local.received()
    assert attributes(message)["ErrorMessage"] == ("String", "é" * 512)


def test_an_event_that_expires_after_a_function_error_goes_to_the_dlq(local: Local) -> None:
    local.configs.set_dead_letter("Fail", DLQ)
    local.configs.put(EventInvokeConfig("Fail", "$LATEST", local.clock.now(), maximum_event_age_s=60))
    local.invocations.enqueue("Fail", {"order": 12})
    local.deliverer.deliver_pending()
    local.clock.advance(61)
    local.deliverer.deliver_pending()
    assert len(handlers.CALLS) == 1  # the retry came after its maximum age: not made
    [message] = local.received()
    assert json.loads(message.body) == {"order": 12}
    code, error = attributes(message)["ErrorCode"], attributes(message)["ErrorMessage"]
    assert code == ("Number", "200") and "order 7 cannot be shipped" in (error[1] or "")


def test_an_event_that_expires_without_running_goes_to_the_dlq_as_lambdas_own_failure(local: Local) -> None:
    local.configs.set_dead_letter("Succeed", DLQ)
    local.invocations.enqueue("Succeed", {"order": 13})
    local.clock.advance(timedelta(hours=6, seconds=1).total_seconds())
    local.deliverer.deliver_pending()
    assert handlers.CALLS == []
    [message] = local.received()
    assert attributes(message)["ErrorCode"] == ("Number", "500")
    assert "EventAgeExceeded" in (attributes(message)["ErrorMessage"][1] or "")


def test_a_success_sends_nothing_to_the_dlq(local: Local) -> None:
    local.configs.set_dead_letter("Succeed", DLQ)
    local.invocations.enqueue("Succeed", {"order": 14})
    assert local.deliverer.deliver_pending() == 1
    assert local.received() == []


def test_a_function_without_a_dlq_sends_nothing_and_one_removed_is_gone(local: Local) -> None:
    local.invocations.enqueue("Fail", {"order": 15})
    local.configs.set_dead_letter("Fail", DLQ)
    local.configs.set_dead_letter("Fail", None)
    assert local.configs.dead_letter("Fail") is None
    local.run_out_the_retries()
    assert len(handlers.CALLS) == 3 and local.received() == []


def test_a_dlq_that_is_gone_loses_the_event_and_the_invocation_still_ends(local: Local) -> None:
    local.configs.set_dead_letter("Fail", f"arn:aws:sqs:{REGION}:{ACCOUNT}:deleted-queue")
    local.invocations.enqueue("Fail", {"order": 16})
    local.run_out_the_retries()
    assert [status for _, status, _ in local.invocations.given_up()] == ["failed"]
    assert local.invocations.pending() == []


def test_the_dead_letter_target_is_durable(local: Local, tmp_path: Path) -> None:
    local.configs.set_dead_letter("Fail", DLQ)
    reopened = Database(tmp_path / "sluiceway.db")
    try:
        assert SqliteAsyncInvocations(reopened, local.clock).configs.dead_letter("Fail") == DLQ
    finally:
        reopened.close()
    local.configs.set_dead_letter("Fail", "")  # UpdateFunctionConfiguration's way of removing it
    assert local.configs.dead_letter("Fail") is None


@pytest.mark.parametrize(
    "target",
    [
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:Other",
        f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default",
        "orders-dlq",
        f"arn:aws:sqs:{REGION}:{ACCOUNT}:../escape",
    ],
)
def test_only_a_queue_or_a_topic_can_be_a_dlq(local: Local, target: str) -> None:
    with pytest.raises(ValueError, match="SQS queue or Amazon SNS topic"):
        local.configs.set_dead_letter("Fail", target)
    assert local.configs.dead_letter("Fail") is None


def test_raw_text_must_be_the_payloads(local: Local) -> None:
    with pytest.raises(ValueError, match="raw"):
        local.invocations.enqueue("Fail", {"order": 1}, raw='{"order": 2}')
    assert local.invocations.pending() == []
