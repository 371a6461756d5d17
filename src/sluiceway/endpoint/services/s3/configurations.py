"""A bucket's configurations that S3 stores and answers: CORS, lifecycle, policy, default encryption,
ownership controls, public access block, transfer acceleration and versioning.

Each is kept as the API shaped it (``SqliteBucketConfigs.setting``), checked as S3 checks it,
and answered back; a bucket that never had one answers S3's default for it — since 2023 every
new bucket has SSE-S3 default encryption, ``BucketOwnerEnforced`` ownership and its public
access blocked — or S3's ``NoSuch*`` error. Local buckets serve every request alike: none of these
changes who may read what, and lifecycle rules do not expire objects.

Versioning: local buckets keep one version of each object. ``Suspended`` is what such a bucket
is, so it is stored and answered; ``Enabled`` is refused, never pretended.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from ...context import Context
from ...errors import AwsError
from ._common import OPERATIONS, must_bucket

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_OWNERSHIP", "OWNERSHIPS", "ownership"]

_MALFORMED: Final = "The XML you provided was not well-formed or did not validate against our published schema"


def _malformed() -> AwsError:
    return AwsError("MalformedXML", _MALFORMED, 400)


# -- CORS --------------------------------------------------------------------------------------

_CORS_METHODS: Final = frozenset({"GET", "PUT", "HEAD", "POST", "DELETE"})
_MAX_CORS_RULES: Final = 100


@OPERATIONS("PutBucketCors")
def put_bucket_cors(ctx: Context, params: dict[str, Any]) -> None:
    bucket: str = params["Bucket"]
    backend = must_bucket(ctx, bucket)
    rules = (params.get("CORSConfiguration") or {}).get("CORSRules") or []
    if not rules or len(rules) > _MAX_CORS_RULES:
        raise _malformed()
    for rule in rules:
        if not rule.get("AllowedMethods") or not rule.get("AllowedOrigins"):
            raise _malformed()
        for method in rule["AllowedMethods"]:
            if method not in _CORS_METHODS:
                raise AwsError("InvalidRequest", f"Found unsupported HTTP method in CORS config. Unsupported method is {method}", 400)
    backend.configs.put_setting(bucket, "cors", rules)


@OPERATIONS("GetBucketCors")
def get_bucket_cors(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bucket: str = params["Bucket"]
    rules = must_bucket(ctx, bucket).configs.setting(bucket, "cors")
    if rules is None:
        raise AwsError("NoSuchCORSConfiguration", "The CORS configuration does not exist", 404, fields={"BucketName": bucket})
    return {"CORSRules": rules}


@OPERATIONS("DeleteBucketCors")
def delete_bucket_cors(ctx: Context, params: dict[str, Any]) -> None:
    bucket: str = params["Bucket"]
    must_bucket(ctx, bucket).configs.delete_setting(bucket, "cors")


# -- lifecycle ---------------------------------------------------------------------------------

_MAX_LIFECYCLE_RULES: Final = 1000
_MAX_RULE_ID: Final = 255
_ACTIONS: Final = (
    "Expiration",
    "Transitions",
    "NoncurrentVersionExpiration",
    "NoncurrentVersionTransitions",
    "AbortIncompleteMultipartUpload",
)
_FILTERS: Final = ("Prefix", "Tag", "And", "ObjectSizeGreaterThan", "ObjectSizeLessThan")
_MINIMUM_SIZES: Final = frozenset({"all_storage_classes_128K", "varies_by_storage_class"})
_DEFAULT_MINIMUM_SIZE: Final = "all_storage_classes_128K"


def _check_date(date: Any) -> None:
    if isinstance(date, datetime) and date.astimezone(UTC).time() != datetime.min.time():
        raise AwsError(
            "InvalidArgument",
            "'Date' must be at midnight GMT",
            400,
            fields={"ArgumentName": "Date", "ArgumentValue": date.astimezone(UTC).isoformat()},
        )


def _check_lifecycle_rule(rule: Mapping[str, Any], ids: set[str]) -> None:
    if rule.get("Status") not in ("Enabled", "Disabled"):
        raise _malformed()
    if ("Prefix" in rule) == ("Filter" in rule):
        raise _malformed()  # a rule's own Prefix is the old form of its Filter: one or the other, not neither
    if len([name for name in _FILTERS if name in (rule.get("Filter") or {})]) > 1:
        raise _malformed()  # a Filter is one condition; several go in its And
    rule_id = rule.get("ID")
    if rule_id is not None:
        if len(rule_id) > _MAX_RULE_ID:
            raise AwsError("InvalidArgument", "ID length should not exceed allowed limit of 255", 400)
        if rule_id in ids:
            raise AwsError("InvalidArgument", "Rule ID must be unique. Found same ID for more than one rule", 400)
        ids.add(rule_id)
    if not any(rule.get(action) for action in _ACTIONS):
        raise AwsError("InvalidRequest", "At least one action needs to be specified in a rule", 400)
    _check_date((rule.get("Expiration") or {}).get("Date"))
    for transition in rule.get("Transitions") or []:
        _check_date(transition.get("Date"))


@OPERATIONS("PutBucketLifecycleConfiguration")
def put_bucket_lifecycle_configuration(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bucket: str = params["Bucket"]
    backend = must_bucket(ctx, bucket)
    rules = (params.get("LifecycleConfiguration") or {}).get("Rules") or []
    if not rules or len(rules) > _MAX_LIFECYCLE_RULES:
        raise _malformed()
    minimum = params.get("TransitionDefaultMinimumObjectSize") or _DEFAULT_MINIMUM_SIZE
    if minimum not in _MINIMUM_SIZES:
        raise AwsError("InvalidRequest", f"Invalid TransitionDefaultMinimumObjectSize found: {minimum}", 400)
    ids: set[str] = set()
    for rule in rules:
        _check_lifecycle_rule(rule, ids)
    backend.configs.put_setting(bucket, "lifecycle", {"Rules": rules, "TransitionDefaultMinimumObjectSize": minimum})
    return {"TransitionDefaultMinimumObjectSize": minimum}


def _dates_back(rule: dict[str, Any]) -> dict[str, Any]:
    """A stored rule with its dates as datetimes again (the store keeps them in ISO 8601)."""
    expiration = rule.get("Expiration")
    if isinstance(expiration, dict) and isinstance(expiration.get("Date"), str):
        expiration["Date"] = datetime.fromisoformat(expiration["Date"])
    for transition in rule.get("Transitions") or []:
        if isinstance(transition.get("Date"), str):
            transition["Date"] = datetime.fromisoformat(transition["Date"])
    return rule


@OPERATIONS("GetBucketLifecycleConfiguration")
def get_bucket_lifecycle_configuration(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bucket: str = params["Bucket"]
    stored = must_bucket(ctx, bucket).configs.setting(bucket, "lifecycle")
    if stored is None:
        raise AwsError("NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist", 404, fields={"BucketName": bucket})
    return {
        "Rules": [_dates_back(rule) for rule in stored["Rules"]],
        "TransitionDefaultMinimumObjectSize": stored.get("TransitionDefaultMinimumObjectSize", _DEFAULT_MINIMUM_SIZE),
    }


@OPERATIONS("DeleteBucketLifecycle")
def delete_bucket_lifecycle(ctx: Context, params: dict[str, Any]) -> None:
    bucket: str = params["Bucket"]
    must_bucket(ctx, bucket).configs.delete_setting(bucket, "lifecycle")


# -- policy ------------------------------------------------------------------------------------


@OPERATIONS("PutBucketPolicy")
def put_bucket_policy(ctx: Context, params: dict[str, Any]) -> None:
    bucket: str = params["Bucket"]
    backend = must_bucket(ctx, bucket)
    text = params.get("Policy")
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    try:
        policy = json.loads(text) if isinstance(text, str) and text.lstrip().startswith("{") else None
    except ValueError:
        policy = None
    if not isinstance(policy, dict):
        raise AwsError("MalformedPolicy", "Policies must be valid JSON and the first byte must be '{'", 400)
    if "Statement" not in policy:
        raise AwsError("MalformedPolicy", "Missing required field Statement", 400)
    # Kept as sent: GetBucketPolicy answers the document itself, not a re-serialisation.
    backend.configs.put_setting(bucket, "policy", text)


@OPERATIONS("GetBucketPolicy")
def get_bucket_policy(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bucket: str = params["Bucket"]
    text = must_bucket(ctx, bucket).configs.setting(bucket, "policy")
    if text is None:
        raise AwsError("NoSuchBucketPolicy", "The bucket policy does not exist", 404, fields={"BucketName": bucket})
    return {"Policy": text}


@OPERATIONS("DeleteBucketPolicy")
def delete_bucket_policy(ctx: Context, params: dict[str, Any]) -> None:
    bucket: str = params["Bucket"]
    must_bucket(ctx, bucket).configs.delete_setting(bucket, "policy")


# -- default encryption ------------------------------------------------------------------------

_SSE_S3_DEFAULT: Final = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}]}
"""Every bucket's default encryption since January 2023, and what deleting another one returns it to."""
_SSE_ALGORITHMS: Final = frozenset({"AES256", "aws:kms", "aws:kms:dsse"})


