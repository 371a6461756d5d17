"""Passwords: a memory-hard hash (scrypt) kept with its parameters, and Cognito's password policy.

The hash string is ``scrypt$N$r$p$salt$digest`` (salt and digest in unpadded base64url), so a
later change of cost reads old hashes unchanged. The policy check words its refusals exactly as
Cognito's InvalidPasswordException does, in Cognito's order (length first).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import CognitoError
from .jwt import b64url_decode, b64url_encode

__all__ = ["DEFAULT_COST", "SYMBOLS", "Cost", "check_policy", "hash_password", "verify_password"]


@dataclass(frozen=True)
class Cost:
    """scrypt's parameters: memory is ``128 * n * r`` bytes (32 MiB by default)."""

    n: int = 2**15
    r: int = 8
    p: int = 1


DEFAULT_COST = Cost()
_SALT_BYTES = 16
_DIGEST_BYTES = 32
_MAX_COST = Cost(n=2**20, r=16, p=16)  # a hash naming more than this is refused unread (a stored-value DoS)

#: The characters Cognito counts as symbols (its documented set); a space counts too when it is
#: neither the first nor the last character.
SYMBOLS = frozenset("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+-")

_POLICY_PREFIX = "Password did not conform with policy: "


def hash_password(password: str, salt: bytes, cost: Cost = DEFAULT_COST) -> str:
    """``password`` hashed with ``salt`` (random, per user: the caller's, since this module does no I/O)."""
    if len(salt) < _SALT_BYTES:
        raise ValueError(f"a salt has at least {_SALT_BYTES} bytes")
    digest = _scrypt(password, salt, cost)
    return f"scrypt${cost.n}${cost.r}${cost.p}${b64url_encode(salt)}${b64url_encode(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` is the one ``stored`` was made from (constant-time compare)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        cost = Cost(int(n), int(r), int(p))
        expected = b64url_decode(salt), b64url_decode(digest)
    except ValueError:
        return False
    if kind != "scrypt" or cost.n > _MAX_COST.n or cost.r > _MAX_COST.r or cost.p > _MAX_COST.p or cost.n < 2:
        return False
    return hmac.compare_digest(_scrypt(password, expected[0], cost), expected[1])


def _scrypt(password: str, salt: bytes, cost: Cost) -> bytes:
    memory = 128 * cost.n * cost.r * (cost.p + 1) + 1024 * 1024
    # surrogatepass: a password from JSON may hold a lone surrogate (\ud800); it hashes (and so
    # fails to match) rather than raising.
    return hashlib.scrypt(
        password.encode("utf-8", "surrogatepass"), salt=salt, n=cost.n, r=cost.r, p=cost.p, maxmem=memory, dklen=_DIGEST_BYTES
    )


def check_policy(password: str, policy: Mapping[str, Any]) -> None:
    """Refuse ``password`` as Cognito does under ``policy`` (a user pool's ``Policies.PasswordPolicy``).

    Raises:
        CognitoError: InvalidPasswordException with Cognito's message for the first rule broken.
    """
    if not password or password[0].isspace() or password[-1].isspace():
        # Cognito's input validation, before the policy: its PasswordType, as the service applies it.
        raise CognitoError(
            "InvalidParameterException",
            "1 validation error detected: Value at 'password' failed to satisfy constraint: "
            r"Member must satisfy regular expression pattern: ^[\S]+.*[\S]+$",
        )
    if len(password) < int(policy.get("MinimumLength", 8)):
        raise CognitoError("InvalidPasswordException", _POLICY_PREFIX + "Password not long enough")
    if policy.get("RequireLowercase", True) and not any(c.islower() for c in password):
        raise CognitoError("InvalidPasswordException", _POLICY_PREFIX + "Password must have lowercase characters")
    if policy.get("RequireUppercase", True) and not any(c.isupper() for c in password):
        raise CognitoError("InvalidPasswordException", _POLICY_PREFIX + "Password must have uppercase characters")
    if policy.get("RequireNumbers", True) and not any(c in "0123456789" for c in password):
        raise CognitoError("InvalidPasswordException", _POLICY_PREFIX + "Password must have numeric characters")
    if policy.get("RequireSymbols", True) and not any(c in SYMBOLS or c == " " for c in password):
        raise CognitoError("InvalidPasswordException", _POLICY_PREFIX + "Password must have symbol characters")
