"""The one place where boto3 and botocore errors become Sluiceway's.

Every AWS adapter wraps its calls in :func:`translated`, so callers above the
ports only ever see the :class:`~sluiceway.errors.BackendError` tree, with the
original exception kept as ``__cause__``:

- ``NoSuchKey``, ``NoSuchBucket``, HTTP 404, ``ResourceNotFoundException``: NotFoundError
- ``ConditionalCheckFailedException``: ConflictError; S3's ``PreconditionFailed`` (412): PreconditionFailedError
- throttling, HTTP 5xx, timeouts, refused or dropped connections: BackendUnavailableError
- ``InvalidBucketName``, ``KeyTooLongError``: InvalidNameError
- botocore's parameter validation (a programmer mistake): ValueError
- anything else: BackendError
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from boto3.exceptions import Boto3Error, RetriesExceededError
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    ParamValidationError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

from ...errors import (
    BackendError,
    BackendUnavailableError,
    ConflictError,
    DefinitionError,
    ExecutionAlreadyExistsError,
    ExecutionNotFoundError,
    InvalidNameError,
    NotFoundError,
    PreconditionFailedError,
    SluicewayError,
)

logger = logging.getLogger(__name__)

__all__ = ["error_code", "translate", "translated"]

NOT_FOUND_CODES = frozenset(
    {
        "404",
        "NotFound",
        "NoSuchKey",
        "NoSuchBucket",
        "NoSuchUpload",
        "NoSuchVersion",
        "ResourceNotFoundException",
        "NotFoundException",
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
    }
)
CONFLICT_CODES = frozenset(
    {
        "ConditionalCheckFailedException",
        "TransactionConflictException",
        "ConditionalRequestConflict",
    }
)
UNAVAILABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "BandwidthLimitExceeded",
        "SlowDown",
        "EC2ThrottledException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "InternalException",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
    }
)
INVALID_NAME_CODES = frozenset({"InvalidBucketName", "KeyTooLongError"})


def error_code(exc: ClientError) -> str:
    """The AWS error code of a ``ClientError`` (``""`` when the response has none)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


#: Service codes that mean exactly what a local backend raises for the same thing
#: (checked before the generic classes below).
SPECIFIC_CODES: Mapping[str, type[SluicewayError]] = {
    # SQS
    "ReceiptHandleIsInvalid": NotFoundError,
    "AWS.SimpleQueueService.ReceiptHandleIsInvalid": NotFoundError,
    "InvalidReceiptHandle": NotFoundError,
    "QueueAlreadyExists": ConflictError,
    "QueueNameExists": ConflictError,
    "AWS.SimpleQueueService.QueueNameExists": ConflictError,
    # Step Functions
    "ExecutionAlreadyExists": ExecutionAlreadyExistsError,
    "ExecutionDoesNotExist": ExecutionNotFoundError,
    # The local orchestrator says "State Machine Does Not Exist" with this class too.
    "StateMachineDoesNotExist": ExecutionNotFoundError,
    # A malformed ARN names no execution; locally any unknown string is not found.
    "InvalidArn": ExecutionNotFoundError,
    "InvalidName": InvalidNameError,
    "ExecutionLimitExceeded": BackendUnavailableError,
    # S3: a GET or PUT conditioned on an ETag met another version of the object.
    "PreconditionFailed": PreconditionFailedError,
    "412": PreconditionFailedError,
}


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def translate(exc: BaseException, what: str) -> Exception:
    """The Sluiceway exception for ``exc``, a boto3/botocore error met while doing ``what``.

    The caller raises the result ``from exc``; :func:`translated` does both.

    Args:
        exc: the exception boto3 raised.
        what: a short phrase naming the operation and resource, used in the message.
    """
    if isinstance(exc, ClientError):
        code = error_code(exc)
        message = exc.response.get("Error", {}).get("Message") or code
        text = f"{what}: {code}: {message}" if message != code else f"{what}: {code}"
        status = _status(exc)
        if code == "InvalidDefinition":
            return DefinitionError([text])
        specific = SPECIFIC_CODES.get(code)
        if specific is not None:
            return specific(text)
        if code in NOT_FOUND_CODES or status == 404:
            return NotFoundError(text)
        if code in CONFLICT_CODES:
            return ConflictError(text)
        if code in INVALID_NAME_CODES:
            return InvalidNameError(text)
        if code in UNAVAILABLE_CODES or status >= 500 or status == 429:
            return BackendUnavailableError(text)
        return BackendError(text)
    if isinstance(exc, ParamValidationError):
        # botocore refused the request before sending it: a bug in the caller.
        return ValueError(f"{what}: {exc}")
    if isinstance(exc, BotoConnectionError | HTTPClientError):
        return BackendUnavailableError(f"{what}: {exc}")
    if isinstance(exc, RetriesExceededError):
        last = getattr(exc, "last_exception", None)
        return (
            translate(last, what) if last is not None else BackendUnavailableError(f"{what}: {exc}")
        )
    if isinstance(exc, Boto3Error):
        # boto3's transfer helpers wrap the ClientError they met (S3UploadFailedError)
        # without chaining it explicitly; the original is the implicit context.
        inner = exc.__cause__ or exc.__context__
        if isinstance(inner, ClientError | BotoCoreError | Boto3Error):
            return translate(inner, what)
        return BackendError(f"{what}: {exc}")
    return BackendError(f"{what}: {exc}")


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Run the block, re-raising boto3/botocore errors as Sluiceway errors ``from`` the original.

    Args:
        what: a short phrase naming the operation and resource, used in the message.
    """
    try:
        yield
    except (ClientError, BotoCoreError, Boto3Error) as exc:
        error = translate(exc, what)
        logger.debug("aws call failed", extra={"operation": what, "error": type(error).__name__})
        raise error from exc
