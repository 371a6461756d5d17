"""GET /jobs: the caller's jobs, newest first (at most 50; ``?limit=`` asks for fewer)."""

import os

import boto3
from access import answer, claims, groups
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from boto3.dynamodb.conditions import Key

MAX_LIMIT = 50

logger = Logger()
metrics = Metrics()
tracer = Tracer()
table = boto3.resource("dynamodb").Table(os.environ["JOBS_TABLE"])


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    response = _list(event)
    metrics.add_metric(name="JobListsRead" if response["statusCode"] == 200 else "ReadsRefused", unit=MetricUnit.Count, value=1)
    return response


def _list(event):
    verified = claims(event)
    if not groups(verified) & {"viewers", "submitters"}:
        return answer(403, {"message": "Only members of the viewers or submitters groups may read jobs"})
    text = (event.get("queryStringParameters") or {}).get("limit", str(MAX_LIMIT))
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        return answer(400, {"message": f"limit must be a number from 1 to {MAX_LIMIT}"})
    found = table.query(
        IndexName="BySubmitter",
        KeyConditionExpression=Key("submittedBy").eq(verified.get("sub", "")),
        ScanIndexForward=False,
        Limit=int(text),
    )
    jobs = [
        {key: item.get(key) for key in ("jobId", "operation", "label", "submittedAt", "executionArn")} for item in found.get("Items", [])
    ]
    return answer(200, {"jobs": jobs})
