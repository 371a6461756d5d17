"""Lambda function URLs: Create/Get/Update/Delete/ListFunctionUrlConfigs.

A URL is kept in ``lambda.db`` (``backends/local/function_urls.py``) and served by the endpoint
(``endpoint/lambda_urls``) at once, and again after a restart; its ``FunctionUrl`` is the local
stand-in for ``https://<url-id>.lambda-url.<region>.on.aws/`` under the endpoint that answers.
A function has at most one URL per qualifier: ``$LATEST`` (no Qualifier) or one of its aliases.
A template's ``AWS::Lambda::Url`` is made through these same operations.
"""

from __future__ import annotations

import base64
import logging
import re
import secrets
import string
from datetime import UTC, datetime
from typing import Any, Final

from ...errors import ConflictError, NotFoundError
from ..context import Context, Operations
from ..errors import AwsError
from ..lambda_urls import local_function_url
from ._lambda_code import user_error
from ._lambda_describe import must_function
from ._lambda_tenant_limits import refuse_tenant_isolated
from ._lambda_url_store import StoredUrl, kept_urls

logger = logging.getLogger(__name__)

__all__ = ["OPERATIONS"]

OPERATIONS = Operations("lambda")

_AUTH_TYPES: Final = ("NONE", "AWS_IAM")
_INVOKE_MODES: Final = ("BUFFERED", "RESPONSE_STREAM")
_QUALIFIER = re.compile(r"(?!^\d+$)^[0-9a-zA-Z-_]+\Z")
"""The model's pattern: an alias name; never ``$LATEST`` or a version number."""
_NOT_FOUND: Final = "The resource you requested does not exist."
_NO_FUNCTION: Final = "Function does not exist"
_ID_ALPHABET: Final = string.ascii_lowercase + string.digits
PAGE_LIMIT: Final = 50
"""ListFunctionUrlConfigs answers at most this many, whatever MaxItems says."""


def _now() -> str:
    # Lambda renders a URL's times with microseconds and "Z" (unlike a function's LastModified).
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _new_id(ctx: Context) -> str:
    store = kept_urls(ctx.stack, ctx.shared)
    while True:
        url_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(32))
        if store.by_id(url_id) is None:
            return url_id


# -- checks ---------------------------------------------------------------------------------


