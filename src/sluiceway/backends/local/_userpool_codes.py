"""One-time codes of user pools that Cognito would mail or text: ForgotPassword's, AdminResetUserPassword's
and those that verify a changed email or phone number (table ``cognito_codes``, migration 0083).

Only a code's hash is kept, with when it stops working; wrong codes count towards the same lockout
as ConfirmSignUp's (cognito/lockout.py). No mail is sent locally: as for SignUp's codes, an INFO
record says a code was made, and the code itself goes to ``sluiceway.cognito.messages`` at DEBUG.
Where Cognito would have sent it is reported as Cognito reports it (``CodeDeliveryDetails``).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import sqlite3
from collections.abc import Mapping
from typing import Any

from ...cognito.errors import CognitoError
from ...cognito.lockout import Attempts
from ...cognito.tokens import secrets_match
from ._userpool_auth import UserPoolAuth
from ._userpool_users import User

logger = logging.getLogger(__name__)
messages = logging.getLogger("sluiceway.cognito.messages")

__all__ = ["CODE_LIFETIME_S", "UserPoolCodes", "delivery_for_recovery", "masked", "recovery_order", "simulated_delivery"]

CODE_LIFETIME_S = 3600
"""How long a password-reset or verification code works (Cognito's: one hour)."""
_NO_CHANNEL = "Cannot reset password for the user as there is no registered/verified email or phone_number"


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()


def masked(attribute: str, value: str) -> str:
    """The Destination Cognito reports for a code sent to ``value``: ``t***@e***`` or ``+*******1234``."""
    if attribute == "email":
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain[:1]}***"
    return f"+*******{value[-4:]}"


def _verified(user: User, attribute: str) -> bool:
    # Cognito reads these booleans without regard to case ("True" verifies as "true" does).
    return bool(user.attributes.get(attribute)) and user.attributes.get(f"{attribute}_verified", "").lower() == "true"


def recovery_order(pool: Mapping[str, Any]) -> list[str]:
    """The attributes a password-reset code may go to, in the pool's order: its AccountRecoverySetting
    (by Priority), or, for a pool without one, Cognito's older order (phone number before email).

    Raises:
        CognitoError: NotAuthorizedException when only an administrator may reset passwords.
    """
    mechanisms = sorted(
        (pool.get("AccountRecoverySetting") or {}).get("RecoveryMechanisms") or [], key=lambda m: int(m.get("Priority") or 0)
    )
    names = [str(m.get("Name")) for m in mechanisms]
    if names == ["admin_only"]:
        raise CognitoError("NotAuthorizedException", "Contact administrator to reset password.")
    return [n.removeprefix("verified_") for n in names if n != "admin_only"] or ["phone_number", "email"]


def delivery_for_recovery(pool: Mapping[str, Any], user: User) -> dict[str, str]:
    """Where a password-reset code for ``user`` goes: the first of :func:`recovery_order` they have verified.

    Raises:
        CognitoError: NotAuthorizedException when only an administrator may reset passwords;
            InvalidParameterException when the user has no verified channel the pool allows.
    """
    for attribute in recovery_order(pool):
        if _verified(user, attribute):
            return {
                "Destination": masked(attribute, user.attributes[attribute]),
                "DeliveryMedium": "EMAIL" if attribute == "email" else "SMS",
                "AttributeName": attribute,
            }
    raise CognitoError("InvalidParameterException", _NO_CHANNEL)


def simulated_delivery(pool: Mapping[str, Any], username: str) -> dict[str, str]:
    """The made-up destination Cognito reports for a user who does not exist, when the app client
    prevents user-existence errors: shaped like a real one (and the same each time), so the answer
    tells nothing."""
    digest = hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()
    if recovery_order(pool)[0] == "phone_number":
        return {"Destination": masked("phone_number", str(int(digest, 16))[-4:]), "DeliveryMedium": "SMS", "AttributeName": "phone_number"}
    return {"Destination": masked("email", f"{username}@{digest}"), "DeliveryMedium": "EMAIL", "AttributeName": "email"}


class UserPoolCodes(UserPoolAuth):
    """Issuing and checking one-time codes (see :class:`~.userpools.SqliteUserPools`)."""

    def _issue_code(self, conn: sqlite3.Connection, user: User, purpose: str) -> None:
        """A new code for ``purpose`` (replacing any earlier one), logged as the module says."""
        code = f"{secrets.randbelow(10**6):06d}"
        conn.execute(
            "INSERT INTO cognito_codes (pool_id, username_key, purpose, code_hash, expires_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (pool_id, username_key, purpose) DO UPDATE SET code_hash=excluded.code_hash, expires_at=excluded.expires_at",
            (user.pool_id, user.key, purpose, _hash(code), self.clock.now().timestamp() + CODE_LIFETIME_S),
        )
        logger.info(
            "user pool code made (nothing is sent locally)",
            extra={"user_pool": user.pool_id, "username": user.username, "purpose": purpose},
        )
        messages.debug("user pool code", extra={"user_pool": user.pool_id, "username": user.username, "purpose": purpose, "code": code})

    def _use_code(self, conn: sqlite3.Connection, user: User, purpose: str, code: str) -> CognitoError | None:
        """Check ``code`` for ``purpose``: None (and the code spent) when it is right, else the refusal
        to raise once the transaction has committed (so that a wrong code's count is kept).

        Raises:
            CognitoError: LimitExceededException while locked out after wrong codes.
        """
        now = self.clock.now().timestamp()
        attempts = self._attempts(conn, user, purpose, now)
        if attempts.locked(now):
            raise CognitoError("LimitExceededException", "Attempt limit exceeded, please try after some time.")
        row = conn.execute(
            "SELECT code_hash, expires_at FROM cognito_codes WHERE pool_id=? AND username_key=? AND purpose=?",
            (user.pool_id, user.key, purpose),
        ).fetchone()
        if row is None or float(row["expires_at"]) <= now:
            return CognitoError("ExpiredCodeException", "Invalid code provided, please request a code again.")
        if not secrets_match(_hash(code), row["code_hash"]):
            self._record_attempts(conn, user, purpose, attempts.failed(now))
            return CognitoError("CodeMismatchException", "Invalid verification code provided, please try again.")
        conn.execute("DELETE FROM cognito_codes WHERE pool_id=? AND username_key=? AND purpose=?", (user.pool_id, user.key, purpose))
        self._record_attempts(conn, user, purpose, Attempts())
        return None
