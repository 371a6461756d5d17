"""The source documents' other two pipelines, as presets of the local stack.

* ``csv-fanout``: a CSV lands → the CsvProcessor function (an EventBridge rule
  target) → the ``csv-processed`` topic → the ``csv-summaries`` queue (dead-letter
  queue after 3 receives) → the SqsConsumer function (an event source mapping with
  ReportBatchItemFailures) → one summary object per file in the output bucket.
* ``json-records``: an object under ``incoming/`` ending ``.json`` → the JsonRecords
  function → one record in the ``events`` table keyed ``pk`` (idempotent) → the
  ``events-notify`` topic ("New file processed: KEY").

A preset replaces the CSV workflow's rule on its stack; everything it creates is
idempotent, so applying it again on the same data directory changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..events.patterns import compile_pattern
from ..events.rules import Rule, Target
from .triggers import EventSourceMapping

if TYPE_CHECKING:
    from .wiring import Stack

__all__ = ["PRESETS", "Preset", "apply_preset"]

SUMMARIES_QUEUE = "csv-summaries"
SUMMARIES_DLQ = "csv-summaries-dlq"
MAX_RECEIVES = 3


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    apply: Callable[[Stack], None]


def _function_target(stack: Stack, target_id: str, function: str) -> Target:
    return Target(target_id, stack.settings.arn("lambda", f"function:{function}"))


def _object_created(bucket: str, key_filter: list[Any]) -> dict[str, Any]:
    return {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [bucket]}, "object": {"key": key_filter}},
    }


def _csv_fanout(stack: Stack) -> None:
    messaging = stack.messaging
    assert messaging is not None and messaging.triggers is not None
    messaging.topics.create_topic("csv-processed")
    messaging.queues.create_queue(SUMMARIES_DLQ)
    # A short visibility timeout: a failed batch is retried after 2 s, so a poison
    # message reaches the dead-letter queue within seconds, not minutes.
    messaging.queues.create_queue(
        SUMMARIES_QUEUE,
        visibility_timeout_s=2,
        redrive_policy={"deadLetterTargetArn": messaging.queues.queue_arn(SUMMARIES_DLQ), "maxReceiveCount": MAX_RECEIVES},
    )
    messaging.topics.subscribe("csv-processed", "sqs", SUMMARIES_QUEUE)
    pattern = compile_pattern(_object_created(stack.settings.input_bucket, [{"suffix": ".csv"}]))
    stack.bus.put_rule(
        Rule("csv-fanout-trigger", pattern, (_function_target(stack, "processor", "CsvProcessor"),), description="CSV → CsvProcessor")
    )
    messaging.triggers.add(EventSourceMapping(SUMMARIES_QUEUE, "SqsConsumer", batch_size=10, report_batch_item_failures=True))


def _json_records(stack: Stack) -> None:
    messaging = stack.messaging
    assert messaging is not None
    messaging.topics.create_topic("events-notify")
    # The seed's S3 notification filter (prefix incoming/, suffix .json) as one EventBridge pattern.
    pattern = compile_pattern(_object_created(stack.settings.input_bucket, [{"wildcard": "incoming/*.json"}]))
    stack.bus.put_rule(
        Rule(
            "json-records-trigger",
            pattern,
            (_function_target(stack, "recorder", "JsonRecords"),),
            description="incoming/*.json → JsonRecords",
        )
    )


PRESETS: dict[str, Preset] = {
    "csv-fanout": Preset("csv-fanout", "CSV → function → topic → queue (DLQ) → consumer → summary object", _csv_fanout),
    "json-records": Preset("json-records", "incoming/*.json → function → record per document → notification", _json_records),
}


def apply_preset(stack: Stack, name: str) -> Preset:
    """Create the preset's topics, queues, rules and triggers on ``stack``.

    Raises:
        ValueError: no preset of that name.
    """
    try:
        preset = PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}: choose one of {', '.join(sorted(PRESETS))}") from None
    preset.apply(stack)
    return preset
