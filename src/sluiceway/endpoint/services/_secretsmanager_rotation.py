"""RotateSecret and CancelRotateSecret: a rotation function's four steps, run through the stack's invoker.

As on AWS, the function gets ``{"Step", "SecretId", "ClientRequestToken", "RotationToken"}`` for
``createSecret``, ``setSecret``, ``testSecret`` and ``finishSecret`` in turn, and does the work
itself through the Secrets Manager API (PutSecretValue with AWSPENDING, then
UpdateSecretVersionStage to move AWSCURRENT). AWS runs the steps after RotateSecret has answered;
Sluiceway runs them before it answers, so a caller (a test) sees the rotated secret at once. A
step that fails stops the rotation, leaving the labels as the function left them, as AWS does.

Scheduled rotation is not emulated: the schedule is recorded (DescribeSecret shows it) but only
an immediate rotation runs.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from ...backends.local.secrets import AWSCURRENT, AWSPENDING, Secret, SecretsError, SqliteSecrets
from ...ports import Invocation
from ..context import Context
from ..errors import AwsError

__all__ = ["cancel_rotation", "next_rotation", "rotate"]

logger = logging.getLogger(__name__)

STEPS: Final = ("createSecret", "setSecret", "testSecret", "finishSecret")
_CANNOT_INVOKE: Final = (
    "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal"
    " secretsmanager.amazonaws.com."
)


def _check_rules(rules: dict[str, Any] | None) -> None:
    if not rules:
        return
    days = rules.get("AutomaticallyAfterDays")
    if days is not None and not 1 <= int(days) <= 1000:
        bound = "greater than or equal to 1" if int(days) < 1 else "less than or equal to 1000"
        raise AwsError(
            "ValidationException",
            f"1 validation error detected: Value '{days}' at 'rotationRules.automaticallyAfterDays' failed to satisfy constraint:"
            f" Member must have value {bound}",
            400,
        )
    if days is not None and rules.get("ScheduleExpression"):
        raise AwsError("InvalidParameterException", "You can't specify both AutomaticallyAfterDays and ScheduleExpression.", 400)


def next_rotation(secret: Secret) -> datetime | None:
    """When an ``AutomaticallyAfterDays`` schedule rotates the secret next (None: no such schedule)."""
    days = (secret.rotation_rules or {}).get("AutomaticallyAfterDays")
    if not secret.rotation_enabled or days is None or secret.rotated_ms is None:
        return None
    return datetime.fromtimestamp(secret.rotated_ms / 1000, UTC) + timedelta(days=int(days))


def rotate(ctx: Context, store: SqliteSecrets, secret_id: str, token: str, params: dict[str, Any]) -> Secret:
    """Record the rotation configuration and, unless RotateImmediately is false, rotate now."""
    rules = params.get("RotationRules")
    _check_rules(rules)
    secret = store.describe(ctx.region, secret_id)
    if secret.deleted:
        raise SecretsError("InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.")
    lambda_arn = params.get("RotationLambdaARN") or secret.rotation_lambda_arn
    if not lambda_arn:
        raise SecretsError("InvalidRequestException", "No Lambda rotation function ARN is associated with this secret.")
    invoker = ctx.stack.invoker
    function = invoker.resolve(lambda_arn)
    if function is None:
        raise AwsError("AccessDeniedException", _CANNOT_INVOKE, 400)
    pending, current = secret.holder(AWSPENDING), secret.holder(AWSCURRENT)
    if pending is not None and pending.version_id not in (token, current.version_id if current else None):
        # The rotation guide: an AWSPENDING on another version than AWSCURRENT's is a rotation still under way.
        raise SecretsError("InvalidRequestException", "Previous rotation request is still in progress.")
    secret = store.set_rotation(ctx.region, secret.arn, lambda_arn=lambda_arn, rules=rules, enabled=True, rotated=False)
    if params.get("RotateImmediately") is False:
        return secret
    spec = invoker.functions[function]
    for step in STEPS:
        event = {"Step": step, "SecretId": secret.arn, "ClientRequestToken": token, "RotationToken": str(uuid.uuid4())}
        result = invoker.invoke(Invocation(function, event, str(uuid.uuid4()), timeout_s=spec.timeout_s, memory_mb=spec.memory_mb))
        if not result.ok:
            logger.warning("secret rotation step failed", extra={"secret": secret.arn, "step": step, "error_type": result.error_type})
            return secret
    return store.set_rotation(ctx.region, secret.arn, lambda_arn=None, rules=None, enabled=True, rotated=True)


def cancel_rotation(ctx: Context, store: SqliteSecrets, secret_id: str) -> tuple[Secret, str | None]:
    """Turn automatic rotation off; returns the secret and the version a rotation under way left AWSPENDING on."""
    secret = store.describe(ctx.region, secret_id)
    if secret.deleted:
        raise SecretsError("InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.")
    if not secret.rotation_lambda_arn:
        raise SecretsError("InvalidRequestException", "No Lambda rotation function ARN is associated with this secret.")
    secret = store.set_rotation(ctx.region, secret.arn, lambda_arn=None, rules=None, enabled=False, rotated=False)
    pending, current = secret.holder(AWSPENDING), secret.holder(AWSCURRENT)
    under_way = pending is not None and (current is None or pending.version_id != current.version_id)
    return secret, pending.version_id if pending is not None and under_way else None
