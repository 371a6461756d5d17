"""A template made into a stack on the running local stack: create, or update what changed since the last start.

:func:`deploy` reads and transforms the template, takes its parameters, evaluates its
conditions, orders its resources by what each refers to, and runs each resource's
provisioner in that order (API Gateway's resources last, made together by the
gateway). The stack's record is kept in the data dir (``SqliteStacks``): a resource
whose properties changed since the last start is updated, one that left the template
is deleted (in reverse order), and the things that live only in the running process
(functions, event source mappings, routes) are set up again at every start.

What CloudFormation would do that is not emulated locally is said once, as a
warning, never silently ignored: a resource type without a provisioner, a property a
provisioner does not honour.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..endpoint.calls import AwsCalls
from ..endpoint.custom_resources import RESPONSE_PATH, ResponseSlots
from ..ports import Invocation
from .dynamic_references import parameter_reader, resolve_references
from .errors import TemplateError
from .graph import creation_order
from .intrinsics import Resolver
from .parameters import parameter_values, ssm_parameter_names
from .reading import load_template, parse_text
from .resources import API_TYPES, Env, Made, Request, Stored, provisioner
from .resources.placeholders import placeholder
from .sam import nested, transform

if TYPE_CHECKING:
    from ..endpoint.server import Endpoint


__all__ = ["Deployment", "api_id", "deploy", "stack_arn"]

_API_ROOTS = ("AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api")
_CUSTOM_TIMEOUT_S = 900.0  # a custom resource's function runs at most Lambda's 15 minutes


@dataclass
class Deployment:
    """What :func:`deploy` made: the stack's record and what was not emulated."""

    document: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    @property
    def outputs(self) -> dict[str, str]:
        return {o["OutputKey"]: o["OutputValue"] for o in self.document.get("Outputs", [])}


def stack_arn(region: str, account_id: str, name: str) -> str:
    stack_uuid = uuid.uuid5(uuid.NAMESPACE_URL, f"sluiceway-stack/{account_id}/{region}/{name}")
    return f"arn:aws:cloudformation:{region}:{account_id}:stack/{name}/{stack_uuid}"


def api_id(stack_name: str, logical_id: str) -> str:
    """An API's id (10 lowercase letters and digits, as API Gateway's), the same at every start."""
    digest = hashlib.sha256(f"{stack_name}/{logical_id}/api".encode()).digest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[b % len(alphabet)] for b in digest[:10])


_STACK_NAME = re.compile(r"[a-zA-Z][-a-zA-Z0-9]{0,127}")


