"""AWS STS (query protocol): who the caller is, and temporary credentials.

The local stack has one account (``settings.account_id``) and no IAM: a request signed with
any key STS did not issue acts as that account's root user, so GetCallerIdentity answers as
AWS does for root credentials (the UserId of the root user is the account id).

AssumeRole, GetSessionToken and GetFederationToken issue credentials shaped as AWS's
(``ASIA…`` keys, 40-character secrets, an expiry) and remember what they stand for
(``backends/local/sts_sessions.py``): GetCallerIdentity signed with them names the assumed
role session or federated user, as on AWS. With no IAM, every well-formed role ARN can be
assumed; permissions are not enforced locally.

AWS's rules that follow from who calls hold locally too. A key STS issued (``ASIA…``) is session
credentials: with them GetSessionToken and GetFederationToken are refused, and AssumeRole is
role chaining, limited to one hour. Any other key is the account's root, whose session and
federation tokens last at most an hour (a longer DurationSeconds is cut to one hour, as on AWS).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from datetime import UTC, timedelta
from typing import Any

from ...backends.local.sts_sessions import Session, SqliteSessionStore
from ..context import Context, Operations
from ..errors import AwsError

__all__ = ["OPERATIONS"]

OPERATIONS = Operations("sts")

_SESSION_NAME = re.compile(r"^[\w+=,.@-]*$")
_ROLE_ARN = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/(?:[\x21-\x7e]*/)?([\w+=,.@-]{1,64})$")
_ARN = re.compile(r"^arn:[^:]+:[^:]+:[^:]*:[^:]*:.+$")
_MAX_SESSION_NAME = 64
_MAX_POLICY = 2048
_ROLE_DURATION = (900, 43_200)
_SESSION_DURATION = (900, 129_600)
_FEDERATION_DURATION = (900, 129_600)
_ROOT_SESSION_S = 3600
"""What a session or federation token asked for by the account's root lasts at most (and by default)."""
_CHAINED_ROLE_S = 3600
_KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _sessions(ctx: Context) -> SqliteSessionStore:
    path = ctx.stack.settings.data_dir / "sts.db"
    clock = ctx.stack.local.clock
    return ctx.shared.get("sts.sessions", lambda: SqliteSessionStore(path, lambda: int(clock.now().timestamp() * 1000)))


def _invalid(message: str) -> AwsError:
    return AwsError("ValidationError", message)


def _pattern_error(value: str, member: str, pattern: str) -> AwsError:
    return _invalid(
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint:"
        f" Member must satisfy regular expression pattern: {pattern}"
    )


def _length_error(value: str, member: str, most: int) -> AwsError:
    return _invalid(
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint:"
        f" Member must have length less than or equal to {most}"
    )


def _duration(params: dict[str, Any], default: int, bounds: tuple[int, int]) -> int:
    value = params.get("DurationSeconds")
    if value is None:
        return default
    low, high = bounds
    if value < low:
        raise _invalid(
            f"1 validation error detected: Value '{value}' at 'durationSeconds' failed to satisfy constraint:"
            f" Member must have value greater than or equal to {low}"
        )
    if value > high:
        # AWS's words when the duration exceeds what the role (or the operation) allows.
        raise _invalid(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
            if bounds is _ROLE_DURATION
            else f"1 validation error detected: Value '{value}' at 'durationSeconds' failed to satisfy constraint:"
            f" Member must have value less than or equal to {high}"
        )
    return int(value)


def _with_session_credentials(ctx: Context) -> bool:
    """Whether the request was signed with temporary credentials (AWS's ``ASIA`` key ids)."""
    return bool(ctx.access_key and ctx.access_key.startswith("ASIA"))


def _refuse_session_credentials(ctx: Context) -> None:
    if _with_session_credentials(ctx):
        raise AwsError("AccessDenied", f"Cannot call {ctx.operation} with session credentials", 403)


def _policy(params: dict[str, Any]) -> None:
    policy = params.get("Policy")
    if policy is not None and len(policy) > _MAX_POLICY:
        raise _length_error(policy, "policy", _MAX_POLICY)


def _key(prefix: str, length: int) -> str:
    return prefix + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(length - len(prefix)))


def _issue(ctx: Context, *, account: str, arn: str, user_id: str, duration_s: int) -> dict[str, Any]:
    """New credentials for ``arn``, remembered until they expire."""
    now = ctx.stack.local.clock.now()
    expires = (now + timedelta(seconds=duration_s)).astimezone(UTC).replace(microsecond=0)
    access_key = _key("ASIA", 20)
    secret = base64.b64encode(secrets.token_bytes(30)).decode()
    token = base64.b64encode(b"sluiceway-session/" + secrets.token_bytes(96)).decode()
    _sessions(ctx).add(Session(access_key, account, arn, user_id, int(expires.timestamp() * 1000)))
    return {"AccessKeyId": access_key, "SecretAccessKey": secret, "SessionToken": token, "Expiration": expires}


