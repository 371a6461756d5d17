"""S3's access control lists: Put/GetBucketAcl, Put/GetObjectAcl, and the ACL headers of writes.

An ACL is kept as S3 grants (a bucket's with its settings, an object's in its sidecar) and
answered back; it grants nothing locally — every request is served alike. What S3 refuses is
refused: a canned ACL or a grant it does not know, both a canned ACL and grants, and any ACL
but the owner's full control on a bucket whose ObjectOwnership is ``BucketOwnerEnforced``
(every new bucket's since April 2023: ACLs are disabled).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from ....errors import InvalidNameError, NotFoundError
from ...context import Context
from ...errors import AwsError
from ._common import OPERATIONS, must_bucket, must_key, no_such_key, owner
from .configurations import ownership

logger = logging.getLogger(__name__)

__all__ = ["check_acl_allowed", "request_grants"]

Grant = Mapping[str, str]
"""One grant as stored: ``Type``, ``ID``/``URI``/``EmailAddress``, ``Permission``."""

_GROUPS: Final = "http://acs.amazonaws.com/groups/"
ALL_USERS: Final = _GROUPS + "global/AllUsers"
AUTHENTICATED_USERS: Final = _GROUPS + "global/AuthenticatedUsers"
LOG_DELIVERY: Final = _GROUPS + "s3/LogDelivery"
_KNOWN_GROUPS: Final = frozenset({ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY})
_PERMISSIONS: Final = frozenset({"FULL_CONTROL", "WRITE", "WRITE_ACP", "READ", "READ_ACP"})
_GRANT_MEMBERS: Final = {
    "GrantFullControl": ("x-amz-grant-full-control", "FULL_CONTROL"),
    "GrantRead": ("x-amz-grant-read", "READ"),
    "GrantReadACP": ("x-amz-grant-read-acp", "READ_ACP"),
    "GrantWrite": ("x-amz-grant-write", "WRITE"),
    "GrantWriteACP": ("x-amz-grant-write-acp", "WRITE_ACP"),
}
_CANONICAL_ID: Final = re.compile(r"^[0-9a-f]{64}$")
_MALFORMED_ACL: Final = "The XML you provided was not well-formed or did not validate against our published schema"


def _group(uri: str, permission: str) -> dict[str, str]:
    return {"Type": "Group", "URI": uri, "Permission": permission}


def _canned(name: str) -> list[dict[str, str]]:
    """What a canned ACL grants besides its owner's full control (S3's canned ACL table).

    ``bucket-owner-read``/``-full-control`` grant the bucket's owner, who is the object's here
    (one account); ``aws-exec-read``'s EC2 grantee has no local counterpart.
    """
    return {
        "private": [],
        "public-read": [_group(ALL_USERS, "READ")],
        "public-read-write": [_group(ALL_USERS, "READ"), _group(ALL_USERS, "WRITE")],
        "authenticated-read": [_group(AUTHENTICATED_USERS, "READ")],
        "log-delivery-write": [_group(LOG_DELIVERY, "WRITE"), _group(LOG_DELIVERY, "READ_ACP")],
        "aws-exec-read": [],
        "bucket-owner-read": [],
        "bucket-owner-full-control": [],
    }[name]


def _owner_grant(ctx: Context) -> dict[str, str]:
    return {"Type": "CanonicalUser", "ID": ctx.account_id, "Permission": "FULL_CONTROL"}


def _valid_id(ctx: Context, value: str) -> bool:
    return value == ctx.account_id or bool(_CANONICAL_ID.match(value))


def _header_grants(ctx: Context, header: str, value: str, permission: str) -> list[dict[str, str]]:
    """The grantees of one ``x-amz-grant-*`` header (``id="..."``, ``uri="..."``, ``emailAddress="..."``, comma-separated)."""
    grants: list[dict[str, str]] = []
    for item in value.split(","):
        kind, equals, quoted = item.strip().partition("=")
        grantee = quoted.strip().strip('"')
        if not equals or kind not in ("id", "uri", "emailAddress"):
            raise AwsError(
                "InvalidArgument", "Argument format not recognized", 400, fields={"ArgumentName": header, "ArgumentValue": item.strip()}
            )
        if kind == "uri":
            if grantee not in _KNOWN_GROUPS:
                raise AwsError("InvalidArgument", "Invalid group uri", 400, fields={"ArgumentName": "uri", "ArgumentValue": grantee})
            grants.append(_group(grantee, permission))
        elif kind == "id":
            if not _valid_id(ctx, grantee):
                raise AwsError("InvalidArgument", "Invalid id", 400, fields={"ArgumentName": "id", "ArgumentValue": grantee})
            grants.append({"Type": "CanonicalUser", "ID": grantee, "Permission": permission})
        else:
            grants.append({"Type": "AmazonCustomerByEmail", "EmailAddress": grantee, "Permission": permission})
    return grants


def _policy_grants(ctx: Context, policy: Mapping[str, Any]) -> list[dict[str, str]]:
    """The grants of an ``AccessControlPolicy`` body (its ``Owner`` is required)."""
    malformed = AwsError("MalformedACLError", _MALFORMED_ACL, 400)
    if not policy.get("Owner") or not policy.get("Owner", {}).get("ID"):
        raise malformed
    grants: list[dict[str, str]] = []
    for grant in policy.get("Grants") or []:
        grantee, permission = grant.get("Grantee") or {}, grant.get("Permission")
        if permission not in _PERMISSIONS:
            raise malformed
        kind = grantee.get("Type")
        if kind == "CanonicalUser" and grantee.get("ID"):
            if not _valid_id(ctx, str(grantee["ID"])):
                raise AwsError(
                    "InvalidArgument", "Invalid id", 400, fields={"ArgumentName": "CanonicalUser/ID", "ArgumentValue": grantee["ID"]}
                )
            grants.append({"Type": kind, "ID": str(grantee["ID"]), "Permission": permission})
        elif kind == "Group" and grantee.get("URI"):
            if grantee["URI"] not in _KNOWN_GROUPS:
                raise AwsError(
                    "InvalidArgument", "Invalid group uri", 400, fields={"ArgumentName": "Group/URI", "ArgumentValue": grantee["URI"]}
                )
            grants.append(_group(str(grantee["URI"]), permission))
        elif kind == "AmazonCustomerByEmail" and grantee.get("EmailAddress"):
            grants.append({"Type": kind, "EmailAddress": str(grantee["EmailAddress"]), "Permission": permission})
        else:
            raise malformed
    return grants


def request_grants(ctx: Context, params: Mapping[str, Any], *, body: bool = False) -> list[dict[str, str]] | None:
    """The ACL a request sets (canned ``ACL``, ``Grant*`` headers or, with ``body``, an
    ``AccessControlPolicy``) as grants; None when it sets none.

    Raises:
        AwsError: S3's refusals of an ACL it cannot take.
    """
    canned = params.get("ACL")
    headers = {member: params[member] for member in _GRANT_MEMBERS if params.get(member) is not None}
    policy = params.get("AccessControlPolicy") if body else None
    if canned is not None and headers:
        raise AwsError("InvalidRequest", "Specifying both Canned ACLs and Header Grants is not allowed", 400)
    if policy and (canned is not None or headers):
        raise AwsError("UnexpectedContent", "This request does not support content", 400)
    if canned is not None:
        try:
            extra = _canned(str(canned))
        except KeyError:
            raise AwsError("InvalidArgument", "", 400, fields={"ArgumentName": "x-amz-acl", "ArgumentValue": str(canned)}) from None
        return [_owner_grant(ctx), *extra]
    if headers:
        grants: list[dict[str, str]] = []
        for member, value in headers.items():
            header, permission = _GRANT_MEMBERS[member]
            grants.extend(_header_grants(ctx, header, str(value), permission))
        return grants
    if policy:
        return _policy_grants(ctx, policy)
    return None


def _only_owner(ctx: Context, grants: Sequence[Grant]) -> bool:
    return [dict(g) for g in grants] == [_owner_grant(ctx)]


def check_acl_allowed(ctx: Context, bucket: str, grants: Sequence[Grant] | None) -> None:
    """Refuse an ACL on a bucket whose ACLs are disabled (``BucketOwnerEnforced``): only the owner's full control is taken."""
    if grants is None or _only_owner(ctx, grants):
        return
    if ownership(ctx, bucket) == "BucketOwnerEnforced":
        raise AwsError("AccessControlListNotSupported", "The bucket does not allow ACLs", 400)