def _enum(value: Any, member: str, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        shown = ", ".join(sorted(allowed, reverse=True))
        raise AwsError(
            "ValidationException",
            f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint:"
            f" Member must satisfy enum value set: [{shown}]",
        )


def _qualifier(params: dict[str, Any]) -> str | None:
    qualifier = params.get("Qualifier")
    if qualifier is not None and not _QUALIFIER.match(str(qualifier)):
        raise AwsError(
            "ValidationException",
            f"1 validation error detected: Value '{qualifier}' at 'qualifier' failed to satisfy constraint:"
            r" Member must satisfy regular expression pattern: ((?!^\d+$)^[0-9a-zA-Z-_]+$)",
        )
    return str(qualifier) if qualifier is not None else None


_CORS_LISTS: Final = (
    # (member, its name in messages, most items, least and most characters of an item): the model's limits.
    ("AllowHeaders", "allowHeaders", 100, 0, 1024),
    ("AllowMethods", "allowMethods", 6, 0, 6),
    ("AllowOrigins", "allowOrigins", 100, 1, 253),
    ("ExposeHeaders", "exposeHeaders", 100, 0, 1024),
)


def _cors_problems(cors: dict[str, Any]) -> list[str]:
    """What breaks the model's limits, in Lambda's words (a list as Java prints it, ``[a, b]``)."""
    problems: list[str] = []
    for member, path, most_items, least, most in _CORS_LISTS:
        items = cors.get(member)
        if not isinstance(items, list):
            continue
        shown = "[" + ", ".join(str(item) for item in items) + "]"
        if len(items) > most_items:
            problems.append(
                f"Value '{shown}' at 'cors.{path}' failed to satisfy constraint: Member must have length less than or equal to {most_items}"
            )
        elif any(not least <= len(str(item)) <= most for item in items):
            problems.append(
                f"Value '{shown}' at 'cors.{path}' failed to satisfy constraint: Member must satisfy constraint:"
                f" [Member must have length less than or equal to {most}, Member must have length greater than or equal to {least},"
                " Member must satisfy regular expression pattern: .*]"
            )
    max_age = cors.get("MaxAge")
    if max_age is not None and not 0 <= max_age <= 86_400:
        constraint = "greater than or equal to 0" if max_age < 0 else "less than or equal to 86400"
        problems.append(f"Value '{max_age}' at 'cors.maxAge' failed to satisfy constraint: Member must have value {constraint}")
    return problems


def _cors(params: dict[str, Any]) -> dict[str, Any] | None:
    cors = params.get("Cors")
    if cors is None:
        return None
    problems = _cors_problems(cors)
    if problems:
        noun = "error" if len(problems) == 1 else "errors"
        raise AwsError("ValidationException", f"{len(problems)} validation {noun} detected: {'; '.join(problems)}")
    # Lambda keeps what was given, member by member, and reports only those.
    return {key: (list(value) if isinstance(value, list) else value) for key, value in cors.items() if value is not None}


def _target(ctx: Context, params: dict[str, Any], *, missing: str) -> tuple[str, str, str]:
    """(function name, qualifier ``$LATEST`` or an alias, the FunctionArn Lambda reports) or Lambda's error."""
    qualifier = _qualifier(params)
    try:
        spec = must_function(ctx, params["FunctionName"], qualifier)
    except AwsError as exc:
        if exc.code != "ResourceNotFoundException":
            raise
        raise user_error("ResourceNotFoundException", missing, 404) from None
    arn = ctx.stack.invoker.arn_of(params["FunctionName"]) or ""
    in_reference = arn.split(":")[7] if arn.count(":") >= 7 else None
    wanted = qualifier or in_reference
    if wanted is not None and not _QUALIFIER.match(wanted):
        # A version ($LATEST or a number) named in the FunctionName has no URL of its own.
        raise user_error("ResourceNotFoundException", missing, 404)
    function_arn = ctx.stack.settings.arn("lambda", f"function:{spec.name}")
    if wanted is None:
        return spec.name, "$LATEST", function_arn
    return spec.name, wanted, f"{function_arn}:{wanted}"


def _function_arn(ctx: Context, url: StoredUrl) -> str:
    arn = ctx.stack.settings.arn("lambda", f"function:{url.function}")
    return arn if url.qualifier == "$LATEST" else f"{arn}:{url.qualifier}"


# -- rendering ------------------------------------------------------------------------------


def _output(ctx: Context, url: StoredUrl, *, created: bool = False, read: bool = False) -> dict[str, Any]:
    """A URL's config as an operation answers it.

    Args:
        created: CreateFunctionUrlConfig's answer (no LastModifiedTime).
        read: Get's and List's answer, where a URL made without an InvokeMode has Lambda's
            default, BUFFERED (recorded); Create and Update report only an InvokeMode given.
    """
    out: dict[str, Any] = {
        "FunctionUrl": local_function_url(ctx.endpoint_url, url.url_id),
        "FunctionArn": _function_arn(ctx, url),
        "AuthType": url.auth_type,
    }
    if url.cors is not None:
        out["Cors"] = dict(url.cors)
    out["CreationTime"] = url.creation_time
    if not created:  # CreateFunctionUrlConfig's answer has no LastModifiedTime
        out["LastModifiedTime"] = url.last_modified_time
    invoke_mode = url.invoke_mode or ("BUFFERED" if read else None)
    if invoke_mode is not None:
        out["InvokeMode"] = invoke_mode
    return out


# -- operations -----------------------------------------------------------------------------


@OPERATIONS("CreateFunctionUrlConfig")
def create_function_url_config(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    _enum(params.get("AuthType"), "authType", _AUTH_TYPES)
    _enum(params.get("InvokeMode"), "invokeMode", _INVOKE_MODES)
    cors = _cors(params)
    function, qualifier, function_arn = _target(ctx, params, missing=_NO_FUNCTION)
    refuse_tenant_isolated(ctx.stack.invoker.functions[function].tenancy_mode, function, "Function URL")
    store = kept_urls(ctx.stack, ctx.shared)
    now = _now()
    url = StoredUrl(function, qualifier, _new_id(ctx), str(params["AuthType"]), now, now, cors, params.get("InvokeMode"))
    try:
        store.add(url)
    except ConflictError:
        raise user_error(
            "ResourceConflictException",
            f"Failed to create function url config for [functionArn = {function_arn}]."
            " Error message:  FunctionUrlConfig exists for this Lambda function",
            409,
        ) from None
    logger.info("function url created", extra={"function": function, "qualifier": qualifier, "url_id": url.url_id})
    return _output(ctx, url, created=True)


def _must_url(ctx: Context, params: dict[str, Any], *, missing: str = _NOT_FOUND) -> StoredUrl:
    """The URL ``params`` name; ``missing`` is the message for a function or alias that does not
    exist (Update's differs from Get's and Delete's, recorded), a missing URL is always _NOT_FOUND."""
    function, qualifier, _ = _target(ctx, params, missing=missing)
    url = kept_urls(ctx.stack, ctx.shared).get(function, qualifier)
    if url is None:
        raise user_error("ResourceNotFoundException", _NOT_FOUND, 404)
    return url


@OPERATIONS("GetFunctionUrlConfig")
def get_function_url_config(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _output(ctx, _must_url(ctx, params), read=True)


@OPERATIONS("UpdateFunctionUrlConfig")
def update_function_url_config(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    _enum(params.get("AuthType"), "authType", _AUTH_TYPES)
    _enum(params.get("InvokeMode"), "invokeMode", _INVOKE_MODES)
    cors = _cors(params)
    current = _must_url(ctx, params, missing=_NO_FUNCTION)
    # What is left out stays as it was (an InvokeMode left out too, as Lambda does).
    url = StoredUrl(
        current.function,
        current.qualifier,
        current.url_id,
        str(params.get("AuthType") or current.auth_type),
        current.creation_time,
        _now(),
        cors if params.get("Cors") is not None else current.cors,
        params.get("InvokeMode") or current.invoke_mode,
        current.extra,
    )
    try:
        kept_urls(ctx.stack, ctx.shared).replace(url)
    except NotFoundError:
        raise user_error("ResourceNotFoundException", _NOT_FOUND, 404) from None
    return _output(ctx, url)


@OPERATIONS("DeleteFunctionUrlConfig")
def delete_function_url_config(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    url = _must_url(ctx, params)
    try:
        kept_urls(ctx.stack, ctx.shared).delete(url.function, url.qualifier)
    except NotFoundError:
        raise user_error("ResourceNotFoundException", _NOT_FOUND, 404) from None
    logger.info("function url deleted", extra={"function": url.function, "qualifier": url.qualifier})
    return {}


@OPERATIONS("ListFunctionUrlConfigs")
def list_function_url_configs(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    limit = params.get("MaxItems")
    if limit is not None and not 1 <= limit <= PAGE_LIMIT:
        constraint = "greater than or equal to 1" if limit < 1 else f"less than or equal to {PAGE_LIMIT}"
        raise AwsError(
            "ValidationException",
            f"1 validation error detected: Value '{limit}' at 'maxItems' failed to satisfy constraint: Member must have value {constraint}",
        )
    function, _, _ = _target(ctx, {"FunctionName": params["FunctionName"]}, missing=_NO_FUNCTION)
    after = _after(params.get("Marker"))
    urls = [url for url in kept_urls(ctx.stack, ctx.shared).of_function(function) if url.qualifier > after]
    size = limit or PAGE_LIMIT
    page = urls[:size]
    out: dict[str, Any] = {"FunctionUrlConfigs": [_output(ctx, url, read=True) for url in page]}
    if len(urls) > size:
        out["NextMarker"] = base64.urlsafe_b64encode(page[-1].qualifier.encode()).decode()
    return out


def _after(marker: str | None) -> str:
    """The qualifier a NextMarker names (the last one listed); Lambda refuses a marker it did not give."""
    if not marker:
        return ""
    try:
        after = base64.b64decode(marker.encode("ascii"), altchars=b"-_", validate=True).decode("utf-8")
    except (ValueError, UnicodeError):
        after = ""
    if after != "$LATEST" and not _QUALIFIER.match(after):
        raise user_error("InvalidParameterValueException", "Invalid Marker")
    return after
