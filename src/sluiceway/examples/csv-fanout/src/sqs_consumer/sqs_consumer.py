"""SQS consumer: the topic's summaries, delivered to the queue → one summary object per file in the output bucket.

The queue's event source mapping reports batch item failures: a message that is not a summary
fails alone and goes back to the queue; after the queue's ``maxReceiveCount`` (3) SQS moves it
to the dead-letter queue. The consumer never deletes or drops a message itself. Writing the
same summary again writes the same object, so a message delivered twice (SQS is at least once)
changes nothing.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

# Service and namespace from POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE (the template's Globals).
logger = Logger()
metrics = Metrics()
tracer = Tracer()
s3 = boto3.client("s3")
OUTPUT_BUCKET = os.environ["OUTPUT_BUCKET"]
PREFIX = "summaries/"


def summary_of(body: str) -> dict[str, Any]:
    """The summary a message carries (raw, or inside SNS's envelope); ValueError when it carries none."""
    message = json.loads(body)
    if isinstance(message, dict) and message.get("Type") == "Notification" and "Message" in message:
        message = json.loads(message["Message"])
    if not isinstance(message, dict) or not isinstance(message.get("key"), str) or message.get("status") not in ("SUCCEEDED", "FAILED"):
        raise ValueError("not a CSV summary")
    return message


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failures = []
    for record in event["Records"]:
        try:
            summary = summary_of(record["body"])
            s3.put_object(
                Bucket=OUTPUT_BUCKET,
                Key=f"{PREFIX}{summary['key']}.json",
                Body=json.dumps(summary, indent=2).encode(),
                ContentType="application/json",
            )
        except Exception as exc:  # one bad message fails alone; the rest of the batch is done
            logger.warning("message failed", extra={"failed": record["messageId"], "error": f"{type(exc).__name__}: {exc}"})
            failures.append({"itemIdentifier": record["messageId"]})
    metrics.add_metric(name="SummariesWritten", unit=MetricUnit.Count, value=len(event["Records"]) - len(failures))
    metrics.add_metric(name="MessagesFailed", unit=MetricUnit.Count, value=len(failures))
    return {"batchItemFailures": failures}
