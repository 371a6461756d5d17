"""AWS Secrets Manager (json): secrets, their versions and staging labels, tags, deletion and restore.

Secrets live in the data dir's state database (:class:`~sluiceway.backends.local.secrets.SqliteSecrets`),
one namespace per Region; the rules of versions and labels live there. This module checks
requests as AWS does, answers in AWS's shapes, and maps the store's errors once. Secret values
never reach a log line or an error message.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Final

from ...backends.local.secrets import MAX_TAGS, NewValue, Secret, SecretsError, SecretValue, SqliteSecrets, Version
from ..context import Context, Handler, Operations
from ..errors import AwsError
from ..protocol.constraints import check_constraints
from ._secretsmanager_filters import check_filters, matches
from ._secretsmanager_password import PasswordError, PasswordRules, random_password
from ._secretsmanager_rotation import cancel_rotation, next_rotation, rotate

__all__ = ["OPERATIONS", "secrets_store"]

OPERATIONS = Operations("secretsmanager")

_NAME: Final = re.compile(r"[A-Za-z0-9/_+=.@-]+")
_INVALID_NAME: Final = "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"
_NO_TOKEN: Final = "You must provide a ClientRequestToken value. We recommend a UUID-type value."
_DEFAULT_KEY: Final = "DefaultEncryptionKey"
_MAX_RESULTS: Final = 100
_MAX_VALUE_BYTES: Final = 65536
#: Far beyond any list served here; a token past it was not made by this endpoint.
_MAX_START: Final = 2**31 - 1


def secrets_store(ctx: Context) -> SqliteSecrets:
    """The data dir's secrets, in its state database."""
    local = ctx.stack.local
    account = ctx.stack.settings.account_id
    return ctx.shared.get("secretsmanager", lambda: _open_store(SqliteSecrets(local.db, local.clock, account_id=account)))


def _open_store(store: SqliteSecrets) -> SqliteSecrets:
    # Rotations recorded by a process that stopped are not running any more (this one runs them).
    store.forget_rotations()
    return store


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except SecretsError as exc:
        raise AwsError(exc.code, exc.message, 400) from None
    except PasswordError as exc:
        raise AwsError(exc.code, exc.message, 400) from None