def deploy(
    endpoint: Endpoint,
    template_path: Path,
    stack_name: str,
    overrides: Mapping[str, str],
    *,
    cache_dir: Path,
    warn: Callable[[str], None] | None = None,
) -> Deployment:
    """Create or update stack ``stack_name`` from ``template_path`` on the endpoint's running stack.

    Raises:
        TemplateError: the template cannot be read, transformed, resolved or made; the
            stack's record then says ``CREATE_FAILED``/``UPDATE_FAILED`` with the reason.
    """
    if not _STACK_NAME.fullmatch(stack_name):
        raise TemplateError(f"stack name {stack_name!r}: must start with a letter and hold only letters, digits and '-' (at most 128)")
    stack = endpoint.stack
    settings = stack.settings
    store = stack.local.stacks
    now = stack.local.clock.now()
    previous = store.get(stack_name)
    # A stack whose creation never completed (failed, or killed before the end) is created again:
    # what it made before is reused from the record, not made twice.
    creating = previous is None or previous.get("StackStatus") in ("CREATE_IN_PROGRESS", "CREATE_FAILED")
    warnings: list[str] = []

    def note(message: str) -> None:
        if message not in warnings:
            warnings.append(message)
            if warn is not None:
                warn(message)

    source = str(template_path)
    template = load_template(template_path)
    for logical_id in nested(template):
        note(
            f"{logical_id} ({template['Resources'][logical_id].get('Type')}): nested applications and stacks are not emulated "
            "locally; run the nested template as a stack of its own (up --template) and pass its outputs as parameters"
        )
    declared = template.get("Parameters") or {}
    values = parameter_values(declared, overrides, source, read_parameter=parameter_reader(AwsCalls(stack, endpoint.shared, endpoint.url)))
    translated, artifacts = transform(
        template, template_path.parent.resolve(), values, region=settings.region, account_id=settings.account_id, source=source
    )
    arn = stack_arn(settings.region, settings.account_id, stack_name)
    document: dict[str, Any] = {
        "StackId": arn,
        "StackName": stack_name,
        "Description": translated.get("Description", ""),
        "Parameters": _parameter_entries(declared, values, ssm_parameter_names(declared, overrides)),
        "CreationTime": (previous or {}).get("CreationTime") or now.isoformat(),
        "StackStatus": "CREATE_IN_PROGRESS" if creating else "UPDATE_IN_PROGRESS",
        "Outputs": (previous or {}).get("Outputs", []),
        # Every resource the last run left stays recorded until this run remakes or deletes it, and
        # the record is written after each one: killed at any point, the next start knows every
        # resource that exists (and updates or deletes it) rather than making it twice.
        "Resources": list((previous or {}).get("Resources", [])),
        "Warnings": [],
    }
    if not creating:
        document["LastUpdatedTime"] = now.isoformat()
    store.put(document, now)
    env = Env(
        stack=stack,
        aws=AwsCalls(stack, endpoint.shared, endpoint.url),
        stack_name=stack_name,
        artifacts=artifacts,
        cache_dir=cache_dir,
        warn=note,
    )
    env.invoke_custom = lambda token, body: _invoke_custom(endpoint, arn, token, body)
    try:
        _make(endpoint, env, translated, values, document, previous, note, lambda: store.put(document, stack.local.clock.now()))
    except BaseException as error:  # a Ctrl-C during a long pip install too: the record says how it ended
        document["StackStatus"] = "CREATE_FAILED" if creating else "UPDATE_FAILED"
        document["StackStatusReason"] = str(error) if isinstance(error, TemplateError) else f"interrupted ({type(error).__name__})"
        document["Warnings"] = warnings
        store.put(document, stack.local.clock.now())
        raise
    document["StackStatus"] = "CREATE_COMPLETE" if creating else "UPDATE_COMPLETE"
    document.pop("StackStatusReason", None)
    document["Warnings"] = warnings
    store.put(document, stack.local.clock.now())
    return Deployment(document, warnings)


def _parameter_text(value: Any) -> str:
    return ",".join(str(v) for v in value) if isinstance(value, list) else str(value)


def _parameter_entries(declared: Mapping[str, Any], values: Mapping[str, Any], ssm_names: Mapping[str, str]) -> list[dict[str, str]]:
    """The stack's Parameters as DescribeStacks shows them: an SSM-typed one by the name it was
    given (``ParameterValue``) and the value read from Parameter Store (``ResolvedValue``)."""
    entries: list[dict[str, str]] = []
    for key, value in values.items():
        hidden = bool(declared[key].get("NoEcho"))
        entry = {"ParameterKey": key, "ParameterValue": "****" if hidden else ssm_names.get(key, _parameter_text(value))}
        if key in ssm_names:
            entry["ResolvedValue"] = "****" if hidden else _parameter_text(value)
        entries.append(entry)
    return entries


