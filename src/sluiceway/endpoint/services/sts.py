"""AWS STS (query protocol): who the caller is.

The local stack has one account (``settings.account_id``) and no IAM: every request acts
as that account's root user, whichever access key signed it, so GetCallerIdentity
answers as AWS does for root credentials (the UserId of the root user is the account id).
"""

from __future__ import annotations

from typing import Any

from ..context import Context, Operations

__all__ = ["OPERATIONS"]

OPERATIONS = Operations("sts")


@OPERATIONS("GetCallerIdentity")
def get_caller_identity(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    account = ctx.stack.settings.account_id
    return {"UserId": account, "Account": account, "Arn": f"arn:aws:iam::{account}:root"}
