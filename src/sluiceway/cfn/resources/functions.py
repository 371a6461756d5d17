"""AWS::Lambda::Function and what hangs on it: event source mappings, EventInvokeConfig, permissions, versions, aliases."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from ...endpoint.errors import AwsError
from ...endpoint.services._lambda_mappings import made_under
from ...endpoint.services._lambda_routing import checked_weights
from ...endpoint.services._lambda_template_versions import PublishedVersion, template_version_store, template_versions
from ...runtime.lambdas import known_layers
from ...runtime.lambdas.code import FunctionCode, FunctionCodeError, layer_paths, prepare_function_code, runtime_mismatch
from ...runtime.lambdas.invoker import FunctionSpec
from ...runtime.lambdas.tenancy import tenancy_mode
from ..errors import TemplateError
from .base import Env, Made, Request, Stored, physical_name, require
from .property_types import check_types, type_name

__all__ = ["Alias", "EventInvokeConfig", "EventSourceMapping", "Function", "LayerVersion", "Passive", "Permission", "Version"]


def _function_name(reference: str) -> str:
    # FunctionName may be a name, an ARN or a partial ARN, with or without a qualifier.
    if reference.startswith("arn:"):
        parts = reference.split(":")
        return parts[6] if len(parts) > 6 else reference
    return reference.split(":", 1)[0]


class Function:
    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        name = props.get("FunctionName") or physical_name(env.stack_name, request.logical_id, 64)
        handler = props.get("Handler")
        if not isinstance(handler, str):
            raise TemplateError(f"{request.where}.Handler: required (a Python function, module.function)")
        runtime = props.get("Runtime")
        code_props = props.get("Code")
        if not isinstance(code_props, dict):
            raise TemplateError(f"{request.where}.Code: required")
        if isinstance(code_props.get("ZipFile"), str):
            code = _prepared(lambda: prepare_function_code(name, inline_code=code_props["ZipFile"], cache_dir=env.cache_dir))
        else:
            path = env.artifacts.local(code_props.get("S3Bucket"), code_props.get("S3Key"))
            if path is None:
                raise TemplateError(
                    f"{request.where}.Code: s3://{code_props.get('S3Bucket')}/{code_props.get('S3Key')} is not local; "
                    "locally a function's code is a folder, a .zip or inline code (CodeUri)"
                )
            # The data dir may lie inside the code's folder (CodeUri: .): its writes are no code edits.
            unwatched = [env.stack.settings.data_dir, env.cache_dir]
            code = _prepared(lambda: prepare_function_code(name, code_uri=path, cache_dir=env.cache_dir, unwatched=unwatched))
        warning = runtime_mismatch(runtime if isinstance(runtime, str) else None)
        if warning:
            env.warn(f"{request.logical_id} ({name}): {warning}")
        layers: list[str] = []
        for arn in props.get("Layers") or []:
            if str(arn) not in env.layers and (known := known_layers.resolve(str(arn))) is not None:
                # Kept with the template's layers, so that its note is given once, not per function.
                env.layers[known.arn] = known.paths
                if known.note:
                    env.warn(f"{known.title}: {known.note}")
            if str(arn) in env.layers:
                layers.extend(env.layers[str(arn)])
            else:
                env.warn(f"{request.logical_id} ({name}): layer {arn} is not one of the template's: not on the function's path locally")
        if layers:
            code = dataclasses.replace(code, layers=tuple(layers))
        for unserved in ("VpcConfig", "FileSystemConfigs", "SnapStartConfig"):
            if props.get(unserved):
                env.warn(f"{request.logical_id} ({name}): {unserved} is not emulated locally")
        if props.get("PackageType") == "Image":
            raise TemplateError(f"{request.where}.PackageType: container image functions need Docker; locally functions are Python code")
        variables = ((props.get("Environment") or {}).get("Variables")) or {}
        reserved = props.get("ReservedConcurrentExecutions")
        spec = FunctionSpec(
            name,
            handler,
            timeout_s=float(props.get("Timeout", 3)),
            memory_mb=int(props.get("MemorySize", 128)),
            environment={str(k): _variable(v) for k, v in variables.items()},
            code=code,
            runtime=runtime if isinstance(runtime, str) else None,
            reserved_concurrency=None if reserved is None else int(reserved),
            tenancy_mode=_tenancy(request),
        )
        env.stack.invoker.register(spec)
        dead_letter = (props.get("DeadLetterConfig") or {}).get("TargetArn")
        configs = env.stack.local.async_invocations.configs
        setter = getattr(configs, "set_dead_letter", None)
        if setter is not None:
            setter(name, dead_letter)
        elif dead_letter:
            env.warn(f"{request.logical_id}: DeadLetterConfig is not emulated locally")
        arn = env.arn("lambda", f"function:{name}")
        return Made(name, name, {"Arn": arn})

    def delete(self, env: Env, stored: Stored) -> None:
        env.stack.invoker.unregister(stored.physical_id)
        # Deleting a function deletes its versions; a new function of that name publishes from 1 again.
        template_version_store(env.stack).forget(stored.physical_id)


def _tenancy(request: Request) -> str | None:
    """``TenancyConfig``'s mode. Create-only on AWS (a change replaces the function): locally the function
    is registered again under its name with the new mode, its tenants' workers retired."""
    try:
        return tenancy_mode(request.properties.get("TenancyConfig"))
    except ValueError as exc:
        raise TemplateError(f"{request.where}.TenancyConfig: {exc}") from None


