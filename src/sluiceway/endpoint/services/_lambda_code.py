"""Lambda functions made through the API: CreateFunction, UpdateFunctionCode/Configuration, DeleteFunction.

A function arrives as a Python ``.zip`` package (``Code.ZipFile``, or ``Code.S3Bucket``/``S3Key``
of an object in a local bucket); the package and configuration are kept in the data dir
(``backends/local/lambda_functions.py``) and the function is registered with the stack's
invoker, running in a worker process of its own as a template's function with a ``CodeUri``
zip does. After a restart the kept functions are registered again on the endpoint's first
Lambda request (``_lambda_catalog.catalog``). Published versions are kept with the
configuration they had; like a template's versions, locally they run the current code.

Lambda answers CreateFunction with ``State: Pending`` and an update with ``LastUpdateStatus:
InProgress``; the local function is ready at once, so the next GetFunction says ``Active`` /
``Successful``, which is what clients' waiters poll for.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from ...backends.local.lambda_functions import Package, SqliteFunctionCatalog, StoredFunction, describe_package
from ...errors import ConflictError, NotFoundError
from ...runtime.lambdas.code import FunctionCodeError
from ...runtime.lambdas.tenancy import tenancy_mode
from ..context import Context, Operations
from ..errors import AwsError
from ._lambda_catalog import catalog, spec_of, stored
from ._lambda_describe import configuration, must_function
from ._lambda_template_versions import template_versions
from ._lambda_upload import check_package, check_request, unzip_failed
from ._lambda_url_store import kept_urls

logger = logging.getLogger(__name__)

__all__ = ["OPERATIONS", "kept_function", "user_error"]

OPERATIONS = Operations("lambda")

RUNTIMES = (
    "nodejs20.x", "python3.14", "provided.al2023", "python3.12", "python3.13", "nodejs24.x", "nodejs22.x", "java25",
    "python3.10", "python3.11", "java21", "ruby3.3", "ruby3.4", "ruby3.2", "python3.8", "python3.9", "java17",
    "nodejs16.x", "dotnet10", "dotnet8", "java11", "dotnet6", "nodejs18.x", "provided.al2", "java8.al2",
)  # fmt: skip
"""The runtimes Lambda names in its error for an unknown one (recorded from AWS, in its order)."""
_ROLE = re.compile(r"^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")
_NAME = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")
_ENVIRONMENT_BYTES = 4096


def user_error(code: str, message: str, status: int = 400) -> AwsError:
    return AwsError(code, message, status, fields={"Type": "User"})


def _register(ctx: Context, functions: SqliteFunctionCatalog, function: StoredFunction) -> None:
    try:
        ctx.stack.invoker.register(spec_of(ctx, functions, function))
    except FunctionCodeError:
        # The package was checked before it was kept; what unpacking still finds (a damaged
        # member, an entry outside the folder) is Lambda's one answer. The message names the
        # kept file in the data dir, which the caller never gave: it goes to the log only.
        logger.warning("uploaded package refused", extra={"function": function.name}, exc_info=True)
        raise unzip_failed() from None
    except ValueError as exc:  # FunctionSpec's checks use Lambda's words where Lambda has them
        raise user_error("InvalidParameterValueException", str(exc)) from None


def _now() -> str:
    moment = datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _check_size(ctx: Context, code: dict[str, Any]) -> None:
    """Lambda's size limits, checked before anything else about the request (as Lambda does)."""
    check_request(ctx.operation, zip_file=code.get("ZipFile"), request_bytes=len(ctx.request.body))


def _package_bytes(ctx: Context, code: dict[str, Any]) -> bytes:
    """The package a request gives (inline or from a local bucket), checked as Lambda checks it."""
    data = code.get("ZipFile")
    if data is None and code.get("S3Bucket") and code.get("S3Key"):
        data = _from_bucket(ctx, code["S3Bucket"], code["S3Key"])
    if data is None:
        if code.get("ImageUri"):
            raise user_error("InvalidParameterValueException", "Sluiceway runs .zip packages, not container images.")
        raise user_error("InvalidParameterValueException", "Please provide a source for function code.")
    check_package(data)
    return bytes(data)


def _from_bucket(ctx: Context, bucket: str, key: str) -> bytes:
    try:
        return ctx.stack.objects.get(bucket, key)
    except NotFoundError as exc:
        # Lambda passes S3's error on in its own message.
        code, message = (
            ("NoSuchBucket", "The specified bucket does not exist")
            if "bucket" in str(exc)
            else ("NoSuchKey", "The specified key does not exist.")
        )
        raise user_error(
            "InvalidParameterValueException", f"Error occurred while GetObject. S3 Error Code: {code}. S3 Error Message: {message}"
        ) from None


