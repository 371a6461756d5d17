"""Where an authorizer gets an issuer's signing keys: never the network.

The keys of an issuer that is a local user pool come from the local store
(``stack.local.user_pools``); any other issuer has none, so its tokens cannot be verified and
are refused.
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["KeySource", "NoKeys"]


class KeySource(Protocol):
    """The signing keys of token issuers."""

    def jwks_for_issuer(self, issuer: str) -> dict[str, Any] | None:
        """The issuer's JSON Web Key Set (``{"keys": [...]}``), or None for an issuer it does not know."""
        ...


class NoKeys:
    """A key source that knows no issuer: every token is refused (before the user pool store exists)."""

    def jwks_for_issuer(self, issuer: str) -> dict[str, Any] | None:
        return None
