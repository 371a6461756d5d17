"""GET /jobs/{id}: a job's status, and its result once it succeeded (its error once it failed).

Members of ``viewers`` see every job; members of ``submitters`` see the jobs they submitted. A
job the caller may not see is answered as one that does not exist (404), so that ids cannot be
probed.
"""

import json
import os
import re

import boto3
from access import answer, claims, groups
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

JOB_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

logger = Logger()
metrics = Metrics()
tracer = Tracer()
stepfunctions = boto3.client("stepfunctions")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    response = _read(event)
    metrics.add_metric(name="JobsRead" if response["statusCode"] == 200 else "ReadsRefused", unit=MetricUnit.Count, value=1)
    return response


def _read(event):
    verified = claims(event)
    member_of = groups(verified)
    if not member_of & {"viewers", "submitters"}:
        return answer(403, {"message": "Only members of the viewers or submitters groups may read jobs"})
    job_id = (event.get("pathParameters") or {}).get("id", "")
    if not JOB_ID.fullmatch(job_id):
        return answer(400, {"message": "A job id is a lowercase UUID"})
    # The execution is named by the job's id: its ARN is the state machine's, as an execution.
    machine = os.environ["STATE_MACHINE_ARN"]
    execution_arn = machine.replace(":stateMachine:", ":execution:", 1) + ":" + job_id
    try:
        execution = stepfunctions.describe_execution(executionArn=execution_arn)
    except stepfunctions.exceptions.ExecutionDoesNotExist:
        return answer(404, {"message": f"No job {job_id}"})
    job = json.loads(execution.get("input") or "{}")
    if "viewers" not in member_of and job.get("submittedBy") != verified.get("sub"):
        return answer(404, {"message": f"No job {job_id}"})
    result = {
        "jobId": job_id,
        "executionArn": execution["executionArn"],
        "status": execution["status"],
        "operation": job.get("operation"),
        "label": job.get("label", ""),
        "submittedBy": job.get("submitterName"),
        "startDate": execution["startDate"].isoformat(),
    }
    if execution.get("stopDate"):
        result["stopDate"] = execution["stopDate"].isoformat()
    if execution["status"] == "SUCCEEDED":
        result["output"] = json.loads(execution.get("output") or "null")
    elif execution["status"] in ("FAILED", "TIMED_OUT", "ABORTED"):
        result["error"] = execution.get("error")
        result["cause"] = execution.get("cause")
    return answer(200, result)
