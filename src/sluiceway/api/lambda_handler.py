"""The management API as a Lambda behind an HttpApi whose JWT authorizer has verified the caller's token.

Handler ``sluiceway.api.lambda_handler.handler``. The user pool whose users ``/users`` manages is
named by ``SLUICEWAY_API_USER_POOL_ID``, the stack ``/resources`` shows by ``SLUICEWAY_STACK_NAME``
(the template sets both). Importing this loads the API and boto3 only when called: nothing of the
local runtime, the CLI or deploy.
"""

from __future__ import annotations

import os
from typing import Any

from mangum import Mangum

from .. import logs
from .app import create_app
from .auth import ApiGatewayClaimsAuthenticator
from .aws import Boto3Aws

__all__ = ["LOG_LEVEL_ENV", "STACK_NAME_ENV", "USER_POOL_ENV", "handler"]

#: The environment variable naming the API's user pool (set by the deployed template).
USER_POOL_ENV = "SLUICEWAY_API_USER_POOL_ID"
#: The environment variable naming the stack the API belongs to (set by the deployed template).
STACK_NAME_ENV = "SLUICEWAY_STACK_NAME"
#: INFO by default; the template may set it.
LOG_LEVEL_ENV = "SLUICEWAY_LOG_LEVEL"


def _user_pool_id() -> str:
    from .errors import ApiError

    pool = os.environ.get(USER_POOL_ENV)
    if not pool:
        raise ApiError(501, "NotConfigured", f"{USER_POOL_ENV} is not set: the management API has no user pool")
    return pool


def _stack_names() -> list[str]:
    from .errors import ApiError

    # Never every stack of the account: the role may read this one only, and the others are not the app's.
    name = os.environ.get(STACK_NAME_ENV)
    if not name:
        raise ApiError(501, "NotConfigured", f"{STACK_NAME_ENV} is not set: the management API does not know its stack")
    return [name]


# An entrypoint configures logging (library modules never do): JSON lines, as CloudWatch Logs reads them.
logs.configure(os.environ.get(LOG_LEVEL_ENV, "INFO"), "json")
_app = create_app(Boto3Aws(), ApiGatewayClaimsAuthenticator(), user_pool_id=_user_pool_id, stacks=_stack_names)
# lifespan "off": a Lambda has no startup work, and a cold start should not wait for one.
_mangum = Mangum(_app, lifespan="off")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The HttpApi's (payload 2.0) event in, its response out."""
    response: dict[str, Any] = _mangum(event, context)
    return response
