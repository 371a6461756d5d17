"""CSV processor: a CSV landed in the input bucket → a summary of it published to the topic.

Triggered by the bucket's S3 notification (``.csv`` objects). The file is read as a stream, so its
size is bounded by the function's timeout, not its memory. A file that cannot be read as CSV is
summarised too, with status ``FAILED`` and the reason, so that every file ends in exactly one
summary object, good or bad.

S3 delivers its events at least once: each write is summarised and published once, however often its
event arrives (:mod:`idempotency`, a conditional put on the idempotency table keyed by the write).
"""

from __future__ import annotations

import codecs
import csv
import json
import os
from typing import Any
from urllib.parse import unquote_plus

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from idempotency import once

# Service and namespace from POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE (the template's Globals).
logger = Logger()
metrics = Metrics()
tracer = Tracer()
s3 = boto3.client("s3")
sns = boto3.client("sns")
TOPIC_ARN = os.environ["TOPIC_ARN"]
#: SNS's limit is 256 KiB per message: the column list is cut, never the message refused.
MAX_COLUMNS = 100


def summarize(lines: Any) -> dict[str, Any]:
    """Rows, columns, empty cells and, per numeric column, count, sum, min and max."""
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        return {"status": "FAILED", "error": "the file is empty"}
    rows = empty = 0
    numbers: dict[str, dict[str, float]] = {}
    numeric = dict.fromkeys(header, True)
    for row in reader:
        if not row:
            continue
        if len(row) != len(header):
            return {"status": "FAILED", "rows": rows, "error": f"line {reader.line_num}: {len(row)} fields, the header has {len(header)}"}
        rows += 1
        for name, cell in zip(header, row, strict=True):
            if cell == "":
                empty += 1
                continue
            if not numeric[name]:
                continue
            try:
                value = float(cell)
            except ValueError:
                numeric[name] = False
                numbers.pop(name, None)
                continue
            stats = numbers.setdefault(name, {"count": 0, "sum": 0.0, "min": value, "max": value})
            stats["count"] += 1
            stats["sum"] += value
            stats["min"] = min(stats["min"], value)
            stats["max"] = max(stats["max"], value)
    return {"status": "SUCCEEDED", "rows": rows, "columns": header[:MAX_COLUMNS], "empty_cells": empty, "numeric": numbers}


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    published = []
    for record in event["Records"]:
        with once(record, context) as first:
            if first:
                published.append(publish_summary(record))
    # Zero for a duplicate delivery: published once per write is what this metric shows.
    metrics.add_metric(name="SummariesPublished", unit=MetricUnit.Count, value=len(published))
    return {"published": published}


@tracer.capture_method
def publish_summary(record: dict[str, Any]) -> str:
    """Summarise the object the record announces and publish the summary; the message id."""
    bucket = record["s3"]["bucket"]["name"]
    # S3 sends keys URL-encoded in its events ("my file.csv" arrives as "my+file.csv").
    key = unquote_plus(record["s3"]["object"]["key"])
    # The version the event announces (the bucket is versioned), not whatever was written since.
    version = record["s3"]["object"].get("versionId")
    obj = s3.get_object(Bucket=bucket, Key=key, **({"VersionId": version} if version else {}))
    try:
        # utf-8-sig drops the byte-order mark spreadsheet programs write; newline="" keeps quoted line breaks.
        lines = codecs.iterdecode(obj["Body"].iter_lines(keepends=True), "utf-8-sig")
        summary = summarize(lines)
    except UnicodeDecodeError as exc:
        summary = {"status": "FAILED", "error": f"not UTF-8 text (byte {exc.start} of a line)"}
    except csv.Error as exc:
        summary = {"status": "FAILED", "error": f"not CSV: {exc}"}
    summary.update({"bucket": bucket, "key": key, "etag": obj["ETag"].strip('"'), "size": obj["ContentLength"]})
    message_id = str(
        sns.publish(
            TopicArn=TOPIC_ARN,
            Subject="CSV processed",
            Message=json.dumps(summary),
            MessageAttributes={"status": {"DataType": "String", "StringValue": summary["status"]}},
        )["MessageId"]
    )
    metrics.add_metric(name="CsvFilesFailed" if summary["status"] == "FAILED" else "CsvFilesProcessed", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="CsvRowsRead", unit=MetricUnit.Count, value=summary.get("rows", 0))
    logger.info("csv processed", extra={"processed": key, "status": summary["status"], "message_id": message_id})
    return message_id
