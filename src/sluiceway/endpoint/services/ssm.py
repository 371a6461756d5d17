"""AWS Systems Manager Parameter Store (json protocol, ``AmazonSSM.*``) on the data dir's parameters.

Functions read their configuration with ``ssm.get_parameter`` as they do on AWS, and templates
make ``AWS::SSM::Parameter`` resources and resolve ``{{resolve:ssm:...}}`` from the same store.
Names, versions, labels, selectors (``name:3``, ``name:prod``, ARNs), tiers and their value
limits, filters and tags follow Parameter Store. SecureString values are kept as given (locally
nothing is encrypted beyond the data dir); without WithDecryption an opaque text stands for
the ciphertext, as AWS sends the KMS ciphertext.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Final

from ...backends.local.parameters import LabelledOldestVersionError, ParameterVersion, SqliteParameters
from ...errors import ConflictError, NotFoundError
from ..context import Context
from ..errors import AwsError
from ._ssm_common import (
    ADVANCED_VALUE_BYTES,
    DEFAULT_KEY_ID,
    INVALID_PATH,
    MAX_VERSION,
    OPERATIONS,
    STANDARD_VALUE_BYTES,
    TIERS,
    TYPES,
    as_metadata,
    as_parameter,
    constraint,
    decode_token,
    encode_token,
    invalid,
    new_name,
    not_found,
    page_size,
    parameters,
    policies,
    resolve,
    selector,
    shown_value,
    version_not_found,
    version_number,
    violation,
    violations,
)
from ._ssm_filters import Filter, legacy_filters, legacy_matcher, matches, parameter_filters

__all__ = ["OPERATIONS"]

MAX_LABELS: Final = 10
MAX_TAGS: Final = 50
MAX_DESCRIPTION: Final = 1024
MAX_ALLOWED_PATTERN: Final = 1024
MAX_POLICIES: Final = 4096
DATA_TYPES: Final = (
    "text", "aws:ec2:image", "aws:ssm:integration", "aws:region", "aws:account:id", "boolean", "integer", "float",
    "binary", "hostname", "email", "ipv4-address", "ipv6-address", "url", "json", "jsonc",
)  # fmt: skip
"""The data types PutParameter takes (the model's list); locally only aws:ec2:image values are checked, for their form."""
_AMI_ID = re.compile(r"^ami-([0-9a-f]{8}|[0-9a-f]{17})$")
_LABEL = re.compile(r"^[a-zA-Z_.-][a-zA-Z0-9_.-]*$")
_NESTED = re.compile(r"\{\{.*\}\}", re.DOTALL)
_TAG_TEXT = re.compile(r"^[\w\s_.:/=+\-@]*$")
_TAG_PATTERN: Final = r"Member must satisfy regular expression pattern: ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$"


def _caller(ctx: Context) -> str:
    return f"arn:aws:iam::{ctx.account_id}:root"


def _now_ms(ctx: Context) -> int:
    return int(ctx.stack.local.clock.now().timestamp() * 1000)


# -- writing ----------------------------------------------------------------------------------


@OPERATIONS("PutParameter")
def put_parameter(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = new_name(ctx, params["Name"])
    value: str = params["Value"]
    kind: str | None = params.get("Type")
    tier: str | None = params.get("Tier")
    overwrite = bool(params.get("Overwrite"))
    tags = _tags(params.get("Tags"))
    problem = violations(_put_violations(params))
    if problem is not None:
        raise problem
    data_type: str | None = params.get("DataType")
    if data_type is not None and data_type not in DATA_TYPES:
        raise invalid(f"The following data type is not supported: {data_type} (Data type names are all lowercase.)")
    if overwrite and tags:
        raise invalid(
            "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite"
            " flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource."
        )
    if _NESTED.search(value):
        raise invalid('Parameter value can\'t nest another parameter. Do not use "{{}}" in the value.')
    if params.get("Policies"):
        _check_policies(params["Policies"])

    def build(previous: ParameterVersion | None) -> ParameterVersion:
        if previous is not None and not overwrite:
            raise AwsError(
                "ParameterAlreadyExists",
                "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
            )
        if previous is None and kind is None:
            raise invalid("A parameter type is required when you create a parameter.")
        made_kind = kind or (previous.type if previous else "String")
        pattern = params.get("AllowedPattern", previous.allowed_pattern if previous else None)
        _check_pattern(value, pattern)
        made_type = data_type or (previous.data_type if previous else "text")
        policy_text = params.get("Policies") or (previous.policies if previous else None)
        made_tier = _tier(tier, previous, value, policy_text)
        key_id = None
        if made_kind == "SecureString":
            key_id = params.get("KeyId") or (previous.key_id if previous and previous.type == "SecureString" else None) or DEFAULT_KEY_ID
        return ParameterVersion(
            name=name,
            version=0,  # numbered by the store
            type=made_kind,
            value=value,
            description=params.get("Description", previous.description if previous else None),
            key_id=key_id,
            allowed_pattern=pattern,
            data_type=made_type,
            tier=made_tier,
            policies=policy_text,
            modified_ms=_now_ms(ctx),
            modified_by=_caller(ctx),
        )

    if (data_type == "aws:ec2:image") and not _AMI_ID.match(value):
        # AWS validates an aws:ec2:image value after answering: PutParameter succeeds with the version it
        # would have made, and the parameter is left as it was. Locally only the form of the id is checked.
        latest = parameters(ctx).latest(name)
        if latest is not None and not overwrite:
            raise AwsError(
                "ParameterAlreadyExists",
                "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
            )
        return {"Version": (latest.version if latest else 0) + 1, "Tier": latest.tier if latest else "Standard"}
    try:
        made = parameters(ctx).put(name, build, tags=tags)
    except LabelledOldestVersionError as error:
        raise AwsError(
            "ParameterMaxVersionLimitExceeded",
            f"You attempted to create a new version of {error.name} by calling the PutParameter API with the overwrite flag."
            f" Version {error.version}, the oldest version, can't be deleted because it has a label associated with it."
            " Move the label to another version of the parameter, and try again.",
        ) from None
    return {"Version": made.version, "Tier": made.tier}


def _put_violations(params: dict[str, Any]) -> list[str]:
    """PutParameter's broken member constraints (lengths and enums of its model), all reported together as AWS does."""
    problems: list[str] = []
    if params["Value"] == "":
        problems.append(violation("", "value", "Member must have length greater than or equal to 1"))
    description = params.get("Description")
    if description is not None and len(description) > MAX_DESCRIPTION:
        problems.append(violation(description, "description", f"Member must have length less than or equal to {MAX_DESCRIPTION}"))
    kind = params.get("Type")
    if kind is not None and kind not in TYPES:
        problems.append(violation(kind, "type", "Member must satisfy enum value set: [SecureString, StringList, String]"))
    pattern = params.get("AllowedPattern")
    if pattern is not None and len(pattern) > MAX_ALLOWED_PATTERN:
        problems.append(violation(pattern, "allowedPattern", f"Member must have length less than or equal to {MAX_ALLOWED_PATTERN}"))
    tier = params.get("Tier")
    if tier is not None and tier not in TIERS:
        problems.append(violation(tier, "tier", "Member must satisfy enum value set: [Advanced, Intelligent-Tiering, Standard]"))
    policy_text = params.get("Policies")
    if policy_text is not None and len(policy_text) > MAX_POLICIES:
        problems.append(violation(policy_text, "policies", f"Member must have length less than or equal to {MAX_POLICIES}"))
    return problems


def _check_policies(text: str) -> None:
    """Policies are a JSON array of policies; AWS refuses any other text with the text itself in the message."""
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if not isinstance(parsed, list):
        raise invalid(f"Invalid policies input: {text}.")


def _check_pattern(value: str, pattern: str | None) -> None:
    if not pattern:
        return
    try:
        compiled = re.compile(pattern)
    except re.error:
        raise AwsError("InvalidAllowedPatternException", "The request doesn't meet the regular expression requirement.") from None
    if not compiled.fullmatch(value):
        raise AwsError("ParameterPatternMismatchException", f"Parameter value, cannot be validated against allowedPattern: {pattern}")


def _tier(requested: str | None, previous: ParameterVersion | None, value: str, policy_text: str | None) -> str:
    size = len(value.encode("utf-8"))
    was_advanced = previous is not None and previous.tier == "Advanced"
    if requested == "Intelligent-Tiering" or (requested is None and not was_advanced):
        # Intelligent-Tiering makes a parameter advanced only when what it holds needs it; the default
        # tier (Standard) is what a request without one gets.
        needs = size > STANDARD_VALUE_BYTES or bool(policy_text)
        tier = "Advanced" if was_advanced or (requested == "Intelligent-Tiering" and needs) else "Standard"
    else:
        tier = requested or "Advanced"
    if tier == "Standard" and was_advanced:
        raise invalid(
            "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to"
            " the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter."
        )
    if tier == "Standard" and size > STANDARD_VALUE_BYTES:
        raise invalid(
            f"Standard tier parameters support a maximum parameter value of {STANDARD_VALUE_BYTES} characters. To create a larger"
            " parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, see"
            " https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html"
        )
    if size > ADVANCED_VALUE_BYTES:
        raise invalid(f"Advanced tier parameters support a maximum parameter value of {ADVANCED_VALUE_BYTES} characters.")
    return tier


def _tags(raw: list[dict[str, Any]] | None) -> dict[str, str]:
    tags: dict[str, str] = {}
    for index, tag in enumerate(raw or [], 1):
        key, value = str(tag.get("Key", "")), str(tag.get("Value", ""))
        if not 1 <= len(key) <= 128 or not _TAG_TEXT.match(key):
            raise constraint(
                key, f"tags.{index}.member.key", r"Member must satisfy regular expression pattern: ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$"
            )
        if len(value) > 256 or not _TAG_TEXT.match(value):
            raise constraint(
                value, f"tags.{index}.member.value", r"Member must satisfy regular expression pattern: ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$"
            )
        tags[key] = value
    if len(tags) > MAX_TAGS:
        raise AwsError("TooManyTagsError", "")
    return tags


@OPERATIONS("DeleteParameter")
def delete_parameter(ctx: Context, params: dict[str, Any]) -> None:
    try:
        parameters(ctx).delete(params["Name"])
    except NotFoundError:
        raise not_found() from None


@OPERATIONS("DeleteParameters")
def delete_parameters(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    names: list[str] = params["Names"]
    _at_most_ten(names, "names")
    deleted: list[str] = []
    missing: list[str] = []
    store = parameters(ctx)
    for name in dict.fromkeys(names):
        try:
            store.delete(name)
        except NotFoundError:
            missing.append(name)
        else:
            deleted.append(name)
    return {"DeletedParameters": deleted, "InvalidParameters": missing}


def _at_most_ten(names: list[str], member: str) -> None:
    if len(names) > 10:
        raise constraint(f"[{', '.join(names)}]", member, "Member must have length less than or equal to 10")


# -- reading ----------------------------------------------------------------------------------


@OPERATIONS("GetParameter")
def get_parameter(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    raw: str = params["Name"]
    wanted = selector(ctx, raw)
    if wanted is None:
        raise not_found()
    item = resolve(parameters(ctx), wanted)
    return {"Parameter": as_parameter(ctx, item, decrypt=bool(params.get("WithDecryption")), wanted=wanted)}


@OPERATIONS("GetParameters")
def get_parameters(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    names: list[str] = params["Names"]
    _at_most_ten(names, "names")
    decrypt = bool(params.get("WithDecryption"))
    store = parameters(ctx)
    found: list[dict[str, Any]] = []
    invalid_names: list[str] = []
    for raw in dict.fromkeys(names):
        wanted = selector(ctx, raw)
        try:
            if wanted is None:
                raise not_found()
            found.append(as_parameter(ctx, resolve(store, wanted), decrypt=decrypt, wanted=wanted))
        except AwsError as error:
            if error.code not in ("ParameterNotFound", "ParameterVersionNotFound"):
                raise
            invalid_names.append(raw)
    return {"Parameters": found, "InvalidParameters": invalid_names}


@OPERATIONS("GetParametersByPath")
def get_parameters_by_path(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    path: str = params["Path"]
    if not path.startswith("/") or "//" in path or not re.match(r"^[a-zA-Z0-9_./-]+$", path):
        raise invalid(INVALID_PATH)
    limit = page_size(params.get("MaxResults"), 10, 10)
    filters = parameter_filters(params.get("ParameterFilters"), by_path=True)
    recursive = bool(params.get("Recursive"))
    path_filter = Filter("Path", "Recursive" if recursive else "OneLevel", (path,))
    store = parameters(ctx)
    all_tags = store.all_tags()
    chosen = [item for item in store.all_latest() if matches(item, all_tags.get(item.key, {}), [path_filter, *filters])]
    chosen = _labelled(store, chosen, filters)
    page, token = _page(chosen, params.get("NextToken"), limit)
    decrypt = bool(params.get("WithDecryption"))
    answer: dict[str, Any] = {"Parameters": [as_parameter(ctx, item, decrypt=decrypt) for item in page]}
    if token:
        answer["NextToken"] = token
    return answer


def _labelled(store: SqliteParameters, items: list[ParameterVersion], filters: list[Filter]) -> list[ParameterVersion]:
    """With a Label filter: each parameter's version that has one of the labels (parameters without one drop out)."""
    wanted = next((f for f in filters if f.key == "Label"), None)
    if wanted is None:
        return items
    chosen: list[ParameterVersion] = []
    for item in items:
        for label in wanted.values:
            found = store.labelled(item.name, label)
            if found is not None:
                chosen.append(found)
                break
    return chosen


def _page(items: list[ParameterVersion], token: str | None, limit: int) -> tuple[list[ParameterVersion], str | None]:
    """A page of ``items`` (by name) after the token's name, and the token of the next page."""
    after = decode_token(token)
    if after is not None:
        items = [item for item in items if item.name > after]
    page = items[:limit]
    return page, encode_token(page[-1].name) if len(items) > limit else None


@OPERATIONS("DescribeParameters")
def describe_parameters(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    legacy = params.get("Filters")
    legacy_filters(legacy)
    if legacy and params.get("ParameterFilters"):
        raise invalid("You can use either Filters or ParameterFilters in a single request.")
    filters = parameter_filters(params.get("ParameterFilters"), by_path=False)
    limit = page_size(params.get("MaxResults"), 10, 50)
    store = parameters(ctx)
    all_tags = store.all_tags()
    keep: Callable[[ParameterVersion], bool] = legacy_matcher(legacy) if legacy else (lambda _item: True)
    chosen = [item for item in store.all_latest() if keep(item) and matches(item, all_tags.get(item.key, {}), filters)]
    page, token = _page(chosen, params.get("NextToken"), limit)
    answer: dict[str, Any] = {"Parameters": [as_metadata(ctx, item) for item in page]}
    if token:
        answer["NextToken"] = token
    return answer


@OPERATIONS("GetParameterHistory")
def get_parameter_history(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    wanted = selector(ctx, params["Name"])
    limit = page_size(params.get("MaxResults"), 50, 50)
    if wanted is None or wanted.version is not None or wanted.label is not None:
        raise not_found()
    store = parameters(ctx)
    history = store.history(wanted.name)
    if not history:
        raise not_found()
    after = decode_token(params.get("NextToken"))
    if after is not None:
        # Only a version number this store could have made is a token (it is decoded from the caller's text).
        last = version_number(after)
        if last is None or last > MAX_VERSION:
            raise AwsError("InvalidNextToken", "The specified token isn't valid.")
        history = [item for item in history if item.version > last]
    page = history[:limit]
    decrypt = bool(params.get("WithDecryption"))
    answer: dict[str, Any] = {"Parameters": [_history_entry(ctx, item, decrypt) for item in page]}
    if len(history) > limit:
        answer["NextToken"] = encode_token(str(page[-1].version))
    return answer


def _history_entry(ctx: Context, item: ParameterVersion, decrypt: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "Name": item.name,
        "Type": item.type,
        "LastModifiedDate": item.modified_ms / 1000,
        "LastModifiedUser": item.modified_by,
        "Value": shown_value(item, decrypt),
        "Version": item.version,
        "Labels": list(item.labels),
        "Tier": item.tier,
        "Policies": policies(item),
        "DataType": item.data_type,
    }
    if item.key_id is not None:
        entry["KeyId"] = item.key_id
    if item.description is not None:
        entry["Description"] = item.description
    if item.allowed_pattern is not None:
        entry["AllowedPattern"] = item.allowed_pattern
    return entry


# -- labels -----------------------------------------------------------------------------------


def _label_target(ctx: Context, params: dict[str, Any]) -> tuple[str, int]:
    name: str = params["Name"]
    store = parameters(ctx)
    latest = store.latest(name)
    if latest is None:
        raise not_found()
    version = params.get("ParameterVersion")
    if version is None:
        return latest.name, latest.version
    if not 1 <= int(version) <= MAX_VERSION:
        # No such version can exist (and SQLite cannot hold a number beyond 64 bits to look for it).
        raise version_not_found(version, name)
    return latest.name, int(version)


def _valid_label(label: str) -> bool:
    return bool(_LABEL.match(label)) and not label.lower().startswith(("aws", "ssm"))


@OPERATIONS("LabelParameterVersion")
def label_parameter_version(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    labels: list[str] = params["Labels"]
    for label in labels:
        if not 1 <= len(label) <= 100:
            raise constraint(
                f"[{label}]",
                "labels",
                "Member must satisfy constraint: [Member must have length less than or equal to 100,"
                " Member must have length greater than or equal to 1]",
            )
    name, version = _label_target(ctx, params)
    good = [label for label in labels if _valid_label(label)]
    try:
        parameters(ctx).label(name, version, good, most=MAX_LABELS)
    except NotFoundError:
        raise version_not_found(version, params["Name"]) from None
    except ConflictError:
        raise AwsError(
            "ParameterVersionLabelLimitExceeded",
            "A parameter version can have maximum 10 labels.Move one or more labels to another version and try again.",
        ) from None
    return {"InvalidLabels": [label for label in labels if not _valid_label(label)], "ParameterVersion": version}


@OPERATIONS("UnlabelParameterVersion")
def unlabel_parameter_version(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    labels: list[str] = params["Labels"]
    name, version = _label_target(ctx, params)
    try:
        removed = parameters(ctx).unlabel(name, version, labels)
    except NotFoundError:
        raise version_not_found(version, params["Name"]) from None
    return {"RemovedLabels": removed, "InvalidLabels": [label for label in labels if label not in removed]}


# -- tags -------------------------------------------------------------------------------------

_TAGGABLE: Final = (
    "Document", "ManagedInstance", "MaintenanceWindow", "Parameter", "PatchBaseline", "OpsItem", "OpsMetadata",
    "Automation", "Association", "CloudConnector",
)  # fmt: skip


def _tagged_parameter(params: dict[str, Any]) -> str:
    kind = params["ResourceType"]
    if kind not in _TAGGABLE:
        raise AwsError("InvalidResourceType", "")
    if kind != "Parameter":
        raise AwsError("InvalidResourceId", "")  # Sluiceway keeps no documents, windows, baselines...
    return str(params["ResourceId"])


@OPERATIONS("AddTagsToResource")
def add_tags_to_resource(ctx: Context, params: dict[str, Any]) -> None:
    name = _tagged_parameter(params)
    tags = _tags(params["Tags"])
    try:
        parameters(ctx).tag(name, tags, most=MAX_TAGS)
    except NotFoundError:
        raise AwsError("InvalidResourceId", "") from None
    except ConflictError:
        raise AwsError("TooManyTagsError", "") from None


@OPERATIONS("RemoveTagsFromResource")
def remove_tags_from_resource(ctx: Context, params: dict[str, Any]) -> None:
    name = _tagged_parameter(params)
    try:
        parameters(ctx).untag(name, [str(k) for k in params["TagKeys"]])
    except NotFoundError:
        raise AwsError("InvalidResourceId", "") from None


@OPERATIONS("ListTagsForResource")
def list_tags_for_resource(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = _tagged_parameter(params)
    try:
        tags = parameters(ctx).tags(name)
    except NotFoundError:
        raise AwsError("InvalidResourceId", "") from None
    return {"TagList": [{"Key": k, "Value": v} for k, v in tags.items()]}
