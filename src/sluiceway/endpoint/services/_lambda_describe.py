"""How Lambda names and renders a function: FunctionName references and the configuration it reports.

Shared by the describing operations (``lambda_.py``) and the ones that make and change
functions (``_lambda_code.py``).
"""

from __future__ import annotations

import base64
import hashlib
import platform
import sys
from datetime import UTC, datetime
from typing import Any

from ...backends.local.lambda_functions import StoredFunction
from ...runtime.lambdas.context import log_group_name
from ...runtime.lambdas.invoker import FunctionSpec
from ...runtime.lambdas.tenancy import tenancy_config
from ..context import Context
from ..errors import AwsError
from ._lambda_catalog import catalog, stored
from ._lambda_template_versions import published_version, template_qualifiers, version_of

__all__ = ["configuration", "must_function", "qualifier_of"]

_FUNCTION_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?"
)


def must_function(ctx: Context, reference: str, qualifier: str | None = None) -> FunctionSpec:
    """The registered function a FunctionName (and Qualifier) names, or Lambda's error."""
    catalog(ctx)  # functions made through the API are registered again after a restart
    invoker = ctx.stack.invoker
    arn = invoker.arn_of(reference)
    if arn is None:
        raise AwsError(
            "ValidationException",
            f"1 validation error detected: Value '{reference}' at 'functionName' failed to satisfy constraint:"
            f" Member must satisfy regular expression pattern: {_FUNCTION_PATTERN}",
        )
    name = invoker.resolve(reference)
    in_reference = arn.split(":")[7] if arn.count(":") >= 7 else None
    if qualifier is not None and in_reference is not None and qualifier != in_reference:
        raise AwsError(
            "InvalidParameterValueException", "The derived qualifier from the function name does not match the specified qualifier."
        )
    wanted = qualifier or in_reference
    if name is None or (wanted not in (None, "$LATEST") and wanted not in _qualifiers(ctx, name)):
        # Locally a function has $LATEST and the versions and aliases its template published (all
        # running the current code); any other qualifier names nothing.
        base = arn if in_reference is None else arn.rsplit(":", 1)[0]
        shown = f"{base}:{wanted}" if wanted else base
        raise AwsError("ResourceNotFoundException", f"Function not found: {shown}", 404, fields={"Type": "User"})
    return invoker.functions[name]


def _qualifiers(ctx: Context, name: str) -> frozenset[str]:
    """The versions and aliases a function has now: an API-made function's are kept with it
    (a deleted version or alias is gone at once), a template's are those its templates published
    (a retained version too) and the aliases its stack's record holds."""
    function = stored(ctx, name)
    if function is None:
        return template_qualifiers(ctx.stack, name)
    return frozenset((*(version.version for version in function.published), *function.aliases))


def configuration(ctx: Context, spec: FunctionSpec, qualifier: str | None = None, *, shown: StoredFunction | None = None) -> dict[str, Any]:
    """A function's configuration as Lambda renders it; qualified (``:$LATEST``, ``:1``) when asked with a qualifier."""
    if shown is None:
        shown = stored(ctx, spec.name)
        if shown is not None and qualifier not in (None, "$LATEST"):
            # An alias shows the version it points to, under the alias's ARN (as Lambda does).
            alias = shown.aliases.get(str(qualifier))
            version = str(alias["FunctionVersion"]) if alias is not None else str(qualifier)
            shown = shown.published_version(version) or shown
    arn = ctx.stack.settings.arn("lambda", f"function:{spec.name}")
    return {
        **_configuration(ctx, spec),
        **(_template_version(ctx, spec, qualifier) if shown is None else _kept_configuration(shown)),
        **({"FunctionArn": f"{arn}:{qualifier}"} if qualifier else {}),
    }


def _template_version(ctx: Context, spec: FunctionSpec, qualifier: str | None) -> dict[str, Any]:
    """What a template's version (or the version its alias points to) shows: its number, and the
    description and code it was published with, as ListVersionsByFunction lists it (locally it runs
    the current code)."""
    version = version_of(ctx, spec.name, qualifier)
    published = published_version(ctx.stack, spec.name, version)
    if published is None:
        return {"Version": version}
    return {"Version": version, "Description": published.description, "CodeSha256": published.code_sha256}


def _configuration(ctx: Context, spec: FunctionSpec) -> dict[str, Any]:
    loaded: datetime = ctx.shared.get("lambda.loaded", lambda: datetime.now(UTC))
    digest = base64.b64encode(hashlib.sha256(spec.handler.encode()).digest()).decode()
    return {
        "FunctionName": spec.name,
        "FunctionArn": ctx.stack.settings.arn("lambda", f"function:{spec.name}"),
        "Runtime": spec.runtime or f"python{sys.version_info.major}.{sys.version_info.minor}",
        "Role": f"arn:aws:iam::{ctx.stack.settings.account_id}:role/sluiceway",
        "Handler": spec.handler,
        "CodeSize": 0,
        "Description": "",
        "Timeout": max(1, round(spec.timeout_s)),
        "MemorySize": spec.memory_mb,
        # Lambda's LastModified is a string in this exact format, not a timestamp.
        "LastModified": loaded.strftime("%Y-%m-%dT%H:%M:%S.") + f"{loaded.microsecond // 1000:03d}+0000",
        "CodeSha256": digest,
        "Version": "$LATEST",
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": hashlib.sha256(f"{spec}".encode()).hexdigest()[:32],
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": ["arm64" if platform.machine().lower() in ("arm64", "aarch64") else "x86_64"],
        "EphemeralStorage": {"Size": 512},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": log_group_name(spec.name)},
        # Lambda reports DeadLetterConfig only when the function has one.
        **({"DeadLetterConfig": {"TargetArn": dlq}} if (dlq := ctx.stack.local.async_invocations.configs.dead_letter(spec.name)) else {}),
        **({"Environment": {"Variables": dict(spec.environment)}} if spec.environment else {}),
        **tenancy_config(spec.tenancy_mode),
    }


def _kept_configuration(function: StoredFunction) -> dict[str, Any]:
    """What a function made through the API was given (its package, role, description...)."""
    return {
        "Runtime": function.runtime,
        "Handler": function.handler,
        "Timeout": function.timeout_s,
        "MemorySize": function.memory_mb,
        "Version": function.version,
        "TracingConfig": {"Mode": function.tracing_mode},
        "Role": function.role,
        "CodeSize": function.code_size,
        "CodeSha256": function.code_sha256,
        "Description": function.description,
        "LastModified": function.last_modified,
        "RevisionId": function.revision_id,
        "Architectures": list(function.architectures),
        "EphemeralStorage": {"Size": function.ephemeral_storage_mb},
        "Environment": {"Variables": dict(function.environment)},
    }


def qualifier_of(ctx: Context, params: dict[str, Any]) -> str | None:
    """The qualifier a request names: its Qualifier, or the one in its FunctionName (``name:live``, a qualified ARN)."""
    if params.get("Qualifier"):
        return str(params["Qualifier"])
    arn = ctx.stack.invoker.arn_of(params["FunctionName"]) or ""
    return arn.split(":")[7] if arn.count(":") >= 7 else None
