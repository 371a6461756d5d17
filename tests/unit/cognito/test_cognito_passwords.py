"""Password hashing (scrypt, parameters in the hash) and Cognito's password policy, with its messages."""

from __future__ import annotations

import pytest

from sluiceway.cognito.errors import CognitoError
from sluiceway.cognito.passwords import Cost, check_policy, hash_password, verify_password

CHEAP = Cost(n=2**10, r=8, p=1)
SALT = b"0123456789abcdef"
DEFAULT = {"MinimumLength": 8, "RequireUppercase": True, "RequireLowercase": True, "RequireNumbers": True, "RequireSymbols": True}


def test_a_hash_verifies_its_password_only() -> None:
    stored = hash_password("Corr3ct!horse", SALT, CHEAP)
    assert stored.startswith("scrypt$1024$8$1$")
    assert verify_password("Corr3ct!horse", stored)
    assert not verify_password("Corr3ct!hors", stored)
    assert not verify_password("", stored)


def test_the_salt_makes_equal_passwords_hash_differently() -> None:
    assert hash_password("same", SALT, CHEAP) != hash_password("same", b"fedcba9876543210", CHEAP)


def test_the_default_cost_is_memory_hard() -> None:
    stored = hash_password("pw", SALT)
    kind, n, r, p, _, _ = stored.split("$")
    assert (kind, int(n) * int(r) * 128) == ("scrypt", 32 * 1024 * 1024)  # 32 MiB per hash


@pytest.mark.parametrize(
    "stored", ["", "plain", "md5$1$2$3$x$y", "scrypt$1048577$8$1$AAAA$AAAA", "scrypt$a$b$c$d$e", "scrypt$1024$8$1$!!$AAAA"]
)
def test_a_malformed_or_outlandish_hash_never_verifies(stored: str) -> None:
    assert not verify_password("anything", stored)


def test_a_short_salt_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        hash_password("pw", b"short", CHEAP)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Ab1!", "Password did not conform with policy: Password not long enough"),
        ("ABCDEFG1!", "Password did not conform with policy: Password must have lowercase characters"),
        ("abcdefg1!", "Password did not conform with policy: Password must have uppercase characters"),
        ("Abcdefgh!", "Password did not conform with policy: Password must have numeric characters"),
        ("Abcdefgh1", "Password did not conform with policy: Password must have symbol characters"),
    ],
)
def test_the_policy_refuses_with_cognitos_messages(password: str, message: str) -> None:
    with pytest.raises(CognitoError) as raised:
        check_policy(password, DEFAULT)
    assert (raised.value.code, raised.value.message) == ("InvalidPasswordException", message)


@pytest.mark.parametrize("symbol", list("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+-"))
def test_every_cognito_symbol_counts(symbol: str) -> None:
    check_policy(f"Abcdefg1{symbol}", DEFAULT)


def test_an_inner_space_counts_as_a_symbol_but_a_leading_one_is_invalid() -> None:
    check_policy("Abc defg1", DEFAULT)
    with pytest.raises(CognitoError) as raised:
        check_policy(" Abcdefg1!", DEFAULT)
    assert raised.value.code == "InvalidParameterException"


def test_a_relaxed_policy_accepts_what_it_does_not_require() -> None:
    check_policy("abcdef", {"MinimumLength": 6, "RequireUppercase": False, "RequireNumbers": False, "RequireSymbols": False})
