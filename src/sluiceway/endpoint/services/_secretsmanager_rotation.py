"""RotateSecret and CancelRotateSecret: a rotation function's four steps, run through the stack's invoker.

As on AWS, the function gets ``{"Step", "SecretId", "ClientRequestToken", "RotationToken"}`` for
``createSecret``, ``setSecret``, ``testSecret`` and ``finishSecret`` in turn, and does the work
itself through the Secrets Manager API (PutSecretValue with AWSPENDING, then
UpdateSecretVersionStage to move AWSCURRENT). RotateSecret answers once the rotation is recorded
and the steps run afterwards, in the background, as AWS runs them: a caller polls for the new
value. A step that fails stops the rotation, leaving the labels as the function left them.

The rotation under way (its token) is recorded in the transaction that checks none is, so a
client's retry of the same request (same token) gets the same answer without a second run, and
another rotation meanwhile is refused. A rotation a stopped process left part way leaves its
AWSPENDING version: the next RotateSecret is refused and that rotation runs again under its own
token, as AWS reattempts it.

With ``RotateImmediately`` false AWS checks the configuration by running the ``testSecret`` step
on an AWSPENDING version it then removes; so does Sluiceway (a copy of the current value).
Scheduled rotation is not emulated: the schedule is recorded (DescribeSecret shows it) but only
an immediate rotation runs.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from ...backends.local.secrets import AWSCURRENT, AWSPENDING, ROTATION_INCOMPLETE, Secret, SecretsError, SqliteSecrets
from ...ports import Invocation
from ..context import Context
from ..errors import AwsError

if TYPE_CHECKING:
    from ...runtime.lambdas.invoker import LocalFunctionInvoker

__all__ = ["Rotations", "cancel_rotation", "next_rotation", "rotate"]

logger = logging.getLogger(__name__)

STEPS: Final = ("createSecret", "setSecret", "testSecret", "finishSecret")
_CANNOT_INVOKE: Final = (
    "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal"
    " secretsmanager.amazonaws.com."
)
#: Rotations of different secrets run side by side, each one's steps in order.
_WORKERS: Final = 4


class Rotations:
    """The endpoint's background rotations; closing waits for those running and drops those not started."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="secret-rotation")
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, work: Callable[[], None]) -> None:
        with self._lock:
            if self._closed:
                raise AwsError("ServiceUnavailable", "The endpoint is stopping.", 503)
            self._pool.submit(work)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)


def _check_rules(rules: dict[str, Any] | None) -> None:
    if rules and rules.get("AutomaticallyAfterDays") is not None and rules.get("ScheduleExpression"):
        raise AwsError("InvalidParameterException", "You can't specify both AutomaticallyAfterDays and ScheduleExpression.", 400)


def next_rotation(secret: Secret) -> datetime | None:
    """When an ``AutomaticallyAfterDays`` schedule rotates the secret next (None: no such schedule)."""
    days = (secret.rotation_rules or {}).get("AutomaticallyAfterDays")
    if not secret.rotation_enabled or days is None or secret.rotated_ms is None:
        return None
    return datetime.fromtimestamp(secret.rotated_ms / 1000, UTC) + timedelta(days=int(days))


def _invoke(invoker: LocalFunctionInvoker, function: str, arn: str, step: str, token: str) -> bool:
    spec = invoker.functions[function]
    event = {"Step": step, "SecretId": arn, "ClientRequestToken": token, "RotationToken": str(uuid.uuid4())}
    try:
        result = invoker.invoke(Invocation(function, event, str(uuid.uuid4()), timeout_s=spec.timeout_s, memory_mb=spec.memory_mb))
    except RuntimeError:
        # The stack is stopping: the rotation stays where it is, to be reattempted after a restart.
        logger.warning("secret rotation interrupted", extra={"secret": arn, "step": step})
        return False
    if not result.ok:
        logger.warning("secret rotation step failed", extra={"secret": arn, "step": step, "error_type": result.error_type})
    return result.ok


def _run_steps(store: SqliteSecrets, invoker: LocalFunctionInvoker, function: str, arn: str, token: str) -> None:
    ok = True
    try:
        for step in STEPS:
            ok = _invoke(invoker, function, arn, step, token)
            if not ok:
                break
    finally:
        store.end_rotation(arn, token, rotated=ok)


def _run_test(store: SqliteSecrets, invoker: LocalFunctionInvoker, function: str, arn: str, token: str) -> None:
    try:
        if store.stage_pending_copy(arn, token):
            _invoke(invoker, function, arn, "testSecret", token)
            store.drop_pending(arn, token)
    finally:
        store.end_rotation(arn, token, rotated=False)


def rotate(ctx: Context, store: SqliteSecrets, secret_id: str, token: str, params: dict[str, Any]) -> Secret:
    """Record the rotation and start its steps in the background (or, with RotateImmediately false, its test)."""
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
    secret, decided = store.begin_rotation(ctx.region, secret.arn, token, lambda_arn=lambda_arn, rules=rules)
    if decided.outcome == "repeat":
        return secret
    runners = ctx.shared.get("secretsmanager-rotations", Rotations)
    immediately = params.get("RotateImmediately") is not False or decided.outcome == "reattempt"
    run = _run_steps if immediately else _run_test
    try:
        runners.submit(lambda: run(store, invoker, function, secret.arn, decided.token))
    except AwsError:
        store.end_rotation(secret.arn, decided.token, rotated=False)
        raise
    if decided.outcome == "reattempt":
        raise SecretsError("InvalidRequestException", ROTATION_INCOMPLETE)
    return secret


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