def _make(
    endpoint: Endpoint,
    env: Env,
    template: dict[str, Any],
    values: dict[str, Any],
    document: dict[str, Any],
    previous: dict[str, Any] | None,
    note: Callable[[str], None],
    save: Callable[[], None],
) -> None:
    settings = env.stack.settings
    resources: dict[str, Any] = template.get("Resources") or {}
    api_ids = {logical: api_id(env.stack_name, logical) for logical, r in resources.items() if r.get("Type") in _API_ROOTS}
    resolver = Resolver(
        pseudo={
            "AWS::Region": settings.region,
            "AWS::AccountId": settings.account_id,
            "AWS::StackName": env.stack_name,
            "AWS::StackId": document["StackId"],
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
        },
        parameters=values,
        mappings=template.get("Mappings") or {},
        imports=_exports(env, exclude=env.stack_name),
        rewrite=_api_url_rewriter(endpoint.url, set(api_ids.values())),
    )
    resolver.evaluate_conditions(template.get("Conditions") or {})
    kept = {
        logical: resource
        for logical, resource in resources.items()
        if "Condition" not in resource or resolver.condition(resource["Condition"], f"Resources.{logical}.Condition")
    }
    before = {r["LogicalResourceId"]: r for r in (previous or {}).get("Resources", [])}
    recorded: list[dict[str, Any]] = document["Resources"]

    def record(entry: dict[str, Any]) -> None:
        for index, existing in enumerate(recorded):
            if existing["LogicalResourceId"] == entry["LogicalResourceId"]:
                recorded[index] = entry
                break
        else:
            recorded.append(entry)
        save()

    order: list[str] = []
    api_resources: dict[str, dict[str, Any]] = {}
    missing = sorted(
        {str(r.get("Type")) for r in kept.values() if provisioner(str(r.get("Type"))) is None and r.get("Type") not in API_TYPES}
    )
    if missing:
        note(f"not emulated locally (accepted, nothing is made): {', '.join(missing)}")
    for logical in creation_order(kept):
        resource = kept[logical]
        kind = str(resource.get("Type"))
        where = f"Resources.{logical}.Properties"
        # The record keeps the dynamic references (never the values they resolve to, as
        # CloudFormation's template keeps them); what is made is made with their values.
        properties = resolver.resolve(resource.get("Properties") or {}, where)
        handler = provisioner(kind)
        if kind in API_TYPES:
            served = _inline_body(resolve_references(properties, env.aws, kind, where), env, where)
            properties = _inline_body(properties, env, where)
            physical = api_ids.get(logical) or _api_part_id(kind, logical, served, env.stack_name)
            api_resources[logical] = {"Type": kind, "Properties": served}
            result = Made(physical, physical, _api_attributes(kind, physical, endpoint.url))
        elif handler is None:
            # Not emulated: nothing is made, so nothing is read. An instance's public AMI parameter
            # (/aws/service/...) or a database's secret need not exist locally for the rest to run.
            stored = _stored(before.get(logical))
            result = placeholder(env, logical, kind, properties, stored.physical_id if stored else None)
        else:
            resolved = resolve_references(properties, env.aws, kind, where)
            request = Request(logical, kind, resolved, _resolved(_stored(before.get(logical)), env))
            try:
                result = handler.apply(env, request)
            except TemplateError:
                raise
            except Exception as exc:  # an AwsError or a refusal of a backend: the resource failed, said with its name
                code = getattr(exc, "code", type(exc).__name__)
                raise TemplateError(f"Resources.{logical} ({kind}): {code}: {exc}") from exc
        resolver.refs[logical] = result.ref
        resolver.attributes[logical] = dict(result.attributes)
        order.append(logical)
        record(
            {
                "LogicalResourceId": logical,
                "PhysicalResourceId": result.physical_id,
                "ResourceType": kind,
                "ResourceStatus": _status(before.get(logical), properties),
                "Timestamp": env.stack.local.clock.now().isoformat(),
                "Properties": properties,
                "Ref": result.ref,
                "Attributes": dict(result.attributes),
                "State": dict(result.state),
                "DeletionPolicy": resource.get("DeletionPolicy"),
                "UpdateReplacePolicy": resource.get("UpdateReplacePolicy"),
            }
        )
    if api_resources:
        _serve_apis(endpoint, api_resources, {k: v for k, v in resolver.refs.items() if k in api_resources}, env, note)
    for logical in reversed([name for name in before if name not in kept]):
        entry = before[logical]
        gone = _stored(entry)
        handler = provisioner(gone.type) if gone is not None else None
        if entry.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate", "Snapshot"):
            # CloudFormation leaves such a resource in place when it leaves the template (Snapshot
            # keeps a backup; locally the data itself is kept).
            note(f"{logical}: DeletionPolicy {entry['DeletionPolicy']}: {entry['PhysicalResourceId']} is kept")
        elif gone is not None and handler is not None:
            try:
                handler.delete(env, _resolved(gone, env) or gone)
            except Exception as exc:  # a resource that will not go is said, as DELETE_FAILED would be
                note(f"{logical}: could not delete {gone.physical_id}: {exc}")
        recorded[:] = [r for r in recorded if r["LogicalResourceId"] != logical]
        save()
    position = {name: index for index, name in enumerate(order)}
    recorded.sort(key=lambda r: position.get(r["LogicalResourceId"], len(position)))
    document["Outputs"] = _outputs(template.get("Outputs") or {}, resolver)


