"""GetRandomPassword's generator: AWS's character set and options, drawn from the OS's CSPRNG.

By default a password has 32 characters from upper- and lowercase letters, digits and the
punctuation ``!"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~`` (Python's ``string.punctuation`` exactly),
with at least one of each of those four kinds (``RequireEachIncludedType`` defaults to true).
A space is a character only with ``IncludeSpace`` and is never a required kind.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from typing import Final

__all__ = ["PasswordError", "PasswordRules", "random_password"]

MAX_LENGTH: Final = 4096
DEFAULT_LENGTH: Final = 32


class PasswordError(ValueError):
    """The rules leave no password to make: ``code`` and ``message`` as Secrets Manager answers them."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class PasswordRules:
    """GetRandomPassword's options (and CloudFormation's GenerateSecretString's, which are the same)."""

    length: int = DEFAULT_LENGTH
    exclude_characters: str = ""
    exclude_numbers: bool = False
    exclude_punctuation: bool = False
    exclude_uppercase: bool = False
    exclude_lowercase: bool = False
    include_space: bool = False
    require_each_included_type: bool = True


def random_password(rules: PasswordRules) -> str:
    """A password under ``rules``; raises PasswordError when the rules cannot be met."""
    if rules.length < 1 or rules.length > MAX_LENGTH:
        bound = "greater than or equal to 1" if rules.length < 1 else f"less than or equal to {MAX_LENGTH}"
        raise PasswordError(
            "ValidationException",
            f"1 validation error detected: Value '{rules.length}' at 'passwordLength' failed to satisfy constraint:"
            f" Member must have value {bound}",
        )
    excluded = set(rules.exclude_characters)
    kinds = [
        chars
        for chars, off in (
            (string.ascii_lowercase, rules.exclude_lowercase),
            (string.ascii_uppercase, rules.exclude_uppercase),
            (string.digits, rules.exclude_numbers),
            (string.punctuation, rules.exclude_punctuation),
        )
        if not off
    ]
    kinds = [kept for kept in ("".join(c for c in chars if c not in excluded) for chars in kinds) if kept]
    pool = "".join(kinds) + (" " if rules.include_space and " " not in excluded else "")
    if not pool:
        raise PasswordError("InvalidParameterException", "The password can't be generated because every character is excluded.")
    required = kinds if rules.require_each_included_type else []
    if len(required) > rules.length:
        raise PasswordError("InvalidParameterException", "Password length is too short based on the required types.")
    chosen = [secrets.choice(kind) for kind in required]
    chosen += [secrets.choice(pool) for _ in range(rules.length - len(chosen))]
    secrets.SystemRandom().shuffle(chosen)
    return "".join(chosen)