def _role_id(role_arn: str) -> str:
    """A stable role id (``AROA`` and 17 characters) for a role ARN: there is no IAM to hold one."""
    digest = base64.b32encode(hashlib.sha256(role_arn.encode()).digest()).decode()
    return "AROA" + digest[:17]


def _packed_size(params: dict[str, Any]) -> int:
    """AWS's PackedPolicySize: a percentage of the packed-policy quota; an approximation by length."""
    policy = params.get("Policy") or ""
    return min(100, (len(policy) * 100) // _MAX_POLICY) if policy else 0


@OPERATIONS("GetCallerIdentity")
def get_caller_identity(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _identity(ctx)


def _identity(ctx: Context) -> dict[str, str]:
    """Who signed the request: the session its key stands for, else the account's root."""
    session = _sessions(ctx).get(ctx.access_key) if ctx.access_key else None
    if session is not None:
        return {"UserId": session.user_id, "Account": session.account, "Arn": session.arn}
    account = ctx.stack.settings.account_id
    return {"UserId": account, "Account": account, "Arn": f"arn:aws:iam::{account}:root"}


@OPERATIONS("AssumeRole")
def assume_role(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    role_arn: str = params["RoleArn"]
    session_name: str = params["RoleSessionName"]
    if len(session_name) > _MAX_SESSION_NAME:
        raise _length_error(session_name, "roleSessionName", _MAX_SESSION_NAME)
    if not _SESSION_NAME.match(session_name):
        raise _pattern_error(session_name, "roleSessionName", r"[\w+=,.@-]*")
    match = _ROLE_ARN.match(role_arn)
    if match is None:
        # A well-formed ARN of something else names no role; anything else is "invalid" in AWS's words.
        if _ARN.match(role_arn):
            raise AwsError(
                "AccessDenied", f"User: {_identity(ctx)['Arn']} is not authorized to perform: sts:AssumeRole on resource: {role_arn}", 403
            )
        raise _invalid(f"{role_arn} is invalid")
    _policy(params)
    if _with_session_credentials(ctx) and (params.get("DurationSeconds") or 0) > _CHAINED_ROLE_S:
        raise _invalid("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
    duration = _duration(params, 3600, _ROLE_DURATION)
    partition, account, role_name = match.groups()
    role_id = _role_id(role_arn)
    arn = f"arn:{partition}:sts::{account}:assumed-role/{role_name}/{session_name}"
    credentials = _issue(ctx, account=account, arn=arn, user_id=f"{role_id}:{session_name}", duration_s=duration)
    out: dict[str, Any] = {"Credentials": credentials, "AssumedRoleUser": {"AssumedRoleId": f"{role_id}:{session_name}", "Arn": arn}}
    if params.get("Policy"):
        out["PackedPolicySize"] = _packed_size(params)
    if params.get("SourceIdentity"):
        out["SourceIdentity"] = params["SourceIdentity"]
    return out


@OPERATIONS("GetSessionToken")
def get_session_token(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    # An IAM user's default would be 12 hours; callers here are the account's root: one hour.
    duration = min(_duration(params, _ROOT_SESSION_S, _SESSION_DURATION), _ROOT_SESSION_S)
    _refuse_session_credentials(ctx)
    # The session token acts as its caller: GetCallerIdentity signed with it answers the same.
    caller = _identity(ctx)
    credentials = _issue(ctx, account=caller["Account"], arn=caller["Arn"], user_id=caller["UserId"], duration_s=duration)
    return {"Credentials": credentials}


@OPERATIONS("GetFederationToken")
def get_federation_token(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name: str = params["Name"]
    if not re.fullmatch(r"[\w+=,.@-]{2,32}", name):
        raise _pattern_error(name, "name", r"[\w+=,.@-]*")
    _policy(params)
    # Asked for by the account's root (every long-term key here): at most, and by default, one hour.
    duration = min(_duration(params, 43_200, _FEDERATION_DURATION), _ROOT_SESSION_S)
    _refuse_session_credentials(ctx)
    account = _identity(ctx)["Account"]
    arn = f"arn:aws:sts::{account}:federated-user/{name}"
    user_id = f"{account}:{name}"
    credentials = _issue(ctx, account=account, arn=arn, user_id=user_id, duration_s=duration)
    return {"Credentials": credentials, "FederatedUser": {"FederatedUserId": user_id, "Arn": arn}, "PackedPolicySize": _packed_size(params)}


@OPERATIONS("GetAccessKeyInfo")
def get_access_key_info(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    session = _sessions(ctx).get(params["AccessKeyId"])
    return {"Account": session.account if session is not None else ctx.stack.settings.account_id}