def _status(previous: Mapping[str, Any] | None, properties: Any) -> str:
    if previous is None:
        return "CREATE_COMPLETE"
    # An unchanged resource keeps the status of its last change, as CloudFormation shows it.
    return str(previous.get("ResourceStatus", "CREATE_COMPLETE")) if previous.get("Properties") == properties else "UPDATE_COMPLETE"


def _stored(entry: Mapping[str, Any] | None) -> Stored | None:
    if entry is None:
        return None
    return Stored(
        entry["LogicalResourceId"],
        entry["ResourceType"],
        entry["PhysicalResourceId"],
        entry.get("Properties") or {},
        entry.get("Ref"),
        entry.get("Attributes") or {},
        entry.get("State") or {},
    )


def _resolved(stored: Stored | None, env: Env) -> Stored | None:
    """The record's resource with its dynamic references resolved as this deploy resolves them.

    The record keeps references, never their values, but handlers get resolved properties and
    compare them with the previous ones to tell a change (a custom resource's Update, a
    parameter's new version, a replacement). Resolving the previous properties with the same
    reads makes a reference equal to itself and a changed reference unequal, for every handler
    at once; a custom resource's OldResourceProperties and Delete carry values, as CloudFormation
    sends them. A value changed in the store behind an unchanged reference is thus no change, as
    on AWS, where a stack update does not update a resource for it.
    """
    if stored is None:
        return None
    where = f"Resources.{stored.logical_id}.Properties (as last deployed)"
    try:
        properties = resolve_references(stored.properties, env.aws, stored.type, where)
    except TemplateError:
        # A reference that no longer resolves (its parameter is gone) compares as written: the
        # resource is then brought up to date with the template's current properties.
        return stored
    return replace(stored, properties=properties)


def _outputs(outputs: Mapping[str, Any], resolver: Resolver) -> list[dict[str, Any]]:
    result = []
    for key, output in outputs.items():
        where = f"Outputs.{key}"
        if not isinstance(output, dict) or "Value" not in output:
            raise TemplateError(f"{where}: needs a Value")
        if "Condition" in output and not resolver.condition(output["Condition"], f"{where}.Condition"):
            continue
        value = resolver.resolve(output["Value"], f"{where}.Value")
        entry: dict[str, Any] = {
            "OutputKey": key,
            "OutputValue": ",".join(map(str, value)) if isinstance(value, list) else str(value),
        }
        if output.get("Description"):
            entry["Description"] = resolver.resolve(output["Description"], f"{where}.Description")
        export = output.get("Export")
        if isinstance(export, dict) and "Name" in export:
            entry["ExportName"] = resolver.resolve(export["Name"], f"{where}.Export.Name")
        result.append(entry)
    return result


def _exports(env: Env, *, exclude: str) -> dict[str, str]:
    exports: dict[str, str] = {}
    for other in env.stack.local.stacks.list():
        if other["StackName"] == exclude:
            continue
        for output in other.get("Outputs", []):
            if output.get("ExportName"):
                exports[output["ExportName"]] = output["OutputValue"]
    return exports


_PUBLIC_API_URL = re.compile(r"https://([a-z0-9]{10})\.execute-api\.[a-z0-9-]+\.amazonaws\.com(?=/|$|\W)")


