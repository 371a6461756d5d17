"""The served services: botocore service name -> the module whose ``OPERATIONS`` serves it.

Modules are imported on a service's first request, so an endpoint that only sees S3
traffic never loads the DynamoDB expression parser.
"""

from __future__ import annotations

import importlib

from ..context import Operations

__all__ = ["SERVICES", "operations"]

SERVICES: dict[str, str] = {
    "s3": "sluiceway.endpoint.services.s3",
    "apigateway": "sluiceway.endpoint.services.apigateway",
    "ssm": "sluiceway.endpoint.services.ssm",
    "secretsmanager": "sluiceway.endpoint.services.secretsmanager",
    "ses": "sluiceway.endpoint.services.ses",
    "sesv2": "sluiceway.endpoint.services.sesv2",
    "pipes": "sluiceway.endpoint.services.pipes",
    "sqs": "sluiceway.endpoint.services.sqs",
    "sns": "sluiceway.endpoint.services.sns",
    "dynamodb": "sluiceway.endpoint.services.dynamodb",
    "dynamodbstreams": "sluiceway.endpoint.services.dynamodbstreams",
    "events": "sluiceway.endpoint.services.events",
    "scheduler": "sluiceway.endpoint.services.scheduler",
    "stepfunctions": "sluiceway.endpoint.services.stepfunctions",
    "lambda": "sluiceway.endpoint.services.lambda_",
    "logs": "sluiceway.endpoint.services.logs",
    "kinesis": "sluiceway.endpoint.services.kinesis",
    "sts": "sluiceway.endpoint.services.sts",
    "cloudformation": "sluiceway.endpoint.services.cloudformation",
    "cognito-idp": "sluiceway.endpoint.services.cognito_idp",
    "cloudwatch": "sluiceway.endpoint.services.cloudwatch",
}


def operations(service: str) -> Operations:
    """The service's operations (KeyError for a service Sluiceway does not serve)."""
    module = importlib.import_module(SERVICES[service])
    ops: Operations = module.OPERATIONS
    return ops