def _check_configuration(params: dict[str, Any]) -> None:
    runtime = params.get("Runtime")
    if runtime is not None and runtime not in RUNTIMES and not runtime.startswith("arn:"):
        raise user_error(
            "InvalidParameterValueException",
            f"Value {runtime} at 'runtime' failed to satisfy constraint: Member must satisfy enum value set:"
            f" [{', '.join(RUNTIMES)}] or be a valid ARN",
        )
    role = params.get("Role")
    if role is not None and not _ROLE.match(role):
        raise AwsError(
            "ValidationException",
            f"1 validation error detected: Value '{role}' at 'role' failed to satisfy constraint:"
            r" Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+",
        )
    architectures = params.get("Architectures")
    if architectures is not None:
        shown = f"[{', '.join(architectures)}]"
        if len(architectures) > 1:
            raise _validation(shown, "architectures", "Member must have length less than or equal to 1")
        if any(a not in ("x86_64", "arm64") for a in architectures):
            raise _validation(
                shown,
                "architectures",
                "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64], Member must not be null]",
            )
    storage = (params.get("EphemeralStorage") or {}).get("Size")
    if storage is not None and not 512 <= storage <= 10_240:
        bound = "less than or equal to 10240" if storage > 10_240 else "greater than or equal to 512"
        raise _validation(str(storage), "ephemeralStorage.size", f"Member must have value {bound}")
    mode = (params.get("TracingConfig") or {}).get("Mode")
    if mode is not None and mode not in ("Active", "PassThrough"):
        raise _validation(mode, "tracingConfig.mode", "Member must satisfy enum value set: [Active, PassThrough]")
    variables = (params.get("Environment") or {}).get("Variables") or {}
    size = len(str(variables).encode())
    if variables and size > _ENVIRONMENT_BYTES:
        raise user_error(
            "InvalidParameterValueException",
            "Lambda was unable to configure your environment variables because the environment variables you have"
            f" provided exceeded the 4KB limit. String measured: {variables}",
        )


def _tenancy(params: dict[str, Any]) -> str | None:
    """CreateFunction's ``TenancyConfig`` mode; create-only: no other operation takes it, as on Lambda."""
    try:
        return tenancy_mode(params.get("TenancyConfig"))
    except ValueError as exc:
        raise AwsError("ValidationException", str(exc)) from None


def _validation(value: str, member: str, constraint: str) -> AwsError:
    return AwsError(
        "ValidationException", f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
    )


def _answer(ctx: Context, function: StoredFunction, **status: str) -> dict[str, Any]:
    spec = ctx.stack.invoker.functions[function.name]
    qualifier = None if function.version == "$LATEST" else function.version
    return {**configuration(ctx, spec, qualifier, shown=function), **status}


