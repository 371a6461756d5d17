"""The "csv-fanout" preset's consumer: SQS batches of topic messages → one summary object each.

Reports partial batch failures: a record that cannot be understood (not an SNS
envelope, not a summary) is returned in ``batchItemFailures`` and goes back to
the queue; after the queue's maxReceiveCount the runtime moves it to the
dead-letter queue with its receive count. The handler never deletes or drops
a message itself.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ..names import check_key
from ..ports import ObjectStore
from ..types import JSON, EventDict

logger = logging.getLogger(__name__)

__all__ = ["consume", "handler"]

SUMMARY_PREFIX = "summaries"


def consume(event: EventDict, *, objects: ObjectStore, output_bucket: str) -> dict[str, JSON]:
    failures: list[dict[str, str]] = []
    for record in event.get("Records") or []:
        message_id = str(record.get("messageId", ""))
        try:
            summary = _summary(record)
            key = check_key(f"{SUMMARY_PREFIX}/{summary['key']}.summary.json")
            objects.put(output_bucket, key, json.dumps(summary, indent=2).encode(), content_type="application/json")
        except Exception as exc:  # one bad record fails alone, the batch goes on
            logger.warning("message not processed", extra={"message_id": message_id, "reason": f"{type(exc).__name__}: {exc}"})
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}


def _summary(record: EventDict) -> dict[str, Any]:
    body = json.loads(record["body"])
    if isinstance(body, dict) and body.get("Type") == "Notification":  # SNS envelope (raw delivery off)
        body = json.loads(body["Message"])
    if not isinstance(body, dict) or not isinstance(body.get("key"), str) or "status" not in body:
        raise ValueError("not a CSV summary message")
    return body


def handler(event: EventDict, context: Any) -> EventDict:
    """Lambda entrypoint: an event source mapping on the summaries queue (ReportBatchItemFailures on)."""
    from ..services import get_services

    services = get_services()
    return consume(event, objects=services.objects, output_bucket=services.settings.output_bucket)