def _prepared(prepare: Callable[[], FunctionCode]) -> FunctionCode:
    try:
        return prepare()
    except FunctionCodeError as exc:
        raise TemplateError(str(exc)) from None


def _variable(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class LayerVersion:
    """A layer (SAM ``AWS::Serverless::LayerVersion``): its folder goes on the path of the functions that name it."""

    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        name = props.get("LayerName") or physical_name(env.stack_name, request.logical_id, 140)
        content = props.get("Content")
        path = env.artifacts.local(content.get("S3Bucket"), content.get("S3Key")) if isinstance(content, dict) else None
        if path is None:
            raise TemplateError(f"{request.where}.Content: locally a layer is a folder beside the template (ContentUri)")
        if not path.is_dir():
            raise TemplateError(f"{request.where}.Content: {path} is not a folder")
        paths = _prepared_paths(lambda: layer_paths(str(name), path, cache_dir=env.cache_dir))
        arn = env.arn("lambda", f"layer:{name}:1")
        env.layers[arn] = paths
        return Made(arn, arn, {"LayerVersionArn": arn})

    def delete(self, env: Env, stored: Stored) -> None:
        return None


def _prepared_paths(prepare: Callable[[], tuple[str, ...]]) -> tuple[str, ...]:
    try:
        return prepare()
    except FunctionCodeError as exc:
        raise TemplateError(str(exc)) from None


class EventSourceMapping:
    """Made, changed and deleted through Lambda's own operations: a template's mapping is an API one.

    The mapping keeps its UUID for as long as it is the template's: a stream mapping's checkpoint is
    kept under it, so a mapping made under another would read its stream again.
    """

    _CREATE_ONLY = ("EventSourceArn", "StartingPosition", "StartingPositionTimestamp", "Tags")
    """What UpdateEventSourceMapping cannot change (CloudFormation replaces the mapping; Tags are kept as made)."""
    _REPLACING = ("EventSourceArn", "StartingPosition", "StartingPositionTimestamp")
    """What CloudFormation replaces the mapping for when it changes."""

    def apply(self, env: Env, request: Request) -> Made:
        props = dict(request.properties)
        source = props.get("EventSourceArn")
        if not isinstance(source, str) or not isinstance(props.get("FunctionName"), str):
            raise TemplateError(f"{request.where}: EventSourceArn and FunctionName are required")
        _check_types(request, props)
        service = source.split(":")[2] if source.count(":") >= 5 else ""
        if service not in _EMULATED_SOURCES:
            env.warn(
                f"{request.logical_id}: event source {source} is not emulated locally"
                " (only SQS queues, DynamoDB streams and Kinesis streams)"
            )
            mapping_id = str(request.previous.physical_id) if request.previous else str(uuid.uuid4())
            return self._made(env, {"UUID": mapping_id}, service)
        previous = request.previous
        if previous is not None and all(previous.properties.get(k) == props.get(k) for k in self._REPLACING):
            if dict(previous.properties) == props and (kept := self._get(env, previous.physical_id)) is not None:
                return self._made(env, kept, service)  # unchanged: not touched (no new LastModified, no restart)
            answer = self._update(env, previous.physical_id, props, service)
            if answer is not None:
                return self._made(env, answer, service)
            # Gone (deleted behind the stack's back, or made before mappings were Lambda's): made again under
            # the same UUID, so that its stream checkpoint is found and the stack's record stays true.
            return self._made(env, self._create(env, props, service, previous.physical_id), service)
        if previous is not None:
            self.delete(env, previous)
        return self._made(env, self._create(env, props, service, None), service)

    def _create(self, env: Env, props: dict[str, Any], service: str, mapping_id: str | None) -> dict[str, Any]:
        known = {k: v for k, v in props.items() if k in _MAPPING_MEMBERS}
        if isinstance(known.get("Tags"), list):  # CloudFormation's [{Key, Value}], Lambda's map
            known["Tags"] = {str(t.get("Key")): str(t.get("Value")) for t in known["Tags"] if isinstance(t, dict)}
        try:
            if mapping_id is not None and _is_uuid(mapping_id):
                with made_under(mapping_id):
                    return env.aws.call("lambda", "CreateEventSourceMapping", known)
            return env.aws.call("lambda", "CreateEventSourceMapping", known)
        except AwsError as error:
            if error.code != "ResourceConflictException":
                raise
            # A mapping of this source and function exists: one made by a deploy that died before it recorded it
            # (or made through the API). The template's mapping takes it over rather than never deploying again.
            existing = self._existing(env, str(props["EventSourceArn"]), str(props["FunctionName"]))
            if existing is None:
                raise
            answer = self._update(env, existing, props, service)
            if answer is None:
                raise
            env.warn(f"event source mapping {existing} of {props['EventSourceArn']} is now the template's")
            return answer

    @staticmethod
    def _existing(env: Env, source: str, function: str) -> str | None:
        listed = env.aws.call("lambda", "ListEventSourceMappings", {"EventSourceArn": source, "FunctionName": function})
        found = listed.get("EventSourceMappings") or []
        return str(found[0]["UUID"]) if found else None

    @staticmethod
    def _get(env: Env, mapping_id: str) -> dict[str, Any] | None:
        try:
            return env.aws.call("lambda", "GetEventSourceMapping", {"UUID": mapping_id})
        except AwsError as error:
            if error.code != "ResourceNotFoundException":
                raise
            return None

    def _update(self, env: Env, mapping_id: str, props: dict[str, Any], service: str) -> dict[str, Any] | None:
        """The mapping brought to the template's settings; None if it is gone (made again)."""
        params: dict[str, Any] = {k: v for k, v in props.items() if k in _MAPPING_MEMBERS and k not in self._CREATE_ONLY}
        # A setting that left the template goes back to Lambda's default.
        params.setdefault("Enabled", True)
        params.setdefault("BatchSize", 10 if service == "sqs" else 100)
        params.setdefault("MaximumBatchingWindowInSeconds", 0)
        params.setdefault("FilterCriteria", {})
        params.setdefault("FunctionResponseTypes", [])
        if service == "sqs":
            params.setdefault("ScalingConfig", {})
        else:
            params.setdefault("MaximumRetryAttempts", -1)
            params.setdefault("MaximumRecordAgeInSeconds", -1)
            params.setdefault("BisectBatchOnFunctionError", False)
            params.setdefault("ParallelizationFactor", 1)
            params.setdefault("DestinationConfig", {"OnFailure": {}})
        try:
            return env.aws.call("lambda", "UpdateEventSourceMapping", {"UUID": mapping_id, **params})
        except AwsError as error:
            if error.code != "ResourceNotFoundException":
                raise
            return None

    @staticmethod
    def _made(env: Env, answer: dict[str, Any], service: str) -> Made:
        mapping_id = str(answer["UUID"])
        return Made(mapping_id, mapping_id, {"Id": mapping_id, "EventSourceMappingArn": _mapping_arn(env, mapping_id)}, {"kind": service})

    def delete(self, env: Env, stored: Stored) -> None:
        if stored.state.get("kind") not in _EMULATED_SOURCES:
            return
        try:
            env.aws.call("lambda", "DeleteEventSourceMapping", {"UUID": stored.physical_id})
        except AwsError as error:
            if error.code != "ResourceNotFoundException":
                raise


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


_PROPERTY_TYPES: dict[str, str] = {
    "BatchSize": "Integer",
    "MaximumBatchingWindowInSeconds": "Integer",
    "ParallelizationFactor": "Integer",
    "MaximumRecordAgeInSeconds": "Integer",
    "MaximumRetryAttempts": "Integer",
    "TumblingWindowInSeconds": "Integer",
    "Enabled": "Boolean",
    "BisectBatchOnFunctionError": "Boolean",
    "FunctionResponseTypes": "JSONArray",
    "Tags": "JSONArray",
    "FilterCriteria": "JSONObject",
    "ScalingConfig": "JSONObject",
    "DestinationConfig": "JSONObject",
    "StartingPosition": "String",
}
"""The resource schema's type of each property that is not a string, as CloudFormation names them."""


def _check_types(request: Request, props: dict[str, Any]) -> None:
    """CloudFormation's schema check of the properties' types (a parameter's ``"10"`` or ``"true"`` passes, as there)."""
    check_types(request.logical_id, ((f"#/{member}", props.get(member), expected) for member, expected in _PROPERTY_TYPES.items()))


_EMULATED_SOURCES = ("sqs", "dynamodb", "kinesis")
"""The event sources whose mappings run locally (others are made as placeholders, with a warning)."""

_MAPPING_MEMBERS = frozenset(
    (
        "EventSourceArn",
        "FunctionName",
        "Enabled",
        "BatchSize",
        "FilterCriteria",
        "ScalingConfig",
        "MaximumBatchingWindowInSeconds",
        "ParallelizationFactor",
        "StartingPosition",
        "StartingPositionTimestamp",
        "DestinationConfig",
        "MaximumRecordAgeInSeconds",
        "BisectBatchOnFunctionError",
        "MaximumRetryAttempts",
        "Tags",
        "TumblingWindowInSeconds",
        "FunctionResponseTypes",
    )
)
"""The properties of AWS::Lambda::EventSourceMapping that Lambda's API takes as they are."""


def _mapping_arn(env: Env, mapping_id: str) -> str:
    return env.arn("lambda", f"event-source-mapping:{mapping_id}")


class EventInvokeConfig:
    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        name = _function_name(str(props.get("FunctionName")))
        params: dict[str, Any] = {"FunctionName": name, "Qualifier": props.get("Qualifier") or "$LATEST"}
        for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig"):
            if key in props:
                params[key] = props[key]
        env.aws.call("lambda", "PutFunctionEventInvokeConfig", params)
        return Made(f"{name}:{params['Qualifier']}", f"{name}:{params['Qualifier']}")

    def delete(self, env: Env, stored: Stored) -> None:
        name, _, qualifier = stored.physical_id.partition(":")
        try:
            env.aws.call("lambda", "DeleteFunctionEventInvokeConfig", {"FunctionName": name, "Qualifier": qualifier or "$LATEST"})
        except AwsError as error:
            if error.code != "ResourceNotFoundException":
                raise


class Permission:
    """Who may invoke a function: accepted (locally every local service may), kept for the stack's view."""

    def apply(self, env: Env, request: Request) -> Made:
        physical = request.previous.physical_id if request.previous else f"{request.logical_id}-{uuid.uuid4().hex[:12]}"
        return Made(physical, physical)

    def delete(self, env: Env, stored: Stored) -> None:
        return None


class Version:
    """A published version, numbered as Lambda numbers them: one more than the highest number the function used.

    The versions are kept in the state database (``backends/local/lambda_template_versions.py``),
    where a version kept by ``DeletionPolicy: Retain`` stays published after it leaves the template
    and a number is never used again. Every property of a Version is replaced on change: a new
    Description, CodeSha256 or FunctionName publishes a new version, and the one before is deleted
    (unless the resource retains it on replacement). Locally a version is no snapshot: every version
    runs the function's current code; its number is what Invoke reports (``ExecutedVersion``) and
    what an alias points to.
    """

    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        name = _function_name(str(props.get("FunctionName")))
        store = template_version_store(env.stack)
        previous = request.previous
        before = _stored_version(previous) if previous is not None else None
        if previous is not None and before is not None and _replacement_properties(previous.properties) == _replacement_properties(props):
            # The same version as last time (a start runs every resource again): published once. Recorded
            # if it is not (a version published before the state database kept them).
            store.keep(before)
            version = before
        else:
            description = str(props.get("Description") or "")
            code = str(props.get("CodeSha256") or _current_code(env, name))
            now = env.stack.local.clock.now().isoformat()
            version = store.publish(name, f"{env.stack_name}/{request.logical_id}", description, code, now)
            if previous is not None and before is not None and not _retained_on_replacement(env, previous):
                store.remove(before.function, before.version)  # replaced: CloudFormation deletes the old version
        arn = env.arn("lambda", f"function:{name}:{version.version}")
        state = {"Owner": version.owner, "CodeSha256": version.code_sha256, "PublishedAt": version.published_at}
        return Made(arn, arn, {"Version": str(version.version), "FunctionArn": arn}, state)

    def delete(self, env: Env, stored: Stored) -> None:
        # Called only for a version that is not retained (the deployer keeps a retained one in place).
        version = _stored_version(stored)
        if version is not None:
            template_version_store(env.stack).remove(version.function, version.version)


def _replacement_properties(props: Mapping[str, Any]) -> tuple[str, str, str]:
    """The properties whose change replaces a Version (a new version is published): the function, Description, CodeSha256."""
    return _function_name(str(props.get("FunctionName"))), str(props.get("Description") or ""), str(props.get("CodeSha256") or "")


def _current_code(env: Env, name: str) -> str:
    """The function's CodeSha256 as the endpoint reports it: the code a version without a CodeSha256 is published with.

    (Lambda refuses a CodeSha256 that is not the function's; locally the code has no such digest to
    compare with, so a given one is taken as it is.)
    """
    return str(env.aws.call("lambda", "GetFunctionConfiguration", {"FunctionName": name}).get("CodeSha256") or "")


def _stored_version(stored: Stored) -> PublishedVersion | None:
    """The version a recorded Version resource published, as it was published."""
    number = stored.attributes.get("Version")
    if number is None or not str(number).isdigit():
        return None
    props = stored.properties
    return PublishedVersion(
        _function_name(str(props.get("FunctionName"))),
        int(number),
        str(stored.state.get("Owner") or stored.logical_id),
        str(props.get("Description") or ""),
        str(stored.state.get("CodeSha256") or props.get("CodeSha256") or ""),
        str(stored.state.get("PublishedAt") or ""),
    )


def _retained_on_replacement(env: Env, previous: Stored) -> bool:
    """Whether the replaced resource is kept (``UpdateReplacePolicy``), as the stack's record says.

    Not confirmed: whether CloudFormation reads the policy of the template before or after the update;
    the record holds the one last deployed.
    """
    document = env.stack.local.stacks.get(env.stack_name) or {}
    for entry in document.get("Resources") or ():
        if entry.get("LogicalResourceId") == previous.logical_id:
            return entry.get("UpdateReplacePolicy") in ("Retain", "Snapshot")
    return False


class Alias:
    """An alias: the endpoint answers it (GetAlias, ListAliases) and Invoke reports the version it
    runs, reading the stack's record. Its routing weights are checked as Lambda checks them, so that
    a recorded alias is always one an invocation can route."""

    def apply(self, env: Env, request: Request) -> Made:
        props = request.properties
        name = _function_name(str(props.get("FunctionName")))
        alias = str(props.get("Name"))
        target = str(require(request, "FunctionVersion", (str, int)))
        function_arn = env.arn("lambda", f"function:{name}")
        published = {str(v.version) for v in template_versions(env.stack, name)}

        def exists(version: str) -> bool:
            return version in published

        if target != "$LATEST" and not exists(target):
            raise AwsError("ResourceNotFoundException", f"Function not found: {function_arn}:{target}", 404, fields={"Type": "User"})
        checked_weights(target, _listed_weights(request), exists, function_arn)
        arn = env.arn("lambda", f"function:{name}:{alias}")
        return Made(arn, arn, {"AliasArn": arn})

    def delete(self, env: Env, stored: Stored) -> None:
        return None  # the stack's record held it: once it leaves the record, it names nothing


def _listed_weights(request: Request) -> dict[str, Any]:
    """``RoutingConfig.AdditionalVersionWeights`` as Lambda's map, after CloudFormation's schema check of the list."""
    routing = request.properties.get("RoutingConfig")
    if routing is None:
        return {}
    where = "#/RoutingConfig"
    check_types(request.logical_id, [(where, routing, "JSONObject")])
    listed = routing.get("AdditionalVersionWeights")
    if listed is None:
        raise _invalid(request, f"{where}: required key [AdditionalVersionWeights] not found")
    check_types(request.logical_id, [(f"{where}/AdditionalVersionWeights", listed, "JSONArray")])
    weights: dict[str, Any] = {}
    for index, item in enumerate(listed):
        at = f"{where}/AdditionalVersionWeights/{index}"
        check_types(request.logical_id, [(at, item, "JSONObject")])
        for key in ("FunctionVersion", "FunctionWeight"):
            if item.get(key) is None:
                raise _invalid(request, f"{at}: required key [{key}] not found")
        if not _is_number(item["FunctionWeight"]):
            raise _invalid(request, f"{at}/FunctionWeight: expected type: Number, found: {type_name(item['FunctionWeight'])}")
        weights[str(item["FunctionVersion"])] = float(item["FunctionWeight"])
    return weights


def _invalid(request: Request, message: str) -> TemplateError:
    """CloudFormation's schema refusal of a resource's properties (before anything is made)."""
    return TemplateError(f"Properties validation failed for resource {request.logical_id} with message: {message}")


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


class Passive:
    """A resource that changes nothing locally (IAM, log groups, policies): accepted, named, given its attributes."""

    def __init__(self, service: str, kind: str, *, name_key: str | None = None, arn_format: str | None = None) -> None:
        self.service, self.kind, self.name_key, self.arn_format = service, kind, name_key, arn_format

    def apply(self, env: Env, request: Request) -> Made:
        name = request.properties.get(self.name_key) if self.name_key else None
        if not isinstance(name, str) or not name:
            name = request.previous.physical_id if request.previous else physical_name(env.stack_name, request.logical_id, 64)
        attributes: dict[str, Any] = {}
        if self.arn_format is not None:
            arn = self.arn_format.format(region=env.region, account=env.account_id, name=name)
            attributes["Arn"] = arn
            if self.kind == "role":
                attributes["RoleId"] = "AROA" + physical_name("", name, 30).split("-")[-1]
        return Made(name, name, attributes)

    def delete(self, env: Env, stored: Stored) -> None:
        return None
