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
import re
import secrets
import sqlite3
import string
from collections.abc import Mapping
from typing import Any

from ...cognito.errors import CognitoError
from ...cognito.lockout import QUIET_RESET_S, Attempts
from ...cognito.tokens import secrets_match
from ._userpool_auth import UserPoolAuth
from ._userpool_users import User

logger = logging.getLogger(__name__)
messages = logging.getLogger("sluiceway.cognito.messages")

__all__ = ["CODE_LIFETIME_S", "UserPoolCodes", "delivery_for_recovery", "masked", "recovery_order", "simulated_delivery"]

CODE_LIFETIME_S = 3600
"""How long a password-reset or verification code works (Cognito's: one hour)."""
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_PHONE = re.compile(r"^\+[0-9]{4,15}$")
_NO_CHANNEL = "Cannot reset password for the user as there is no registered/verified email or phone_number"


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()


_MISMATCH = ("CodeMismatchException", "Invalid verification code provided, please try again.")
_EXPIRED = ("ExpiredCodeException", "Invalid code provided, please request a code again.")
_FORGET_BATCH = 100
"""How many quiet counts of unknown names one call deletes: more than one call adds, bounded in time."""
_LIMIT = ("LimitExceededException", "Attempt limit exceeded, please try after some time.")


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
            return _delivery(attribute, user.attributes[attribute])
    raise CognitoError("InvalidParameterException", _NO_CHANNEL)


def _channels(pool: Mapping[str, Any]) -> list[str]:
    """The recovery attributes the pool can really deliver to, in :func:`recovery_order`: those users
    sign in with, those Cognito verifies on its own, and those every user must have."""
    required = {str(a.get("Name")) for a in pool.get("SchemaAttributes") or [] if a.get("Required")}
    usable = set(pool.get("UsernameAttributes") or []) | set(pool.get("AutoVerifiedAttributes") or []) | required
    return [a for a in recovery_order(pool) if a in usable]


def simulated_delivery(pool: Mapping[str, Any], username: str) -> dict[str, str]:
    """The made-up destination Cognito reports, when the app client prevents user-existence errors,
    for a user who does not exist, is disabled or has no verified channel: chosen as Cognito says
    ("by the input username format and verification settings of the user pool") among the channels
    the pool can deliver to, shaped like a real one and the same each time, so the answer tells nothing.
    """
    order = recovery_order(pool)
    channels = _channels(pool) or order[:1]
    # A name that is an address is where a real user's code would go, when the pool may send there.
    if "email" in channels and _EMAIL.match(username):
        return _delivery("email", username)
    if "phone_number" in channels and _PHONE.match(username):
        return _delivery("phone_number", username)
    digest = hashlib.sha256(username.encode("utf-8", "surrogatepass")).digest()
    if channels[0] == "phone_number":
        return _delivery("phone_number", "+" + "".join(str(b % 10) for b in digest[:11]))
    # Letters where a real address has them (a hex digit would give the fake away).
    local = string.ascii_lowercase[digest[0] % 26]
    domain = string.ascii_lowercase[digest[1] % 26]
    return _delivery("email", f"{local}@{domain}")


def _delivery(attribute: str, value: str) -> dict[str, str]:
    return {
        "Destination": masked(attribute, value),
        "DeliveryMedium": "EMAIL" if attribute == "email" else "SMS",
        "AttributeName": attribute,
    }


