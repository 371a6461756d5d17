"""CloudWatch Logs' account policy operations: PutAccountPolicy, DescribeAccountPolicies, DeleteAccountPolicy.

Policies are kept in the data dir (``backends/local/account_policies.py``). A subscription filter
policy is applied: the stack's subscription feed delivers the matching events of every log group
it selects (``LogGroupName NOT IN [...]`` leaves groups out), put from then on, as a group's own
filter does, with ``"policyLevel": "ACCOUNT_LEVEL_POLICY"``. Its destination is checked as
PutSubscriptionFilter checks one (the same words). The other types are kept and described, not
applied (a warning says so): nothing is masked, indexed, transformed or expired for them.

AWS's error words for these operations are not recorded anywhere Sluiceway could read them: the
messages here are unconfirmed, the codes are those the model lists for each check.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from ...backends.local.account_policies import (
    POLICY_TYPES,
    SUBSCRIPTION_FILTER_POLICY,
    AccountPolicy,
    PolicyDocumentError,
    SqliteAccountPolicies,
    TooManyAccountPoliciesError,
    subscription_policy,
)
from ...errors import NotFoundError
from ..context import Context
from ..errors import AwsError
from ._logs_common import OPERATIONS, _invalid, _store
from ._logs_filter import FilterPatternError, compile_pattern
from ._logs_metric_filters import _Problems
from ._logs_subscription_filters import _check_destination, _check_reachable, _service

logger = logging.getLogger(__name__)

__all__ = ["OPERATIONS", "account_policies"]

_SCOPES: Final = ("ALL",)
_MAX_DOCUMENT: Final = 30_720
"""The most characters of a policy document (PutAccountPolicy's documentation)."""
_MAX_SELECTION_BYTES: Final = 25 * 1024
"""The most UTF-8 bytes of ``selectionCriteria`` (its documentation: "up to 25KB")."""
_SELECTION_TYPES: Final = (
    "SUBSCRIPTION_FILTER_POLICY",
    "FIELD_INDEX_POLICY",
    "TRANSFORMER_POLICY",
    "METRIC_EXTRACTION_POLICY",
    "RETENTION_POLICY",
)
"""The types that take ``selectionCriteria``: those its documentation names, and metric extraction,
whose own documentation shows it (a data protection policy is always the whole account's)."""


def account_policies(ctx: Context) -> SqliteAccountPolicies:
    """The data dir's account policies, in its state database."""
    local = ctx.stack.local
    return ctx.shared.get("logs-account-policies", lambda: SqliteAccountPolicies(local.db, local.clock))


def _enum(problems: _Problems, value: str | None, member: str, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        problems.failed(value, member, f"Member must satisfy enum value set: [{', '.join(allowed)}]")


def _described(ctx: Context, record: AccountPolicy) -> dict[str, Any]:
    out: dict[str, Any] = {
        "policyName": record.name,
        "policyDocument": record.document,
        "lastUpdatedTime": record.updated_ms,
        "policyType": record.policy_type,
        "scope": record.scope,
    }
    if record.selection is not None:
        out["selectionCriteria"] = record.selection
    out["accountId"] = ctx.stack.settings.account_id
    return out


# -- PutAccountPolicy --------------------------------------------------------------------------


@OPERATIONS("PutAccountPolicy")
def put_account_policy(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name, document, policy_type = params["policyName"], params["policyDocument"], params["policyType"]
    scope, selection = params.get("scope"), params.get("selectionCriteria")
    problems = _Problems()
    _enum(problems, policy_type, "policyType", POLICY_TYPES)
    _enum(problems, scope, "scope", _SCOPES)
    problems.raise_any()
    if name.startswith("aws/"):
        raise _invalid("Policy name cannot start with aws/")  # the rule is documented, the words are not
    if len(document) > _MAX_DOCUMENT:
        raise _invalid(f"Policy document must have length less than or equal to {_MAX_DOCUMENT}")
    if selection is not None:
        if policy_type not in _SELECTION_TYPES:
            raise _invalid(f"selectionCriteria is not supported for {policy_type}")
        if len(selection.encode()) > _MAX_SELECTION_BYTES:
            raise _invalid("selectionCriteria must be 25KB or less")
    if params.get("dryRun"):
        # Dry runs are for retention policies only, which Sluiceway keeps without applying: it
        # has no impact to estimate.
        if policy_type != "RETENTION_POLICY":
            raise _invalid("dryRun is only supported for RETENTION_POLICY")
        raise AwsError("InvalidParameterException", "dry runs of retention policies are not served by Sluiceway")
    if policy_type == SUBSCRIPTION_FILTER_POLICY:
        _check_subscription(ctx, name, document, selection)
    else:
        logger.warning(
            "an account policy is kept but not applied: Sluiceway serves only subscription filter policies",
            extra={"policy": name, "policy_type": policy_type},
        )
    record = AccountPolicy(policy_type, name, document, scope or "ALL", selection, 0, 0)
    try:
        stored = account_policies(ctx).put(record, after_event=_store(ctx).last_event_id())
    except TooManyAccountPoliciesError:
        # One subscription filter (and data protection) policy per account and Region; unrecorded words.
        raise AwsError("LimitExceededException", "Resource limit exceeded.") from None
    if policy_type == SUBSCRIPTION_FILTER_POLICY:
        _warn_of_loop(ctx, stored)
    return {"accountPolicy": _described(ctx, stored)}


def _check_subscription(ctx: Context, name: str, document: str, selection: str | None) -> None:
    """What a subscription filter policy must be: a document naming a destination that can be
    reached, a pattern that compiles, and selection criteria of the one form it takes."""
    try:
        policy = subscription_policy(AccountPolicy(SUBSCRIPTION_FILTER_POLICY, name, document, "ALL", selection, 0, 0))
    except PolicyDocumentError as error:
        raise _invalid(f"Invalid subscription filter policy: {error}") from None
    _check_destination(ctx, policy.destination_arn, policy.role_arn)
    try:
        compile_pattern(policy.pattern)
    except FilterPatternError:
        raise _invalid("Invalid subscription filter pattern") from None
    _check_reachable(ctx, policy.destination_arn)


def _warn_of_loop(ctx: Context, record: AccountPolicy) -> None:
    """A policy to a function whose own log group it does not exclude runs the function for the
    lines its runs write: on AWS a loop (and a bill) the selection criteria are there to prevent."""
    policy = subscription_policy(record)
    if _service(policy.destination_arn) != "lambda":
        return
    function = ctx.stack.invoker.resolve(policy.destination_arn)
    if function is not None and f"/aws/lambda/{function}" not in policy.excluded:
        logger.warning(
            "an account subscription filter policy does not exclude its function's own log group: each run's lines"
            " that match invoke it again (exclude it with LogGroupName NOT IN [...])",
            extra={"policy": record.name, "function": function},
        )


# -- DescribeAccountPolicies / DeleteAccountPolicy ---------------------------------------------


@OPERATIONS("DescribeAccountPolicies")
def describe_account_policies(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    policy_type, name = params["policyType"], params.get("policyName")
    problems = _Problems()
    _enum(problems, policy_type, "policyType", POLICY_TYPES)
    problems.raise_any()
    accounts = params.get("accountIdentifiers") or []
    if accounts and ctx.stack.settings.account_id not in accounts:
        # Source accounts of cross-account observability: the stack is one account, with none.
        return {"accountPolicies": []}
    # Unconfirmed: whether AWS answers a name without a policy with an empty list (as here) or an error.
    found = account_policies(ctx).describe(policy_type, name=name)
    return {"accountPolicies": [_described(ctx, record) for record in found]}


@OPERATIONS("DeleteAccountPolicy")
def delete_account_policy(ctx: Context, params: dict[str, Any]) -> None:
    policy_type, name = params["policyType"], params["policyName"]
    problems = _Problems()
    _enum(problems, policy_type, "policyType", POLICY_TYPES)
    problems.raise_any()
    if params.get("dryRun") and policy_type != "RETENTION_POLICY":
        raise _invalid("dryRun is only supported for RETENTION_POLICY")
    if params.get("dryRun"):
        raise AwsError("InvalidParameterException", "dry runs of retention policies are not served by Sluiceway")
    try:
        account_policies(ctx).delete(policy_type, name)
    except NotFoundError:
        raise AwsError("ResourceNotFoundException", "Policy with the specified name does not exist.") from None