def _operation(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def run(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
            with _errors():
                check_constraints("secretsmanager", name, params)
                return handler(ctx, params)

        return OPERATIONS(name)(run)

    return register


# -- request checks -----------------------------------------------------------------------------


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message, 400)


def _length(value: str, member: str, low: int, high: int) -> None:
    if not low <= len(value) <= high:
        bound = f"greater than or equal to {low}" if len(value) < low else f"less than or equal to {high}"
        raise AwsError(
            "ValidationException",
            f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must have length {bound}",
            400,
        )


def _secret_id(params: dict[str, Any]) -> str:
    """The request's SecretId: an ARN, or a name that could be one (anything else is AWS's ValidationException)."""
    secret_id = str(params["SecretId"])
    _length(secret_id, "secretId", 1, 2048)
    if not secret_id.startswith("arn:") and not _NAME.fullmatch(secret_id):
        raise AwsError("ValidationException", _INVALID_NAME, 400)
    return secret_id


def _token(params: dict[str, Any], *, code: str = "InvalidRequestException") -> str:
    token = params.get("ClientRequestToken")
    if token is None:
        # SDKs fill it in (the model marks it an idempotency token); a raw request must send one.
        raise AwsError(code, _NO_TOKEN, 400)
    return str(token)


def _value(params: dict[str, Any], *, required: bool) -> NewValue | None:
    text, blob = params.get("SecretString"), params.get("SecretBinary")
    if text is not None and blob is not None:
        raise _invalid("You can't specify both a binary secret value and a string secret value in the same secret.")
    if text is None and blob is None:
        if required:
            raise AwsError("InvalidRequestException", "You must provide either SecretString or SecretBinary.", 400)
        return None
    # The quota is 64 KB of UTF-8 (the model's length check counts characters); the value is
    # never echoed, as AWS leaves sensitive members out of its validation messages.
    if text is not None and len(str(text).encode("utf-8")) > _MAX_VALUE_BYTES:
        raise AwsError(
            "ValidationException",
            "1 validation error detected: Value at 'secretString' failed to satisfy constraint:"
            f" Member must have length less than or equal to {_MAX_VALUE_BYTES}",
            400,
        )
    return NewValue(string=text, binary=blob)


def _tags(params: dict[str, Any]) -> list[tuple[str, str]]:
    tags = params.get("Tags") or []
    for tag in tags:
        if "Key" not in tag or "Value" not in tag:
            raise _invalid("A tag must have a Key and a Value.")
    pairs = [(str(t["Key"]), str(t["Value"])) for t in tags]
    if any(key.lower().startswith("aws:") for key, _ in pairs):
        # The prefix is AWS's own (its docs: "reserved for AWS use"), in any case.
        raise _invalid("Tag keys can't start with aws: because that prefix is reserved for AWS use.")
    if len(dict(pairs)) > MAX_TAGS:
        raise _invalid(f"A secret can have at most {MAX_TAGS} tags.")
    return pairs


# -- answers ------------------------------------------------------------------------------------


def _when(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def _stages_map(secret: Secret) -> dict[str, list[str]]:
    return {v.version_id: list(v.stages) for v in secret.versions if v.stages}


def _entry(secret: Secret, *, versions_key: str) -> dict[str, Any]:
    """DescribeSecret's answer, or (``versions_key`` ``SecretVersionsToStages``) a ListSecrets entry."""
    out: dict[str, Any] = {"ARN": secret.arn, "Name": secret.name}
    optional = {
        "Description": secret.description,
        "KmsKeyId": secret.kms_key_id,
        "RotationEnabled": secret.rotation_enabled,
        "RotationLambdaARN": secret.rotation_lambda_arn,
        "RotationRules": dict(secret.rotation_rules) if secret.rotation_rules else None,
        "LastRotatedDate": _when(secret.rotated_ms),
        "LastChangedDate": _when(secret.changed_ms),
        "NextRotationDate": next_rotation(secret),
        "LastAccessedDate": _when(secret.accessed_day_ms),
        "DeletedDate": _when(secret.deleted_ms),
        "Tags": None if secret.tags is None else [{"Key": k, "Value": v} for k, v in secret.tags],
        versions_key: _stages_map(secret) or None,
        "CreatedDate": _when(secret.created_ms),
    }
    out.update({k: v for k, v in optional.items() if v is not None})
    return out


def _version_entry(secret: Secret, version: Version) -> dict[str, Any]:
    out: dict[str, Any] = {"VersionId": version.version_id}
    if version.stages:
        out["VersionStages"] = list(version.stages)
    if version.accessed_day_ms is not None:
        out["LastAccessedDate"] = _when(version.accessed_day_ms)
    out["CreatedDate"] = _when(version.created_ms)
    out["KmsKeyIds"] = [secret.kms_key_id or _DEFAULT_KEY]
    return out


def _value_out(found: SecretValue) -> dict[str, Any]:
    out: dict[str, Any] = {"ARN": found.secret.arn, "Name": found.secret.name, "VersionId": found.version.version_id}
    if found.binary is not None:
        out["SecretBinary"] = found.binary
    if found.string is not None:
        out["SecretString"] = found.string
    if found.version.stages:
        out["VersionStages"] = list(found.version.stages)
    out["CreatedDate"] = _when(found.version.created_ms)
    return out


def _page(
    items: Sequence[Any], params: dict[str, Any], *, default: int = _MAX_RESULTS, high: int = _MAX_RESULTS
) -> tuple[list[Any], str | None]:
    limit = params.get("MaxResults")
    if limit is not None and not 1 <= int(limit) <= high:
        bound = "greater than or equal to 1" if int(limit) < 1 else f"less than or equal to {high}"
        raise AwsError(
            "ValidationException",
            f"1 validation error detected: Value '{limit}' at 'maxResults' failed to satisfy constraint: Member must have value {bound}",
            400,
        )
    size = int(limit or default)
    start = 0
    if params.get("NextToken"):
        try:
            given = json.loads(base64.b64decode(params["NextToken"], validate=True))["start"]
        except (ValueError, KeyError, TypeError, binascii.Error):
            given = None
        if not isinstance(given, int) or isinstance(given, bool) or not 0 <= given <= _MAX_START:
            raise AwsError("InvalidNextTokenException", "The NextToken value is invalid.", 400)
        start = given
    chunk = list(items[start : start + size])
    more = start + size < len(items)
    return chunk, base64.b64encode(json.dumps({"start": start + size}).encode()).decode() if more else None


# -- operations ---------------------------------------------------------------------------------


@_operation("CreateSecret")
def create_secret(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = str(params["Name"])
    if not _NAME.fullmatch(name):
        raise AwsError("ValidationException", _INVALID_NAME, 400)
    value = _value(params, required=False)
    token = _token(params) if value is not None else str(params.get("ClientRequestToken") or "")
    if params.get("AddReplicaRegions") or params.get("CrossAccountPrimaryARN"):
        raise AwsError("InvalidRequestException", "Replication to other Regions or accounts is not served by the Sluiceway endpoint.", 400)
    secret, version_id = secrets_store(ctx).create(
        ctx.region,
        name,
        token=token,
        value=value,
        description=params.get("Description"),
        kms_key_id=params.get("KmsKeyId"),
        tags=_tags(params) if "Tags" in params else None,
    )
    out: dict[str, Any] = {"ARN": secret.arn, "Name": secret.name}
    if version_id is not None:
        out["VersionId"] = version_id
    return out


@_operation("GetSecretValue")
def get_secret_value(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    found = secrets_store(ctx).get_value(
        ctx.region, _secret_id(params), version_id=params.get("VersionId"), stage=params.get("VersionStage")
    )
    return _value_out(found)


@_operation("BatchGetSecretValue")
def batch_get_secret_value(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    ids, filters = params.get("SecretIdList"), params.get("Filters")
    if (ids is None) == (filters is None):
        raise _invalid("Either 'SecretIdList' or 'Filters' must be provided, but not both.")
    if params.get("MaxResults") is not None and filters is None:
        raise _invalid("'Filters' not specified. 'Filters' must also be specified when 'MaxResults' is provided.")
    store = secrets_store(ctx)
    token: str | None = None
    if filters is not None:
        check_filters(filters)
        listed = [s.arn for s in store.list(ctx.region, include_deleted=False) if matches(s, filters, ctx.region)]
        ids, token = _page(listed, params, default=20, high=20)
    values: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for secret_id in ids or ():
        try:
            values.append(_value_out(store.get_value(ctx.region, _secret_id({"SecretId": secret_id}), version_id=None, stage=None)))
        except SecretsError as exc:
            errors.append({"SecretId": secret_id, "ErrorCode": exc.code, "Message": exc.message})
        except AwsError as exc:
            errors.append({"SecretId": secret_id, "ErrorCode": exc.code, "Message": exc.message})
    out: dict[str, Any] = {"SecretValues": values, "Errors": errors}
    if token:
        out["NextToken"] = token
    return out


@_operation("PutSecretValue")
def put_secret_value(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    secret_id = _secret_id(params)
    token = _token(params)
    value = _value(params, required=True)
    assert value is not None
    stages = params.get("VersionStages")
    secret, version_id = secrets_store(ctx).put_value(ctx.region, secret_id, token=token, value=value, stages=stages)
    version = secret.version(version_id)
    return {"ARN": secret.arn, "Name": secret.name, "VersionId": version_id, "VersionStages": list(version.stages if version else ())}


@_operation("UpdateSecret")
def update_secret(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    secret_id = _secret_id(params)
    value = _value(params, required=False)
    token = _token(params) if value is not None else str(params.get("ClientRequestToken") or "")
    secret, version_id = secrets_store(ctx).update(
        ctx.region, secret_id, token=token, value=value, description=params.get("Description"), kms_key_id=params.get("KmsKeyId")
    )
    out: dict[str, Any] = {"ARN": secret.arn, "Name": secret.name}
    if version_id is not None:
        out["VersionId"] = version_id
    return out


@_operation("DescribeSecret")
def describe_secret(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _entry(secrets_store(ctx).describe(ctx.region, _secret_id(params)), versions_key="VersionIdsToStages")


@_operation("ListSecrets")
def list_secrets(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    filters = params.get("Filters") or []
    check_filters(filters)
    found = [
        s
        for s in secrets_store(ctx).list(ctx.region, include_deleted=bool(params.get("IncludePlannedDeletion")))
        if matches(s, filters, ctx.region)
    ]
    by = params.get("SortBy") or "created-date"
    keys: dict[str, Callable[[Secret], Any]] = {
        "created-date": lambda s: (s.created_ms, s.id),
        "last-accessed-date": lambda s: (s.accessed_day_ms or 0, s.id),
        "last-changed-date": lambda s: (s.changed_ms, s.id),
        "name": lambda s: s.name,
    }
    found.sort(key=keys[by], reverse=params.get("SortOrder") == "desc")
    chunk, token = _page(found, params)
    out: dict[str, Any] = {"SecretList": [_entry(s, versions_key="SecretVersionsToStages") for s in chunk]}
    if token:
        out["NextToken"] = token
    return out


@_operation("ListSecretVersionIds")
def list_secret_version_ids(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    secret = secrets_store(ctx).describe(ctx.region, _secret_id(params))
    versions = [v for v in secret.versions if v.stages or params.get("IncludeDeprecated")]
    chunk, token = _page(versions, params)
    out: dict[str, Any] = {"Versions": [_version_entry(secret, v) for v in chunk], "ARN": secret.arn, "Name": secret.name}
    if token:
        out["NextToken"] = token
    return out


@_operation("DeleteSecret")
def delete_secret(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    secret_id = _secret_id(params)
    window, force = params.get("RecoveryWindowInDays"), bool(params.get("ForceDeleteWithoutRecovery"))
    if window is not None and not 7 <= int(window) <= 30:
        raise _invalid("The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")
    if window is not None and force:
        raise _invalid("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
    arn, name, when = secrets_store(ctx).delete(ctx.region, secret_id, window_days=None if window is None else int(window), force=force)
    return {"ARN": arn, "Name": name, "DeletionDate": _when(when)}


@_operation("RestoreSecret")
def restore_secret(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    secret = secrets_store(ctx).restore(ctx.region, _secret_id(params))
    return {"ARN": secret.arn, "Name": secret.name}


@_operation("UpdateSecretVersionStage")
def update_secret_version_stage(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    stage = str(params["VersionStage"])
    secret = secrets_store(ctx).update_stage(
        ctx.region, _secret_id(params), stage, remove_from=params.get("RemoveFromVersionId"), move_to=params.get("MoveToVersionId")
    )
    return {"ARN": secret.arn, "Name": secret.name}


@_operation("TagResource")
def tag_resource(ctx: Context, params: dict[str, Any]) -> None:
    secrets_store(ctx).tag(ctx.region, _secret_id(params), _tags(params))


@_operation("UntagResource")
def untag_resource(ctx: Context, params: dict[str, Any]) -> None:
    secrets_store(ctx).untag(ctx.region, _secret_id(params), [str(k) for k in params["TagKeys"]])


@_operation("GetRandomPassword")
def get_random_password(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    rules = PasswordRules(
        length=int(params.get("PasswordLength", 32)),
        exclude_characters=str(params.get("ExcludeCharacters") or ""),
        exclude_numbers=bool(params.get("ExcludeNumbers")),
        exclude_punctuation=bool(params.get("ExcludePunctuation")),
        exclude_uppercase=bool(params.get("ExcludeUppercase")),
        exclude_lowercase=bool(params.get("ExcludeLowercase")),
        include_space=bool(params.get("IncludeSpace")),
        require_each_included_type=params.get("RequireEachIncludedType") is not False,
    )
    return {"RandomPassword": random_password(rules)}


@_operation("RotateSecret")
def rotate_secret(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    secret_id = _secret_id(params)
    # RotateSecret alone answers a missing token with InvalidParameterException (recorded answers of AWS).
    token = _token(params, code="InvalidParameterException")
    secret = rotate(ctx, secrets_store(ctx), secret_id, token, params)
    return {"ARN": secret.arn, "Name": secret.name, "VersionId": token}


@_operation("CancelRotateSecret")
def cancel_rotate_secret(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    secret, pending = cancel_rotation(ctx, secrets_store(ctx), _secret_id(params))
    out: dict[str, Any] = {"ARN": secret.arn, "Name": secret.name}
    if pending is not None:
        out["VersionId"] = pending
    return out
