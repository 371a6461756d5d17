"""Amazon Cognito user pools (json): the ``cognito-idp`` API over the data dir's user pools.

The operations live in ``_cognito_pools.py`` (pools, clients, groups, resource servers,
domains), ``_cognito_users.py`` (users, sign-up, sign-in) and ``_cognito_account.py`` (attributes,
password changes and resets, DeleteUser); importing them registers them
on :data:`OPERATIONS`. The state is ``stack.local.user_pools`` (backends/local/userpools.py);
the JWKS, OIDC discovery and OAuth2 token routes are in ``endpoint/cognito_routes.py``.
"""

from __future__ import annotations

from . import _cognito_account, _cognito_pools, _cognito_users  # noqa: F401 - registers their operations
from ._cognito_common import OPERATIONS

__all__ = ["OPERATIONS"]
