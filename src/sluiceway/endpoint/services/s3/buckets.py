"""S3's bucket operations: CreateBucket, DeleteBucket, ListBuckets, HeadBucket, GetBucketLocation."""

from __future__ import annotations

import logging
from typing import Any

from ....backends.local.bucket_config import region_of
from ....errors import ConflictError, InvalidNameError, NotFoundError
from ...context import Context
from ...errors import AwsError
from ...protocol import service_model
from ._common import OPERATIONS, bucket_name_problem, must_bucket, no_such_bucket, owner, s3
from .acl import request_grants
from .configurations import DEFAULT_OWNERSHIP, OWNERSHIPS

logger = logging.getLogger(__name__)

_US_EAST_1 = "us-east-1"


@OPERATIONS("CreateBucket")
def create_bucket(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bucket: str = params["Bucket"]
    if bucket_name_problem(bucket) is not None:
        raise AwsError("InvalidBucketName", "The specified bucket is not valid.", 400, fields={"BucketName": bucket})
    constraint = (params.get("CreateBucketConfiguration") or {}).get("LocationConstraint") or None
    region = _region(ctx, constraint)
    object_ownership = params.get("ObjectOwnership")
    if object_ownership is not None and object_ownership not in OWNERSHIPS:
        raise AwsError(
            "InvalidArgument",
            f"Invalid x-amz-object-ownership header: {object_ownership}",
            400,
            fields={"ArgumentName": "x-amz-object-ownership"},
        )
    grants = request_grants(ctx, params)
    if (
        grants is not None
        and (object_ownership or DEFAULT_OWNERSHIP) == "BucketOwnerEnforced"
        and grants != request_grants(ctx, {"ACL": "private"})
    ):
        raise AwsError(
            "InvalidBucketAclWithObjectOwnership", "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting", 400
        )
    backend = s3(ctx)
    try:
        created = backend.files.create_bucket(bucket)
    except InvalidNameError:
        raise AwsError("InvalidBucketName", "The specified bucket is not valid.", 400, fields={"BucketName": bucket}) from None
    if not created:
        existing = backend.configs.get(bucket)
        existing_region = existing.region if existing is not None else ctx.stack.settings.region
        # us-east-1 answers a repeated CreateBucket of one's own us-east-1 bucket with success (a
        # legacy of the first region); a bucket in another region, or a request to another region,
        # gets BucketAlreadyOwnedByYou.
        if region == existing_region == _US_EAST_1:
            return {"Location": f"/{bucket}", "BucketArn": f"arn:aws:s3:::{bucket}"}
        raise AwsError(
            "BucketAlreadyOwnedByYou",
            "Your previous request to create the named bucket succeeded and you already own it.",
            409,
            fields={"BucketName": bucket},
        )
    backend.configs.create(bucket, region, ctx.stack.local.clock.now(), location_constraint=constraint)
    if object_ownership is not None:
        backend.configs.put_setting(bucket, "ownership", object_ownership)
    if grants is not None:
        backend.configs.put_setting(bucket, "acl", grants)
    logger.info("bucket created", extra={"bucket": bucket, "region": region})
    location = f"/{bucket}" if region == _US_EAST_1 else f"http://{bucket}.s3.amazonaws.com/"
    return {"Location": location, "BucketArn": f"arn:aws:s3:::{bucket}"}


def _constraints() -> frozenset[str]:
    """The location constraints S3 knows (its model's ``BucketLocationConstraint``; us-east-1 is none of them)."""
    shape = service_model("s3").shape_for("BucketLocationConstraint")
    return frozenset(str(value) for value in getattr(shape, "enum", ()))


def _region(ctx: Context, constraint: str | None) -> str:
    """The new bucket's region, checked against the region the request was sent to, as S3 checks it.

    us-east-1 is S3's global endpoint: a request sent there may create a bucket in any region
    S3 knows. Every other region's endpoint creates buckets in its own region only.
    """
    if constraint is None:
        if ctx.region != _US_EAST_1:
            raise AwsError(
                "IllegalLocationConstraintException",
                "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.",
                400,
            )
        return _US_EAST_1
    region = region_of(constraint)
    if ctx.region == _US_EAST_1:
        if constraint not in _constraints():
            # us-east-1 is the absence of a constraint: naming it is refused too.
            raise AwsError(
                "InvalidLocationConstraint",
                "The specified location-constraint is not valid",
                400,
                fields={"LocationConstraint": constraint},
            )
        return region
    if region != ctx.region:
        raise AwsError(
            "IllegalLocationConstraintException",
            f"The {constraint} location constraint is incompatible for the region specific endpoint this request was sent to.",
            400,
        )
    return region


@OPERATIONS("DeleteBucket")
def delete_bucket(ctx: Context, params: dict[str, Any]) -> None:
    bucket: str = params["Bucket"]
    backend = must_bucket(ctx, bucket)
    try:
        backend.files.delete_bucket(bucket)
    except NotFoundError:
        raise no_such_bucket(bucket) from None
    except ConflictError:
        raise AwsError("BucketNotEmpty", "The bucket you tried to delete is not empty", 409, fields={"BucketName": bucket}) from None
    backend.configs.delete(bucket)
    logger.info("bucket deleted", extra={"bucket": bucket})


@OPERATIONS("ListBuckets")
def list_buckets(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    backend = s3(ctx)
    prefix = params.get("Prefix") or ""
    wanted_region = params.get("BucketRegion")
    after = params.get("ContinuationToken") or ""
    limit = params.get("MaxBuckets")
    if limit is not None and not 1 <= int(limit) <= 10_000:
        raise AwsError("InvalidArgument", "Argument max-buckets must be an integer between 1 and 10000.", 400)
    buckets: list[dict[str, Any]] = []
    more = False
    for name, made in backend.files.buckets():
        if not name.startswith(prefix) or name <= after:
            continue
        config = backend.configs.get(name)
        region = config.region if config is not None else ctx.stack.settings.region
        if wanted_region and region != wanted_region:
            continue
        if limit is not None and len(buckets) == int(limit):
            more = True
            break
        buckets.append(
            {
                "Name": name,
                "CreationDate": config.created_at if config is not None else made,
                "BucketRegion": region,
                "BucketArn": f"arn:aws:s3:::{name}",
            }
        )
    answer: dict[str, Any] = {"Buckets": buckets, "Owner": owner(ctx)}
    if prefix:
        answer["Prefix"] = prefix
    if more:
        answer["ContinuationToken"] = buckets[-1]["Name"]
    return answer


@OPERATIONS("HeadBucket")
def head_bucket(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bucket: str = params["Bucket"]
    backend = must_bucket(ctx, bucket)
    config = backend.configs.get(bucket)
    region = config.region if config is not None else ctx.stack.settings.region
    return {"BucketRegion": region, "BucketArn": f"arn:aws:s3:::{bucket}", "AccessPointAlias": False}


@OPERATIONS("GetBucketLocation")
def get_bucket_location(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bucket: str = params["Bucket"]
    backend = must_bucket(ctx, bucket)
    config = backend.configs.get(bucket)
    if config is None:
        region = ctx.stack.settings.region
        return {"LocationConstraint": None if region == _US_EAST_1 else region}
    # us-east-1 buckets answer an empty LocationConstraint (null); others the constraint they
    # were created with, as given (``EU`` stays ``EU``), as S3 does.
    return {"LocationConstraint": config.location_constraint}
