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

JOB_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

stepfunctions = boto3.client("stepfunctions")


def lambda_handler(event, context):
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