def _answer(ctx: Context, grants: Sequence[Grant] | None) -> dict[str, Any]:
    shaped: list[dict[str, Any]] = []
    for grant in grants if grants is not None else [_owner_grant(ctx)]:
        grantee = {k: v for k, v in grant.items() if k != "Permission"}
        shaped.append({"Grantee": grantee, "Permission": grant["Permission"]})
    return {"Owner": owner(ctx), "Grants": shaped}


def _must_set(ctx: Context, params: Mapping[str, Any]) -> list[dict[str, str]]:
    grants = request_grants(ctx, params, body=True)
    if grants is None:
        raise AwsError(
            "MissingSecurityHeader", "Your request was missing a required header", 400, fields={"MissingHeaderName": "x-amz-acl"}
        )
    return grants


@OPERATIONS("PutBucketAcl")
def put_bucket_acl(ctx: Context, params: dict[str, Any]) -> None:
    bucket: str = params["Bucket"]
    backend = must_bucket(ctx, bucket)
    grants = _must_set(ctx, params)
    check_acl_allowed(ctx, bucket, grants)
    backend.configs.put_setting(bucket, "acl", grants)


@OPERATIONS("GetBucketAcl")
def get_bucket_acl(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bucket: str = params["Bucket"]
    backend = must_bucket(ctx, bucket)
    if ownership(ctx, bucket) == "BucketOwnerEnforced":
        return _answer(ctx, None)  # ACLs disabled: the owner has full control, whatever was set before
    return _answer(ctx, backend.configs.setting(bucket, "acl"))


def _object_key(key: str) -> str:
    try:
        return must_key(key)
    except AwsError:
        raise no_such_key(key) from None  # a key no local object can have names no object


@OPERATIONS("PutObjectAcl")
def put_object_acl(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bucket: str = params["Bucket"]
    key: str = params["Key"]
    backend = must_bucket(ctx, bucket)
    checked = _object_key(key)
    try:
        backend.files.head(bucket, checked)
    except (NotFoundError, InvalidNameError):
        raise no_such_key(key) from None
    grants = _must_set(ctx, params)
    check_acl_allowed(ctx, bucket, grants)
    try:
        backend.files.amend(bucket, checked, grants=grants)
    except (NotFoundError, InvalidNameError):
        raise no_such_key(key) from None
    return {}


@OPERATIONS("GetObjectAcl")
def get_object_acl(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bucket: str = params["Bucket"]
    key: str = params["Key"]
    backend = must_bucket(ctx, bucket)
    try:
        info = backend.files.head(bucket, _object_key(key))
    except (NotFoundError, InvalidNameError):
        raise no_such_key(key) from None
    if ownership(ctx, bucket) == "BucketOwnerEnforced":
        return _answer(ctx, None)
    return _answer(ctx, info.grants)
