"""POST /jobs: a member of ``submitters`` starts a job; 202 with the job's id and its execution's ARN.

The body is ``{"operation": "sum" | "mean" | "min" | "max", "numbers": [...]}`` (1 to 1000 finite
numbers) with an optional ``label``. The job is an execution of the JobWorkflow state machine,
named by the job's id, so that ``GET /jobs/{id}`` finds it from the id alone; JobsTable records it
for ``GET /jobs``.
"""

import base64
import json
import math
import os
import uuid
from datetime import UTC, datetime

import boto3
from access import answer, claims, groups
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

OPERATIONS = ("sum", "mean", "min", "max")
MAX_NUMBERS = 1000
MAX_LABEL = 100

# Service and namespace from POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE (the template's Globals).
logger = Logger()
metrics = Metrics()
tracer = Tracer()
stepfunctions = boto3.client("stepfunctions")
jobs = boto3.resource("dynamodb").Table(os.environ["JOBS_TABLE"])


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    response = _submit(event)
    # One metric per call, whatever the answer: a refused job is a number operators watch too.
    accepted = response["statusCode"] == 202
    metrics.add_metric(name="JobsSubmitted" if accepted else "SubmissionsRefused", unit=MetricUnit.Count, value=1)
    return response


def _submit(event):
    verified = claims(event)
    if "submitters" not in groups(verified):
        return answer(403, {"message": "Only members of the submitters group may submit jobs"})
    try:
        body = _body(event)
    except ValueError as exc:
        return answer(400, {"message": "The body is not JSON", "problems": [str(exc)]})
    problems = _problems(body)
    if problems:
        logger.info("job refused", extra={"problems": problems})
        return answer(400, {"message": "The job is not valid", "problems": problems})
    job_id = str(uuid.uuid4())
    job = {
        "jobId": job_id,
        "operation": body["operation"],
        "numbers": body["numbers"],
        "label": body.get("label", ""),
        "submittedBy": verified.get("sub"),
        "submitterName": verified.get("username") or verified.get("cognito:username"),
    }
    started = stepfunctions.start_execution(stateMachineArn=os.environ["STATE_MACHINE_ARN"], name=job_id, input=json.dumps(job))
    # Recorded once started: a job in the table always has its execution (GET /jobs lists it).
    jobs.put_item(
        Item={
            "jobId": job_id,
            "submittedBy": job["submittedBy"],
            "submittedAt": datetime.now(UTC).isoformat(),
            "operation": job["operation"],
            "label": job["label"],
            "executionArn": started["executionArn"],
        }
    )
    logger.info("job submitted", extra={"job_id": job_id, "execution_arn": started["executionArn"], "operation": job["operation"]})
    return answer(
        202,
        {"jobId": job_id, "executionArn": started["executionArn"], "status": "RUNNING", "startDate": started["startDate"].isoformat()},
    )


def _body(event):
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode("utf-8")
    return json.loads(raw)


def _problems(body):
    if not isinstance(body, dict):
        return ["the body must be a JSON object"]
    problems = []
    unknown = sorted(set(body) - {"operation", "numbers", "label"})
    if unknown:
        problems.append(f"unknown fields: {', '.join(unknown)}")
    if body.get("operation") not in OPERATIONS:
        problems.append(f"operation must be one of {', '.join(OPERATIONS)}")
    numbers = body.get("numbers")
    if not isinstance(numbers, list) or not 1 <= len(numbers) <= MAX_NUMBERS:
        problems.append(f"numbers must be a list of 1 to {MAX_NUMBERS} numbers")
    elif not all(isinstance(n, (int, float)) and not isinstance(n, bool) and math.isfinite(n) for n in numbers):
        problems.append("numbers must hold only finite numbers")
    label = body.get("label", "")
    if not isinstance(label, str) or len(label) > MAX_LABEL:
        problems.append(f"label must be a string of at most {MAX_LABEL} characters")
    return problems
