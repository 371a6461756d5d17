"""GetRandomPassword's generator: AWS's character set, exclusions, required kinds and limits."""

from __future__ import annotations

import string

import pytest

from sluiceway.endpoint.services._secretsmanager_password import PasswordError, PasswordRules, random_password

KINDS = (string.ascii_lowercase, string.ascii_uppercase, string.digits, string.punctuation)


def test_the_default_is_32_characters_with_one_of_each_kind() -> None:
    for _ in range(50):
        password = random_password(PasswordRules())
        assert len(password) == 32
        assert all(set(password) & set(kind) for kind in KINDS)
        assert " " not in password


def test_the_shortest_password_with_every_kind_has_each_once() -> None:
    for _ in range(50):
        password = random_password(PasswordRules(length=4))
        assert sorted(next(i for i, kind in enumerate(KINDS) if c in kind) for c in password) == [0, 1, 2, 3]


def test_exclusions_leave_their_characters_and_kinds_out() -> None:
    password = random_password(PasswordRules(length=200, exclude_punctuation=True, exclude_numbers=True, exclude_characters="aeiouAEIOU"))
    assert set(password) <= set(string.ascii_letters) - set("aeiouAEIOU")
    only_digits = random_password(PasswordRules(length=10, exclude_lowercase=True, exclude_uppercase=True, exclude_punctuation=True))
    assert only_digits.isdigit()
    # A kind whose every character is excluded is not required.
    assert random_password(PasswordRules(length=2, exclude_characters=string.punctuation + string.digits)).isalpha()


def test_spaces_only_when_included() -> None:
    spaced = random_password(PasswordRules(length=4096, include_space=True))
    assert " " in spaced


@pytest.mark.parametrize(
    ("rules", "code", "message"),
    [
        (PasswordRules(length=3), "InvalidParameterException", "Password length is too short based on the required types."),
        (
            PasswordRules(length=4097),
            "ValidationException",
            "1 validation error detected: Value '4097' at 'passwordLength' failed to satisfy constraint:"
            " Member must have value less than or equal to 4096",
        ),
        (
            PasswordRules(length=0),
            "ValidationException",
            "1 validation error detected: Value '0' at 'passwordLength' failed to satisfy constraint:"
            " Member must have value greater than or equal to 1",
        ),
    ],
)
def test_impossible_rules_are_refused(rules: PasswordRules, code: str, message: str) -> None:
    with pytest.raises(PasswordError) as refused:
        random_password(rules)
    assert (refused.value.code, refused.value.message) == (code, message)


def test_without_required_kinds_a_short_password_is_fine() -> None:
    assert len(random_password(PasswordRules(length=1, require_each_included_type=False))) == 1