def _api_url_rewriter(endpoint_url: str, ids: set[str]) -> Callable[[str], str]:
    """API Gateway's public URL of a local API becomes the endpoint URL that serves its routes."""

    def rewrite(text: str) -> str:
        if "execute-api" not in text:
            return text
        return _PUBLIC_API_URL.sub(lambda m: _local_api_url(endpoint_url, m.group(1)) if m.group(1) in ids else m.group(0), text)

    return rewrite


def _local_api_url(endpoint_url: str, identifier: str) -> str:
    from ..endpoint.apigateway import local_base_url

    return local_base_url(endpoint_url, identifier)


def _api_attributes(kind: str, physical: str, endpoint_url: str) -> dict[str, Any]:
    if kind == "AWS::ApiGateway::RestApi":
        return {"RootResourceId": hashlib.sha256(physical.encode()).hexdigest()[:10], "RestApiId": physical}
    if kind == "AWS::ApiGatewayV2::Api":
        return {"ApiEndpoint": _local_api_url(endpoint_url, physical), "ApiId": physical}
    if kind == "AWS::ApiGateway::ApiKey":
        return {"APIKeyId": physical}  # the key's id, as its Ref
    if kind == "AWS::ApiGateway::UsagePlan":
        return {"Id": physical}
    return {}


def _inline_body(properties: Any, env: Env, where: str) -> Any:
    """An API's ``BodyS3Location`` that stands for a local ``DefinitionUri`` file, read into ``Body``."""
    location = properties.get("BodyS3Location") if isinstance(properties, dict) else None
    if not isinstance(location, dict):
        return properties
    path = env.artifacts.local(location.get("Bucket"), location.get("Key"))
    if path is None:
        raise TemplateError(f"{where}.BodyS3Location: only local files can be read (DefinitionUri beside the template)")
    body = parse_text(_read_text(path, where), str(path))
    return {**{k: v for k, v in properties.items() if k != "BodyS3Location"}, "Body": body}


def _read_text(path: Path, where: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"{where}: cannot read {path}: {exc}") from None


def _api_part_id(kind: str, logical: str, properties: Mapping[str, Any], stack_name: str) -> str:
    if kind in ("AWS::ApiGateway::Stage", "AWS::ApiGatewayV2::Stage") and isinstance(properties.get("StageName"), str):
        return str(properties["StageName"])  # a stage's Ref is its name
    return api_id(stack_name, logical)


def _serve_apis(
    endpoint: Endpoint, resources: dict[str, dict[str, Any]], physical_ids: dict[str, Any], env: Env, note: Callable[[str], None]
) -> None:
    from ..endpoint.apigateway import apis_from_resources

    try:
        apis = apis_from_resources(resources, {k: str(v) for k, v in physical_ids.items()}, region=env.region, account_id=env.account_id)
    except ValueError as exc:
        raise TemplateError(str(exc)) from exc
    endpoint.apis.deploy(apis)  # first: deploying adds the warnings of issuers no local pool can verify
    for api in apis:
        for warning in api.warnings:
            note(warning)


def _invoke_custom(endpoint: Endpoint, stack_id: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
    """Send a custom resource's request to its function and wait for the response it PUTs."""
    slots = endpoint.shared.get("cfn-responses", ResponseSlots)
    request_id = str(uuid.uuid4())
    slots.open(request_id)
    event = {
        **body,
        "ServiceToken": token,
        "ResponseURL": f"{endpoint.url}{RESPONSE_PATH}{request_id}",
        "StackId": stack_id,
        "RequestId": request_id,
    }
    name = token.split(":")[6] if token.count(":") >= 6 else token
    result = endpoint.stack.invoker.invoke(Invocation(name, event, request_id=request_id, timeout_s=_CUSTOM_TIMEOUT_S))
    # The function PUTs before it returns; a little slack for one that answers from a thread it started.
    response = slots.wait(request_id, timeout_s=5.0)
    if response is None:
        reason = (
            f"{result.error_type}: {result.error_message}"
            if not result.ok
            else "the function returned without sending a response to the ResponseURL"
        )
        return {"Status": "FAILED", "Reason": f"{name}: {reason}"}
    return response