class UserPoolCodes(UserPoolAuth):
    """Issuing and checking one-time codes (see :class:`~.userpools.SqliteUserPools`)."""

    unknown_names_kept = 10_000
    """How many counts of wrong codes for unknown names a pool keeps (the oldest go first)."""

    def _issue_code(self, conn: sqlite3.Connection, user: User, purpose: str, *, target: str | None = None) -> None:
        """A new code for ``purpose`` (replacing any earlier one), logged as the module says; ``target``
        is the address a verification code is for (it works only while the attribute holds it)."""
        code = f"{secrets.randbelow(10**6):06d}"
        conn.execute(
            "INSERT INTO cognito_codes (pool_id, username_key, purpose, code_hash, expires_at, target_hash) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (pool_id, username_key, purpose) DO UPDATE SET code_hash=excluded.code_hash,"
            " expires_at=excluded.expires_at, target_hash=excluded.target_hash",
            (
                user.pool_id,
                user.key,
                purpose,
                _hash(code),
                self.clock.now().timestamp() + CODE_LIFETIME_S,
                None if target is None else _hash(target),
            ),
        )
        logger.info(
            "user pool code made (nothing is sent locally)",
            extra={"user_pool": user.pool_id, "username": user.username, "purpose": purpose},
        )
        messages.debug("user pool code", extra={"user_pool": user.pool_id, "username": user.username, "purpose": purpose, "code": code})

    def _drop_code(self, conn: sqlite3.Connection, user: User, purpose: str) -> None:
        """Forget the outstanding code for ``purpose`` (the address it was sent to changed, or went)."""
        conn.execute("DELETE FROM cognito_codes WHERE pool_id=? AND username_key=? AND purpose=?", (user.pool_id, user.key, purpose))

    def _use_code(
        self, conn: sqlite3.Connection, user: User, purpose: str, code: str, *, target: str | None = None, disguised: bool = False
    ) -> CognitoError | None:
        """Check ``code`` for ``purpose``: None (and the code spent) when it is right, else the refusal
        to raise once the transaction has committed (so that a wrong code's count is kept).

        ``target``: the attribute's value now; a code sent to another value (or to none recorded) is
        refused. ``disguised``: no code outstanding is a wrong code (counted), as for a user who does
        not exist, when the app client prevents user-existence errors.

        Raises:
            CognitoError: LimitExceededException while locked out after wrong codes.
        """
        now = self.clock.now().timestamp()
        attempts = self._attempts(conn, user, purpose, now)
        if attempts.locked(now):
            raise CognitoError(*_LIMIT)
        row = conn.execute(
            "SELECT code_hash, expires_at, target_hash FROM cognito_codes WHERE pool_id=? AND username_key=? AND purpose=?",
            (user.pool_id, user.key, purpose),
        ).fetchone()
        if row is not None and target is not None and not (row["target_hash"] and secrets_match(_hash(target), row["target_hash"])):
            # Sent to an address the user no longer has: it proves nothing about the one they have now.
            self._drop_code(conn, user, purpose)
            row = None
        if row is None or float(row["expires_at"]) <= now:
            if not disguised:
                return CognitoError(*_EXPIRED)
            self._record_attempts(conn, user, purpose, attempts.failed(now))
            return CognitoError(*_MISMATCH)
        if not secrets_match(_hash(code), row["code_hash"]):
            self._record_attempts(conn, user, purpose, attempts.failed(now))
            return CognitoError(*_MISMATCH)
        self._drop_code(conn, user, purpose)
        self._record_attempts(conn, user, purpose, Attempts())
        return None

    def _no_code(self, conn: sqlite3.Connection, pool_id: str, name_key: str, purpose: str) -> CognitoError:
        """The refusal of a code given for a username nobody has, counted towards a lockout as a real
        user's wrong codes are (when user-existence errors are prevented, LimitExceededException must
        not tell who exists).

        Raises:
            CognitoError: LimitExceededException while that name is locked out.
        """
        now = self.clock.now().timestamp()
        self._forget_unknown_names(conn, pool_id, now)
        key = (pool_id, _hash(name_key), purpose)
        row = conn.execute(
            "SELECT failures, last_failure_at, locked_until FROM cognito_unknown_attempts WHERE pool_id=? AND name_hash=? AND action=?",
            key,
        ).fetchone()
        attempts = Attempts() if row is None else Attempts(int(row[0]), float(row[1]), float(row[2])).current(now)
        if attempts.locked(now):
            raise CognitoError(*_LIMIT)
        if row is None and not self._room_for_unknown_name(conn, pool_id, now):
            return CognitoError(*_MISMATCH)
        failed = attempts.failed(now)
        conn.execute(
            "INSERT INTO cognito_unknown_attempts (pool_id, name_hash, action, failures, last_failure_at, locked_until)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (pool_id, name_hash, action) DO UPDATE SET"
            " failures=excluded.failures, last_failure_at=excluded.last_failure_at, locked_until=excluded.locked_until",
            (*key, failed.failures, failed.last_failure_at, failed.locked_until),
        )
        return CognitoError(*_MISMATCH)

    def _forget_unknown_names(self, conn: sqlite3.Connection, pool_id: str, now: float) -> None:
        """Delete (a bounded batch of) the pool's counts of unknown names whose quiet quarter of an hour
        is over: :meth:`Attempts.current` would read them as nothing, so keeping them only grows the table
        for whoever makes names up."""
        conn.execute(
            "DELETE FROM cognito_unknown_attempts WHERE rowid IN (SELECT rowid FROM cognito_unknown_attempts"
            " WHERE pool_id=? AND max(last_failure_at, locked_until) <= ? LIMIT ?)",
            (pool_id, now - QUIET_RESET_S, _FORGET_BATCH),
        )

    def _room_for_unknown_name(self, conn: sqlite3.Connection, pool_id: str, now: float) -> bool:
        """Whether one more unknown name's count fits in the pool's :attr:`unknown_names_kept`.

        Names made up faster than they fall quiet would otherwise fill the disk. Past the cap the
        oldest count that is not locked out goes: a locked-out name is never dropped, for a dropped
        one would answer again where a real user still locked out would not, which would tell made-up
        names from real ones (PreventUserExistenceErrors). When every count is locked out, the new
        name is not counted; only a flood of many thousand made-up names within a quarter of an
        hour reaches that, and then only names first tried during it can tell.
        """
        (count,) = conn.execute("SELECT count(*) FROM cognito_unknown_attempts WHERE pool_id=?", (pool_id,)).fetchone()
        if count < self.unknown_names_kept:
            return True
        evicted = conn.execute(
            "DELETE FROM cognito_unknown_attempts WHERE rowid IN (SELECT rowid FROM cognito_unknown_attempts"
            " WHERE pool_id=? AND locked_until <= ? ORDER BY last_failure_at, rowid LIMIT ?)",
            (pool_id, now, count - self.unknown_names_kept + 1),
        ).rowcount
        return bool(count - evicted < self.unknown_names_kept)
