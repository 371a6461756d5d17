"""Errors to HTTP, once: AWS's codes to statuses, and every answer ``{"error": code, "message": ...}``.

AWS's own status is kept for its client errors (a throttled call stays 400/429), with the
codes below given their REST meaning; an AWS server error is a 502 (AWS failed, not this API),
and nothing ever answers with a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .aws import AwsCallError, ServiceNotServedError
from .roles import Forbidden, Unauthorized

logger = logging.getLogger(__name__)

__all__ = ["NOT_FOUND_CODES", "ApiError", "install", "status_of"]

NOT_FOUND_CODES = frozenset(
    {
        "ResourceNotFound",  # Step Functions (map runs, activities)
        "ResourceNotFoundException",  # EventBridge, Cognito, CloudWatch
        "ExecutionDoesNotExist",
        "StateMachineDoesNotExist",
        "NoSuchKey",
        "NoSuchBucket",
        "NotFound",  # S3 HeadObject/HeadBucket (no body), SNS
        "404",  # S3 HEAD answers carry the status as the code
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
        "UserNotFoundException",
    }
)
CONFLICT_CODES = frozenset(
    {
        "ExecutionAlreadyExists",
        "ExecutionNotRedrivable",
        "UsernameExistsException",
        "GroupExistsException",
        "ConflictException",
        "ResourceConflictException",
        "ResourceInUseException",
        "BucketAlreadyOwnedByYou",
    }
)
VALIDATION_CODES = frozenset(
    {
        "ValidationException",
        "ValidationError",
        "InvalidArn",
        "InvalidName",
        "InvalidToken",
        "InvalidExecutionInput",
        "InvalidParameter",
        "InvalidParameterValue",
        "InvalidParameterException",
        "InvalidPasswordException",
        "InvalidAddress",
        "InvalidArgument",
        "InvalidBucketName",
        "MissingParameter",
        "StateMachineTypeNotSupported",
    }
)


class ApiError(Exception):
    """An answer a route gives itself (a request it cannot carry out), with its status and code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def status_of(error: AwsCallError) -> int:
    """The HTTP status the management API answers an AWS error with."""
    if error.code in NOT_FOUND_CODES:
        return 404
    if error.code in CONFLICT_CODES:
        return 409
    if error.code in VALIDATION_CODES:
        return 400
    if error.status in (401, 403):
        # AWS refusing the API's own credentials (the Lambda role lacks a permission) is this
        # deployment's fault, not the caller's: a 403 would read as "your role is too low".
        return 502
    if 400 <= error.status < 500:
        return error.status
    return 502


def _problem(status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": code, "message": message, **extra}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Register the exception handlers on ``app``."""

    @app.exception_handler(AwsCallError)
    async def aws_error(request: Request, exc: AwsCallError) -> JSONResponse:
        status = status_of(exc)
        if status >= 500:
            logger.warning("management api: AWS failed", extra={"code": exc.code, "status": exc.status, "path": request.url.path})
        return _problem(status, exc.code, exc.message or exc.code)

    @app.exception_handler(ServiceNotServedError)
    async def not_served(request: Request, exc: ServiceNotServedError) -> JSONResponse:
        message = f"{exc.service} {exc.operation} is not served by the Sluiceway endpoint; this route works on AWS"
        return _problem(501, "NotImplemented", message)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _problem(exc.status, exc.code, exc.message)

    @app.exception_handler(Unauthorized)
    async def unauthorized(request: Request, exc: Unauthorized) -> JSONResponse:
        # RFC 6750: a request without credentials gets the bare challenge; a bad token, invalid_token.
        challenge = 'Bearer error="invalid_token"' if exc.token_given else "Bearer"
        return _problem(401, "Unauthorized", exc.message, {"WWW-Authenticate": challenge})

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> JSONResponse:
        return _problem(403, "Forbidden", exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))} for e in exc.errors()]
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return _problem(422, "ValidationError", f"{where}: {first['msg']}" if where else str(first["msg"]), detail=details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HttpError")
        return _problem(exc.status_code, code, str(exc.detail), dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("management api: %s %s failed", request.method, request.url.path)
        return _problem(500, "InternalError", "the management API failed; see the server's log")
