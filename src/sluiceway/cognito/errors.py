"""Cognito's errors as data: the exception name Cognito answers with, and its message.

The endpoint's ``cognito-idp`` service maps :class:`CognitoError` to AWS's error shape in one
place; the store, the CLI and the management API raise and catch it without knowing HTTP.
"""

from __future__ import annotations

from ..errors import SluicewayError

__all__ = ["CognitoError", "OAuthError"]


class CognitoError(SluicewayError):
    """An error Cognito answers with.

    Attributes:
        code: Cognito's exception name (``NotAuthorizedException``, ``UserNotFoundException``...).
        message: its message, worded as Cognito words it (clients match on some of them).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"CognitoError({self.code!r}, {self.message!r})"


class OAuthError(SluicewayError):
    """A refusal of the OAuth2 token endpoint: ``error`` is RFC 6749's code (``invalid_client``...)."""

    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(description or error)
        self.error = error
        self.description = description
