"""JobWorkflow's ProcessJob task: computes the job. ``outcome`` tells CheckOutcome where to go.

A result that is not a finite number (numbers whose sum overflows a double) has no JSON form:
the outcome says so and the workflow fails the job (ResultOutOfRange).
"""

import math

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
metrics = Metrics()
tracer = Tracer()


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    outcome = _compute(event)
    tracer.put_annotation(key="outcome", value=outcome["outcome"])
    metrics.add_metric(name="JobsProcessed", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="NumbersProcessed", unit=MetricUnit.Count, value=outcome["count"])
    logger.info("job processed", extra={"job_id": outcome["jobId"], "operation": outcome["operation"], "outcome": outcome["outcome"]})
    return outcome


def _compute(event):
    numbers = event["numbers"]
    operation = event["operation"]
    if operation in ("sum", "mean"):
        try:
            total = math.fsum(numbers)
        except OverflowError:  # fsum refuses a sum past the largest double rather than answer inf
            total = math.inf
        result = total if operation == "sum" else total / len(numbers)
    elif operation == "min":
        result = min(numbers)
    elif operation == "max":
        result = max(numbers)
    else:
        raise ValueError(f"unknown operation {operation!r}")
    finite = math.isfinite(result)
    return {
        "jobId": event["jobId"],
        "operation": operation,
        "count": len(numbers),
        "result": result if finite else None,
        "outcome": "ok" if finite else "out-of-range",
    }
