"""Handlers the endpoint's Lambda, Logs and Step Functions tests register as functions."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

logger = logging.getLogger("endpoint-tests")
logger.setLevel(logging.INFO)


def echo(event: Any, context: Any) -> Any:
    return {"echo": event, "function": context.function_name}


def chatty(event: Any, context: Any) -> Any:
    """Writes to stdout, stderr and logging, as handlers do."""
    print(f"hello from {context.function_name} marker={event.get('marker')}")
    print(f"to stderr marker={event.get('marker')}", file=sys.stderr)
    logger.info('{"level": "INFO", "marker": "%s"}', event.get("marker"))
    logger.error("something bad marker=%s", event.get("marker"))
    return {"ok": True}


def fail(event: Any, context: Any) -> Any:
    raise ValueError(f"bad input: {event.get('why')}")


def environment(event: Any, context: Any) -> Any:
    names = [
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_DISABLE_HOST_PREFIX_INJECTION",
    ]
    return {name: os.environ.get(name) for name in names}


def caller(event: Any, context: Any) -> Any:
    """Unchanged boto3 code: who am I, through whatever endpoint the environment names."""
    import boto3

    return boto3.client("sts").get_caller_identity()["Account"]