@OPERATIONS("PutBucketEncryption")
def put_bucket_encryption(ctx: Context, params: dict[str, Any]) -> None:
    bucket: str = params["Bucket"]
    backend = must_bucket(ctx, bucket)
    rules = (params.get("ServerSideEncryptionConfiguration") or {}).get("Rules") or []
    if len(rules) != 1:
        raise _malformed()
    default = dict(rules[0].get("ApplyServerSideEncryptionByDefault") or {})
    algorithm = default.get("SSEAlgorithm")
    if algorithm not in _SSE_ALGORITHMS:
        raise _malformed()
    if default.get("KMSMasterKeyID") and algorithm == "AES256":
        raise AwsError(
            "InvalidArgument",
            "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse",
            400,
            fields={"ArgumentName": "ApplyServerSideEncryptionByDefault"},
        )
    rule = {**rules[0], "ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": bool(rules[0].get("BucketKeyEnabled"))}
    backend.configs.put_setting(bucket, "encryption", {"Rules": [rule]})


@OPERATIONS("GetBucketEncryption")
def get_bucket_encryption(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bucket: str = params["Bucket"]
    stored = must_bucket(ctx, bucket).configs.setting(bucket, "encryption")
    return {"ServerSideEncryptionConfiguration": stored if stored is not None else _SSE_S3_DEFAULT}


@OPERATIONS("DeleteBucketEncryption")
def delete_bucket_encryption(ctx: Context, params: dict[str, Any]) -> None:
    bucket: str = params["Bucket"]
    must_bucket(ctx, bucket).configs.delete_setting(bucket, "encryption")


# -- ownership controls ------------------------------------------------------------------------

OWNERSHIPS: Final = frozenset({"BucketOwnerPreferred", "ObjectWriter", "BucketOwnerEnforced"})
DEFAULT_OWNERSHIP: Final = "BucketOwnerEnforced"
"""Every new bucket's object ownership since April 2023 (ACLs disabled)."""


def ownership(ctx: Context, bucket: str) -> str | None:
    """The bucket's object ownership (None once its ownership controls were deleted)."""
    stored = must_bucket(ctx, bucket).configs.setting(bucket, "ownership")
    if stored is None:
        return DEFAULT_OWNERSHIP
    return str(stored) if stored else None


@OPERATIONS("PutBucketOwnershipControls")
def put_bucket_ownership_controls(ctx: Context, params: dict[str, Any]) -> None:
    bucket: str = params["Bucket"]
    backend = must_bucket(ctx, bucket)
    rules = (params.get("OwnershipControls") or {}).get("Rules") or []
    if len(rules) != 1 or rules[0].get("ObjectOwnership") not in OWNERSHIPS:
        raise _malformed()
    backend.configs.put_setting(bucket, "ownership", rules[0]["ObjectOwnership"])


@OPERATIONS("GetBucketOwnershipControls")
def get_bucket_ownership_controls(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bucket: str = params["Bucket"]
    found = ownership(ctx, bucket)
    if found is None:
        raise AwsError("OwnershipControlsNotFoundError", "The bucket ownership controls were not found", 404, fields={"BucketName": bucket})
    return {"OwnershipControls": {"Rules": [{"ObjectOwnership": found}]}}


@OPERATIONS("DeleteBucketOwnershipControls")
def delete_bucket_ownership_controls(ctx: Context, params: dict[str, Any]) -> None:
    bucket: str = params["Bucket"]
    # An empty value, not no row: no row is the default (BucketOwnerEnforced).
    must_bucket(ctx, bucket).configs.put_setting(bucket, "ownership", "")


# -- public access block -----------------------------------------------------------------------

_BLOCKS: Final = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


@OPERATIONS("PutPublicAccessBlock")
def put_public_access_block(ctx: Context, params: dict[str, Any]) -> None:
    bucket: str = params["Bucket"]
    backend = must_bucket(ctx, bucket)
    given = params.get("PublicAccessBlockConfiguration") or {}
    if not any(name in given for name in _BLOCKS):
        raise AwsError("InvalidRequest", "Must specify at least one configuration.", 400)
    backend.configs.put_setting(bucket, "public_access_block", {name: bool(given.get(name)) for name in _BLOCKS})


@OPERATIONS("GetPublicAccessBlock")
def get_public_access_block(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bucket: str = params["Bucket"]
    stored = must_bucket(ctx, bucket).configs.setting(bucket, "public_access_block")
    if stored is None:
        stored = dict.fromkeys(_BLOCKS, True)  # a new bucket's public access is blocked (April 2023)
    if not stored:
        raise AwsError(
            "NoSuchPublicAccessBlockConfiguration",
            "The public access block configuration was not found",
            404,
            fields={"BucketName": bucket},
        )
    return {"PublicAccessBlockConfiguration": stored}


@OPERATIONS("DeletePublicAccessBlock")
def delete_public_access_block(ctx: Context, params: dict[str, Any]) -> None:
    bucket: str = params["Bucket"]
    # An empty value, not no row: no row is the default (all blocked).
    must_bucket(ctx, bucket).configs.put_setting(bucket, "public_access_block", {})


# -- transfer acceleration ---------------------------------------------------------------------

_STATUSES: Final = frozenset({"Enabled", "Suspended"})


@OPERATIONS("PutBucketAccelerateConfiguration")
def put_bucket_accelerate_configuration(ctx: Context, params: dict[str, Any]) -> None:
    bucket: str = params["Bucket"]
    backend = must_bucket(ctx, bucket)
    status = (params.get("AccelerateConfiguration") or {}).get("Status")
    if status not in _STATUSES:
        raise _malformed()
    if "." in bucket:
        raise AwsError("InvalidRequest", "S3 Transfer Acceleration is not supported for buckets with periods (.) in their names", 400)
    backend.configs.put_setting(bucket, "accelerate", status)


@OPERATIONS("GetBucketAccelerateConfiguration")
def get_bucket_accelerate_configuration(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bucket: str = params["Bucket"]
    status = must_bucket(ctx, bucket).configs.setting(bucket, "accelerate")
    return {} if status is None else {"Status": status}


# -- versioning --------------------------------------------------------------------------------


@OPERATIONS("PutBucketVersioning")
def put_bucket_versioning(ctx: Context, params: dict[str, Any]) -> None:
    bucket: str = params["Bucket"]
    backend = must_bucket(ctx, bucket)
    configuration = params.get("VersioningConfiguration") or {}
    status = configuration.get("Status")
    if status is None:
        raise AwsError("IllegalVersioningConfigurationException", "The Versioning element must be specified", 400)
    if status not in _STATUSES or configuration.get("MFADelete") not in (None, "Enabled", "Disabled"):
        raise _malformed()
    if status == "Enabled":
        raise AwsError(
            "NotImplemented",
            "Sluiceway's local buckets keep one version of each object: versioning cannot be enabled"
            " (Suspended is accepted, and is what a local bucket is)",
            501,
            fields={"Header": "x-amz-versioning"},
        )
    backend.configs.put_setting(bucket, "versioning", {"Status": status})


@OPERATIONS("GetBucketVersioning")
def get_bucket_versioning(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bucket: str = params["Bucket"]
    stored = must_bucket(ctx, bucket).configs.setting(bucket, "versioning")
    return dict(stored) if stored else {}