@OPERATIONS("CreateFunction")
def create_function(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    _check_size(ctx, params.get("Code") or {})
    name = params["FunctionName"]
    if not _NAME.match(name):
        raise AwsError(
            "ValidationException",
            f"1 validation error detected: Value '{name}' at 'functionName' failed to satisfy constraint:"
            " Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?"
            "(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?",
        )
    _check_configuration(params)  # the members' constraints come first, as on Lambda
    if (params.get("PackageType") or "Zip") == "Zip" and not (params.get("Runtime") and params.get("Handler")):
        raise user_error(
            "InvalidParameterValueException", "Runtime and Handler are mandatory parameters for functions created with deployment packages."
        )
    functions = catalog(ctx)
    if name in ctx.stack.invoker.functions:
        raise user_error("ResourceConflictException", f"Function already exist: {name}", 409)
    data = _package_bytes(ctx, params.get("Code") or {})
    with functions.package(data) as package:
        return _create(ctx, functions, params, package)


def _create(ctx: Context, functions: SqliteFunctionCatalog, params: dict[str, Any], package: Package) -> dict[str, Any]:
    name = params["FunctionName"]
    function = StoredFunction(
        name=name,
        runtime=params["Runtime"],
        handler=params["Handler"],
        role=params["Role"],
        code_sha256=package.sha256,
        code_size=package.size,
        package=package.name,
        last_modified=_now(),
        revision_id=str(uuid.uuid4()),
        timeout_s=params.get("Timeout") or 3,
        memory_mb=params.get("MemorySize") or 128,
        description=params.get("Description") or "",
        environment=dict((params.get("Environment") or {}).get("Variables") or {}),
        architectures=tuple(params.get("Architectures") or ("x86_64",)),
        ephemeral_storage_mb=(params.get("EphemeralStorage") or {}).get("Size") or 512,
        tags=dict(params.get("Tags") or {}),
        tracing_mode=(params.get("TracingConfig") or {}).get("Mode") or "PassThrough",
        tenancy_mode=_tenancy(params),
    )
    _register(ctx, functions, function)
    if params.get("Publish"):
        function, _ = _published(function, None)
    try:
        functions.add(function)
    except ConflictError:
        raise user_error("ResourceConflictException", f"Function already exist: {name}", 409) from None
    for version in function.published:
        ctx.stack.invoker.add_qualifier(name, version.version)
    shown = function.published[-1] if function.published else function
    return _answer(ctx, shown, State="Pending", StateReason="The function is being created.", StateReasonCode="Creating")


def _published(function: StoredFunction, description: str | None) -> tuple[StoredFunction, StoredFunction]:
    """``function`` with its current code and configuration published (unless its newest version already is), and that version."""
    latest = function.published[-1] if function.published else None
    if latest is not None and _same(latest, function) and description is None:
        return function, latest  # Lambda publishes nothing new when nothing changed
    number = str(int(latest.version) + 1 if latest is not None else 1)
    version = dataclasses.replace(
        function,
        version=number,
        published=(),
        revision_id=str(uuid.uuid4()),
        description=function.description if description is None else description,
    )
    return dataclasses.replace(function, published=(*function.published, version)), version


def _same(version: StoredFunction, function: StoredFunction) -> bool:
    ignored: dict[str, Any] = {"version": "", "published": (), "revision_id": "", "last_modified": "", "description": ""}
    return dataclasses.replace(version, **ignored) == dataclasses.replace(function, **ignored)


def kept_function(ctx: Context, params: dict[str, Any]) -> StoredFunction:
    spec = must_function(ctx, params["FunctionName"], params.get("Qualifier"))
    function = stored(ctx, spec.name)
    if function is None:
        # The template's functions change with the template, not through the API.
        raise user_error(
            "InvalidParameterValueException", f"Function {spec.name} is defined by the running template: change the template instead."
        )
    revision = params.get("RevisionId")
    if revision is not None and revision != function.revision_id:
        raise user_error(
            "PreconditionFailedException",
            "The Revision Id provided does not match the latest Revision Id."
            " Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
            412,
        )
    return function


def _update(ctx: Context, function: StoredFunction, *, publish: bool = False, **changes: Any) -> dict[str, Any]:
    updated = dataclasses.replace(function, last_modified=_now(), revision_id=str(uuid.uuid4()), **changes)
    functions = catalog(ctx)
    _register(ctx, functions, updated)
    shown = updated
    if publish:
        updated, shown = _published(updated, None)
        ctx.stack.invoker.add_qualifier(updated.name, shown.version)
    functions.replace(updated)
    return _answer(
        ctx,
        shown,
        LastUpdateStatus="InProgress",
        LastUpdateStatusReason="The function is being created.",
        LastUpdateStatusReasonCode="Creating",
    )


@OPERATIONS("UpdateFunctionCode")
def update_function_code(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    _check_size(ctx, params)
    function = kept_function(ctx, params)
    data = _package_bytes(ctx, params)
    changes: dict[str, Any] = {}
    if params.get("Architectures"):
        changes["architectures"] = tuple(params["Architectures"])
    if params.get("DryRun"):  # validates and answers; nothing is kept
        return _answer(ctx, dataclasses.replace(function, **_code_changes(describe_package(data)), **changes))
    with catalog(ctx).package(data) as package:
        return _update(ctx, function, publish=bool(params.get("Publish")), **_code_changes(package), **changes)


def _code_changes(package: Package) -> dict[str, Any]:
    return {"package": package.name, "code_sha256": package.sha256, "code_size": package.size}


@OPERATIONS("UpdateFunctionConfiguration")
def update_function_configuration(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    function = kept_function(ctx, params)
    _check_configuration(params)
    changes: dict[str, Any] = {}
    for member, attribute in (
        ("Runtime", "runtime"),
        ("Handler", "handler"),
        ("Role", "role"),
        ("Description", "description"),
        ("Timeout", "timeout_s"),
        ("MemorySize", "memory_mb"),
    ):
        if params.get(member) is not None:
            changes[attribute] = params[member]
    if params.get("Environment") is not None:
        changes["environment"] = dict(params["Environment"].get("Variables") or {})
    if params.get("EphemeralStorage") is not None:
        changes["ephemeral_storage_mb"] = params["EphemeralStorage"]["Size"]
    if params.get("TracingConfig") is not None:
        changes["tracing_mode"] = params["TracingConfig"].get("Mode") or "PassThrough"
    return _update(ctx, function, **changes)


@OPERATIONS("PublishVersion")
def publish_version(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    function = kept_function(ctx, params)
    sha = params.get("CodeSha256")
    if sha is not None and sha != function.code_sha256:
        raise user_error(
            "InvalidParameterValueException",
            f"CodeSHA256 ({sha}) is different from current CodeSHA256 in $LATEST ({function.code_sha256})."
            " Please try again with the CodeSHA256 in $LATEST.",
        )
    updated, version = _published(function, params.get("Description"))
    if updated is not function:
        catalog(ctx).replace(updated)
        ctx.stack.invoker.add_qualifier(function.name, version.version)
    return _answer(ctx, version, State="Active", LastUpdateStatus="Successful")


@OPERATIONS("ListVersionsByFunction")
def list_versions_by_function(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    spec = must_function(ctx, params["FunctionName"])
    function = stored(ctx, spec.name)
    versions = [configuration(ctx, spec, "$LATEST")]  # Lambda lists $LATEST by its qualified ARN
    if function is not None:
        versions += [_answer(ctx, version) for version in function.published]
    else:  # a template's function: the versions its template published
        # (kept in the state database: a retained version stays listed after it left the template).
        versions += [configuration(ctx, spec, str(published.version)) for published in template_versions(ctx.stack, spec.name)]
    limit = params.get("MaxItems") or 50
    start = int(params["Marker"]) if str(params.get("Marker") or "").isdigit() else 0
    page = versions[start : start + limit]
    out: dict[str, Any] = {"Versions": page}
    if start + limit < len(versions):
        out["NextMarker"] = str(start + limit)
    return out


@OPERATIONS("DeleteFunction")
def delete_function(ctx: Context, params: dict[str, Any]) -> None:
    reference = params["FunctionName"]
    arn = ctx.stack.invoker.arn_of(reference)
    if arn is not None and arn.count(":") >= 7:  # a qualified name: its qualifier is the one to delete
        in_reference = arn.split(":")[7]
        if params.get("Qualifier") not in (None, in_reference):
            must_function(ctx, reference, params["Qualifier"])  # Lambda's error for the mismatch
        params = {**params, "FunctionName": arn.rsplit(":", 1)[0], "Qualifier": in_reference}
    qualifier = params.get("Qualifier")
    # Lambda looks at the qualifier before the function: a name (not a number) is an alias,
    # which DeleteFunction refuses even when nothing of that name exists (recorded from AWS).
    if qualifier is not None and qualifier != "$LATEST" and not (qualifier.isascii() and qualifier.isdigit()):
        raise user_error("InvalidParameterValueException", "Deletion of aliases is not currently supported.")
    if qualifier == "$LATEST":
        raise user_error("InvalidParameterValueException", "$LATEST version cannot be deleted without deleting the function.")
    spec = must_function(ctx, params["FunctionName"])
    if qualifier is not None:
        _delete_version(ctx, spec.name, qualifier)
        return
    functions = catalog(ctx)
    # A template's function is not kept: it is gone until the stack starts again with the template.
    with contextlib.suppress(NotFoundError):
        functions.delete(spec.name)
    ctx.stack.invoker.unregister(spec.name)
    configs = ctx.stack.local.async_invocations.configs
    for config in configs.list(spec.name):  # a function's settings go with it
        configs.delete(config.function, config.qualifier)
    urls = kept_urls(ctx.stack, ctx.shared)
    for url in urls.of_function(spec.name):  # and its URLs: Lambda deletes them with the function
        with contextlib.suppress(NotFoundError):
            urls.delete(url.function, url.qualifier)


def _delete_version(ctx: Context, name: str, version: str) -> None:
    """Delete one published version; the function, its other versions and its aliases stay."""
    function = stored(ctx, name)
    if function is None:
        # A template's versions change with the template, not through the API.
        raise user_error(
            "InvalidParameterValueException", f"Function {name} is defined by the running template: change the template instead."
        )
    if function.published_version(version) is None:
        return  # deleting a version that is not there succeeds, as on Lambda
    # An alias whose routing weights name the version references it as much as its main version.
    referencing = sorted(
        alias for alias, settings in function.aliases.items() if settings["FunctionVersion"] == version or version in _weights(settings)
    )
    if referencing:
        raise user_error(
            "ResourceConflictException",
            f"Unable to delete version because the following aliases reference it: [{', '.join(referencing)}]",
            409,
        )
    kept = tuple(published for published in function.published if published.version != version)
    catalog(ctx).replace(dataclasses.replace(function, published=kept))
    ctx.stack.local.async_invocations.configs.delete(name, version)  # the version's settings go with it


def _weights(alias: Any) -> Any:
    return (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
